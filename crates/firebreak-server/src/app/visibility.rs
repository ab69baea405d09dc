//! Restricted incidents: security incidents (any type whose response level says
//! `restricted`) and incidents marked restricted are visible only to the people who take part
//! in them and to admins.
//!
//! One middleware (`crate::guard`) asks [`hides`] for every route under `/incidents/{id}` and
//! `/alerts/{id}` (web and API): to anyone else such an incident, and the alerts it collects,
//! do not exist (404, the same answer as an unknown id). Lists pass a [`Viewer`] to the store,
//! which leaves them out.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::{AlertId, Incident, IncidentRef, IncidentType};
use firebreak_store::{StoreError, Viewer};

/// The incident types restricted by the procedures in force.
pub fn restricted_kinds(state: &AppState) -> Vec<IncidentType> {
    let procedures = state.procedures.current();
    IncidentType::ALL.iter().copied().filter(|k| procedures.types.get(k).is_some_and(|l| l.restricted)).collect()
}

/// Whether incidents of this type are restricted by the procedures in force.
pub fn kind_is_restricted(state: &AppState, kind: IncidentType) -> bool {
    state.procedures.current().types.get(&kind).is_some_and(|l| l.restricted)
}

/// Whether the incident is restricted (marked, or by its type).
pub fn is_restricted(state: &AppState, incident: &Incident) -> bool {
    incident.is_restricted(|k| kind_is_restricted(state, k))
}

/// The list filter for this caller: admins see everything.
pub fn viewer(state: &AppState, p: &Principal) -> Option<Viewer> {
    if p.user.role.can_administer() {
        None
    } else {
        Some(Viewer { user: p.user.id, restricted_kinds: restricted_kinds(state) })
    }
}

/// Whether this caller may see the incident.
pub async fn can_see(state: &AppState, p: &Principal, incident: &Incident) -> ApiResult<bool> {
    if p.user.role.can_administer() || !is_restricted(state, incident) {
        return Ok(true);
    }
    Ok(state.store.is_participant(incident.id, p.user.id).await?)
}

/// Refuses moving work (alerts, a timeline) from `from` to `to` when `from` is restricted and
/// `to` is not: what moves would reach people who may not see `from`. `field` names the
/// request's field that chose `to`.
pub fn check_carry(state: &AppState, from: &Incident, to: &Incident, field: &'static str) -> ApiResult<()> {
    if is_restricted(state, from) && !is_restricted(state, to) {
        let (from, to) = (from.label(), to.label());
        let message = format!(
            "{from} is restricted and {to} is not; restrict {to} first, so what moves stays among its participants"
        );
        return Err(firebreak_domain::DomainError::invalid(field, message).into());
    }
    Ok(())
}

/// Refuses (as not found) a caller who may not see the incident.
pub async fn check(state: &AppState, p: &Principal, incident: &Incident) -> ApiResult<()> {
    if can_see(state, p, incident).await? { Ok(()) } else { Err(ApiError::not_found("incident")) }
}

/// What a guarded route names.
#[derive(Debug, Clone, Copy)]
pub enum Guarded {
    Incident(IncidentRef),
    Alert(AlertId),
}

impl Guarded {
    /// What it is called in a "no such …" answer.
    pub fn noun(&self) -> &'static str {
        match self {
            Guarded::Incident(_) => "incident",
            Guarded::Alert(_) => "alert",
        }
    }
}

/// Whether the target is hidden from this caller: a restricted incident (or an alert it
/// collects) that they do not take part in. Unknown ids are not hidden: the handler answers
/// them.
pub async fn hides(state: &AppState, p: &Principal, target: Guarded) -> ApiResult<bool> {
    let incident = match target {
        Guarded::Incident(r) => state.store.get_incident(r).await,
        Guarded::Alert(id) => match state.store.get_alert(id).await {
            Ok(alert) => match alert.incident_id {
                Some(i) => state.store.get_incident(IncidentRef::Id(i)).await,
                None => return Ok(false),
            },
            Err(e) => Err(e),
        },
    };
    match incident {
        Ok(incident) => Ok(!can_see(state, p, &incident).await?),
        Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
