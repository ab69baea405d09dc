//! How people are paged, through the API: their contact methods (verified with a code before
//! use), notification rules and hand-off setting, a test message; and, per incident, its
//! escalation, "escalate now", "reassign" and the notifications sent.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::paging::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use firebreak_domain::contact::{ContactMethod, NotificationRule};
use firebreak_store::{EscalationState, NotificationRecord};

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

#[utoipa::path(get, path = "/api/v1/me/contact-methods", tag = "paging",
    responses((status = 200, body = ItemsBody<ContactMethod>), (status = 401, body = ErrorBody)))]
pub async fn list_contact_methods(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<ContactMethod>>> {
    Ok(Json(ItemsBody { items: paging::list_contact_methods(&state, &p).await? }))
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods", tag = "paging", request_body = ContactMethodBody,
    responses((status = 201, body = CreatedContactMethod, description = "created; a code is on its way to it"),
        (status = 403, body = ErrorBody, description = "wrong password"), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_contact_method(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<ContactMethodBody>,
) -> ApiResult<(StatusCode, Json<CreatedContactMethod>)> {
    Ok((StatusCode::CREATED, Json(paging::create_contact_method(&state, &p, body).await?)))
}

#[utoipa::path(delete, path = "/api/v1/me/contact-methods/{id}", tag = "paging", request_body = PasswordBody,
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_contact_method(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    paging::delete_contact_method(&state, &p, id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/verify", tag = "paging", request_body = CodeBody,
    params(("id" = String, Path)), responses((status = 200, body = ContactMethod), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "too many wrong codes"), (status = 422, body = ErrorBody, description = "wrong or expired code")))]
pub async fn verify_contact_method(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<ContactMethod>> {
    Ok(Json(paging::verify_contact_method(&state, &p, id, body).await?))
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/resend", tag = "paging", params(("id" = String, Path)),
    responses((status = 202, description = "a new code is on its way"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resend_code(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    paging::resend_code(&state, &p, id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/test", tag = "paging", params(("id" = String, Path)),
    responses((status = 202, body = QueuedView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not verified yet")))]
pub async fn send_test(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<QueuedView>)> {
    Ok((StatusCode::ACCEPTED, Json(paging::send_test(&state, &p, id).await?)))
}

#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "paging",
    responses((status = 200, body = ItemsBody<NotificationRule>), (status = 401, body = ErrorBody)))]
pub async fn list_notification_rules(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<NotificationRule>>> {
    Ok(Json(ItemsBody { items: paging::list_notification_rules(&state, &p).await? }))
}

#[utoipa::path(post, path = "/api/v1/me/notification-rules", tag = "paging", request_body = RuleBody,
    responses((status = 201, body = NotificationRule), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_notification_rule(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<NotificationRule>)> {
    Ok((StatusCode::CREATED, Json(paging::create_notification_rule(&state, &p, body).await?)))
}

#[utoipa::path(delete, path = "/api/v1/me/notification-rules/{id}", tag = "paging", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_notification_rule(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    paging::delete_notification_rule(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/me/handoff-notifications", tag = "paging", request_body = HandoffBody,
    responses((status = 200, body = HandoffView)))]
pub async fn set_handoff(Ctx { state, p }: Ctx, ApiJson(body): ApiJson<HandoffBody>) -> ApiResult<Json<HandoffView>> {
    Ok(Json(paging::set_handoff(&state, &p, body).await?))
}

#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "paging",
    responses((status = 200, body = ItemsBody<NotificationRecord>)))]
pub async fn list_my_notifications(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<NotificationRecord>>> {
    Ok(Json(ItemsBody { items: paging::list_my_notifications(&state, &p).await? }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/escalation", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = EscalationView), (status = 404, body = ErrorBody)))]
pub async fn get_escalation(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EscalationView>> {
    Ok(Json(paging::get_escalation(&state, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/escalate", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = EscalationState, description = "the next level was paged"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "closed, no policy, or every level paged")))]
pub async fn escalate_incident(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EscalationState>> {
    Ok(Json(paging::escalate_incident(&state, &p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/reassign", tag = "paging", params(("id" = String, Path)), request_body = ReassignBody,
    responses((status = 204, description = "paged"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reassign_incident(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> ApiResult<StatusCode> {
    paging::reassign_incident(&state, &p, id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/notifications", tag = "paging", params(("id" = String, Path)),
    responses((status = 200, body = ItemsBody<NotificationRecord>), (status = 404, body = ErrorBody)))]
pub async fn list_incident_notifications(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<NotificationRecord>>> {
    Ok(Json(ItemsBody { items: paging::list_incident_notifications(&state, id).await? }))
}
