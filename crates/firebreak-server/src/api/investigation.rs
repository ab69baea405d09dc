//! Working an incident beyond its status: who takes part (and whether it is restricted to
//! them), evidence links, and what investigation needs next to the timeline — the recent
//! changes of the affected services and the alerts the incident collects.

use crate::AppState;
use crate::api::ItemsBody;
use crate::api::alerts::{AlertView, ChangeView};
use crate::app::incidents::{IncidentView, RoleAssignment, incident_ref, role_holder, view};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firebreak_domain::{DomainError, Incident, IncidentChange, IncidentRef, ServiceId, Timestamp, UserId};
use firebreak_store::{AlertFilter, DynStore};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/participants", get(list_participants).post(add_participant))
        .route("/incidents/{id}/restricted", put(set_restricted))
        .route("/incidents/{id}/evidence", post(add_evidence))
        .route("/incidents/{id}/changes", get(recent_changes))
        .route("/incidents/{id}/alerts", get(incident_alerts))
}

/// Someone who takes part in an incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    /// Since when (their first part in it).
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/participants", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = ItemsBody<ParticipantView>), (status = 404, body = ErrorBody)))]
pub async fn list_participants(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<ParticipantView>>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    Ok(Json(ItemsBody { items: participants(&state.store, &incident).await? }))
}

async fn participants(store: &DynStore, incident: &Incident) -> ApiResult<Vec<ParticipantView>> {
    Ok(store
        .participants(incident.id)
        .await?
        .into_iter()
        .map(|p| ParticipantView { user_id: p.user_id, name: p.name, since: p.since })
        .collect())
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/participants", tag = "incidents", request_body = RoleAssignment,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = ItemsBody<ParticipantView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_participant(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleAssignment>,
) -> ApiResult<(StatusCode, Json<ItemsBody<ParticipantView>>)> {
    p.require_responder()?;
    let r = IncidentRef::Id(state.store.get_incident(incident_ref(&id)?).await?.id);
    let user = role_holder(&state.store, body.user_id, body.email.as_deref())
        .await?
        .ok_or_else(|| DomainError::invalid("user_id", "name the person to add: user_id or email"))?;
    let incident = state.store.change_incident(r, IncidentChange::AddParticipant { user }, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(ItemsBody { items: participants(&state.store, &incident).await? })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictedBody {
    /// `true`: only participants and admins see the incident. A restricted type (security by
    /// default) stays restricted whatever the mark says.
    pub restricted: bool,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/restricted", tag = "incidents", request_body = RestrictedBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_restricted(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestrictedBody>,
) -> ApiResult<Json<IncidentView>> {
    p.require_responder()?;
    let incident = state
        .store
        .change_incident(incident_ref(&id)?, IncidentChange::SetRestricted(body.restricted), &p.actor())
        .await?;
    Ok(Json(view(&state, incident).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    /// An absolute http(s) address: a dashboard, a log search, a capture, a ticket.
    pub url: String,
    /// What it shows (optional, one line).
    #[serde(default)]
    pub title: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence", tag = "incidents", request_body = EvidenceBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_evidence(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EvidenceBody>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    p.require_responder()?;
    let change = IncidentChange::AddEvidence { url: body.url, title: body.title };
    let incident = state.store.change_incident(incident_ref(&id)?, change, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(view(&state, incident).await?)))
}

/// How far before detection to look for changes, at most a week.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Minutes before detection (default 1440, a day; 1 to 10080).
    pub before_minutes: Option<u32>,
}

/// The default look-back for recent changes, in minutes.
pub const CHANGES_BEFORE_MINUTES: u32 = 24 * 60;

/// The catalog services an incident affects: its own service and those its affected-service
/// names name.
pub async fn affected_services(state: &AppState, incident: &Incident) -> ApiResult<Vec<ServiceId>> {
    let mut ids: Vec<ServiceId> = incident.service_id.into_iter().collect();
    if !incident.services.is_empty() {
        for s in state.store.list_services().await? {
            if !ids.contains(&s.id) && incident.services.iter().any(|n| n.eq_ignore_ascii_case(&s.name)) {
                ids.push(s.id);
            }
        }
    }
    Ok(ids)
}

/// The changes of the affected services from `before_minutes` before detection until the
/// incident resolved (or now), newest first.
pub async fn changes_for(state: &AppState, incident: &Incident, before_minutes: u32) -> ApiResult<Vec<ChangeView>> {
    let services = affected_services(state, incident).await?;
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let from = incident.detected_at - chrono::TimeDelta::minutes(i64::from(before_minutes));
    let to = incident.resolved_at.unwrap_or_else(|| state.clock.now());
    let changes = state.store.list_changes(&services, Some((from, to.max(incident.detected_at))), 200).await?;
    Ok(changes.into_iter().map(Into::into).collect())
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/changes", tag = "incidents", params(("id" = String, Path, description = "UUID, number or INC-number"), ChangesQuery),
    responses((status = 200, body = ItemsBody<ChangeView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn recent_changes(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<ItemsBody<ChangeView>>> {
    let before = q.before_minutes.unwrap_or(CHANGES_BEFORE_MINUTES);
    if !(1..=7 * 24 * 60).contains(&before) {
        return Err(crate::error::ApiError::bad_request("invalid_query", "before_minutes: from 1 to 10080 (a week)"));
    }
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    Ok(Json(ItemsBody { items: changes_for(&state, &incident, before).await? }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/alerts", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = ItemsBody<AlertView>), (status = 404, body = ErrorBody)))]
pub async fn incident_alerts(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<AlertView>>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let page = state
        .store
        .list_alerts(&AlertFilter { incident_id: Some(incident.id), limit: 200, ..Default::default() })
        .await?;
    Ok(Json(ItemsBody { items: page.items.into_iter().map(Into::into).collect() }))
}
