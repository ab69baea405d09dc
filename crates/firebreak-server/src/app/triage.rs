//! Classification rules and maintenance windows.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::rules::{Condition, MaintenanceWindow, Recurrence, Rule, RuleActions};
use firebreak_domain::{ServiceId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// The service a rule or window is limited to must exist.
pub async fn check_service(state: &AppState, service: Option<ServiceId>) -> ApiResult<()> {
    if let Some(s) = service {
        state.store.get_service(s).await.map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "service_id: no such service")
        })?;
    }
    Ok(())
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

/// Creates a classification rule (default position 100); responders only.
pub async fn create_rule(state: &AppState, p: &Principal, body: NewRule) -> ApiResult<Rule> {
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
    check_service(state, rule.service_id).await?;
    state.store.create_rule(&rule, &p.actor()).await?;
    Ok(rule)
}

/// Every classification rule.
pub async fn list_rules(state: &AppState) -> ApiResult<Vec<Rule>> {
    Ok(state.store.list_rules().await?)
}

/// Deletes the classification rule `id`; responders only.
pub async fn delete_rule(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    p.require_responder()?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found("rule"))?;
    state.store.delete_rule(id, &p.actor()).await?;
    Ok(())
}

/// Creates a maintenance window that suppresses matching alerts; responders only.
pub async fn create_window(state: &AppState, p: &Principal, body: NewWindow) -> ApiResult<WindowView> {
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
    check_service(state, window.service_id).await?;
    state.store.create_window(&window, &p.actor()).await?;
    let active = window.is_active(state.clock.now());
    Ok(WindowView { window, active })
}

/// Every maintenance window, with whether it is active now.
pub async fn list_windows(state: &AppState) -> ApiResult<Vec<WindowView>> {
    let now = state.clock.now();
    let items = state
        .store
        .list_windows()
        .await?
        .into_iter()
        .map(|w| WindowView { active: w.is_active(now), window: w })
        .collect();
    Ok(items)
}

/// Deletes the maintenance window `id`; responders only.
pub async fn delete_window(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    p.require_responder()?;
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found("maintenance window"))?;
    state.store.delete_window(id, &p.actor()).await?;
    Ok(())
}
