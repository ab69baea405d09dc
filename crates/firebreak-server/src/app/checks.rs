//! Built-in HTTP(S) and TCP checks of a service, with their state and history.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::rules::{CheckDefinition, Probe};
use firebreak_domain::{IntegrationId, ServiceId, Timestamp};
use firebreak_store::{CheckResult, CheckStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheck {
    pub name: String,
    pub probe: Probe,
    /// Seconds between runs (default 60).
    pub interval_secs: Option<i64>,
    /// Default 10000.
    pub timeout_ms: Option<i64>,
    /// Failures in a row before an alert opens (default 3).
    pub failure_threshold: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    #[serde(flatten)]
    pub definition: CheckDefinition,
    #[schema(value_type = String, format = Uuid)]
    pub integration_id: IntegrationId,
    pub consecutive_failures: i64,
    pub down: bool,
    #[schema(value_type = String, format = DateTime)]
    pub next_run_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

impl From<CheckStatus> for CheckView {
    fn from(c: CheckStatus) -> Self {
        CheckView {
            definition: c.definition,
            integration_id: c.integration_id,
            consecutive_failures: c.consecutive_failures,
            down: c.down,
            next_run_at: c.due_at,
            last_checked_at: c.last_checked_at,
            last_error: c.last_error,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    pub service_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResultView {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub ok: bool,
    pub latency_ms: i64,
    pub detail: String,
}

impl From<CheckResult> for CheckResultView {
    fn from(r: CheckResult) -> Self {
        CheckResultView { at: r.at, ok: r.ok, latency_ms: r.latency_ms, detail: r.detail }
    }
}

/// Adds an HTTP(S) or TCP check to the service `id`, first run due now (defaults: every 60 s,
/// 10 s timeout, alert after 3 failures); responders only.
pub async fn create_check(state: &AppState, p: &Principal, id: String, body: NewCheck) -> ApiResult<CheckView> {
    p.require_responder()?;
    let service_id: ServiceId = id.parse().map_err(|_| ApiError::not_found("service"))?;
    let check = CheckDefinition {
        id: uuid::Uuid::now_v7(),
        service_id,
        name: body.name.trim().to_owned(),
        probe: body.probe,
        interval_secs: body.interval_secs.unwrap_or(60),
        timeout_ms: body.timeout_ms.unwrap_or(10_000),
        failure_threshold: body.failure_threshold.unwrap_or(3),
    };
    check.validate()?;
    let created = state.store.create_check(&check, state.clock.now(), &p.actor()).await?;
    Ok(created.into())
}

/// The checks of one service (`service_id`) or of all, with their current state.
pub async fn list_checks(state: &AppState, q: CheckQuery) -> ApiResult<Vec<CheckView>> {
    let service = q
        .service_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ServiceId>().map_err(|_| ApiError::bad_request("invalid_query", "service_id: not a valid id"))
        })
        .transpose()?;
    Ok(state.store.list_checks(service).await?.into_iter().map(Into::into).collect())
}

/// The newest results (at most 100) of the check `id`.
pub async fn check_history(state: &AppState, id: String) -> ApiResult<Vec<CheckResultView>> {
    let id: uuid::Uuid = id.parse().map_err(|_| ApiError::not_found("check"))?;
    Ok(state.store.check_history(id, 100).await?.into_iter().map(Into::into).collect())
}
