//! Severity decision trees: questions whose answers lead to further questions or to an
//! outcome (a severity, a type, optionally a playbook). A tree is checked as a whole — no
//! cycles, no dead ends, nothing unreachable, no unknown names — and then walked one answer at
//! a time.
//!
//! ```yaml
//! name: severity
//! start: impact
//! questions:
//!   impact:
//!     text: Are customers affected right now?
//!     answers:
//!       - answer: Yes
//!         next: scope
//!       - answer: No
//!         outcome: low
//! outcomes:
//!   low: { severity: low, type: other }
//! ```

use super::{ProcedureError, line_of, yaml_error};
use crate::{DomainError, IncidentType, Severity};
use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TreeFile {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    start: Spanned<String>,
    questions: HashMap<Spanned<String>, Spanned<QuestionFile>>,
    outcomes: HashMap<Spanned<String>, Spanned<OutcomeFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    text: Spanned<String>,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    answers: Vec<Spanned<AnswerFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    answer: Spanned<String>,
    #[serde(default)]
    next: Option<Spanned<String>>,
    #[serde(default)]
    outcome: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeFile {
    severity: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    playbook: Option<Spanned<String>>,
    #[serde(default)]
    summary: Option<String>,
}

/// Where an answer leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Leads {
    Question(String),
    Outcome(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub answer: String,
    pub leads: Leads,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub help: Option<String>,
    pub answers: Vec<Answer>,
}

/// What a walk through the tree ends in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    pub id: String,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    /// The playbook to attach (by name), if any.
    pub playbook: Option<String>,
    pub summary: Option<String>,
}

/// A checked decision tree. Only [`DecisionTree::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionTree {
    pub name: String,
    pub description: String,
    pub start: String,
    /// By id.
    pub questions: BTreeMap<String, Question>,
    pub outcomes: BTreeMap<String, Outcome>,
    /// Where each playbook reference is (name → line), for checks against the playbooks.
    #[serde(skip)]
    playbook_lines: Vec<(String, usize)>,
}

/// One question asked and the answer given, as the timeline records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub question: String,
    pub answer: String,
}

/// Where a walk stands after some answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Walk {
    /// This question is next.
    Ask { path: Vec<Step>, question: Question },
    /// The answers reached an outcome.
    Done { path: Vec<Step>, outcome: Outcome },
}

/// Questions and outcomes a tree may hold at most (keeps walks and checks small).
pub const MAX_NODES: usize = 500;

impl DecisionTree {
    /// Parses and checks a tree file. `file` names it in the problems; `fallback_name` (the
    /// file's stem) names a tree without `name`.
    pub fn parse(file: &str, text: &str, fallback_name: &str) -> Result<DecisionTree, Vec<ProcedureError>> {
        let raw: TreeFile = marked_yaml::from_yaml(0, text).map_err(|e| vec![yaml_error(file, e)])?;
        let mut errors = Vec::new();
        let mut err =
            |line: usize, message: String| errors.push(ProcedureError { file: file.to_owned(), line, message });

        if raw.questions.len() + raw.outcomes.len() > MAX_NODES {
            err(0, format!("a tree holds at most {MAX_NODES} questions and outcomes"));
        }
        let mut outcomes = BTreeMap::new();
        let mut playbook_lines = Vec::new();
        for (key, o) in sorted(&raw.outcomes) {
            let id = key.as_str();
            let severity = o.severity.parse::<Severity>();
            let kind = o.kind.parse::<IncidentType>();
            if let Err(e) = &severity {
                err(line_of(&o.severity), format!("outcome {id:?}: {}", super::domain_message(e)));
            }
            if let Err(e) = &kind {
                err(line_of(&o.kind), format!("outcome {id:?}: {}", super::domain_message(e)));
            }
            if let Some(p) = &o.playbook {
                playbook_lines.push((p.to_string(), line_of(p)));
            }
            if let (Ok(severity), Ok(kind)) = (severity, kind) {
                let outcome = Outcome {
                    id: id.to_owned(),
                    severity,
                    kind,
                    playbook: o.playbook.as_ref().map(|p| p.to_string()),
                    summary: o.summary.clone(),
                };
                outcomes.insert(id.to_owned(), outcome);
            }
        }
        let mut questions = BTreeMap::new();
        for (key, q) in sorted(&raw.questions) {
            let id = key.as_str();
            if q.text.trim().is_empty() {
                err(line_of(&q.text), format!("question {id:?} has no text"));
            }
            if q.answers.is_empty() {
                err(line_of(q), format!("question {id:?} is a dead end: it has no answers"));
            }
            let mut answers = Vec::new();
            for (n, a) in q.answers.iter().enumerate() {
                let which = format!("question {id:?}, answer {} ({:?})", n + 1, a.answer.as_str());
                let leads = match (&a.next, &a.outcome) {
                    (Some(next), None) => {
                        if !raw.questions.keys().any(|k| k.as_str() == next.as_str()) {
                            err(
                                line_of(next),
                                format!("{which}: `next` names an unknown question {:?}", next.as_str()),
                            );
                        }
                        Leads::Question(next.to_string())
                    }
                    (None, Some(outcome)) => {
                        if !raw.outcomes.keys().any(|k| k.as_str() == outcome.as_str()) {
                            err(line_of(outcome), format!("{which}: unknown outcome {:?}", outcome.as_str()));
                        }
                        Leads::Outcome(outcome.to_string())
                    }
                    (Some(_), Some(_)) => {
                        err(line_of(a), format!("{which}: give either `next` or `outcome`, not both"));
                        continue;
                    }
                    (None, None) => {
                        err(line_of(a), format!("{which} is a dead end: give `next` (a question) or `outcome`"));
                        continue;
                    }
                };
                answers.push(Answer { answer: a.answer.to_string(), leads });
            }
            let question = Question { id: id.to_owned(), text: q.text.to_string(), help: q.help.clone(), answers };
            questions.insert(id.to_owned(), question);
        }
        if !raw.questions.keys().any(|k| k.as_str() == raw.start.as_str()) {
            err(line_of(&raw.start), format!("`start` names an unknown question {:?}", raw.start.as_str()));
        }

        // Cycles, and what the start reaches.
        let line_of_question =
            |id: &str| raw.questions.iter().find(|(k, _)| k.as_str() == id).map(|(k, _)| line_of(k)).unwrap_or(0);
        let mut reached: HashSet<String> = HashSet::new();
        let mut reached_outcomes: HashSet<String> = HashSet::new();
        if questions.contains_key(raw.start.as_str()) {
            // Depth-first with an explicit stack: (question, next answer index); `on_path` finds
            // the back edges that close a cycle.
            let mut stack: Vec<(String, usize)> = vec![(raw.start.to_string(), 0)];
            let mut on_path: Vec<String> = vec![raw.start.to_string()];
            reached.insert(raw.start.to_string());
            let mut cycles_seen: HashSet<Vec<String>> = HashSet::new();
            while let Some((id, i)) = stack.pop() {
                let Some(q) = questions.get(&id) else {
                    on_path.pop();
                    continue;
                };
                if i >= q.answers.len() {
                    on_path.pop();
                    continue;
                }
                stack.push((id.clone(), i + 1));
                match &q.answers[i].leads {
                    Leads::Outcome(o) => {
                        reached_outcomes.insert(o.clone());
                    }
                    Leads::Question(next) => {
                        if let Some(pos) = on_path.iter().position(|p| p == next) {
                            let mut cycle: Vec<String> = on_path[pos..].to_vec();
                            cycle.push(next.clone());
                            let mut key = cycle[..cycle.len() - 1].to_vec();
                            key.sort();
                            if cycles_seen.insert(key) {
                                err(line_of_question(&id), format!("cycle: {}", cycle.join(" → ")));
                            }
                        } else if reached.insert(next.clone()) {
                            stack.push((next.clone(), 0));
                            on_path.push(next.clone());
                        }
                    }
                }
            }
            for id in questions.keys() {
                if !reached.contains(id) {
                    err(line_of_question(id), format!("question {id:?} cannot be reached from the start"));
                }
            }
            for id in raw.outcomes.keys() {
                if !reached_outcomes.contains(id.as_str()) {
                    err(line_of(id), format!("outcome {:?} is never reached", id.as_str()));
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        let name = raw.name.map(|n| n.to_string()).unwrap_or_else(|| fallback_name.to_owned());
        Ok(DecisionTree {
            name,
            description: raw.description.unwrap_or_default(),
            start: raw.start.to_string(),
            questions,
            outcomes,
            playbook_lines,
        })
    }

    /// Playbooks the outcomes name that are not in `known`, as problems in `file`.
    pub fn unknown_playbooks(&self, file: &str, known: &[&str]) -> Vec<ProcedureError> {
        self.playbook_lines
            .iter()
            .filter(|(name, _)| !known.contains(&name.as_str()))
            .map(|(name, line)| ProcedureError {
                file: file.to_owned(),
                line: *line,
                message: format!("unknown playbook {name:?}"),
            })
            .collect()
    }

    /// Follows `answers` (each the index of an answer, from 0) from the start.
    pub fn walk(&self, answers: &[usize]) -> Result<Walk, DomainError> {
        let mut path = Vec::new();
        let mut current = self.question(&self.start)?;
        for (n, &choice) in answers.iter().enumerate() {
            let answer = current.answers.get(choice).ok_or_else(|| {
                DomainError::invalid(
                    "answers",
                    format!("answer {} does not exist for {:?} (it has {})", choice, current.id, current.answers.len()),
                )
            })?;
            path.push(Step { question: current.text.clone(), answer: answer.answer.clone() });
            match &answer.leads {
                Leads::Question(next) => current = self.question(next)?,
                Leads::Outcome(o) => {
                    if n + 1 != answers.len() {
                        return Err(DomainError::invalid("answers", "more answers than questions on this path"));
                    }
                    let outcome =
                        self.outcomes.get(o).cloned().ok_or_else(|| DomainError::invalid("answers", "no outcome"))?;
                    return Ok(Walk::Done { path, outcome });
                }
            }
        }
        Ok(Walk::Ask { path, question: current.clone() })
    }

    /// Like [`DecisionTree::walk`], with answers given by their text (as a person or a CLI
    /// sends them; case and surrounding spaces do not matter).
    pub fn walk_by_text(&self, answers: &[String]) -> Result<Walk, DomainError> {
        let mut indexes = Vec::new();
        let mut current = self.question(&self.start)?;
        for given in answers {
            let wanted = given.trim().to_lowercase();
            let i = current.answers.iter().position(|a| a.answer.to_lowercase() == wanted).ok_or_else(|| {
                let choices: Vec<&str> = current.answers.iter().map(|a| a.answer.as_str()).collect();
                DomainError::invalid(
                    "answers",
                    format!(
                        "{given:?} is not an answer to {:?}; expected one of: {}",
                        current.text,
                        choices.join(", ")
                    ),
                )
            })?;
            indexes.push(i);
            match &current.answers[i].leads {
                Leads::Question(next) => current = self.question(next)?,
                Leads::Outcome(_) => break,
            }
        }
        if indexes.len() != answers.len() {
            return Err(DomainError::invalid("answers", "more answers than questions on this path"));
        }
        self.walk(&indexes)
    }

    fn question(&self, id: &str) -> Result<&Question, DomainError> {
        self.questions.get(id).ok_or_else(|| DomainError::invalid("tree", format!("no question {id:?}")))
    }
}

/// Map entries in file order.
fn sorted<V>(map: &HashMap<Spanned<String>, Spanned<V>>) -> Vec<(&Spanned<String>, &Spanned<V>)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by_key(|(k, _)| (line_of(*k), k.to_string()));
    v
}

/// The tree that ships: customer impact, scope, data loss or security exposure, workaround.
pub const DEFAULT_TREE: &str = include_str!("default_severity.yaml");

#[cfg(test)]
mod tests;
