//! Opsgenie's Alert API, so tools that page Opsgenie can page Firebreak by changing the base
//! URL: `POST /v2/alerts` (create; `alias` is the dedup key), and
//! `POST /v2/alerts/{identifier}/close` and `/acknowledge` (`identifierType=alias|id`),
//! authenticated with `Authorization: GenieKey <key>`. Answers keep Opsgenie's shape:
//! `{"result"|"message", "took", "requestId"}`.

use super::{Ingestor, Refusal};
use crate::AppState;
use crate::auth::secret_hash;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use firebreak_domain::AlertId;
use firebreak_domain::alert::{AlertAction, AlertEvent, AlertSeverity, DedupKey, IntegrationKind};
use firebreak_store::{IngestItem, IngestOutcome};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::Instant;

/// Opsgenie's limit on `message`.
pub const MESSAGE_MAX: usize = 130;
/// Opsgenie's limit on `description`.
pub const DESCRIPTION_MAX: usize = 15_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/alerts", post(create))
        .route("/v2/alerts/{identifier}/close", post(act::<Close>))
        .route("/v2/alerts/{identifier}/acknowledge", post(act::<Acknowledge>))
        .layer(DefaultBodyLimit::max(512 * 1024))
}

fn answer(status: StatusCode, field: &str, text: &str, started: Instant) -> Response {
    let took = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    let body = json!({ field: text, "took": took, "requestId": uuid::Uuid::new_v4().to_string() });
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, message: &str, started: Instant) -> Response {
    answer(status, "message", message, started)
}

fn genie_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("GenieKey") && !key.is_empty() && key.len() <= 128).then(|| key.to_owned())
}

/// Maps Opsgenie priorities onto alert severities (default P3).
pub fn severity_of(priority: Option<&str>) -> Option<AlertSeverity> {
    match priority {
        None => Some(AlertSeverity::Warning),
        Some("P1") => Some(AlertSeverity::Critical),
        Some("P2") => Some(AlertSeverity::Error),
        Some("P3") => Some(AlertSeverity::Warning),
        Some("P4" | "P5") => Some(AlertSeverity::Info),
        Some(_) => None,
    }
}

fn opt_text<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("{key} should be a string")),
    }
}

/// Parses a create-alert request into an event.
pub fn parse_create(body: &[u8]) -> Result<AlertEvent, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "Request body is not processible".to_owned())?;
    if super::pagerduty::has_nul(&value) {
        return Err("Request body must not contain NUL characters".into());
    }
    let Value::Object(obj) = value else { return Err("Request body is not processible".into()) };
    let message =
        opt_text(&obj, "message")?.map(str::trim).filter(|m| !m.is_empty()).ok_or("Message can not be empty.")?;
    if message.chars().count() > MESSAGE_MAX {
        return Err(format!("Message can not be longer than {MESSAGE_MAX} characters."));
    }
    let dedup_key = match opt_text(&obj, "alias")?.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(DedupKey::parse(a).map_err(|e| format!("Alias is invalid: {e}"))?),
        None => None,
    };
    let description = opt_text(&obj, "description")?.unwrap_or("");
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(format!("Description can not be longer than {DESCRIPTION_MAX} characters."));
    }
    let severity = severity_of(opt_text(&obj, "priority")?).ok_or("Priority should be one of P1, P2, P3, P4, P5")?;
    let mut details = Map::new();
    if !description.is_empty() {
        details.insert("description".into(), Value::String(description.to_owned()));
    }
    for key in ["entity", "user", "note"] {
        if let Some(v) = opt_text(&obj, key)? {
            details.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    match obj.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => {
            details.insert("tags".into(), Value::Array(tags.clone()));
        }
        Some(_) => return Err("Tags should be a list of strings".into()),
    }
    match obj.get("details") {
        None | Some(Value::Null) => {}
        Some(Value::Object(d)) => {
            details.insert("details".into(), Value::Object(d.clone()));
        }
        Some(_) => return Err("Details should be a map of strings".into()),
    }
    for key in ["responders", "visibleTo", "actions"] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            details.insert(key.into(), v.clone());
        }
    }
    let source = opt_text(&obj, "source")?.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("opsgenie").to_owned();
    Ok(AlertEvent {
        action: AlertAction::Trigger,
        dedup_key,
        summary: message.to_owned(),
        source: source.chars().take(512).collect(),
        severity,
        details: Value::Object(details),
        occurred_at: None,
    })
}

async fn run(ingestor: &Ingestor, key: &str, event: AlertEvent, started: Instant) -> Response {
    let item = IngestItem { key_hash: secret_hash(key), kind: IntegrationKind::Opsgenie, event };
    match ingestor.submit(item).await {
        Ok(IngestOutcome::Accepted { .. }) => {
            answer(StatusCode::ACCEPTED, "result", "Request will be processed", started)
        }
        Ok(IngestOutcome::UnknownKey) => error(StatusCode::UNAUTHORIZED, "Could not authenticate", started),
        Err(Refusal::Busy { retry_after_secs }) => {
            let mut res = error(
                StatusCode::TOO_MANY_REQUESTS,
                "You are making too many requests! To avoid errors, we recommend you limit requests.",
                started,
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(Refusal::Failed) => {
            let mut res =
                error(StatusCode::SERVICE_UNAVAILABLE, "The request could not be stored; retry later.", started);
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
    }
}

fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, (StatusCode, &'static str)> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, "Request body is not processible")
        }
    })
}

async fn create(State(state): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let Some(key) = genie_key(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "Could not authenticate", started);
    };
    let body = match read_body(body) {
        Ok(b) => b,
        Err((status, message)) => return error(status, message, started),
    };
    match parse_create(&body) {
        Ok(event) => run(&state.ingestor, &key, event, started).await,
        Err(m) => error(StatusCode::UNPROCESSABLE_ENTITY, &m, started),
    }
}

#[derive(Deserialize)]
struct IdentifierQuery {
    #[serde(rename = "identifierType")]
    identifier_type: Option<String>,
}

/// Which action a route of the alert API takes: `close` resolves, `acknowledge` acknowledges.
trait RouteAction {
    const ACTION: AlertAction;
}

struct Close;
impl RouteAction for Close {
    const ACTION: AlertAction = AlertAction::Resolve;
}

struct Acknowledge;
impl RouteAction for Acknowledge {
    const ACTION: AlertAction = AlertAction::Acknowledge;
}

/// The optional body of close and acknowledge (user, source, note): nothing, or a JSON object.
fn read_note(body: &[u8]) -> Result<Map<String, Value>, (StatusCode, &'static str)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if !super::pagerduty::has_nul(&Value::Object(m.clone())) => Ok(m),
        _ => Err((StatusCode::UNPROCESSABLE_ENTITY, "Request body is not processible")),
    }
}

/// The dedup key of the alert `identifier` names, by its `identifierType`: an alias is the
/// key, an id is looked up (an id of another integration's alert finds no open alert for this
/// key), a tiny id names nothing Firebreak keeps.
async fn dedup_key_of(
    state: &AppState,
    identifier: &str,
    kind: Option<&str>,
) -> Result<Option<DedupKey>, (StatusCode, &'static str)> {
    match kind.unwrap_or("id") {
        "alias" => Ok(DedupKey::parse(identifier).ok()),
        "id" => match identifier.parse::<AlertId>() {
            Ok(id) => Ok(state.store.get_alert(id).await.ok().map(|a| a.dedup_key)),
            Err(_) => Ok(None),
        },
        "tiny" => Ok(None),
        _ => Err((StatusCode::UNPROCESSABLE_ENTITY, "identifierType should be one of id, alias or tiny")),
    }
}

async fn act<A: RouteAction>(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    query: Result<Query<IdentifierQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let Some(key) = genie_key(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "Could not authenticate", started);
    };
    let Ok(Query(q)) = query else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Query parameters are not valid", started);
    };
    let parsed = match read_body(body) {
        Ok(b) => read_note(&b),
        Err(e) => Err(e),
    };
    let (note, dedup_key) = match parsed {
        Ok(note) => match dedup_key_of(&state, &identifier, q.identifier_type.as_deref()).await {
            Ok(k) => (note, k),
            Err((status, message)) => return error(status, message, started),
        },
        Err((status, message)) => return error(status, message, started),
    };
    // Opsgenie accepts the request and processes it asynchronously; an unknown alert changes
    // nothing. Still check the key (with a key that matches no alert) so a wrong key is refused.
    let found = dedup_key.is_some();
    let event = AlertEvent {
        action: A::ACTION,
        dedup_key: Some(dedup_key.unwrap_or_else(DedupKey::generate)),
        summary: String::new(),
        source: if found {
            note.get("source").and_then(Value::as_str).unwrap_or("opsgenie").to_owned()
        } else {
            String::new()
        },
        severity: AlertSeverity::Info,
        details: if found { Value::Object(note) } else { Value::Null },
        occurred_at: None,
    };
    run(&state.ingestor, &key, event, started).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_requests_parse() {
        // Shape of Opsgenie's "Create Alert" request, per its Alert API documentation.
        let body = br#"{"message":"An example alert message","alias":"Life is too short for no alias",
            "description":"Every alert needs a description","responders":[{"name":"NOC","type":"team"}],
            "tags":["OverwriteQuietHours","Critical"],"details":{"key1":"value1"},"entity":"An example entity",
            "priority":"P1","source":"nagios","user":"Monitoring Script","note":"Alert created"}"#;
        let e = parse_create(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.summary, "An example alert message");
        assert_eq!(e.dedup_key.as_ref().map(DedupKey::as_str), Some("Life is too short for no alias"));
        assert_eq!(e.severity, AlertSeverity::Critical);
        assert_eq!(e.source, "nagios");
        assert_eq!(e.details["details"]["key1"], "value1");
    }

    #[test]
    fn bad_create_requests_are_refused() {
        for body in [
            &b"nope"[..],
            b"[]",
            b"{}",
            br#"{"message":""}"#,
            br#"{"message":5}"#,
            br#"{"message":"x","priority":"P9"}"#,
            br#"{"message":"x","tags":"a"}"#,
            br#"{"message":"x","details":[1]}"#,
        ] {
            assert!(parse_create(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let long = format!(r#"{{"message":"{}"}}"#, "m".repeat(MESSAGE_MAX + 1));
        assert!(parse_create(long.as_bytes()).is_err());
    }

    #[test]
    fn genie_keys_are_read_from_the_header() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("GenieKey abc123"));
        assert_eq!(genie_key(&h).as_deref(), Some("abc123"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc123"));
        assert_eq!(genie_key(&h), None);
    }
}
