//! Alerts: list with filters (newest first, cursor-paginated) and detail with the payload
//! details and the number of events folded into each.

use super::Ctx;
use crate::AppState;
use crate::api::ListBody;
use crate::app::alerts::{self, *};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(get_alert))
        .route("/alerts/{id}/attach", axum::routing::post(attach_alert))
        .route("/alerts/{id}/detach", axum::routing::post(detach_alert))
        .route("/alerts/{id}/{action}", axum::routing::post(act_on_alert))
        .route("/changes", get(list_changes))
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQuery),
    responses((status = 200, body = ListBody<AlertView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_alerts(
    Ctx { state, p }: Ctx,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> ApiResult<Json<ListBody<AlertView>>> {
    let page = alerts::list(&state, &p, &q).await?;
    Ok(Json(ListBody {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_before.map(|id| id.to_string()),
    }))
}

#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody)))]
pub async fn get_alert(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<AlertView>> {
    Ok(Json(alerts::get_alert(&state, id).await?))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/{action}", tag = "alerts",
    params(("id" = String, Path, format = Uuid), ("action" = String, Path, description = "acknowledge or resolve")),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn act_on_alert(
    Ctx { state, p }: Ctx,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(alerts::act_on_alert(&state, &p, id, action).await?))
}

/// The incident an alert moves to.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    /// INC-42, 42 or the incident's UUID.
    pub incident: String,
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/attach", tag = "alerts", request_body = AttachBody,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "the incident is unknown, resolved or merged", body = ErrorBody)))]
pub async fn attach_alert(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AttachBody>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(alerts::move_alert(&state, &p, id, Some(&body.incident)).await?))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/detach", tag = "alerts",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = AlertView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detach_alert(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<AlertView>> {
    Ok(Json(alerts::move_alert(&state, &p, id, None).await?))
}

#[utoipa::path(get, path = "/api/v1/changes", tag = "alerts", params(ChangeQuery),
    responses((status = 200, body = crate::api::ItemsBody<ChangeView>), (status = 400, body = ErrorBody)))]
pub async fn list_changes(
    Ctx { state, .. }: Ctx,
    ApiQuery(q): ApiQuery<ChangeQuery>,
) -> ApiResult<Json<crate::api::ItemsBody<ChangeView>>> {
    Ok(Json(crate::api::ItemsBody { items: alerts::list_changes(&state, q).await? }))
}
