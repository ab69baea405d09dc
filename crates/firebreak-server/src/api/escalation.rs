//! Escalation policies: create and change them, and preview whom each step would page.

use crate::AppState;
use crate::api::ItemsBody;
use crate::app::escalation::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
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
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    let v = escalation::create_policy(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "on-call", responses((status = 200, body = ItemsBody<PolicyView>)))]
pub async fn list_policies(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<PolicyView>>> {
    let v = escalation::list_policies(&state).await?;
    Ok(Json(ItemsBody { items: v }))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PolicyView>> {
    let v = escalation::get_policy(&state, id).await?;
    Ok(Json(v))
}

#[utoipa::path(put, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_policy(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    let v = escalation::update_policy(&state, &p, id, body).await?;
    Ok(Json(v))
}

#[utoipa::path(delete, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    escalation::delete_policy(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}/plan", tag = "on-call",
    params(("id" = String, Path, format = Uuid), PlanQuery),
    responses((status = 200, body = ItemsBody<PlannedStep>), (status = 404, body = ErrorBody)))]
pub async fn plan_policy(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Json<ItemsBody<PlannedStep>>> {
    let v = escalation::plan_policy(&state, id, q).await?;
    Ok(Json(ItemsBody { items: v }))
}
