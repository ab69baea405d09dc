//! Twilio for SMS (`Messages.json`) and voice calls (`Calls.json` with inline TwiML), and the
//! `X-Twilio-Signature` check for Twilio's inbound webhooks (SMS replies).

use super::config::TwilioConfig;
use super::guard::request_error;
use super::sms::{sms_text, spoken_text};
use super::{Channel, Message, Recipient, SendError};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Escapes text for XML (TwiML) and HTML.
pub fn xml_escape(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html).map(|s| s.to_string()).unwrap_or_default()
}

/// POSTs a form to one of the account's resources and maps Twilio's answer.
async fn post_form(
    http: &reqwest::Client,
    cfg: &TwilioConfig,
    resource: &str,
    form: &[(&str, &str)],
) -> Result<(), SendError> {
    let url = format!(
        "{}/2010-04-01/Accounts/{}/{resource}",
        cfg.base_url.trim_end_matches('/'),
        urlencode_path(&cfg.account_sid)
    );
    let res = http
        .post(url)
        .basic_auth(&cfg.account_sid, Some(cfg.auth_token.expose()))
        .form(form)
        .send()
        .await
        .map_err(|e| request_error("Twilio", &e))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    // Twilio's error body: {"code": 21211, "message": "...", "status": 400}.
    let answer: serde_json::Value = res.json().await.unwrap_or_default();
    let mut reason = format!("Twilio answered HTTP {}", status.as_u16());
    if let Some(message) = answer["message"].as_str() {
        reason.push_str(&format!(": {}", super::chat::truncate(message, 300)));
    }
    if let Some(code) = answer["code"].as_i64() {
        reason.push_str(&format!(" (code {code})"));
    }
    if status.is_server_error() || status.as_u16() == 429 {
        Err(SendError::retry(reason))
    } else {
        Err(SendError::permanent(reason))
    }
}

fn urlencode_path(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// SMS through Twilio's Messages API.
pub struct TwilioSms {
    http: reqwest::Client,
    cfg: TwilioConfig,
}

impl TwilioSms {
    pub fn new(http: reqwest::Client, cfg: TwilioConfig) -> Self {
        TwilioSms { http, cfg }
    }
}

#[async_trait]
impl Channel for TwilioSms {
    fn provider(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let body = sms_text(message);
        let form = [("To", to.address.as_str()), ("From", self.cfg.from.as_str()), ("Body", body.as_str())];
        post_form(&self.http, &self.cfg, "Messages.json", &form).await
    }
}

/// The TwiML of a call: `<Response><Say>…</Say></Response>`, the text escaped.
pub fn call_twiml(message: &Message) -> String {
    format!("<Response><Say>{}</Say></Response>", xml_escape(&spoken_text(message)))
}

/// Voice calls through Twilio's Calls API, the message read out.
pub struct TwilioVoice {
    http: reqwest::Client,
    cfg: TwilioConfig,
}

impl TwilioVoice {
    pub fn new(http: reqwest::Client, cfg: TwilioConfig) -> Self {
        TwilioVoice { http, cfg }
    }
}

#[async_trait]
impl Channel for TwilioVoice {
    fn provider(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let twiml = call_twiml(message);
        let form = [("To", to.address.as_str()), ("From", self.cfg.from.as_str()), ("Twiml", twiml.as_str())];
        post_form(&self.http, &self.cfg, "Calls.json", &form).await
    }
}

/// The `X-Twilio-Signature` Twilio sends: base64 HMAC-SHA1, keyed with the auth token, of the
/// full URL followed by each POST parameter's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    B64.encode(mac.finalize().into_bytes())
}

/// Whether an inbound Twilio request is genuine (constant-time comparison).
pub fn verify_twilio_signature(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    twilio_signature(auth_token, url, params).as_bytes().ct_eq(signature.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("From", "+12349013030"),
            ("Digits", "1234"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn signature_matches_twilios_documented_example() {
        // From Twilio's "Webhooks security" page.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = twilio_signature("12345", url, &params());
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_twilio_signature("12345", url, &params(), &sig));
        assert!(!verify_twilio_signature("12346", url, &params(), &sig));
        assert!(!verify_twilio_signature("12345", "https://mycompany.com/myapp.php", &params(), &sig));
        assert!(!verify_twilio_signature("12345", url, &params()[1..], &sig));
    }

    #[test]
    fn twiml_is_escaped() {
        assert_eq!(xml_escape("a<b>&\"c'"), "a&#60;b&#62;&#38;&#34;c&#39;");
    }
}
