//! Classification rules and maintenance windows.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::triage::{self, NewRule, NewWindow, WindowView};
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use firebreak_domain::rules::Rule;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list_rules).post(create_rule))
        .route("/rules/{id}", delete(delete_rule))
        .route("/maintenance-windows", get(list_windows).post(create_window))
        .route("/maintenance-windows/{id}", delete(delete_window))
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "triage", request_body = NewRule,
    responses((status = 201, body = Rule), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rule(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<NewRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    Ok((StatusCode::CREATED, Json(triage::create_rule(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "triage", responses((status = 200, body = ItemsBody<Rule>)))]
pub async fn list_rules(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<Rule>>> {
    Ok(Json(ItemsBody { items: triage::list_rules(&state).await? }))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "triage", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_rule(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    triage::delete_rule(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "triage", request_body = NewWindow,
    responses((status = 201, body = WindowView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_window(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<NewWindow>,
) -> ApiResult<(StatusCode, Json<WindowView>)> {
    Ok((StatusCode::CREATED, Json(triage::create_window(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/maintenance-windows", tag = "triage", responses((status = 200, body = ItemsBody<WindowView>)))]
pub async fn list_windows(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<WindowView>>> {
    Ok(Json(ItemsBody { items: triage::list_windows(&state).await? }))
}

#[utoipa::path(delete, path = "/api/v1/maintenance-windows/{id}", tag = "triage", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_window(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    triage::delete_window(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
