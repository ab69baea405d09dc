//! How people are reached: contact methods (a kind and an address, checked when parsed) and
//! notification rules (which method, how many minutes after a page).

use crate::DomainError;
use crate::ids::{ContactMethodId, NotificationRuleId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A channel a person can be reached on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Email,
    Sms,
    Voice,
    Slack,
    Teams,
    Mattermost,
    Discord,
    Telegram,
    Ntfy,
    Webhook,
}

impl ContactKind {
    pub const ALL: &'static [ContactKind] = &[
        ContactKind::Email,
        ContactKind::Sms,
        ContactKind::Voice,
        ContactKind::Slack,
        ContactKind::Teams,
        ContactKind::Mattermost,
        ContactKind::Discord,
        ContactKind::Telegram,
        ContactKind::Ntfy,
        ContactKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Sms => "sms",
            ContactKind::Voice => "voice",
            ContactKind::Slack => "slack",
            ContactKind::Teams => "teams",
            ContactKind::Mattermost => "mattermost",
            ContactKind::Discord => "discord",
            ContactKind::Telegram => "telegram",
            ContactKind::Ntfy => "ntfy",
            ContactKind::Webhook => "webhook",
        }
    }

    /// What the address is, for forms and error messages.
    pub fn address_hint(self) -> &'static str {
        match self {
            ContactKind::Email => "an email address",
            ContactKind::Sms | ContactKind::Voice => "a phone number in international form, e.g. +14155550100",
            ContactKind::Slack => "a Slack incoming-webhook URL, or a member or channel ID (U…, C…) for the bot",
            ContactKind::Teams => "a Teams Workflows webhook URL",
            ContactKind::Mattermost => "a Mattermost incoming-webhook URL",
            ContactKind::Discord => "a Discord webhook URL",
            ContactKind::Telegram => "a Telegram chat ID (a number)",
            ContactKind::Ntfy => "an ntfy topic name, or a topic URL on your own ntfy server",
            ContactKind::Webhook => "an http(s) URL that receives signed JSON",
        }
    }

    /// The address, checked and normalised for this kind.
    pub fn parse_address(self, value: &str) -> Result<String, DomainError> {
        let v = value.trim();
        let bad = || DomainError::invalid("address", format!("expected {}", self.address_hint()));
        if v.is_empty() || v.len() > 500 || v.chars().any(char::is_control) {
            return Err(bad());
        }
        match self {
            ContactKind::Email => v.parse::<crate::Email>().map(|e| e.as_str().to_owned()).map_err(|_| bad()),
            ContactKind::Sms | ContactKind::Voice => {
                let digits = v.strip_prefix('+').ok_or_else(bad)?;
                let digits: String = digits.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
                if (8..=15).contains(&digits.len())
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && !digits.starts_with('0')
                {
                    Ok(format!("+{digits}"))
                } else {
                    Err(bad())
                }
            }
            ContactKind::Slack => {
                if is_http_url(v) {
                    return Ok(v.to_owned());
                }
                let id_like = (2..=32).contains(&v.len())
                    && v.starts_with(['U', 'W', 'C', 'G', 'D'])
                    && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if id_like { Ok(v.to_owned()) } else { Err(bad()) }
            }
            ContactKind::Teams | ContactKind::Mattermost | ContactKind::Discord | ContactKind::Webhook => {
                if is_http_url(v) { Ok(v.to_owned()) } else { Err(bad()) }
            }
            ContactKind::Telegram => {
                let n = v.strip_prefix('-').unwrap_or(v);
                if !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(v.to_owned())
                } else {
                    Err(bad())
                }
            }
            ContactKind::Ntfy => {
                if is_http_url(v) {
                    return Ok(v.to_owned());
                }
                let ok = v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok { Ok(v.to_owned()) } else { Err(bad()) }
            }
        }
    }
}

fn is_http_url(v: &str) -> bool {
    let rest = v.strip_prefix("https://").or_else(|| v.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.contains('@') && !r.chars().any(char::is_whitespace)
    })
}

impl fmt::Display for ContactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContactKind::ALL.iter().copied().find(|k| k.as_str() == s).ok_or_else(|| {
            let words: Vec<&str> = ContactKind::ALL.iter().map(|k| k.as_str()).collect();
            DomainError::invalid("kind", format!("expected one of {}", words.join(", ")))
        })
    }
}

/// One of a user's contact methods. Only verified methods are notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ContactMethod {
    pub id: ContactMethodId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: crate::UserId,
    pub kind: ContactKind,
    /// A name the person gives it ("work phone").
    pub label: String,
    pub address: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<crate::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: crate::Timestamp,
}

/// Notify `contact_method_id` this many minutes after the person is paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NotificationRule {
    pub id: NotificationRuleId,
    pub contact_method_id: ContactMethodId,
    pub delay_minutes: u32,
}

/// Longest delay a notification rule may have.
pub const MAX_RULE_DELAY_MINUTES: u32 = 240;

/// Checks a rule's delay.
pub fn parse_rule_delay(minutes: i64) -> Result<u32, DomainError> {
    u32::try_from(minutes)
        .ok()
        .filter(|m| *m <= MAX_RULE_DELAY_MINUTES)
        .ok_or_else(|| DomainError::invalid("delay_minutes", format!("0 to {MAX_RULE_DELAY_MINUTES} minutes")))
}

/// Checks a contact method's label (optional, one line, at most 100 characters).
pub fn parse_label(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.chars().count() > 100 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid("label", "at most 100 characters on one line"));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_per_kind() {
        let ok = [
            (ContactKind::Email, "Ann@Example.com", "ann@example.com"),
            (ContactKind::Sms, "+1 (415) 555-0100", "+14155550100"),
            (ContactKind::Voice, "+4930123456", "+4930123456"),
            (ContactKind::Slack, "U012ABCDEF", "U012ABCDEF"),
            (ContactKind::Slack, "https://hooks.slack.com/services/T/B/x", "https://hooks.slack.com/services/T/B/x"),
            (ContactKind::Telegram, "-100123456", "-100123456"),
            (ContactKind::Ntfy, "team-pager_1", "team-pager_1"),
            (ContactKind::Webhook, "http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"),
        ];
        for (kind, input, want) in ok {
            assert_eq!(kind.parse_address(input).as_deref(), Ok(want), "{kind} {input}");
        }
        let bad = [
            (ContactKind::Email, "not an email"),
            (ContactKind::Sms, "4155550100"),
            (ContactKind::Sms, "+0123456789"),
            (ContactKind::Sms, "+1234"),
            (ContactKind::Voice, "+1415555010a"),
            (ContactKind::Slack, "#general"),
            (ContactKind::Teams, "ftp://example.com/x"),
            (ContactKind::Discord, "https://user@evil/"),
            (ContactKind::Webhook, "https:// spaced.example"),
            (ContactKind::Telegram, "@someone"),
            (ContactKind::Ntfy, "topic with spaces"),
            (ContactKind::Mattermost, "https://example.com/\nx"),
            (ContactKind::Email, ""),
        ];
        for (kind, input) in bad {
            let err = kind.parse_address(input).expect_err(input);
            assert!(err.to_string().starts_with("address: expected"), "{err}");
        }
    }

    #[test]
    fn kinds_round_trip_and_unknown_kinds_list_the_choices() {
        for kind in ContactKind::ALL {
            assert_eq!(kind.as_str().parse::<ContactKind>(), Ok(*kind));
        }
        let err = "pager".parse::<ContactKind>().expect_err("unknown");
        assert!(err.to_string().contains("email, sms, voice"), "{err}");
    }

    #[test]
    fn rule_delays_and_labels_are_bounded() {
        assert_eq!(parse_rule_delay(0), Ok(0));
        assert_eq!(parse_rule_delay(240), Ok(240));
        assert!(parse_rule_delay(-1).is_err());
        assert!(parse_rule_delay(241).is_err());
        assert_eq!(parse_label("  work phone "), Ok("work phone".to_owned()));
        assert!(parse_label(&"x".repeat(101)).is_err());
        assert!(parse_label("a\u{7}b").is_err());
    }
}
