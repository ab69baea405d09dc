//! The generic webhook: the message as JSON, signed the Standard Webhooks way
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`), with the
//! same id on every retry so receivers can drop duplicates.

use super::{Channel, Message, MessageKind, Recipient, SendError};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Posts signed JSON to the contact method's URL.
pub struct SignedWebhook {
    http: reqwest::Client,
    allow_private: bool,
}

impl SignedWebhook {
    /// `http` should be the guarded client (see `guard`), so people cannot aim it inside.
    /// IP-literal URLs on internal networks are refused (see `guard::check_url`).
    pub fn new(http: reqwest::Client) -> Self {
        SignedWebhook { http, allow_private: false }
    }

    /// Lets URLs name loopback and private addresses (labs and tests), matching a guarded
    /// client built with `allow_private`.
    pub fn allow_private_addresses(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }
}

/// A new signing secret, `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let key: [u8; 32] = rand::random();
    format!("whsec_{}", B64.encode(key))
}

/// The `webhook-signature` value for one delivery: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret's key. `None` for a malformed secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The event type a receiver sees.
pub fn event_type(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Page => "incident.page",
        MessageKind::Test => "notification.test",
        MessageKind::Verification => "contact_method.verification",
        MessageKind::Handoff => "oncall.handoff",
        MessageKind::Reminder => "checklist.reminder",
        MessageKind::Update => "incident.stakeholder_update",
        MessageKind::UpdateReminder => "update.reminder",
        MessageKind::ActionItem => "action_item",
    }
}

/// The JSON body: `{"type", "timestamp", "data": {id, subject, text, incidents}}`.
/// An action item event carries its own type and data: `{"type": "action_item.created",
/// "timestamp", "data": {"event", "action_item": {…}}}`.
pub fn body(message: &Message) -> serde_json::Value {
    if message.kind == MessageKind::ActionItem {
        let data: serde_json::Value = serde_json::from_str(&message.text).unwrap_or(serde_json::Value::Null);
        return serde_json::json!({ "type": message.subject, "timestamp": message.created_at, "data": data });
    }
    serde_json::json!({
        "type": event_type(message.kind),
        "timestamp": message.created_at,
        "data": {
            "id": message.id,
            "subject": message.subject,
            "text": message.text,
            "incidents": message.incidents,
        }
    })
}

/// Maps an HTTP answer to the engine's retry rules: 2xx delivered; 408, 429 and 5xx retried;
/// other statuses are permanent.
pub fn check_status(status: reqwest::StatusCode, what: &str) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Err(SendError::retry(format!("{what} answered HTTP {}", status.as_u16())))
    } else {
        Err(SendError::permanent(format!("{what} answered HTTP {}", status.as_u16())))
    }
}

/// Maps a transport error (no answer) to a retryable failure, without the URL (it may hold a
/// token).
pub fn transport_error(what: &str, e: &reqwest::Error) -> SendError {
    let why = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    SendError::retry(format!("{what}: {why}"))
}

#[async_trait]
impl Channel for SignedWebhook {
    fn provider(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        super::guard::check_url(&to.address, self.allow_private)?;
        let secret = to.secret.as_deref().ok_or_else(|| SendError::permanent("the webhook has no signing secret"))?;
        let body = serde_json::to_vec(&body(message)).map_err(|e| SendError::permanent(e.to_string()))?;
        let id = format!("msg_{}", message.id.0.simple());
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(secret, &id, timestamp, &body).ok_or_else(|| SendError::permanent("malformed secret"))?;
        let res = self
            .http
            .post(&to.address)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| super::guard::request_error("the webhook", &e))?;
        check_status(res.status(), "the webhook")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification's test vectors.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, id, 1614265330, body).expect("valid secret");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_differ_and_sign() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("whsec_"));
        assert!(sign(&a, "msg_1", 1, b"{}").is_some());
        assert!(sign("whsec_%%%", "msg_1", 1, b"{}").is_none());
    }
}
