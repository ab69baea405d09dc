//! Channels that reach people: one small adapter per provider behind [`Channel`], chosen by
//! the contact method's kind, with a fallback provider per channel where one is configured.
//! The engine decides *what* to send and *when*; this module only delivers one message.

use async_trait::async_trait;
use firebreak_domain::contact::ContactKind;
use firebreak_domain::{NotificationId, Severity, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

pub mod chat;
pub mod config;
pub mod email;
pub mod guard;
pub mod ntfy;
pub mod sms;
pub mod telegram;
pub mod twilio;
pub mod webhook;

pub use config::{NotifyConfig, notifier_from_config};

/// Why a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// An incident pages the person (possibly several incidents, bundled).
    Page,
    /// The person asked for a test notification.
    Test,
    /// The code that verifies a new contact method.
    Verification,
    /// "You are on call now."
    Handoff,
    /// A playbook step is late (its owner, then the commander).
    Reminder,
    /// A stakeholder update or a stakeholder group told about an incident.
    Update,
    /// An action item was created or changed, for trackers (webhooks only): the subject is
    /// the event type, the text the event's JSON.
    ActionItem,
    /// A stakeholder update is due (the communications lead, then the commander).
    UpdateReminder,
}

/// One incident as a message mentions it, with its one-click links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentNotice {
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    /// The incident's status when the message was written (`triggered`, …).
    pub status: String,
    /// The affected service's name, when there is one.
    pub service: Option<String>,
    /// Opens the incident page.
    pub open_url: String,
    /// Signed, expiring links that act without signing in (after one confirming click).
    pub ack_url: String,
    pub resolve_url: String,
}

/// What a notification says, in every form a channel may need. Adapters render it for their
/// medium (email: text and HTML; chat: their card formats; SMS: one short line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Stable across retries: the Standard Webhooks `webhook-id`, idempotency keys.
    pub id: NotificationId,
    pub kind: MessageKind,
    /// One line: the email subject, the push title, the start of an SMS.
    pub subject: String,
    /// The whole message as plain text (links included).
    pub text: String,
    /// The incidents it is about (several when bundled; none for tests and codes).
    pub incidents: Vec<IncidentNotice>,
    pub created_at: Timestamp,
    /// A one-click unsubscribe link (status page subscribers): email sends it as
    /// `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058).
    pub unsubscribe: Option<String>,
}

/// Who receives a message on one contact method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub kind: ContactKind,
    /// The contact method's address (checked by `ContactKind::parse_address`).
    pub address: String,
    /// The signing secret of a webhook contact method (`whsec_…`).
    pub secret: Option<String>,
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// Worth trying again later (timeouts, 5xx, 429); a 4xx or a refused address is not.
    pub retryable: bool,
    pub reason: String,
}

impl SendError {
    pub fn retry(reason: impl Into<String>) -> Self {
        SendError { retryable: true, reason: reason.into() }
    }
    pub fn permanent(reason: impl Into<String>) -> Self {
        SendError { retryable: false, reason: reason.into() }
    }
}

/// One provider for one or more contact kinds.
#[async_trait]
pub trait Channel: Send + Sync {
    /// The provider's name for logs and the timeline (`smtp`, `twilio`, `slack`, …).
    fn provider(&self) -> &'static str;
    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError>;
}

/// The channels in use: for each contact kind, its provider and then its fallbacks.
#[derive(Clone, Default)]
pub struct Notifier {
    providers: HashMap<ContactKind, Vec<Arc<dyn Channel>>>,
}

impl Notifier {
    /// A notifier with no channels (every send fails with "not configured").
    pub fn empty() -> Self {
        Notifier::default()
    }

    /// Adds a provider for `kind`, tried after those added before it.
    pub fn with(mut self, kind: ContactKind, channel: Arc<dyn Channel>) -> Self {
        self.providers.entry(kind).or_default().push(channel);
        self
    }

    /// Whether any provider can send to `kind`.
    pub fn supports(&self, kind: ContactKind) -> bool {
        self.providers.get(&kind).is_some_and(|p| !p.is_empty())
    }

    /// Sends through the kind's provider, then through each fallback while they fail.
    /// Returns the provider that delivered it.
    pub async fn send(&self, to: &Recipient, message: &Message) -> Result<&'static str, SendError> {
        let Some(providers) = self.providers.get(&to.kind).filter(|p| !p.is_empty()) else {
            return Err(SendError::permanent(format!(
                "no {} provider is configured on this server (see docs/notifications.md)",
                to.kind
            )));
        };
        let mut errors = Vec::new();
        let mut retryable = false;
        for p in providers {
            match p.send(to, message).await {
                Ok(()) => return Ok(p.provider()),
                Err(e) => {
                    retryable |= e.retryable;
                    errors.push(format!("{}: {}", p.provider(), e.reason));
                }
            }
        }
        Err(SendError { retryable, reason: errors.join("; ") })
    }
}
