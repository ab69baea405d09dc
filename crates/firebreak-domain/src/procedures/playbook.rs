//! Playbooks (standard operating procedures): Markdown files whose YAML front matter says which
//! incidents they fit (types, severities, services, tags) and lists steps by phase. A matching
//! playbook becomes an incident's checklist; the incident keeps the playbook's content hash.
//!
//! ```markdown
//! ---
//! name: major-outage
//! title: Major outage
//! match: { types: [outage], severities: [critical, high] }
//! steps:
//!   containment:
//!     - task: Freeze deploys
//!       role: operations_lead
//!       due: 10m
//!     - action: Fail over the primary database
//!       request: { method: POST, url: "https://ops.example.com/failover",
//!                  headers: { Authorization: "Bearer ${secret:OPS_TOKEN}" } }
//!   communication:
//!     - update: customer-initial
//!       due: 15m
//!     - notify: executives
//! ---
//! Anything below the front matter is shown with the checklist.
//! ```

use super::{ProcedureError, line_of, yaml_error};
use crate::{IncidentType, Severity, Timestamp};
use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// The phases steps belong to, in the order a response moves through them.
pub const PHASES: &[&str] = &["containment", "investigation", "resolution", "communication", "review"];

/// Header names whose values must be secret references (`${secret:NAME}`), never literals.
const SENSITIVE_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: Spanned<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "match")]
    matches: Option<Spanned<MatchFile>>,
    #[serde(default)]
    roles: HashMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default)]
    steps: HashMap<Spanned<String>, Vec<Spanned<StepFile>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchFile {
    #[serde(default)]
    types: Vec<Spanned<String>>,
    #[serde(default)]
    severities: Vec<Spanned<String>>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    #[serde(default)]
    task: Option<Spanned<String>>,
    #[serde(default)]
    notify: Option<Spanned<String>>,
    #[serde(default)]
    action: Option<Spanned<String>>,
    #[serde(default)]
    update: Option<Spanned<String>>,
    #[serde(default)]
    role: Option<Spanned<String>>,
    #[serde(default)]
    due: Option<Spanned<String>>,
    #[serde(default)]
    request: Option<Spanned<RequestFile>>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    #[serde(default = "post")]
    method: String,
    url: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    body: Option<String>,
}

fn post() -> String {
    "POST".into()
}

/// Which incidents a playbook fits: every list given must contain the incident's value (an
/// empty list matches anything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaybookMatch {
    pub types: Vec<IncidentType>,
    pub severities: Vec<Severity>,
    pub services: Vec<String>,
    pub tags: Vec<String>,
}

/// An HTTP request an action step makes once a person confirms it. Header values may hold
/// `${secret:NAME}` references, resolved by the server when it runs the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
}

/// What a step is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// A checkbox.
    Task,
    /// Notify a contact list or stakeholder group (by name).
    Notify { list: String },
    /// An HTTP request, run only after a person confirms it.
    Action { request: ActionRequest },
    /// A stakeholder update from a template (by name).
    Update { template: String },
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlaybookStep {
    pub phase: String,
    pub title: String,
    pub kind: StepKind,
    /// The incident role that owns it (`commander`, `communications`, …, or a custom role).
    pub role: Option<String>,
    /// When it is due, counted from the declaration.
    pub due_minutes: Option<u32>,
    pub description: Option<String>,
}

/// A checked playbook. Only [`Playbook::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Playbook {
    pub name: String,
    pub title: String,
    pub matches: PlaybookMatch,
    /// Checklists of custom roles (role → items).
    pub role_checklists: BTreeMap<String, Vec<String>>,
    pub steps: Vec<PlaybookStep>,
    /// The Markdown below the front matter.
    pub body: String,
    /// SHA-256 of the file's bytes: the version an incident ran.
    pub content_hash: String,
    /// Contact lists, templates and secrets the steps name (for checks against the directory).
    #[serde(skip)]
    references: Vec<Reference>,
}

/// Something a playbook names that must exist elsewhere in the procedures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: ReferenceKind,
    pub name: String,
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    ContactList,
    Template,
    Secret,
    /// A response role (built-in or declared in `config.yaml`).
    Role,
}

/// The phase of the items of role checklists.
pub const ROLE_PHASE: &str = "roles";

/// A checklist item made from a step for one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub position: u32,
    pub phase: String,
    pub title: String,
    pub kind: StepKind,
    pub role: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
}

/// Steps a playbook may hold at most.
pub const MAX_STEPS: usize = 200;

/// Parses `10m`, `2h`, `1d`, `90` (minutes) into minutes.
pub fn parse_due(text: &str) -> Option<u32> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u32 = digits.parse().ok()?;
    let minutes = match unit.trim() {
        "" | "m" | "min" => n,
        "h" => n.checked_mul(60)?,
        "d" => n.checked_mul(24 * 60)?,
        _ => return None,
    };
    (minutes <= 30 * 24 * 60).then_some(minutes)
}

/// The `${secret:NAME}` references in a text.
pub fn secret_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${secret:") {
        let after = &rest[i + 9..];
        match after.find('}') {
            Some(j) => {
                out.push(after[..j].to_owned());
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `---\nfront matter\n---\nbody` into (front matter, the line it starts on, body).
pub(crate) fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

impl Playbook {
    /// Parses and checks a playbook: Markdown with YAML front matter (`.md`), or the front
    /// matter alone (`.yaml`). Problems are reported against `file` with their lines.
    pub fn parse(file: &str, text: &str) -> Result<Playbook, Vec<ProcedureError>> {
        let located = |line: usize, message: String| ProcedureError { file: file.to_owned(), line, message };
        let is_yaml = file.ends_with(".yaml") || file.ends_with(".yml");
        let (front, body, first_line) = if is_yaml {
            (text, "", 1)
        } else {
            let Some((front, body)) = split_front_matter(text) else {
                return Err(vec![located(1, "a playbook starts with YAML front matter between `---` lines".into())]);
            };
            (front, body, 2)
        };
        let raw: FrontMatter = marked_yaml::from_yaml(0, front).map_err(|e| {
            let mut e = yaml_error(file, e);
            if e.line > 0 {
                e.line += first_line - 1;
            }
            vec![e]
        })?;
        let mut errors = Vec::new();
        let shift = |line: usize| if line > 0 { line + first_line - 1 } else { 0 };
        let mut err = |line: usize, message: String| errors.push(located(shift(line), message));

        if !valid_name(&raw.name) {
            err(line_of(&raw.name), "`name` is 1 to 64 letters, digits, `-` or `_`".into());
        }
        let mut matches = PlaybookMatch::default();
        if let Some(m) = &raw.matches {
            for t in &m.types {
                match t.parse::<IncidentType>() {
                    Ok(v) => matches.types.push(v),
                    Err(e) => err(line_of(t), format!("match: {}", super::domain_message(&e))),
                }
            }
            for s in &m.severities {
                match s.parse::<Severity>() {
                    Ok(v) => matches.severities.push(v),
                    Err(e) => err(line_of(s), format!("match: {}", super::domain_message(&e))),
                }
            }
            matches.services = m.services.iter().map(|s| s.trim().to_owned()).collect();
            matches.tags = m.tags.iter().map(|s| s.trim().to_owned()).collect();
        }
        let mut steps = Vec::new();
        let mut references = Vec::new();
        let mut phases: Vec<_> = raw.steps.iter().collect();
        phases.sort_by_key(|(phase, _)| line_of(*phase));
        for (phase, list) in phases {
            if !PHASES.contains(&phase.as_str()) {
                err(
                    line_of(phase),
                    format!("unknown phase {:?}; expected one of: {}", phase.as_str(), PHASES.join(", ")),
                );
                continue;
            }
            for s in list {
                let line = line_of(s);
                let given: Vec<&str> = [
                    s.task.as_ref().map(|_| "task"),
                    s.notify.as_ref().map(|_| "notify"),
                    s.action.as_ref().map(|_| "action"),
                    s.update.as_ref().map(|_| "update"),
                ]
                .into_iter()
                .flatten()
                .collect();
                if given.len() != 1 {
                    err(
                        line,
                        format!(
                            "a step is one of `task`, `notify`, `action` or `update` (found {})",
                            if given.is_empty() { "none".to_owned() } else { given.join(" and ") }
                        ),
                    );
                    continue;
                }
                let due_minutes = match &s.due {
                    Some(d) => match parse_due(d) {
                        Some(m) => Some(m),
                        None => {
                            err(
                                line_of(d),
                                format!(
                                    "`due` {:?}: use minutes, hours or days after the declaration, e.g. 10m, 2h, 1d",
                                    d.as_str()
                                ),
                            );
                            None
                        }
                    },
                    None => None,
                };
                let (title, kind) = if let Some(t) = &s.task {
                    (t.to_string(), StepKind::Task)
                } else if let Some(list) = &s.notify {
                    references.push(Reference {
                        kind: ReferenceKind::ContactList,
                        name: list.to_string(),
                        line: shift(line_of(list)),
                    });
                    (format!("Notify {}", list.as_str()), StepKind::Notify { list: list.to_string() })
                } else if let Some(template) = &s.update {
                    references.push(Reference {
                        kind: ReferenceKind::Template,
                        name: template.to_string(),
                        line: shift(line_of(template)),
                    });
                    (
                        format!("Send the {} update", template.as_str()),
                        StepKind::Update { template: template.to_string() },
                    )
                } else if let Some(title) = &s.action {
                    let Some(req) = &s.request else {
                        err(line_of(title), "an action step needs a `request` (method, url, headers, body)".into());
                        continue;
                    };
                    let method = req.method.trim().to_ascii_uppercase();
                    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                        err(
                            line_of(req),
                            format!("request method {:?}: use GET, POST, PUT, PATCH or DELETE", req.method),
                        );
                    }
                    let url = req.url.trim();
                    if !(url.starts_with("https://") || url.starts_with("http://"))
                        || url.chars().any(char::is_whitespace)
                    {
                        err(line_of(&req.url), "request url: an http(s) URL".into());
                    }
                    for (name, value) in &req.headers {
                        let refs = secret_references(value);
                        for r in &refs {
                            if !valid_name(r) {
                                err(
                                    line_of(value),
                                    format!("header {name}: secret reference {r:?} is not a valid name"),
                                );
                            }
                            references.push(Reference {
                                kind: ReferenceKind::Secret,
                                name: r.clone(),
                                line: shift(line_of(value)),
                            });
                        }
                        if SENSITIVE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) && refs.is_empty() {
                            err(
                                line_of(value),
                                format!("header {name}: write secrets as ${{secret:NAME}} references, never inline"),
                            );
                        }
                    }
                    let request = ActionRequest {
                        method,
                        url: url.to_owned(),
                        headers: req.headers.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
                        body: req.body.clone(),
                    };
                    (title.to_string(), StepKind::Action { request })
                } else {
                    continue;
                };
                if s.request.is_some() && !matches!(kind, StepKind::Action { .. }) {
                    err(line, "only action steps take a `request`".into());
                }
                if title.trim().is_empty() {
                    err(line, "a step needs a title".into());
                }
                if let Some(r) = &s.role {
                    references.push(Reference {
                        kind: ReferenceKind::Role,
                        name: r.trim().to_owned(),
                        line: shift(line_of(r)),
                    });
                }
                steps.push(PlaybookStep {
                    phase: phase.to_string(),
                    title,
                    kind,
                    role: s.role.as_ref().map(|r| r.trim().to_owned()),
                    due_minutes,
                    description: s.description.clone(),
                });
            }
        }
        if steps.len() > MAX_STEPS {
            err(0, format!("at most {MAX_STEPS} steps"));
        }
        if steps.is_empty() && errors.is_empty() {
            errors.push(located(shift(line_of(&raw.name)), "a playbook needs at least one step".into()));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        // Steps in phase order, then file order.
        steps.sort_by_key(|s| PHASES.iter().position(|p| *p == s.phase).unwrap_or(PHASES.len()));
        for role in raw.roles.keys() {
            references.push(Reference {
                kind: ReferenceKind::Role,
                name: role.trim().to_owned(),
                line: shift(line_of(role)),
            });
        }
        let role_checklists =
            raw.roles.iter().map(|(k, v)| (k.trim().to_owned(), v.iter().map(|i| i.to_string()).collect())).collect();
        Ok(Playbook {
            name: raw.name.to_string(),
            title: raw.title.unwrap_or_else(|| raw.name.to_string()),
            matches,
            role_checklists,
            steps,
            body: body.trim().to_owned(),
            content_hash: hex::encode(Sha256::digest(text.as_bytes())),
            references,
        })
    }

    /// What the playbook names elsewhere (contact lists, templates, secrets).
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// Whether it fits an incident; `Some(specificity)` (how many criteria it has) when it
    /// does, so the most specific of several matching playbooks can win.
    pub fn fits(&self, kind: IncidentType, severity: Severity, services: &[String], tags: &[String]) -> Option<usize> {
        let m = &self.matches;
        let any = |want: &[String], have: &[String]| {
            want.is_empty() || want.iter().any(|w| have.iter().any(|h| h.eq_ignore_ascii_case(w)))
        };
        let fits = (m.types.is_empty() || m.types.contains(&kind))
            && (m.severities.is_empty() || m.severities.contains(&severity))
            && any(&m.services, services)
            && any(&m.tags, tags);
        fits.then(|| {
            [!m.types.is_empty(), !m.severities.is_empty(), !m.services.is_empty(), !m.tags.is_empty()]
                .iter()
                .filter(|x| **x)
                .count()
        })
    }

    /// The checklist for an incident declared at `declared_at`: the steps by phase, then
    /// each role's own checklist (phase [`ROLE_PHASE`], owned by the role).
    pub fn checklist(&self, declared_at: Timestamp) -> Vec<ChecklistItem> {
        let steps = self.steps.iter().map(|s| ChecklistItem {
            position: 0,
            phase: s.phase.clone(),
            title: s.title.clone(),
            kind: s.kind.clone(),
            role: s.role.clone(),
            due_at: s.due_minutes.map(|m| declared_at + chrono::TimeDelta::minutes(i64::from(m))),
        });
        let roles = self.role_checklists.iter().flat_map(|(role, items)| {
            items.iter().map(|title| ChecklistItem {
                position: 0,
                phase: ROLE_PHASE.to_owned(),
                title: title.clone(),
                kind: StepKind::Task,
                role: Some(role.clone()),
                due_at: None,
            })
        });
        steps.chain(roles).enumerate().map(|(i, item)| ChecklistItem { position: i as u32, ..item }).collect()
    }
}

/// The playbook for an incident: the most specific that fits (ties: by name).
pub fn best_match<'a>(
    playbooks: &'a [Playbook],
    kind: IncidentType,
    severity: Severity,
    services: &[String],
    tags: &[String],
) -> Option<&'a Playbook> {
    playbooks
        .iter()
        .filter_map(|p| p.fits(kind, severity, services, tags).map(|s| (s, p)))
        .max_by(|(a, pa), (b, pb)| a.cmp(b).then_with(|| pb.name.cmp(&pa.name)))
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests;
