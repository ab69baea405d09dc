//! Alerts: what monitoring tools send, normalised into [`AlertEvent`]s, and the rules that
//! fold them into alerts — deduplication by key within an integration, acknowledge and
//! resolve acting on the open alert, a resolved key opening a new alert next time — and the
//! mapping of alert severities onto incident severities.

use crate::DomainError;
use crate::ids::{AlertId, IncidentId, IntegrationId, ServiceId};
use crate::incident::Severity;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest dedup key accepted (PagerDuty's limit).
pub const DEDUP_KEY_MAX: usize = 255;
/// Keys Firebreak adds to an alert's details, kept when a duplicate refreshes them.
pub const NOTE_KEYS: &[&str] = &["matched_rule", "suppressed_by"];

/// Longest alert summary accepted (PagerDuty's limit).
pub const SUMMARY_MAX: usize = 1024;

crate::word_enum!(
    /// How alerts come in.
    IntegrationKind, "integration type" {
        Pagerduty => "pagerduty",
        Opsgenie => "opsgenie",
        Alertmanager => "alertmanager",
        Grafana => "grafana",
        Generic => "generic",
        Heartbeat => "heartbeat",
    }
);

crate::word_enum!(
    /// An alert's own severity, in PagerDuty's words.
    AlertSeverity, "severity" {
        Critical => "critical",
        Error => "error",
        Warning => "warning",
        Info => "info",
    }
);

crate::word_enum!(
    /// What an event asks for.
    AlertAction, "event_action" {
        Trigger => "trigger",
        Acknowledge => "acknowledge",
        Resolve => "resolve",
    }
);

crate::word_enum!(
    /// Where an alert is.
    AlertStatus, "status" {
        Open => "open",
        Resolved => "resolved",
        Suppressed => "suppressed",
    }
);

crate::word_enum!(
    /// What happened to an alert, as an incident's timeline tells it.
    AlertChange, "alert change" {
        Opened => "opened",
        Repeated => "repeated",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
);

impl AlertDecision {
    /// The timeline word for this decision, when it changes something.
    pub fn change(&self) -> Option<AlertChange> {
        match self {
            AlertDecision::Open => Some(AlertChange::Opened),
            AlertDecision::Duplicate => Some(AlertChange::Repeated),
            AlertDecision::Acknowledge => Some(AlertChange::Acknowledged),
            AlertDecision::Resolve => Some(AlertChange::Resolved),
            AlertDecision::Nothing => None,
        }
    }
}

impl AlertSeverity {
    /// The incident severity an alert of this severity opens: critical→critical,
    /// error→high, warning→medium, info→low.
    pub fn incident_severity(self) -> Severity {
        match self {
            AlertSeverity::Critical => Severity::Critical,
            AlertSeverity::Error => Severity::High,
            AlertSeverity::Warning => Severity::Medium,
            AlertSeverity::Info => Severity::Low,
        }
    }
}

/// A deduplication key: 1 to 255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DedupKey(String);

impl DedupKey {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::invalid("dedup_key", "must not be empty"));
        }
        if s.chars().count() > DEDUP_KEY_MAX {
            return Err(DomainError::invalid("dedup_key", format!("must be at most {DEDUP_KEY_MAX} characters")));
        }
        if s.chars().any(char::is_control) {
            return Err(DomainError::invalid("dedup_key", "must not contain control characters"));
        }
        Ok(DedupKey(s.to_owned()))
    }

    /// A fresh key, for triggers that bring none.
    pub fn generate() -> Self {
        DedupKey(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DedupKey {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DedupKey::parse(&s)
    }
}

impl From<DedupKey> for String {
    fn from(k: DedupKey) -> String {
        k.0
    }
}

/// One event from a monitoring tool, in Firebreak's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub action: AlertAction,
    /// Absent only on a trigger, which then gets a generated key.
    pub dedup_key: Option<DedupKey>,
    pub summary: String,
    pub source: String,
    pub severity: AlertSeverity,
    /// Everything else the tool sent that responders may want: custom details, component,
    /// group, class, links, images, labels.
    pub details: serde_json::Value,
    /// When the tool says the problem happened, if it says.
    pub occurred_at: Option<Timestamp>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: AlertId,
    pub service_id: ServiceId,
    pub integration_id: IntegrationId,
    pub incident_id: Option<IncidentId>,
    pub dedup_key: DedupKey,
    pub status: AlertStatus,
    pub summary: String,
    pub source: String,
    pub severity: AlertSeverity,
    /// Events folded into this alert (the first trigger counts).
    pub count: i64,
    pub details: serde_json::Value,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// What an event does, given the open alert with its key (if any).
#[derive(Debug, Clone, PartialEq)]
pub enum AlertDecision {
    /// A trigger with no open alert: a new alert.
    Open,
    /// A trigger matching an open alert: count and last-seen go up.
    Duplicate,
    /// Acknowledge the open alert (already-acknowledged alerts stay as they are).
    Acknowledge,
    /// Resolve the open alert.
    Resolve,
    /// Acknowledge or resolve with no open alert: accepted, changes nothing.
    Nothing,
}

/// Decides what `event` does when `open` is the integration's open alert with its key.
pub fn decide(open: Option<&Alert>, event: &AlertEvent) -> AlertDecision {
    match (event.action, open) {
        (AlertAction::Trigger, None) => AlertDecision::Open,
        (AlertAction::Trigger, Some(_)) => AlertDecision::Duplicate,
        (AlertAction::Acknowledge, Some(a)) if a.acknowledged_at.is_none() => AlertDecision::Acknowledge,
        (AlertAction::Acknowledge, _) => AlertDecision::Nothing,
        (AlertAction::Resolve, Some(_)) => AlertDecision::Resolve,
        (AlertAction::Resolve, None) => AlertDecision::Nothing,
    }
}

impl Alert {
    /// A new alert opened by `event` at `at`.
    pub fn open(
        service_id: ServiceId,
        integration_id: IntegrationId,
        key: DedupKey,
        event: &AlertEvent,
        at: Timestamp,
    ) -> Alert {
        Alert {
            id: AlertId::new(),
            service_id,
            integration_id,
            incident_id: None,
            dedup_key: key,
            status: AlertStatus::Open,
            summary: event.summary.clone(),
            source: event.source.clone(),
            severity: event.severity,
            count: 1,
            details: event.details.clone(),
            first_seen_at: at,
            last_seen_at: at,
            acknowledged_at: None,
            resolved_at: None,
        }
    }

    /// Applies a decided event at `at`. A duplicate refreshes summary, severity and details
    /// to the latest event's, as PagerDuty does.
    pub fn apply(&mut self, decision: &AlertDecision, event: &AlertEvent, at: Timestamp) {
        match decision {
            AlertDecision::Duplicate => {
                self.count += 1;
                self.last_seen_at = at;
                self.summary = event.summary.clone();
                self.severity = event.severity;
                let mut details = event.details.clone();
                // Firebreak's own notes (which rule matched, which window suppressed) stay.
                for key in NOTE_KEYS {
                    if let Some(note) = self.details.get(key).cloned() {
                        if !details.is_object() {
                            details = serde_json::json!({ "payload": details });
                        }
                        if let Some(map) = details.as_object_mut() {
                            map.insert((*key).to_owned(), note);
                        }
                    }
                }
                self.details = details;
            }
            AlertDecision::Acknowledge => {
                self.count += 1;
                self.last_seen_at = at;
                self.acknowledged_at = Some(at);
            }
            AlertDecision::Resolve => {
                self.count += 1;
                self.last_seen_at = at;
                self.status = AlertStatus::Resolved;
                self.resolved_at = Some(at);
            }
            AlertDecision::Open | AlertDecision::Nothing => {}
        }
    }

    /// The timeline entry recording `change` to this alert, standing for `events` events.
    pub fn timeline_event(&self, change: AlertChange, events: i64) -> crate::TimelineEvent {
        crate::TimelineEvent::Alert {
            change,
            alert_id: self.id,
            dedup_key: self.dedup_key.as_str().to_owned(),
            summary: self.summary.clone(),
            severity: self.severity,
            count: self.count,
            events,
        }
    }

    /// An incident title made from this alert's summary: one line, without the control
    /// characters a monitoring tool may send (titles refuse them).
    pub fn incident_title(&self) -> String {
        let one_line: String = self
            .summary
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let title: String = one_line.chars().take(crate::incident::TITLE_MAX).collect();
        if title.is_empty() {
            format!("Alert {}", self.dedup_key.as_str().chars().take(100).collect::<String>())
        } else {
            title
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: AlertAction) -> AlertEvent {
        AlertEvent {
            action,
            dedup_key: DedupKey::parse("k").ok(),
            summary: "disk full".into(),
            source: "db1".into(),
            severity: AlertSeverity::Error,
            details: serde_json::json!({}),
            occurred_at: None,
        }
    }

    fn alert() -> Alert {
        Alert::open(
            ServiceId::new(),
            IntegrationId::new(),
            DedupKey::parse("k").unwrap_or_else(|e| panic!("{e}")),
            &event(AlertAction::Trigger),
            crate::time::now(),
        )
    }

    #[test]
    fn decisions_follow_pagerduty() {
        let a = alert();
        assert_eq!(decide(None, &event(AlertAction::Trigger)), AlertDecision::Open);
        assert_eq!(decide(Some(&a), &event(AlertAction::Trigger)), AlertDecision::Duplicate);
        assert_eq!(decide(Some(&a), &event(AlertAction::Acknowledge)), AlertDecision::Acknowledge);
        assert_eq!(decide(None, &event(AlertAction::Acknowledge)), AlertDecision::Nothing);
        assert_eq!(decide(Some(&a), &event(AlertAction::Resolve)), AlertDecision::Resolve);
        assert_eq!(decide(None, &event(AlertAction::Resolve)), AlertDecision::Nothing);
        let mut acked = a.clone();
        acked.apply(&AlertDecision::Acknowledge, &event(AlertAction::Acknowledge), crate::time::now());
        assert_eq!(decide(Some(&acked), &event(AlertAction::Acknowledge)), AlertDecision::Nothing);
    }

    #[test]
    fn duplicates_count_and_refresh() {
        let mut a = alert();
        let mut e = event(AlertAction::Trigger);
        e.summary = "disk fuller".into();
        e.severity = AlertSeverity::Critical;
        a.apply(&AlertDecision::Duplicate, &e, crate::time::now());
        assert_eq!(
            (a.count, a.summary.as_str(), a.severity, a.status),
            (2, "disk fuller", AlertSeverity::Critical, AlertStatus::Open)
        );
        a.apply(&AlertDecision::Resolve, &event(AlertAction::Resolve), crate::time::now());
        assert_eq!((a.count, a.status), (3, AlertStatus::Resolved));
        assert!(a.resolved_at.is_some());
    }

    #[test]
    fn duplicates_keep_firebreaks_notes() {
        let mut a = alert();
        a.details = serde_json::json!({"matched_rule": {"name": "r"}, "x": 1});
        a.apply(&AlertDecision::Duplicate, &event(AlertAction::Trigger), crate::time::now());
        assert_eq!(a.details, serde_json::json!({"matched_rule": {"name": "r"}}));
    }

    #[test]
    fn severities_map_onto_incidents() {
        assert_eq!(AlertSeverity::Critical.incident_severity(), Severity::Critical);
        assert_eq!(AlertSeverity::Error.incident_severity(), Severity::High);
        assert_eq!(AlertSeverity::Warning.incident_severity(), Severity::Medium);
        assert_eq!(AlertSeverity::Info.incident_severity(), Severity::Low);
    }

    #[test]
    fn dedup_keys_are_checked() {
        assert!(DedupKey::parse("").is_err());
        assert!(DedupKey::parse(&"x".repeat(256)).is_err());
        assert!(DedupKey::parse(&"é".repeat(255)).is_ok());
        assert!(DedupKey::parse("a\nb").is_err());
        assert_ne!(DedupKey::generate(), DedupKey::generate());
    }

    #[test]
    fn titles_come_from_summaries() {
        let mut a = alert();
        a.summary = "  line one\nline two  ".into();
        assert_eq!(a.incident_title(), "line one line two");
        a.summary = "x".repeat(1000);
        assert_eq!(a.incident_title().chars().count(), crate::incident::TITLE_MAX);
        a.summary = "   ".into();
        assert_eq!(a.incident_title(), "Alert k");
        a.summary = "disk \u{1b}[31mfull\u{7}\u{85}\u{7f}!".into();
        assert_eq!(a.incident_title(), "disk [31mfull !");
        assert!(crate::incident::parse_title(&a.incident_title()).is_ok());
        a.summary = "\u{7}\u{1b}".into();
        assert_eq!(a.incident_title(), "Alert k");
    }
}
