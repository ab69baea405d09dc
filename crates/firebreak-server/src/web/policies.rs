//! Escalation policy pages: every policy (`/policies`); one policy (`/policies/{id}`: its levels,
//! their targets and delays, its repeats, the services that page through it, and whom it would
//! page if an incident started now); and the form that creates (`/policies/new`) or edits one
//! (`/policies/{id}/edit`), with a preview of that plan before it is saved.
//!
//! Like the schedule form, it works without JavaScript: its buttons (add or remove a level,
//! another target row, move a target up) post the form, which comes back changed with everything
//! typed. What is valid is the application layer's (`app::escalation`, as for the API): the form
//! only turns its fields into a `PolicyBody` and shows an error at the field it concerns.

use super::catalog::SelectOption;
use super::{
    ChoiceGroup, Chrome, Fields, FormHead, PickRow, Problem, Submitted, WebPrincipal, WebResult, answer_at, blank_rows,
    move_up, people_choices, pick_rows, render, see, show_time, unless_missing,
};
use crate::AppState;
use crate::app::escalation::{self, PlanQuery, PlannedStep, PolicyBody, PolicyView};
use crate::auth::Principal;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use firebreak_domain::escalation::{EscalationLevel, EscalationTarget, MAX_LEVELS, MAX_REPEAT, MAX_TARGETS};
use firebreak_domain::{ScheduleId, UserId};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policies", get(list_policies))
        .route("/policies/new", get(new_policy).post(create_policy))
        .route("/policies/{id}", get(show_policy))
        .route("/policies/{id}/edit", get(edit_policy).post(update_policy))
}

const NO_SUCH_POLICY: &str = "There is no such escalation policy.";

/// The names of every user and schedule, to say whom a policy pages.
struct Names {
    users: HashMap<UserId, String>,
    schedules: HashMap<ScheduleId, String>,
}

impl Names {
    async fn load(state: &AppState) -> WebResult<Names> {
        let users = state.store.list_users().await?.into_iter().map(|u| (u.id, u.name)).collect();
        let schedules = state.store.list_schedules().await?.into_iter().map(|s| (s.id, s.name)).collect();
        Ok(Names { users, schedules })
    }

    fn user(&self, id: &UserId) -> String {
        self.users.get(id).cloned().unwrap_or_else(|| "(deleted user)".into())
    }

    fn schedule(&self, id: &ScheduleId) -> String {
        self.schedules.get(id).cloned().unwrap_or_else(|| "(deleted schedule)".into())
    }

    /// A target in words: `Ann Lee`, or `whoever is on call on databases`.
    fn target(&self, t: &EscalationTarget) -> String {
        match t {
            EscalationTarget::User(u) => self.user(u),
            EscalationTarget::Schedule(s) => format!("whoever is on call on {}", self.schedule(s)),
        }
    }
}

/// The wait after a level, in words.
fn minutes(n: u32) -> String {
    match n {
        1 => "1 minute".into(),
        n => format!("{n} minutes"),
    }
}

// ---------------------------------------------------------------- the plan

/// One step of a plan as the pages show it: when (minutes after the start, and the instant),
/// which level (from 1), and whom it pages.
pub struct PlanRow {
    pub step: u32,
    pub level: usize,
    pub minute: i64,
    pub due: String,
    pub round_robin: bool,
    pub pages: Vec<String>,
}

fn plan_rows(steps: Vec<PlannedStep>, names: &Names) -> Vec<PlanRow> {
    let start = steps.first().map(|s| s.due_at);
    steps
        .into_iter()
        .map(|s| PlanRow {
            step: s.number + 1,
            level: s.level + 1,
            minute: start.map(|t| (s.due_at - t).num_minutes()).unwrap_or_default(),
            due: show_time(&s.due_at),
            round_robin: s.round_robin,
            pages: (s.pages.iter())
                .map(|page| match (&page.target, &page.name) {
                    (EscalationTarget::User(_), Some(name)) => name.clone(),
                    (EscalationTarget::User(u), None) => names.user(u),
                    (EscalationTarget::Schedule(id), Some(name)) => {
                        format!("{name} (on call on {})", names.schedule(id))
                    }
                    (EscalationTarget::Schedule(id), None) => {
                        format!("nobody: no one is on call on {} then", names.schedule(id))
                    }
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------- list

/// One policy as the list shows it.
pub struct PolicyRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub levels: usize,
    pub repeat: u32,
    pub services: Vec<String>,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    chrome: Chrome,
    policies: Vec<PolicyRow>,
}

/// The services that page through each policy, by name.
async fn services_by_policy(state: &AppState) -> WebResult<HashMap<String, Vec<(String, String)>>> {
    let mut by_policy: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for s in super::catalog::services_by_name(state).await? {
        if let Some(policy) = s.escalation_policy_id {
            by_policy.entry(policy.to_string()).or_default().push((s.id.to_string(), s.name));
        }
    }
    Ok(by_policy)
}

async fn list_policies(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    let mut policies = escalation::list_policies(&state).await?;
    policies.sort_by_key(|p| p.name.to_lowercase());
    let mut services = services_by_policy(&state).await?;
    let policies = policies
        .into_iter()
        .map(|policy| {
            let id = policy.id.to_string();
            PolicyRow {
                services: services.remove(&id).unwrap_or_default().into_iter().map(|(_, name)| name).collect(),
                id,
                name: policy.name,
                description: super::catalog::clip(&policy.description, 160),
                levels: policy.definition.levels.len(),
                repeat: policy.definition.repeat,
            }
        })
        .collect();
    Ok(render(&PoliciesPage { chrome: Chrome::for_user(&p, "schedules"), policies }))
}

// ---------------------------------------------------------------- one policy

/// One level as the policy page shows it.
pub struct LevelRow {
    pub number: usize,
    pub targets: Vec<String>,
    pub round_robin: bool,
    pub wait: String,
    pub last: bool,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    levels: Vec<LevelRow>,
    repeat: u32,
    /// (id, name) of each service that pages through it.
    services: Vec<(String, String)>,
    updated: String,
    plan: Vec<PlanRow>,
    /// Why there is no plan (a stored policy that no longer works), if there is none.
    plan_error: String,
}

async fn show_policy(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let policy = unless_missing(escalation::get_policy(&state, id.clone()).await, NO_SUCH_POLICY)??;
    let names = Names::load(&state).await?;
    let (plan, plan_error) = match escalation::plan_policy(&state, id, PlanQuery { start: None }).await {
        Ok(steps) => (plan_rows(steps, &names), String::new()),
        Err(e) if e.status.is_client_error() => (Vec::new(), e.message),
        Err(e) => return Err(e.into()),
    };
    let count = policy.definition.levels.len();
    let levels = (policy.definition.levels.iter().enumerate())
        .map(|(i, l)| LevelRow {
            number: i + 1,
            targets: l.targets.iter().map(|t| names.target(t)).collect(),
            round_robin: l.round_robin,
            wait: minutes(l.delay_minutes),
            last: i + 1 == count,
        })
        .collect();
    let services = services_by_policy(&state).await?.remove(&policy.id.to_string()).unwrap_or_default();
    let page = PolicyPage {
        chrome: Chrome::for_user(&p, "schedules"),
        id: policy.id.to_string(),
        name: policy.name,
        description: policy.description,
        levels,
        repeat: policy.definition.repeat,
        services,
        updated: show_time(&policy.updated_at),
        plan,
        plan_error,
    };
    Ok(render(&page))
}

// ---------------------------------------------------------------- the form

/// What the form shows in its fields: blank, a policy's, or what was posted.
#[derive(Clone)]
pub struct PolicyFields {
    pub name: String,
    pub description: String,
    pub repeat: String,
    pub levels: Vec<LevelFields>,
}

/// One level's fields.
#[derive(Clone)]
pub struct LevelFields {
    /// Minutes to wait before the next level.
    pub delay: String,
    pub round_robin: bool,
    /// Targets as `user:ID` or `schedule:ID`, in order (blank rows left out).
    pub targets: Vec<String>,
    pub blank_targets: usize,
}

fn target_value(t: &EscalationTarget) -> String {
    match t {
        EscalationTarget::User(u) => format!("user:{u}"),
        EscalationTarget::Schedule(s) => format!("schedule:{s}"),
    }
}

impl LevelFields {
    fn blank() -> Self {
        LevelFields { delay: "5".into(), round_robin: false, targets: Vec::new(), blank_targets: 2 }
    }

    fn of(level: &EscalationLevel) -> Self {
        LevelFields {
            delay: level.delay_minutes.to_string(),
            round_robin: level.round_robin,
            targets: level.targets.iter().map(target_value).collect(),
            blank_targets: 1,
        }
    }

    /// The level's definition; `i` is its index (for where an error is).
    fn definition(&self, i: usize) -> Result<EscalationLevel, ApiError> {
        let at = |part: &str| format!("levels[{i}].{part}");
        let target = |raw: &String| {
            let parsed = match raw.trim().split_once(':') {
                Some(("user", id)) => id.parse().map(EscalationTarget::User).ok(),
                Some(("schedule", id)) => id.parse().map(EscalationTarget::Schedule).ok(),
                _ => None,
            };
            parsed.ok_or_else(|| ApiError::invalid_at(at("targets"), "choose people and schedules from the list"))
        };
        let targets = self.targets.iter().map(target).collect::<Result<_, _>>()?;
        let delay_minutes = self.delay.trim().parse().map_err(|_| {
            ApiError::invalid_at(at("delay_minutes"), "the wait must be a whole number of minutes such as 5")
        })?;
        Ok(EscalationLevel { targets, round_robin: self.round_robin, delay_minutes })
    }
}

impl PolicyFields {
    fn blank() -> Self {
        PolicyFields {
            name: String::new(),
            description: String::new(),
            repeat: "0".into(),
            levels: vec![LevelFields::blank()],
        }
    }

    fn of(p: &PolicyView) -> Self {
        PolicyFields {
            name: p.name.clone(),
            description: p.description.clone(),
            repeat: p.definition.repeat.to_string(),
            levels: p.definition.levels.iter().map(LevelFields::of).collect(),
        }
    }

    /// The fields as posted (`level1.delay`, `level1.round_robin`, `level1.target`, …).
    fn read(f: &Fields) -> Self {
        let levels = (f.groups("level", MAX_LEVELS + 1).into_iter())
            .map(|n| {
                let key = |k: &str| format!("level{n}.{k}");
                let posted = f.all(&key("target"));
                let blank_targets = posted.iter().filter(|t| t.trim().is_empty()).count();
                let mut targets: Vec<String> = posted.into_iter().filter(|t| !t.trim().is_empty()).collect();
                targets.truncate(MAX_TARGETS + 1);
                LevelFields {
                    delay: f.one(&key("delay")),
                    round_robin: f.has(&key("round_robin")),
                    targets,
                    blank_targets: blank_rows(blank_targets, 0),
                }
            })
            .collect();
        PolicyFields { name: f.one("name"), description: f.one("description"), repeat: f.one("repeat"), levels }
    }

    fn body(&self) -> Result<PolicyBody, ApiError> {
        let levels = (self.levels.iter().enumerate()).map(|(i, l)| l.definition(i)).collect::<Result<_, _>>()?;
        let repeat = self.repeat.trim().parse().map_err(|_| {
            ApiError::invalid_at("repeat", format!("the repeats must be a whole number from 0 to {MAX_REPEAT}"))
        })?;
        Ok(PolicyBody { name: self.name.clone(), description: self.description.clone(), levels, repeat })
    }

    /// Applies one of the form's list buttons; says what changed and where focus goes.
    fn change(&mut self, verb: &str, at: &[usize]) -> (String, String) {
        let level = |n: usize| n.checked_sub(1).filter(|i| *i < self.levels.len());
        match (verb, at) {
            ("add-level", _) if self.levels.len() >= MAX_LEVELS => {
                (format!("A policy has at most {MAX_LEVELS} levels."), String::new())
            }
            ("add-level", _) => {
                self.levels.push(LevelFields::blank());
                let n = self.levels.len();
                (format!("Level {n} added."), format!("pf-level-{n}-targets-1"))
            }
            ("remove-level", [n]) if level(*n).is_some() => {
                self.levels.remove(n - 1);
                (format!("Level {n} removed; the levels after it moved up one."), "pf-levels".into())
            }
            ("more-targets", [n]) if level(*n).is_some() => {
                let l = &mut self.levels[n - 1];
                l.blank_targets = blank_rows(l.blank_targets, 1);
                let row = l.targets.len() + l.blank_targets;
                (format!("Target row added to level {n}."), format!("pf-level-{n}-targets-{row}"))
            }
            ("target-up", [n, m]) if level(*n).is_some() => {
                move_up(&mut self.levels[n - 1].targets, *m);
                let to = m.saturating_sub(1).max(1);
                (format!("Target {m} of level {n} moved up."), format!("pf-level-{n}-targets-{to}"))
            }
            _ => (String::new(), String::new()),
        }
    }
}

/// Where an error of the application layer (its `field`) is on this form: the element's id
/// and what the summary calls it.
fn place(path: &str) -> Option<(String, String)> {
    let field = |id: &str, label: &str| Some((id.to_owned(), label.to_owned()));
    match path {
        "name" => field("pf-name", "Name"),
        "description" => field("pf-description", "Description"),
        "repeat" => field("pf-repeat", "Repeats"),
        "levels" => field("pf-levels", "Levels"),
        _ => {
            let (index, part) = path.strip_prefix("levels[")?.split_once("].")?;
            let n = index.parse::<usize>().ok()? + 1;
            let (id, label) = match part {
                "targets" => ("targets", "targets"),
                "delay_minutes" => ("delay", "wait"),
                _ => return None,
            };
            Some((format!("pf-level-{n}-{id}"), format!("Level {n} {label}")))
        }
    }
}

/// One level as the form shows it.
pub struct LevelView {
    pub number: usize,
    pub fields: LevelFields,
    pub targets: Vec<PickRow>,
}

#[derive(Template)]
#[template(path = "policy_form.html")]
struct PolicyFormPage {
    chrome: Chrome,
    head: FormHead,
    form: PolicyFields,
    levels: Vec<LevelView>,
    targets: Vec<ChoiceGroup>,
    max_levels: usize,
    max_repeat: u32,
    problem: Problem,
    /// What the last button did, in words.
    status: String,
    /// The id of the element to focus when the page loads, if any.
    focus: String,
    /// The plan of a preview.
    plan: Vec<PlanRow>,
    previewed: bool,
}

/// New or edit: what the form is about.
enum Target {
    New,
    Edit(PolicyView),
}

/// The form page with `form` in it.
async fn page(state: &AppState, p: &Principal, target: &Target, mut form: PolicyFields) -> WebResult<PolicyFormPage> {
    let mut schedules = state.store.list_schedules().await?;
    schedules.sort_by_key(|s| s.name.to_lowercase());
    let people = state.store.list_users().await?;
    let chosen = |v: &str| form.levels.iter().any(|l| l.targets.iter().any(|t| t == v));
    let schedules = (schedules.iter())
        .map(|s| SelectOption { value: format!("schedule:{}", s.id), label: s.name.clone(), selected: false })
        .collect();
    let targets = [
        ChoiceGroup { label: "Schedules: whoever is on call".into(), options: schedules },
        ChoiceGroup { label: "People".into(), options: people_choices(&people, |u| format!("user:{u}"), chosen) },
    ];
    let targets: Vec<ChoiceGroup> = targets.into_iter().filter(|g| !g.options.is_empty()).collect();
    let levels = (std::mem::take(&mut form.levels).into_iter().enumerate())
        .map(|(i, l)| LevelView { number: i + 1, targets: pick_rows(&l.targets, &targets, l.blank_targets), fields: l })
        .collect();
    let head = match target {
        Target::New => FormHead::new("New escalation policy", "/policies/new", "Save policy"),
        Target::Edit(policy) => {
            FormHead::edit(&policy.name, policy.id.to_string(), format!("/policies/{}/edit", policy.id))
        }
    };
    Ok(PolicyFormPage {
        chrome: Chrome::for_user(p, "schedules"),
        head,
        form,
        levels,
        targets,
        max_levels: MAX_LEVELS,
        max_repeat: MAX_REPEAT,
        problem: Problem::default(),
        status: String::new(),
        focus: String::new(),
        plan: Vec::new(),
        previewed: false,
    })
}

async fn new_policy(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    escalation::may_edit_policies(&p)?;
    Ok(render(&page(&state, &p, &Target::New, PolicyFields::blank()).await?))
}

async fn create_policy(State(state): State<AppState>, Submitted(p, fields): Submitted<Fields>) -> WebResult<Response> {
    escalation::may_edit_policies(&p)?;
    answer_form(&state, &p, Target::New, &fields).await
}

/// The policy `id` for its edit pages; a 404 page when there is none.
async fn policy_to_edit(state: &AppState, p: &Principal, id: &str) -> WebResult<PolicyView> {
    escalation::may_edit_policies(p)?;
    unless_missing(escalation::get_policy(state, id.to_owned()).await, NO_SUCH_POLICY)?.map_err(Into::into)
}

async fn edit_policy(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let policy = policy_to_edit(&state, &p, &id).await?;
    let form = PolicyFields::of(&policy);
    Ok(render(&page(&state, &p, &Target::Edit(policy), form).await?))
}

async fn update_policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, fields): Submitted<Fields>,
) -> WebResult<Response> {
    let policy = policy_to_edit(&state, &p, &id).await?;
    answer_form(&state, &p, Target::Edit(policy), &fields).await
}

/// Answers a post of the form: save it, preview its plan, or apply one of its list buttons.
async fn answer_form(state: &AppState, p: &Principal, target: Target, fields: &Fields) -> WebResult<Response> {
    let mut form = PolicyFields::read(fields);
    let (verb, at) = fields.action();
    let again = async |form: PolicyFields, e: ApiError| {
        let page = page(state, p, &target, form).await?;
        Ok(render(&PolicyFormPage { problem: Problem::of(&e, place), focus: "problem".into(), ..page }))
    };
    match verb.as_str() {
        "save" => {
            let outcome = async {
                let body = form.body()?;
                match &target {
                    Target::New => escalation::create_policy(state, p, body).await,
                    Target::Edit(policy) => escalation::update_policy(state, p, policy.id.to_string(), body).await,
                }
            }
            .await;
            let outcome = unless_missing(outcome, NO_SUCH_POLICY)?;
            answer_at(
                outcome,
                async |policy| Ok(see(&format!("/policies/{}", policy.id))),
                async |e| again(form, e).await,
            )
            .await
        }
        "preview" => {
            let retyped = form.clone();
            let outcome = async { escalation::preview_policy(state, p, form.body()?).await }.await;
            let done = async |steps: Vec<PlannedStep>| {
                let plan = plan_rows(steps, &Names::load(state).await?);
                let page = page(state, p, &target, form).await?;
                let status = "Preview only: nothing is saved yet.".into();
                Ok(render(&PolicyFormPage { plan, previewed: true, status, focus: "preview".into(), ..page }))
            };
            answer_at(outcome, done, async |e| again(retyped, e).await).await
        }
        _ => {
            let (status, focus) = form.change(&verb, &at);
            let page = page(state, p, &target, form).await?;
            Ok(render(&PolicyFormPage { status, focus, ..page }))
        }
    }
}
