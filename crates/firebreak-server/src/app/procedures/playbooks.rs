//! Procedures through the API: what is in force (and any problems in the directory), the
//! decision trees, and triaging an incident by walking its tree.

use crate::AppState;
use crate::app::incidents::{IncidentView, incident_ref, view};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::procedures::tree::{DecisionTree, Outcome, Question, Step, Walk};
use firebreak_domain::{DomainError, IncidentChange, IncidentRef, Triage};
use firebreak_store::{AttachedPlaybook, ChecklistEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An incident's playbook and checklist (`playbook` is absent until one is attached).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistView {
    pub playbook: Option<AttachedPlaybook>,
    pub items: Vec<ChecklistEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    /// The playbook's name (see `GET /api/v1/procedures`).
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// `done`, `skipped` or `open`.
    pub state: String,
}

/// Attaches the playbook an incident should run: the one `named`, or else the most specific
/// that fits it. Nothing happens when it already runs one or none fits.
pub async fn attach_matching(
    state: &AppState,
    incident: &firebreak_domain::Incident,
    named: Option<&str>,
    actor: &firebreak_domain::Actor,
) -> ApiResult<Option<String>> {
    if state.store.incident_checklist(incident.id).await?.is_some() {
        return Ok(None);
    }
    let procedures = state.procedures.current();
    let playbook = match named {
        Some(name) => procedures.playbooks.iter().find(|p| p.name == name),
        None => firebreak_domain::procedures::playbook::best_match(
            &procedures.playbooks,
            incident.kind,
            incident.severity,
            &incident.services,
            &incident.tags,
        ),
    };
    let Some(playbook) = playbook else { return Ok(None) };
    match state.store.attach_playbook(incident.id, playbook, actor).await {
        Ok(_) => Ok(Some(playbook.name.clone())),
        // Someone attached one meanwhile.
        Err(firebreak_store::StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookSummary {
    pub name: String,
    pub title: String,
    pub steps: usize,
    /// The content hash incidents record as the version they ran.
    pub version: String,
}

/// The procedures in force and the directory's current problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProceduresView {
    /// The directory read (absent: built-in procedures only).
    pub dir: Option<String>,
    pub triage_tree: String,
    pub trees: Vec<String>,
    pub playbooks: Vec<PlaybookSummary>,
    pub contact_lists: Vec<String>,
    pub templates: Vec<String>,
    /// Response roles people can hold (built-in and the team's own): name → what it does.
    pub roles: std::collections::BTreeMap<String, String>,
    /// `file:line: message` for each problem; while there are any, the last good procedures
    /// stay in force.
    pub problems: Vec<String>,
}

/// Answers so far: each the text of an answer, or its index (from 0).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<serde_json::Value>,
    /// Another tree than the configured triage tree.
    #[serde(default)]
    pub tree: Option<String>,
}

/// Where a triage stands: the next question, or the outcome applied to the incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriageView {
    /// `ask` or `done`.
    pub state: &'static str,
    pub tree: String,
    /// Questions answered so far.
    pub path: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The incident after the outcome was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentView>,
    /// The playbook attached as a result (the outcome's, or the best match), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playbook: Option<String>,
}

/// Follows `answers` (all texts or all indexes) through `tree`.
pub fn walk(tree: &DecisionTree, answers: &[serde_json::Value]) -> Result<Walk, DomainError> {
    if answers.len() > 100 {
        return Err(DomainError::invalid("answers", "at most 100 answers"));
    }
    if answers.iter().all(|a| a.is_u64()) {
        let indexes: Vec<usize> = answers.iter().filter_map(|a| a.as_u64()).map(|i| i as usize).collect();
        return tree.walk(&indexes);
    }
    if answers.iter().all(|a| a.is_string()) {
        let texts: Vec<String> = answers.iter().filter_map(|a| a.as_str()).map(str::to_owned).collect();
        return tree.walk_by_text(&texts);
    }
    Err(DomainError::invalid("answers", "give every answer as its text, or every answer as its index from 0"))
}

/// The decision tree `name` in force, or the configured triage tree (none such: not found).
pub fn tree_for(state: &AppState, name: Option<&str>) -> ApiResult<DecisionTree> {
    let p = state.procedures.current();
    let name = name.unwrap_or(&p.triage_tree);
    p.trees.get(name).cloned().ok_or_else(|| ApiError::not_found("decision tree"))
}

/// Walks the tree for an incident; on an outcome, applies it (severity, type, the timeline
/// entry with every question and answer) as `p`.
pub async fn triage(
    state: &AppState,
    p: &crate::auth::Principal,
    incident: IncidentRef,
    body: TriageBody,
) -> ApiResult<TriageView> {
    let current = state.store.get_incident(incident).await?;
    let tree = tree_for(state, body.tree.as_deref())?;
    match walk(&tree, &body.answers)? {
        Walk::Ask { path, question } => Ok(TriageView {
            state: "ask",
            tree: tree.name,
            path,
            question: Some(question),
            outcome: None,
            incident: None,
            playbook: None,
        }),
        Walk::Done { path, outcome } => {
            p.require_responder()?;
            let change = IncidentChange::Triage(Triage {
                tree: tree.name.clone(),
                steps: path.clone(),
                outcome: outcome.id.clone(),
                severity: outcome.severity,
                kind: outcome.kind,
                playbook: outcome.playbook.clone(),
            });
            let updated = state.store.change_incident(IncidentRef::Id(current.id), change, &p.actor()).await?;
            let playbook = attach_matching(state, &updated, outcome.playbook.as_deref(), &p.actor()).await?;
            let incident = view(state, updated).await?;
            Ok(TriageView {
                state: "done",
                tree: tree.name,
                path,
                question: None,
                outcome: Some(outcome),
                incident: Some(incident),
                playbook,
            })
        }
    }
}

/// A person confirms an action step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// Must be `true`: an action runs only when a person confirms it.
    pub confirm: bool,
}

/// How an action went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionResult {
    pub item: ChecklistEntry,
    /// The HTTP status, when the target answered.
    pub status: Option<u16>,
    pub succeeded: bool,
    /// The start of the answer's body (or why there was none).
    pub response: String,
}

/// The first 2,000 characters of a response body, one line breaks kept, control characters
/// replaced.
pub fn excerpt(body: &str) -> String {
    body.chars().take(2000).map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect()
}

/// Replaces `${secret:NAME}` references with their values; names a missing one.
pub fn fill_secrets(
    text: &str,
    secrets: &std::collections::BTreeMap<String, crate::notify::config::Secret>,
) -> Result<String, String> {
    let mut out = text.to_owned();
    for name in firebreak_domain::procedures::playbook::secret_references(text) {
        let value = secrets.get(&name).ok_or_else(|| name.clone())?;
        out = out.replace(&format!("${{secret:{name}}}"), value.expose());
    }
    Ok(out)
}

/// The playbook attached to incident `id` and its checklist.
pub async fn get_checklist(state: &AppState, id: String) -> ApiResult<ChecklistView> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let (playbook, items) = match state.store.incident_checklist(incident.id).await? {
        Some((p, items)) => (Some(p), items),
        None => (None, Vec::new()),
    };
    Ok(ChecklistView { playbook, items })
}

/// Marks a checklist step of incident `id` done, skipped or open; responders only.
pub async fn set_checklist_item(
    state: &AppState,
    p: &Principal,
    id: String,
    position: String,
    body: ItemBody,
) -> ApiResult<ChecklistEntry> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let position: u32 = position.parse().map_err(|_| ApiError::not_found("checklist item"))?;
    Ok(state.store.set_checklist_item(incident.id, position, body.state.trim(), &p.actor()).await?)
}

/// The decision tree `name` in force.
pub async fn get_tree(state: &AppState, name: String) -> ApiResult<DecisionTree> {
    let p = state.procedures.current();
    p.trees.get(&name).cloned().ok_or_else(|| ApiError::not_found("decision tree"))
}

/// Starts triaging incident `id`: the triage tree's first question.
pub async fn start_triage(state: &AppState, p: &Principal, id: String) -> ApiResult<TriageView> {
    triage(state, p, incident_ref(&id)?, TriageBody::default()).await
}

/// Walks incident `id`'s triage with the answers given; applying the outcome is for responders only.
pub async fn triage_incident(state: &AppState, p: &Principal, id: String, body: TriageBody) -> ApiResult<TriageView> {
    triage(state, p, incident_ref(&id)?, body).await
}

/// Runs the action or notify step at `position` of incident `id`'s checklist once a person
/// confirms it, and records how it went; other steps and done ones are refused (409). Responders only.
pub async fn run_action(
    state: &AppState,
    p: &Principal,
    id: &str,
    position: &str,
    body: RunBody,
) -> ApiResult<ActionResult> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(id)?).await?;
    let position: u32 = position.parse().map_err(|_| ApiError::not_found("checklist item"))?;
    let (_, items) =
        state.store.incident_checklist(incident.id).await?.ok_or_else(|| ApiError::not_found("checklist item"))?;
    let item =
        items.into_iter().find(|i| i.position == position).ok_or_else(|| ApiError::not_found("checklist item"))?;
    if item.state == "done" {
        return Err(ApiError::new(axum::http::StatusCode::CONFLICT, "conflict", "this step is done already"));
    }
    let runnable = matches!(
        item.kind,
        firebreak_domain::procedures::playbook::StepKind::Action { .. }
            | firebreak_domain::procedures::playbook::StepKind::Notify { .. }
    );
    if !runnable {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            "only action and notify steps run; check other steps off",
        ));
    }
    if !body.confirm {
        return Err(DomainError::invalid(
            "confirm",
            "a step runs only when a person confirms it: send {\"confirm\": true}",
        )
        .into());
    }
    let request = match &item.kind {
        firebreak_domain::procedures::playbook::StepKind::Action { request } => request,
        firebreak_domain::procedures::playbook::StepKind::Notify { list } => {
            let procedures = state.procedures.current();
            let key = format!("step:{position}:group:{list}");
            let told = crate::app::procedures::notices::notify_group(
                state,
                &procedures,
                &incident,
                list,
                "playbook step",
                &key,
                &p.actor(),
            )
            .await?;
            state.paging_wake.notify_one();
            let item = state.store.set_checklist_item(incident.id, position, "done", &p.actor()).await?;
            let response = match told {
                None => format!("the {list} group was told for this step before; not told again"),
                Some(to) if to.is_empty() => "nobody could be reached".to_owned(),
                Some(to) => format!("told {}", to.join(", ")),
            };
            return Ok(ActionResult { item, status: None, succeeded: true, response });
        }
        _ => unreachable!("checked above"),
    };
    let missing = |name: String| {
        DomainError::invalid(
            "secret",
            format!(
                "the secret {name} is not set on this server ([secrets] {name} = … in the config file, or FIREBREAK_SECRET_{name})"
            ),
        )
    };
    let secrets = &state.config.action_secrets;
    let url = fill_secrets(&request.url, secrets).map_err(missing)?;
    let mut headers = Vec::new();
    for (k, v) in &request.headers {
        headers.push((k.clone(), fill_secrets(v, secrets).map_err(missing)?));
    }
    let body_text = request.body.as_deref().map(|b| fill_secrets(b, secrets)).transpose().map_err(missing)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut req = state.action_http.request(method, &url);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = body_text {
        req = req.body(b);
    }
    let (status, response) = match req.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            (Some(status), excerpt(&text))
        }
        // The error names no URL: it may hold a secret.
        Err(e) => (None, if e.is_timeout() { "timed out".into() } else { "no connection".into() }),
    };
    let succeeded = status.is_some_and(|s| (200..300).contains(&s));
    let event = firebreak_domain::TimelineEvent::ActionRun {
        position,
        title: item.title.clone(),
        method: request.method.clone(),
        // As written in the playbook: secret references, never their values.
        url: request.url.clone(),
        status,
        succeeded,
        response: response.clone(),
    };
    let item = state.store.record_action(incident.id, position, event, succeeded, &p.actor()).await?;
    Ok(ActionResult { item, status, succeeded, response })
}

/// Attaches a playbook in force to the incident (its steps become the checklist).
pub async fn attach_playbook(state: &AppState, p: &Principal, id: &str, body: AttachBody) -> ApiResult<ChecklistView> {
    p.require_responder()?;
    let incident = state.store.get_incident(incident_ref(id)?).await?;
    let procedures = state.procedures.current();
    let playbook =
        procedures.playbooks.iter().find(|b| b.name == body.name).ok_or_else(|| ApiError::not_found("playbook"))?;
    let (attached, items) = state.store.attach_playbook(incident.id, playbook, &p.actor()).await?;
    Ok(ChecklistView { playbook: Some(attached), items })
}
