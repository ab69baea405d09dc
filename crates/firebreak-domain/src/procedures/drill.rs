//! Drill scenarios (`drills/*.yaml`): what a game day or a tabletop exercise injects, when, and
//! what the team is expected to do by when. Parsed and checked here with every problem located
//! (`file:line`); running and scoring a drill uses the checked [`DrillScenario`].

use super::{ProcedureError, line_of, yaml_error};
use crate::Severity;
use crate::alert::AlertSeverity;
use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The longest offset an inject may have, and the longest target (a drill is a day at most).
pub const MAX_OFFSET_SECONDS: u32 = 24 * 3600;
/// Injects per scenario at most.
pub const MAX_INJECTS: usize = 100;

/// How a drill runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DrillMode {
    /// Game day: injects go through the real pipeline and page for real (marked DRILL).
    Live,
    /// Tabletop: nobody is paged; a facilitator reveals the injects.
    Tabletop,
}

impl DrillMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillMode::Live => "live",
            DrillMode::Tabletop => "tabletop",
        }
    }
}

impl std::str::FromStr for DrillMode {
    type Err = crate::DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(DrillMode::Live),
            "tabletop" => Ok(DrillMode::Tabletop),
            other => Err(crate::DomainError::invalid(
                "mode",
                format!("unknown drill mode {other:?}; expected live or tabletop"),
            )),
        }
    }
}

/// What an inject brings into the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InjectKind {
    /// An alert through the ingestion path of one of the drilled service's integrations.
    Alert {
        /// The integration's name (the service's first integration when absent).
        integration: Option<String>,
        summary: String,
        #[schema(value_type = String)]
        severity: AlertSeverity,
        /// The dedup key (one per inject when absent).
        key: Option<String>,
    },
    /// A note on the timeline, as if someone found something.
    Note { text: String },
    /// A report from outside (a customer, support), recorded on the timeline.
    CustomerReport { from: String, text: String },
    /// A prompt for the facilitator to act out ("the VP calls the commander…").
    Call { prompt: String },
}

impl InjectKind {
    pub fn label(&self) -> &'static str {
        match self {
            InjectKind::Alert { .. } => "alert",
            InjectKind::Note { .. } => "note",
            InjectKind::CustomerReport { .. } => "customer report",
            InjectKind::Call { .. } => "phone call",
        }
    }

    /// One line saying what the inject is.
    pub fn describe(&self) -> String {
        match self {
            InjectKind::Alert { summary, severity, .. } => format!("alert ({}): {summary}", severity.as_str()),
            InjectKind::Note { text } => format!("note: {text}"),
            InjectKind::CustomerReport { from, text } => format!("report from {from}: {text}"),
            InjectKind::Call { prompt } => format!("phone call: {prompt}"),
        }
    }
}

/// One inject, `at_seconds` after the drill starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Inject {
    pub at_seconds: u32,
    #[serde(flatten)]
    pub kind: InjectKind,
}

/// What the team is expected to have done, and by when (seconds after the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "expect", rename_all = "snake_case")]
pub enum Expectation {
    AcknowledgedWithin {
        seconds: u32,
    },
    CommanderWithin {
        seconds: u32,
    },
    SeverityIs {
        #[schema(value_type = String)]
        severity: Severity,
    },
    /// Checklist steps (by title) done by the end.
    StepsDone {
        steps: Vec<String>,
    },
    FirstUpdateWithin {
        seconds: u32,
    },
    StatusPageDraft,
    ContainedWithin {
        seconds: u32,
    },
}

impl Expectation {
    /// What the expectation says, for reports.
    pub fn describe(&self) -> String {
        match self {
            Expectation::AcknowledgedWithin { seconds } => format!("acknowledged within {}", duration(*seconds)),
            Expectation::CommanderWithin { seconds } => format!("commander assigned within {}", duration(*seconds)),
            Expectation::SeverityIs { severity } => format!("severity triaged as {}", severity.as_str()),
            Expectation::StepsDone { steps } => format!("checklist steps done: {}", steps.join("; ")),
            Expectation::FirstUpdateWithin { seconds } => {
                format!("first stakeholder update within {}", duration(*seconds))
            }
            Expectation::StatusPageDraft => "status page draft prepared".to_owned(),
            Expectation::ContainedWithin { seconds } => format!("contained within {}", duration(*seconds)),
        }
    }
}

/// A duration as people write it: `90s`, `5m`, `1h 30m`.
pub fn duration(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

/// A checked scenario. Only [`DrillScenario::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DrillScenario {
    /// The file's stem.
    pub name: String,
    pub title: String,
    pub description: String,
    /// The services drilled, by name (the first one's integrations take the alerts).
    pub services: Vec<String>,
    pub mode: DrillMode,
    /// The drill incident is visible to its participants (and admins) only.
    pub restricted: bool,
    /// How often the drill should run, in days (a reminder when it is due).
    pub every_days: Option<u32>,
    /// In time order.
    pub injects: Vec<Inject>,
    pub expectations: Vec<Expectation>,
    /// SHA-256 of the file's bytes: the version a drill ran.
    pub content_hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    title: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    services: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    mode: Option<Spanned<String>>,
    #[serde(default)]
    restricted: Option<bool>,
    #[serde(default)]
    every: Option<Spanned<String>>,
    #[serde(default)]
    injects: Vec<Spanned<InjectFile>>,
    #[serde(default)]
    expect: Option<Spanned<ExpectFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InjectFile {
    at: Spanned<String>,
    #[serde(default)]
    alert: Option<AlertFile>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    customer_report: Option<ReportFile>,
    #[serde(default)]
    call: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertFile {
    summary: String,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    integration: Option<String>,
    #[serde(default)]
    key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportFile {
    from: String,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    #[serde(default)]
    acknowledged_within: Option<Spanned<String>>,
    #[serde(default)]
    commander_within: Option<Spanned<String>>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    steps_done: Vec<Spanned<String>>,
    #[serde(default)]
    first_update_within: Option<Spanned<String>>,
    #[serde(default)]
    status_page_draft: Option<bool>,
    #[serde(default)]
    contained_within: Option<Spanned<String>>,
}

/// Seconds in `5s`, `15m`, `2h` (a bare number is minutes, as in playbooks).
pub fn parse_offset(text: &str) -> Option<u32> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u32 = digits.parse().ok()?;
    let seconds = match unit.trim() {
        "s" | "sec" => n,
        "" | "m" | "min" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (seconds <= MAX_OFFSET_SECONDS).then_some(seconds)
}

/// A word that may be left out (then `default`); a wrong one is a problem at its line (and
/// `default` stands in, so the rest of the file is still checked).
fn word_or<T: std::str::FromStr<Err = crate::DomainError>>(
    file: &str,
    v: &Option<Spanned<String>>,
    default: T,
    errors: &mut Vec<ProcedureError>,
) -> T {
    let Some(w) = v else { return default };
    w.parse().unwrap_or_else(|e| {
        errors.push(ProcedureError { file: file.to_owned(), line: line_of(w), message: super::domain_message(&e) });
        default
    })
}

impl DrillScenario {
    /// Parses and checks `drills/NAME.yaml`.
    pub fn parse(file: &str, name: &str, text: &str) -> Result<DrillScenario, Vec<ProcedureError>> {
        let raw: ScenarioFile = marked_yaml::from_yaml(0, text).map_err(|e| vec![yaml_error(file, e)])?;
        let mut errors = Vec::new();
        let problem = |line: usize, message: String| ProcedureError { file: file.to_owned(), line, message };
        let title = raw.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > crate::incident::LABEL_MAX {
            errors.push(problem(
                line_of(&raw.title),
                format!("`title` needs 1 to {} characters", crate::incident::LABEL_MAX),
            ));
        }
        let services: Vec<String> = raw.services.iter().map(|s| s.trim().to_owned()).collect();
        if services.is_empty() {
            errors.push(problem(line_of(&raw.services), "`services` names at least one service".into()));
        }
        for (s, v) in services.iter().zip(raw.services.iter()) {
            if s.is_empty() {
                errors.push(problem(line_of(v), "a service name is empty".into()));
            }
        }
        let mode = word_or(file, &raw.mode, DrillMode::Live, &mut errors);
        let every_days = raw.every.as_ref().and_then(|e| {
            let days = e
                .trim()
                .strip_suffix('d')
                .and_then(|d| d.trim().parse::<u32>().ok())
                .filter(|d| (1..=3660).contains(d));
            if days.is_none() {
                errors.push(problem(line_of(e), format!("`every` {:?}: use days, e.g. 90d", e.as_str())));
            }
            days
        });
        let offset = |v: &Spanned<String>, what: &str, errors: &mut Vec<ProcedureError>| {
            let s = parse_offset(v);
            if s.is_none() {
                errors.push(problem(
                    line_of(v),
                    format!("`{what}` {:?}: use seconds, minutes or hours up to 24h, e.g. 30s, 15m, 2h", v.as_str()),
                ));
            }
            s
        };
        if raw.injects.is_empty() {
            errors.push(problem(1, "a drill needs at least one inject under `injects:`".into()));
        }
        if raw.injects.len() > MAX_INJECTS {
            errors.push(problem(1, format!("a drill has at most {MAX_INJECTS} injects")));
        }
        let mut injects = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        for i in &raw.injects {
            let line = line_of(i);
            let at = offset(&i.at, "at", &mut errors);
            let given = [i.alert.is_some(), i.note.is_some(), i.customer_report.is_some(), i.call.is_some()];
            if given.iter().filter(|g| **g).count() != 1 {
                errors.push(problem(
                    line,
                    "an inject is exactly one of `alert:`, `note:`, `customer_report:` or `call:`".into(),
                ));
                continue;
            }
            let text_ok = |t: &str, what: &str, errors: &mut Vec<ProcedureError>| {
                if t.trim().is_empty() || t.chars().count() > 4000 {
                    errors.push(problem(line, format!("`{what}` needs 1 to 4000 characters")));
                }
            };
            let kind = if let Some(a) = &i.alert {
                text_ok(&a.summary, "summary", &mut errors);
                let severity = word_or(file, &a.severity, AlertSeverity::Error, &mut errors);
                let key = a.key.as_ref().map(|k| {
                    if let Err(e) = crate::alert::DedupKey::parse(k) {
                        errors.push(problem(line_of(k), super::domain_message(&e)));
                    }
                    k.to_string()
                });
                if let Some(k) = &key {
                    if keys.contains(k) {
                        // Two alerts with one key are one alert: the second only repeats it.
                        errors.push(problem(
                            a.key.as_ref().map(line_of).unwrap_or(line),
                            format!("another inject sends the key {k:?}; give each alert its own key"),
                        ));
                    }
                    keys.push(k.clone());
                }
                InjectKind::Alert {
                    integration: a.integration.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
                    summary: a.summary.trim().to_owned(),
                    severity,
                    key,
                }
            } else if let Some(n) = &i.note {
                text_ok(n, "note", &mut errors);
                InjectKind::Note { text: n.trim().to_owned() }
            } else if let Some(r) = &i.customer_report {
                text_ok(&r.from, "from", &mut errors);
                text_ok(&r.text, "text", &mut errors);
                InjectKind::CustomerReport { from: r.from.trim().to_owned(), text: r.text.trim().to_owned() }
            } else {
                let prompt = i.call.clone().unwrap_or_default();
                text_ok(&prompt, "call", &mut errors);
                InjectKind::Call { prompt: prompt.trim().to_owned() }
            };
            if let Some(at_seconds) = at {
                injects.push(Inject { at_seconds, kind });
            }
        }
        injects.sort_by_key(|i| i.at_seconds);
        let mut expectations = Vec::new();
        if let Some(e) = &raw.expect {
            let within = |v: &Option<Spanned<String>>, what: &str, errors: &mut Vec<ProcedureError>| {
                v.as_ref().and_then(|v| offset(v, what, errors))
            };
            if let Some(seconds) = within(&e.acknowledged_within, "acknowledged_within", &mut errors) {
                expectations.push(Expectation::AcknowledgedWithin { seconds });
            }
            if let Some(seconds) = within(&e.commander_within, "commander_within", &mut errors) {
                expectations.push(Expectation::CommanderWithin { seconds });
            }
            if let Some(s) = &e.severity {
                match s.parse::<Severity>() {
                    Ok(severity) => expectations.push(Expectation::SeverityIs { severity }),
                    Err(err) => errors.push(problem(line_of(s), super::domain_message(&err))),
                }
            }
            if !e.steps_done.is_empty() {
                for s in &e.steps_done {
                    if s.trim().is_empty() {
                        errors.push(problem(line_of(s), "a step title is empty".into()));
                    }
                }
                expectations
                    .push(Expectation::StepsDone { steps: e.steps_done.iter().map(|s| s.trim().to_owned()).collect() });
            }
            if let Some(seconds) = within(&e.first_update_within, "first_update_within", &mut errors) {
                expectations.push(Expectation::FirstUpdateWithin { seconds });
            }
            if e.status_page_draft == Some(true) {
                expectations.push(Expectation::StatusPageDraft);
            }
            if let Some(seconds) = within(&e.contained_within, "contained_within", &mut errors) {
                expectations.push(Expectation::ContainedWithin { seconds });
            }
            if expectations.is_empty() && errors.is_empty() {
                errors.push(problem(line_of(e), "`expect:` names nothing to score".into()));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DrillScenario {
            name: name.to_owned(),
            title,
            description: raw.description.map(|d| d.trim().to_owned()).unwrap_or_default(),
            services,
            mode,
            restricted: raw.restricted.unwrap_or(false),
            every_days,
            injects,
            expectations,
            content_hash: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }
}

#[cfg(test)]
mod tests;

/// What a drill's incident record says, for scoring: when each thing first happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrillRecord {
    pub started_at: Option<crate::Timestamp>,
    pub acknowledged_at: Option<crate::Timestamp>,
    pub commander_at: Option<crate::Timestamp>,
    pub severity: Option<Severity>,
    /// Titles of the checklist steps done.
    pub steps_done: Vec<String>,
    pub first_update_at: Option<crate::Timestamp>,
    pub status_page_draft_at: Option<crate::Timestamp>,
    pub contained_at: Option<crate::Timestamp>,
}

/// One expectation, scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExpectationScore {
    pub expectation: Expectation,
    /// What it says, for people.
    pub describe: String,
    pub met: bool,
    /// How long it took from the start (for the timed ones that happened).
    pub measured_seconds: Option<i64>,
    /// Why it was missed, when it was.
    pub missed_because: Option<String>,
}

/// Scores every expectation of `scenario` against `record`. A timed expectation is met when it
/// happened within its target of the start; one that has not happened is missed.
pub fn score(scenario: &DrillScenario, record: &DrillRecord) -> Vec<ExpectationScore> {
    let since_start = |at: Option<crate::Timestamp>| match (record.started_at, at) {
        (Some(s), Some(a)) => Some((a - s).num_seconds().max(0)),
        _ => None,
    };
    scenario
        .expectations
        .iter()
        .map(|e| {
            let timed = |at: Option<crate::Timestamp>, target: u32, what: &str| match since_start(at) {
                Some(took) if took <= i64::from(target) => (true, Some(took), None),
                Some(took) => (
                    false,
                    Some(took),
                    Some(format!(
                        "{what} after {}, target {}",
                        duration(u32::try_from(took).unwrap_or(u32::MAX)),
                        duration(target)
                    )),
                ),
                None => (false, None, Some(format!("never {what}"))),
            };
            let (met, measured_seconds, missed_because) = match e {
                Expectation::AcknowledgedWithin { seconds } => timed(record.acknowledged_at, *seconds, "acknowledged"),
                Expectation::CommanderWithin { seconds } => {
                    timed(record.commander_at, *seconds, "assigned a commander")
                }
                Expectation::FirstUpdateWithin { seconds } => {
                    timed(record.first_update_at, *seconds, "sent the first update")
                }
                Expectation::ContainedWithin { seconds } => timed(record.contained_at, *seconds, "contained"),
                Expectation::SeverityIs { severity } => match record.severity {
                    Some(s) if s == *severity => (true, None, None),
                    Some(s) => {
                        (false, None, Some(format!("triaged as {}, expected {}", s.as_str(), severity.as_str())))
                    }
                    None => (false, None, Some("no severity".to_owned())),
                },
                Expectation::StepsDone { steps } => {
                    let missing: Vec<&str> = steps
                        .iter()
                        .filter(|s| !record.steps_done.iter().any(|d| d.eq_ignore_ascii_case(s)))
                        .map(String::as_str)
                        .collect();
                    if missing.is_empty() {
                        (true, None, None)
                    } else {
                        (false, None, Some(format!("not done: {}", missing.join("; "))))
                    }
                }
                Expectation::StatusPageDraft => match since_start(record.status_page_draft_at) {
                    Some(took) => (true, Some(took), None),
                    None => (false, None, Some("no status page draft".to_owned())),
                },
            };
            ExpectationScore { expectation: e.clone(), describe: e.describe(), met, measured_seconds, missed_because }
        })
        .collect()
}
