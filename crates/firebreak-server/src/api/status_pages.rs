//! Status page administration: pages, components and their statuses. The work is
//! `app::status_pages`'s; these shape JSON. The pages themselves are public (`web::status_pages`).

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::status_pages::{self, CreateComponent, CreatePage, PageView, SetStatus};
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status-pages", post(create_status_page).get(list_status_pages))
        .route("/status-pages/{slug}", get(get_status_page))
        .route("/status-pages/{slug}/components", post(create_status_component))
        .route("/status-pages/{slug}/components/{id}/status", put(set_component_status))
}

#[utoipa::path(post, path = "/api/v1/status-pages", tag = "status pages", request_body = CreatePage,
    responses((status = 201, body = PageView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_status_page(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<CreatePage>,
) -> ApiResult<(StatusCode, Json<PageView>)> {
    Ok((StatusCode::CREATED, Json(status_pages::create_page(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/status-pages", tag = "status pages",
    responses((status = 200, body = ItemsBody<PageView>), (status = 401, body = ErrorBody)))]
pub async fn list_status_pages(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<PageView>>> {
    Ok(Json(ItemsBody { items: status_pages::list_pages(&state).await? }))
}

#[utoipa::path(get, path = "/api/v1/status-pages/{slug}", tag = "status pages", params(("slug" = String, Path)),
    responses((status = 200, body = PageView), (status = 404, body = ErrorBody)))]
pub async fn get_status_page(Ctx { state, .. }: Ctx, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<PageView>> {
    Ok(Json(status_pages::page_view(&state, &slug).await?))
}

#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/components", tag = "status pages", request_body = CreateComponent,
    params(("slug" = String, Path)),
    responses((status = 201, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_status_component(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<CreateComponent>,
) -> ApiResult<(StatusCode, Json<PageView>)> {
    Ok((StatusCode::CREATED, Json(status_pages::add_component(&state, &p, &slug, body).await?)))
}

#[utoipa::path(put, path = "/api/v1/status-pages/{slug}/components/{id}/status", tag = "status pages", request_body = SetStatus,
    params(("slug" = String, Path), ("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PageView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_component_status(
    Ctx { state, p }: Ctx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SetStatus>,
) -> ApiResult<Json<PageView>> {
    Ok(Json(status_pages::set_status(&state, &p, &slug, &id, body).await?))
}
