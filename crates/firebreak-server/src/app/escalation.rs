//! Escalation policies: create and change them, and preview whom each step would page.

use crate::AppState;
use crate::app::oncall::directory;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::escalation::{EscalationLevel, EscalationPolicy, EscalationPolicyDefinition, EscalationTarget};
use firebreak_domain::schedule::OnCallSource;
use firebreak_domain::{EscalationPolicyId, ScheduleId, Timestamp, UserId};
use firebreak_store::{EscalationPolicyRecord, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

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

/// Parses an escalation policy id path segment (a malformed one is not found).
pub fn policy_id(id: &str) -> ApiResult<EscalationPolicyId> {
    id.parse().map_err(|_| ApiError::not_found("escalation policy"))
}

/// A 422 for a policy level naming a `what` (user or schedule) that does not exist.
pub fn unknown(what: &str, id: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        format!("levels: no {what} has the id {id}; policies name existing users and schedules"),
    )
    .at("levels")
}

/// Every user and schedule a policy names must exist; an error says which level names the
/// stranger (`levels[1].targets`).
pub async fn check_targets(state: &AppState, definition: &EscalationPolicyDefinition) -> ApiResult<()> {
    let people = directory(state).await?;
    let schedules: Vec<ScheduleId> = state.store.list_schedules().await?.into_iter().map(|s| s.id).collect();
    for (i, level) in definition.levels.iter().enumerate() {
        let at = format!("levels[{i}].targets");
        for target in &level.targets {
            match target {
                EscalationTarget::User(u) if !people.contains_key(u) => return Err(unknown("user", u).at(at)),
                EscalationTarget::Schedule(s) if !schedules.contains(s) => return Err(unknown("schedule", s).at(at)),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Who may create and change escalation policies: responders and admins.
pub fn may_edit_policies(p: &Principal) -> ApiResult<()> {
    p.require_responder()
}

/// A definition as the store will check it (with where a problem is), and its targets.
async fn check_definition(state: &AppState, definition: &EscalationPolicyDefinition) -> ApiResult<EscalationPolicy> {
    let policy = EscalationPolicy::check(definition.clone())?;
    check_targets(state, definition).await?;
    Ok(policy)
}

/// A store error of saving a policy; the one conflict there can be is its name.
fn saving(e: StoreError) -> ApiError {
    let e = ApiError::from(e);
    if e.status == StatusCode::CONFLICT { e.at("name") } else { e }
}

impl PolicyBody {
    fn parts(self) -> (String, String, EscalationPolicyDefinition) {
        (self.name, self.description, EscalationPolicyDefinition { levels: self.levels, repeat: self.repeat })
    }
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

/// Creates an escalation policy (every user and schedule it names must exist); responders only.
pub async fn create_policy(state: &AppState, p: &Principal, body: PolicyBody) -> ApiResult<PolicyView> {
    may_edit_policies(p)?;
    let (name, description, definition) = body.parts();
    check_definition(state, &definition).await?;
    let policy = state.store.create_policy(&name, &description, &definition, &p.actor()).await.map_err(saving)?;
    Ok(policy.into())
}

/// Whom each step of a policy as written would page if an incident started now, checked as
/// creating it checks it (but for its name, which it does not need), without saving anything;
/// responders only.
pub async fn preview_policy(state: &AppState, p: &Principal, body: PolicyBody) -> ApiResult<Vec<PlannedStep>> {
    may_edit_policies(p)?;
    let (_, _, definition) = body.parts();
    let policy = check_definition(state, &definition).await?;
    plan(state, &policy, state.clock.now()).await
}

/// Every escalation policy, by name.
pub async fn list_policies(state: &AppState) -> ApiResult<Vec<PolicyView>> {
    Ok(state.store.list_policies().await?.into_iter().map(Into::into).collect())
}

/// The escalation policy `id`.
pub async fn get_policy(state: &AppState, id: String) -> ApiResult<PolicyView> {
    Ok(state.store.get_policy(policy_id(&id)?).await?.into())
}

/// Replaces the escalation policy `id` (every user and schedule it names must exist); responders only.
pub async fn update_policy(state: &AppState, p: &Principal, id: String, body: PolicyBody) -> ApiResult<PolicyView> {
    may_edit_policies(p)?;
    let id = policy_id(&id)?;
    let (name, description, definition) = body.parts();
    check_definition(state, &definition).await?;
    Ok(state.store.update_policy(id, &name, &description, &definition, &p.actor()).await.map_err(saving)?.into())
}

/// Deletes the escalation policy `id`; refused (409) while a service pages through it. Responders only.
pub async fn delete_policy(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    may_edit_policies(p)?;
    state.store.delete_policy(policy_id(&id)?, &p.actor()).await?;
    Ok(())
}

/// Whom each step of the policy `id` would page from `start` (default now), schedules resolved to
/// who is on call at the step's time; a stored policy that no longer parses is a 409.
pub async fn plan_policy(state: &AppState, id: String, q: PlanQuery) -> ApiResult<Vec<PlannedStep>> {
    let record = state.store.get_policy(policy_id(&id)?).await?;
    let policy = record.policy().map_err(|e| {
        ApiError::new(StatusCode::CONFLICT, "policy_unusable", format!("the stored policy cannot be used: {e}"))
    })?;
    plan(state, &policy, q.start.unwrap_or_else(|| state.clock.now())).await
}

/// Whom each step of `policy` pages from `start`, schedules resolved to who is on call then.
async fn plan(state: &AppState, policy: &EscalationPolicy, start: Timestamp) -> ApiResult<Vec<PlannedStep>> {
    let people = directory(state).await?;
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
    Ok(items)
}
