//! The service catalog and its integrations. Integration keys are shown once, when created
//! or rotated, with the URL to send alerts to.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::catalog::{self, *};
use crate::app::mapping::Mapping;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", post(create_service).get(list_services))
        .route("/services/{id}", get(get_service).patch(update_service))
        .route("/services/{id}/integrations", post(create_integration).get(list_integrations))
        .route("/integrations/{id}/rotate-key", post(rotate_integration_key))
        .route("/integrations/{id}/heartbeat", get(get_heartbeat).put(configure_heartbeat))
        .route("/integrations/{id}/mapping", get(get_mapping).put(set_mapping))
        .route("/integrations/{id}/mapping/test", post(test_mapping))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceBody,
    responses((status = 201, body = ServiceView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_service(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceView>)> {
    Ok((StatusCode::CREATED, Json(catalog::create_service(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = ItemsBody<ServiceView>)))]
pub async fn list_services(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<ServiceView>>> {
    Ok(Json(ItemsBody { items: catalog::list_services(&state).await? }))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
pub async fn get_service(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<ServiceView>> {
    Ok(Json(catalog::get_service(&state, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "services", request_body = ServiceBody, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<Json<ServiceView>> {
    Ok(Json(catalog::update_service(&state, &p, id, body).await?))
}

#[utoipa::path(post, path = "/api/v1/services/{id}/integrations", tag = "services", request_body = CreateIntegration,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = IntegrationWithKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_integration(
    Ctx { state, p }: Ctx,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> ApiResult<(StatusCode, Json<IntegrationWithKey>)> {
    let created = catalog::create_integration(&state, &p, &public_base(&state, &headers), &id, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/integrations", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ItemsBody<IntegrationView>), (status = 404, body = ErrorBody)))]
pub async fn list_integrations(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<IntegrationView>>> {
    Ok(Json(ItemsBody { items: catalog::list_integrations(&state, &id).await? }))
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/rotate-key", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = IntegrationWithKey), (status = 404, body = ErrorBody)))]
pub async fn rotate_integration_key(
    Ctx { state, p }: Ctx,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IntegrationWithKey>> {
    Ok(Json(catalog::rotate_integration_key(&state, &p, &public_base(&state, &headers), &id).await?))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody)))]
pub async fn get_heartbeat(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<HeartbeatView>> {
    Ok(Json(catalog::get_heartbeat(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", request_body = HeartbeatSettings,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn configure_heartbeat(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HeartbeatSettings>,
) -> ApiResult<Json<HeartbeatView>> {
    Ok(Json(catalog::configure_heartbeat(&state, &p, id, body).await?))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/mapping", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_mapping(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Mapping>> {
    Ok(Json(catalog::get_mapping(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/mapping", tag = "services", request_body = Mapping, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_mapping(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> ApiResult<Json<Mapping>> {
    Ok(Json(catalog::set_mapping(&state, &p, id, mapping).await?))
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/mapping/test", tag = "services", request_body = MappingTest, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MappedEvent), (status = 422, body = ErrorBody)))]
pub async fn test_mapping(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MappingTest>,
) -> ApiResult<Json<MappedEvent>> {
    Ok(Json(catalog::test_mapping(&state, &id, body).await?))
}
