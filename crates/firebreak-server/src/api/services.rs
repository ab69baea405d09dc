//! The service catalog and its integrations. Integration keys are shown once, when created
//! or rotated, with the URL to send alerts to.

use crate::AppState;
use crate::api::ItemsBody;
use crate::app::catalog::{self, *};
use crate::app::mapping::Mapping;
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
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
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceView>)> {
    let v = catalog::create_service(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = ItemsBody<ServiceView>)))]
pub async fn list_services(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<ServiceView>>> {
    let v = catalog::list_services(&state).await?;
    Ok(Json(ItemsBody { items: v }))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
pub async fn get_service(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ServiceView>> {
    let v = catalog::get_service(&state, id).await?;
    Ok(Json(v))
}

#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "services", request_body = ServiceBody, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<Json<ServiceView>> {
    let v = catalog::update_service(&state, &p, id, body).await?;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/api/v1/services/{id}/integrations", tag = "services", request_body = CreateIntegration,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = IntegrationWithKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_integration(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> ApiResult<(StatusCode, Json<IntegrationWithKey>)> {
    let created = catalog::create_integration(&state, &p, &public_base(&state, &headers), &id, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/integrations", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ItemsBody<IntegrationView>), (status = 404, body = ErrorBody)))]
pub async fn list_integrations(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<IntegrationView>>> {
    Ok(Json(ItemsBody { items: catalog::list_integrations(&state, &id).await? }))
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/rotate-key", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = IntegrationWithKey), (status = 404, body = ErrorBody)))]
pub async fn rotate_integration_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IntegrationWithKey>> {
    Ok(Json(catalog::rotate_integration_key(&state, &p, &public_base(&state, &headers), &id).await?))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody)))]
pub async fn get_heartbeat(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HeartbeatView>> {
    let v = catalog::get_heartbeat(&state, id).await?;
    Ok(Json(v))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", request_body = HeartbeatSettings,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn configure_heartbeat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HeartbeatSettings>,
) -> ApiResult<Json<HeartbeatView>> {
    let v = catalog::configure_heartbeat(&state, &p, id, body).await?;
    Ok(Json(v))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/mapping", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_mapping(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Mapping>> {
    let v = catalog::get_mapping(&state, id).await?;
    Ok(Json(v))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/mapping", tag = "services", request_body = Mapping, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_mapping(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> ApiResult<Json<Mapping>> {
    let v = catalog::set_mapping(&state, &p, id, mapping).await?;
    Ok(Json(v))
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/mapping/test", tag = "services", request_body = MappingTest, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MappedEvent), (status = 422, body = ErrorBody)))]
pub async fn test_mapping(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MappingTest>,
) -> ApiResult<Json<MappedEvent>> {
    Ok(Json(catalog::test_mapping(&state, &id, body).await?))
}
