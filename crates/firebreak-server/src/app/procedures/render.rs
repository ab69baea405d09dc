//! Stakeholder updates: templates rendered in a sandbox with the incident's fields, the
//! composer's preview, and the recipients an update goes to.
//!
//! The sandbox: a minijinja environment with no loader (so `include`, `import` and `extends`
//! find nothing), strict undefined values (a typo is an error, not an empty string), a fuel
//! limit on the work a template may do and a cap on what it may output. Values are data:
//! an incident title like `{{ 7*7 }}` or `<script>` is printed as written, never evaluated;
//! wherever an update becomes HTML it goes through the safe Markdown renderer, which shows raw
//! HTML as text.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::procedures::ProcedureError;
use firebreak_domain::procedures::directory::{ListMember, Procedures};
use firebreak_domain::procedures::template::UpdateTemplate;
use firebreak_domain::{Incident, Timestamp};
use serde::Serialize;

/// Template work allowed per render (minijinja fuel).
pub const FUEL: u64 = 200_000;
/// Largest rendered body, in bytes.
pub const OUTPUT_MAX: usize = 64 * 1024;
/// Longest message a sender may add, in characters.
pub const MESSAGE_MAX: usize = 10_000;

/// A sandboxed environment: no loader, strict undefined values, limited fuel and recursion.
pub fn sandbox(fuel: u64) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(20);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env
}

/// The incident as templates see it (`incident.…`).
#[derive(Debug, Clone, Serialize)]
pub struct IncidentFields {
    pub number: i64,
    pub label: String,
    pub title: String,
    pub summary: String,
    pub severity: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    /// `2026-11-27 09:12 UTC`.
    pub detected_at: String,
    /// How long since detection (or until resolution), e.g. `1h 05m`.
    pub duration: String,
    pub url: String,
    pub commander: String,
    pub communications: String,
}

/// Everything a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateContext {
    pub incident: IncidentFields,
    /// What the sender wrote in the composer.
    pub message: String,
    /// When the next update is due (empty when no cadence applies).
    pub next_update: String,
    pub audience: String,
    /// `2026-11-27 09:40 UTC`.
    pub now: String,
}

fn show(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn duration(from: Timestamp, to: Timestamp) -> String {
    let minutes = (to - from).num_minutes().max(0);
    if minutes >= 60 { format!("{}h {:02}m", minutes / 60, minutes % 60) } else { format!("{minutes}m") }
}

impl UpdateContext {
    /// The context for `incident` now; `names` resolves role holders to names.
    pub fn new(
        incident: &Incident,
        base_url: &str,
        names: impl Fn(Option<firebreak_domain::UserId>) -> String,
        message: &str,
        next_update: Option<Timestamp>,
        now: Timestamp,
    ) -> UpdateContext {
        UpdateContext {
            incident: IncidentFields {
                number: incident.number,
                label: incident.label(),
                title: incident.title.clone(),
                summary: incident.summary.clone(),
                severity: incident.severity.to_string(),
                kind: incident.kind.to_string(),
                status: incident.status.to_string(),
                services: incident.services.clone(),
                tags: incident.tags.clone(),
                detected_at: show(incident.detected_at),
                duration: duration(incident.detected_at, incident.resolved_at.unwrap_or(now)),
                url: format!("{base_url}/incidents/{}", incident.number),
                commander: names(incident.commander),
                communications: names(incident.communications),
            },
            message: message.trim().to_owned(),
            next_update: next_update.map(show).unwrap_or_default(),
            audience: String::new(),
            now: show(now),
        }
    }

    /// A made-up incident to check templates with.
    pub fn sample() -> UpdateContext {
        let now = firebreak_domain::time::now();
        let new = firebreak_domain::NewIncident::parse(
            "Checkout is failing",
            Some("Card payments time out."),
            firebreak_domain::Severity::Critical,
            firebreak_domain::IncidentType::Outage,
            &["checkout".to_owned()],
            &[],
        )
        .unwrap_or_else(|_| unreachable!("the sample incident is valid"));
        let incident = Incident::declare(firebreak_domain::IncidentId::new(), 1, new, None, now).incident;
        UpdateContext::new(
            &incident,
            "https://firebreak.example",
            |_| "Alex".into(),
            "We are failing over.",
            Some(now),
            now,
        )
    }
}

/// A rendered update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// A document template as the sandbox renders it: a one-line head (an update's subject, a
/// postmortem's title) and a body, from `file`, whose body starts on `body_line`.
pub struct DocumentTemplate<'a> {
    pub file: String,
    pub head: &'a str,
    pub body: &'a str,
    pub body_line: usize,
    /// What it is, for the size error ("update", "postmortem").
    pub what: &'static str,
}

/// Renders a document template with `ctx` in the sandbox (`fuel` work, at most `max` bytes of
/// body): the head on one line (at most 200 characters) and the body. An error says where, as
/// a file problem at the template's line.
pub fn render_document(
    t: &DocumentTemplate<'_>,
    ctx: minijinja::Value,
    fuel: u64,
    max: usize,
) -> Result<(String, String), ProcedureError> {
    let env = sandbox(fuel);
    let problem = |line: usize, e: &minijinja::Error| ProcedureError {
        file: t.file.clone(),
        line,
        message: match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        },
    };
    let head = env.render_str(t.head, ctx.clone()).map_err(|e| problem(1, &e))?;
    let head: String = head.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
    let body = env
        .render_str(t.body, ctx)
        .map_err(|e| problem(e.line().map(|l| l + t.body_line - 1).unwrap_or(t.body_line), &e))?;
    if body.len() > max {
        return Err(ProcedureError {
            file: t.file.clone(),
            line: t.body_line,
            message: format!("the {} is longer than {} KiB", t.what, max / 1024),
        });
    }
    Ok((head, body))
}

/// Renders an update template; an error says where (as a file problem).
pub fn render(t: &UpdateTemplate, ctx: &UpdateContext) -> Result<Rendered, ProcedureError> {
    let mut ctx = ctx.clone();
    ctx.audience = t.audience.to_string();
    let doc = DocumentTemplate {
        file: format!("templates/{}", t.name),
        head: &t.subject,
        body: &t.body,
        body_line: t.body_line,
        what: "update",
    };
    let (subject, body) =
        render_document(&doc, minijinja::Value::from(minijinja::value::Serde(&ctx)), FUEL, OUTPUT_MAX)?;
    Ok(Rendered { subject, body: body.trim().to_owned() })
}

/// Renders every template against a made-up incident: syntax errors, unknown variables and
/// runaway templates are reported with the file and line.
pub fn check_all(
    procedures: &Procedures,
    files: &[firebreak_domain::procedures::directory::SourceFile],
) -> Vec<ProcedureError> {
    let sample = UpdateContext::sample();
    let mut errors = Vec::new();
    for t in procedures.templates.values() {
        if let Err(mut e) = render(t, &sample) {
            // Name the real file (its extension included).
            if let Some(f) = files
                .iter()
                .find(|f| f.path.starts_with("templates/") && crate::app::procedures::stem(&f.path) == t.name)
            {
                e.file = f.path.clone();
            }
            errors.push(e);
        }
    }
    let sample = crate::app::review::draft::PostmortemContext::sample();
    for t in procedures.postmortems.values() {
        if let Err(mut e) = crate::app::review::draft::render(t, &sample) {
            if let Some(f) = files
                .iter()
                .find(|f| f.path.starts_with("postmortems/") && crate::app::procedures::stem(&f.path) == t.name)
            {
                e.file = f.path.clone();
            }
            errors.push(e);
        }
    }
    errors
}

/// Who an update to these contact lists reaches: email addresses (Firebreak users by their
/// account's address), each once, in list order.
pub async fn recipients(state: &AppState, lists: &[String]) -> ApiResult<Vec<String>> {
    let procedures = state.procedures.current();
    let mut out: Vec<String> = Vec::new();
    for name in lists {
        let list = procedures.contact_lists.get(name).ok_or_else(|| {
            ApiError::from(firebreak_domain::DomainError::invalid("to", format!("no contact list is named {name:?}")))
        })?;
        for m in &list.members {
            let address = match m {
                ListMember::Email(e) | ListMember::User(e) => e.clone(),
            };
            if !out.contains(&address) {
                out.push(address);
            }
        }
    }
    Ok(out)
}

/// Checks a sender's message.
pub fn parse_message(message: &str) -> ApiResult<String> {
    if message.chars().count() > MESSAGE_MAX {
        return Err(
            firebreak_domain::DomainError::invalid("message", format!("at most {MESSAGE_MAX} characters")).into()
        );
    }
    if message.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(firebreak_domain::DomainError::invalid("message", "must not contain control characters").into());
    }
    Ok(message.trim().to_owned())
}

#[cfg(test)]
mod tests;
