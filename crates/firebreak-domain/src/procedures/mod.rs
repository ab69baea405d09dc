//! Procedures as code: the files a team keeps in Git — severity decision trees, playbooks,
//! contact lists, update templates, drill scenarios — parsed and checked here, with every problem reported as
//! `file:line: message`. Pure code: callers read the files and pass their text in.

pub mod directory;
pub mod drill;
pub mod playbook;
pub mod postmortem;
pub mod template;
pub mod tree;

use std::fmt;

/// One problem in a procedure file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureError {
    pub file: String,
    /// 1-based; 0 when the problem has no one place (an empty file).
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ProcedureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

/// The line a spanned YAML value starts on (0 when unknown).
pub(crate) fn line_of<T>(v: &marked_yaml::Spanned<T>) -> usize {
    v.span().start().map(|m| m.line()).unwrap_or(0)
}

/// Turns a YAML or shape error into a located problem.
pub(crate) fn yaml_error(file: &str, e: marked_yaml::FromYamlError) -> ProcedureError {
    use marked_yaml::FromYamlError;
    let (line, message) = match &e {
        FromYamlError::ParseYaml(load) => (0, load.to_string()),
        FromYamlError::FromNode(node) => {
            let line = node.start_mark().map(|m| m.line()).unwrap_or(0);
            (line, node.to_string())
        }
        #[allow(unreachable_patterns)]
        _ => (0, e.to_string()),
    };
    // The loader's own messages carry their position already; keep the text plain.
    let line = if line == 0 { first_number_after(&message, "line ").unwrap_or(0) } else { line };
    ProcedureError { file: file.to_owned(), line, message }
}

fn first_number_after(text: &str, word: &str) -> Option<usize> {
    let rest = &text[text.find(word)? + word.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A domain error's message without its field name.
pub(crate) fn domain_message(e: &crate::DomainError) -> String {
    match e {
        crate::DomainError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
