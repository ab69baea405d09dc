//! How people are paged, through the API: their contact methods (verified with a code before
//! use), notification rules and hand-off setting, a test message; and, per incident, its
//! escalation, "escalate now", "reassign" and the notifications sent.

use crate::AppState;
use crate::api::ItemsBody;
use crate::app::incidents::incident_ref;
use crate::api::users::confirm_password;
use crate::auth::{self, ApiPrincipal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use firebreak_domain::contact::{ContactKind, ContactMethod, NotificationRule};
use firebreak_domain::{ContactMethodId, NotificationRuleId, Timestamp, UserId};
use firebreak_store::{EscalationState, NewContactMethod, NotificationRecord, VerificationCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long a verification code works.
pub const CODE_TTL_MINUTES: i64 = 15;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/contact-methods", get(list_contact_methods).post(create_contact_method))
        .route("/me/contact-methods/{id}", delete(delete_contact_method))
        .route("/me/contact-methods/{id}/verify", post(verify_contact_method))
        .route("/me/contact-methods/{id}/resend", post(resend_code))
        .route("/me/contact-methods/{id}/test", post(send_test))
        .route("/me/notification-rules", get(list_notification_rules).post(create_notification_rule))
        .route("/me/notification-rules/{id}", delete(delete_notification_rule))
        .route("/me/handoff-notifications", put(set_handoff))
        .route("/me/notifications", get(list_my_notifications))
        .route("/incidents/{id}/escalation", get(get_escalation))
        .route("/incidents/{id}/escalate", post(escalate_incident))
        .route("/incidents/{id}/reassign", post(reassign_incident))
        .route("/incidents/{id}/notifications", get(list_incident_notifications))
}

/// A new contact method. The current password is required: contact details decide where
/// pages go.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethodBody {
    pub kind: ContactKind,
    pub address: String,
    #[serde(default)]
    pub label: String,
    pub current_password: String,
}

/// A contact method just created; a webhook's signing secret is shown here only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedContactMethod {
    #[serde(flatten)]
    pub method: ContactMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[schema(value_type = String, format = Uuid)]
    pub contact_method_id: ContactMethodId,
    /// Minutes after the page, 0 to 240.
    pub delay_minutes: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffBody {
    pub enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffView {
    pub enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignBody {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedView {
    #[schema(value_type = String, format = Uuid)]
    pub notification_id: firebreak_domain::NotificationId,
}

/// An incident's escalation (absent when its service has no policy) and its notifications.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    pub escalation: Option<EscalationState>,
    pub notifications: Vec<NotificationRecord>,
}

/// A new six-digit code, its stored form, and the message that carries it.
pub fn new_code(now: Timestamp, kind: ContactKind) -> (String, VerificationCode) {
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    let text = format!(
        "Your Firebreak verification code is {code}. Enter it on your profile page within {CODE_TTL_MINUTES} minutes to \
         start receiving pages by {kind}. If you did not ask for it, ignore this message."
    );
    let payload = serde_json::json!({ "subject": "Your Firebreak verification code", "text": text });
    let stored = VerificationCode {
        hash: auth::secret_hash(&code),
        expires_at: now + chrono::TimeDelta::minutes(CODE_TTL_MINUTES),
        payload,
    };
    (code, stored)
}

/// The message of a test notification.
pub fn test_payload(user_name: &str, kind: ContactKind) -> serde_json::Value {
    serde_json::json!({
        "subject": "Firebreak test notification",
        "text": format!("Hello {user_name}: this is a test notification by {kind} from Firebreak. Pages will reach you here."),
    })
}

/// One of the caller's own contact methods (others' are "not found").
async fn own_method(state: &AppState, user: UserId, id: &str) -> ApiResult<ContactMethod> {
    let id: ContactMethodId = id.parse().map_err(|_| ApiError::not_found("contact method"))?;
    match state.store.get_contact_method(id).await {
        Ok(m) if m.user_id == user => Ok(m),
        Ok(_) => Err(ApiError::not_found("contact method")),
        Err(e) => Err(e.into()),
    }
}

/// Adds a contact method (with the password), and queues its verification code.
pub async fn add_contact_method(
    state: &AppState,
    p: &auth::Principal,
    kind: ContactKind,
    address: &str,
    label: &str,
    password: &str,
) -> ApiResult<CreatedContactMethod> {
    confirm_password(state, &p.user, password).await?;
    if !state.notifier.supports(kind) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel_not_configured",
            format!("this server cannot send by {kind} yet: an admin configures it (docs/notifications.md)"),
        ));
    }
    let secret = (kind == ContactKind::Webhook).then(crate::notify::webhook::new_secret);
    let now = state.clock.now();
    let (_, code) = new_code(now, kind);
    let new = NewContactMethod {
        user_id: p.user.id,
        kind,
        label: label.to_owned(),
        address: address.to_owned(),
        secret: secret.clone(),
    };
    let method = state.store.create_contact_method(new, code, now, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(CreatedContactMethod { method, secret })
}

#[utoipa::path(get, path = "/api/v1/me/contact-methods", tag = "paging",
    responses((status = 200, body = ItemsBody<ContactMethod>), (status = 401, body = ErrorBody)))]
pub async fn list_contact_methods(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<ContactMethod>>> {
    Ok(Json(ItemsBody { items: state.store.list_contact_methods(p.user.id).await? }))
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods", tag = "paging", request_body = ContactMethodBody,
    responses((status = 201, body = CreatedContactMethod, description = "created; a code is on its way to it"),
        (status = 403, body = ErrorBody, description = "wrong password"), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contact_method(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<ContactMethodBody>,
) -> ApiResult<(StatusCode, Json<CreatedContactMethod>)> {
    let created = add_contact_method(&state, &p, body.kind, &body.address, &body.label, &body.current_password).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/api/v1/me/contact-methods/{id}", tag = "paging", request_body = PasswordBody,
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_contact_method(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let m = own_method(&state, p.user.id, &id).await?;
    confirm_password(&state, &p.user, &body.current_password).await?;
    state.store.delete_contact_method(m.id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/verify", tag = "paging", request_body = CodeBody,
    params(("id" = String, Path)), responses((status = 200, body = ContactMethod), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "too many wrong codes"), (status = 422, body = ErrorBody, description = "wrong or expired code")))]
pub async fn verify_contact_method(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<ContactMethod>> {
    let m = own_method(&state, p.user.id, &id).await?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(firebreak_domain::DomainError::invalid("code", "the code is six digits").into());
    }
    let verified =
        state.store.verify_contact_method(m.id, &auth::secret_hash(code), state.clock.now(), &p.actor()).await?;
    Ok(Json(verified))
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/resend", tag = "paging", params(("id" = String, Path)),
    responses((status = 202, description = "a new code is on its way"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resend_code(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let m = own_method(&state, p.user.id, &id).await?;
    let now = state.clock.now();
    let (_, code) = new_code(now, m.kind);
    state.store.resend_verification(m.id, code, now, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/test", tag = "paging", params(("id" = String, Path)),
    responses((status = 202, body = QueuedView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not verified yet")))]
pub async fn send_test(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<QueuedView>)> {
    let m = own_method(&state, p.user.id, &id).await?;
    let payload = test_payload(&p.user.name, m.kind);
    let notification_id = state.store.queue_test_notification(m.id, payload, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(QueuedView { notification_id })))
}

#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "paging",
    responses((status = 200, body = ItemsBody<NotificationRule>), (status = 401, body = ErrorBody)))]
pub async fn list_notification_rules(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<NotificationRule>>> {
    Ok(Json(ItemsBody { items: state.store.list_notification_rules(p.user.id).await? }))
}

#[utoipa::path(post, path = "/api/v1/me/notification-rules", tag = "paging", request_body = RuleBody,
    responses((status = 201, body = NotificationRule), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_notification_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<NotificationRule>)> {
    let delay = firebreak_domain::contact::parse_rule_delay(body.delay_minutes)?;
    let rule = state.store.create_notification_rule(p.user.id, body.contact_method_id, delay, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(delete, path = "/api/v1/me/notification-rules/{id}", tag = "paging", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_notification_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id: NotificationRuleId = id.parse().map_err(|_| ApiError::not_found("notification rule"))?;
    state.store.delete_notification_rule(p.user.id, id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/me/handoff-notifications", tag = "paging", request_body = HandoffBody,
    responses((status = 200, body = HandoffView)))]
pub async fn set_handoff(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<HandoffBody>,
) -> ApiResult<Json<HandoffView>> {
    state.store.set_handoff_notifications(p.user.id, body.enabled, &p.actor()).await?;
    Ok(Json(HandoffView { enabled: body.enabled }))
}

#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "paging",
    responses((status = 200, body = ItemsBody<NotificationRecord>)))]
pub async fn list_my_notifications(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<NotificationRecord>>> {
    Ok(Json(ItemsBody { items: state.store.list_notifications(None, Some(p.user.id), 100).await? }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/escalation", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = EscalationView), (status = 404, body = ErrorBody)))]
pub async fn get_escalation(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EscalationView>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let escalation = state.store.get_escalation(incident.id).await?;
    let notifications = state.store.list_notifications(Some(incident.id), None, 200).await?;
    Ok(Json(EscalationView { escalation, notifications }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalate", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = EscalationState, description = "the next level was paged"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "closed, no policy, or every level paged")))]
pub async fn escalate_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EscalationState>> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let esc = state.store.escalate_now(incident.id, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(Json(esc))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/reassign", tag = "paging", params(("id" = String, Path)), request_body = ReassignBody,
    responses((status = 204, description = "paged"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reassign_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> ApiResult<StatusCode> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    state.store.reassign(incident.id, body.user_id, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = ItemsBody<NotificationRecord>), (status = 404, body = ErrorBody)))]
pub async fn list_incident_notifications(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<NotificationRecord>>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    Ok(Json(ItemsBody { items: state.store.list_notifications(Some(incident.id), None, 200).await? }))
}
