//! Restricted incidents: security incidents (any type whose response level says
//! `restricted`) and incidents marked restricted are visible only to the people who take part
//! in them and to admins.
//!
//! One middleware guards every route under `/incidents/{id}` and `/alerts/{id}` (web and
//! API): to anyone else such an incident, and the alerts it collects, do not exist (404, the
//! same answer as an unknown id). Lists pass a [`Viewer`] to the store, which leaves them out.

use crate::AppState;
use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ApiResult};
use crate::web::WebError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

/// Refuses (as not found) a caller who may not see the incident.
pub async fn check(state: &AppState, p: &Principal, incident: &Incident) -> ApiResult<()> {
    if can_see(state, p, incident).await? { Ok(()) } else { Err(ApiError::not_found("incident")) }
}

/// What a guarded path names.
enum Guarded {
    Incident(IncidentRef),
    Alert(AlertId),
}

/// The object a path under `/incidents/{id}` or `/alerts/{id}` names (API or web), if any.
fn guarded(path: &str) -> Option<(bool, Guarded)> {
    let (api, rest) = match path.strip_prefix("/api/v1") {
        Some(rest) => (true, rest),
        None => (false, path),
    };
    let segment = |prefix: &str| rest.strip_prefix(prefix).map(|r| r.split('/').next().unwrap_or(""));
    if let Some(id) = segment("/incidents/") {
        return id.parse::<IncidentRef>().ok().map(|r| (api, Guarded::Incident(r)));
    }
    if let Some(id) = segment("/alerts/") {
        return id.parse::<AlertId>().ok().map(|a| (api, Guarded::Alert(a)));
    }
    None
}

/// The middleware: lets a request through unless it names a restricted incident (or one of
/// its alerts) the caller may not see. Callers who are not signed in go on to the handler,
/// which refuses them in its own way.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some((api, target)) = guarded(request.uri().path()) else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let principal = if api {
        ApiPrincipal::from_request_parts(&mut parts, &state).await.ok().map(|p| p.0)
    } else {
        crate::auth::session_principal(&parts.headers, &state).await.ok().flatten()
    };
    let request = Request::from_parts(parts, body);
    let Some(p) = principal else {
        return next.run(request).await;
    };
    let incident = match target {
        Guarded::Incident(r) => state.store.get_incident(r).await,
        Guarded::Alert(id) => match state.store.get_alert(id).await {
            Ok(alert) => match alert.incident_id {
                Some(i) => state.store.get_incident(IncidentRef::Id(i)).await,
                None => return next.run(request).await,
            },
            Err(e) => Err(e),
        },
    };
    let refused = match incident {
        Ok(incident) => match can_see(&state, &p, &incident).await {
            Ok(true) => false,
            Ok(false) => true,
            Err(e) => return e.into_response(),
        },
        // Unknown ids are the handler's to answer.
        Err(StoreError::NotFound(_)) => false,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !refused {
        return next.run(request).await;
    }
    let what = match target {
        Guarded::Incident(_) => "incident",
        Guarded::Alert(_) => "alert",
    };
    if api {
        ApiError::not_found(what).into_response()
    } else {
        WebError::new(StatusCode::NOT_FOUND, format!("There is no such {what}.")).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_paths() {
        let incident = |p: &str| matches!(guarded(p), Some((_, Guarded::Incident(_))));
        assert!(incident("/api/v1/incidents/INC-4"));
        assert!(incident("/api/v1/incidents/4/timeline/export"));
        assert!(incident("/incidents/4"));
        assert!(incident("/incidents/INC-4/events"));
        assert!(!incident("/incidents/new"));
        assert!(!incident("/incidents"));
        assert!(!incident("/api/v1/incidents"));
        assert!(!incident("/static/incidents/4"));
        assert!(matches!(
            guarded("/api/v1/alerts/0194f3c1-7a2b-7c3d-8e4f-0123456789ab"),
            Some((true, Guarded::Alert(_)))
        ));
        assert!(guarded("/alerts/nope").is_none());
    }
}
