//! Incidents: severity, type, the status machine, response roles, edits, and the timeline
//! events each change produces. `Incident::apply` is the one place these rules live; the
//! stores call it inside their write transaction.

use crate::DomainError;
use crate::ids::{IncidentId, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Maximum length of a title, in characters.
pub const TITLE_MAX: usize = 200;
/// Maximum length of a summary, in characters.
pub const SUMMARY_MAX: usize = 10_000;
/// Maximum length of a note, in characters.
pub const NOTE_MAX: usize = 20_000;
/// Maximum number of affected services or of tags.
pub const LIST_MAX: usize = 50;
/// Maximum length of one service name or tag.
pub const LABEL_MAX: usize = 100;

#[macro_export]
#[doc(hidden)]
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in the API, the database and the UI.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err($crate::DomainError::invalid(
                        $what,
                        format!(
                            "unknown {} {:?}; expected one of: {}",
                            $what,
                            other,
                            [$($word),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

word_enum!(
    /// How bad an incident is; picks the escalation path.
    Severity, "severity" {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
);

word_enum!(
    /// What kind of incident this is.
    IncidentType, "type" {
        Outage => "outage",
        Degradation => "degradation",
        Security => "security",
        Other => "other",
    }
);

word_enum!(
    /// Where an incident is in its lifecycle. The order of the variants is the order of the
    /// lifecycle: an incident only moves forward, except `reopen`.
    IncidentStatus, "status" {
        Triggered => "triggered",
        Acknowledged => "acknowledged",
        Contained => "contained",
        Resolved => "resolved",
        Closed => "closed",
    }
);

word_enum!(
    /// A status change a person asks for.
    IncidentAction, "action" {
        Acknowledge => "acknowledge",
        Contain => "contain",
        Resolve => "resolve",
        Close => "close",
        Reopen => "reopen",
    }
);

word_enum!(
    /// A built-in response role on one incident, held by one user at a time. Teams add their
    /// own roles in the procedures' `config.yaml`; [`RoleName`] names either.
    IncidentRole, "role" {
        Commander => "commander",
        Communications => "communications",
        Scribe => "scribe",
        OperationsLead => "operations_lead",
    }
);

/// Maximum length of a role name.
pub const ROLE_NAME_MAX: usize = 40;

/// The name of a response role: a built-in one or a team's own (lowercase letters, digits,
/// `_` and `-`, starting with a letter, at most 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String)]
pub struct RoleName(String);

impl RoleName {
    pub fn parse(s: &str) -> Result<RoleName, DomainError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.len() <= ROLE_NAME_MAX
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(RoleName(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                "role",
                format!(
                    "{s:?} is not a role name: lowercase letters, digits, `_` and `-`, starting with a letter, \
                     at most {ROLE_NAME_MAX} characters"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The built-in role of this name, if it is one.
    pub fn builtin(&self) -> Option<IncidentRole> {
        self.0.parse().ok()
    }

    /// How people read it: `operations_lead` → `operations lead`.
    pub fn label(&self) -> String {
        self.0.replace(['_', '-'], " ")
    }
}

impl From<IncidentRole> for RoleName {
    fn from(r: IncidentRole) -> RoleName {
        RoleName(r.as_str().to_owned())
    }
}

impl TryFrom<String> for RoleName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<RoleName, DomainError> {
        RoleName::parse(&s)
    }
}

impl From<RoleName> for String {
    fn from(r: RoleName) -> String {
        r.0
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoleName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<RoleName, DomainError> {
        RoleName::parse(s)
    }
}

/// Maximum length of an evidence link's address.
pub const EVIDENCE_URL_MAX: usize = 2_000;

/// A validated evidence link: an absolute `http(s)` address on one line.
pub fn parse_evidence_url(value: &str) -> Result<String, DomainError> {
    let url = clean_text("url", value, EVIDENCE_URL_MAX, true)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !url.contains(char::is_whitespace) => Ok(url),
        _ => Err(DomainError::invalid("url", "must be an absolute http:// or https:// address")),
    }
}

impl IncidentStatus {
    fn rank(self) -> u8 {
        match self {
            IncidentStatus::Triggered => 0,
            IncidentStatus::Acknowledged => 1,
            IncidentStatus::Contained => 2,
            IncidentStatus::Resolved => 3,
            IncidentStatus::Closed => 4,
        }
    }

    /// Whether the incident still needs work (not resolved or closed).
    pub fn is_open(self) -> bool {
        self.rank() < IncidentStatus::Resolved.rank()
    }

    /// The status `action` leads to from `self`, or why it cannot.
    ///
    /// Forward moves may skip phases (triggered → resolved); `reopen` goes from resolved back
    /// to triggered; closed is final; asking for the status an incident already has is refused.
    pub fn after(self, action: IncidentAction) -> Result<IncidentStatus, DomainError> {
        let target = match action {
            IncidentAction::Acknowledge => IncidentStatus::Acknowledged,
            IncidentAction::Contain => IncidentStatus::Contained,
            IncidentAction::Resolve => IncidentStatus::Resolved,
            IncidentAction::Close => IncidentStatus::Closed,
            IncidentAction::Reopen => {
                return if self == IncidentStatus::Resolved {
                    Ok(IncidentStatus::Triggered)
                } else {
                    Err(DomainError::InvalidTransition { action, from: self })
                };
            }
        };
        if target.rank() > self.rank() {
            Ok(target)
        } else {
            Err(DomainError::InvalidTransition { action, from: self })
        }
    }

    /// The actions allowed from this status, for offering buttons.
    pub fn allowed_actions(self) -> Vec<IncidentAction> {
        IncidentAction::ALL.iter().copied().filter(|a| self.after(*a).is_ok()).collect()
    }
}

/// How a client names an incident: its UUID, its number (`42`) or its label (`INC-42`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentRef {
    Id(IncidentId),
    Number(i64),
}

impl FromStr for IncidentRef {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let digits = s.strip_prefix("INC-").or_else(|| s.strip_prefix("inc-")).unwrap_or(s);
        if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits
                .parse::<i64>()
                .map(IncidentRef::Number)
                .map_err(|_| DomainError::invalid("id", "incident number out of range"));
        }
        s.parse::<IncidentId>()
            .map(IncidentRef::Id)
            .map_err(|_| DomainError::invalid("id", format!("{s:?} is not an incident id, number or INC-number")))
    }
}

/// The label people use for an incident number.
pub fn label(number: i64) -> String {
    format!("INC-{number}")
}

fn clean_text(field: &'static str, value: &str, max: usize, required: bool) -> Result<String, DomainError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A validated title: trimmed, 1 to 200 characters, one line.
pub fn parse_title(value: &str) -> Result<String, DomainError> {
    let title = clean_text("title", value, TITLE_MAX, true)?;
    if title.contains(['\n', '\r']) {
        return Err(DomainError::invalid("title", "must be a single line"));
    }
    Ok(title)
}

/// A validated summary (may be empty).
pub fn parse_summary(value: &str) -> Result<String, DomainError> {
    clean_text("summary", value, SUMMARY_MAX, false)
}

/// A validated note body.
pub fn parse_note(value: &str) -> Result<String, DomainError> {
    clean_text("body", value, NOTE_MAX, true)
}

/// A validated list of labels (affected services or tags): trimmed, no empties, no
/// duplicates, order kept.
pub fn parse_labels(field: &'static str, values: &[String]) -> Result<Vec<String>, DomainError> {
    if values.len() > LIST_MAX {
        return Err(DomainError::invalid(field, format!("at most {LIST_MAX} entries")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = clean_text(field, v, LABEL_MAX, true)?;
        if v.contains(['\n', '\r']) {
            return Err(DomainError::invalid(field, "entries must be single lines"));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// What a person supplies to declare an incident (already parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub kind: IncidentType,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    /// The catalog service whose alerts opened this incident, if any.
    pub service_id: Option<crate::ids::ServiceId>,
    /// The alert group it collects, when its service groups by labels.
    pub group_key: Option<String>,
    /// A drill or game day: left out of analytics.
    pub drill: bool,
}

impl NewIncident {
    /// Validates raw input into a declaration.
    pub fn parse(
        title: &str,
        summary: Option<&str>,
        severity: Severity,
        kind: IncidentType,
        services: &[String],
        tags: &[String],
    ) -> Result<Self, DomainError> {
        Ok(NewIncident {
            title: parse_title(title)?,
            summary: parse_summary(summary.unwrap_or(""))?,
            severity,
            kind,
            services: parse_labels("services", services)?,
            tags: parse_labels("tags", tags)?,
            service_id: None,
            group_key: None,
            drill: false,
        })
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: IncidentId,
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    pub kind: IncidentType,
    pub status: IncidentStatus,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub commander: Option<UserId>,
    pub communications: Option<UserId>,
    pub scribe: Option<UserId>,
    /// Holders of the other roles (operations lead and the team's own), by role name.
    pub other_roles: std::collections::BTreeMap<String, UserId>,
    /// Marked restricted by a person (security incidents are restricted whatever this says).
    pub restricted: bool,
    pub created_by: Option<UserId>,
    pub service_id: Option<crate::ids::ServiceId>,
    pub group_key: Option<String>,
    /// Set when this incident was merged into another: it is resolved, its alerts and a copy
    /// of its timeline are there, and it cannot be reopened.
    pub merged_into: Option<IncidentId>,
    pub detected_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub contained_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// Field edits; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentEdit {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    pub kind: Option<IncidentType>,
    pub services: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    /// The catalog service the edited services name: the incident becomes that service's if
    /// it belongs to none yet (one that already belongs to a service keeps it).
    pub service_id: Option<crate::ids::ServiceId>,
}

impl IncidentEdit {
    pub fn is_empty(&self) -> bool {
        *self == IncidentEdit::default()
    }
}

/// One change a person makes to an existing incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    Transition(IncidentAction),
    Edit(IncidentEdit),
    /// Gives a role to a user, or takes it away (`None`). Whether a team's own role name
    /// exists is the caller's to check (it lives in the procedures).
    AssignRole {
        role: RoleName,
        user: Option<UserId>,
    },
    /// Marks the incident restricted (visible only to its participants and admins), or not.
    SetRestricted(bool),
    /// Lets a user see and work a restricted incident.
    AddParticipant {
        user: UserId,
    },
    /// Links evidence (a dashboard, a log query, a capture) to the incident.
    AddEvidence {
        url: String,
        title: String,
    },
    Note {
        body: String,
    },
    /// The answers given to a decision tree and where they led: the outcome's severity and
    /// type are applied.
    Triage(Triage),
}

/// A finished walk through a decision tree, as applied to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Triage {
    pub tree: String,
    pub steps: Vec<crate::procedures::tree::Step>,
    pub outcome: String,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    /// The playbook the outcome names, if any.
    pub playbook: Option<String>,
}

impl IncidentChange {
    /// The audit action name of this change.
    pub fn audit_action(&self) -> String {
        match self {
            IncidentChange::Transition(a) => format!("incident.{a}"),
            IncidentChange::Edit(_) => "incident.update".into(),
            IncidentChange::AssignRole { .. } => "incident.assign_role".into(),
            IncidentChange::Note { .. } => "incident.note".into(),
            IncidentChange::Triage(_) => "incident.triage".into(),
            IncidentChange::SetRestricted(_) => "incident.restrict".into(),
            IncidentChange::AddParticipant { .. } => "incident.add_participant".into(),
            IncidentChange::AddEvidence { .. } => "incident.add_evidence".into(),
        }
    }
}

/// What happened to an incident, as recorded on its timeline. The JSON form (`kind` plus
/// fields) is what the API shows and the store keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    Created {
        title: String,
        severity: Severity,
        #[serde(rename = "type")]
        kind: IncidentType,
    },
    StatusChanged {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    TypeChanged {
        from: IncidentType,
        to: IncidentType,
    },
    TitleChanged {
        from: String,
        to: String,
    },
    SummaryChanged {
        to: String,
    },
    ServicesChanged {
        from: Vec<String>,
        to: Vec<String>,
    },
    TagsChanged {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// A role was given, taken away or handed over (`from` and `to` both set).
    RoleAssigned {
        role: RoleName,
        #[schema(value_type = Option<String>)]
        from: Option<UserId>,
        #[schema(value_type = Option<String>)]
        to: Option<UserId>,
    },
    NoteAdded {
        body: String,
    },
    /// The incident was marked restricted, or the mark was taken away.
    RestrictionChanged {
        restricted: bool,
    },
    /// A user may now see and work the (restricted) incident.
    ParticipantAdded {
        #[schema(value_type = String, format = Uuid)]
        user_id: UserId,
    },
    /// Evidence linked to the incident.
    EvidenceAdded {
        url: String,
        title: String,
    },
    /// A stakeholder update was sent (or, for a customer-facing draft, recorded) to an
    /// audience; `to` names who it reached.
    UpdateSent {
        audience: String,
        template: String,
        subject: String,
        body: String,
        to: Vec<String>,
    },
    /// A stakeholder update was due and none was sent: the communications lead was reminded
    /// (`escalated`: later, the commander or the next escalation level was told).
    UpdateLate {
        escalated: bool,
        to: Vec<String>,
    },
    /// A contact list or stakeholder group was told about the incident (`reason`: the
    /// severity/type configuration or a playbook step).
    StakeholdersNotified {
        group: String,
        reason: String,
        to: Vec<String>,
    },
    /// The escalation policy a severity or type names (in the procedures) took over paging
    /// from the service's own.
    EscalationPolicyChosen {
        policy: String,
        reason: String,
    },
    /// An email to a stakeholder could not be delivered after its retries.
    StakeholderMessageFailed {
        address: String,
        subject: String,
        reason: String,
    },
    /// A person moved an alert to this incident (`moved_from`: the number of the incident it
    /// was on).
    AlertAttached {
        #[schema(value_type = String, format = Uuid)]
        alert_id: crate::ids::AlertId,
        dedup_key: String,
        summary: String,
        moved_from: Option<i64>,
    },
    /// A person took an alert off this incident (`moved_to`: the number of the incident it went to, or
    /// none: it stands alone).
    AlertDetached {
        #[schema(value_type = String, format = Uuid)]
        alert_id: crate::ids::AlertId,
        dedup_key: String,
        summary: String,
        moved_to: Option<i64>,
    },
    /// This incident was merged into another (it is resolved; the work goes on there).
    MergedInto {
        number: i64,
        title: String,
    },
    /// Another incident was merged into this one: its `alerts` moved here and its timeline's
    /// `entries` were copied here (each marked with the number it came from).
    MergedFrom {
        number: i64,
        title: String,
        alerts: u32,
        entries: u32,
    },
    /// An alert of this incident opened, repeated, was acknowledged or resolved.
    Alert {
        change: crate::alert::AlertChange,
        #[schema(value_type = String, format = Uuid)]
        alert_id: crate::ids::AlertId,
        dedup_key: String,
        summary: String,
        severity: crate::alert::AlertSeverity,
        /// The alert's count of events after this change.
        count: i64,
        /// How many events this entry records: duplicates of one alert committed together
        /// are one entry.
        #[serde(default = "one")]
        events: i64,
    },
    /// Someone answered the decision tree: the questions and answers, and the outcome.
    Triaged {
        tree: String,
        steps: Vec<crate::procedures::tree::Step>,
        outcome: String,
        severity: Severity,
        #[serde(rename = "type")]
        kind: IncidentType,
        playbook: Option<String>,
    },
    /// A playbook became the incident's checklist; `version` is its content hash.
    PlaybookAttached {
        name: String,
        title: String,
        version: String,
        steps: u32,
    },
    /// Someone confirmed an action step and its HTTP request ran: the answer (status and the
    /// start of the body) or why there was none.
    ActionRun {
        position: u32,
        title: String,
        method: String,
        url: String,
        status: Option<u16>,
        succeeded: bool,
        response: String,
    },
    /// A checklist step passed its due time: its owner was reminded (`escalated`: later, the
    /// commander was told or the next escalation level paged). `to` names who heard.
    ChecklistItemLate {
        position: u32,
        title: String,
        escalated: bool,
        to: Vec<String>,
    },
    /// A checklist item was done, skipped or opened again.
    ChecklistItemChanged {
        position: u32,
        title: String,
        state: String,
    },
    /// An escalation step paged people (`skipped` earlier steps were due during downtime and
    /// were not paged). Level and cycle count from 1.
    Paged {
        step: u32,
        level: u32,
        cycle: u32,
        skipped: u32,
        /// `escalation`, `escalate_now`, `reassign` or `restart` (reopened).
        reason: String,
        users: Vec<PagedUser>,
    },
    /// Escalation ended: `acknowledged`, `resolved`, `exhausted` (every step fired) or
    /// `no_policy` (the service's policy was removed or pages nobody).
    EscalationStopped {
        reason: String,
    },
    /// A notification reached someone (`bundled` incidents in one message).
    NotificationSent {
        #[schema(value_type = String, format = Uuid)]
        user_id: crate::UserId,
        user_name: String,
        channel: crate::contact::ContactKind,
        provider: String,
        bundled: u32,
    },
    /// A notification could not be delivered after its retries (or at all).
    NotificationFailed {
        #[schema(value_type = String, format = Uuid)]
        user_id: crate::UserId,
        user_name: String,
        channel: crate::contact::ContactKind,
        reason: String,
    },
    /// The postmortem moved: `drafted`, `revised`, `review_requested`, `signed_off`,
    /// `published`, or `late` (its due time passed; `detail` names who was reminded).
    PostmortemChanged {
        change: String,
        revision: Option<i64>,
        detail: String,
    },
    /// An action item was `added`, `updated` or reminded (`late`).
    ActionItemChanged {
        number: i64,
        title: String,
        change: String,
        status: crate::review::ActionStatus,
    },
}

/// Someone a step paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PagedUser {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::UserId,
    pub name: String,
    /// How many notification rules will reach them (0: they have none, nobody is told).
    pub rules: u32,
}

fn one() -> i64 {
    1
}

impl TimelineEvent {
    /// The `kind` word of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            TimelineEvent::Created { .. } => "created",
            TimelineEvent::StatusChanged { .. } => "status_changed",
            TimelineEvent::SeverityChanged { .. } => "severity_changed",
            TimelineEvent::TypeChanged { .. } => "type_changed",
            TimelineEvent::TitleChanged { .. } => "title_changed",
            TimelineEvent::SummaryChanged { .. } => "summary_changed",
            TimelineEvent::ServicesChanged { .. } => "services_changed",
            TimelineEvent::TagsChanged { .. } => "tags_changed",
            TimelineEvent::RoleAssigned { .. } => "role_assigned",
            TimelineEvent::NoteAdded { .. } => "note_added",
            TimelineEvent::RestrictionChanged { .. } => "restriction_changed",
            TimelineEvent::ParticipantAdded { .. } => "participant_added",
            TimelineEvent::EvidenceAdded { .. } => "evidence_added",
            TimelineEvent::UpdateSent { .. } => "update_sent",
            TimelineEvent::UpdateLate { .. } => "update_late",
            TimelineEvent::StakeholdersNotified { .. } => "stakeholders_notified",
            TimelineEvent::StakeholderMessageFailed { .. } => "stakeholder_message_failed",
            TimelineEvent::EscalationPolicyChosen { .. } => "escalation_policy_chosen",
            TimelineEvent::Alert { .. } => "alert",
            TimelineEvent::AlertAttached { .. } => "alert_attached",
            TimelineEvent::AlertDetached { .. } => "alert_detached",
            TimelineEvent::MergedInto { .. } => "merged_into",
            TimelineEvent::MergedFrom { .. } => "merged_from",
            TimelineEvent::Triaged { .. } => "triaged",
            TimelineEvent::PlaybookAttached { .. } => "playbook_attached",
            TimelineEvent::ChecklistItemChanged { .. } => "checklist_item_changed",
            TimelineEvent::ActionRun { .. } => "action_run",
            TimelineEvent::ChecklistItemLate { .. } => "checklist_item_late",
            TimelineEvent::Paged { .. } => "paged",
            TimelineEvent::EscalationStopped { .. } => "escalation_stopped",
            TimelineEvent::NotificationSent { .. } => "notification_sent",
            TimelineEvent::NotificationFailed { .. } => "notification_failed",
            TimelineEvent::PostmortemChanged { .. } => "postmortem_changed",
            TimelineEvent::ActionItemChanged { .. } => "action_item_changed",
        }
    }
}

/// The incident after a change, and the timeline events the change produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub incident: Incident,
    pub events: Vec<TimelineEvent>,
}

impl Incident {
    /// A freshly declared incident and its `created` event.
    pub fn declare(id: IncidentId, number: i64, new: NewIncident, by: Option<UserId>, at: Timestamp) -> ApplyOutcome {
        let event = TimelineEvent::Created { title: new.title.clone(), severity: new.severity, kind: new.kind };
        let incident = Incident {
            id,
            number,
            title: new.title,
            summary: new.summary,
            severity: new.severity,
            kind: new.kind,
            status: IncidentStatus::Triggered,
            services: new.services,
            tags: new.tags,
            commander: None,
            communications: None,
            scribe: None,
            other_roles: Default::default(),
            restricted: false,
            created_by: by,
            service_id: new.service_id,
            group_key: new.group_key,
            merged_into: None,
            detected_at: at,
            acknowledged_at: None,
            contained_at: None,
            resolved_at: None,
            closed_at: None,
            updated_at: at,
        };
        ApplyOutcome { incident, events: vec![event] }
    }

    /// `INC-<number>`.
    pub fn label(&self) -> String {
        label(self.number)
    }

    /// The holder of a role (built-in or the team's own, by name).
    pub fn role_holder(&self, role: &str) -> Option<UserId> {
        match role.parse::<IncidentRole>() {
            Ok(IncidentRole::Commander) => self.commander,
            Ok(IncidentRole::Communications) => self.communications,
            Ok(IncidentRole::Scribe) => self.scribe,
            _ => self.other_roles.get(role).copied(),
        }
    }

    /// Every role held, built-in ones first.
    pub fn roles(&self) -> Vec<(RoleName, UserId)> {
        let fixed = [
            (IncidentRole::Commander, self.commander),
            (IncidentRole::Communications, self.communications),
            (IncidentRole::Scribe, self.scribe),
        ];
        let mut out: Vec<(RoleName, UserId)> =
            fixed.into_iter().filter_map(|(r, u)| u.map(|u| (RoleName::from(r), u))).collect();
        let lead = IncidentRole::OperationsLead.as_str();
        let others = self.other_roles.iter().filter(|(n, _)| n.as_str() == lead);
        for (name, user) in others.chain(self.other_roles.iter().filter(|(n, _)| n.as_str() != lead)) {
            if let Ok(name) = RoleName::parse(name) {
                out.push((name, *user));
            }
        }
        out
    }

    fn set_role(&mut self, role: &RoleName, user: Option<UserId>) {
        let slot = match role.builtin() {
            Some(IncidentRole::Commander) => &mut self.commander,
            Some(IncidentRole::Communications) => &mut self.communications,
            Some(IncidentRole::Scribe) => &mut self.scribe,
            _ => {
                match user {
                    Some(u) => self.other_roles.insert(role.as_str().to_owned(), u),
                    None => self.other_roles.remove(role.as_str()),
                };
                return;
            }
        };
        *slot = user;
    }

    /// Whether only participants and admins may see it: marked restricted, or of a type
    /// whose response level says so (`restricted_kind`, security by default).
    pub fn is_restricted(&self, restricted_kind: impl Fn(IncidentType) -> bool) -> bool {
        self.restricted || restricted_kind(self.kind)
    }

    /// Whether alerts may be moved onto this incident and others merged into it: it is still
    /// being worked (not resolved or closed) and not itself merged away.
    pub fn accepts_work(&self) -> Result<(), DomainError> {
        if self.merged_into.is_some() {
            return Err(DomainError::invalid("incident", format!("{} was merged into another incident", self.label())));
        }
        if !self.status.is_open() {
            return Err(DomainError::invalid(
                "incident",
                format!("{} is {}; reopen it first or choose an open incident", self.label(), self.status),
            ));
        }
        Ok(())
    }

    /// Merges this incident into `into` at `at`: this one is resolved (if it was not) and
    /// marked merged; the outcome holds it and its events, and the event for `into`'s
    /// timeline (given the number of alerts moved and entries copied).
    pub fn merge_into(
        &self,
        into: &Incident,
        alerts: u32,
        entries: u32,
        at: Timestamp,
    ) -> Result<(ApplyOutcome, TimelineEvent), DomainError> {
        if self.id == into.id {
            return Err(DomainError::invalid("into", "an incident cannot be merged into itself"));
        }
        if self.merged_into.is_some() {
            return Err(DomainError::invalid("incident", format!("{} was already merged", self.label())));
        }
        if self.status == IncidentStatus::Closed {
            return Err(DomainError::invalid("incident", format!("{} is closed and cannot be merged", self.label())));
        }
        into.accepts_work().map_err(|e| match e {
            DomainError::Invalid { message, .. } => DomainError::Invalid { field: "into", message },
            other => other,
        })?;
        let mut next = self.clone();
        let mut events = Vec::new();
        if self.status.is_open() {
            next.status = IncidentStatus::Resolved;
            next.resolved_at = Some(at);
            events.push(TimelineEvent::StatusChanged { from: self.status, to: IncidentStatus::Resolved });
        }
        next.merged_into = Some(into.id);
        next.updated_at = at;
        events.push(TimelineEvent::MergedInto { number: into.number, title: into.title.clone() });
        let absorbed = TimelineEvent::MergedFrom { number: self.number, title: self.title.clone(), alerts, entries };
        Ok((ApplyOutcome { incident: next, events }, absorbed))
    }

    /// Applies one change at `at`, returning the new state and its timeline events, or why
    /// the change is refused. A change that changes nothing (an edit to the same values, a
    /// role given to its holder) yields no events.
    pub fn apply(&self, change: &IncidentChange, at: Timestamp) -> Result<ApplyOutcome, DomainError> {
        let mut next = self.clone();
        let mut events = Vec::new();
        match change {
            IncidentChange::Transition(action) => {
                if self.status == IncidentStatus::Closed {
                    return Err(DomainError::InvalidTransition { action: *action, from: self.status });
                }
                if *action == IncidentAction::Reopen && self.merged_into.is_some() {
                    return Err(DomainError::invalid(
                        "status",
                        "this incident was merged into another; reopen that one instead",
                    ));
                }
                let to = self.status.after(*action)?;
                next.status = to;
                match to {
                    IncidentStatus::Triggered => {
                        // Reopened: a new response cycle starts; the old one stays on the timeline.
                        next.acknowledged_at = None;
                        next.contained_at = None;
                        next.resolved_at = None;
                    }
                    IncidentStatus::Acknowledged => next.acknowledged_at = Some(at),
                    IncidentStatus::Contained => next.contained_at = Some(at),
                    IncidentStatus::Resolved => next.resolved_at = Some(at),
                    IncidentStatus::Closed => {
                        // Closing an unresolved incident resolves it at the same instant.
                        next.resolved_at.get_or_insert(at);
                        next.closed_at = Some(at);
                    }
                }
                events.push(TimelineEvent::StatusChanged { from: self.status, to });
            }
            IncidentChange::Edit(edit) => {
                if self.status == IncidentStatus::Closed {
                    return Err(DomainError::invalid("status", "a closed incident cannot be edited"));
                }
                if let Some(title) = &edit.title {
                    let title = parse_title(title)?;
                    changed(&mut next.title, title, &mut events, |from, to| TimelineEvent::TitleChanged { from, to });
                }
                if let Some(summary) = &edit.summary {
                    let summary = parse_summary(summary)?;
                    changed(&mut next.summary, summary, &mut events, |_, to| TimelineEvent::SummaryChanged { to });
                }
                if let Some(severity) = edit.severity {
                    changed(&mut next.severity, severity, &mut events, |from, to| TimelineEvent::SeverityChanged {
                        from,
                        to,
                    });
                }
                if let Some(kind) = edit.kind {
                    changed(&mut next.kind, kind, &mut events, |from, to| TimelineEvent::TypeChanged { from, to });
                }
                if let Some(services) = &edit.services {
                    let services = parse_labels("services", services)?;
                    changed(&mut next.services, services, &mut events, |from, to| TimelineEvent::ServicesChanged {
                        from,
                        to,
                    });
                }
                if let Some(tags) = &edit.tags {
                    let tags = parse_labels("tags", tags)?;
                    changed(&mut next.tags, tags, &mut events, |from, to| TimelineEvent::TagsChanged { from, to });
                }
                if next.service_id.is_none() && edit.service_id.is_some() {
                    next.service_id = edit.service_id;
                    // Becoming a catalog service's incident is a change of its services, even
                    // when the names typed are the same.
                    if !events.iter().any(|e| matches!(e, TimelineEvent::ServicesChanged { .. })) {
                        events.push(TimelineEvent::ServicesChanged {
                            from: self.services.clone(),
                            to: next.services.clone(),
                        });
                    }
                }
            }
            IncidentChange::AssignRole { role, user } => {
                if self.status == IncidentStatus::Closed {
                    return Err(DomainError::invalid("status", "roles cannot change on a closed incident"));
                }
                let from = self.role_holder(role.as_str());
                if from != *user {
                    next.set_role(role, *user);
                    events.push(TimelineEvent::RoleAssigned { role: role.clone(), from, to: *user });
                }
            }
            IncidentChange::SetRestricted(restricted) => {
                if self.restricted != *restricted {
                    next.restricted = *restricted;
                    events.push(TimelineEvent::RestrictionChanged { restricted: *restricted });
                }
            }
            IncidentChange::AddParticipant { user } => {
                events.push(TimelineEvent::ParticipantAdded { user_id: *user });
            }
            IncidentChange::AddEvidence { url, title } => {
                let url = parse_evidence_url(url)?;
                let title = clean_text("title", title, TITLE_MAX, false)?;
                if title.contains(['\n', '\r']) {
                    return Err(DomainError::invalid("title", "must be a single line"));
                }
                events.push(TimelineEvent::EvidenceAdded { url, title });
            }
            IncidentChange::Note { body } => {
                let body = parse_note(body)?;
                events.push(TimelineEvent::NoteAdded { body });
            }
            IncidentChange::Triage(t) => {
                if self.status == IncidentStatus::Closed {
                    return Err(DomainError::invalid("status", "a closed incident cannot be triaged"));
                }
                events.push(TimelineEvent::Triaged {
                    tree: t.tree.clone(),
                    steps: t.steps.clone(),
                    outcome: t.outcome.clone(),
                    severity: t.severity,
                    kind: t.kind,
                    playbook: t.playbook.clone(),
                });
                changed(&mut next.severity, t.severity, &mut events, |from, to| TimelineEvent::SeverityChanged {
                    from,
                    to,
                });
                changed(&mut next.kind, t.kind, &mut events, |from, to| TimelineEvent::TypeChanged { from, to });
            }
        }
        if !events.is_empty() {
            next.updated_at = at;
        }
        Ok(ApplyOutcome { incident: next, events })
    }
}

/// Sets `slot` to `value` and records the change, when it is one.
fn changed<T: PartialEq + Clone>(
    slot: &mut T,
    value: T,
    events: &mut Vec<TimelineEvent>,
    event: impl FnOnce(T, T) -> TimelineEvent,
) {
    if *slot != value {
        let from = std::mem::replace(slot, value.clone());
        events.push(event(from, value));
    }
}

#[cfg(test)]
mod tests;
