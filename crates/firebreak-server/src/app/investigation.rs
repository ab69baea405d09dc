//! Working an incident beyond its status: who takes part (and whether it is restricted to
//! them), evidence links, and what investigation needs next to the timeline — the recent
//! changes of the affected services and the alerts the incident collects.

use crate::AppState;
use crate::app::alerts::{AlertView, ChangeView};
use crate::app::incidents::role_holder;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::{DomainError, Incident, IncidentChange, IncidentRef, ServiceId, Timestamp, UserId};
use firebreak_store::{AlertFilter, DynStore};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// Who takes part in the incident, in the order they joined.
pub async fn participants(store: &DynStore, incident: &Incident) -> ApiResult<Vec<ParticipantView>> {
    Ok(store
        .participants(incident.id)
        .await?
        .into_iter()
        .map(|p| ParticipantView { user_id: p.user_id, name: p.name, since: p.since })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictedBody {
    /// `true`: only participants and admins see the incident. A restricted type (security by
    /// default) stays restricted whatever the mark says.
    pub restricted: bool,
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

/// Adds the person named by id or email to the incident's participants.
pub async fn add_participant_to(
    state: &AppState,
    p: &Principal,
    id: &str,
    user_id: Option<UserId>,
    email: Option<&str>,
) -> ApiResult<Incident> {
    p.require_responder()?;
    let r = IncidentRef::Id(crate::app::incidents::get(state, id).await?.id);
    let user = role_holder(&state.store, user_id, email)
        .await?
        .ok_or_else(|| DomainError::invalid("user_id", "name the person to add: user_id or email"))?;
    Ok(state.store.change_incident(r, IncidentChange::AddParticipant { user }, &p.actor()).await?)
}

/// Changes of the incident's services from `before_minutes` (default a day) before detection.
pub async fn recent_changes_of(
    state: &AppState,
    incident: &Incident,
    before_minutes: Option<u32>,
) -> ApiResult<Vec<ChangeView>> {
    let before = before_minutes.unwrap_or(CHANGES_BEFORE_MINUTES);
    if !(1..=7 * 24 * 60).contains(&before) {
        return Err(ApiError::bad_request("invalid_query", "before_minutes: from 1 to 10080 (a week)"));
    }
    changes_for(state, incident, before).await
}

/// The alerts the incident collects (at most 200, newest first).
pub async fn alerts_of(state: &AppState, incident: &Incident) -> ApiResult<Vec<AlertView>> {
    let page = state
        .store
        .list_alerts(&AlertFilter { incident_id: Some(incident.id), limit: 200, ..Default::default() })
        .await?;
    Ok(page.items.into_iter().map(Into::into).collect())
}
