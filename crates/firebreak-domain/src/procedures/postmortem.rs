//! Postmortem templates: `postmortems/NAME.md` (Markdown with minijinja, rendered in the
//! same sandbox as update templates) with optional YAML front matter:
//!
//! ```text
//! ---
//! description: The blameless default.
//! title: "Postmortem: {{ incident.label }} {{ incident.title }}"
//! ---
//! # {{ incident.label }}: {{ incident.title }}
//! ```
//!
//! A severity or an incident type in `config.yaml` may name the template its incidents'
//! postmortems start from (`postmortem: NAME`); the built-in blameless template
//! ([`DEFAULT_NAME`]) serves when none is named or the directory has none.

use super::ProcedureError;
use serde::{Deserialize, Serialize};

/// The built-in template's name.
pub const DEFAULT_NAME: &str = "blameless";
/// The built-in template's text (also shipped as `docs/procedures-example/postmortems/blameless.md`).
pub const DEFAULT_TEXT: &str = include_str!("default_postmortem.md");
/// The title used when a template gives none.
pub const DEFAULT_TITLE: &str = "Postmortem: {{ incident.label }} {{ incident.title }}";
/// Largest template, in bytes.
pub const POSTMORTEM_MAX: usize = 64 * 1024;

/// A checked postmortem template (its minijinja syntax is the renderer's to check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostmortemTemplate {
    pub name: String,
    pub description: String,
    /// The postmortem's title, itself a template (one line).
    pub title: String,
    /// The document template (below the front matter).
    pub body: String,
    /// The file line the body starts on (to report render errors where they are).
    #[serde(skip)]
    pub body_line: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

impl PostmortemTemplate {
    /// Parses `text` (the file at `path`) as the template `name`.
    pub fn parse(path: &str, name: &str, text: &str) -> Result<PostmortemTemplate, Vec<ProcedureError>> {
        let err = |line: usize, message: String| vec![ProcedureError { file: path.to_owned(), line, message }];
        if text.len() > POSTMORTEM_MAX {
            return Err(err(0, format!("a postmortem template is at most {} KiB", POSTMORTEM_MAX / 1024)));
        }
        let (raw, body, body_line) = super::template::front_matter::<FrontMatter>(path, text)?;
        let title = raw.title.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if title.as_deref().is_some_and(|s| s.contains(['\n', '\r'])) {
            return Err(err(2, "`title` is one line".into()));
        }
        if body.trim().is_empty() {
            return Err(err(body_line, "the postmortem template has no body".into()));
        }
        Ok(PostmortemTemplate {
            name: name.to_owned(),
            description: raw.description.unwrap_or_default(),
            title: title.unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
            body: body.to_owned(),
            body_line,
        })
    }

    /// The built-in blameless template.
    pub fn builtin() -> PostmortemTemplate {
        PostmortemTemplate::parse("(built-in)/postmortems/blameless.md", DEFAULT_NAME, DEFAULT_TEXT)
            .unwrap_or_else(|_| unreachable!("the built-in postmortem template is checked by its tests"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_template_is_blameless_and_complete() {
        let t = PostmortemTemplate::builtin();
        assert_eq!(t.name, "blameless");
        assert!(t.title.contains("{{ incident.label }}"));
        for section in [
            "## Summary",
            "## Impact",
            "## Timeline",
            "## Contributing factors",
            "## What went well",
            "## What went badly",
            "## Where we got lucky",
            "## Action items",
        ] {
            assert!(t.body.contains(section), "the default has {section}");
        }
        assert!(t.body.contains("Blameless"));
    }

    #[test]
    fn templates_are_checked_with_file_lines() {
        let bad = |text: &str| {
            PostmortemTemplate::parse("postmortems/x.md", "x", text).map_err(|e| (e[0].line, e[0].message.clone()))
        };
        assert!(matches!(bad("---\ntitle: \"a\"\n---\n   \n"), Err((4, m)) if m.contains("no body")));
        assert!(matches!(bad("---\ncolour: red\n---\nbody\n"), Err((2, _))));
        assert!(matches!(bad(&"x".repeat(POSTMORTEM_MAX + 1)), Err((0, m)) if m.contains("KiB")));
        let ok = PostmortemTemplate::parse("postmortems/short.md", "short", "# {{ incident.title }}\n")
            .map_err(|e| e[0].message.clone());
        assert_eq!(ok.as_ref().map(|t| (t.title.as_str(), t.body_line)), Ok((DEFAULT_TITLE, 1)));
    }
}
