//! Built-in HTTP(S) and TCP checks of a service, with their state and history.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::checks::{self, *};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services/{id}/checks", post(create_check))
        .route("/checks", get(list_checks))
        .route("/checks/{id}/history", get(check_history))
}

#[utoipa::path(post, path = "/api/v1/services/{id}/checks", tag = "services", request_body = NewCheck, params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = CheckView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_check(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewCheck>,
) -> ApiResult<(StatusCode, Json<CheckView>)> {
    Ok((StatusCode::CREATED, Json(checks::create_check(&state, &p, id, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/checks", tag = "services", params(CheckQuery), responses((status = 200, body = ItemsBody<CheckView>)))]
pub async fn list_checks(
    Ctx { state, .. }: Ctx,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> ApiResult<Json<ItemsBody<CheckView>>> {
    Ok(Json(ItemsBody { items: checks::list_checks(&state, q).await? }))
}

#[utoipa::path(get, path = "/api/v1/checks/{id}/history", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ItemsBody<CheckResultView>), (status = 404, body = ErrorBody)))]
pub async fn check_history(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<CheckResultView>>> {
    Ok(Json(ItemsBody { items: checks::check_history(&state, id).await? }))
}
