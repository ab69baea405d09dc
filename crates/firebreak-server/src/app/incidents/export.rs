//! The timeline as a document to keep (postmortems, evidence).

use super::Directory;
use firebreak_domain::{Incident, TimelineEvent};
use firebreak_store::TimelineEntry;

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// Markdown with the incident's summary and one table row per entry, notes and triage answers
/// quoted below.
pub fn timeline_markdown(incident: &Incident, entries: &[TimelineEntry], dir: &Directory) -> String {
    let label = incident.label();
    let mut md = format!("# {label}: {}\n\n", cell(&incident.title));
    md.push_str(&format!(
        "- Severity: {}\n- Type: {}\n- Status: {}\n- Detected: {}\n",
        incident.severity,
        incident.kind,
        incident.status,
        firebreak_domain::time::canonical(incident.detected_at)
    ));
    if !incident.summary.is_empty() {
        md.push_str(&format!(
            "\n{}\n",
            incident.summary.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
        ));
    }
    md.push_str("\n## Timeline\n\n| time (UTC) | who | via | what |\n|---|---|---|---|\n");
    let mut quotes = Vec::new();
    for e in entries {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            firebreak_domain::time::canonical(e.at),
            cell(&e.actor_name),
            e.via.as_str(),
            cell(&match e.from_number {
                Some(n) =>
                    format!("(from {}) {}", firebreak_domain::incident::label(n), super::describe(&e.event, dir)),
                None => super::describe(&e.event, dir),
            })
        ));
        let quoted = match &e.event {
            TimelineEvent::NoteAdded { body } => Some(body.clone()),
            TimelineEvent::Triaged { steps, .. } => {
                Some(steps.iter().map(|s| format!("{} → {}", s.question, s.answer)).collect::<Vec<_>>().join("\n"))
            }
            _ => None,
        };
        if let Some(text) = quoted {
            quotes.push((firebreak_domain::time::canonical(e.at), e.event.kind(), text));
        }
    }
    if !quotes.is_empty() {
        md.push_str("\n## Notes and answers\n");
        for (at, kind, text) in quotes {
            md.push_str(&format!("\n**{at}** ({kind}):\n\n"));
            md.push_str(&text.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n"));
            md.push('\n');
        }
    }
    md
}
