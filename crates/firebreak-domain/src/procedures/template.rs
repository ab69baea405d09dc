//! Stakeholder update templates: `templates/NAME.md.j2` (minijinja, rendered in a sandbox by
//! the server) with optional YAML front matter:
//!
//! ```text
//! ---
//! audience: executive          # internal (default), executive or customer
//! subject: "{{ incident.label }}: {{ incident.title }}"
//! to: [executives]             # contact lists it goes to unless the sender picks others
//! ---
//! **{{ incident.label }}** is {{ incident.status }}. {{ message }}
//! ```
//!
//! Without front matter the audience comes from the name (`customer…` → customer, `exec…` →
//! executive, anything else internal). Customer-facing updates are drafts: Firebreak records
//! them on the timeline for someone to publish; it does not send them.

use super::playbook::split_front_matter;
use super::{ProcedureError, line_of, yaml_error};
use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};

crate::word_enum!(
    /// Who an update is written for.
    Audience, "audience" {
        Internal => "internal",
        Executive => "executive",
        Customer => "customer",
    }
);

/// The subject used when a template gives none.
pub const DEFAULT_SUBJECT: &str =
    "[{{ incident.severity }}] {{ incident.label }} {{ incident.title }}: {{ audience }} update";

/// A checked update template (its minijinja syntax is the renderer's to check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UpdateTemplate {
    pub name: String,
    pub audience: Audience,
    pub description: String,
    /// The subject line, itself a template.
    pub subject: String,
    /// Contact lists the update goes to by default.
    pub to: Vec<String>,
    /// The body template (below the front matter).
    pub body: String,
    /// The file line the body starts on (to report render errors where they are).
    #[serde(skip)]
    pub body_line: usize,
    /// Where each `to` list is named, for cross-file checks.
    #[serde(skip)]
    pub to_lines: Vec<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(default)]
    audience: Option<Spanned<String>>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    to: Vec<Spanned<String>>,
}

/// Largest template body, in bytes.
pub const TEMPLATE_MAX: usize = 64 * 1024;

/// A template file's front matter (`T`'s fields; the default when it has none), its body and
/// the file line the body starts on. YAML problems are reported at their file line.
pub(crate) fn front_matter<'t, T: serde::de::DeserializeOwned + Default>(
    path: &str,
    text: &'t str,
) -> Result<(T, &'t str, usize), Vec<ProcedureError>> {
    match split_front_matter(text) {
        Some((front, body)) => {
            let raw: T = marked_yaml::from_yaml(0, front).map_err(|e| {
                let mut e = yaml_error(path, e);
                if e.line > 0 {
                    e.line += 1;
                }
                vec![e]
            })?;
            Ok((raw, body, front.lines().count() + 3))
        }
        None => Ok((T::default(), text, 1)),
    }
}

impl UpdateTemplate {
    /// Parses `text` (the file at `path`) as the template `name`.
    pub fn parse(path: &str, name: &str, text: &str) -> Result<UpdateTemplate, Vec<ProcedureError>> {
        let err = |line: usize, message: String| vec![ProcedureError { file: path.to_owned(), line, message }];
        if text.len() > TEMPLATE_MAX {
            return Err(err(0, format!("a template is at most {} KiB", TEMPLATE_MAX / 1024)));
        }
        let (raw, body, body_line) = front_matter::<FrontMatter>(path, text)?;
        let audience = match &raw.audience {
            Some(a) => a.trim().parse::<Audience>().map_err(|e| err(line_of(a) + 1, super::domain_message(&e)))?,
            None if name.starts_with("customer") => Audience::Customer,
            None if name.starts_with("exec") => Audience::Executive,
            None => Audience::Internal,
        };
        let subject = raw.subject.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if subject.as_deref().is_some_and(|s| s.contains(['\n', '\r'])) {
            return Err(err(2, "`subject` is one line".into()));
        }
        if body.trim().is_empty() {
            return Err(err(body_line, "the template has no body".into()));
        }
        Ok(UpdateTemplate {
            name: name.to_owned(),
            audience,
            description: raw.description.unwrap_or_default(),
            subject: subject.unwrap_or_else(|| DEFAULT_SUBJECT.to_owned()),
            to_lines: raw.to.iter().map(|t| line_of(t) + 1).collect(),
            to: raw.to.iter().map(|t| t.trim().to_owned()).collect(),
            body: body.to_owned(),
            body_line,
        })
    }

    /// Whether updates from it are sent (internal, executive) or only recorded as drafts to
    /// publish by hand (customer-facing).
    pub fn is_draft(&self) -> bool {
        self.audience == Audience::Customer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_optional_and_names_say_the_audience() {
        let t = UpdateTemplate::parse(
            "templates/customer-initial.md.j2",
            "customer-initial",
            "We are on it: {{ message }}",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (t.audience, t.is_draft(), t.subject.as_str(), t.body_line),
            (Audience::Customer, true, DEFAULT_SUBJECT, 1)
        );
        let t = UpdateTemplate::parse("templates/exec.md.j2", "exec", "x").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.audience, Audience::Executive);
        let text = "---\naudience: internal\nsubject: \"{{ incident.label }} update\"\nto: [executives, eng]\n---\nBody {{ message }}\n";
        let t =
            UpdateTemplate::parse("templates/customer-x.md.j2", "customer-x", text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.audience, Audience::Internal, "the front matter wins over the name");
        assert_eq!(t.to, ["executives", "eng"]);
        assert_eq!(t.to_lines, [4, 4]);
        assert_eq!(t.body, "Body {{ message }}\n");
        assert_eq!(t.body_line, 6);
    }

    #[test]
    fn bad_templates_say_where() {
        let e = |text: &str| {
            UpdateTemplate::parse("templates/t.md.j2", "t", text)
                .err()
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            e("---\naudience: board\n---\nx"),
            ["templates/t.md.j2:2: unknown audience \"board\"; expected one of: internal, executive, customer"]
        );
        assert_eq!(e("---\nsubject: x\n---\n  \n"), ["templates/t.md.j2:4: the template has no body"]);
        assert!(e("---\nwho: me\n---\nx")[0].starts_with("templates/t.md.j2:2: "), "{:?}", e("---\nwho: me\n---\nx"));
        assert_eq!(e(&"x".repeat(TEMPLATE_MAX + 1)), ["templates/t.md.j2: a template is at most 64 KiB"]);
    }
}
