//! Webhook mappings: how a generic JSON webhook's payload becomes an alert event. Each field
//! is either a JSON pointer (`/alert/title`) or a minijinja template
//! (`{{ host }}: {{ check }} failed`), rendered in a sandbox: the payload is the only
//! context, there is no file or network access, and rendering has a fuel and size limit.

use firebreak_domain::alert::{AlertAction, AlertEvent, AlertSeverity, DedupKey, SUMMARY_MAX};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest pointer or template in a mapping.
pub const EXPRESSION_MAX: usize = 2000;
/// Template work allowed per field.
const FUEL: u64 = 50_000;

/// How a payload becomes an event. Every field is a JSON pointer (starting with `/`) or a
/// minijinja template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub summary: String,
    /// Events with the same key fold into one alert; empty means a new alert each time.
    #[serde(default)]
    pub dedup_key: String,
    /// critical, error, warning or info (also common spellings such as high or P1).
    #[serde(default)]
    pub severity: String,
    /// trigger, acknowledge or resolve (also firing, ok, resolved); empty means trigger.
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub source: String,
    /// What to keep as details; empty keeps the whole payload.
    #[serde(default)]
    pub details: String,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            summary: "{{ summary or title or message or name or 'Alert' }}".into(),
            dedup_key: "{{ dedup_key or id or '' }}".into(),
            severity: "{{ severity or priority or '' }}".into(),
            action: "{{ action or status or state or '' }}".into(),
            source: "{{ source or host or service or '' }}".into(),
            details: String::new(),
        }
    }
}

impl Mapping {
    /// Checks that every field is a valid pointer or template.
    pub fn validate(&self) -> Result<(), String> {
        let env = environment();
        for (name, expr) in self.fields() {
            if expr.chars().count() > EXPRESSION_MAX {
                return Err(format!("{name}: at most {EXPRESSION_MAX} characters"));
            }
            if !expr.starts_with('/') && !expr.is_empty() {
                env.template_from_str(expr).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        if self.summary.trim().is_empty() {
            return Err("summary: must not be empty".into());
        }
        Ok(())
    }

    fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("summary", &self.summary),
            ("dedup_key", &self.dedup_key),
            ("severity", &self.severity),
            ("action", &self.action),
            ("source", &self.source),
            ("details", &self.details),
        ]
    }

    /// Turns a payload into an event, or says which field failed.
    pub fn apply(&self, payload: &Value) -> Result<AlertEvent, String> {
        let env = environment();
        let text = |name: &str, expr: &str| -> Result<String, String> {
            if expr.is_empty() {
                return Ok(String::new());
            }
            if expr.starts_with('/') {
                return Ok(match payload.pointer(expr) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                });
            }
            let ctx = minijinja::Value::from(minijinja::value::Serde(payload));
            let out = env.render_str(expr, ctx).map_err(|e| format!("{name}: {e}"))?;
            Ok(out.trim().to_owned())
        };
        let summary: String = text("summary", &self.summary)?.chars().take(SUMMARY_MAX).collect();
        if summary.is_empty() {
            return Err("summary: the mapping gave an empty summary for this payload".into());
        }
        let dedup_key = match text("dedup_key", &self.dedup_key)? {
            k if k.is_empty() => None,
            k => Some(DedupKey::parse(&k).map_err(|e| format!("dedup_key: {e}"))?),
        };
        let action = match text("action", &self.action)?.to_ascii_lowercase().as_str() {
            "" | "trigger" | "firing" | "alerting" | "problem" | "down" | "critical" => AlertAction::Trigger,
            "acknowledge" | "ack" | "acknowledged" => AlertAction::Acknowledge,
            "resolve" | "resolved" | "ok" | "recovery" | "up" | "closed" => AlertAction::Resolve,
            other => return Err(format!("action: {other:?} is not trigger, acknowledge or resolve")),
        };
        if action != AlertAction::Trigger && dedup_key.is_none() {
            return Err("dedup_key: acknowledging or resolving needs a dedup key".into());
        }
        let severity_text = text("severity", &self.severity)?;
        let severity = severity_of(Some(&severity_text).filter(|s| !s.is_empty()).map(String::as_str));
        let source: String = text("source", &self.source)?.chars().take(SUMMARY_MAX).collect();
        let details = if self.details.is_empty() {
            payload.clone()
        } else if self.details.starts_with('/') {
            payload.pointer(&self.details).cloned().unwrap_or(Value::Null)
        } else {
            Value::String(text("details", &self.details)?)
        };
        Ok(AlertEvent {
            action,
            dedup_key,
            summary,
            source: if source.is_empty() { "webhook".into() } else { source },
            severity,
            details,
            occurred_at: None,
        })
    }
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(20);
    env
}

/// Maps the `severity` label's common spellings onto alert severities (default: warning).
pub fn severity_of(label: Option<&str>) -> AlertSeverity {
    match label.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical" | "crit" | "page" | "p1" | "fatal" | "emergency" | "disaster") => AlertSeverity::Critical,
        Some("error" | "err" | "high" | "major" | "p2") => AlertSeverity::Error,
        Some("info" | "informational" | "low" | "minor" | "none" | "ok" | "p4" | "p5") => AlertSeverity::Info,
        _ => AlertSeverity::Warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firebreak_domain::alert::AlertSeverity;
    use serde_json::json;

    #[test]
    fn the_default_mapping_reads_common_fields() {
        let e = Mapping::default()
            .apply(&json!({"title": "Disk 95%", "id": "disk-db1", "severity": "high", "host": "db1"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((e.summary.as_str(), e.source.as_str(), e.severity), ("Disk 95%", "db1", AlertSeverity::Error));
        assert_eq!(e.dedup_key.as_ref().map(DedupKey::as_str), Some("disk-db1"));
        assert_eq!(e.action, AlertAction::Trigger);
    }

    #[test]
    fn pointers_and_templates() {
        let m = Mapping {
            summary: "{{ check.name }} failed on {{ check.host }}".into(),
            dedup_key: "/check/id".into(),
            severity: "/level".into(),
            action: "/state".into(),
            source: "/check/host".into(),
            details: "/check".into(),
        };
        m.validate().unwrap_or_else(|e| panic!("{e}"));
        let payload = json!({"check": {"id": 7, "name": "ping", "host": "web1"}, "level": "critical", "state": "ok"});
        let e = m.apply(&payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.summary, "ping failed on web1");
        assert_eq!(e.dedup_key.as_ref().map(DedupKey::as_str), Some("7"));
        assert_eq!((e.severity, e.action), (AlertSeverity::Critical, AlertAction::Resolve));
        assert_eq!(e.details["name"], "ping");
    }

    #[test]
    fn bad_mappings_and_payloads_are_explained() {
        let broken = Mapping { summary: "{{ unclosed".into(), ..Mapping::default() };
        assert!(broken.validate().is_err_and(|e| e.starts_with("summary:")));
        let m = Mapping { summary: "/missing".into(), ..Mapping::default() };
        assert!(m.apply(&json!({})).is_err_and(|e| e.contains("empty summary")));
        let m = Mapping { action: "/a".into(), ..Mapping::default() };
        assert!(m.apply(&json!({"title": "t", "a": "explode"})).is_err_and(|e| e.starts_with("action:")));
        assert!(m.apply(&json!({"title": "t", "a": "resolve"})).is_err_and(|e| e.starts_with("dedup_key:")));
    }

    #[test]
    fn templates_run_in_a_sandbox() {
        // Runaway loops run out of fuel instead of hanging the server.
        let m = Mapping {
            summary: "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}".into(),
            ..Mapping::default()
        };
        assert!(m.apply(&json!({})).is_err());
        // No file access: include/import have no loader.
        let m = Mapping { summary: "{% include '/etc/passwd' %}".into(), ..Mapping::default() };
        assert!(m.apply(&json!({})).is_err());
        // Output is text; HTML in payloads is kept as text (escaped where it is shown).
        let m = Mapping { summary: "{{ title }}".into(), ..Mapping::default() };
        let e = m.apply(&json!({"title": "<script>x</script>"})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.summary, "<script>x</script>");
    }
}
