//! PagerDuty Events API v2 (`POST /v2/enqueue`): the routing key in the body, the same
//! answers as PagerDuty (202 success, 400 invalid event with a list of errors, 429 when
//! throttled), and PagerDuty's limits (512 KB body, 1024-character summary, 255-character
//! dedup key).

use super::{Ingestor, Refusal};
use crate::AppState;
use crate::auth::secret_hash;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use firebreak_domain::alert::{AlertAction, AlertEvent, AlertSeverity, DedupKey, IntegrationKind, SUMMARY_MAX};
use firebreak_store::{IngestItem, IngestOutcome};
use serde_json::{Map, Value, json};

/// PagerDuty's body limit.
pub const BODY_LIMIT: usize = 512 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/enqueue", post(enqueue))
        .route("/v2/change/enqueue", post(enqueue_change))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

fn invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors})),
    )
        .into_response()
}

/// PagerDuty's answer when an event cannot be taken now.
pub fn throttled(retry_after_secs: u64) -> Response {
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn unavailable() -> Response {
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "message": "The event could not be stored; retry later."})),
    )
        .into_response();
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str, path: &str, errors: &mut Vec<String>) -> Option<&'a str> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            errors.push(format!("'{path}' must be a string"));
            None
        }
    }
}

/// Parses an ISO 8601 timestamp as PagerDuty takes them: RFC 3339, or with a `+0000`-style
/// offset as in PagerDuty's own examples.
pub fn parse_timestamp(t: &str) -> Option<firebreak_domain::Timestamp> {
    chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| firebreak_domain::time::truncate(t.with_timezone(&chrono::Utc)))
}

/// Whether any string or key in `v` holds a NUL character, which PostgreSQL cannot store
/// (in text or JSONB): such events are refused on every backend alike.
pub fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(obj) => obj.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Parses and checks a PagerDuty v2 event; on failure, the list of PagerDuty-style errors.
pub fn parse_event(body: &[u8]) -> Result<(String, AlertEvent), Vec<String>> {
    let value: Value = serde_json::from_slice(body).map_err(|_| vec!["Malformed JSON".to_owned()])?;
    if has_nul(&value) {
        return Err(vec!["Strings must not contain NUL characters (\\u0000)".to_owned()]);
    }
    let Value::Object(obj) = value else { return Err(vec!["Event must be a JSON object".to_owned()]) };
    let mut errors = Vec::new();
    let routing_key = text(&obj, "routing_key", "routing_key", &mut errors).map(str::trim).filter(|s| !s.is_empty());
    if routing_key.is_none() && !errors.iter().any(|e| e.contains("routing_key")) {
        errors.push("'routing_key' is missing or blank".into());
    }
    let action = match text(&obj, "event_action", "event_action", &mut errors) {
        Some(a) => match a.parse::<AlertAction>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push("'event_action' must be one of trigger, acknowledge or resolve".into());
                None
            }
        },
        None => {
            if !errors.iter().any(|e| e.contains("event_action")) {
                errors.push("'event_action' is missing or blank".into());
            }
            None
        }
    };
    let dedup_key = match text(&obj, "dedup_key", "dedup_key", &mut errors) {
        Some(k) if !k.is_empty() => match DedupKey::parse(k) {
            Ok(k) => Some(k),
            Err(e) => {
                errors.push(format!("'dedup_key' is invalid: {}", e.to_string().trim_start_matches("dedup_key: ")));
                None
            }
        },
        _ => None,
    };
    let mut summary = String::new();
    let mut source = String::new();
    let mut severity = AlertSeverity::Error;
    let mut occurred_at = None;
    let mut details = Map::new();
    match action {
        Some(AlertAction::Trigger) => match obj.get("payload") {
            Some(Value::Object(p)) => {
                match text(p, "summary", "payload.summary", &mut errors).map(str::trim).filter(|s| !s.is_empty()) {
                    Some(s) if s.chars().count() > SUMMARY_MAX => {
                        errors.push(format!("'payload.summary' must be at most {SUMMARY_MAX} characters"))
                    }
                    Some(s) => summary = s.to_owned(),
                    None => errors.push("'payload.summary' is missing or blank".into()),
                }
                match text(p, "source", "payload.source", &mut errors).map(str::trim).filter(|s| !s.is_empty()) {
                    Some(s) if s.chars().count() > SUMMARY_MAX => {
                        errors.push(format!("'payload.source' must be at most {SUMMARY_MAX} characters"))
                    }
                    Some(s) => source = s.to_owned(),
                    None => errors.push("'payload.source' is missing or blank".into()),
                }
                match text(p, "severity", "payload.severity", &mut errors).map(|s| s.parse::<AlertSeverity>()) {
                    Some(Ok(s)) => severity = s,
                    Some(Err(_)) => {
                        errors.push("'payload.severity' must be one of critical, error, warning or info".into())
                    }
                    None => errors.push("'payload.severity' is missing or blank".into()),
                }
                if let Some(t) = text(p, "timestamp", "payload.timestamp", &mut errors) {
                    match parse_timestamp(t) {
                        Some(t) => occurred_at = Some(t),
                        None => errors.push("'payload.timestamp' must be an ISO 8601 timestamp".into()),
                    }
                }
                for key in ["component", "group", "class"] {
                    if let Some(v) = text(p, key, &format!("payload.{key}"), &mut errors) {
                        details.insert(key.into(), Value::String(v.to_owned()));
                    }
                }
                if let Some(cd) = p.get("custom_details").filter(|v| !v.is_null()) {
                    details.insert("custom_details".into(), cd.clone());
                }
            }
            None | Some(Value::Null) => errors.push("'payload' is missing".into()),
            Some(_) => errors.push("'payload' must be an object".into()),
        },
        Some(_) if dedup_key.is_none() && !errors.iter().any(|e| e.contains("dedup_key")) => {
            errors.push("'dedup_key' is required to acknowledge or resolve".into());
        }
        Some(_) | None => {}
    }
    for key in ["links", "images"] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Array(_)) => {
                details.insert(key.into(), v.clone());
            }
            Some(_) => errors.push(format!("'{key}' must be an array")),
        }
    }
    for key in ["client", "client_url"] {
        if let Some(v) = text(&obj, key, key, &mut errors) {
            details.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    match (errors.is_empty(), routing_key, action) {
        (true, Some(key), Some(action)) => Ok((
            key.to_owned(),
            AlertEvent { action, dedup_key, summary, source, severity, details: Value::Object(details), occurred_at },
        )),
        _ => Err(errors),
    }
}

/// Sends an event through the pipeline and answers as PagerDuty does.
pub async fn submit(
    ingestor: &Ingestor,
    routing_key: &str,
    kind: IntegrationKind,
    event: AlertEvent,
) -> Result<IngestOutcome, Response> {
    let item = IngestItem { key_hash: secret_hash(routing_key), kind, event };
    match ingestor.submit(item).await {
        Ok(outcome) => Ok(outcome),
        Err(Refusal::Busy { retry_after_secs }) => Err(throttled(retry_after_secs)),
        Err(Refusal::Failed) => Err(unavailable()),
    }
}

async fn enqueue(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["Request body is larger than 512 KB"]})),
            )
                .into_response();
        }
        Err(_) => return invalid(vec!["Request body could not be read".into()]),
    };
    let (routing_key, event) = match parse_event(&body) {
        Ok(parsed) => parsed,
        Err(errors) => return invalid(errors),
    };
    match submit(&state.ingestor, &routing_key, IntegrationKind::Pagerduty, event).await {
        Ok(IngestOutcome::Accepted { dedup_key, .. }) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key.as_str()})),
        )
            .into_response(),
        Ok(IngestOutcome::UnknownKey) => invalid(vec!["'routing_key' does not match any integration".into()]),
        Err(res) => res,
    }
}

/// A PagerDuty change event: the routing key, and what changed.
pub struct ChangeEvent {
    pub routing_key: String,
    pub summary: String,
    pub source: String,
    pub details: Value,
    pub occurred_at: Option<firebreak_domain::Timestamp>,
}

/// Parses and checks a PagerDuty change event (`payload.summary` required; `timestamp`,
/// `source`, `custom_details` and `links` optional).
pub fn parse_change(body: &[u8]) -> Result<ChangeEvent, Vec<String>> {
    let value: Value = serde_json::from_slice(body).map_err(|_| vec!["Malformed JSON".to_owned()])?;
    if has_nul(&value) {
        return Err(vec!["Strings must not contain NUL characters (\\u0000)".to_owned()]);
    }
    let Value::Object(obj) = value else { return Err(vec!["Event must be a JSON object".to_owned()]) };
    let mut errors = Vec::new();
    let routing_key = text(&obj, "routing_key", "routing_key", &mut errors).map(str::trim).filter(|s| !s.is_empty());
    if routing_key.is_none() && !errors.iter().any(|e| e.contains("routing_key")) {
        errors.push("'routing_key' is missing or blank".into());
    }
    let mut summary = String::new();
    let mut source = String::new();
    let mut occurred_at = None;
    let mut details = Map::new();
    match obj.get("payload") {
        Some(Value::Object(p)) => {
            match text(p, "summary", "payload.summary", &mut errors).map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) if s.chars().count() > SUMMARY_MAX => {
                    errors.push(format!("'payload.summary' must be at most {SUMMARY_MAX} characters"))
                }
                Some(s) => summary = s.to_owned(),
                None => errors.push("'payload.summary' is missing or blank".into()),
            }
            if let Some(s) = text(p, "source", "payload.source", &mut errors) {
                source = s.chars().take(SUMMARY_MAX).collect();
            }
            if let Some(t) = text(p, "timestamp", "payload.timestamp", &mut errors) {
                match parse_timestamp(t) {
                    Some(t) => occurred_at = Some(t),
                    None => errors.push("'payload.timestamp' must be an ISO 8601 timestamp".into()),
                }
            }
            if let Some(cd) = p.get("custom_details").filter(|v| !v.is_null()) {
                details.insert("custom_details".into(), cd.clone());
            }
        }
        None | Some(Value::Null) => errors.push("'payload' is missing".into()),
        Some(_) => errors.push("'payload' must be an object".into()),
    }
    match obj.get("links") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Array(_)) => {
            details.insert("links".into(), v.clone());
        }
        Some(_) => errors.push("'links' must be an array".into()),
    }
    match (errors.is_empty(), routing_key) {
        (true, Some(key)) => Ok(ChangeEvent {
            routing_key: key.to_owned(),
            summary,
            source,
            details: Value::Object(details),
            occurred_at,
        }),
        _ => Err(errors),
    }
}

async fn enqueue_change(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let Ok(body) = body else { return invalid(vec!["Request body could not be read or is larger than 512 KB".into()]) };
    let change = match parse_change(&body) {
        Ok(c) => c,
        Err(errors) => return invalid(errors),
    };
    let recorded = state
        .store
        .record_change(
            &secret_hash(&change.routing_key),
            IntegrationKind::Pagerduty,
            &change.summary,
            &change.source,
            change.details,
            change.occurred_at,
        )
        .await;
    match recorded {
        Ok(Some(_)) => (StatusCode::ACCEPTED, Json(json!({"status": "success", "message": "Change event processed"})))
            .into_response(),
        Ok(None) => invalid(vec!["'routing_key' does not match any integration".into()]),
        Err(e) => {
            tracing::error!(error = %e, "cannot record a change event");
            unavailable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_events_parse() {
        // Shape of a PagerDuty change event, per the Events API v2 documentation.
        let body = br#"{"routing_key":"k","payload":{"summary":"Build Success: Increase snapshot create timeout to 30 seconds",
            "timestamp":"2020-07-17T08:42:58.315+0000","source":"prod-build-agent-i-0b148d1040d565540",
            "custom_details":{"build_state":"passed","build_number":"2"}},
            "links":[{"href":"https://acme.pagerduty.dev/build/2","text":"View more details in Acme!"}]}"#;
        // PagerDuty's own example uses a +0000 offset, which strict RFC 3339 does not allow.
        let c = parse_change(body).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.occurred_at.map(|t| t.to_rfc3339()), Some("2020-07-17T08:42:58.315+00:00".to_owned()));
        assert_eq!(c.summary, "Build Success: Increase snapshot create timeout to 30 seconds");
        assert_eq!(c.details["custom_details"]["build_number"], "2");
        for bad in [
            &b"{}"[..],
            br#"{"routing_key":"k"}"#,
            br#"{"routing_key":"k","payload":{}}"#,
            br#"{"routing_key":"k","payload":{"summary":"s"},"links":{}}"#,
        ] {
            assert!(parse_change(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
