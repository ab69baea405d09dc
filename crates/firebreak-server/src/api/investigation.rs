//! Working an incident beyond its status: who takes part (and whether it is restricted to
//! them), evidence links, and what investigation needs next to the timeline — the recent
//! changes of the affected services and the alerts the incident collects.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::alerts::{AlertView, ChangeView};
use crate::app::incidents;
use crate::app::incidents::{IncidentView, RoleAssignment, view};
use crate::app::investigation::*;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firebreak_domain::IncidentChange;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/participants", get(list_participants).post(add_participant))
        .route("/incidents/{id}/restricted", put(set_restricted))
        .route("/incidents/{id}/evidence", post(add_evidence))
        .route("/incidents/{id}/changes", get(recent_changes))
        .route("/incidents/{id}/alerts", get(incident_alerts))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/participants", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = ItemsBody<ParticipantView>), (status = 404, body = ErrorBody)))]
pub async fn list_participants(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<ParticipantView>>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(ItemsBody { items: participants(&state.store, &incident).await? }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/participants", tag = "incidents", request_body = RoleAssignment,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = ItemsBody<ParticipantView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_participant(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RoleAssignment>,
) -> ApiResult<(StatusCode, Json<ItemsBody<ParticipantView>>)> {
    let incident = add_participant_to(&state, &p, &id, body.user_id, body.email.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(ItemsBody { items: participants(&state.store, &incident).await? })))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/restricted", tag = "incidents", request_body = RestrictedBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_restricted(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestrictedBody>,
) -> ApiResult<Json<IncidentView>> {
    let incident = incidents::change(&state, &p, &id, IncidentChange::SetRestricted(body.restricted)).await?;
    Ok(Json(view(&state, incident).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/evidence", tag = "incidents", request_body = EvidenceBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = IncidentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_evidence(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EvidenceBody>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    let change = IncidentChange::AddEvidence { url: body.url, title: body.title };
    let incident = incidents::change(&state, &p, &id, change).await?;
    Ok((StatusCode::CREATED, Json(view(&state, incident).await?)))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/changes", tag = "incidents", params(("id" = String, Path, description = "UUID, number or INC-number"), ChangesQuery),
    responses((status = 200, body = ItemsBody<ChangeView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn recent_changes(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<ItemsBody<ChangeView>>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(ItemsBody { items: recent_changes_of(&state, &incident, q.before_minutes).await? }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/alerts", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = ItemsBody<AlertView>), (status = 404, body = ErrorBody)))]
pub async fn incident_alerts(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<AlertView>>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(ItemsBody { items: alerts_of(&state, &incident).await? }))
}
