//! Triage settings pages: classification rules (ordered list with their conditions and
//! actions, create, delete) and maintenance windows (list with whether each is active and
//! which alerts it kept suppressed, create, delete).
//!
//! The forms call the API handlers with the signed-in user, so the UI and the API cannot
//! disagree about what is valid; the form only turns rows of fields into conditions.

use super::catalog::{SelectOption, clip, or_missing, service_options, services_by_name, split_list};
use super::{Chrome, CsrfOnly, Submitted, WebError, WebPrincipal, WebResult, answer, render, see, show_time};
use crate::AppState;
use crate::app::triage::{NewRule, NewWindow};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_domain::alert::AlertStatus;
use firebreak_domain::incident::{IncidentType, Severity};
use firebreak_domain::rules::{Condition, MatchOp, Recurrence, RuleActions};
use firebreak_domain::{DomainError, ServiceId, Timestamp};
use firebreak_store::{AlertFilter, Service};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list_rules).post(create_rule))
        .route("/rules/{id}/delete", post(delete_rule))
        .route("/maintenance-windows", get(list_windows).post(create_window))
        .route("/maintenance-windows/{id}/delete", post(delete_window))
}

/// How many condition rows the create forms offer; blank rows are ignored.
pub const CONDITION_ROWS: usize = 3;

/// How many suppressed alerts the windows page looks through (the newest) for links; the
/// counts come from the store and are exact.
const SUPPRESSED_SCAN: u32 = 200;

/// How many links to suppressed alerts each window shows.
const SUPPRESSED_LINKS: usize = 20;

/// The operators a condition row offers: (form value, label).
pub const OPERATORS: &[(&str, &str)] =
    &[("equals", "equals"), ("regex", "matches regex"), ("exists", "exists"), ("one_of", "is one of")];

/// A condition as pages say it: `labels.env is one of prod, dr`.
fn describe_condition(c: &Condition) -> String {
    match &c.op {
        MatchOp::Equals(v) => format!("{} equals “{v}”", c.field),
        MatchOp::Regex(p) => format!("{} matches regex {p}", c.field),
        MatchOp::Exists => format!("{} exists", c.field),
        MatchOp::OneOf(vs) => format!("{} is one of {}", c.field, vs.join(", ")),
    }
}

/// One row of condition fields, as posted or shown again.
#[derive(Default, Clone)]
pub struct ConditionRow {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// The condition rows of a create form (`field1`, `op1`, `value1`, …).
#[derive(Deserialize, Default)]
struct ConditionFields {
    #[serde(default)]
    field1: String,
    #[serde(default)]
    op1: String,
    #[serde(default)]
    value1: String,
    #[serde(default)]
    field2: String,
    #[serde(default)]
    op2: String,
    #[serde(default)]
    value2: String,
    #[serde(default)]
    field3: String,
    #[serde(default)]
    op3: String,
    #[serde(default)]
    value3: String,
}

impl ConditionFields {
    fn rows(&self) -> Vec<ConditionRow> {
        let row = |f: &str, o: &str, v: &str| ConditionRow { field: f.into(), op: o.into(), value: v.into() };
        vec![
            row(&self.field1, &self.op1, &self.value1),
            row(&self.field2, &self.op2, &self.value2),
            row(&self.field3, &self.op3, &self.value3),
        ]
    }
}

fn blank_rows() -> Vec<ConditionRow> {
    vec![ConditionRow { op: "equals".into(), ..Default::default() }; CONDITION_ROWS]
}

/// The conditions of the filled-in rows; a row with no field and no value is skipped.
fn parse_conditions(rows: &[ConditionRow]) -> Result<Vec<Condition>, DomainError> {
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (field, value) = (row.field.trim(), row.value.trim());
        let n = i + 1;
        if field.is_empty() {
            if value.is_empty() {
                continue;
            }
            return Err(DomainError::invalid("conditions", format!("row {n}: choose the field to match")));
        }
        let op = match row.op.as_str() {
            "equals" => MatchOp::Equals(value.to_owned()),
            "regex" if value.is_empty() => {
                return Err(DomainError::invalid("conditions", format!("row {n}: enter a regular expression")));
            }
            "regex" => MatchOp::Regex(value.to_owned()),
            "exists" => MatchOp::Exists,
            "one_of" => {
                let values = split_list(value);
                if values.is_empty() {
                    return Err(DomainError::invalid(
                        "conditions",
                        format!("row {n}: enter the values, comma-separated"),
                    ));
                }
                MatchOp::OneOf(values)
            }
            _ => return Err(DomainError::invalid("conditions", format!("row {n}: choose an operator"))),
        };
        out.push(Condition { field: field.to_owned(), op });
    }
    Ok(out)
}

/// `""` for every service, or a service id; anything else names no service.
fn parse_service(raw: &str) -> Result<Option<ServiceId>, DomainError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| DomainError::invalid("service", "no such service"))
}

/// The name of a service for a rule or window: `None` → every service.
fn scope_of(services: &[Service], id: Option<ServiceId>) -> (String, String) {
    match id {
        None => (String::new(), String::new()),
        Some(id) => (
            id.to_string(),
            services.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| id.to_string()),
        ),
    }
}

// ---------------------------------------------------------------- rules

/// One rule as the list shows it.
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub service_id: String,
    pub service: String,
    pub position: i64,
    pub conditions: Vec<String>,
    pub actions: Vec<String>,
    pub drops: bool,
}

/// What the create-rule form shows in its fields.
pub struct RuleFormValues {
    pub name: String,
    pub position: String,
    pub rows: Vec<ConditionRow>,
    pub severity: String,
    pub kind: String,
    pub tags: String,
    pub drop: bool,
}

impl Default for RuleFormValues {
    fn default() -> Self {
        RuleFormValues {
            name: String::new(),
            position: "100".into(),
            rows: blank_rows(),
            severity: String::new(),
            kind: String::new(),
            tags: String::new(),
            drop: false,
        }
    }
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    chrome: Chrome,
    rules: Vec<RuleRow>,
    services: Vec<SelectOption>,
    operators: &'static [(&'static str, &'static str)],
    severities: Vec<&'static str>,
    kinds: Vec<&'static str>,
    form: RuleFormValues,
    error: String,
}

/// The rules page; `service` is the service the form has chosen.
async fn rules_view(state: &AppState, p: &Principal, service: &str) -> WebResult<RulesPage> {
    let services = services_by_name(state).await?;
    let mut rules = state.store.list_rules().await?;
    // Service rules run before global ones for that service; list them that way round.
    rules.sort_by_key(|r| (r.service_id.is_none(), scope_of(&services, r.service_id).1.to_lowercase(), r.position));
    let rules = rules
        .into_iter()
        .map(|r| {
            let (service_id, service) = scope_of(&services, r.service_id);
            let mut actions = Vec::new();
            if r.actions.drop {
                actions.push("drop the alert".to_owned());
            }
            if let Some(s) = r.actions.severity {
                actions.push(format!("set severity {s}"));
            }
            if let Some(k) = r.actions.kind {
                actions.push(format!("set type {k}"));
            }
            if !r.actions.tags.is_empty() {
                actions.push(format!("add tags {}", r.actions.tags.join(", ")));
            }
            RuleRow {
                id: r.id.to_string(),
                name: r.name,
                service_id,
                service,
                position: r.position,
                conditions: r.conditions.iter().map(describe_condition).collect(),
                actions,
                drops: r.actions.drop,
            }
        })
        .collect();
    Ok(RulesPage {
        chrome: Chrome::for_user(p, "rules"),
        rules,
        services: service_options(&services, service),
        operators: OPERATORS,
        severities: Severity::ALL.iter().map(|s| s.as_str()).collect(),
        kinds: IncidentType::ALL.iter().map(|k| k.as_str()).collect(),
        form: RuleFormValues::default(),
        error: String::new(),
    })
}

async fn list_rules(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    Ok(render(&rules_view(&state, &p, "").await?))
}

#[derive(Deserialize)]
struct RuleForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    position: String,
    #[serde(flatten)]
    conditions: ConditionFields,
    #[serde(default)]
    severity: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    tags: String,
    /// A checkbox: present when ticked.
    drop: Option<String>,
}

impl RuleForm {
    fn rule(&self) -> Result<NewRule, DomainError> {
        let position = match self.position.trim() {
            "" => None,
            p => Some(p.parse().map_err(|_| DomainError::invalid("position", "must be a whole number"))?),
        };
        let conditions = parse_conditions(&self.conditions.rows())?;
        if conditions.is_empty() {
            return Err(DomainError::invalid(
                "conditions",
                "fill in at least one condition: a rule without one would match every alert",
            ));
        }
        let pick = |s: &str| if s.is_empty() { None } else { Some(s.to_owned()) };
        Ok(NewRule {
            name: self.name.clone(),
            service_id: parse_service(&self.service)?,
            position,
            conditions,
            actions: RuleActions {
                severity: pick(&self.severity).map(|s| s.parse()).transpose()?,
                kind: pick(&self.kind).map(|k| k.parse()).transpose()?,
                tags: split_list(&self.tags),
                drop: self.drop.is_some(),
            },
        })
    }

    fn values(&self) -> RuleFormValues {
        RuleFormValues {
            name: self.name.clone(),
            position: self.position.clone(),
            rows: self.conditions.rows(),
            severity: self.severity.clone(),
            kind: self.kind.clone(),
            tags: self.tags.clone(),
            drop: self.drop.is_some(),
        }
    }
}

async fn create_rule(State(state): State<AppState>, Submitted(p, form): Submitted<RuleForm>) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async { crate::app::triage::create_rule(&state, &p, form.rule()?).await }.await;
    answer(
        outcome,
        async |_| Ok(see("/rules")),
        async |error| {
            let page = rules_view(&state, &p, form.service.trim()).await?;
            Ok(render(&RulesPage { error, form: form.values(), ..page }))
        },
    )
    .await
}

async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    p.require_responder()?;
    crate::app::triage::delete_rule(&state, &p, id)
        .await
        .map_err(|e| or_missing(e, || WebError::new(StatusCode::NOT_FOUND, "There is no such rule.")))?;
    Ok(see("/rules"))
}

// ---------------------------------------------------------------- maintenance windows

/// A suppressed alert, linked from the window that suppressed it.
pub struct SuppressedAlert {
    pub id: String,
    pub summary: String,
    pub last_seen: String,
}

/// One window as the list shows it.
pub struct WindowRow {
    pub id: String,
    pub name: String,
    pub service_id: String,
    pub service: String,
    pub conditions: Vec<String>,
    pub starts: String,
    pub ends: String,
    pub recurrence: &'static str,
    pub active: bool,
    /// How many of the scanned suppressed alerts it holds.
    pub suppressed_count: usize,
    /// The newest of them.
    pub suppressed: Vec<SuppressedAlert>,
}

/// What the create-window form shows in its fields.
pub struct WindowFormValues {
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub recurrence: String,
    pub rows: Vec<ConditionRow>,
}

#[derive(Template)]
#[template(path = "windows.html")]
struct WindowsPage {
    chrome: Chrome,
    windows: Vec<WindowRow>,
    services: Vec<SelectOption>,
    operators: &'static [(&'static str, &'static str)],
    recurrences: &'static [(&'static str, &'static str)],
    form: WindowFormValues,
    error: String,
}

const RECURRENCES: &[(&str, &str)] = &[("once", "one-off"), ("daily", "every day"), ("weekly", "every week")];

/// `2026-11-02T22:00` as a `datetime-local` field wants it.
fn field_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// A time typed in a form: `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD HH:MM[:SS]` in UTC, or
/// RFC 3339 with an offset.
fn parse_time(field: &'static str, raw: &str) -> Result<Timestamp, DomainError> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(raw, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| DomainError::invalid(field, "must be a date and time such as 2026-11-02T22:00 (UTC)"))
}

/// The windows page; `service` is the service the form has chosen.
async fn windows_view(state: &AppState, p: &Principal, service: &str) -> WebResult<WindowsPage> {
    let services = services_by_name(state).await?;
    let now = state.clock.now();
    let suppressed = state
        .store
        .list_alerts(&AlertFilter {
            statuses: vec![AlertStatus::Suppressed],
            limit: SUPPRESSED_SCAN,
            ..Default::default()
        })
        .await?;
    let counts: HashMap<String, usize> = state
        .store
        .count_suppressed_by_window()
        .await?
        .into_iter()
        .map(|(id, n)| (id.to_string(), usize::try_from(n).unwrap_or(0)))
        .collect();
    let mut by_window: HashMap<String, Vec<SuppressedAlert>> = HashMap::new();
    for a in suppressed.items {
        let Some(window) = a.details.get("suppressed_by").and_then(|s| s.get("id")).and_then(|i| i.as_str()) else {
            continue;
        };
        by_window.entry(window.to_owned()).or_default().push(SuppressedAlert {
            id: a.id.to_string(),
            summary: clip(&a.summary, 120),
            last_seen: show_time(&a.last_seen_at),
        });
    }
    let mut windows = state.store.list_windows().await?;
    windows.sort_by_key(|w| (!w.is_active(now), std::cmp::Reverse(w.starts_at)));
    let windows = windows
        .into_iter()
        .map(|w| {
            let (service_id, service) = scope_of(&services, w.service_id);
            let id = w.id.to_string();
            let mut alerts = by_window.remove(&id).unwrap_or_default();
            alerts.truncate(SUPPRESSED_LINKS);
            let suppressed_count = counts.get(&id).copied().unwrap_or(0).max(alerts.len());
            WindowRow {
                active: w.is_active(now),
                name: w.name,
                service_id,
                service,
                conditions: w.conditions.iter().map(describe_condition).collect(),
                starts: show_time(&w.starts_at),
                ends: show_time(&w.ends_at),
                recurrence: match w.recurrence {
                    Recurrence::Once => "one-off",
                    Recurrence::Daily => "every day",
                    Recurrence::Weekly => "every week",
                },
                suppressed_count,
                suppressed: alerts,
                id,
            }
        })
        .collect();
    let start = now + chrono::TimeDelta::hours(1);
    Ok(WindowsPage {
        chrome: Chrome::for_user(p, "windows"),
        windows,
        services: service_options(&services, service),
        operators: OPERATORS,
        recurrences: RECURRENCES,
        form: WindowFormValues {
            name: String::new(),
            starts_at: field_time(&start),
            ends_at: field_time(&(start + chrono::TimeDelta::hours(1))),
            recurrence: "once".into(),
            rows: blank_rows(),
        },
        error: String::new(),
    })
}

async fn list_windows(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    Ok(render(&windows_view(&state, &p, "").await?))
}

#[derive(Deserialize)]
struct WindowForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    recurrence: String,
    #[serde(flatten)]
    conditions: ConditionFields,
}

impl WindowForm {
    fn window(&self) -> Result<NewWindow, DomainError> {
        let recurrence = match self.recurrence.as_str() {
            "" | "once" => Recurrence::Once,
            "daily" => Recurrence::Daily,
            "weekly" => Recurrence::Weekly,
            _ => return Err(DomainError::invalid("recurrence", "must be one-off, every day or every week")),
        };
        Ok(NewWindow {
            name: self.name.clone(),
            service_id: parse_service(&self.service)?,
            conditions: parse_conditions(&self.conditions.rows())?,
            starts_at: parse_time("starts_at", &self.starts_at)?,
            ends_at: parse_time("ends_at", &self.ends_at)?,
            recurrence: Some(recurrence),
        })
    }

    fn values(&self) -> WindowFormValues {
        WindowFormValues {
            name: self.name.clone(),
            starts_at: self.starts_at.clone(),
            ends_at: self.ends_at.clone(),
            recurrence: self.recurrence.clone(),
            rows: self.conditions.rows(),
        }
    }
}

async fn create_window(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<WindowForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async { crate::app::triage::create_window(&state, &p, form.window()?).await }.await;
    answer(
        outcome,
        async |_| Ok(see("/maintenance-windows")),
        async |error| {
            let page = windows_view(&state, &p, form.service.trim()).await?;
            Ok(render(&WindowsPage { error, form: form.values(), ..page }))
        },
    )
    .await
}

async fn delete_window(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    p.require_responder()?;
    crate::app::triage::delete_window(&state, &p, id)
        .await
        .map_err(|e| or_missing(e, || WebError::new(StatusCode::NOT_FOUND, "There is no such maintenance window.")))?;
    Ok(see("/maintenance-windows"))
}
