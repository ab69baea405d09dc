//! Post-incident review: the postmortem's review states and the rules of moving between
//! them, revision hashes, and action items (their kinds, priorities, statuses and fields).

use crate::DomainError;
use sha2::{Digest, Sha256};

/// Longest postmortem document, in bytes.
pub const POSTMORTEM_BODY_MAX: usize = 256 * 1024;
/// Most reviewers one postmortem may name.
pub const REVIEWERS_MAX: usize = 20;
/// Longest action item title, in characters.
pub const ACTION_TITLE_MAX: usize = 200;
/// Longest external link or procedures path, in characters.
pub const LINK_MAX: usize = 2_000;

crate::word_enum!(
    /// Where a postmortem is in its review: written (`draft`), read by its reviewers
    /// (`in_review`), or signed off and final (`published`, read-only until a new revision
    /// reopens review).
    PostmortemState, "state" {
        Draft => "draft",
        InReview => "in_review",
        Published => "published",
    }
);

crate::word_enum!(
    /// What an action item is: work to do, or a change to the procedures (it names a file of
    /// the procedures directory).
    ActionKind, "kind" {
        Task => "task",
        ProcedureChange => "procedure_change",
    }
);

crate::word_enum!(
    /// How soon an action item matters.
    ActionPriority, "priority" {
        Urgent => "urgent",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
);

crate::word_enum!(
    /// An action item's progress; `done` and `wont_do` close it.
    ActionStatus, "status" {
        Open => "open",
        InProgress => "in_progress",
        Done => "done",
        WontDo => "wont_do",
    }
);

impl ActionStatus {
    /// Done or won't do.
    pub fn is_closed(self) -> bool {
        matches!(self, ActionStatus::Done | ActionStatus::WontDo)
    }
}

/// The hash a revision is signed off by: SHA-256 of its title (one line, see
/// [`parse_postmortem_title`]), a newline and its body, in hex.
pub fn revision_hash(title: &str, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update(b"\n");
    h.update(body.as_bytes());
    hex::encode(h.finalize())
}

/// A checked postmortem title (one line, 1 to 200 characters).
pub fn parse_postmortem_title(title: &str) -> Result<String, DomainError> {
    crate::incident::parse_title(title)
}

/// A checked postmortem document: at most [`POSTMORTEM_BODY_MAX`] bytes, no control
/// characters but tab and line breaks.
pub fn parse_postmortem_body(body: &str) -> Result<String, DomainError> {
    if body.len() > POSTMORTEM_BODY_MAX {
        return Err(DomainError::invalid("body", format!("at most {} KiB", POSTMORTEM_BODY_MAX / 1024)));
    }
    if body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(DomainError::invalid("body", "must not contain control characters"));
    }
    Ok(body.replace("\r\n", "\n"))
}

/// Whether a postmortem in `from` may be sent to review, given its reviewers.
pub fn check_request_review(from: PostmortemState, reviewers: usize) -> Result<(), DomainError> {
    if from == PostmortemState::Published {
        return Err(DomainError::invalid("state", "the postmortem is published; save a new revision to reopen review"));
    }
    if reviewers == 0 {
        return Err(DomainError::invalid("reviewers", "name at least one reviewer"));
    }
    if reviewers > REVIEWERS_MAX {
        return Err(DomainError::invalid("reviewers", format!("at most {REVIEWERS_MAX} reviewers")));
    }
    Ok(())
}

/// A reviewer's sign-off as the publish rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOff {
    pub reviewer: String,
    /// The revision hash they signed, if they did.
    pub signed_hash: Option<String>,
}

/// Whether a postmortem may be published: it is in review, and every reviewer signed off
/// the current revision (`hash`). The error names who has not.
pub fn check_publish(state: PostmortemState, hash: &str, reviewers: &[SignOff]) -> Result<(), DomainError> {
    match state {
        PostmortemState::Published => return Err(DomainError::invalid("state", "the postmortem is already published")),
        PostmortemState::Draft => {
            return Err(DomainError::invalid("state", "request a review first: a draft has no sign-offs"));
        }
        PostmortemState::InReview => {}
    }
    if reviewers.is_empty() {
        return Err(DomainError::invalid("reviewers", "name at least one reviewer"));
    }
    let missing: Vec<&str> =
        reviewers.iter().filter(|r| r.signed_hash.as_deref() != Some(hash)).map(|r| r.reviewer.as_str()).collect();
    if !missing.is_empty() {
        return Err(DomainError::invalid(
            "sign_off",
            format!("waiting for the sign-off of the current revision by: {}", missing.join(", ")),
        ));
    }
    Ok(())
}

/// A checked action item title.
pub fn parse_action_title(title: &str) -> Result<String, DomainError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(DomainError::invalid("title", "must not be empty"));
    }
    if t.chars().count() > ACTION_TITLE_MAX {
        return Err(DomainError::invalid("title", format!("at most {ACTION_TITLE_MAX} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(DomainError::invalid("title", "must be a single line without control characters"));
    }
    Ok(t.to_owned())
}

/// A checked external link: an absolute `http` or `https` URL (empty means none).
pub fn parse_link(link: &str) -> Result<Option<String>, DomainError> {
    let l = link.trim();
    if l.is_empty() {
        return Ok(None);
    }
    let scheme_ok = l.starts_with("https://") || l.starts_with("http://");
    let host_ok = l.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
    if !scheme_ok || !host_ok || l.len() > LINK_MAX || l.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(DomainError::invalid("link", "an absolute http:// or https:// URL"));
    }
    Ok(Some(l.to_owned()))
}

/// A checked procedures path (`playbooks/db-failover.yaml`): relative, `/`-separated, no
/// `..`, at most [`LINK_MAX`] characters. Whether the file exists is the caller's to check.
pub fn parse_procedure_file(path: &str) -> Result<Option<String>, DomainError> {
    let p = path.trim();
    if p.is_empty() {
        return Ok(None);
    }
    let ok = p.len() <= LINK_MAX
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && !p.chars().any(|c| c.is_control());
    if !ok {
        return Err(DomainError::invalid(
            "procedure_file",
            "a path inside the procedures directory, e.g. playbooks/db.yaml",
        ));
    }
    Ok(Some(p.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_hash_covers_title_and_body() {
        let a = revision_hash("T", "body");
        assert_eq!(a.len(), 64);
        assert_ne!(a, revision_hash("T", "body "));
        assert_ne!(a, revision_hash("T2", "body"));
        // Titles are one line, so the newline after the title separates it from the body.
        assert_ne!(revision_hash("ab", "c"), revision_hash("a", "bc"));
        assert!(parse_postmortem_title("a\nb").is_err());
        assert_eq!(a, revision_hash("T", "body"));
    }

    #[test]
    fn publishing_needs_every_reviewer_on_the_current_revision() {
        let r = |name: &str, hash: Option<&str>| SignOff { reviewer: name.into(), signed_hash: hash.map(Into::into) };
        assert!(check_publish(PostmortemState::Draft, "h", &[r("Ann", Some("h"))]).is_err());
        assert!(check_publish(PostmortemState::Published, "h", &[r("Ann", Some("h"))]).is_err());
        assert!(check_publish(PostmortemState::InReview, "h", &[]).is_err());
        let err =
            check_publish(PostmortemState::InReview, "h2", &[r("Ann", Some("h")), r("Bo", Some("h2")), r("Cy", None)])
                .err()
                .unwrap_or_else(|| panic!("expected an error"))
                .to_string();
        assert!(err.contains("Ann, Cy"), "{err}");
        assert!(check_publish(PostmortemState::InReview, "h2", &[r("Ann", Some("h2")), r("Bo", Some("h2"))]).is_ok());
    }

    #[test]
    fn review_needs_reviewers_and_an_unpublished_postmortem() {
        assert!(check_request_review(PostmortemState::Draft, 0).is_err());
        assert!(check_request_review(PostmortemState::Draft, REVIEWERS_MAX + 1).is_err());
        assert!(check_request_review(PostmortemState::Published, 1).is_err());
        assert!(check_request_review(PostmortemState::Draft, 1).is_ok());
        assert!(check_request_review(PostmortemState::InReview, 2).is_ok());
    }

    #[test]
    fn fields_are_checked() {
        assert!(parse_action_title("  ").is_err());
        assert!(parse_action_title("a\nb").is_err());
        assert_eq!(parse_action_title(" Add an alert ").unwrap_or_else(|e| panic!("{e}")), "Add an alert");
        assert_eq!(parse_link("").unwrap_or_else(|e| panic!("{e}")), None);
        assert!(parse_link("javascript:alert(1)").is_err());
        assert!(parse_link("https:///x").is_err());
        assert!(parse_link("https://x y").is_err());
        assert_eq!(
            parse_link("https://jira.example/browse/OPS-1").unwrap_or_else(|e| panic!("{e}")).as_deref(),
            Some("https://jira.example/browse/OPS-1")
        );
        assert!(parse_procedure_file("../etc/passwd").is_err());
        assert!(parse_procedure_file("/abs").is_err());
        assert!(parse_procedure_file("playbooks//x.yaml").is_err());
        assert_eq!(
            parse_procedure_file("playbooks/db.yaml").unwrap_or_else(|e| panic!("{e}")).as_deref(),
            Some("playbooks/db.yaml")
        );
        assert!(parse_postmortem_body("a\u{0}b").is_err());
        assert_eq!(parse_postmortem_body("a\r\nb").unwrap_or_else(|e| panic!("{e}")), "a\nb");
        assert!(parse_postmortem_body(&"x".repeat(POSTMORTEM_BODY_MAX + 1)).is_err());
        assert!("won't".parse::<ActionStatus>().is_err());
        assert!(ActionStatus::WontDo.is_closed() && !ActionStatus::InProgress.is_closed());
    }
}
