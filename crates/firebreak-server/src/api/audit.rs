//! The audit log, for admins, newest first.

use super::Ctx;
use crate::AppState;
use crate::api::ListBody;
use crate::app::access::{self, AuditQuery};
use crate::error::{ApiQuery, ApiResult, ErrorBody};
use axum::routing::get;
use axum::{Json, Router};
use firebreak_domain::AuditEntry;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list_audit))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = ListBody<AuditEntry>), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    Ctx { state, p }: Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<ListBody<AuditEntry>>> {
    Ok(Json(access::list_audit(&state, &p, q).await?))
}
