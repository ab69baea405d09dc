//! Incident routes: declare, list, read, edit, act (acknowledge, contain, resolve, close,
//! reopen), notes, roles and the timeline. The work is `app::incidents`'s; these shape JSON.

use super::Ctx;
use crate::AppState;
use crate::api::{ItemsBody, ListBody};
use crate::app::incidents::{
    self, CreateIncident, Directory, IncidentView, ListQuery, NoteBody, RoleAssignment, TimelineEntryView,
    UpdateIncident,
};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firebreak_domain::{IncidentAction, IncidentChange};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", post(create_incident).get(list_incidents))
        .route("/incidents/{id}", get(get_incident).patch(update_incident))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/timeline", get(get_timeline))
        .route("/incidents/{id}/timeline/export", get(export_timeline))
        .route("/incidents/{id}/roles/{role}", put(assign_role))
        .route("/incidents/{id}/merge", post(merge_incident))
        .route("/incidents/{id}/{action}", post(act_on_incident))
}

/// The incident as JSON.
async fn shown(state: &AppState, incident: firebreak_domain::Incident) -> ApiResult<Json<IncidentView>> {
    Ok(Json(incidents::view(state, incident).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, body = IncidentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_incident(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<CreateIncident>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    let incident = incidents::declare(&state, &p, body).await?;
    Ok((StatusCode::CREATED, shown(&state, incident).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = ListBody<IncidentView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_incidents(
    Ctx { state, p }: Ctx,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ListBody<IncidentView>>> {
    let page = incidents::list(&state, &p, &q).await?;
    Ok(Json(ListBody {
        items: incidents::views(&state, page.items).await?,
        next_cursor: page.next_before.map(|n| n.to_string()),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody)))]
pub async fn get_incident(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<IncidentView>> {
    let incident = incidents::get(&state, &id).await?;
    shown(&state, incident).await
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = UpdateIncident,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_incident(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateIncident>,
) -> ApiResult<Json<IncidentView>> {
    let incident = incidents::change(&state, &p, &id, IncidentChange::Edit(body.into())).await?;
    shown(&state, incident).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/{action}", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"),
           ("action" = IncidentAction, Path, description = "acknowledge, contain, resolve, close or reopen")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, description = "invalid_transition", body = ErrorBody)))]
pub async fn act_on_incident(
    Ctx { state, p }: Ctx,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentView>> {
    let action: IncidentAction = action.parse().map_err(|_| ApiError::not_found("route"))?;
    let incident = incidents::change(&state, &p, &id, IncidentChange::Transition(action)).await?;
    shown(&state, incident).await
}

/// Which incident to merge into.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The incident that goes on: INC-42, 42 or its UUID.
    pub into: String,
}

/// Both incidents after a merge, and what moved.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MergedView {
    /// The merged incident, now resolved and marked `merged_into`.
    pub from: IncidentView,
    /// The incident that goes on.
    pub into: IncidentView,
    /// Alerts moved.
    pub alerts: u32,
    /// Timeline entries copied.
    pub entries: u32,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "incidents", request_body = MergeBody,
    params(("id" = String, Path, description = "The incident merged away: UUID, number or INC-number")),
    responses((status = 200, body = MergedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "into is unknown, the same incident, resolved or merged; or a restricted incident into an unrestricted one", body = ErrorBody)))]
pub async fn merge_incident(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> ApiResult<Json<MergedView>> {
    let merged = incidents::merge(&state, &p, &id, &body.into).await?;
    let mut views = incidents::views(&state, vec![merged.from, merged.into]).await?.into_iter();
    let (Some(from), Some(into)) = (views.next(), views.next()) else {
        return Err(ApiError::internal());
    };
    Ok(Json(MergedView { from, into, alerts: merged.alerts, entries: merged.entries }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", request_body = NoteBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_note(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    let incident = incidents::change(&state, &p, &id, IncidentChange::Note { body: body.body }).await?;
    Ok((StatusCode::CREATED, shown(&state, incident).await?))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/roles/{role}", tag = "incidents", request_body = RoleAssignment,
    params(("id" = String, Path, description = "UUID, number or INC-number"),
           ("role" = String, Path, description = "commander, communications, scribe, operations_lead or a role declared in the procedures")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_role(
    Ctx { state, p }: Ctx,
    ApiPath((id, role)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleAssignment>,
) -> ApiResult<Json<IncidentView>> {
    let incident = incidents::assign_role(&state, &p, &id, &role, body.user_id, body.email.as_deref()).await?;
    shown(&state, incident).await
}

/// Which timeline entries to show.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Comma-separated entry kinds (`note_added`, `alert`, `paged`, …); all when absent.
    pub kind: Option<String>,
}

/// The kinds a `kind` filter names, checked against the kinds there are.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"), TimelineQuery),
    responses((status = 200, body = ItemsBody<TimelineEntryView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_timeline(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<ItemsBody<TimelineEntryView>>> {
    let (_, entries) = incidents::timeline(&state, &id, q.kind.as_deref()).await?;
    Ok(Json(ItemsBody { items: entries.into_iter().map(Into::into).collect() }))
}

/// Which form an exported timeline takes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `markdown` (default) or `json`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The timeline as a document to keep (postmortems, evidence): Markdown with the incident's
/// summary and one table row per entry (notes and triage answers quoted below), or JSON with
/// the incident and every entry.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline/export", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"), ExportQuery),
    responses((status = 200, description = "text/markdown or application/json, as an attachment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_timeline(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let (incident, entries) = incidents::timeline(&state, &id, None).await?;
    let attachment = |ext: &str| format!("attachment; filename=\"{}-timeline.{ext}\"", incident.label());
    match q.format.as_deref().unwrap_or("markdown") {
        "json" => {
            let disposition = attachment("json");
            let view = incidents::view(&state, incident).await?;
            let items: Vec<TimelineEntryView> = entries.into_iter().map(Into::into).collect();
            let body = serde_json::json!({ "incident": view, "timeline": items });
            Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(body)).into_response())
        }
        "markdown" | "md" => {
            let dir = Directory::load(&state.store).await?;
            let md = incidents::timeline_markdown(&incident, &entries, &dir);
            let headers = [
                (header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, attachment("md")),
            ];
            Ok((headers, md).into_response())
        }
        other => {
            Err(ApiError::bad_request("invalid_format", format!("unknown format {other:?}: use markdown or json")))
        }
    }
}
