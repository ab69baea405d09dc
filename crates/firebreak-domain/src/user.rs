//! Users, their roles and what each role may do, and the actor recorded on every change.

use crate::DomainError;
use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user may do across the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Everything, including users, tokens and the audit log.
    Admin,
    /// Works incidents: declares, acts, writes notes.
    Responder,
    /// Reads only.
    Viewer,
}

impl UserRole {
    pub const ALL: &'static [UserRole] = &[UserRole::Admin, UserRole::Responder, UserRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Responder => "responder",
            UserRole::Viewer => "viewer",
        }
    }

    /// May change incidents.
    pub fn can_respond(self) -> bool {
        matches!(self, UserRole::Admin | UserRole::Responder)
    }

    /// May manage users, tokens, and read the audit log.
    pub fn can_administer(self) -> bool {
        self == UserRole::Admin
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserRole {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(UserRole::Admin),
            "responder" => Ok(UserRole::Responder),
            "viewer" => Ok(UserRole::Viewer),
            other => Err(DomainError::invalid(
                "role",
                format!("unknown role {other:?}; expected one of: admin, responder, viewer"),
            )),
        }
    }
}

/// A syntactically plausible, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        let bad = |m: &str| DomainError::invalid("email", m.to_owned());
        if s.len() > 254 {
            return Err(bad("must be at most 254 characters"));
        }
        let (local, domain) = s.split_once('@').ok_or_else(|| bad("must look like name@example.com"))?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'(),;:\\[]".contains(c))
        {
            return Err(bad("must look like name@example.com"));
        }
        Ok(Email(s))
    }
}

impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated display name: 1 to 100 characters, one line.
pub fn parse_name(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::invalid("name", "must not be empty"));
    }
    if v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be one line of at most 100 characters"));
    }
    Ok(v.to_owned())
}

/// A password that is acceptable to set.
pub fn check_new_password(value: &str) -> Result<(), DomainError> {
    let n = value.chars().count();
    if n < 12 {
        return Err(DomainError::invalid("password", "must be at least 12 characters"));
    }
    if n > 1024 {
        return Err(DomainError::invalid("password", "must be at most 1024 characters"));
    }
    Ok(())
}

/// Through which door a change came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Api,
    Web,
    Cli,
    /// Offline `firebreak admin` commands on the database.
    Admin,
    System,
    /// A signed one-click link from a notification.
    Link,
    /// A reply to an SMS.
    Sms,
    /// A button in Slack.
    Slack,
    /// A button in Telegram.
    Telegram,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Web => "web",
            Via::Cli => "cli",
            Via::Admin => "admin",
            Via::System => "system",
            Via::Link => "link",
            Via::Sms => "sms",
            Via::Slack => "slack",
            Via::Telegram => "telegram",
        }
    }
}

/// Who made a change, as recorded on the timeline and in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<UserId>,
    /// A display name snapshot, so records stay readable if the user is renamed.
    pub name: String,
    pub via: Via,
}

impl Actor {
    pub fn user(user_id: UserId, name: impl Into<String>, via: Via) -> Self {
        Actor { user_id: Some(user_id), name: name.into(), via }
    }

    pub fn system(name: impl Into<String>, via: Via) -> Self {
        Actor { user_id: None, name: name.into(), via }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!("  Ada@Example.COM ".parse::<Email>().map(|e| e.to_string()), Ok("ada@example.com".into()));
        for bad in ["", "ada", "@x.io", "ada@", "a@b@c", "a b@c.io", "a@.io", "<a>@x.io"] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn permissions() {
        assert!(UserRole::Admin.can_respond() && UserRole::Admin.can_administer());
        assert!(UserRole::Responder.can_respond() && !UserRole::Responder.can_administer());
        assert!(!UserRole::Viewer.can_respond() && !UserRole::Viewer.can_administer());
    }

    #[test]
    fn passwords_and_names() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("correct horse battery").is_ok());
        assert!(parse_name(" ").is_err());
        assert!(parse_name("a\u{0}b").is_err());
        assert_eq!(parse_name(" Ada "), Ok("Ada".into()));
    }
}
