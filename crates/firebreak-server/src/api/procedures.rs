//! Procedures through the API: what is in force (and any problems in the directory), the
//! decision trees, and triaging an incident by walking its tree.

use super::Ctx;
use crate::AppState;
use crate::app::procedures::playbooks::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use firebreak_domain::procedures::tree::DecisionTree;
use firebreak_store::ChecklistEntry;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/procedures", get(get_procedures))
        .route("/procedures/trees/{name}", get(get_tree))
        .route("/incidents/{id}/triage", get(start_triage).post(triage_incident))
        .route("/incidents/{id}/checklist", get(get_checklist))
        .route("/incidents/{id}/checklist/{position}", post(set_checklist_item))
        .route("/incidents/{id}/checklist/{position}/run", post(run_action))
        .route("/incidents/{id}/playbook", post(attach_playbook))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/checklist", tag = "procedures", params(("id" = String, Path)),
    responses((status = 200, body = ChecklistView), (status = 404, body = ErrorBody)))]
pub async fn get_checklist(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ChecklistView>> {
    Ok(Json(playbooks::get_checklist(&state, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/playbook", tag = "procedures", params(("id" = String, Path)), request_body = AttachBody,
    responses((status = 201, body = ChecklistView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "it already runs a playbook, or is closed")))]
pub async fn attach_playbook(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AttachBody>,
) -> ApiResult<(axum::http::StatusCode, Json<ChecklistView>)> {
    Ok((axum::http::StatusCode::CREATED, Json(playbooks::attach_playbook(&state, &p, &id, body).await?)))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/checklist/{position}", tag = "procedures",
    params(("id" = String, Path), ("position" = u32, Path)), request_body = ItemBody,
    responses((status = 200, body = ChecklistEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_checklist_item(
    Ctx { state, p }: Ctx,
    ApiPath((id, position)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ItemBody>,
) -> ApiResult<Json<ChecklistEntry>> {
    Ok(Json(playbooks::set_checklist_item(&state, &p, id, position, body).await?))
}

#[utoipa::path(get, path = "/api/v1/procedures", tag = "procedures",
    responses((status = 200, body = ProceduresView), (status = 401, body = ErrorBody)))]
pub async fn get_procedures(State(state): State<AppState>, ApiPrincipal(_): ApiPrincipal) -> Json<ProceduresView> {
    let p = state.procedures.current();
    Json(ProceduresView {
        dir: state.procedures.dir().map(|d| d.display().to_string()),
        triage_tree: p.triage_tree.clone(),
        trees: p.trees.keys().cloned().collect(),
        playbooks: p
            .playbooks
            .iter()
            .map(|b| PlaybookSummary {
                name: b.name.clone(),
                title: b.title.clone(),
                steps: b.steps.len(),
                version: b.content_hash.clone(),
            })
            .collect(),
        contact_lists: p.contact_lists.keys().cloned().collect(),
        templates: p.templates.keys().cloned().collect(),
        roles: p.roles.clone(),
        problems: state.procedures.problems().iter().map(ToString::to_string).collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/procedures/trees/{name}", tag = "procedures", params(("name" = String, Path)),
    responses((status = 200, body = DecisionTree), (status = 404, body = ErrorBody)))]
pub async fn get_tree(
    State(state): State<AppState>,
    ApiPrincipal(_): ApiPrincipal,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<DecisionTree>> {
    Ok(Json(playbooks::get_tree(&state, name).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/triage", tag = "procedures", params(("id" = String, Path)),
    responses((status = 200, body = TriageView, description = "the first question"), (status = 404, body = ErrorBody)))]
pub async fn start_triage(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<TriageView>> {
    Ok(Json(playbooks::start_triage(&state, &p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/triage", tag = "procedures", params(("id" = String, Path)), request_body = TriageBody,
    responses((status = 200, body = TriageView, description = "the next question (nothing changed), or the outcome applied"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn triage_incident(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TriageBody>,
) -> ApiResult<Json<TriageView>> {
    Ok(Json(playbooks::triage_incident(&state, &p, id, body).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/checklist/{position}/run", tag = "procedures",
    params(("id" = String, Path), ("position" = u32, Path)), request_body = RunBody,
    responses((status = 200, body = ActionResult, description = "the request ran (see `succeeded`)"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not an action, or done already"),
        (status = 422, body = ErrorBody, description = "not confirmed, or a secret is missing")))]
pub async fn run_action(
    Ctx { state, p }: Ctx,
    ApiPath((id, position)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RunBody>,
) -> ApiResult<Json<ActionResult>> {
    Ok(Json(playbooks::run_action(&state, &p, &id, &position, body).await?))
}
