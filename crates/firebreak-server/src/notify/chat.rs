//! Chat channels that take a webhook URL or a bot API: Slack (incoming webhook or
//! `chat.postMessage`, with Acknowledge/Resolve buttons), Microsoft Teams (Adaptive Card via a
//! Workflows webhook), Mattermost and Discord; and the check of Slack's signed callbacks.

use super::config::SlackConfig;
use super::guard::{check_url, request_error};
use super::webhook::check_status;
use super::{Channel, IncidentNotice, Message, Recipient, SendError};
use async_trait::async_trait;
use firebreak_domain::Severity;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// `s` cut to at most `max` characters, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One line about an incident: `INC-42 critical: title (service)`.
pub(crate) fn incident_line(i: &IncidentNotice) -> String {
    match &i.service {
        Some(service) => format!("INC-{} {}: {} ({service})", i.number, i.severity, i.title),
        None => format!("INC-{} {}: {}", i.number, i.severity, i.title),
    }
}

/// Posts JSON to a user-given URL through the guarded client.
async fn post_user_json(
    http: &reqwest::Client,
    allow_private: bool,
    url: &str,
    body: &Value,
    what: &str,
) -> Result<(), SendError> {
    check_url(url, allow_private)?;
    let res = http.post(url).json(body).send().await.map_err(|e| request_error(what, &e))?;
    check_status(res.status(), what)
}

// ------------------------------------------------------------------------------------ Slack

/// Escapes text for Slack's mrkdwn (`&`, `<`, `>`), so titles cannot link or mention.
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

/// The Block Kit blocks: per incident a section and an actions block (Acknowledge and
/// Resolve buttons with `action_id` `ack`/`resolve` and the incident number as `value`, and an
/// Open link); without incidents, the text.
pub fn slack_blocks(message: &Message) -> Vec<Value> {
    if message.incidents.is_empty() {
        return vec![json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&slack_escape(&message.text), 3000)},
        })];
    }
    // Slack takes at most 50 blocks.
    let mut blocks = Vec::new();
    for i in message.incidents.iter().take(24) {
        let mut details = format!("Severity: {} · Status: {}", i.severity, slack_escape(&i.status));
        if let Some(service) = &i.service {
            details.push_str(&format!(" · Service: {}", slack_escape(service)));
        }
        let text = format!("*INC-{}: {}*\n{details}", i.number, slack_escape(&i.title));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, 3000)}}));
        blocks.push(json!({
            "type": "actions",
            "block_id": format!("incident-{}", i.number),
            "elements": [
                {"type": "button", "text": plain("Acknowledge"), "action_id": "ack", "value": i.number.to_string(), "style": "primary"},
                {"type": "button", "text": plain("Resolve"), "action_id": "resolve", "value": i.number.to_string()},
                {"type": "button", "text": plain("Open"), "action_id": "open", "url": i.open_url},
            ],
        }));
    }
    blocks
}

/// Slack through an incoming-webhook URL, or through the bot for member and channel IDs.
pub struct Slack {
    guarded: reqwest::Client,
    api: reqwest::Client,
    cfg: SlackConfig,
    allow_private: bool,
}

impl Slack {
    /// `guarded` posts to webhook URLs people give; `api` talks to `cfg.api_base_url`.
    pub fn new(guarded: reqwest::Client, api: reqwest::Client, cfg: SlackConfig, allow_private: bool) -> Self {
        Slack { guarded, api, cfg, allow_private }
    }
}

#[async_trait]
impl Channel for Slack {
    fn provider(&self) -> &'static str {
        "slack"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let text = truncate(&slack_escape(&message.text), 3000);
        let blocks = slack_blocks(message);
        if to.address.starts_with("https://") || to.address.starts_with("http://") {
            let body = json!({"text": text, "blocks": blocks});
            return post_user_json(&self.guarded, self.allow_private, &to.address, &body, "the Slack webhook").await;
        }
        let token = self
            .cfg
            .bot_token
            .as_ref()
            .ok_or_else(|| SendError::permanent("Slack member and channel IDs need notify.slack.bot_token"))?;
        let url = format!("{}/chat.postMessage", self.cfg.api_base_url.trim_end_matches('/'));
        let body = json!({"channel": to.address, "text": text, "blocks": blocks});
        let res = self
            .api
            .post(url)
            .bearer_auth(token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| request_error("Slack", &e))?;
        check_status(res.status(), "Slack")?;
        let answer: Value =
            res.json().await.map_err(|_| SendError::retry("Slack answered something other than JSON"))?;
        if answer["ok"].as_bool() == Some(true) {
            return Ok(());
        }
        let error = answer["error"].as_str().unwrap_or("unknown_error");
        let reason = format!("Slack answered {error}");
        if matches!(error, "ratelimited" | "rate_limited" | "internal_error" | "fatal_error" | "service_unavailable") {
            Err(SendError::retry(reason))
        } else {
            Err(SendError::permanent(reason))
        }
    }
}

/// The `X-Slack-Signature` of a request: `v0=` and the hex HMAC-SHA256 of
/// `v0:{timestamp}:{body}` under the app's signing secret.
pub fn slack_signature(signing_secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether a Slack callback is genuine: the signature matches (constant-time) and the
/// `X-Slack-Request-Timestamp` is within five minutes of `now` (Unix seconds), against replays.
pub fn verify_slack_signature(signing_secret: &str, timestamp: &str, body: &[u8], signature: &str, now: i64) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(ts) = timestamp.parse::<i64>() else { return false };
    if (now - ts).abs() > 300 {
        return false;
    }
    let expected = slack_signature(signing_secret, timestamp, body);
    expected.as_bytes().ct_eq(signature.as_bytes()).into()
}

// ------------------------------------------------------------------------------------ Teams

/// The Adaptive Card (1.4) message a Teams Workflows webhook takes.
pub fn teams_body(message: &Message) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": markdown_escape(&message.subject), "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    let mut actions = Vec::new();
    if message.incidents.is_empty() {
        body.push(json!({"type": "TextBlock", "text": markdown_escape(&message.text), "wrap": true}));
    }
    let several = message.incidents.len() > 1;
    for i in &message.incidents {
        body.push(json!({"type": "TextBlock", "text": markdown_escape(&incident_line(i)), "wrap": true}));
        let suffix = if several { format!(" INC-{}", i.number) } else { String::new() };
        actions.push(json!({"type": "Action.OpenUrl", "title": format!("Acknowledge{suffix}"), "url": i.ack_url}));
        actions.push(json!({"type": "Action.OpenUrl", "title": format!("Resolve{suffix}"), "url": i.resolve_url}));
        actions.push(json!({"type": "Action.OpenUrl", "title": format!("Open{suffix}"), "url": i.open_url}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// Microsoft Teams through a Workflows ("Post to a channel when a webhook request is
/// received") URL.
pub struct Teams {
    http: reqwest::Client,
    allow_private: bool,
}

impl Teams {
    /// `http` should be the guarded client.
    pub fn new(http: reqwest::Client, allow_private: bool) -> Self {
        Teams { http, allow_private }
    }
}

#[async_trait]
impl Channel for Teams {
    fn provider(&self) -> &'static str {
        "teams"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        post_user_json(&self.http, self.allow_private, &to.address, &teams_body(message), "the Teams webhook").await
    }
}

// ------------------------------------------------------------------------------- Mattermost

/// Escapes Markdown so titles cannot format, link or mention (`@channel`).
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '`' | '#' | '~' | '|' | '<' | '>' | '!' => {
                out.push('\\');
                out.push(c);
            }
            // A zero-width space breaks `@channel` and `@user` mentions.
            '@' => out.push_str("@\u{200b}"),
            _ => out.push(c),
        }
    }
    out
}

/// The Mattermost text: the subject in bold, then per incident its line and links.
pub fn mattermost_text(message: &Message) -> String {
    let mut text = format!("**{}**", markdown_escape(&message.subject));
    if message.incidents.is_empty() {
        text.push_str("\n\n");
        text.push_str(&markdown_escape(&message.text));
    }
    for i in &message.incidents {
        text.push_str(&format!(
            "\n\n{}\n[Acknowledge]({}) · [Resolve]({}) · [Open]({})",
            markdown_escape(&incident_line(i)),
            i.ack_url,
            i.resolve_url,
            i.open_url
        ));
    }
    text
}

/// Mattermost through an incoming-webhook URL.
pub struct Mattermost {
    http: reqwest::Client,
    allow_private: bool,
}

impl Mattermost {
    /// `http` should be the guarded client.
    pub fn new(http: reqwest::Client, allow_private: bool) -> Self {
        Mattermost { http, allow_private }
    }
}

#[async_trait]
impl Channel for Mattermost {
    fn provider(&self) -> &'static str {
        "mattermost"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let body = json!({"text": mattermost_text(message), "username": "Firebreak"});
        post_user_json(&self.http, self.allow_private, &to.address, &body, "the Mattermost webhook").await
    }
}

// ---------------------------------------------------------------------------------- Discord

/// The embed colour of a severity.
pub fn severity_color(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 0xd73a49,
        Severity::High => 0xf66a0a,
        Severity::Medium => 0xdbab09,
        Severity::Low => 0x0366d6,
    }
}

/// The Discord webhook body: the text (≤ 2000 characters), an embed per incident (≤ 10), and
/// no mentions parsed.
pub fn discord_body(message: &Message) -> Value {
    let embeds: Vec<Value> = message
        .incidents
        .iter()
        .take(10)
        .map(|i| {
            let mut description = format!("Severity: {} · Status: {}", i.severity, i.status);
            if let Some(service) = &i.service {
                description.push_str(&format!(" · Service: {}", markdown_escape(service)));
            }
            description.push_str(&format!("\n[Acknowledge]({}) · [Resolve]({})", i.ack_url, i.resolve_url));
            json!({
                "title": truncate(&format!("INC-{}: {}", i.number, i.title), 256),
                "description": truncate(&description, 4096),
                "url": i.open_url,
                "color": severity_color(i.severity),
            })
        })
        .collect();
    json!({
        "content": truncate(&message.text, 2000),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    })
}

/// Discord through a channel webhook URL.
pub struct Discord {
    http: reqwest::Client,
    allow_private: bool,
}

impl Discord {
    /// `http` should be the guarded client.
    pub fn new(http: reqwest::Client, allow_private: bool) -> Self {
        Discord { http, allow_private }
    }
}

#[async_trait]
impl Channel for Discord {
    fn provider(&self) -> &'static str {
        "discord"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        post_user_json(&self.http, self.allow_private, &to.address, &discord_body(message), "the Discord webhook").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example in Slack's "Verifying requests from Slack".
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_signature_matches_slacks_example() {
        assert_eq!(slack_signature(SECRET, TS, BODY.as_bytes()), SIG);
        assert!(verify_slack_signature(SECRET, TS, BODY.as_bytes(), SIG, 1531420618 + 10));
        assert!(!verify_slack_signature(SECRET, TS, BODY.as_bytes(), SIG, 1531420618 + 301), "stale");
        assert!(!verify_slack_signature(SECRET, TS, b"token=other", SIG, 1531420618));
        assert!(!verify_slack_signature("other", TS, BODY.as_bytes(), SIG, 1531420618));
        assert!(!verify_slack_signature(SECRET, "x", BODY.as_bytes(), SIG, 1531420618));
    }

    #[test]
    fn escapes_and_truncation() {
        assert_eq!(slack_escape("<!channel> & <http://x|y>"), "&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
        assert_eq!(markdown_escape("@all [x](http://e)"), "@\u{200b}all \\[x\\]\\(http://e\\)");
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo!", 5), "héll…");
    }
}
