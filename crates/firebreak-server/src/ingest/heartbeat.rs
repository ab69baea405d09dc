//! Heartbeats: `GET` or `POST /ingest/{key}/heartbeat`. Each beat moves the deadline to one
//! interval plus grace from now; a missed deadline opens an alert (see `engine`), and the
//! next beat resolves it.

use crate::AppState;
use crate::auth::secret_hash;
use crate::error::ApiError;
use crate::ingest::alertmanager::plausible_key;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/ingest/{key}/heartbeat", get(beat).post(beat))
}

async fn beat(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    if !plausible_key(&key) {
        return ApiError::not_found("heartbeat").into_response();
    }
    match state.store.beat(&secret_hash(&key), state.clock.now()).await {
        Ok(Some(hb)) => {
            (StatusCode::OK, Json(json!({"status": "ok", "next_due_at": firebreak_domain::time::canonical(hb.due_at)})))
                .into_response()
        }
        Ok(None) => ApiError::not_found("heartbeat").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
