//! Alerts: list with filters (newest first, cursor-paginated) and detail with the payload
//! details and the number of events folded into each.

use crate::AppState;
use crate::api::ListBody;
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use firebreak_domain::alert::{Alert, AlertSeverity, AlertStatus};
use firebreak_domain::{AlertId, DomainError, IncidentId, IntegrationId, ServiceId, Timestamp};
use firebreak_store::AlertFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(get_alert))
        .route("/alerts/{id}/{action}", axum::routing::post(act_on_alert))
        .route("/changes", get(list_changes))
}

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

fn bad(field: &str) -> ApiError {
    ApiError::bad_request("invalid_query", format!("{field}: not a valid id"))
}

impl AlertQuery {
    fn filter(&self) -> ApiResult<AlertFilter> {
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

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = ListBody<AlertView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<ListBody<AlertView>>> {
    let filter = AlertFilter { viewer: crate::app::visibility::viewer(&state, &p), ..q.filter()? };
    let page = state.store.list_alerts(&filter).await?;
    Ok(Json(ListBody {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_before.map(|id| id.to_string()),
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody)))]
pub async fn get_alert(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AlertView>> {
    let id: AlertId = id.parse().map_err(|_| ApiError::not_found("alert"))?;
    Ok(Json(state.store.get_alert(id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/{action}", tag = "alerts",
    params(("id" = String, Path, format = Uuid), ("action" = String, Path, description = "acknowledge or resolve")),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn act_on_alert(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> ApiResult<Json<AlertView>> {
    use firebreak_domain::alert::AlertAction;
    let action = match action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return Err(ApiError::not_found("route")),
    };
    p.require_responder()?;
    let id: AlertId = id.parse().map_err(|_| ApiError::not_found("alert"))?;
    Ok(Json(state.store.act_on_alert(id, action, &p.actor()).await?.into()))
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

#[utoipa::path(get, path = "/api/v1/changes", tag = "alerts", params(ChangeQuery),
    responses((status = 200, body = crate::api::ItemsBody<ChangeView>), (status = 400, body = ErrorBody)))]
pub async fn list_changes(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiQuery(q): ApiQuery<ChangeQuery>,
) -> ApiResult<Json<crate::api::ItemsBody<ChangeView>>> {
    let service = q
        .service_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ServiceId>().map_err(|_| bad("service_id")))
        .transpose()?;
    let changes = state.store.list_changes(service.as_slice(), None, q.limit.unwrap_or(50)).await?;
    Ok(Json(crate::api::ItemsBody { items: changes.into_iter().map(Into::into).collect() }))
}
