//! Incident pages: the list with filters, the declare form, and the incident page with every
//! action (paging too: its escalation, "escalate now" and "reassign"; its playbook checklist:
//! attaching one, checking items off, running confirmed action steps), and its timeline kept
//! live over Server-Sent Events.

use super::{
    Chrome, CsrfOnly, Submitted, WebError, WebPrincipal, WebResult, answer, render, see, show_time, unless_missing,
    urlencode,
};
use crate::AppState;
use crate::app::incidents::{self, CreateIncident, Directory, IncidentView, ListQuery};
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::procedures::playbook::StepKind;
use firebreak_domain::{
    Incident, IncidentAction, IncidentChange, IncidentEdit, IncidentRole, IncidentStatus, IncidentType, Severity,
    TimelineEvent, UserId,
};
use firebreak_store::{ChangeNotice, ChecklistEntry, TimelineEntry};
use futures_util::stream::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list_page).post(declare))
        .route("/incidents/new", get(new_page))
        .route("/incidents/{id}", get(incident_page))
        .route("/incidents/{id}/live", get(live_fragment))
        .route("/incidents/{id}/events", get(events))
        .route("/incidents/{id}/actions/{action}", post(act))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/roles", post(assign_role))
        .route("/incidents/{id}/edit", post(edit))
        .route("/incidents/{id}/escalate", post(escalate))
        .route("/incidents/{id}/reassign", post(reassign))
        .route("/incidents/{id}/playbook", post(attach_playbook))
        .route("/incidents/{id}/merge", post(merge))
        .route("/incidents/{id}/checklist/{position}", post(set_checklist_item))
        .route("/incidents/{id}/checklist/{position}/run", post(run_action))
}

/// One row of the incident list.
pub struct Row {
    pub label: String,
    pub title: String,
    pub status: String,
    pub severity: String,
    pub kind: String,
    pub detected: String,
    /// The catalog service, else the services as typed; empty when none.
    pub service: String,
    pub commander: String,
    /// How long since detection, e.g. `3 h 12 min`.
    pub age: String,
    /// How long since the incident last changed.
    pub updated: String,
    pub updated_at: String,
    /// Merged into another incident.
    pub merged: bool,
}

impl Row {
    fn new(
        i: &Incident,
        services: &[firebreak_store::Service],
        people: &Directory,
        now: firebreak_domain::Timestamp,
    ) -> Self {
        let catalog = i.service_id.and_then(|id| services.iter().find(|s| s.id == id)).map(|s| s.name.clone());
        Row {
            label: i.label(),
            title: i.title.clone(),
            status: i.status.to_string(),
            severity: i.severity.to_string(),
            kind: i.kind.to_string(),
            detected: show_time(&i.detected_at),
            service: catalog.unwrap_or_else(|| i.services.join(", ")),
            commander: people.user_ref(i.commander).map(|u| u.name).unwrap_or_default(),
            age: super::show_age(now - i.detected_at),
            updated: super::show_age(now - i.updated_at),
            updated_at: show_time(&i.updated_at),
            merged: i.merged_into.is_some(),
        }
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    next_href: String,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    kinds: Vec<Choice>,
}

/// One option of a select.
pub struct Choice {
    pub value: &'static str,
    pub selected: bool,
}

fn choices<T: Copy>(all: &[T], f: fn(T) -> &'static str, current: &str) -> Vec<Choice> {
    all.iter().map(|v| f(*v)).map(|value| Choice { value, selected: value == current }).collect()
}

/// The status filter a list starts with: every status before resolved.
const OPEN: &str = "open";
/// The status filter that lists every incident.
const ANY: &str = "any";

/// The statuses a status filter of the list names: `open` (the default) is every status before
/// resolved, `any` none (no filter), anything else is passed on as it is.
fn status_filter(status: Option<&str>) -> Option<String> {
    match status.map(str::trim) {
        None | Some("") | Some(OPEN) => {
            let open = IncidentStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_str());
            Some(open.collect::<Vec<_>>().join(","))
        }
        Some(ANY) => None,
        Some(s) => Some(s.to_owned()),
    }
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    severity: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<ListParams>,
) -> WebResult<Response> {
    let keep = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let chosen = keep(&q.status).unwrap_or_else(|| OPEN.to_owned());
    let query = ListQuery {
        status: status_filter(Some(&chosen)),
        severity: keep(&q.severity),
        kind: keep(&q.kind),
        cursor: keep(&q.cursor),
        limit: Some(50),
    };
    let page = incidents::list(&state, &p, &query).await?;
    let (services, people) = (state.store.list_services().await?, Directory::load(&state.store).await?);
    let (severity, kind) = (query.severity.clone().unwrap_or_default(), query.kind.clone().unwrap_or_default());
    let next_href = page.next_before.map(|n| {
        let filters = [("status", &chosen), ("severity", &severity), ("type", &kind)];
        let filters: String = filters.iter().map(|(k, v)| format!("{k}={}&", urlencode(v))).collect();
        format!("/incidents?{filters}cursor={n}")
    });
    let now = state.clock.now();
    let mut statuses =
        vec![Choice { value: OPEN, selected: chosen == OPEN }, Choice { value: ANY, selected: chosen == ANY }];
    statuses.extend(choices(IncidentStatus::ALL, IncidentStatus::as_str, &chosen));
    let list = ListPage {
        chrome: Chrome::for_user(&p, "incidents"),
        rows: page.items.iter().map(|i| Row::new(i, &services, &people, now)).collect(),
        next_href: next_href.unwrap_or_default(),
        statuses,
        severities: choices(Severity::ALL, Severity::as_str, &severity),
        kinds: choices(IncidentType::ALL, IncidentType::as_str, &kind),
    };
    Ok(render(&list))
}

#[derive(Template)]
#[template(path = "incident_new.html")]
struct NewPage {
    chrome: Chrome,
    error: String,
    title: String,
    summary: String,
    services: String,
    severities: Vec<Choice>,
    kinds: Vec<Choice>,
}

impl NewPage {
    fn blank(chrome: Chrome) -> Self {
        NewPage {
            chrome,
            error: String::new(),
            title: String::new(),
            summary: String::new(),
            services: String::new(),
            severities: choices(Severity::ALL, Severity::as_str, "high"),
            kinds: choices(IncidentType::ALL, IncidentType::as_str, "outage"),
        }
    }
}

async fn new_page(WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    p.require_responder()?;
    Ok(render(&NewPage::blank(Chrome::for_user(&p, "new"))))
}

#[derive(Deserialize)]
struct DeclareForm {
    title: String,
    #[serde(default)]
    summary: String,
    severity: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    services: String,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

async fn declare(State(state): State<AppState>, Submitted(p, form): Submitted<DeclareForm>) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async {
        let new = CreateIncident {
            title: form.title.clone(),
            severity: form.severity.parse()?,
            kind: form.kind.parse()?,
            summary: Some(form.summary.clone()),
            services: split_list(&form.services),
            tags: Vec::new(),
            service_id: None,
        };
        incidents::declare(&state, &p, new).await
    }
    .await;
    answer(
        outcome,
        async |incident| Ok(see(&format!("/incidents/{}", incident.label()))),
        async |error| {
            Ok(render(&NewPage {
                error,
                severities: choices(Severity::ALL, Severity::as_str, &form.severity),
                kinds: choices(IncidentType::ALL, IncidentType::as_str, &form.kind),
                title: form.title,
                summary: form.summary,
                services: form.services,
                ..NewPage::blank(Chrome::for_user(&p, "new"))
            }))
        },
    )
    .await
}

/// One timeline entry, as the page shows it.
pub struct TimelineRow {
    pub at: String,
    pub at_iso: String,
    pub actor: String,
    pub via: &'static str,
    pub kind: &'static str,
    pub text: String,
    pub note: String,
    /// A note's Markdown, rendered safely (`views::markdown`).
    pub note_html: String,
    /// An evidence link (an http(s) address, checked when it was added).
    pub link: String,
    /// On an entry copied from a merged incident: that incident's label.
    pub from: String,
    pub seq: i64,
    /// Starred as a key event (postmortems draft their timeline from these).
    pub starred: bool,
    /// Where the star button posts (empty: this viewer cannot star).
    pub star_url: String,
    pub csrf: String,
}

/// Who may star entries of which incident: its label and the viewer's CSRF token.
struct Stars<'a> {
    key_events: &'a [i64],
    star: Option<(&'a str, &'a str)>,
}

fn timeline_rows(entries: Vec<TimelineEntry>, dir: &Directory, stars: Stars<'_>) -> Vec<TimelineRow> {
    entries
        .into_iter()
        .map(|e| TimelineRow {
            seq: e.seq,
            starred: stars.key_events.contains(&e.seq),
            star_url: stars
                .star
                .map(|(label, _)| format!("/incidents/{label}/timeline/{}/star", e.seq))
                .unwrap_or_default(),
            csrf: stars.star.map(|(_, csrf)| csrf.to_owned()).unwrap_or_default(),
            at: show_time(&e.at),
            at_iso: firebreak_domain::time::canonical(e.at),
            actor: e.actor_name.clone(),
            via: e.via.as_str(),
            kind: e.event.kind(),
            text: incidents::describe(&e.event, dir),
            note: match &e.event {
                TimelineEvent::NoteAdded { body } => body.clone(),
                TimelineEvent::ActionRun { response, .. } => response.clone(),
                TimelineEvent::Triaged { steps, .. } => {
                    steps.iter().map(|s| format!("{} → {}", s.question, s.answer)).collect::<Vec<_>>().join("\n")
                }
                _ => String::new(),
            },
            note_html: match &e.event {
                TimelineEvent::NoteAdded { body } | TimelineEvent::UpdateSent { body, .. } => {
                    crate::views::markdown::render(body)
                }
                _ => String::new(),
            },
            link: match &e.event {
                TimelineEvent::EvidenceAdded { url, .. } => url.clone(),
                _ => String::new(),
            },
            from: e.from_number.map(firebreak_domain::incident::label).unwrap_or_default(),
        })
        .collect()
}

/// A user offered in a role picker.
pub struct Person {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The picker for one role.
pub struct RolePicker {
    pub role: String,
    /// `operations lead` for `operations_lead`.
    pub label: String,
    /// What the role does (from the procedures).
    pub description: String,
    pub options: Vec<Person>,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    inc: IncidentView,
    timeline: Vec<TimelineRow>,
    role_forms: Vec<RolePicker>,
    severities: Vec<Choice>,
    kinds: Vec<Choice>,
    head: HeadFacts,
    /// The checklist's next open steps (at most three), shown beside the note box.
    next_steps: Vec<ChecklistRow>,
    /// Open incidents this one may be merged into (label and title).
    merge_choices: Vec<(String, String)>,
    /// Names in the service catalog, offered when editing the services.
    catalog_names: Vec<String>,
    /// People who can be paged by "reassign".
    people: Vec<Person>,
    playbook: Option<PlaybookRow>,
    /// Phases of the checklist, in the playbook's order.
    phases: Vec<PhaseRows>,
    /// Playbooks in force, offered to attach when none runs.
    playbooks: Vec<PlaybookChoice>,
    /// The stakeholder update cadence, when one applies.
    updates: Option<UpdatesRow>,
    /// Response targets of its severity and type (acknowledge, contain) and how they went.
    targets: Vec<TargetRow>,
    investigation: super::investigation::Investigation,
    /// The postmortem's state and the action items.
    review: super::review::ReviewCard,
    /// The timeline filter: every kind, the chosen one selected.
    kind_filter: Vec<KindChoice>,
    /// The chosen kind (empty: all), for the live fragment's address.
    kind: String,
    error: String,
    notice: String,
}

/// A timeline kind offered in the filter.
pub struct KindChoice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

/// A response target: `acknowledge within 5 minutes`, due when, and `met`, `missed` or `open`.
pub struct TargetRow {
    pub what: String,
    pub due: String,
    pub state: &'static str,
}

/// The response targets of an incident's severity (or, where the severity sets none, its type).
fn targets(state: &AppState, incident: &Incident) -> Vec<TargetRow> {
    let procedures = state.procedures.current();
    let sev = procedures.severities.get(&incident.severity);
    let kind = procedures.types.get(&incident.kind);
    let now = state.clock.now();
    let pick = |f: fn(&firebreak_domain::procedures::directory::ResponseLevel) -> Option<u32>| {
        sev.and_then(f).or_else(|| kind.and_then(f))
    };
    let mut out = Vec::new();
    for (what, minutes, reached) in [
        (
            "acknowledge",
            pick(|l| l.acknowledge_within_minutes),
            incident.acknowledged_at.or(incident.contained_at).or(incident.resolved_at),
        ),
        ("contain", pick(|l| l.contain_within_minutes), incident.contained_at.or(incident.resolved_at)),
    ] {
        let Some(m) = minutes else { continue };
        let due = incident.detected_at + chrono::TimeDelta::minutes(i64::from(m));
        let state = match reached {
            Some(at) if at <= due => "met",
            Some(_) => "missed",
            None if now > due => "missed",
            None => "open",
        };
        out.push(TargetRow { what: format!("{what} within {m} minutes"), due: show_time(&due), state });
    }
    out
}

/// The stakeholder update cadence of an incident, as its page shows it.
pub struct UpdatesRow {
    pub every_minutes: u32,
    pub due: String,
    pub late: bool,
    pub sent: usize,
}

/// The playbook an incident runs, as the page shows it.
pub struct PlaybookRow {
    pub title: String,
    /// The first 12 characters of its content hash.
    pub version: String,
}

/// A playbook in force, offered in the attach form.
pub struct PlaybookChoice {
    pub name: String,
    pub title: String,
}

/// One phase of the checklist and its items.
pub struct PhaseRows {
    pub phase: String,
    pub items: Vec<ChecklistRow>,
}

/// One checklist item, as the page shows it.
#[derive(Clone)]
pub struct ChecklistRow {
    pub position: u32,
    pub title: String,
    /// What kind of step it is (`task`, `notify executives`, …).
    pub kind: String,
    pub role: String,
    pub due: String,
    pub late: bool,
    pub state: String,
    pub done_by: String,
    /// For action steps: the request as written in the playbook (secret references kept).
    pub action: Option<ActionRow>,
    /// For notify steps: the contact list it tells.
    pub notify: String,
    /// For update steps: the template to write it from.
    pub update: String,
}

/// An action step's request, never with secrets filled in.
#[derive(Clone)]
pub struct ActionRow {
    pub method: String,
    pub url: String,
}

/// Where the incident's escalation stands, as the page shows it.
pub struct EscalationRow {
    pub state: String,
    /// The last level paged (from 1), or empty before the first.
    pub last_step: String,
    /// When the next step is due, or empty once stopped.
    pub next_due: String,
}

async fn escalation_of(state: &AppState, id: firebreak_domain::IncidentId) -> WebResult<Option<EscalationRow>> {
    Ok(state.store.get_escalation(id).await?.map(|e| EscalationRow {
        state: e.state,
        last_step: e.last_step.map(|s| (s + 1).to_string()).unwrap_or_default(),
        next_due: e.due_at.map(|t| show_time(&t)).unwrap_or_default(),
    }))
}

/// A service of an incident, linked to its catalog page when the catalog has it.
pub struct ServiceLink {
    pub name: String,
    /// `/services/ID`, or empty: free text, not in the catalog.
    pub href: String,
}

/// What the head of an incident page shows beside the incident itself.
pub struct HeadFacts {
    pub escalation: Option<EscalationRow>,
    /// "Open for 2 h 5 min" (or "Resolved after …") and how long since the last change.
    pub clock: (String, String),
    pub services: Vec<ServiceLink>,
    /// Label and title of the incident this one was merged into.
    pub merged_into: Option<(String, String)>,
}

impl HeadFacts {
    async fn load(state: &AppState, inc: &IncidentView) -> WebResult<Self> {
        let catalog = state.store.list_services().await?;
        let link =
            |s: &firebreak_store::Service| ServiceLink { name: s.name.clone(), href: format!("/services/{}", s.id) };
        let mut services: Vec<ServiceLink> = Vec::new();
        if let Some(own) = inc.service_id.and_then(|id| catalog.iter().find(|s| s.id == id)) {
            services.push(link(own));
        }
        for name in &inc.services {
            if services.iter().any(|l| l.name.eq_ignore_ascii_case(name)) {
                continue;
            }
            services.push(match catalog.iter().find(|s| s.name.eq_ignore_ascii_case(name.trim())) {
                Some(s) => link(s),
                None => ServiceLink { name: name.clone(), href: String::new() },
            });
        }
        let merged_into = match inc.merged_into {
            Some(id) => {
                state.store.get_incident(firebreak_domain::IncidentRef::Id(id)).await.ok().map(|i| (i.label(), i.title))
            }
            None => None,
        };
        Ok(HeadFacts {
            escalation: escalation_of(state, inc.id).await?,
            clock: clock_of(inc, state.clock.now()),
            services,
            merged_into,
        })
    }
}

/// How long the incident has been open (or took, once resolved) and since it last changed.
fn clock_of(inc: &IncidentView, now: firebreak_domain::Timestamp) -> (String, String) {
    let open = match inc.resolved_at {
        Some(at) => format!("Resolved after {}", super::show_age(at - inc.detected_at)),
        None => format!("Open for {}", super::show_age(now - inc.detected_at)),
    };
    (open, super::show_age(now - inc.updated_at))
}

/// The live parts of an incident page: both (`/live`), or the head or the timeline alone.
#[derive(Template)]
#[template(path = "incident_live.html")]
struct IncidentLive {
    chrome: Chrome,
    inc: IncidentView,
    timeline: Vec<TimelineRow>,
    head: HeadFacts,
}

#[derive(Template)]
#[template(path = "incident_head.html")]
struct IncidentHead {
    chrome: Chrome,
    inc: IncidentView,
    head: HeadFacts,
}

#[derive(Template)]
#[template(path = "incident_timeline.html")]
struct IncidentTimeline {
    timeline: Vec<TimelineRow>,
}

/// The incident (as stored and as shown), its timeline (entries of `kind` only, when given) and
/// the user directory.
async fn load(
    state: &AppState,
    p: &crate::auth::Principal,
    id: &str,
    kind: &str,
) -> WebResult<(Incident, IncidentView, Vec<TimelineRow>, Directory)> {
    let (incident, entries) = incidents::timeline(state, id, Some(kind)).await.map_err(no_such_incident)?;
    let dir = Directory::load(&state.store).await?;
    let key_events = state.store.key_events(incident.id).await?;
    let chrome = Chrome::for_user(p, "incidents");
    let label = incident.label();
    let star = (chrome.can_respond && !chrome.csrf.is_empty()).then_some((label.as_str(), chrome.csrf.as_str()));
    let timeline = timeline_rows(entries, &dir, Stars { key_events: &key_events, star });
    let restricted = crate::app::visibility::is_restricted(state, &incident);
    let view = IncidentView::new(incident.clone(), &dir, restricted);
    Ok((incident, view, timeline, dir))
}

async fn incident_view(state: &AppState, p: &crate::auth::Principal, id: &str) -> WebResult<IncidentPage> {
    incident_view_of(state, p, id, "").await
}

/// The incident page with its timeline showing only entries of `kind` (all when empty).
async fn incident_view_of(
    state: &AppState,
    p: &crate::auth::Principal,
    id: &str,
    kind: &str,
) -> WebResult<IncidentPage> {
    let (incident, inc, timeline, dir) = load(state, p, id, kind).await?;
    let updates = crate::app::procedures::updates::updates_view(state, &incident).await?;
    let updates = updates.cadence.map(|c| UpdatesRow {
        every_minutes: c.every_minutes,
        due: show_time(&c.due_at),
        late: c.late,
        sent: updates.sent.len(),
    });
    let investigation = super::investigation::Investigation::load(state, &incident, &dir).await?;
    let mut users: Vec<_> = dir.users().filter(|u| !u.disabled).collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let procedures = state.procedures.current();
    let mut role_names: Vec<String> = IncidentRole::ALL.iter().map(|r| r.as_str().to_owned()).collect();
    role_names.extend(procedures.roles.keys().filter(|r| !role_names.contains(r)).cloned().collect::<Vec<_>>());
    role_names.extend(inc.roles.other.keys().filter(|r| !role_names.contains(r)).cloned().collect::<Vec<_>>());
    let role_forms = role_names
        .into_iter()
        .map(|role| {
            let holder = inc.roles.holder(&role).and_then(|r| r.id);
            RolePicker {
                label: super::sentence(&role.replace(['_', '-'], " ")),
                description: procedures.roles.get(&role).cloned().unwrap_or_default(),
                role,
                options: users
                    .iter()
                    .map(|u| Person { id: u.id.to_string(), name: u.name.clone(), selected: Some(u.id) == holder })
                    .collect(),
            }
        })
        .collect();
    let head = HeadFacts::load(state, &inc).await?;
    let merge_choices = if p.user.role.can_respond() && inc.status.is_open() {
        incidents::open_choices(state, p, Some(inc.id)).await?.into_iter().map(|i| (i.label(), i.title)).collect()
    } else {
        Vec::new()
    };
    let people = users.iter().map(|u| Person { id: u.id.to_string(), name: u.name.clone(), selected: false }).collect();
    let (playbook, phases) = match state.store.incident_checklist(inc.id).await? {
        Some((attached, items)) => {
            let now = state.clock.now();
            let playbook = PlaybookRow {
                version: attached.version.get(..12).unwrap_or(&attached.version).to_owned(),
                title: attached.title,
            };
            (Some(playbook), checklist_phases(items, now, &dir))
        }
        None => (None, Vec::new()),
    };
    let playbooks = if playbook.is_none() {
        state
            .procedures
            .current()
            .playbooks
            .iter()
            .map(|b| PlaybookChoice { name: b.name.clone(), title: b.title.clone() })
            .collect()
    } else {
        Vec::new()
    };
    let catalog_names = state.store.list_services().await?.into_iter().map(|s| s.name).collect();
    let next_steps = phases.iter().flat_map(|p| &p.items).filter(|i| i.state == "open").take(3).cloned().collect();
    Ok(IncidentPage {
        head,
        next_steps,
        merge_choices,
        catalog_names,
        chrome: Chrome::for_user(p, "incidents"),
        severities: choices(Severity::ALL, Severity::as_str, inc.severity.as_str()),
        kinds: choices(IncidentType::ALL, IncidentType::as_str, inc.kind.as_str()),
        inc,
        timeline,
        role_forms,
        people,
        playbook,
        phases,
        playbooks,
        updates,
        targets: targets(state, &incident),
        investigation,
        review: super::review::ReviewCard::load(state, p, &incident).await?,
        kind_filter: incidents::TIMELINE_KINDS
            .iter()
            .map(|k| KindChoice { value: k, label: k.replace('_', " "), selected: *k == kind })
            .collect(),
        kind: kind.to_owned(),
        error: String::new(),
        notice: String::new(),
    })
}

/// The checklist grouped by phase, phases in the order their first item comes.
fn checklist_phases(items: Vec<ChecklistEntry>, now: firebreak_domain::Timestamp, dir: &Directory) -> Vec<PhaseRows> {
    let mut phases: Vec<PhaseRows> = Vec::new();
    for item in items {
        let (kind, action) = match &item.kind {
            StepKind::Task => ("task".to_owned(), None),
            StepKind::Notify { list } => (format!("notify {list}"), None),
            StepKind::Update { template } => (format!("update from the template {template}"), None),
            StepKind::Action { request } => {
                ("action".to_owned(), Some(ActionRow { method: request.method.clone(), url: request.url.clone() }))
            }
        };
        let notify = match &item.kind {
            StepKind::Notify { list } => list.clone(),
            _ => String::new(),
        };
        let update = match &item.kind {
            StepKind::Update { template } => template.clone(),
            _ => String::new(),
        };
        let row = ChecklistRow {
            position: item.position,
            notify,
            update,
            kind,
            role: item.role.clone().unwrap_or_default(),
            due: item.due_at.map(|t| show_time(&t)).unwrap_or_default(),
            late: item.state == "open" && item.due_at.is_some_and(|t| t < now),
            done_by: dir.user_ref(item.done_by).map(|r| r.name).unwrap_or_default(),
            state: item.state,
            title: item.title,
            action,
        };
        match phases.iter_mut().find(|p| p.phase == item.phase) {
            Some(p) => p.items.push(row),
            None => phases.push(PhaseRows { phase: item.phase, items: vec![row] }),
        }
    }
    phases
}

#[derive(Deserialize)]
struct IncidentQuery {
    /// The position of an action step just run: the page says how it went.
    ran: Option<u32>,
    /// Show only timeline entries of this kind.
    #[serde(default)]
    kind: String,
    /// Of the live fragment: `head` or `timeline` alone; both when absent.
    #[serde(default)]
    part: String,
}

async fn incident_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<IncidentQuery>,
) -> WebResult<Response> {
    let mut page = incident_view_of(&state, &p, &id, q.kind.trim()).await?;
    if let Some(position) = q.ran {
        page.notice = action_notice(&state, &page, position).await?;
    }
    Ok(render(&page))
}

/// How the last run of the action at `position` went, from the timeline (so a link cannot make
/// the page claim a result that did not happen).
async fn action_notice(state: &AppState, page: &IncidentPage, position: u32) -> WebResult<String> {
    let entries = state.store.timeline(page.inc.id).await?;
    let last = entries.iter().rev().find_map(|e| match &e.event {
        TimelineEvent::ActionRun { position: at, title, status, succeeded, .. } if *at == position => {
            Some((title.clone(), *status, *succeeded))
        }
        _ => None,
    });
    let notified = || {
        entries.iter().rev().find_map(|e| match &e.event {
            TimelineEvent::StakeholdersNotified { group, reason, to } if reason == "playbook step" => {
                Some((group.clone(), to.clone()))
            }
            _ => None,
        })
    };
    Ok(match (last, notified()) {
        (Some((title, status, succeeded)), _) => {
            let answer = status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "no answer".into());
            if succeeded {
                format!("The action “{title}” ran and succeeded: {answer}. The step is done.")
            } else {
                format!("The action “{title}” ran but did not succeed: {answer}. The step stays open.")
            }
        }
        (None, Some((group, to))) if to.is_empty() => {
            format!("The {group} group has nobody to tell. The step is done.")
        }
        (None, Some((group, to))) => format!("Told the {group} group: {}. The step is done.", to.join(", ")),
        (None, None) => String::new(),
    })
}

async fn live_fragment(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<IncidentQuery>,
) -> WebResult<Response> {
    let (_, inc, timeline, _) = load(&state, &p, &id, q.kind.trim()).await?;
    let chrome = Chrome::for_user(&p, "incidents");
    let res = match q.part.as_str() {
        "head" => render(&IncidentHead { head: HeadFacts::load(&state, &inc).await?, chrome, inc }),
        "timeline" => render(&IncidentTimeline { timeline }),
        "" => render(&IncidentLive { head: HeadFacts::load(&state, &inc).await?, chrome, inc, timeline }),
        _ => return Err(WebError::new(StatusCode::NOT_FOUND, "There is no such part of an incident page.")),
    };
    Ok(super::no_store(res))
}

/// Announces `changed` whenever this incident changes, here or on another replica; ends when
/// the server shuts down.
async fn events(
    State(state): State<AppState>,
    WebPrincipal(_p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let wanted = incidents::get(&state, &id).await?.id;
    let rx = state.store.subscribe();
    let mut shutdown = state.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx)
        .filter_map(move |msg| async move {
            match msg {
                Ok(ChangeNotice::Incident(id)) if id == wanted => {
                    Some(Ok(Event::default().event("changed").data(id.to_string())))
                }
                Ok(_) => None,
                // Missed notices: tell the page to refresh anyway.
                Err(_) => Some(Ok(Event::default().event("changed").data(wanted.to_string()))),
            }
        })
        .take_until(stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// "There is no such incident." for a not-found error; others as they are.
pub(super) fn no_such_incident(e: ApiError) -> WebError {
    if e.status == StatusCode::NOT_FOUND {
        WebError::new(StatusCode::NOT_FOUND, "There is no such incident.")
    } else {
        e.into()
    }
}

async fn apply(state: &AppState, p: &crate::auth::Principal, id: &str, change: IncidentChange) -> WebResult<Response> {
    let incident = incidents::change(state, p, id, change).await.map_err(no_such_incident)?;
    Ok(Redirect::to(&format!("/incidents/{}", incident.label())).into_response())
}

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let action: IncidentAction =
        action.parse().map_err(|_| WebError::new(StatusCode::NOT_FOUND, "There is no such action."))?;
    apply(&state, &p, &id, IncidentChange::Transition(action)).await
}

#[derive(Deserialize)]
struct NoteForm {
    body: String,
}

async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<NoteForm>,
) -> WebResult<Response> {
    apply(&state, &p, &id, IncidentChange::Note { body: form.body }).await
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
    #[serde(default)]
    user_id: String,
}

async fn assign_role(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<RoleForm>,
) -> WebResult<Response> {
    let user = match form.user_id.trim() {
        "" => None,
        s => Some(
            s.parse::<UserId>()
                .map_err(|_| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Pick a person from the list."))?,
        ),
    };
    let role = incidents::known_role(&state, &form.role, user.is_some())?;
    apply(&state, &p, &id, IncidentChange::AssignRole { role, user }).await
}

#[derive(Deserialize)]
struct EditForm {
    severity: String,
    #[serde(rename = "type")]
    kind: String,
    title: Option<String>,
    /// Comma-separated; absent leaves the services as they are.
    services: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<EditForm>,
) -> WebResult<Response> {
    let edit = IncidentEdit {
        severity: Some(form.severity.parse()?),
        kind: Some(form.kind.parse()?),
        title: form.title.filter(|t| !t.trim().is_empty()),
        services: form.services.as_deref().map(split_list),
        ..Default::default()
    };
    apply(&state, &p, &id, IncidentChange::Edit(edit)).await
}

/// After an action on the incident page: on to the address the action came to (the incident
/// page), or the incident page again with the client error on it (no policy, every level
/// paged, a closed incident, a playbook already attached, an action not confirmed, no such
/// checklist item).
async fn after_action(
    state: &AppState,
    p: &crate::auth::Principal,
    id: &str,
    outcome: Result<String, crate::error::ApiError>,
) -> WebResult<Response> {
    answer(
        outcome,
        async |to| Ok(see(&to)),
        async |error| Ok(render(&IncidentPage { error, ..incident_view(state, p, id).await? })),
    )
    .await
}

async fn escalate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let outcome = async {
        crate::app::paging::escalate_incident(&state, &p, id.clone()).await?;
        page_of(&state, &id).await
    }
    .await;
    after_action(&state, &p, &id, unless_missing(outcome, "There is no such incident.")?).await
}

#[derive(Deserialize)]
struct ReassignForm {
    #[serde(default)]
    user_id: String,
}

async fn reassign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<ReassignForm>,
) -> WebResult<Response> {
    let outcome = async {
        let user_id = form
            .user_id
            .trim()
            .parse::<UserId>()
            .map_err(|_| firebreak_domain::DomainError::invalid("user_id", "pick a person from the list"))?;
        crate::app::paging::reassign_incident(&state, &p, id.clone(), crate::app::paging::ReassignBody { user_id })
            .await?;
        page_of(&state, &id).await
    }
    .await;
    after_action(&state, &p, &id, unless_missing(outcome, "There is no such incident.")?).await
}

/// Where the incident page of `id` is.
async fn page_of(state: &AppState, id: &str) -> Result<String, crate::error::ApiError> {
    let incident = incidents::get(state, id).await?;
    Ok(format!("/incidents/{}", incident.label()))
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    into: String,
}

/// Merges this incident into the one chosen, then shows that one.
async fn merge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<MergeForm>,
) -> WebResult<Response> {
    let outcome = incidents::merge(&state, &p, &id, &form.into).await.map(|m| format!("/incidents/{}", m.into.label()));
    after_action(&state, &p, &id, unless_missing(outcome, "There is no such incident.")?).await
}

#[derive(Deserialize)]
struct AttachForm {
    #[serde(default)]
    name: String,
}

async fn attach_playbook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<AttachForm>,
) -> WebResult<Response> {
    let body = crate::app::procedures::playbooks::AttachBody { name: form.name.trim().to_owned() };
    let outcome = async {
        crate::app::procedures::playbooks::attach_playbook(&state, &p, &id, body).await?;
        page_of(&state, &id).await
    }
    .await;
    after_action(&state, &p, &id, outcome).await
}

#[derive(Deserialize)]
struct ItemForm {
    #[serde(default)]
    state: String,
}

async fn set_checklist_item(
    State(state): State<AppState>,
    Path((id, position)): Path<(String, String)>,
    Submitted(p, form): Submitted<ItemForm>,
) -> WebResult<Response> {
    let body = crate::app::procedures::playbooks::ItemBody { state: form.state };
    let outcome = async {
        crate::app::procedures::playbooks::set_checklist_item(&state, &p, id.clone(), position, body).await?;
        page_of(&state, &id).await
    }
    .await;
    after_action(&state, &p, &id, outcome).await
}

#[derive(Deserialize)]
struct RunForm {
    /// The "I confirm" checkbox: `on` when ticked, absent otherwise.
    #[serde(default)]
    confirm: String,
}

async fn run_action(
    State(state): State<AppState>,
    Path((id, position)): Path<(String, String)>,
    Submitted(p, form): Submitted<RunForm>,
) -> WebResult<Response> {
    let confirm = matches!(form.confirm.trim(), "on" | "true" | "yes" | "1");
    let body = crate::app::procedures::playbooks::RunBody { confirm };
    let outcome = match crate::app::procedures::playbooks::run_action(&state, &p, &id, &position, body).await {
        Ok(result) => page_of(&state, &id).await.map(|to| format!("{to}?ran={}", result.item.position)),
        // The API's message speaks JSON; say it in terms of the form.
        Err(e) if !confirm && e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            Err(crate::error::ApiError::new(e.status, e.code, "Nothing was sent: tick “I confirm” to run this action."))
        }
        Err(e) => Err(e),
    };
    after_action(&state, &p, &id, outcome).await
}
