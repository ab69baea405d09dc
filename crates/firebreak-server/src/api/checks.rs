//! Built-in HTTP(S) and TCP checks of a service, with their state and history.

use crate::AppState;
use crate::api::ItemsBody;
use crate::app::checks::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
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
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewCheck>,
) -> ApiResult<(StatusCode, Json<CheckView>)> {
    let v = checks::create_check(&state, &p, id, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/v1/checks", tag = "services", params(CheckQuery), responses((status = 200, body = ItemsBody<CheckView>)))]
pub async fn list_checks(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> ApiResult<Json<ItemsBody<CheckView>>> {
    let v = checks::list_checks(&state, q).await?;
    Ok(Json(ItemsBody { items: v }))
}

#[utoipa::path(get, path = "/api/v1/checks/{id}/history", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ItemsBody<CheckResultView>), (status = 404, body = ErrorBody)))]
pub async fn check_history(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<CheckResultView>>> {
    let v = checks::check_history(&state, id).await?;
    Ok(Json(ItemsBody { items: v }))
}
