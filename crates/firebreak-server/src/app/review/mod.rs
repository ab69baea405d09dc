//! Post-incident review: postmortems drafted from the record and taken through review to
//! publication, key events, the close policy, action items (`actions`) and response
//! analytics (`analytics`). Every transport does these through the functions here.
//!
//! The policy comes from the procedures' `config.yaml`: a severity's `postmortem_required`
//! keeps its incidents from closing until their postmortem is published (409
//! `postmortem_required`), and its `postmortem_due` is how long after resolution the
//! postmortem is due (the engine reminds the commander once when it is late).

pub mod actions;
pub mod analytics;
pub mod draft;

use crate::AppState;
use crate::app::incidents::{self, Directory};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::procedures::directory::Procedures;
use firebreak_domain::review::{self as rules, PostmortemState};
use firebreak_domain::{DomainError, Incident, IncidentRef, Timestamp, UserId};
use firebreak_store::review::{Postmortem, PostmortemEdit, PostmortemRevision};
use firebreak_store::{AlertFilter, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The template a new postmortem of this incident starts from: its type's choice, else its
/// severity's, else the built-in blameless one.
pub fn template_for<'a>(procedures: &'a Procedures, incident: &Incident) -> Option<&'a str> {
    let by_type = procedures.types.get(&incident.kind).and_then(|l| l.postmortem.as_deref());
    let by_severity = procedures.severities.get(&incident.severity).and_then(|l| l.postmortem.as_deref());
    by_type
        .or(by_severity)
        .filter(|n| procedures.postmortems.contains_key(*n))
        .or(procedures.postmortems.contains_key(rules_default()).then_some(rules_default()))
}

fn rules_default() -> &'static str {
    firebreak_domain::procedures::postmortem::DEFAULT_NAME
}

/// When the incident's postmortem is due (its severity's `postmortem_due` after resolution).
pub fn due_at(procedures: &Procedures, incident: &Incident) -> Option<Timestamp> {
    let minutes = procedures.severities.get(&incident.severity)?.postmortem_due_minutes?;
    Some(incident.resolved_at? + chrono::TimeDelta::minutes(i64::from(minutes)))
}

/// Whether the incident's severity requires a published postmortem before closing.
pub fn required(procedures: &Procedures, incident: &Incident) -> bool {
    procedures.severities.get(&incident.severity).is_some_and(|l| l.postmortem_required)
}

/// Refuses closing an incident whose severity requires a published postmortem it lacks.
pub async fn check_close(state: &AppState, incident: &Incident) -> ApiResult<()> {
    if !required(&state.procedures.current(), incident) {
        return Ok(());
    }
    let state_now = match state.store.postmortem(incident.id).await {
        Ok(pm) => Some(pm.state),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if state_now == Some(PostmortemState::Published) {
        return Ok(());
    }
    let why = match state_now {
        None => "it has no postmortem yet".to_owned(),
        Some(s) => format!("its postmortem is {}", s.as_str().replace('_', " ")),
    };
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "postmortem_required",
        format!(
            "{} incidents need a published postmortem before they close, and {why}; write it, have it reviewed and publish it, then close {}",
            incident.severity,
            incident.label()
        ),
    ))
}

/// A postmortem as the API shows it: the document, its review, and the policy that applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostmortemView {
    #[serde(flatten)]
    pub postmortem: Postmortem,
    pub incident_number: i64,
    /// `INC-<number>`.
    pub incident_label: String,
    /// When it is due (after resolution), if the severity sets a due time.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// Due and not published.
    pub late: bool,
    /// The incident cannot close until this is published.
    pub required_to_close: bool,
    /// Reviewers who have not signed off the current revision.
    pub awaiting: Vec<String>,
}

impl PostmortemView {
    pub fn new(state: &AppState, incident: &Incident, postmortem: Postmortem) -> PostmortemView {
        let procedures = state.procedures.current();
        let due = due_at(&procedures, incident);
        let awaiting = postmortem
            .reviewers
            .iter()
            .filter(|r| r.signed_hash.as_deref() != Some(postmortem.revision_hash.as_str()))
            .map(|r| r.name.clone())
            .collect();
        PostmortemView {
            incident_number: incident.number,
            incident_label: incident.label(),
            late: postmortem.state != PostmortemState::Published && due.is_some_and(|d| d <= state.clock.now()),
            due_at: due,
            required_to_close: required(&procedures, incident),
            awaiting,
            postmortem,
        }
    }
}

/// The incident (UUID, number or `INC-number`) and its postmortem.
pub async fn get(state: &AppState, id: &str) -> ApiResult<(Incident, Postmortem)> {
    let incident = incidents::get(state, id).await?;
    let pm = state.store.postmortem(incident.id).await?;
    Ok((incident, pm))
}

/// The postmortem as drafted from the record now (not saved): what `create` would write.
pub async fn draft(
    state: &AppState,
    incident: &Incident,
    template: Option<&str>,
) -> ApiResult<(String, draft::Drafted)> {
    let procedures = state.procedures.current();
    let name = match template.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => template_for(&procedures, incident).unwrap_or(rules_default()),
    };
    let Some(t) = procedures.postmortems.get(name) else {
        let known: Vec<&str> = procedures.postmortems.keys().map(String::as_str).collect();
        return Err(DomainError::invalid(
            "template",
            format!("no postmortem template is named {name:?}; known: {}", known.join(", ")),
        )
        .into());
    };
    let timeline = state.store.timeline(incident.id).await?;
    let key_events = state.store.key_events(incident.id).await?;
    let alerts = state
        .store
        .list_alerts(&AlertFilter { incident_id: Some(incident.id), limit: 200, ..Default::default() })
        .await?
        .items;
    let notifications = state.store.list_notifications(Some(incident.id), None, 1000).await?;
    let checklist = state.store.incident_checklist(incident.id).await?;
    let dir = Directory::load(&state.store).await?;
    let base_url = state.config.public_url.clone().unwrap_or_default();
    let record = draft::Record {
        incident,
        timeline: &timeline,
        key_events: &key_events,
        alerts: &alerts,
        notifications: &notifications,
        checklist: checklist.as_ref().map(|(p, steps)| (p.title.as_str(), steps.as_slice())),
        dir: &dir,
        base_url: base_url.trim_end_matches('/'),
    };
    let ctx = draft::PostmortemContext::from_record(&record, state.clock.now());
    let drafted = draft::render(t, &ctx).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "template_failed",
            format!("the postmortem template cannot be rendered ({}:{}): {}", e.file, e.line, e.message),
        )
    })?;
    Ok((name.to_owned(), drafted))
}

/// Starts an incident's postmortem, drafted from the record with `template` (or the one the
/// procedures choose). Responders only; 409 when it has one.
pub async fn create(state: &AppState, p: &Principal, id: &str, template: Option<&str>) -> ApiResult<Postmortem> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    let (name, drafted) = draft(state, &incident, template).await?;
    Ok(state.store.create_postmortem(incident.id, &name, &drafted.title, &drafted.body, &p.actor()).await?)
}

/// A new revision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavePostmortem {
    /// The revision this edit started from (409 when another was saved since).
    pub base_revision: i64,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// When the impact began, RFC 3339 (empty or absent: not known).
    #[serde(default)]
    pub impact_started_at: Option<String>,
}

/// Parses an optional RFC 3339 instant (also `YYYY-MM-DDTHH:MM` as a browser's
/// `datetime-local` sends it, read as UTC).
pub fn parse_instant(field: &'static str, raw: Option<&str>) -> ApiResult<Option<Timestamp>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(firebreak_domain::time::truncate(t.with_timezone(&chrono::Utc))));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    Err(DomainError::invalid(field, "an instant such as 2026-11-27T09:12:00Z").into())
}

/// Saves a new revision (responders only). Saving a published postmortem reopens its review.
pub async fn save(state: &AppState, p: &Principal, id: &str, body: SavePostmortem) -> ApiResult<Postmortem> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    let edit = PostmortemEdit {
        base: body.base_revision,
        title: rules::parse_postmortem_title(&body.title)?,
        body: rules::parse_postmortem_body(&body.body)?,
        impact_started_at: parse_instant("impact_started_at", body.impact_started_at.as_deref())?,
    };
    Ok(state.store.save_postmortem(incident.id, edit, &p.actor()).await?)
}

/// The revisions, oldest first.
pub async fn revisions(state: &AppState, id: &str) -> ApiResult<Vec<PostmortemRevision>> {
    let incident = incidents::get(state, id).await?;
    Ok(state.store.postmortem_revisions(incident.id).await?)
}

/// Who reviews: users by id or email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestReview {
    /// User ids or emails.
    pub reviewers: Vec<String>,
}

/// Sends the postmortem to review by the named people (responders only).
pub async fn request_review(state: &AppState, p: &Principal, id: &str, body: RequestReview) -> ApiResult<Postmortem> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    if body.reviewers.len() > rules::REVIEWERS_MAX {
        return Err(DomainError::invalid("reviewers", format!("at most {} reviewers", rules::REVIEWERS_MAX)).into());
    }
    let mut ids = Vec::new();
    for r in &body.reviewers {
        let user = match r.trim().parse::<uuid::Uuid>() {
            Ok(id) => incidents::role_holder(&state.store, Some(UserId(id)), None).await?,
            Err(_) => incidents::role_holder(&state.store, None, Some(r)).await.map_err(|e| e.at("reviewers"))?,
        };
        if let Some(u) = user {
            ids.push(u);
        }
    }
    Ok(state.store.request_postmortem_review(incident.id, &ids, &p.actor()).await?)
}

/// A reviewer's sign-off of the revision they read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOffBody {
    /// The `revision_hash` of the revision read.
    pub revision_hash: String,
}

/// Signs off the current revision as the caller (a named reviewer).
pub async fn sign_off(state: &AppState, p: &Principal, id: &str, hash: &str) -> ApiResult<Postmortem> {
    let incident = incidents::get(state, id).await?;
    Ok(state.store.sign_off_postmortem(incident.id, p.user.id, hash.trim(), &p.actor()).await?)
}

/// Publishes the postmortem once every reviewer signed off its current revision (responders only).
pub async fn publish(state: &AppState, p: &Principal, id: &str) -> ApiResult<Postmortem> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    Ok(state.store.publish_postmortem(incident.id, &p.actor()).await?)
}

/// Stars or unstars a timeline entry as a key event (responders only).
pub async fn star(state: &AppState, p: &Principal, id: &str, seq: i64, starred: bool) -> ApiResult<()> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    Ok(state.store.star_timeline_entry(incident.id, seq, starred, &p.actor()).await?)
}

/// One line of a diff between revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DiffLine {
    /// `same`, `added` or `removed`.
    pub change: &'static str,
    pub text: String,
}

/// The line diff from `old` to `new`.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| DiffLine {
            change: match c.tag() {
                similar::ChangeTag::Equal => "same",
                similar::ChangeTag::Insert => "added",
                similar::ChangeTag::Delete => "removed",
            },
            text: c.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

/// The diff between two revisions (by number) of the incident's postmortem.
pub async fn diff_revisions(state: &AppState, id: &str, from: i64, to: i64) -> ApiResult<Vec<DiffLine>> {
    let revisions = revisions(state, id).await?;
    let find = |n: i64, field: &'static str| {
        revisions
            .iter()
            .find(|r| r.number == n)
            .ok_or_else(|| ApiError::from(DomainError::invalid(field, format!("no revision {n}"))))
    };
    let (a, b) = (find(from, "from")?, find(to, "to")?);
    let old = format!("# {}\n\n{}", a.title, a.body);
    let new = format!("# {}\n\n{}", b.title, b.body);
    Ok(diff(&old, &new))
}

/// The postmortem as a Markdown document to keep: its text, then its review record and the
/// incident's action items.
pub async fn export_markdown(state: &AppState, incident: &Incident, pm: &Postmortem) -> ApiResult<String> {
    let mut md = format!("<!-- {} postmortem, revision {} ({}) -->\n\n", incident.label(), pm.revision, pm.state);
    md.push_str(&pm.body);
    if !md.ends_with('\n') {
        md.push('\n');
    }
    md.push_str(&format!(
        "\n---\n\n**Review** — state: {}; revision {} (`{}`)\n",
        pm.state.as_str().replace('_', " "),
        pm.revision,
        pm.revision_hash
    ));
    for r in &pm.reviewers {
        match (&r.signed_off_at, r.signed_hash.as_deref() == Some(pm.revision_hash.as_str())) {
            (Some(at), true) => {
                md.push_str(&format!("- {}: signed off {}\n", r.name, firebreak_domain::time::canonical(*at)))
            }
            (Some(at), false) => md.push_str(&format!(
                "- {}: signed off revision {} at {} (not the current one)\n",
                r.name,
                r.signed_revision.unwrap_or_default(),
                firebreak_domain::time::canonical(*at)
            )),
            (None, _) => md.push_str(&format!("- {}: not signed off\n", r.name)),
        }
    }
    let items = actions::of_incident(state, incident.id).await?;
    if !items.is_empty() {
        md.push_str(
            "\n**Action items**\n\n| Item | What | Owner | Due | Priority | Status |\n|---|---|---|---|---|---|\n",
        );
        let cell = |s: &str| s.replace('|', "\\|").replace(['\r', '\n'], " ");
        for i in items {
            md.push_str(&format!(
                "| AI-{} | {} | {} | {} | {} | {} |\n",
                i.number,
                cell(&i.title),
                cell(i.owner_name.as_deref().unwrap_or("")),
                i.due_on.map(|d| d.to_string()).unwrap_or_default(),
                i.priority,
                i.status
            ));
        }
    }
    Ok(md)
}

/// The incidents whose postmortems a list shows, newest first: those with one, and resolved
/// ones without one (to be written).
pub async fn get_for_incident(state: &AppState, incident: IncidentRef) -> ApiResult<Option<Postmortem>> {
    let incident = state.store.get_incident(incident).await?;
    match state.store.postmortem(incident.id).await {
        Ok(pm) => Ok(Some(pm)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
