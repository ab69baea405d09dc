//! Escalation policies: create and change them, and preview whom each step would page.

use crate::AppState;
use crate::api::ItemsBody;
use crate::api::schedules::directory;
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use firebreak_domain::escalation::{EscalationLevel, EscalationPolicyDefinition, EscalationTarget};
use firebreak_domain::schedule::OnCallSource;
use firebreak_domain::{EscalationPolicyId, ScheduleId, Timestamp, UserId};
use firebreak_store::EscalationPolicyRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/escalation-policies", get(list_policies).post(create_policy))
        .route("/escalation-policies/{id}", get(get_policy).put(update_policy).delete(delete_policy))
        .route("/escalation-policies/{id}/plan", get(plan_policy))
}

/// A policy as written: levels in order, and how many more times the whole policy runs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub levels: Vec<EscalationLevel>,
    #[serde(default)]
    pub repeat: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    #[schema(value_type = String, format = Uuid)]
    pub id: EscalationPolicyId,
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub definition: EscalationPolicyDefinition,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<EscalationPolicyRecord> for PolicyView {
    fn from(p: EscalationPolicyRecord) -> Self {
        PolicyView {
            id: p.id,
            name: p.name,
            description: p.description,
            definition: p.definition,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn policy_id(id: &str) -> ApiResult<EscalationPolicyId> {
    id.parse().map_err(|_| ApiError::not_found("escalation policy"))
}

fn unknown(what: &str, id: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        format!("levels: no {what} has the id {id}; policies name existing users and schedules"),
    )
}

/// Every user and schedule a policy names must exist.
async fn check_targets(state: &AppState, definition: &EscalationPolicyDefinition) -> ApiResult<()> {
    let people = directory(state).await?;
    let schedules: Vec<ScheduleId> = state.store.list_schedules().await?.into_iter().map(|s| s.id).collect();
    for target in definition.levels.iter().flat_map(|l| l.targets.iter()) {
        match target {
            EscalationTarget::User(u) if !people.contains_key(u) => return Err(unknown("user", u)),
            EscalationTarget::Schedule(s) if !schedules.contains(s) => return Err(unknown("schedule", s)),
            _ => {}
        }
    }
    Ok(())
}

impl PolicyBody {
    fn parts(self) -> (String, String, EscalationPolicyDefinition) {
        (self.name, self.description, EscalationPolicyDefinition { levels: self.levels, repeat: self.repeat })
    }
}

#[utoipa::path(post, path = "/api/v1/escalation-policies", tag = "on-call", request_body = PolicyBody,
    responses((status = 201, body = PolicyView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_policy(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    p.require_responder()?;
    let (name, description, definition) = body.parts();
    check_targets(&state, &definition).await?;
    let policy = state.store.create_policy(&name, &description, &definition, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(policy.into())))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies", tag = "on-call", responses((status = 200, body = ItemsBody<PolicyView>)))]
pub async fn list_policies(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<PolicyView>>> {
    Ok(Json(ItemsBody { items: state.store.list_policies().await?.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PolicyView>> {
    Ok(Json(state.store.get_policy(policy_id(&id)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_policy(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> ApiResult<Json<PolicyView>> {
    p.require_responder()?;
    let id = policy_id(&id)?;
    let (name, description, definition) = body.parts();
    check_targets(&state, &definition).await?;
    Ok(Json(state.store.update_policy(id, &name, &description, &definition, &p.actor()).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/escalation-policies/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require_responder()?;
    state.store.delete_policy(policy_id(&id)?, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// When the escalation would start (RFC 3339); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub start: Option<Timestamp>,
}

/// Whom one target of a step pages: the user named, or whoever the schedule has on call at
/// the step's time (all `null` when nobody is).
#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedPage {
    pub target: EscalationTarget,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// For a schedule: why that person is on call.
    pub source: Option<OnCallSource>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedStep {
    pub number: u32,
    pub cycle: u32,
    pub level: usize,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub round_robin: bool,
    pub pages: Vec<PlannedPage>,
}

#[utoipa::path(get, path = "/api/v1/escalation-policies/{id}/plan", tag = "on-call",
    params(("id" = String, Path, format = Uuid), PlanQuery),
    responses((status = 200, body = ItemsBody<PlannedStep>), (status = 404, body = ErrorBody)))]
pub async fn plan_policy(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> ApiResult<Json<ItemsBody<PlannedStep>>> {
    let record = state.store.get_policy(policy_id(&id)?).await?;
    let policy = record.policy().map_err(|e| {
        ApiError::new(StatusCode::CONFLICT, "policy_unusable", format!("the stored policy cannot be used: {e}"))
    })?;
    let start = q.start.unwrap_or_else(|| state.clock.now());
    let people = directory(&state).await?;
    let schedules: HashMap<ScheduleId, _> =
        state.store.list_schedules().await?.into_iter().filter_map(|s| Some((s.id, s.on_call().ok()?))).collect();
    let items = policy
        .plan(start)
        .into_iter()
        .map(|step| {
            let level = &policy.definition().levels[step.level];
            let pages = level
                .targets
                .iter()
                .map(|target| {
                    let (user, source) = match target {
                        EscalationTarget::User(u) => (Some(*u), None),
                        EscalationTarget::Schedule(s) => {
                            let on_call = schedules.get(s).and_then(|s| s.on_call_at(step.due_at));
                            (on_call.map(|c| c.user), on_call.map(|c| c.source))
                        }
                    };
                    let (name, email) = user.and_then(|u| people.get(&u).cloned()).unzip();
                    PlannedPage { target: *target, user_id: user, name, email, source }
                })
                .collect();
            PlannedStep {
                number: step.number,
                cycle: step.cycle,
                level: step.level,
                due_at: step.due_at,
                round_robin: level.round_robin,
                pages,
            }
        })
        .collect();
    Ok(Json(ItemsBody { items }))
}
