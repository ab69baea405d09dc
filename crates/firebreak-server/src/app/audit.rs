//! The audit log, for admins, newest first.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::views::ListBody;
use firebreak_domain::AuditEntry;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

pub async fn list_audit(state: &AppState, p: &Principal, q: AuditQuery) -> ApiResult<ListBody<AuditEntry>> {
    p.require_admin()?;
    let before = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>().map_err(|_| ApiError::bad_request("invalid_query", "cursor: not a cursor this API issued"))
        })
        .transpose()?;
    let limit = firebreak_store::page_limit(q.limit.unwrap_or(50));
    let items = state.store.recent_audit(before, limit).await?;
    let next_cursor = match items.last() {
        // A full page has a next one only if something older exists; the last page has no cursor.
        Some(last) if items.len() == limit as usize => {
            let older = state.store.recent_audit(Some(last.content.seq), 1).await?;
            (!older.is_empty()).then(|| last.content.seq.to_string())
        }
        _ => None,
    };
    Ok(ListBody { items, next_cursor })
}
