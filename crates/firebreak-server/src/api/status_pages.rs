//! Status page administration: pages (settings), components and their statuses, public
//! incidents and their updates (drafts, publishing), maintenance, and public updates written
//! from an incident. The work is `app::status_pages`'s; these shape JSON. The pages
//! themselves are public (`web::status_pages`).

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::status_pages::notices::{
    self, AddUpdate, Drafted, FromIncident, NoticeView, PostNotice, Preview, ScheduleMaintenance,
};
use crate::app::status_pages::settings::{self, SettingsAnswer, SettingsBody};
use crate::app::status_pages::{self, CreateComponent, CreatePage, PageView, SetStatus};
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status-pages", post(create_status_page).get(list_status_pages))
        .route("/status-pages/{slug}", get(get_status_page).patch(update_status_page))
        .route("/status-pages/{slug}/components", post(create_status_component))
        .route("/status-pages/{slug}/components/{id}/status", put(set_component_status))
        .route("/status-pages/{slug}/incidents", get(list_status_notices).post(post_status_incident))
        .route("/status-pages/{slug}/incidents/{id}/updates", post(add_status_update))
        .route("/status-pages/{slug}/updates/{id}/publish", post(publish_status_update))
        .route("/status-pages/{slug}/maintenance", post(schedule_status_maintenance))
        .route("/incidents/{id}/status-page/preview", post(preview_public_update))
        .route("/incidents/{id}/status-page/drafts", post(draft_public_update))
}

#[utoipa::path(patch, path = "/api/v1/status-pages/{slug}", tag = "status pages", request_body = SettingsBody,
    params(("slug" = String, Path)),
    responses((status = 200, body = SettingsAnswer), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_status_page(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<SettingsBody>,
) -> ApiResult<Json<SettingsAnswer>> {
    Ok(Json(settings::update(&state, &p, &slug, body).await?))
}

#[utoipa::path(get, path = "/api/v1/status-pages/{slug}/incidents", tag = "status pages", params(("slug" = String, Path)),
    responses((status = 200, body = ItemsBody<NoticeView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_status_notices(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<NoticeView>>> {
    Ok(Json(ItemsBody { items: notices::list(&state, &p, &slug).await? }))
}

#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/incidents", tag = "status pages", request_body = PostNotice,
    params(("slug" = String, Path)),
    responses((status = 201, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_status_incident(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<PostNotice>,
) -> ApiResult<(StatusCode, Json<NoticeView>)> {
    Ok((StatusCode::CREATED, Json(notices::post(&state, &p, &slug, body).await?)))
}

#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/incidents/{id}/updates", tag = "status pages", request_body = AddUpdate,
    params(("slug" = String, Path), ("id" = String, Path, format = Uuid)),
    responses((status = 201, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_status_update(
    Ctx { state, p }: Ctx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<AddUpdate>,
) -> ApiResult<(StatusCode, Json<NoticeView>)> {
    Ok((StatusCode::CREATED, Json(notices::add_update(&state, &p, &slug, &id, body).await?)))
}

#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/updates/{id}/publish", tag = "status pages",
    params(("slug" = String, Path), ("id" = String, Path, format = Uuid)),
    responses((status = 200, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn publish_status_update(
    Ctx { state, p }: Ctx,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<NoticeView>> {
    Ok(Json(notices::publish(&state, &p, &slug, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/status-pages/{slug}/maintenance", tag = "status pages", request_body = ScheduleMaintenance,
    params(("slug" = String, Path)),
    responses((status = 201, body = NoticeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule_status_maintenance(
    Ctx { state, p }: Ctx,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<ScheduleMaintenance>,
) -> ApiResult<(StatusCode, Json<NoticeView>)> {
    Ok((StatusCode::CREATED, Json(notices::schedule(&state, &p, &slug, body).await?)))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/status-page/preview", tag = "status pages", request_body = FromIncident,
    params(("id" = String, Path)),
    responses((status = 200, body = Preview), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_public_update(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<FromIncident>,
) -> ApiResult<Json<Preview>> {
    Ok(Json(notices::preview(&state, &p, &id, &body).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/status-page/drafts", tag = "status pages", request_body = FromIncident,
    params(("id" = String, Path)),
    responses((status = 201, body = Drafted), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn draft_public_update(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<FromIncident>,
) -> ApiResult<(StatusCode, Json<Drafted>)> {
    Ok((StatusCode::CREATED, Json(notices::draft(&state, &p, &id, &body).await?)))
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
