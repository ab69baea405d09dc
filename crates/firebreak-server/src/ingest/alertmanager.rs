//! Prometheus Alertmanager (`webhook_config`, payload version 4) and Grafana alerting
//! webhooks: `POST /ingest/{key}/alertmanager` and `POST /ingest/{key}/grafana`. Both send a
//! group of alerts; each becomes one event, deduplicated by its `fingerprint` (or, when
//! absent, a hash of its label set) — never by its text — and `"status":"resolved"`
//! resolves it.

use super::{Ingestor, Refusal};
use crate::AppState;
pub use crate::app::mapping::severity_of;
use crate::auth::secret_hash;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use firebreak_domain::alert::{AlertAction, AlertEvent, DedupKey, IntegrationKind, SUMMARY_MAX};
use firebreak_store::{IngestItem, IngestOutcome};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Alert groups can be large; this bounds one notification.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Alerts taken from one notification at most.
pub const MAX_ALERTS: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ingest/{key}/alertmanager", post(alertmanager))
        .route("/ingest/{key}/grafana", post(grafana))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

async fn alertmanager(state: State<AppState>, key: Path<String>, body: Result<Bytes, BytesRejection>) -> Response {
    receive(state, key, body, IntegrationKind::Alertmanager).await
}

async fn grafana(state: State<AppState>, key: Path<String>, body: Result<Bytes, BytesRejection>) -> Response {
    receive(state, key, body, IntegrationKind::Grafana).await
}

fn label_text(map: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    map.and_then(|m| m.get(key)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A stable key for a label set: SHA-256 of the labels sorted by name.
pub fn label_set_key(labels: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&String, String)> =
        labels.iter().map(|(k, v)| (k, v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect();
    pairs.sort();
    let mut h = Sha256::new();
    for (k, v) in pairs {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// Turns one webhook body into events, or says what is wrong with it.
pub fn parse_notification(body: &[u8]) -> Result<Vec<AlertEvent>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    if super::pagerduty::has_nul(&value) {
        return Err("the body must not contain NUL characters".into());
    }
    let Value::Object(obj) = value else { return Err("the body must be a JSON object".into()) };
    let alerts = match obj.get("alerts") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err("\"alerts\" must be an array".into()),
        None => return Err("\"alerts\" is missing".into()),
    };
    if alerts.len() > MAX_ALERTS {
        return Err(format!("at most {MAX_ALERTS} alerts per notification"));
    }
    let common_annotations = obj.get("commonAnnotations").and_then(Value::as_object);
    let mut events = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let Value::Object(a) = alert else { return Err(format!("alerts[{i}] must be an object")) };
        let labels = match a.get("labels") {
            Some(Value::Object(l)) => l.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(format!("alerts[{i}].labels must be an object")),
        };
        let annotations = match a.get("annotations") {
            Some(Value::Object(m)) => Some(m),
            None | Some(Value::Null) => None,
            Some(_) => return Err(format!("alerts[{i}].annotations must be an object")),
        };
        let action = match a.get("status").and_then(Value::as_str).or_else(|| obj.get("status").and_then(Value::as_str))
        {
            Some("firing") => AlertAction::Trigger,
            Some("resolved") => AlertAction::Resolve,
            Some(other) => return Err(format!("alerts[{i}].status must be firing or resolved, not {other:?}")),
            None => return Err(format!("alerts[{i}].status is missing")),
        };
        let key = match a.get("fingerprint").and_then(Value::as_str).map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => f.to_owned(),
            None => label_set_key(&labels),
        };
        let dedup_key = DedupKey::parse(&key).map_err(|e| format!("alerts[{i}].fingerprint: {e}"))?;
        let name = label_text(Some(&labels), "alertname");
        let summary = label_text(annotations, "summary")
            .or_else(|| label_text(annotations, "description"))
            .or_else(|| label_text(common_annotations, "summary"))
            .or_else(|| name.clone())
            .unwrap_or_else(|| "Alert without a name".into());
        let summary: String = match &name {
            Some(n) if !summary.starts_with(n.as_str()) => format!("{n}: {summary}"),
            _ => summary,
        }
        .chars()
        .take(SUMMARY_MAX)
        .collect();
        let source = label_text(Some(&labels), "instance")
            .or_else(|| label_text(Some(&labels), "job"))
            .or_else(|| label_text(Some(&labels), "grafana_folder"))
            .unwrap_or_else(|| "alertmanager".into());
        let severity = severity_of(label_text(Some(&labels), "severity").as_deref());
        let mut details = Map::new();
        details.insert("labels".into(), Value::Object(labels));
        if let Some(ann) = annotations {
            details.insert("annotations".into(), Value::Object(ann.clone()));
        }
        for k in ["generatorURL", "startsAt", "endsAt", "silenceURL", "dashboardURL", "panelURL", "valueString"] {
            if let Some(v) = a.get(k).filter(|v| v.is_string()) {
                details.insert(k.into(), v.clone());
            }
        }
        let occurred_at = a
            .get("startsAt")
            .and_then(Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| firebreak_domain::time::truncate(t.with_timezone(&chrono::Utc)));
        events.push(AlertEvent {
            action,
            dedup_key: Some(dedup_key),
            summary,
            source: source.chars().take(SUMMARY_MAX).collect(),
            severity,
            details: Value::Object(details),
            occurred_at,
        });
    }
    Ok(events)
}

/// Submits every event of one request; the answer waits until all are committed.
pub async fn submit_all(ingestor: &Ingestor, key: &str, kind: IntegrationKind, events: Vec<AlertEvent>) -> Response {
    let key_hash = secret_hash(key);
    let submissions =
        events.into_iter().map(|event| ingestor.submit(IngestItem { key_hash: key_hash.clone(), kind, event }));
    let results = futures_util::future::join_all(submissions).await;
    let mut accepted = 0usize;
    for r in results {
        match r {
            Ok(IngestOutcome::Accepted { .. }) => accepted += 1,
            Ok(IngestOutcome::UnknownKey) => return ApiError::not_found("integration").into_response(),
            Err(Refusal::Busy { retry_after_secs }) => {
                let mut res =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", "too many events; retry later")
                        .into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return res;
            }
            Err(Refusal::Failed) => {
                let mut res = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "events could not be stored; retry later",
                )
                .into_response();
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return res;
            }
        }
    }
    (StatusCode::OK, Json(json!({"status": "success", "accepted": accepted}))).into_response()
}

/// Checks the shape of a key in a URL before any work (keys are 32 hex characters).
pub fn plausible_key(key: &str) -> bool {
    (16..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn receive(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
    kind: IntegrationKind,
) -> Response {
    if !plausible_key(&key) {
        return ApiError::not_found("integration").into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the notification is larger than 4 MiB",
            )
            .into_response();
        }
        Err(r) => return ApiError::bad_request("unreadable_body", r.body_text()).into_response(),
    };
    let events = match parse_notification(&body) {
        Ok(e) => e,
        Err(m) => return ApiError::bad_request("invalid_payload", m).into_response(),
    };
    if events.is_empty() {
        return (StatusCode::OK, Json(json!({"status": "success", "accepted": 0}))).into_response();
    }
    submit_all(&state.ingestor, &key, kind, events).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak_domain::alert::AlertSeverity;

    #[test]
    fn label_sets_hash_the_same_in_any_order() {
        let a: Map<String, Value> = serde_json::from_str(r#"{"alertname":"Up","job":"api"}"#).unwrap_or_default();
        let b: Map<String, Value> = serde_json::from_str(r#"{"job":"api","alertname":"Up"}"#).unwrap_or_default();
        let c: Map<String, Value> = serde_json::from_str(r#"{"job":"web","alertname":"Up"}"#).unwrap_or_default();
        assert_eq!(label_set_key(&a), label_set_key(&b));
        assert_ne!(label_set_key(&a), label_set_key(&c));
    }

    #[test]
    fn severities_from_labels() {
        assert_eq!(severity_of(Some("critical")), AlertSeverity::Critical);
        assert_eq!(severity_of(Some("High")), AlertSeverity::Error);
        assert_eq!(severity_of(Some("warning")), AlertSeverity::Warning);
        assert_eq!(severity_of(Some("info")), AlertSeverity::Info);
        assert_eq!(severity_of(None), AlertSeverity::Warning);
    }

    #[test]
    fn an_alertmanager_v4_notification_parses() {
        // Shape of Alertmanager's webhook_config payload (version 4), per its documentation.
        let body = br#"{
          "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
          "status": "firing", "receiver": "firebreak",
          "groupLabels": {"alertname": "HighLatency"},
          "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
          "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
          "alerts": [
            {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-1:9100", "severity": "critical"},
             "annotations": {"summary": "p99 latency above 2s"}, "startsAt": "2026-11-26T10:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "c0ffee01"},
            {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "api-2:9100"},
             "annotations": {}, "startsAt": "2026-11-26T09:00:00Z", "endsAt": "2026-11-26T10:00:00Z"}
          ]
        }"#;
        let events = parse_notification(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].action, AlertAction::Trigger);
        assert_eq!(events[0].dedup_key.as_ref().map(DedupKey::as_str), Some("c0ffee01"));
        assert_eq!(events[0].summary, "HighLatency: p99 latency above 2s");
        assert_eq!(events[0].source, "api-1:9100");
        assert_eq!(events[0].severity, AlertSeverity::Critical);
        assert_eq!(events[1].action, AlertAction::Resolve);
        assert_eq!(
            events[1].dedup_key.as_ref().map(|k| k.as_str().len()),
            Some(64),
            "label-set hash when no fingerprint"
        );
        assert_eq!(events[1].summary, "HighLatency");
    }

    #[test]
    fn bad_notifications_say_what_is_wrong() {
        for (body, needle) in [
            (&b"nope"[..], "not valid JSON"),
            (b"[]", "JSON object"),
            (b"{}", "\"alerts\" is missing"),
            (br#"{"alerts": {}}"#, "must be an array"),
            (br#"{"alerts": [1]}"#, "alerts[0] must be an object"),
            (br#"{"alerts": [{"status": "weird"}]}"#, "firing or resolved"),
            (br#"{"alerts": [{"labels": []}]}"#, "labels must be an object"),
        ] {
            let err = parse_notification(body).err().unwrap_or_default();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        }
    }
}
