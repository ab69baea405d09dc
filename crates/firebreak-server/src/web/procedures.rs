//! Procedures pages: triaging an incident with the decision tree in force, one question at a
//! time, and what is in force — the directory, its trees, playbooks, contact lists and
//! templates, what each severity and type means for the response, and the directory's current
//! problems.
//!
//! Triage works without JavaScript: every answer is a form carrying the answers so far (`path`,
//! indexes separated by commas) and the chosen one. The forms call the API's `triage`, so the
//! walk and the applied outcome are the API's; the incident changes only at the last answer.

use super::{Chrome, Submitted, WebError, WebPrincipal, WebResult, render, urlencode};
use crate::AppState;
use crate::app::procedures::playbooks::{TriageBody, triage, walk};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use firebreak_domain::procedures::directory::ResponseLevel;
use firebreak_domain::procedures::tree::{Step, Walk};
use firebreak_domain::{Incident, IncidentRef};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/procedures", get(show_procedures))
        .route("/incidents/{id}/triage", get(triage_page).post(answer_triage))
}

// ---------------------------------------------------------------- triage

fn no_such_incident() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "There is no such incident.")
}

async fn find_incident(state: &AppState, id: &str) -> WebResult<Incident> {
    let r: IncidentRef = id.parse().map_err(|_| no_such_incident())?;
    state.store.get_incident(r).await.map_err(|e| match e {
        firebreak_store::StoreError::NotFound(_) => no_such_incident(),
        other => other.into(),
    })
}

/// The answers so far from a `path` field: answer indexes from 0, separated by commas.
fn parse_path(raw: &str) -> WebResult<Vec<usize>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "The answers so far are not valid; start over."))
}

fn join_path(answers: &[usize]) -> String {
    answers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

fn as_json(answers: &[usize]) -> Vec<serde_json::Value> {
    answers.iter().map(|&i| serde_json::Value::from(i)).collect()
}

/// The incident as the triage page shows it.
struct IncidentSummary {
    label: String,
    title: String,
    severity: &'static str,
    kind: &'static str,
}

/// One question answered, with the path that asks it again.
struct AnsweredRow {
    question: String,
    answer: String,
    again: String,
}

struct AnswerButton {
    index: usize,
    text: String,
}

struct OutcomeRow {
    severity: &'static str,
    kind: &'static str,
    playbook: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "incident_triage.html")]
struct TriagePage {
    chrome: Chrome,
    inc: IncidentSummary,
    tree: String,
    steps: Vec<AnsweredRow>,
    question: String,
    help: String,
    answers: Vec<AnswerButton>,
    outcome: Option<OutcomeRow>,
    /// The answers so far, as the forms carry them.
    path: String,
    /// The path one answer back, when there is one.
    back: Option<String>,
    error: String,
}

/// The page for `answers` so far; walking never changes the incident.
fn triage_view(state: &AppState, p: &Principal, incident: &Incident, answers: &[usize]) -> WebResult<TriagePage> {
    let procedures = state.procedures.current();
    let tree = procedures.trees.get(&procedures.triage_tree).ok_or_else(|| {
        WebError::new(StatusCode::NOT_FOUND, format!("The triage tree {:?} is not in force.", procedures.triage_tree))
    })?;
    let rows = |path: Vec<Step>| {
        path.into_iter()
            .enumerate()
            .map(|(n, s)| AnsweredRow {
                question: s.question,
                answer: s.answer,
                again: answers.get(..n).map(join_path).unwrap_or_default(),
            })
            .collect()
    };
    let mut page = TriagePage {
        chrome: Chrome::for_user(p, "incidents"),
        inc: IncidentSummary {
            label: incident.label(),
            title: incident.title.clone(),
            severity: incident.severity.as_str(),
            kind: incident.kind.as_str(),
        },
        tree: tree.name.clone(),
        steps: Vec::new(),
        question: String::new(),
        help: String::new(),
        answers: Vec::new(),
        outcome: None,
        path: join_path(answers),
        back: answers.split_last().map(|(_, rest)| join_path(rest)),
        error: String::new(),
    };
    match walk(tree, &as_json(answers))? {
        Walk::Ask { path, question } => {
            page.steps = rows(path);
            page.question = question.text;
            page.help = question.help.unwrap_or_default();
            page.answers = question
                .answers
                .into_iter()
                .enumerate()
                .map(|(index, a)| AnswerButton { index, text: a.answer })
                .collect();
        }
        Walk::Done { path, outcome } => {
            page.steps = rows(path);
            page.outcome = Some(OutcomeRow {
                severity: outcome.severity.as_str(),
                kind: outcome.kind.as_str(),
                playbook: outcome.playbook.unwrap_or_default(),
                summary: outcome.summary.unwrap_or_default(),
            });
        }
    }
    Ok(page)
}

async fn triage_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> WebResult<Response> {
    let incident = find_incident(&state, &id).await?;
    let answers = parse_path(query.get("path").map(String::as_str).unwrap_or_default())?;
    Ok(render(&triage_view(&state, &p, &incident, &answers)?))
}

#[derive(Deserialize)]
struct AnswerForm {
    /// Missing is refused like a wrong one (403), not as an unreadable form.
    #[serde(default)]
    path: String,
    /// The answer chosen now (absent: apply the outcome `path` already reaches).
    #[serde(default)]
    choice: Option<String>,
}

async fn answer_triage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<AnswerForm>,
) -> WebResult<Response> {
    let incident = find_incident(&state, &id).await?;
    let mut answers = parse_path(&form.path)?;
    if let Some(choice) = form.choice.as_deref().filter(|c| !c.trim().is_empty()) {
        let choice = choice.trim().parse().map_err(|_| {
            WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "The chosen answer is not valid; start over.")
        })?;
        answers.push(choice);
    }
    let body = TriageBody { answers: as_json(&answers), ..TriageBody::default() };
    match triage(&state, &p, IncidentRef::Id(incident.id), body).await {
        Ok(view) if view.state == "done" => {
            Ok(Redirect::to(&format!("/incidents/{}", incident.label())).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!(
            "/incidents/{}/triage?path={}",
            incident.label(),
            urlencode(&join_path(&answers))
        ))
        .into_response()),
        // Refused at the last answer: the same question again, saying why.
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status == StatusCode::CONFLICT => {
            let asked = answers.split_last().map(|(_, rest)| rest).unwrap_or_default();
            let mut page = triage_view(&state, &p, &incident, asked)?;
            page.error = e.message;
            Ok((e.status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- what is in force

struct TreeRow {
    name: String,
    description: String,
    questions: usize,
    outcomes: usize,
    triage: bool,
}

struct PlaybookRow {
    name: String,
    title: String,
    steps: usize,
    version: String,
}

struct ContactListRow {
    name: String,
    description: String,
    members: usize,
}

/// What a severity or type means for the response, as the table shows it.
struct LevelRow {
    name: &'static str,
    description: String,
    acknowledge: String,
    contain: String,
    update: String,
    escalation_policy: String,
    stakeholders: String,
    restricted: bool,
}

#[derive(Template)]
#[template(path = "procedures.html")]
struct ProceduresPage {
    chrome: Chrome,
    dir: String,
    triage_tree: String,
    problems: Vec<String>,
    trees: Vec<TreeRow>,
    playbooks: Vec<PlaybookRow>,
    contact_lists: Vec<ContactListRow>,
    templates: Vec<String>,
    severities: Vec<LevelRow>,
    types: Vec<LevelRow>,
}

/// `90` → `1 h 30 min`; none → `—`.
fn minutes(m: Option<u32>) -> String {
    match m {
        None => "—".into(),
        Some(m) if m >= 60 && m % 60 == 0 => format!("{} h", m / 60),
        Some(m) if m >= 60 => format!("{} h {} min", m / 60, m % 60),
        Some(m) => format!("{m} min"),
    }
}

fn level_row(name: &'static str, level: &ResponseLevel) -> LevelRow {
    LevelRow {
        name,
        description: level.description.clone(),
        acknowledge: minutes(level.acknowledge_within_minutes),
        contain: minutes(level.contain_within_minutes),
        update: minutes(level.update_every_minutes),
        escalation_policy: level.escalation_policy.clone().unwrap_or_default(),
        stakeholders: level.stakeholder_groups.join(", "),
        restricted: level.restricted,
    }
}

async fn show_procedures(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    let current = state.procedures.current();
    let page = ProceduresPage {
        chrome: Chrome::for_user(&p, "procedures"),
        dir: state.procedures.dir().map(|d| d.display().to_string()).unwrap_or_default(),
        triage_tree: current.triage_tree.clone(),
        problems: state.procedures.problems().iter().map(ToString::to_string).collect(),
        trees: current
            .trees
            .values()
            .map(|t| TreeRow {
                name: t.name.clone(),
                description: t.description.clone(),
                questions: t.questions.len(),
                outcomes: t.outcomes.len(),
                triage: t.name == current.triage_tree,
            })
            .collect(),
        playbooks: current
            .playbooks
            .iter()
            .map(|b| PlaybookRow {
                name: b.name.clone(),
                title: b.title.clone(),
                steps: b.steps.len(),
                version: b.content_hash.chars().take(12).collect(),
            })
            .collect(),
        contact_lists: current
            .contact_lists
            .values()
            .map(|l| ContactListRow {
                name: l.name.clone(),
                description: l.description.clone(),
                members: l.members.len(),
            })
            .collect(),
        templates: current.templates.keys().cloned().collect(),
        severities: current.severities.iter().map(|(s, l)| level_row(s.as_str(), l)).collect(),
        types: current.types.iter().map(|(t, l)| level_row(t.as_str(), l)).collect(),
    };
    Ok(render(&page))
}
