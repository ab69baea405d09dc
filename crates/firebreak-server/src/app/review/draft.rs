//! Drafting a postmortem from the record: the context a postmortem template sees (the
//! incident's phases with their times and durations, who held which role, its alerts, the
//! pages sent and who acknowledged, stakeholder updates, the checklist with what was late or
//! skipped, and the timeline's key events), and rendering a template with it in the same
//! sandbox as update templates.

use crate::app::incidents::{Directory, describe};
use crate::app::procedures::render::{DocumentTemplate, FUEL, IncidentFields, UpdateContext, render_document};
use firebreak_domain::alert::Alert;
use firebreak_domain::procedures::ProcedureError;
use firebreak_domain::procedures::postmortem::PostmortemTemplate;
use firebreak_domain::review::POSTMORTEM_BODY_MAX;
use firebreak_domain::{Incident, IncidentStatus, TimelineEvent, Timestamp};
use firebreak_store::{ChecklistEntry, NotificationRecord, TimelineEntry};
use serde::Serialize;

/// One phase of the response: when it began and how long after detection.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `detected`, `acknowledged`, `contained`, `resolved`, `closed`.
    pub name: String,
    /// `2026-11-27 09:12 UTC`.
    pub at: String,
    /// Since detection, e.g. `1h 05m`.
    pub after: String,
}

/// How long each step of the response took (empty when it has not happened).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Durations {
    pub to_acknowledge: String,
    pub to_contain: String,
    pub to_resolve: String,
    pub to_close: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleHolder {
    pub role: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertLine {
    pub summary: String,
    pub source: String,
    pub severity: String,
    pub first_seen: String,
    pub count: i64,
}

/// The pages sent for the incident and who acknowledged it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Paging {
    /// Notifications sent (one per contact method reached).
    pub sent: u32,
    pub failed: u32,
    /// People paged, each once.
    pub people: Vec<String>,
    /// Who acknowledged the incident, in order.
    pub acknowledged_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UpdateLine {
    pub at: String,
    pub audience: String,
    pub subject: String,
    pub recipients: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepLine {
    pub title: String,
    pub phase: String,
    /// `open`, `done` or `skipped`.
    pub state: String,
    /// Done after its due time, or still open after it.
    pub late: bool,
    pub due_at: String,
    pub done_at: String,
    pub by: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Checklist {
    /// The playbook's title (empty when none ran).
    pub playbook: String,
    pub steps: Vec<StepLine>,
    pub done: usize,
    pub skipped: usize,
    pub open: usize,
    pub late: usize,
}

/// A timeline entry as a template sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EventLine {
    pub at: String,
    pub by: String,
    pub text: String,
}

/// Everything a postmortem template may use.
#[derive(Debug, Clone, Serialize)]
pub struct PostmortemContext {
    pub incident: IncidentFields,
    pub phases: Vec<Phase>,
    pub durations: Durations,
    pub roles: Vec<RoleHolder>,
    pub alerts: Vec<AlertLine>,
    pub paging: Paging,
    pub updates: Vec<UpdateLine>,
    pub checklist: Checklist,
    /// Entries starred as key events.
    pub key_events: Vec<EventLine>,
    /// The key events, or (when none are starred) the milestones: status, severity and role
    /// changes, notes, updates sent.
    pub timeline: Vec<EventLine>,
    pub now: String,
}

/// What drafting reads about an incident.
pub struct Record<'a> {
    pub incident: &'a Incident,
    pub timeline: &'a [TimelineEntry],
    pub key_events: &'a [i64],
    pub alerts: &'a [Alert],
    pub notifications: &'a [NotificationRecord],
    pub checklist: Option<(&'a str, &'a [ChecklistEntry])>,
    pub dir: &'a Directory,
    pub base_url: &'a str,
}

fn show(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn span(from: Timestamp, to: Timestamp) -> String {
    let minutes = (to - from).num_minutes().max(0);
    match minutes {
        m if m >= 24 * 60 => format!("{}d {}h {:02}m", m / (24 * 60), (m / 60) % 24, m % 60),
        m if m >= 60 => format!("{}h {:02}m", m / 60, m % 60),
        m => format!("{m}m"),
    }
}

fn line(e: &TimelineEntry, dir: &Directory) -> EventLine {
    let text = match &e.event {
        // A note is the scribe's own words: the whole first line.
        TimelineEvent::NoteAdded { body } => format!("note: {}", body.lines().next().unwrap_or_default()),
        other => describe(other, dir),
    };
    EventLine { at: show(e.at), by: e.actor_name.clone(), text }
}

fn milestone(e: &TimelineEvent) -> bool {
    matches!(
        e,
        TimelineEvent::Created { .. }
            | TimelineEvent::StatusChanged { .. }
            | TimelineEvent::SeverityChanged { .. }
            | TimelineEvent::RoleAssigned { .. }
            | TimelineEvent::NoteAdded { .. }
            | TimelineEvent::UpdateSent { .. }
            | TimelineEvent::Triaged { .. }
            | TimelineEvent::PlaybookAttached { .. }
            | TimelineEvent::MergedFrom { .. }
    )
}

impl PostmortemContext {
    /// The context for the incident as recorded, at `now`.
    pub fn from_record(r: &Record<'_>, now: Timestamp) -> PostmortemContext {
        let i = r.incident;
        let names = |u: Option<firebreak_domain::UserId>| r.dir.user_ref(u).map(|u| u.name).unwrap_or_default();
        let base = UpdateContext::new(i, r.base_url, names, "", None, now);
        let mut phases = vec![Phase { name: "detected".into(), at: show(i.detected_at), after: "0m".into() }];
        for (name, at) in [
            ("acknowledged", i.acknowledged_at),
            ("contained", i.contained_at),
            ("resolved", i.resolved_at),
            ("closed", i.closed_at),
        ] {
            if let Some(at) = at {
                phases.push(Phase { name: name.into(), at: show(at), after: span(i.detected_at, at) });
            }
        }
        let since = |t: Option<Timestamp>| t.map(|t| span(i.detected_at, t)).unwrap_or_default();
        let durations = Durations {
            to_acknowledge: since(i.acknowledged_at),
            to_contain: since(i.contained_at),
            to_resolve: since(i.resolved_at),
            to_close: match (i.resolved_at, i.closed_at) {
                (Some(r), Some(c)) => span(r, c),
                _ => String::new(),
            },
        };
        let mut roles = Vec::new();
        for (role, holder) in [("commander", i.commander), ("communications", i.communications), ("scribe", i.scribe)] {
            if holder.is_some() {
                roles.push(RoleHolder { role: role.into(), name: names(holder) });
            }
        }
        for (role, holder) in &i.other_roles {
            roles.push(RoleHolder { role: role.replace('_', " "), name: names(Some(*holder)) });
        }
        let alerts = r
            .alerts
            .iter()
            .map(|a| AlertLine {
                summary: a.summary.clone(),
                source: a.source.clone(),
                severity: a.severity.to_string(),
                first_seen: show(a.first_seen_at),
                count: a.count,
            })
            .collect();
        let mut paging = Paging::default();
        for n in r.notifications.iter().filter(|n| n.kind == "page") {
            match n.status.as_str() {
                "sent" => paging.sent += 1,
                "failed" => paging.failed += 1,
                _ => {}
            }
            let name = names(Some(n.user_id));
            if !paging.people.contains(&name) {
                paging.people.push(name);
            }
        }
        let mut updates = Vec::new();
        for e in r.timeline {
            match &e.event {
                TimelineEvent::StatusChanged { to: IncidentStatus::Acknowledged, .. } => {
                    paging.acknowledged_by.push(e.actor_name.clone());
                }
                TimelineEvent::UpdateSent { audience, subject, to, .. } => updates.push(UpdateLine {
                    at: show(e.at),
                    audience: audience.clone(),
                    subject: subject.clone(),
                    recipients: to.len(),
                }),
                _ => {}
            }
        }
        let mut checklist = Checklist::default();
        if let Some((playbook, steps)) = r.checklist {
            checklist.playbook = playbook.to_owned();
            let end = i.resolved_at.unwrap_or(now);
            for s in steps {
                let late = match (s.due_at, s.done_at) {
                    (Some(due), Some(done)) => s.state == "done" && done > due,
                    (Some(due), None) => s.state == "open" && due < end,
                    _ => false,
                };
                match s.state.as_str() {
                    "done" => checklist.done += 1,
                    "skipped" => checklist.skipped += 1,
                    _ => checklist.open += 1,
                }
                checklist.late += usize::from(late);
                checklist.steps.push(StepLine {
                    title: s.title.clone(),
                    phase: s.phase.clone(),
                    state: s.state.clone(),
                    late,
                    due_at: s.due_at.map(show).unwrap_or_default(),
                    done_at: s.done_at.map(show).unwrap_or_default(),
                    by: s.done_by.map(|u| names(Some(u))).unwrap_or_default(),
                });
            }
        }
        let key_events: Vec<EventLine> =
            r.timeline.iter().filter(|e| r.key_events.contains(&e.seq)).map(|e| line(e, r.dir)).collect();
        let timeline = if key_events.is_empty() {
            r.timeline.iter().filter(|e| milestone(&e.event)).map(|e| line(e, r.dir)).collect()
        } else {
            key_events.clone()
        };
        PostmortemContext {
            incident: base.incident,
            phases,
            durations,
            roles,
            alerts,
            paging,
            updates,
            checklist,
            key_events,
            timeline,
            now: show(now),
        }
    }

    /// A made-up incident to check templates with.
    pub fn sample() -> PostmortemContext {
        let now = firebreak_domain::time::now();
        let base = UpdateContext::sample();
        let at = show(now);
        let ev = |text: &str| EventLine { at: at.clone(), by: "Alex".into(), text: text.into() };
        PostmortemContext {
            incident: base.incident,
            phases: vec![Phase { name: "detected".into(), at: at.clone(), after: "0m".into() }],
            durations: Durations { to_acknowledge: "4m".into(), ..Durations::default() },
            roles: vec![RoleHolder { role: "commander".into(), name: "Alex".into() }],
            alerts: vec![AlertLine {
                summary: "p99 latency high".into(),
                source: "prometheus".into(),
                severity: "critical".into(),
                first_seen: at.clone(),
                count: 3,
            }],
            paging: Paging { sent: 2, failed: 0, people: vec!["Alex".into()], acknowledged_by: vec!["Alex".into()] },
            updates: vec![UpdateLine {
                at: at.clone(),
                audience: "internal".into(),
                subject: "Investigating".into(),
                recipients: 3,
            }],
            checklist: Checklist {
                playbook: "Database failover".into(),
                steps: vec![StepLine {
                    title: "Page the DBA".into(),
                    phase: "containment".into(),
                    state: "done".into(),
                    late: true,
                    due_at: at.clone(),
                    done_at: at.clone(),
                    by: "Alex".into(),
                }],
                done: 1,
                late: 1,
                ..Checklist::default()
            },
            key_events: vec![ev("changed status from triggered to acknowledged")],
            timeline: vec![ev("declared “Checkout is failing” (critical, outage)")],
            now: at,
        }
    }
}

/// A drafted postmortem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Drafted {
    pub title: String,
    pub body: String,
}

/// Renders a postmortem template; an error says where (as a file problem).
pub fn render(t: &PostmortemTemplate, ctx: &PostmortemContext) -> Result<Drafted, ProcedureError> {
    let doc = DocumentTemplate {
        file: format!("postmortems/{}.md", t.name),
        head: &t.title,
        body: &t.body,
        body_line: t.body_line,
        what: "postmortem",
    };
    let value = minijinja::Value::from(minijinja::value::Serde(ctx));
    let (title, body) = render_document(&doc, value, FUEL * 5, POSTMORTEM_BODY_MAX)?;
    let title = if title.is_empty() { format!("Postmortem: {}", ctx.incident.label) } else { title };
    Ok(Drafted { title, body: format!("{}\n", body.trim()) })
}
