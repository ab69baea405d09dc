//! Classification rules and maintenance windows.

use crate::AppState;
use crate::api::ItemsBody;
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use firebreak_domain::rules::{Condition, MaintenanceWindow, Recurrence, Rule, RuleActions};
use firebreak_domain::{ServiceId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list_rules).post(create_rule))
        .route("/rules/{id}", delete(delete_rule))
        .route("/maintenance-windows", get(list_windows).post(create_window))
        .route("/maintenance-windows/{id}", delete(delete_window))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    pub name: String,
    /// Only this service's alerts; omit for every service.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    /// Lower runs first (default 100).
    pub position: Option<i64>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub actions: RuleActions,
}

async fn check_service(state: &AppState, service: Option<ServiceId>) -> ApiResult<()> {
    if let Some(s) = service {
        state.store.get_service(s).await.map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "service_id: no such service")
        })?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "triage", request_body = NewRule,
    responses((status = 201, body = Rule), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<NewRule>,
) -> ApiResult<(StatusCode, Json<Rule>)> {
    p.require_responder()?;
    let rule = Rule {
        id: uuid::Uuid::now_v7(),
        name: body.name.trim().to_owned(),
        service_id: body.service_id,
        position: body.position.unwrap_or(100),
        conditions: body.conditions,
        actions: body.actions,
    };
    rule.validate()?;
    check_service(&state, rule.service_id).await?;
    state.store.create_rule(&rule, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "triage", responses((status = 200, body = ItemsBody<Rule>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<Rule>>> {
    Ok(Json(ItemsBody { items: state.store.list_rules().await? }))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "triage", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require_responder()?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found("rule"))?;
    state.store.delete_rule(id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWindow {
    pub name: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// once (default), daily or weekly.
    pub recurrence: Option<Recurrence>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    #[serde(flatten)]
    pub window: MaintenanceWindow,
    /// Whether it is suppressing matching alerts now.
    pub active: bool,
}

#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "triage", request_body = NewWindow,
    responses((status = 201, body = WindowView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_window(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<NewWindow>,
) -> ApiResult<(StatusCode, Json<WindowView>)> {
    p.require_responder()?;
    let window = MaintenanceWindow {
        id: uuid::Uuid::now_v7(),
        name: body.name.trim().to_owned(),
        service_id: body.service_id,
        conditions: body.conditions,
        starts_at: firebreak_domain::time::truncate(body.starts_at),
        ends_at: firebreak_domain::time::truncate(body.ends_at),
        recurrence: body.recurrence.unwrap_or(Recurrence::Once),
    };
    window.validate()?;
    check_service(&state, window.service_id).await?;
    state.store.create_window(&window, &p.actor()).await?;
    let active = window.is_active(state.clock.now());
    Ok((StatusCode::CREATED, Json(WindowView { window, active })))
}

#[utoipa::path(get, path = "/api/v1/maintenance-windows", tag = "triage", responses((status = 200, body = ItemsBody<WindowView>)))]
pub async fn list_windows(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<WindowView>>> {
    let now = state.clock.now();
    let items = state
        .store
        .list_windows()
        .await?
        .into_iter()
        .map(|w| WindowView { active: w.is_active(now), window: w })
        .collect();
    Ok(Json(ItemsBody { items }))
}

#[utoipa::path(delete, path = "/api/v1/maintenance-windows/{id}", tag = "triage", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_window(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require_responder()?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found("maintenance window"))?;
    state.store.delete_window(id, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
