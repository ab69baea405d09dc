//! Post-incident review over the API: an incident's postmortem (draft from the record,
//! revisions and their diff, review, sign-off, publishing, Markdown export), key events,
//! action items (per incident and across incidents) and response analytics (JSON and CSV).

use super::{Ctx, ItemsBody, ListBody};
use crate::AppState;
use crate::app::incidents;
use crate::app::review::actions::{self, ActionItemChange, ActionQuery, NewActionItem};
use crate::app::review::analytics::{self, ReportParams};
use crate::app::review::draft::Drafted;
use crate::app::review::{self, DiffLine, PostmortemView, RequestReview, SavePostmortem, SignOffBody};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use firebreak_domain::analytics::Report;
use firebreak_store::review::{ActionItem, PostmortemRevision};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/postmortem", get(get_postmortem).post(create_postmortem).put(save_postmortem))
        .route("/incidents/{id}/postmortem/draft", get(draft_postmortem))
        .route("/incidents/{id}/postmortem/preview", post(preview_postmortem))
        .route("/incidents/{id}/postmortem/revisions", get(list_revisions))
        .route("/incidents/{id}/postmortem/diff", get(diff_revisions))
        .route("/incidents/{id}/postmortem/review", post(request_review))
        .route("/incidents/{id}/postmortem/sign-off", post(sign_off))
        .route("/incidents/{id}/postmortem/publish", post(publish))
        .route("/incidents/{id}/postmortem/export", get(export_postmortem))
        .route("/incidents/{id}/timeline/{seq}/star", post(star_entry).delete(unstar_entry))
        .route("/incidents/{id}/action-items", get(list_incident_actions).post(create_action_item))
        .route("/action-items", get(list_action_items))
        .route("/action-items/{number}", get(get_action_item).patch(update_action_item))
        .route("/analytics", get(get_analytics))
        .route("/analytics.csv", get(get_analytics_csv))
}

async fn view(state: &AppState, id: &str, pm: firebreak_store::review::Postmortem) -> ApiResult<Json<PostmortemView>> {
    let incident = incidents::get(state, id).await?;
    Ok(Json(PostmortemView::new(state, &incident, pm)))
}

const ID: &str = "UUID, number or INC-number";

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem", tag = "review",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PostmortemView), (status = 404, body = ErrorBody)))]
pub async fn get_postmortem(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<PostmortemView>> {
    let (incident, pm) = review::get(&state, &id).await?;
    Ok(Json(PostmortemView::new(&state, &incident, pm)))
}

/// Which template to draft from.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateChoice {
    /// A postmortem template's name (default: the one the procedures choose).
    #[serde(default)]
    pub template: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem", tag = "review", request_body = TemplateChoice,
    params(("id" = String, Path, description = ID)),
    responses((status = 201, body = PostmortemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_postmortem(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    body: Option<ApiJson<TemplateChoice>>,
) -> ApiResult<(StatusCode, Json<PostmortemView>)> {
    let choice = body.map(|ApiJson(b)| b).unwrap_or_default();
    let pm = review::create(&state, &p, &id, choice.template.as_deref()).await?;
    Ok((StatusCode::CREATED, view(&state, &id, pm).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/draft", tag = "review",
    params(("id" = String, Path, description = ID), TemplateChoice),
    responses((status = 200, body = Drafted), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn draft_postmortem(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TemplateChoice>,
) -> ApiResult<Json<Drafted>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(review::draft(&state, &incident, q.template.as_deref()).await?.1))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/postmortem", tag = "review", request_body = SavePostmortem,
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PostmortemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_postmortem(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SavePostmortem>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = review::save(&state, &p, &id, body).await?;
    view(&state, &id, pm).await
}

/// Markdown to preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    pub body: String,
}

/// The preview: safe HTML (raw HTML shown as text, only safe links).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewHtml {
    pub html: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/preview", tag = "review", request_body = PreviewBody,
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PreviewHtml), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_postmortem(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> ApiResult<Json<PreviewHtml>> {
    incidents::get(&state, &id).await?;
    let text = firebreak_domain::review::parse_postmortem_body(&body.body)?;
    Ok(Json(PreviewHtml { html: crate::views::markdown::render(&text) }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/revisions", tag = "review",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = ItemsBody<PostmortemRevision>), (status = 404, body = ErrorBody)))]
pub async fn list_revisions(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<PostmortemRevision>>> {
    Ok(Json(ItemsBody { items: review::revisions(&state, &id).await? }))
}

/// Two revisions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/diff", tag = "review",
    params(("id" = String, Path, description = ID), DiffQuery),
    responses((status = 200, body = ItemsBody<DiffLine>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn diff_revisions(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> ApiResult<Json<ItemsBody<DiffLine>>> {
    Ok(Json(ItemsBody { items: review::diff_revisions(&state, &id, q.from, q.to).await? }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/review", tag = "review", request_body = RequestReview,
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PostmortemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_review(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RequestReview>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = review::request_review(&state, &p, &id, body).await?;
    view(&state, &id, pm).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/sign-off", tag = "review", request_body = SignOffBody,
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PostmortemView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sign_off(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SignOffBody>,
) -> ApiResult<Json<PostmortemView>> {
    let pm = review::sign_off(&state, &p, &id, &body.revision_hash).await?;
    view(&state, &id, pm).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/publish", tag = "review",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = PostmortemView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn publish(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<PostmortemView>> {
    let pm = review::publish(&state, &p, &id).await?;
    view(&state, &id, pm).await
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/export", tag = "review",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, content_type = "text/markdown", body = String), (status = 404, body = ErrorBody)))]
pub async fn export_postmortem(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let (incident, pm) = review::get(&state, &id).await?;
    let md = review::export_markdown(&state, &incident, &pm).await?;
    let disposition = format!("attachment; filename=\"{}-postmortem.md\"", incident.label());
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        md,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/timeline/{seq}/star", tag = "review",
    params(("id" = String, Path, description = ID), ("seq" = i64, Path, description = "The entry's seq")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn star_entry(Ctx { state, p }: Ctx, ApiPath((id, seq)): ApiPath<(String, i64)>) -> ApiResult<StatusCode> {
    review::star(&state, &p, &id, seq, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/incidents/{id}/timeline/{seq}/star", tag = "review",
    params(("id" = String, Path, description = ID), ("seq" = i64, Path, description = "The entry's seq")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unstar_entry(Ctx { state, p }: Ctx, ApiPath((id, seq)): ApiPath<(String, i64)>) -> ApiResult<StatusCode> {
    review::star(&state, &p, &id, seq, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/action-items", tag = "review",
    params(("id" = String, Path, description = ID)),
    responses((status = 200, body = ItemsBody<ActionItem>), (status = 404, body = ErrorBody)))]
pub async fn list_incident_actions(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<ActionItem>>> {
    let incident = incidents::get(&state, &id).await?;
    Ok(Json(ItemsBody { items: actions::of_incident(&state, incident.id).await? }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/action-items", tag = "review", request_body = NewActionItem,
    params(("id" = String, Path, description = ID)),
    responses((status = 201, body = ActionItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_action_item(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewActionItem>,
) -> ApiResult<(StatusCode, Json<ActionItem>)> {
    Ok((StatusCode::CREATED, Json(actions::create(&state, &p, &id, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/action-items", tag = "review", params(ActionQuery),
    responses((status = 200, body = ListBody<ActionItem>), (status = 400, body = ErrorBody)))]
pub async fn list_action_items(
    Ctx { state, p }: Ctx,
    ApiQuery(q): ApiQuery<ActionQuery>,
) -> ApiResult<Json<ListBody<ActionItem>>> {
    let page = actions::list(&state, &p, &q).await?;
    Ok(Json(ListBody { items: page.items, next_cursor: page.next_before.map(|n| n.to_string()) }))
}

#[utoipa::path(get, path = "/api/v1/action-items/{number}", tag = "review",
    params(("number" = String, Path, description = "AI-number or number")),
    responses((status = 200, body = ActionItem), (status = 404, body = ErrorBody)))]
pub async fn get_action_item(Ctx { state, p }: Ctx, ApiPath(number): ApiPath<String>) -> ApiResult<Json<ActionItem>> {
    Ok(Json(actions::get(&state, &p, &number).await?))
}

#[utoipa::path(patch, path = "/api/v1/action-items/{number}", tag = "review", request_body = ActionItemChange,
    params(("number" = String, Path, description = "AI-number or number")),
    responses((status = 200, body = ActionItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_action_item(
    Ctx { state, p }: Ctx,
    ApiPath(number): ApiPath<String>,
    ApiJson(body): ApiJson<ActionItemChange>,
) -> ApiResult<Json<ActionItem>> {
    Ok(Json(actions::update(&state, &p, &number, body).await?))
}

#[utoipa::path(get, path = "/api/v1/analytics", tag = "review", params(ReportParams),
    responses((status = 200, body = Report), (status = 400, body = ErrorBody)))]
pub async fn get_analytics(Ctx { state, p }: Ctx, ApiQuery(q): ApiQuery<ReportParams>) -> ApiResult<Json<Report>> {
    Ok(Json(analytics::report(&state, &p, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/analytics.csv", tag = "review", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)))]
pub async fn get_analytics_csv(Ctx { state, p }: Ctx, ApiQuery(q): ApiQuery<ReportParams>) -> ApiResult<Response> {
    let report = analytics::report(&state, &p, &q).await?;
    let name = format!(
        "attachment; filename=\"firebreak-analytics-{}-{}.csv\"",
        report.from.format("%Y%m%d"),
        report.to.format("%Y%m%d")
    );
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)],
        report.to_csv(),
    )
        .into_response())
}
