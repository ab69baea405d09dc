//! Stakeholder updates of one incident: the templates to write them from, the cadence, a
//! preview that changes nothing, and sending (recorded on the timeline; emails queued to the
//! contact lists; customer-facing updates are drafts, recorded but not sent).

use super::Ctx;
use crate::AppState;
use crate::app::incidents;
use crate::app::procedures::updates::{self, ComposeBody, ComposedUpdate, UpdatesView, compose, updates_view};
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/updates", get(get_updates).post(send_update))
        .route("/incidents/{id}/updates/preview", post(preview_update))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/updates", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = UpdatesView), (status = 404, body = ErrorBody)))]
pub async fn get_updates(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<UpdatesView>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(updates_view(&state, &incident).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates/preview", tag = "incidents", request_body = ComposeBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = ComposedUpdate), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_update(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ComposeBody>,
) -> ApiResult<Json<ComposedUpdate>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(compose(&state, &incident, &body).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents", request_body = ComposeBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = ComposedUpdate), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn send_update(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ComposeBody>,
) -> ApiResult<(StatusCode, Json<ComposedUpdate>)> {
    let update = updates::send_update(&state, &p, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(update)))
}
