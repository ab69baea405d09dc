//! Calendar feeds through HTTP: the JSON API that creates, lists and deletes them, and the
//! feed files themselves at their secret URLs (no login: the URL is the credential).

use super::Ctx;
use crate::AppState;
use crate::app::calendar::{self, CreatedFeed};
use crate::app::catalog::public_base;
use crate::error::{ApiPath, ApiResult, ErrorBody};
use crate::views::ItemsBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use firebreak_store::CalendarFeed;

/// The feed files, outside `/api/v1`: no login, the secret URL is the credential.
pub fn feeds_router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(get_calendar))
}

/// The JSON API that creates, lists and deletes feeds (nested under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules/{id}/calendar-feeds", post(create_schedule_feed))
        .route("/me/calendar-feeds", get(list_my_feeds).post(create_my_feed))
        .route("/calendar-feeds/{id}", delete(delete_feed))
}

#[utoipa::path(post, path = "/api/v1/schedules/{id}/calendar-feeds", tag = "on-call",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = CreatedFeed), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_schedule_feed(
    Ctx { state, p }: Ctx,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<CreatedFeed>)> {
    let base = public_base(&state, &headers);
    Ok((StatusCode::CREATED, Json(calendar::create_schedule_feed(&state, &p, &base, &id).await?)))
}

#[utoipa::path(post, path = "/api/v1/me/calendar-feeds", tag = "on-call",
    responses((status = 201, body = CreatedFeed)))]
pub async fn create_my_feed(Ctx { state, p }: Ctx, headers: HeaderMap) -> ApiResult<(StatusCode, Json<CreatedFeed>)> {
    let base = public_base(&state, &headers);
    Ok((StatusCode::CREATED, Json(calendar::create_my_feed(&state, &p, &base).await?)))
}

#[utoipa::path(get, path = "/api/v1/me/calendar-feeds", tag = "on-call",
    responses((status = 200, body = ItemsBody<CalendarFeed>)))]
pub async fn list_my_feeds(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<CalendarFeed>>> {
    Ok(Json(ItemsBody { items: calendar::list_my_feeds(&state, &p).await? }))
}

#[utoipa::path(delete, path = "/api/v1/calendar-feeds/{id}", tag = "on-call",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_feed(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    calendar::delete_feed(&state, &p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn feed_not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "calendar feed not found\n").into_response()
}

/// `GET /calendar/{token}.ics`. The token is looked up by its SHA-256, so the database
/// comparison never sees (nor leaks timing about) the secret itself.
pub async fn get_calendar(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics").filter(|t| {
        !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) else {
        return feed_not_found();
    };
    match calendar::render_feed(&state, token).await {
        Ok(Some(body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::HeaderName::from_static("x-robots-tag"), HeaderValue::from_static("noindex")),
            ],
            body,
        )
            .into_response(),
        Ok(None) => feed_not_found(),
        Err(e) => e.into_response(),
    }
}
