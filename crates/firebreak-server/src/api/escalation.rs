//! Escalation policies: create and change them, and preview whom each step would page.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::escalation::{self, *};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/escalation-policies", get(list_policies).post(create_policy))
        .route("/escalation-policies/{id}", get(get_policy).put(update_policy).delete(delete_policy))
        .route("/escalation-policies/{id}/plan", get(plan_policy))
}

#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "on-call", request_body = PolicyBody,
    responses((status = 201, body = PolicyView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_policy(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    Ok((StatusCode::CREATED, Json(escalation::create_policy(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "on-call", responses((status = 200, body = ItemsBody<PolicyView>)))]
pub async fn list_policies(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<PolicyView>>> {
    Ok(Json(ItemsBody { items: escalation::list_policies(&state).await? }))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody)))]
pub async fn get_policy(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<PolicyView>> {
    Ok(Json(escalation::get_policy(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_policy(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(escalation::update_policy(&state, &p, id, body).await?))
}

#[utoipa::path(delete, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_policy(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    escalation::delete_policy(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}/plan", tag = "on-call",
    params(("id" = String, Path, format = Uuid), PlanQuery),
    responses((status = 200, body = ItemsBody<PlannedStep>), (status = 404, body = ErrorBody)))]
pub async fn plan_policy(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Json<ItemsBody<PlannedStep>>> {
    Ok(Json(ItemsBody { items: escalation::plan_policy(&state, id, q).await? }))
}
