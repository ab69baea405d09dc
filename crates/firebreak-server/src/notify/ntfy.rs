//! ntfy push notifications: a topic on the configured server (with its token) or a full topic
//! URL on any server (through the guarded client, without the token). The text is the body;
//! title, priority, tags, click URL and Acknowledge/Resolve actions go in headers.

use super::config::NtfyConfig;
use super::guard::{check_url, request_error};
use super::webhook::check_status;
use super::{Channel, Message, Recipient, SendError};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use firebreak_domain::Severity;

/// A header value as ntfy reads it: printable ASCII as is, anything else RFC 2047-encoded.
pub fn header_text(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.to_owned()
    } else {
        let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        format!("=?UTF-8?B?{}?=", B64.encode(one_line))
    }
}

/// The ntfy headers of a message, in order: `Title`, `Priority` (5 critical, 4 high, 3
/// otherwise), `Tags`, and with incidents `Click` (the first incident's page) and `Actions`.
pub fn ntfy_headers(message: &Message) -> Vec<(&'static str, String)> {
    let worst = message.incidents.iter().map(|i| i.severity).min_by_key(|s| match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    });
    let (priority, tags) = match worst {
        Some(Severity::Critical) => ("5", "rotating_light,critical"),
        Some(Severity::High) => ("4", "warning,high"),
        Some(Severity::Medium) => ("3", "warning,medium"),
        Some(Severity::Low) => ("3", "information_source,low"),
        None => ("3", "bell"),
    };
    let mut headers =
        vec![("Title", header_text(&message.subject)), ("Priority", priority.to_owned()), ("Tags", tags.to_owned())];
    if let Some(first) = message.incidents.first() {
        headers.push(("Click", first.open_url.clone()));
        headers
            .push(("Actions", format!("view, Acknowledge, {}; view, Resolve, {}", first.ack_url, first.resolve_url)));
    }
    headers
}

/// Publishes to ntfy.
pub struct Ntfy {
    api: reqwest::Client,
    guarded: reqwest::Client,
    cfg: NtfyConfig,
    allow_private: bool,
}

impl Ntfy {
    /// `api` publishes to `cfg.base_url`; `guarded` to topic URLs people give.
    pub fn new(api: reqwest::Client, guarded: reqwest::Client, cfg: NtfyConfig, allow_private: bool) -> Self {
        Ntfy { api, guarded, cfg, allow_private }
    }
}

#[async_trait]
impl Channel for Ntfy {
    fn provider(&self) -> &'static str {
        "ntfy"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let base = self.cfg.base_url.trim_end_matches('/');
        let is_url = to.address.starts_with("https://") || to.address.starts_with("http://");
        let (http, url, own_server) = if is_url {
            check_url(&to.address, self.allow_private)?;
            let own = to.address.starts_with(&format!("{base}/"));
            (&self.guarded, to.address.clone(), own)
        } else if !to.address.is_empty()
            && to.address.len() <= 64
            && to.address.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            (&self.api, format!("{base}/{}", to.address), true)
        } else {
            return Err(SendError::permanent("the address is neither an ntfy topic name nor a topic URL"));
        };
        let mut req = http.post(url).body(message.text.clone());
        for (name, value) in ntfy_headers(message) {
            req = req.header(name, value);
        }
        if own_server && let Some(token) = &self.cfg.token {
            req = req.bearer_auth(token.expose());
        }
        let res = req.send().await.map_err(|e| request_error("ntfy", &e))?;
        check_status(res.status(), "ntfy")
    }
}
