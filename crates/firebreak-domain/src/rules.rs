//! Triage by configuration: classification rules (ordered; the first that matches a new
//! alert sets the incident's type, severity and tags, or drops the alert) and maintenance
//! windows (while one is active, matching alerts are kept as suppressed and page nobody).
//! Both select alerts with the same matchers: every condition must hold.

use crate::DomainError;
use crate::alert::AlertEvent;
use crate::ids::ServiceId;
use crate::incident::{IncidentType, Severity, parse_labels};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// How a condition compares a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "op", content = "value")]
pub enum MatchOp {
    Equals(String),
    /// A regular expression that must match somewhere in the value (anchor it with ^…$).
    Regex(String),
    Exists,
    OneOf(Vec<String>),
}

/// One test on one field of an alert: `summary`, `source`, `severity`, `dedup_key`,
/// `labels.NAME` (Alertmanager and Grafana labels) or `details.PATH.TO.FIELD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    #[serde(flatten)]
    pub op: MatchOp,
}

/// Longest regular expression accepted.
const REGEX_MAX: usize = 1000;

impl Condition {
    /// Checks the field name and compiles the pattern.
    pub fn validate(&self) -> Result<(), DomainError> {
        let f = self.field.as_str();
        let known = matches!(f, "summary" | "source" | "severity" | "dedup_key")
            || f.strip_prefix("labels.").is_some_and(|n| !n.is_empty())
            || f.strip_prefix("details.").is_some_and(|n| !n.is_empty());
        if !known {
            return Err(DomainError::invalid(
                "field",
                format!("unknown field {f:?}; use summary, source, severity, dedup_key, labels.NAME or details.PATH"),
            ));
        }
        if let MatchOp::Regex(p) = &self.op {
            if p.len() > REGEX_MAX {
                return Err(DomainError::invalid(
                    "value",
                    format!("a pattern may have at most {REGEX_MAX} characters"),
                ));
            }
            compile(p)?;
        }
        Ok(())
    }

    fn value_of(&self, event: &AlertEvent) -> Option<String> {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        match self.field.as_str() {
            "summary" => Some(event.summary.clone()),
            "source" => Some(event.source.clone()),
            "severity" => Some(event.severity.to_string()),
            "dedup_key" => event.dedup_key.as_ref().map(|k| k.as_str().to_owned()),
            f => {
                if let Some(name) = f.strip_prefix("labels.") {
                    event.details.get("labels").and_then(|l| l.get(name)).and_then(text)
                } else if let Some(path) = f.strip_prefix("details.") {
                    let pointer = format!("/{}", path.replace('.', "/"));
                    event.details.pointer(&pointer).and_then(text)
                } else {
                    None
                }
            }
        }
    }

    /// Whether `event` passes this condition.
    pub fn matches(&self, event: &AlertEvent) -> bool {
        let value = self.value_of(event);
        match (&self.op, value) {
            (MatchOp::Exists, v) => v.is_some(),
            (_, None) => false,
            (MatchOp::Equals(want), Some(v)) => v == *want,
            (MatchOp::OneOf(wants), Some(v)) => wants.contains(&v),
            (MatchOp::Regex(p), Some(v)) => compile(p).is_ok_and(|re| re.is_match(&v)),
        }
    }
}

fn compile(pattern: &str) -> Result<regex::Regex, DomainError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| DomainError::invalid("value", format!("not a valid regular expression: {e}")))
}

/// All conditions must hold; an empty list matches everything.
pub fn all_match(conditions: &[Condition], event: &AlertEvent) -> bool {
    conditions.iter().all(|c| c.matches(event))
}

/// What a matching rule does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleActions {
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default, rename = "type")]
    pub kind: Option<IncidentType>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Drop the alert: accepted, stored nowhere, pages nobody.
    #[serde(default)]
    pub drop: bool,
}

/// A classification rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub name: String,
    /// Only alerts of this service; `None`: every service.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    /// Lower runs first.
    pub position: i64,
    pub conditions: Vec<Condition>,
    pub actions: RuleActions,
}

impl Rule {
    /// Validates a rule's parts.
    pub fn validate(&self) -> Result<(), DomainError> {
        crate::user::parse_name(&self.name)
            .map_err(|_| DomainError::invalid("name", "must be one line of 1 to 100 characters"))?;
        if self.conditions.len() > 20 {
            return Err(DomainError::invalid("conditions", "at most 20 conditions"));
        }
        self.conditions.iter().try_for_each(Condition::validate)?;
        parse_labels("tags", &self.actions.tags)?;
        if !self.actions.drop
            && self.actions.severity.is_none()
            && self.actions.kind.is_none()
            && self.actions.tags.is_empty()
        {
            return Err(DomainError::invalid("actions", "a rule must set severity, type or tags, or drop the alert"));
        }
        Ok(())
    }
}

/// The first rule that matches a new alert of `service`: the service's own rules first, then
/// global ones, each in position order.
pub fn first_match<'a>(rules: &'a [Rule], service: ServiceId, event: &AlertEvent) -> Option<&'a Rule> {
    let mut ordered: Vec<&Rule> = rules.iter().filter(|r| r.service_id.is_none_or(|s| s == service)).collect();
    ordered.sort_by_key(|r| (r.service_id.is_none(), r.position));
    ordered.into_iter().find(|r| all_match(&r.conditions, event))
}

/// How a maintenance window repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Once,
    Daily,
    Weekly,
}

/// A time range (one-off or recurring) during which matching alerts are suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MaintenanceWindow {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub name: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    pub conditions: Vec<Condition>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    pub recurrence: Recurrence,
}

impl MaintenanceWindow {
    pub fn validate(&self) -> Result<(), DomainError> {
        crate::user::parse_name(&self.name)
            .map_err(|_| DomainError::invalid("name", "must be one line of 1 to 100 characters"))?;
        if self.ends_at <= self.starts_at {
            return Err(DomainError::invalid("ends_at", "must be after starts_at"));
        }
        let length = self.ends_at - self.starts_at;
        let period = match self.recurrence {
            Recurrence::Once => None,
            Recurrence::Daily => Some(chrono::TimeDelta::days(1)),
            Recurrence::Weekly => Some(chrono::TimeDelta::weeks(1)),
        };
        if period.is_some_and(|p| length >= p) {
            return Err(DomainError::invalid("ends_at", "a recurring window must be shorter than its period"));
        }
        self.conditions.iter().try_for_each(Condition::validate)
    }

    /// Whether the window covers the instant `at` (recurring windows repeat their first
    /// occurrence every day or week, in UTC).
    pub fn is_active(&self, at: Timestamp) -> bool {
        if at < self.starts_at {
            return false;
        }
        let length = self.ends_at - self.starts_at;
        let period = match self.recurrence {
            Recurrence::Once => return at < self.ends_at,
            Recurrence::Daily => chrono::TimeDelta::days(1),
            Recurrence::Weekly => chrono::TimeDelta::weeks(1),
        };
        let since = (at - self.starts_at).num_seconds();
        let offset = since.rem_euclid(period.num_seconds());
        offset < length.num_seconds()
    }

    /// Whether this window suppresses `event` of `service` at `at`.
    pub fn suppresses(&self, service: ServiceId, event: &AlertEvent, at: Timestamp) -> bool {
        self.service_id.is_none_or(|s| s == service) && self.is_active(at) && all_match(&self.conditions, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertAction, AlertSeverity, DedupKey};
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn event() -> AlertEvent {
        AlertEvent {
            action: AlertAction::Trigger,
            dedup_key: DedupKey::parse("k1").ok(),
            summary: "Disk full on db-7".into(),
            source: "db-7".into(),
            severity: AlertSeverity::Warning,
            details: json!({"labels": {"team": "storage", "env": "prod"}, "custom_details": {"disk": {"pct": 97}}}),
            occurred_at: None,
        }
    }

    fn cond(field: &str, op: MatchOp) -> Condition {
        Condition { field: field.into(), op }
    }

    #[test]
    fn conditions_match_each_way() {
        let e = event();
        assert!(cond("source", MatchOp::Equals("db-7".into())).matches(&e));
        assert!(!cond("source", MatchOp::Equals("db-8".into())).matches(&e));
        assert!(cond("summary", MatchOp::Regex("(?i)disk full".into())).matches(&e));
        assert!(!cond("summary", MatchOp::Regex("^full".into())).matches(&e));
        assert!(cond("labels.team", MatchOp::Exists).matches(&e));
        assert!(!cond("labels.owner", MatchOp::Exists).matches(&e));
        assert!(cond("labels.env", MatchOp::OneOf(vec!["staging".into(), "prod".into()])).matches(&e));
        assert!(cond("severity", MatchOp::Equals("warning".into())).matches(&e));
        assert!(cond("details.custom_details.disk.pct", MatchOp::Equals("97".into())).matches(&e));
        assert!(cond("dedup_key", MatchOp::Equals("k1".into())).matches(&e));
        assert!(all_match(&[], &e));
    }

    #[test]
    fn bad_conditions_are_refused() {
        assert!(cond("nope", MatchOp::Exists).validate().is_err());
        assert!(cond("labels.", MatchOp::Exists).validate().is_err());
        assert!(cond("summary", MatchOp::Regex("(".into())).validate().is_err());
        assert!(cond("summary", MatchOp::Regex("a".repeat(1001))).validate().is_err());
        assert!(cond("labels.x", MatchOp::Regex("^a+$".into())).validate().is_ok());
    }

    fn rule(
        name: &str,
        service: Option<ServiceId>,
        position: i64,
        conditions: Vec<Condition>,
        actions: RuleActions,
    ) -> Rule {
        Rule { id: uuid::Uuid::new_v4(), name: name.into(), service_id: service, position, conditions, actions }
    }

    #[test]
    fn service_rules_come_before_global_rules_then_by_position() {
        let svc = ServiceId::new();
        let other = ServiceId::new();
        let sev = |s| RuleActions { severity: Some(s), ..Default::default() };
        let rules = vec![
            rule("global-first", None, 0, vec![], sev(Severity::Low)),
            rule(
                "service-late",
                Some(svc),
                5,
                vec![cond("labels.team", MatchOp::Equals("storage".into()))],
                sev(Severity::Critical),
            ),
            rule(
                "service-early-nomatch",
                Some(svc),
                1,
                vec![cond("labels.team", MatchOp::Equals("web".into()))],
                sev(Severity::High),
            ),
            rule("other-service", Some(other), 0, vec![], sev(Severity::Medium)),
        ];
        assert_eq!(first_match(&rules, svc, &event()).map(|r| r.name.as_str()), Some("service-late"));
        assert_eq!(first_match(&rules, ServiceId::new(), &event()).map(|r| r.name.as_str()), Some("global-first"));
        assert_eq!(first_match(&rules[1..3], ServiceId::new(), &event()), None);
    }

    #[test]
    fn rules_must_do_something() {
        let r = rule("noop", None, 0, vec![], RuleActions::default());
        assert!(r.validate().is_err());
        let r = rule(
            "drop noisy",
            None,
            0,
            vec![cond("source", MatchOp::Exists)],
            RuleActions { drop: true, ..Default::default() },
        );
        assert!(r.validate().is_ok());
    }

    fn at(h: u32, m: u32, day: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).single().unwrap_or_default()
    }

    fn window(recurrence: Recurrence) -> MaintenanceWindow {
        MaintenanceWindow {
            id: uuid::Uuid::new_v4(),
            name: "db upgrade".into(),
            service_id: None,
            conditions: vec![],
            starts_at: at(22, 0, 2),
            ends_at: at(23, 30, 2),
            recurrence,
        }
    }

    #[test]
    fn one_off_and_recurring_windows() {
        let once = window(Recurrence::Once);
        assert!(!once.is_active(at(21, 59, 2)));
        assert!(once.is_active(at(22, 0, 2)));
        assert!(once.is_active(at(23, 29, 2)));
        assert!(!once.is_active(at(23, 30, 2)));
        assert!(!once.is_active(at(22, 30, 3)));
        let daily = window(Recurrence::Daily);
        assert!(daily.is_active(at(22, 30, 9)));
        assert!(!daily.is_active(at(12, 0, 9)));
        assert!(!daily.is_active(at(22, 30, 1)), "not before it first starts");
        let weekly = window(Recurrence::Weekly);
        assert!(weekly.is_active(at(22, 45, 9)));
        assert!(!weekly.is_active(at(22, 45, 10)));
    }

    #[test]
    fn windows_validate_and_scope() {
        let mut w = window(Recurrence::Daily);
        w.ends_at = w.starts_at + chrono::TimeDelta::hours(25);
        assert!(w.validate().is_err(), "longer than its period");
        let mut w = window(Recurrence::Once);
        w.ends_at = w.starts_at;
        assert!(w.validate().is_err());
        let svc = ServiceId::new();
        let mut w = window(Recurrence::Once);
        w.service_id = Some(svc);
        w.conditions = vec![cond("labels.env", MatchOp::Equals("prod".into()))];
        assert!(w.suppresses(svc, &event(), at(22, 10, 2)));
        assert!(!w.suppresses(ServiceId::new(), &event(), at(22, 10, 2)));
        assert!(!w.suppresses(svc, &event(), at(10, 0, 2)));
    }
}

/// What a built-in check probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Probe {
    /// An HTTP(S) request; passes when the status is `expected_status` and the body contains
    /// `keyword` (when set). Redirects are followed up to 5 times.
    Http {
        url: String,
        #[serde(default = "default_method")]
        method: String,
        #[serde(default = "default_status")]
        expected_status: u16,
        #[serde(default)]
        keyword: Option<String>,
        /// For https: warn (a separate alert, severity warning) when the server's certificate
        /// expires within this many days; 0 turns the warning off.
        #[serde(default = "default_cert_warn_days")]
        cert_warn_days: u32,
    },
    /// A TCP connection to `host:port`.
    Tcp { address: String },
}

fn default_method() -> String {
    "GET".into()
}

fn default_status() -> u16 {
    200
}

fn default_cert_warn_days() -> u32 {
    14
}

/// A built-in check of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckDefinition {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    pub name: String,
    pub probe: Probe,
    pub interval_secs: i64,
    pub timeout_ms: i64,
    /// Consecutive failures before an alert opens.
    pub failure_threshold: i64,
}

impl CheckDefinition {
    /// Only http, https and tcp targets; sane bounds on timing.
    pub fn validate(&self) -> Result<(), DomainError> {
        crate::user::parse_name(&self.name)
            .map_err(|_| DomainError::invalid("name", "must be one line of 1 to 100 characters"))?;
        match &self.probe {
            Probe::Http { url, method, expected_status, keyword, cert_warn_days } => {
                if *cert_warn_days > 365 {
                    return Err(DomainError::invalid("cert_warn_days", "must be 0 (off) to 365 days"));
                }
                let lower = url.to_ascii_lowercase();
                let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
                if rest.is_none_or(|r| r.is_empty() || r.starts_with('/'))
                    || url.len() > 2000
                    || url.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(DomainError::invalid("url", "must be an http:// or https:// URL with a host"));
                }
                if !matches!(method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "OPTIONS") {
                    return Err(DomainError::invalid("method", "must be GET, HEAD, POST, PUT or OPTIONS"));
                }
                if !(100..=599).contains(expected_status) {
                    return Err(DomainError::invalid("expected_status", "must be an HTTP status (100 to 599)"));
                }
                if keyword.as_ref().is_some_and(|k| k.is_empty() || k.len() > 1000) {
                    return Err(DomainError::invalid("keyword", "must be 1 to 1000 characters"));
                }
            }
            Probe::Tcp { address } => {
                let ok = address.rsplit_once(':').is_some_and(|(host, port)| {
                    !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0)
                });
                if !ok || address.len() > 300 {
                    return Err(DomainError::invalid("address", "must be host:port"));
                }
            }
        }
        if !(10..=86_400).contains(&self.interval_secs) {
            return Err(DomainError::invalid("interval_secs", "must be between 10 s and 1 day"));
        }
        if !(100..=60_000).contains(&self.timeout_ms) || self.timeout_ms / 1000 >= self.interval_secs {
            return Err(DomainError::invalid("timeout_ms", "must be 100 ms to 60 s and shorter than the interval"));
        }
        if !(1..=100).contains(&self.failure_threshold) {
            return Err(DomainError::invalid("failure_threshold", "must be 1 to 100"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    fn check(probe: Probe) -> CheckDefinition {
        CheckDefinition {
            id: uuid::Uuid::new_v4(),
            service_id: ServiceId::new(),
            name: "c".into(),
            probe,
            interval_secs: 60,
            timeout_ms: 5000,
            failure_threshold: 3,
        }
    }

    #[test]
    fn only_http_https_and_tcp_targets() {
        let http = |u: &str| {
            check(Probe::Http {
                url: u.into(),
                method: "GET".into(),
                expected_status: 200,
                keyword: None,
                cert_warn_days: 14,
            })
        };
        assert!(http("https://example.com/health").validate().is_ok());
        assert!(http("http://10.0.0.1:8080/").validate().is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://x",
            "gopher://x",
            "https://",
            "http:///x",
            "javascript:alert(1)",
            "https://a b",
        ] {
            assert!(http(bad).validate().is_err(), "{bad}");
        }
        assert!(check(Probe::Tcp { address: "db:5432".into() }).validate().is_ok());
        for bad in ["db", "db:0", "db:99999", ":80", "unix:/tmp/x:1"] {
            assert!(check(Probe::Tcp { address: bad.into() }).validate().is_err(), "{bad}");
        }
        let mut c = check(Probe::Tcp { address: "db:1".into() });
        c.timeout_ms = 60_000;
        assert!(c.validate().is_err(), "timeout must be below the interval");
    }
}

/// How a service gathers new alerts into incidents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum Grouping {
    /// Every new alert joins the service's open incident.
    #[default]
    Service,
    /// Alerts with the same values of these labels join the same open incident, if it was
    /// opened within the window; others open their own.
    Labels { labels: Vec<String>, window_secs: i64 },
}

impl Grouping {
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Grouping::Labels { labels, window_secs } = self {
            if labels.is_empty() || labels.len() > 10 || labels.iter().any(|l| l.trim().is_empty() || l.len() > 100) {
                return Err(DomainError::invalid("grouping", "labels: 1 to 10 label names"));
            }
            if !(60..=7 * 86_400).contains(window_secs) {
                return Err(DomainError::invalid("grouping", "window_secs: 1 minute to 7 days"));
            }
        }
        Ok(())
    }

    /// The group an event belongs to (`None` when grouping by service).
    pub fn group_key(&self, event: &AlertEvent) -> Option<String> {
        let Grouping::Labels { labels, .. } = self else { return None };
        let values: Vec<String> = labels
            .iter()
            .map(|l| {
                let v = event
                    .details
                    .get("labels")
                    .and_then(|m| m.get(l))
                    .map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()));
                format!("{l}={}", v.unwrap_or_default())
            })
            .collect();
        Some(values.join(","))
    }

    /// How far back an open incident may have started to collect this alert.
    pub fn window(&self) -> Option<chrono::TimeDelta> {
        match self {
            Grouping::Service => None,
            Grouping::Labels { window_secs, .. } => Some(chrono::TimeDelta::seconds(*window_secs)),
        }
    }
}

#[cfg(test)]
mod grouping_tests {
    use super::*;
    use crate::alert::{AlertAction, AlertSeverity};

    #[test]
    fn label_groups() {
        let g = Grouping::Labels { labels: vec!["alertname".into(), "cluster".into()], window_secs: 600 };
        g.validate().unwrap_or_else(|e| panic!("{e}"));
        let e = |labels: serde_json::Value| AlertEvent {
            action: AlertAction::Trigger,
            dedup_key: None,
            summary: "s".into(),
            source: "x".into(),
            severity: AlertSeverity::Error,
            details: serde_json::json!({ "labels": labels }),
            occurred_at: None,
        };
        let a = g.group_key(&e(serde_json::json!({"alertname": "Down", "cluster": "eu", "instance": "1"})));
        let b = g.group_key(&e(serde_json::json!({"alertname": "Down", "cluster": "eu", "instance": "2"})));
        let c = g.group_key(&e(serde_json::json!({"alertname": "Down", "cluster": "us"})));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(Grouping::Service.group_key(&e(serde_json::json!({}))), None);
        assert!(Grouping::Labels { labels: vec![], window_secs: 600 }.validate().is_err());
        assert!(Grouping::Labels { labels: vec!["a".into()], window_secs: 1 }.validate().is_err());
    }
}
