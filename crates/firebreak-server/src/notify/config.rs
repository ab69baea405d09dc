//! The `[notify]` configuration section and the [`Notifier`] it builds: which providers send
//! email, SMS, voice and chat, with their credentials (redacted in `Debug`).

use super::Notifier;
use super::chat::{Discord, Mattermost, Slack, Teams};
use super::email::Smtp;
use super::guard::{guarded_client, provider_client};
use super::ntfy::Ntfy;
use super::telegram::Telegram;
use super::twilio::{TwilioSms, TwilioVoice};
use super::webhook::SignedWebhook;
use firebreak_domain::contact::ContactKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A credential: serialised as the plain string, printed by `Debug` as `***`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// The `[notify]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The mail relay for email contact methods; email is off without it.
    pub smtp: Option<SmtpConfig>,
    /// Tried when `smtp` fails.
    pub smtp_fallback: Option<SmtpConfig>,
    /// Twilio for SMS and voice; both are off without it.
    pub twilio: Option<TwilioConfig>,
    /// Tried when `twilio` fails.
    pub twilio_fallback: Option<TwilioConfig>,
    pub slack: SlackConfig,
    pub telegram: TelegramConfig,
    pub ntfy: NtfyConfig,
    /// Lets user-given URLs point at loopback and private networks (for labs and tests).
    pub allow_private_addresses: bool,
    /// How long pages to one person are collected into one message.
    pub bundle_seconds: u64,
    /// Delivery attempts before a notification is given up.
    pub max_attempts: u32,
    /// How long the one-click acknowledge and resolve links work.
    pub link_ttl_hours: u32,
    /// A message being sent is sent again after this long if its sender died (a crash, a
    /// replica gone) before recording the result.
    pub lease_seconds: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp: None,
            smtp_fallback: None,
            twilio: None,
            twilio_fallback: None,
            slack: SlackConfig::default(),
            telegram: TelegramConfig::default(),
            ntfy: NtfyConfig::default(),
            allow_private_addresses: false,
            bundle_seconds: 30,
            max_attempts: 8,
            link_ttl_hours: 24,
            lease_seconds: 60,
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption (a relay on the same host or network).
    None,
}

/// One mail relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender mailbox, e.g. `Firebreak <pager@example.com>`.
    pub from: String,
    /// An extra root certificate (PEM) to trust, for self-hosted relays.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_smtp_port() -> u16 {
    587
}

/// One Twilio account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    #[serde(default = "default_twilio_base_url")]
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Secret,
    /// The sending number, E.164 (`+14155550100`).
    pub from: String,
}

fn default_twilio_base_url() -> String {
    "https://api.twilio.com".to_owned()
}

/// Slack: incoming-webhook URLs need nothing; member and channel IDs need the bot token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlackConfig {
    pub api_base_url: String,
    pub bot_token: Option<Secret>,
    /// Checks the interactive callbacks (button clicks) Slack sends back.
    pub signing_secret: Option<Secret>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig { api_base_url: "https://slack.com/api".to_owned(), bot_token: None, signing_secret: None }
    }
}

/// Telegram: on when the bot token is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub api_base_url: String,
    pub bot_token: Option<Secret>,
    /// The `X-Telegram-Bot-Api-Secret-Token` expected on the bot's webhook.
    pub webhook_secret: Option<Secret>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig { api_base_url: "https://api.telegram.org".to_owned(), bot_token: None, webhook_secret: None }
    }
}

/// ntfy: the server bare topic names are published to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtfyConfig {
    pub base_url: String,
    /// Access token sent to `base_url` (not to topic URLs on other servers).
    pub token: Option<Secret>,
}

impl Default for NtfyConfig {
    fn default() -> Self {
        NtfyConfig { base_url: "https://ntfy.sh".to_owned(), token: None }
    }
}

/// Why the configuration cannot build a notifier.
#[derive(Debug, thiserror::Error)]
pub enum NotifyConfigError {
    #[error("notify.{section}: {message}")]
    Invalid { section: &'static str, message: String },
}

/// How an admin turns on a channel the server cannot send yet: the configuration section it
/// needs. `None` for the channels that are always on.
pub fn enable_hint(kind: ContactKind) -> Option<&'static str> {
    match kind {
        ContactKind::Email => Some("[notify.smtp] (an SMTP server)"),
        ContactKind::Sms | ContactKind::Voice => Some("[notify.twilio] (a Twilio account)"),
        ContactKind::Telegram => Some("[notify.telegram] (a bot token)"),
        _ => None,
    }
}

/// Builds the channels the configuration describes. Chat channels that need no credentials
/// (webhook URLs) are always on; email, SMS and voice only when configured.
pub fn notifier_from_config(cfg: &NotifyConfig) -> Result<Notifier, NotifyConfigError> {
    let guarded = guarded_client(cfg.allow_private_addresses);
    let provider = provider_client();
    let mut n = Notifier::empty();

    for (section, smtp) in [("smtp", &cfg.smtp), ("smtp_fallback", &cfg.smtp_fallback)] {
        if let Some(smtp) = smtp {
            let channel = Smtp::new(smtp).map_err(|message| NotifyConfigError::Invalid { section, message })?;
            n = n.with(ContactKind::Email, Arc::new(channel));
        }
    }
    for (section, twilio) in [("twilio", &cfg.twilio), ("twilio_fallback", &cfg.twilio_fallback)] {
        if let Some(t) = twilio {
            if ContactKind::Sms.parse_address(&t.from).ok().as_deref() != Some(t.from.as_str()) {
                let message = "`from` must be a number in international form (+14155550100)".to_owned();
                return Err(NotifyConfigError::Invalid { section, message });
            }
            n = n
                .with(ContactKind::Sms, Arc::new(TwilioSms::new(provider.clone(), t.clone())))
                .with(ContactKind::Voice, Arc::new(TwilioVoice::new(provider.clone(), t.clone())));
        }
    }
    let slack = Slack::new(guarded.clone(), provider.clone(), cfg.slack.clone(), cfg.allow_private_addresses);
    n = n
        .with(ContactKind::Slack, Arc::new(slack))
        .with(ContactKind::Teams, Arc::new(Teams::new(guarded.clone(), cfg.allow_private_addresses)))
        .with(ContactKind::Mattermost, Arc::new(Mattermost::new(guarded.clone(), cfg.allow_private_addresses)))
        .with(ContactKind::Discord, Arc::new(Discord::new(guarded.clone(), cfg.allow_private_addresses)));
    if cfg.telegram.bot_token.is_some() {
        n = n.with(ContactKind::Telegram, Arc::new(Telegram::new(provider.clone(), cfg.telegram.clone())));
    }
    let ntfy = Ntfy::new(provider, guarded.clone(), cfg.ntfy.clone(), cfg.allow_private_addresses);
    let webhook = SignedWebhook::new(guarded).allow_private_addresses(cfg.allow_private_addresses);
    n = n.with(ContactKind::Ntfy, Arc::new(ntfy)).with(ContactKind::Webhook, Arc::new(webhook));
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_redacted_debug() {
        let cfg: NotifyConfig = serde_json::from_value(serde_json::json!({
            "smtp": {"host": "mail.example.com", "from": "Firebreak <pager@example.com>", "password": "hunter2"},
            "twilio": {"account_sid": "AC1", "auth_token": "tok-secret", "from": "+14155550100"},
            "slack": {"bot_token": "xoxb-secret"},
            "ntfy": {"token": "tk_secret"},
        }))
        .expect("valid config");
        let smtp = cfg.smtp.as_ref().expect("smtp");
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
        assert_eq!(cfg.twilio.as_ref().expect("twilio").base_url, "https://api.twilio.com");
        assert_eq!(cfg.slack.api_base_url, "https://slack.com/api");
        assert_eq!(cfg.telegram.api_base_url, "https://api.telegram.org");
        assert_eq!(cfg.ntfy.base_url, "https://ntfy.sh");
        assert_eq!((cfg.bundle_seconds, cfg.max_attempts, cfg.link_ttl_hours), (30, 8, 24));
        assert!(!cfg.allow_private_addresses);
        let debug = format!("{cfg:?}");
        for secret in ["hunter2", "tok-secret", "xoxb-secret", "tk_secret"] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        // Secrets still serialise (the config can be written back).
        let json = serde_json::to_string(&cfg).expect("serialises");
        assert!(json.contains("\"hunter2\""));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(serde_json::from_value::<NotifyConfig>(serde_json::json!({"smpt": {}})).is_err());
        let bad_tls = serde_json::json!({"smtp": {"host": "h", "from": "a@b.c", "tls": "ssl"}});
        assert!(serde_json::from_value::<NotifyConfig>(bad_tls).is_err());
    }

    #[test]
    fn builds_only_what_is_configured() {
        let n = notifier_from_config(&NotifyConfig::default()).expect("builds");
        assert!(!n.supports(ContactKind::Email));
        assert!(!n.supports(ContactKind::Sms));
        assert!(!n.supports(ContactKind::Voice));
        assert!(!n.supports(ContactKind::Telegram));
        for kind in [
            ContactKind::Slack,
            ContactKind::Teams,
            ContactKind::Mattermost,
            ContactKind::Discord,
            ContactKind::Ntfy,
            ContactKind::Webhook,
        ] {
            assert!(n.supports(kind), "{kind}");
        }
        let mut cfg = NotifyConfig {
            smtp: Some(SmtpConfig {
                host: "mail.example.com".into(),
                port: 587,
                tls: SmtpTls::Starttls,
                username: None,
                password: None,
                from: "Firebreak <pager@example.com>".into(),
                ca_file: None,
            }),
            twilio: Some(TwilioConfig {
                base_url: default_twilio_base_url(),
                account_sid: "AC1".into(),
                auth_token: "t".into(),
                from: "+14155550100".into(),
            }),
            ..NotifyConfig::default()
        };
        cfg.telegram.bot_token = Some("123:abc".into());
        let n = notifier_from_config(&cfg).expect("builds");
        for kind in [ContactKind::Email, ContactKind::Sms, ContactKind::Voice, ContactKind::Telegram] {
            assert!(n.supports(kind), "{kind}");
        }
        cfg.twilio.as_mut().expect("twilio").from = "14155550100".into();
        assert!(notifier_from_config(&cfg).is_err());
        cfg.twilio = None;
        cfg.smtp.as_mut().expect("smtp").from = "not a mailbox".into();
        assert!(notifier_from_config(&cfg).is_err());
    }
}
