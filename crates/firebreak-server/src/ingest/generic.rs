//! The generic JSON webhook, `POST /ingest/{key}/generic`, for tools with no native format.
//! Each integration has a mapping from the payload to an alert event. Each field of the
//! mapping is either a JSON pointer (`/alert/title`) or a minijinja template
//! (`{{ host }}: {{ check }} failed`), rendered in a sandbox: the payload is the only
//! context, there is no file or network access, and rendering has a fuel and size limit.

use super::alertmanager::{plausible_key, submit_all};
use crate::AppState;
use crate::app::mapping::Mapping;
use crate::auth::secret_hash;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use firebreak_domain::alert::IntegrationKind;
use serde_json::Value;

/// Largest accepted payload.
pub const BODY_LIMIT: usize = 1024 * 1024;
pub fn router() -> Router<AppState> {
    Router::new().route("/ingest/{key}/generic", post(receive)).layer(DefaultBodyLimit::max(BODY_LIMIT))
}

async fn receive(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
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
                "the payload is larger than 1 MiB",
            )
            .into_response();
        }
        Err(r) => return ApiError::bad_request("unreadable_body", r.body_text()).into_response(),
    };
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::bad_request("invalid_payload", format!("the body is not valid JSON: {e}"))
                .into_response();
        }
    };
    if super::pagerduty::has_nul(&payload) {
        return ApiError::bad_request("invalid_payload", "the payload must not contain NUL characters").into_response();
    }
    let integration = match state.store.integration_by_key(&secret_hash(&key)).await {
        Ok(Some(i)) if i.kind == IntegrationKind::Generic => i,
        Ok(_) => return ApiError::not_found("integration").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mapping = serde_json::from_value::<Mapping>(integration.config.get("mapping").cloned().unwrap_or(Value::Null))
        .unwrap_or_default();
    // An array is a batch of payloads, one event each.
    let payloads: Vec<&Value> = match &payload {
        Value::Array(items) if items.len() <= 1000 => items.iter().collect(),
        Value::Array(_) => {
            return ApiError::bad_request("invalid_payload", "at most 1000 payloads per request").into_response();
        }
        one => vec![one],
    };
    let mut events = Vec::with_capacity(payloads.len());
    for (i, p) in payloads.into_iter().enumerate() {
        match mapping.apply(p) {
            Ok(e) => events.push(e),
            Err(m) => {
                let at = if matches!(payload, Value::Array(_)) { format!("item {i}: ") } else { String::new() };
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "mapping_failed", format!("{at}{m}"))
                    .into_response();
            }
        }
    }
    submit_all(&state.ingestor, &key, IntegrationKind::Generic, events).await
}
