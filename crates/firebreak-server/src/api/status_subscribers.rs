//! Status page subscribers for admins: list, export, add (webhooks, or email addresses that
//! are sent the opt-in), delete. Addresses are personal data: every route is admins only. The
//! work is `app::status_pages::subscribers`'s; readers sign up on the page (`web::status_subscribe`).

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::status_pages::subscribers::{self, CreatedSubscriber, NewSubscriber, SubscriberView};
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status-pages/{slug}/subscribers", get(list_status_subscribers).post(create_status_subscriber))
        .route("/status-pages/{slug}/subscribers/export", get(export_status_subscribers))
        .route("/status-pages/{slug}/subscribers/{id}", delete(delete_status_subscriber))
}

#[utoipa::path(get, path = "/api/v1/status-pages/{slug}/subscribers", tag = "status pages", params(("slug" = String, Path)),
    responses((status = 200, body = ItemsBody<SubscriberView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_status_subscribers(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<SubscriberView>>> {
    Ok(Json(ItemsBody { items: subscribers::list(&state, &p, &slug).await? }))
}

/// Every subscriber of the page as a JSON download (a data export of personal data).
#[utoipa::path(get, path = "/api/v1/status-pages/{slug}/subscribers/export", tag = "status pages", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<SubscriberView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_status_subscribers(Ctx { state, p }: Ctx, ApiPath(slug): ApiPath<String>) -> ApiResult<Response> {
    let all = subscribers::list(&state, &p, &slug).await?;
    let disposition = format!("attachment; filename=\"{slug}-subscribers.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition), (header::CACHE_CONTROL, "no-store".to_owned())], Json(all))
        .into_response())
}

/// A webhook is subscribed at once and its signing secret is in this answer only; an email
/// address is sent the confirmation link, as when a reader signs up.
#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/subscribers", tag = "status pages", request_body = NewSubscriber,
    params(("slug" = String, Path)),
    responses((status = 201, body = CreatedSubscriber), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_status_subscriber(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewSubscriber>,
) -> ApiResult<(StatusCode, Json<CreatedSubscriber>)> {
    Ok((StatusCode::CREATED, Json(subscribers::add(&state, &p, &slug, body).await?)))
}

#[utoipa::path(delete, path = "/api/v1/status-pages/{slug}/subscribers/{id}", tag = "status pages",
    params(("slug" = String, Path), ("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_status_subscriber(
    Ctx { state, p }: Ctx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    subscribers::remove(&state, &p, &slug, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
