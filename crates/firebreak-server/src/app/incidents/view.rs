//! How incidents read: the incident as shown (with the names of the people in it), a timeline
//! entry as shown, the sentence each entry kind reads as, and the timeline's entry kinds.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::{
    Incident, IncidentAction, IncidentRole, IncidentStatus, IncidentType, Severity, TimelineEvent, Timestamp, UserId,
    Via,
};
use firebreak_store::{DynStore, TimelineEntry, User};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// A user as shown next to the things they did or hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub id: Option<UserId>,
    pub name: String,
}

/// Who holds each response role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RolesView {
    pub commander: Option<UserRef>,
    pub communications: Option<UserRef>,
    pub scribe: Option<UserRef>,
    pub operations_lead: Option<UserRef>,
    /// The team's own roles (declared in the procedures' config.yaml), by name.
    pub other: std::collections::BTreeMap<String, UserRef>,
}

impl RolesView {
    /// The holder of a role, by name.
    pub fn holder(&self, role: &str) -> Option<&UserRef> {
        match role {
            "commander" => self.commander.as_ref(),
            "communications" => self.communications.as_ref(),
            "scribe" => self.scribe.as_ref(),
            "operations_lead" => self.operations_lead.as_ref(),
            other => self.other.get(other),
        }
    }
}

/// An incident as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentView {
    #[schema(value_type = String, format = Uuid)]
    pub id: firebreak_domain::IncidentId,
    pub number: i64,
    /// `INC-<number>`.
    pub label: String,
    pub title: String,
    pub summary: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub roles: RolesView,
    /// Visible only to its participants and admins: marked restricted, or of a restricted
    /// type (security by default).
    pub restricted: bool,
    /// Marked restricted by a person (a restricted type stays restricted without the mark).
    pub marked_restricted: bool,
    /// The catalog service it belongs to (its alerts join it, its escalation policy pages for
    /// it); `null` when none of its services is in the catalog.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<firebreak_domain::ServiceId>,
    /// The incident this one was merged into (it is resolved and cannot be reopened).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub merged_into: Option<firebreak_domain::IncidentId>,
    pub created_by: Option<UserRef>,
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub contained_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The status actions allowed now.
    pub allowed_actions: Vec<IncidentAction>,
}

/// Names of users, for rendering references.
pub struct Directory(HashMap<UserId, User>);

impl Directory {
    pub async fn load(store: &DynStore) -> ApiResult<Self> {
        Ok(Directory(store.list_users().await?.into_iter().map(|u| (u.id, u)).collect()))
    }

    pub fn user_ref(&self, id: Option<UserId>) -> Option<UserRef> {
        id.map(|id| UserRef {
            id: Some(id),
            name: self.0.get(&id).map(|u| u.name.clone()).unwrap_or_else(|| "(deleted user)".into()),
        })
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.0.values()
    }
}

impl IncidentView {
    /// The view of an incident; `restricted` is whether it is restricted in effect (see
    /// [`crate::app::visibility::is_restricted`]).
    pub fn new(i: Incident, dir: &Directory, restricted: bool) -> Self {
        let lead = IncidentRole::OperationsLead.as_str();
        IncidentView {
            id: i.id,
            number: i.number,
            label: i.label(),
            roles: RolesView {
                commander: dir.user_ref(i.commander),
                communications: dir.user_ref(i.communications),
                scribe: dir.user_ref(i.scribe),
                operations_lead: dir.user_ref(i.other_roles.get(lead).copied()),
                other: i
                    .other_roles
                    .iter()
                    .filter(|(name, _)| name.as_str() != lead)
                    .filter_map(|(name, u)| dir.user_ref(Some(*u)).map(|r| (name.clone(), r)))
                    .collect(),
            },
            restricted,
            marked_restricted: i.restricted,
            service_id: i.service_id,
            merged_into: i.merged_into,
            created_by: dir.user_ref(i.created_by),
            allowed_actions: i
                .status
                .allowed_actions()
                .into_iter()
                .filter(|a| i.merged_into.is_none() || *a != IncidentAction::Reopen)
                .collect(),
            title: i.title,
            summary: i.summary,
            status: i.status,
            severity: i.severity,
            kind: i.kind,
            services: i.services,
            tags: i.tags,
            detected_at: i.detected_at,
            acknowledged_at: i.acknowledged_at,
            contained_at: i.contained_at,
            resolved_at: i.resolved_at,
            closed_at: i.closed_at,
            updated_at: i.updated_at,
        }
    }
}

/// One timeline entry: when, who, through what, and the event's own fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: UserRef,
    pub via: Via,
    /// On an entry copied from an incident merged into this one: that incident's number.
    pub from_number: Option<i64>,
    #[serde(flatten)]
    pub event: TimelineEvent,
}

impl From<TimelineEntry> for TimelineEntryView {
    fn from(e: TimelineEntry) -> Self {
        TimelineEntryView {
            seq: e.seq,
            at: e.at,
            actor: UserRef { id: e.actor_id, name: e.actor_name },
            via: e.via,
            from_number: e.from_number,
            event: e.event,
        }
    }
}

/// The view of an incident, with the names of the people in it.
pub async fn view(state: &AppState, incident: Incident) -> ApiResult<IncidentView> {
    let dir = Directory::load(&state.store).await?;
    let restricted = crate::app::visibility::is_restricted(state, &incident);
    Ok(IncidentView::new(incident, &dir, restricted))
}

/// The views of several incidents, sharing one directory.
pub async fn views(state: &AppState, incidents: Vec<Incident>) -> ApiResult<Vec<IncidentView>> {
    let dir = Directory::load(&state.store).await?;
    Ok(incidents
        .into_iter()
        .map(|i| {
            let restricted = crate::app::visibility::is_restricted(state, &i);
            IncidentView::new(i, &dir, restricted)
        })
        .collect())
}

/// One line saying what a timeline entry records, as pages and exports show it.
pub fn describe(e: &TimelineEvent, dir: &Directory) -> String {
    let who = |u: &Option<UserId>| dir.user_ref(*u).map(|r| r.name).unwrap_or_else(|| "nobody".into());
    match e {
        TimelineEvent::Created { title, severity, kind } => format!("declared “{title}” ({severity}, {kind})"),
        TimelineEvent::StatusChanged { from, to } => format!("changed status from {from} to {to}"),
        TimelineEvent::SeverityChanged { from, to } => format!("changed severity from {from} to {to}"),
        TimelineEvent::TypeChanged { from, to } => format!("changed type from {from} to {to}"),
        TimelineEvent::TitleChanged { to, .. } => format!("renamed the incident to “{to}”"),
        TimelineEvent::SummaryChanged { .. } => "updated the summary".into(),
        TimelineEvent::ServicesChanged { to, .. } => {
            format!("set affected services to {}", if to.is_empty() { "none".into() } else { to.join(", ") })
        }
        TimelineEvent::TagsChanged { to, .. } => {
            format!("set tags to {}", if to.is_empty() { "none".into() } else { to.join(", ") })
        }
        TimelineEvent::RoleAssigned { role, from, to } => match (from, to) {
            (None, None) => format!("cleared the {} role", role.label()),
            (Some(_), None) => format!("cleared the {} role (was {})", role.label(), who(from)),
            (None, Some(_)) => format!("made {} {}", who(to), role.label()),
            (Some(_), Some(_)) => format!("handed {} over from {} to {}", role.label(), who(from), who(to)),
        },
        TimelineEvent::NoteAdded { .. } => "added a note".into(),
        TimelineEvent::RestrictionChanged { restricted: true } => {
            "marked the incident restricted: only its participants and admins see it".into()
        }
        TimelineEvent::RestrictionChanged { restricted: false } => "took away the restricted mark".into(),
        TimelineEvent::ParticipantAdded { user_id } => format!("added {} as a participant", who(&Some(*user_id))),
        TimelineEvent::EvidenceAdded { title, url } => {
            format!("linked evidence: {}", if title.is_empty() { url } else { title })
        }
        TimelineEvent::UpdateSent { audience, to, .. } if to.is_empty() => {
            format!("recorded a {audience} update (a draft to publish by hand)")
        }
        TimelineEvent::UpdateSent { audience, to, .. } => {
            let article = if audience.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            format!("sent {article} {audience} update to {}", to.join(", "))
        }
        TimelineEvent::UpdateLate { escalated, to } => {
            let whom = if to.is_empty() { "nobody to tell".to_owned() } else { format!("told {}", to.join(", ")) };
            if *escalated {
                format!("the stakeholder update is still overdue: escalated, {whom}")
            } else {
                format!("a stakeholder update is due: {whom}")
            }
        }
        TimelineEvent::EscalationPolicyChosen { policy, reason } => {
            format!("the escalation policy “{policy}” pages for this incident ({reason})")
        }
        TimelineEvent::StakeholderMessageFailed { address, subject, reason } => {
            format!("could not email {address} “{subject}”: {reason}")
        }
        TimelineEvent::StakeholdersNotified { group, reason, to } => {
            let whom = if to.is_empty() { "nobody could be reached".to_owned() } else { to.join(", ") };
            format!("notified the {group} group ({reason}): {whom}")
        }
        TimelineEvent::Alert { change, summary, severity, count, events, .. } if *events > 1 => {
            format!("alert {change} {events} times ({severity}, {count}× in all): {summary}")
        }
        TimelineEvent::Alert { change, summary, severity, count, .. } => {
            format!("alert {change} ({severity}, {count}×): {summary}")
        }
        TimelineEvent::AlertAttached { summary, moved_from, .. } => match moved_from {
            Some(n) => format!("moved the alert “{summary}” here from {}", firebreak_domain::incident::label(*n)),
            None => format!("attached the alert “{summary}”"),
        },
        TimelineEvent::AlertDetached { summary, moved_to, .. } => match moved_to {
            Some(n) => format!("moved the alert “{summary}” to {}", firebreak_domain::incident::label(*n)),
            None => format!("detached the alert “{summary}”: it stands alone"),
        },
        TimelineEvent::MergedInto { number, title } => {
            format!(
                "merged this incident into {} “{title}”; the work goes on there",
                firebreak_domain::incident::label(*number)
            )
        }
        TimelineEvent::MergedFrom { number, title, alerts, entries } => format!(
            "merged {} “{title}” into this incident: {alerts} alert(s) moved, {entries} timeline entries copied",
            firebreak_domain::incident::label(*number)
        ),
        TimelineEvent::Paged { level, cycle, skipped, reason, users, .. } => {
            let whom = if users.is_empty() {
                "nobody (no one is on call for its targets)".to_owned()
            } else {
                users
                    .iter()
                    .map(|u| if u.rules == 0 { format!("{} (no notification rules)", u.name) } else { u.name.clone() })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let how = match reason.as_str() {
                "escalate_now" => " (escalated by hand)",
                "reassign" => " (reassigned)",
                "restart" => " (reopened)",
                _ => "",
            };
            let pass = if *cycle > 1 { format!(", pass {cycle}") } else { String::new() };
            let skip = if *skipped > 0 { format!("; {skipped} missed step(s) skipped") } else { String::new() };
            format!("paged {whom} — level {level}{pass}{how}{skip}")
        }
        TimelineEvent::Triaged { tree, outcome, severity, kind, playbook, steps } => {
            let playbook = playbook.as_ref().map(|p| format!("; playbook {p}")).unwrap_or_default();
            format!("triaged with the {tree} tree in {} answers: {outcome} ({severity}, {kind}){playbook}", steps.len())
        }
        TimelineEvent::PlaybookAttached { title, steps, version, .. } => {
            format!("attached the playbook “{title}” ({steps} steps, version {})", version.get(..12).unwrap_or(version))
        }
        TimelineEvent::ActionRun { title, method, url, status, succeeded, .. } => {
            let answer = status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "no answer".into());
            let how = if *succeeded { "ran" } else { "tried" };
            format!("{how} the action “{title}”: {method} {url} → {answer}")
        }
        TimelineEvent::ChecklistItemLate { title, escalated, to, .. } => {
            let whom =
                if to.is_empty() { "nobody holds its role".to_owned() } else { format!("told {}", to.join(", ")) };
            if *escalated {
                format!("“{title}” is still not done: escalated, {whom}")
            } else {
                format!("“{title}” is late: {whom}")
            }
        }
        TimelineEvent::ChecklistItemChanged { title, state, .. } => match state.as_str() {
            "done" => format!("checked off “{title}”"),
            "skipped" => format!("skipped “{title}”"),
            _ => format!("reopened “{title}”"),
        },
        TimelineEvent::EscalationStopped { reason } => format!("escalation stopped: {reason}"),
        TimelineEvent::NotificationSent { user_name, channel, provider, bundled, .. } => {
            let with = if *bundled > 1 { format!(" (with {} other incidents)", bundled - 1) } else { String::new() };
            format!("notified {user_name} by {channel} via {provider}{with}")
        }
        TimelineEvent::NotificationFailed { user_name, channel, reason, .. } => {
            format!("could not notify {user_name} by {channel}: {reason}")
        }
        TimelineEvent::PostmortemChanged { change, revision, detail } => {
            let rev = revision.map(|r| format!(" (revision {r})")).unwrap_or_default();
            let what = match change.as_str() {
                "drafted" => "drafted the postmortem".to_owned(),
                "revised" => "saved a new postmortem revision".to_owned(),
                "review_requested" => "asked for a review of the postmortem".to_owned(),
                "signed_off" => "signed off the postmortem".to_owned(),
                "published" => "published the postmortem".to_owned(),
                "late" => "the postmortem is late".to_owned(),
                other => format!("postmortem: {other}"),
            };
            if detail.is_empty() { format!("{what}{rev}") } else { format!("{what}{rev}: {detail}") }
        }
        TimelineEvent::ActionItemChanged { number, title, change, status } => match change.as_str() {
            "added" => format!("added action item AI-{number} “{title}”"),
            "late" => format!("action item AI-{number} “{title}” is overdue"),
            _ => format!("updated action item AI-{number} “{title}” ({status})"),
        },
    }
}

/// The kinds a `kind` filter names, checked against the kinds there are.
pub fn timeline_kinds(raw: Option<&str>) -> ApiResult<Vec<String>> {
    let mut kinds = Vec::new();
    for k in raw.unwrap_or("").split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !TIMELINE_KINDS.contains(&k) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("kind: unknown timeline entry kind {k:?}; known: {}", TIMELINE_KINDS.join(", ")),
            ));
        }
        kinds.push(k.to_owned());
    }
    Ok(kinds)
}

/// Every timeline entry kind, grouped as people filter them.
pub const TIMELINE_KINDS: &[&str] = &[
    "created",
    "status_changed",
    "severity_changed",
    "type_changed",
    "title_changed",
    "summary_changed",
    "services_changed",
    "tags_changed",
    "role_assigned",
    "note_added",
    "evidence_added",
    "alert",
    "alert_attached",
    "alert_detached",
    "merged_into",
    "merged_from",
    "triaged",
    "playbook_attached",
    "checklist_item_changed",
    "checklist_item_late",
    "action_run",
    "update_sent",
    "update_late",
    "stakeholders_notified",
    "stakeholder_message_failed",
    "escalation_policy_chosen",
    "paged",
    "escalation_stopped",
    "notification_sent",
    "notification_failed",
    "restriction_changed",
    "participant_added",
    "postmortem_changed",
    "action_item_changed",
];
