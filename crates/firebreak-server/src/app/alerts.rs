//! Alerts: list with filters (newest first, cursor-paginated) and detail with the payload
//! details and the number of events folded into each.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::alert::{Alert, AlertSeverity, AlertStatus};
use firebreak_domain::{AlertId, DomainError, IncidentId, IntegrationId, ServiceId, Timestamp};
use firebreak_store::{AlertFilter, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    #[schema(value_type = String, format = Uuid)]
    pub id: AlertId,
    pub status: AlertStatus,
    pub dedup_key: String,
    /// Events folded into this alert.
    pub count: i64,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    #[schema(value_type = String, format = Uuid)]
    pub integration_id: IntegrationId,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident_id: Option<IncidentId>,
    pub summary: String,
    pub source: String,
    pub severity: AlertSeverity,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> Self {
        AlertView {
            id: a.id,
            status: a.status,
            dedup_key: a.dedup_key.as_str().to_owned(),
            count: a.count,
            service_id: a.service_id,
            integration_id: a.integration_id,
            incident_id: a.incident_id,
            summary: a.summary,
            source: a.source,
            severity: a.severity,
            details: a.details,
            first_seen_at: a.first_seen_at,
            last_seen_at: a.last_seen_at,
            acknowledged_at: a.acknowledged_at,
            resolved_at: a.resolved_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Comma-separated: open, resolved, suppressed.
    pub status: Option<String>,
    pub service_id: Option<String>,
    pub incident_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A 400 for a query parameter `field` that is not a valid id.
pub fn bad(field: &str) -> ApiError {
    ApiError::bad_request("invalid_query", format!("{field}: not a valid id"))
}

impl AlertQuery {
    pub fn filter(&self) -> ApiResult<AlertFilter> {
        let statuses = self
            .status
            .as_deref()
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<AlertStatus>().map_err(|e: DomainError| ApiError::bad_request("invalid_query", e.to_string()))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let opt = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(AlertFilter {
            statuses,
            service_id: opt(&self.service_id)
                .map(|s| s.parse::<ServiceId>().map_err(|_| bad("service_id")))
                .transpose()?,
            incident_id: opt(&self.incident_id)
                .map(|s| s.parse::<IncidentId>().map_err(|_| bad("incident_id")))
                .transpose()?,
            before: opt(&self.cursor).map(|s| s.parse::<AlertId>().map_err(|_| bad("cursor"))).transpose()?,
            limit: self.limit.unwrap_or(50),
            viewer: None,
        })
    }
}

/// A change (deploy, config change) recorded against a service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    pub summary: String,
    pub source: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
}

impl From<firebreak_store::Change> for ChangeView {
    fn from(c: firebreak_store::Change) -> Self {
        ChangeView {
            id: c.id,
            service_id: c.service_id,
            summary: c.summary,
            source: c.source,
            details: c.details,
            occurred_at: c.occurred_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuery {
    pub service_id: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The alert `id`, with its payload details and the number of events folded into it.
pub async fn get_alert(state: &AppState, id: String) -> ApiResult<AlertView> {
    let id: AlertId = id.parse().map_err(|_| ApiError::not_found("alert"))?;
    Ok(state.store.get_alert(id).await?.into())
}

/// Acknowledges or resolves (`action`) the alert `id` as a person; responders only.
pub async fn act_on_alert(state: &AppState, p: &Principal, id: String, action: String) -> ApiResult<AlertView> {
    use firebreak_domain::alert::AlertAction;
    let action = match action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return Err(ApiError::not_found("route")),
    };
    p.require_responder()?;
    let id: AlertId = id.parse().map_err(|_| ApiError::not_found("alert"))?;
    Ok(state.store.act_on_alert(id, action, &p.actor()).await?.into())
}

/// Moves the alert `id` onto the incident `incident` names, or off its incident (`None`), as
/// a person (responders only). The incident must be one the caller may see, open and not
/// merged away; a restricted incident's alert moves only to a restricted incident.
pub async fn move_alert(state: &AppState, p: &Principal, id: String, incident: Option<&str>) -> ApiResult<AlertView> {
    p.require_responder()?;
    let id: AlertId = id.parse().map_err(|_| ApiError::not_found("alert"))?;
    let alert = state.store.get_alert(id).await?;
    let to = match incident {
        Some(raw) => {
            let target = crate::app::incidents::named_in_body(state, p, "incident", raw).await?;
            if let Some(current) = alert.incident_id {
                let current = state.store.get_incident(firebreak_domain::IncidentRef::Id(current)).await?;
                crate::app::visibility::check_carry(state, &current, &target, "incident")?;
            }
            Some(target.id)
        }
        None => None,
    };
    Ok(state.store.move_alert(id, to, &p.actor()).await?.into())
}

/// Recent changes (deploys and the like), newest first, of one service or all.
pub async fn list_changes(state: &AppState, q: ChangeQuery) -> ApiResult<Vec<ChangeView>> {
    let service = q
        .service_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ServiceId>().map_err(|_| bad("service_id")))
        .transpose()?;
    let changes = state.store.list_changes(service.as_slice(), None, q.limit.unwrap_or(50)).await?;
    Ok(changes.into_iter().map(Into::into).collect())
}

/// One page of the alerts this caller may see (alerts of restricted incidents left out).
pub async fn list(state: &AppState, p: &Principal, q: &AlertQuery) -> ApiResult<Page<Alert, AlertId>> {
    let filter = AlertFilter { viewer: crate::app::visibility::viewer(state, p), ..q.filter()? };
    Ok(state.store.list_alerts(&filter).await?)
}
