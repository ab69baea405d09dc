//! How people are paged, through the API: their contact methods (verified with a code before
//! use), notification rules and hand-off setting, a test message; and, per incident, its
//! escalation, "escalate now", "reassign" and the notifications sent.

use crate::AppState;
use crate::app::access::confirm_password;
use crate::app::incidents::incident_ref;
use crate::auth::{self, Principal};
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::contact::{ContactKind, ContactMethod, NotificationRule};
use firebreak_domain::{ContactMethodId, NotificationRuleId, Timestamp, UserId};
use firebreak_store::{EscalationState, NewContactMethod, NotificationRecord, VerificationCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long a verification code works.
pub const CODE_TTL_MINUTES: i64 = 15;

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
pub async fn own_method(state: &AppState, user: UserId, id: &str) -> ApiResult<ContactMethod> {
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

/// The caller's own contact methods.
pub async fn list_contact_methods(state: &AppState, p: &Principal) -> ApiResult<Vec<ContactMethod>> {
    Ok(state.store.list_contact_methods(p.user.id).await?)
}

/// Adds a contact method for the caller (current password required) and queues its verification code.
pub async fn create_contact_method(
    state: &AppState,
    p: &Principal,
    body: ContactMethodBody,
) -> ApiResult<CreatedContactMethod> {
    let created = add_contact_method(state, p, body.kind, &body.address, &body.label, &body.current_password).await?;
    Ok(created)
}

/// Deletes one of the caller's contact methods with its notification rules; the current password
/// is required.
pub async fn delete_contact_method(state: &AppState, p: &Principal, id: String, body: PasswordBody) -> ApiResult<()> {
    let m = own_method(state, p.user.id, &id).await?;
    confirm_password(state, &p.user, &body.current_password).await?;
    state.store.delete_contact_method(m.id, &p.actor()).await?;
    Ok(())
}

/// Verifies one of the caller's contact methods with the six-digit code sent to it.
pub async fn verify_contact_method(
    state: &AppState,
    p: &Principal,
    id: String,
    body: CodeBody,
) -> ApiResult<ContactMethod> {
    let m = own_method(state, p.user.id, &id).await?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(firebreak_domain::DomainError::invalid("code", "the code is six digits").into());
    }
    let verified =
        state.store.verify_contact_method(m.id, &auth::secret_hash(code), state.clock.now(), &p.actor()).await?;
    Ok(verified)
}

/// Sends a new verification code to one of the caller's contact methods.
pub async fn resend_code(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    let m = own_method(state, p.user.id, &id).await?;
    let now = state.clock.now();
    let (_, code) = new_code(now, m.kind);
    state.store.resend_verification(m.id, code, now, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(())
}

/// Queues a test notification to one of the caller's contact methods.
pub async fn send_test(state: &AppState, p: &Principal, id: String) -> ApiResult<QueuedView> {
    let m = own_method(state, p.user.id, &id).await?;
    let payload = test_payload(&p.user.name, m.kind);
    let notification_id = state.store.queue_test_notification(m.id, payload, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(QueuedView { notification_id })
}

/// The caller's notification rules.
pub async fn list_notification_rules(state: &AppState, p: &Principal) -> ApiResult<Vec<NotificationRule>> {
    Ok(state.store.list_notification_rules(p.user.id).await?)
}

/// Adds a notification rule for the caller: a contact method, `delay_minutes` (0 to 240) after the page.
pub async fn create_notification_rule(state: &AppState, p: &Principal, body: RuleBody) -> ApiResult<NotificationRule> {
    let delay = firebreak_domain::contact::parse_rule_delay(body.delay_minutes)?;
    let rule = state.store.create_notification_rule(p.user.id, body.contact_method_id, delay, &p.actor()).await?;
    Ok(rule)
}

/// Deletes one of the caller's notification rules.
pub async fn delete_notification_rule(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    let id: NotificationRuleId = id.parse().map_err(|_| ApiError::not_found("notification rule"))?;
    state.store.delete_notification_rule(p.user.id, id, &p.actor()).await?;
    Ok(())
}

/// Turns the caller's hand-off messages (when their on-call shift starts) on or off.
pub async fn set_handoff(state: &AppState, p: &Principal, body: HandoffBody) -> ApiResult<HandoffView> {
    state.store.set_handoff_notifications(p.user.id, body.enabled, &p.actor()).await?;
    Ok(HandoffView { enabled: body.enabled })
}

/// The caller's newest 100 notifications.
pub async fn list_my_notifications(state: &AppState, p: &Principal) -> ApiResult<Vec<NotificationRecord>> {
    Ok(state.store.list_notifications(None, Some(p.user.id), 100).await?)
}

/// The escalation of incident `id` (absent when its service has no policy) and its newest 200
/// notifications.
pub async fn get_escalation(state: &AppState, id: String) -> ApiResult<EscalationView> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let escalation = state.store.get_escalation(incident.id).await?;
    let notifications = state.store.list_notifications(Some(incident.id), None, 200).await?;
    Ok(EscalationView { escalation, notifications })
}

/// "Escalate now": fires the next escalation step of incident `id` at once; responders only.
pub async fn escalate_incident(state: &AppState, p: &Principal, id: String) -> ApiResult<EscalationState> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let esc = state.store.escalate_now(incident.id, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(esc)
}

/// Pages `user_id` now for incident `id` (escalation goes on as planned); responders only.
pub async fn reassign_incident(state: &AppState, p: &Principal, id: String, body: ReassignBody) -> ApiResult<()> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    state.store.reassign(incident.id, body.user_id, state.clock.now(), &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(())
}

/// The newest 200 notifications sent for incident `id`.
pub async fn list_incident_notifications(state: &AppState, id: String) -> ApiResult<Vec<NotificationRecord>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    Ok(state.store.list_notifications(Some(incident.id), None, 200).await?)
}
