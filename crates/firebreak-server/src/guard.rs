//! The HTTP side of restricted incidents: one middleware in front of every route under
//! `/incidents/{id}` and `/alerts/{id}`, web and API, that answers 404 (in each transport's
//! own form) when [`app::visibility::hides`] the target from the caller.

use crate::AppState;
use crate::app::visibility::{self, Guarded};
use crate::auth::ApiPrincipal;
use crate::error::ApiError;
use crate::web::WebError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use firebreak_domain::{AlertId, IncidentRef};

/// The object a path under `/incidents/{id}` or `/alerts/{id}` names (API or web), if any, and
/// whether it is an API path.
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
    match visibility::hides(&state, &p, target).await {
        Ok(false) => next.run(request).await,
        Ok(true) if api => ApiError::not_found(target.noun()).into_response(),
        Ok(true) => {
            WebError::new(StatusCode::NOT_FOUND, format!("There is no such {}.", target.noun())).into_response()
        }
        Err(e) => e.into_response(),
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
