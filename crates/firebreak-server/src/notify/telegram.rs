//! Telegram through the Bot API's `sendMessage`: HTML text (escaped) and an inline keyboard
//! whose buttons call back `ack:<number>` and `res:<number>`. The bot token is in the URL, so
//! no error here ever includes the URL.

use super::chat::{incident_line, truncate};
use super::config::TelegramConfig;
use super::guard::request_error;
use super::twilio::xml_escape as html_escape;
use super::{Channel, Message, Recipient, SendError};
use async_trait::async_trait;
use serde_json::{Value, json};

/// The `sendMessage` body for one chat.
pub fn telegram_body(chat_id: &str, message: &Message) -> Value {
    let mut text = format!("<b>{}</b>", html_escape(&message.subject));
    if message.incidents.is_empty() {
        text.push_str("\n\n");
        text.push_str(&html_escape(&message.text));
    }
    for i in &message.incidents {
        text.push_str(&format!(
            "\n\n{}\n<a href=\"{}\">Open</a>",
            html_escape(&incident_line(i)),
            html_escape(&i.open_url)
        ));
    }
    let mut body = json!({
        "chat_id": chat_id,
        "text": truncate(&text, 4096),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    if !message.incidents.is_empty() {
        let rows: Vec<Value> = message
            .incidents
            .iter()
            .take(10)
            .map(|i| {
                json!([
                    {"text": format!("Acknowledge INC-{}", i.number), "callback_data": format!("ack:{}", i.number)},
                    {"text": format!("Resolve INC-{}", i.number), "callback_data": format!("res:{}", i.number)},
                ])
            })
            .collect();
        body["reply_markup"] = json!({"inline_keyboard": rows});
    }
    body
}

/// The Telegram bot.
pub struct Telegram {
    http: reqwest::Client,
    cfg: TelegramConfig,
}

impl Telegram {
    pub fn new(http: reqwest::Client, cfg: TelegramConfig) -> Self {
        Telegram { http, cfg }
    }
}

#[async_trait]
impl Channel for Telegram {
    fn provider(&self) -> &'static str {
        "telegram"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let token =
            self.cfg.bot_token.as_ref().ok_or_else(|| SendError::permanent("notify.telegram.bot_token is not set"))?;
        let url = format!("{}/bot{}/sendMessage", self.cfg.api_base_url.trim_end_matches('/'), token.expose());
        let res = self
            .http
            .post(url)
            .json(&telegram_body(&to.address, message))
            .send()
            .await
            .map_err(|e| request_error("Telegram", &e))?;
        let status = res.status();
        let answer: Value = res.json().await.unwrap_or_default();
        if status.is_success() && answer["ok"].as_bool() == Some(true) {
            return Ok(());
        }
        let code = answer["error_code"].as_i64().unwrap_or(i64::from(status.as_u16()));
        let mut reason = format!("Telegram answered {code}");
        if let Some(d) = answer["description"].as_str() {
            reason.push_str(&format!(": {}", truncate(d, 300)));
        }
        if code == 429 || code >= 500 || status.is_server_error() || status.as_u16() == 429 {
            Err(SendError::retry(reason))
        } else {
            Err(SendError::permanent(reason))
        }
    }
}
