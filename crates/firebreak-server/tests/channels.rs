//! Every notification channel against a real local receiver: HTTP servers on port 0 that
//! record what arrives, and an SMTP server that speaks SMTP (STARTTLS, implicit TLS, AUTH).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::receiver::HttpReceiver;
use firebreak_domain::contact::ContactKind;
use firebreak_domain::{NotificationId, Severity};
use firebreak_server::notify::config::{NtfyConfig, SlackConfig, SmtpConfig, SmtpTls, TelegramConfig, TwilioConfig};
use firebreak_server::notify::{IncidentNotice, Message, MessageKind, Notifier, NotifyConfig, Recipient, SendError};
use firebreak_server::notify::{notifier_from_config, webhook};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

// ------------------------------------------------------------------------------ messages

const TITLE: &str = r#"<script>alert(1)</script> & "down" @channel"#;
const SUBJECT: &str = r#"INC-42 critical: Checkout <down> & "slow""#;
const TEXT: &str =
    "INC-42 critical: <script>alert(1)</script> & down\nAcknowledge: https://fb.example/l/ack/42?sig=abc";

fn incident(number: i64, title: &str, severity: Severity) -> IncidentNotice {
    IncidentNotice {
        number,
        title: title.to_owned(),
        severity,
        status: "triggered".to_owned(),
        service: Some("payments".to_owned()),
        open_url: format!("https://fb.example/incidents/{number}"),
        ack_url: format!("https://fb.example/l/ack/{number}?sig=abc"),
        resolve_url: format!("https://fb.example/l/res/{number}?sig=def"),
    }
}

fn page() -> Message {
    Message {
        id: NotificationId::new(),
        kind: MessageKind::Page,
        subject: SUBJECT.to_owned(),
        text: TEXT.to_owned(),
        incidents: vec![incident(42, TITLE, Severity::Critical)],
        created_at: chrono::Utc::now(),
        unsubscribe: None,
    }
}

fn to(kind: ContactKind, address: &str) -> Recipient {
    Recipient { kind, address: address.to_owned(), secret: None }
}

/// A config whose user-URL channels may reach the local receivers.
fn lab_config() -> NotifyConfig {
    NotifyConfig { allow_private_addresses: true, ..NotifyConfig::default() }
}

fn notifier(cfg: &NotifyConfig) -> Notifier {
    notifier_from_config(cfg).expect("valid config")
}

fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body))).expect("form");
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

// ------------------------------------------------------------------------- webhook + guard

#[tokio::test]
async fn signed_webhook_is_verifiable_and_keeps_its_id_across_retries() {
    let mut rx = HttpReceiver::start(204, "").await;
    let n = notifier(&lab_config());
    let secret = webhook::new_secret();
    let recipient =
        Recipient { kind: ContactKind::Webhook, address: format!("{}/hooks/fb", rx.url), secret: Some(secret.clone()) };
    let m = page();
    assert_eq!(n.send(&recipient, &m).await.expect("delivered"), "webhook");
    assert_eq!(n.send(&recipient, &m).await.expect("delivered"), "webhook");
    let (first, second) = (rx.next().await, rx.next().await);
    assert_eq!((first.method.as_str(), first.path.as_str()), ("POST", "/hooks/fb"));
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(first.header("webhook-id"), format!("msg_{}", m.id.0.simple()));
    assert_eq!(first.header("webhook-id"), second.header("webhook-id"));
    // Verify the way a receiver would, without our signing code.
    for r in [&first, &second] {
        let key = B64.decode(secret.trim_start_matches("whsec_")).expect("key");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key length");
        mac.update(format!("{}.{}.", r.header("webhook-id"), r.header("webhook-timestamp")).as_bytes());
        mac.update(&r.body);
        let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
        assert_eq!(r.header("webhook-signature"), expected);
    }
    let body = first.json();
    assert_eq!(body["type"], "incident.page");
    assert_eq!(body["data"]["subject"], SUBJECT);
    assert_eq!(body["data"]["incidents"][0]["number"], 42);
    assert_eq!(body["data"]["incidents"][0]["title"], TITLE);
}

#[tokio::test]
async fn failures_are_retryable_or_permanent_by_status() {
    let n = notifier(&lab_config());
    let hook =
        |url: String| Recipient { kind: ContactKind::Webhook, address: url, secret: Some(webhook::new_secret()) };

    let mut failing = HttpReceiver::start(500, "").await;
    let e = n.send(&hook(failing.url.clone()), &page()).await.expect_err("500");
    assert!(e.retryable, "{e:?}");
    failing.next().await;

    let mut bad = HttpReceiver::start(400, "").await;
    let e = n.send(&hook(bad.url.clone()), &page()).await.expect_err("400");
    assert!(!e.retryable, "{e:?}");
    bad.next().await;

    let e = n.send(&hook(format!("http://127.0.0.1:{}/", refused_port())), &page()).await.expect_err("refused");
    assert!(e.retryable, "{e:?}");
    assert!(e.reason.contains("cannot connect"), "{e:?}");
}

#[tokio::test]
async fn the_guard_refuses_loopback_unless_allowed() {
    let mut rx = HttpReceiver::start(200, "").await;
    let n = notifier(&NotifyConfig::default());
    let port = rx.url.rsplit(':').next().expect("port").to_owned();
    for url in [rx.url.clone(), format!("http://localhost:{port}/"), format!("http://[::ffff:127.0.0.1]:{port}/")] {
        let hook = Recipient { kind: ContactKind::Webhook, address: url.clone(), secret: Some(webhook::new_secret()) };
        let e = n.send(&hook, &page()).await.expect_err(&url);
        assert!(!e.retryable, "{url}: {e:?}");
        assert!(e.reason.contains("not a public address"), "{url}: {e:?}");
    }
    for (kind, address) in [
        (ContactKind::Slack, rx.url.clone()),
        (ContactKind::Teams, rx.url.clone()),
        (ContactKind::Mattermost, rx.url.clone()),
        (ContactKind::Discord, rx.url.clone()),
        (ContactKind::Ntfy, format!("{}/topic", rx.url)),
    ] {
        let e = n.send(&to(kind, &address), &page()).await.expect_err("refused");
        assert!(!e.retryable && e.reason.contains("not a public address"), "{kind}: {e:?}");
    }
    assert!(rx.nothing_arrived());
}

// ------------------------------------------------------------------------------------ chat

fn slack_blocks() -> Value {
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": "*INC-42: &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"down\" @channel*\nSeverity: critical · Status: triggered · Service: payments"}},
        {"type": "actions", "block_id": "incident-42", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Acknowledge", "emoji": true}, "action_id": "ack", "value": "42", "style": "primary"},
            {"type": "button", "text": {"type": "plain_text", "text": "Resolve", "emoji": true}, "action_id": "resolve", "value": "42"},
            {"type": "button", "text": {"type": "plain_text", "text": "Open", "emoji": true}, "action_id": "open", "url": "https://fb.example/incidents/42"},
        ]},
    ])
}

const SLACK_TEXT: &str = "INC-42 critical: &lt;script&gt;alert(1)&lt;/script&gt; &amp; down\nAcknowledge: https://fb.example/l/ack/42?sig=abc";

#[tokio::test]
async fn slack_incoming_webhook_gets_blocks_with_buttons() {
    let mut rx = HttpReceiver::start(200, "ok").await;
    let n = notifier(&lab_config());
    let provider = n.send(&to(ContactKind::Slack, &format!("{}/services/T0/B0/x", rx.url)), &page()).await;
    assert_eq!(provider.expect("delivered"), "slack");
    let r = rx.next().await;
    assert_eq!(r.path, "/services/T0/B0/x");
    assert_eq!(r.json(), json!({"text": SLACK_TEXT, "blocks": slack_blocks()}));
}

#[tokio::test]
async fn slack_bot_posts_to_chat_post_message_and_maps_errors() {
    let mut rx = HttpReceiver::start(200, r#"{"ok": true, "ts": "1.2"}"#).await;
    let mut cfg = lab_config();
    cfg.slack = SlackConfig {
        api_base_url: format!("{}/api", rx.url),
        bot_token: Some("xoxb-test".into()),
        signing_secret: None,
    };
    assert_eq!(notifier(&cfg).send(&to(ContactKind::Slack, "U012AB3CD"), &page()).await.expect("delivered"), "slack");
    let r = rx.next().await;
    assert_eq!(r.path, "/api/chat.postMessage");
    assert_eq!(r.header("authorization"), "Bearer xoxb-test");
    assert_eq!(r.json(), json!({"channel": "U012AB3CD", "text": SLACK_TEXT, "blocks": slack_blocks()}));

    for (answer, retryable) in
        [(r#"{"ok": false, "error": "ratelimited"}"#, true), (r#"{"ok": false, "error": "channel_not_found"}"#, false)]
    {
        let mut rx = HttpReceiver::start(200, answer).await;
        cfg.slack.api_base_url = format!("{}/api", rx.url);
        let e = notifier(&cfg).send(&to(ContactKind::Slack, "C0123"), &page()).await.expect_err(answer);
        assert_eq!(e.retryable, retryable, "{e:?}");
        assert!(!e.reason.contains("xoxb-test"));
        rx.next().await;
    }

    cfg.slack.bot_token = None;
    let e = notifier(&cfg).send(&to(ContactKind::Slack, "C0123"), &page()).await.expect_err("no token");
    assert!(!e.retryable);
}

#[tokio::test]
async fn teams_gets_an_adaptive_card() {
    let mut rx = HttpReceiver::start(202, "").await;
    let n = notifier(&lab_config());
    assert_eq!(
        n.send(&to(ContactKind::Teams, &format!("{}/workflows/1", rx.url)), &page()).await.expect("sent"),
        "teams"
    );
    let r = rx.next().await;
    assert_eq!(r.path, "/workflows/1");
    let expected = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": "INC-42 critical: Checkout \\<down\\> & \"slow\"", "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": "INC-42 critical: \\<script\\>alert\\(1\\)\\</script\\> & \"down\" @\u{200b}channel \\(payments\\)", "wrap": true},
                ],
                "actions": [
                    {"type": "Action.OpenUrl", "title": "Acknowledge", "url": "https://fb.example/l/ack/42?sig=abc"},
                    {"type": "Action.OpenUrl", "title": "Resolve", "url": "https://fb.example/l/res/42?sig=def"},
                    {"type": "Action.OpenUrl", "title": "Open", "url": "https://fb.example/incidents/42"},
                ],
            },
        }],
    });
    assert_eq!(r.json(), expected);
}

#[tokio::test]
async fn mattermost_gets_escaped_markdown() {
    let mut rx = HttpReceiver::start(200, "ok").await;
    let n = notifier(&lab_config());
    assert_eq!(
        n.send(&to(ContactKind::Mattermost, &format!("{}/hooks/abc", rx.url)), &page()).await.expect("sent"),
        "mattermost"
    );
    let r = rx.next().await;
    let text = "**INC-42 critical: Checkout \\<down\\> & \"slow\"**\n\n\
        INC-42 critical: \\<script\\>alert\\(1\\)\\</script\\> & \"down\" @\u{200b}channel \\(payments\\)\n\
        [Acknowledge](https://fb.example/l/ack/42?sig=abc) · [Resolve](https://fb.example/l/res/42?sig=def) · [Open](https://fb.example/incidents/42)";
    assert_eq!(r.json(), json!({"text": text, "username": "Firebreak"}));
}

#[tokio::test]
async fn discord_gets_embeds_and_no_mentions() {
    let mut rx = HttpReceiver::start(204, "").await;
    let n = notifier(&lab_config());
    let mut m = page();
    m.text = "x".repeat(2500);
    assert_eq!(
        n.send(&to(ContactKind::Discord, &format!("{}/api/webhooks/1/t", rx.url)), &m).await.expect("sent"),
        "discord"
    );
    let r = rx.next().await;
    let expected = json!({
        "content": format!("{}…", "x".repeat(1999)),
        "embeds": [{
            "title": format!("INC-42: {TITLE}"),
            "description": "Severity: critical · Status: triggered · Service: payments\n[Acknowledge](https://fb.example/l/ack/42?sig=abc) · [Resolve](https://fb.example/l/res/42?sig=def)",
            "url": "https://fb.example/incidents/42",
            "color": 0xd73a49,
        }],
        "allowed_mentions": {"parse": []},
    });
    assert_eq!(r.json(), expected);
    assert_eq!(r.json()["content"].as_str().expect("content").chars().count(), 2000);
}

#[tokio::test]
async fn telegram_sends_html_and_a_keyboard_and_hides_the_token() {
    let mut rx = HttpReceiver::start(200, r#"{"ok": true, "result": {}}"#).await;
    let mut cfg = lab_config();
    cfg.telegram = TelegramConfig {
        api_base_url: rx.url.clone(),
        bot_token: Some("123456:ABC-secret".into()),
        webhook_secret: None,
    };
    let mut m = page();
    m.incidents.push(incident(9_223_372_036_854_775_807, "second", Severity::Low));
    assert_eq!(notifier(&cfg).send(&to(ContactKind::Telegram, "-100123"), &m).await.expect("sent"), "telegram");
    let r = rx.next().await;
    assert_eq!(r.path, "/bot123456:ABC-secret/sendMessage");
    let text = "<b>INC-42 critical: Checkout &#60;down&#62; &#38; &#34;slow&#34;</b>\n\n\
        INC-42 critical: &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;down&#34; @channel (payments)\n\
        <a href=\"https://fb.example/incidents/42\">Open</a>\n\n\
        INC-9223372036854775807 low: second (payments)\n\
        <a href=\"https://fb.example/incidents/9223372036854775807\">Open</a>";
    let expected = json!({
        "chat_id": "-100123",
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
        "reply_markup": {"inline_keyboard": [
            [{"text": "Acknowledge INC-42", "callback_data": "ack:42"}, {"text": "Resolve INC-42", "callback_data": "res:42"}],
            [
                {"text": "Acknowledge INC-9223372036854775807", "callback_data": "ack:9223372036854775807"},
                {"text": "Resolve INC-9223372036854775807", "callback_data": "res:9223372036854775807"},
            ],
        ]},
    });
    assert_eq!(r.json(), expected);
    for row in r.json()["reply_markup"]["inline_keyboard"].as_array().expect("rows") {
        for button in row.as_array().expect("buttons") {
            assert!(button["callback_data"].as_str().expect("data").len() <= 64);
        }
    }

    for (status, answer, retryable) in [
        (429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5"}"#, true),
        (400, r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#, false),
    ] {
        let mut rx = HttpReceiver::start(status, answer).await;
        cfg.telegram.api_base_url = rx.url.clone();
        let e = notifier(&cfg).send(&to(ContactKind::Telegram, "42"), &page()).await.expect_err(answer);
        assert_eq!(e.retryable, retryable, "{e:?}");
        assert!(!e.reason.contains("ABC-secret"), "{e:?}");
        rx.next().await;
    }
    cfg.telegram.api_base_url = format!("http://127.0.0.1:{}", refused_port());
    let e = notifier(&cfg).send(&to(ContactKind::Telegram, "42"), &page()).await.expect_err("refused");
    assert!(e.retryable && !e.reason.contains("ABC-secret"), "{e:?}");
}

#[tokio::test]
async fn ntfy_publishes_with_headers_and_actions() {
    let mut rx = HttpReceiver::start(200, "{}").await;
    let mut cfg = lab_config();
    cfg.ntfy = NtfyConfig { base_url: rx.url.clone(), token: Some("tk_test".into()) };
    let n = notifier(&cfg);
    assert_eq!(n.send(&to(ContactKind::Ntfy, "oncall-alice"), &page()).await.expect("sent"), "ntfy");
    let r = rx.next().await;
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/oncall-alice"));
    assert_eq!(r.body, TEXT.as_bytes());
    assert_eq!(r.header("title"), SUBJECT);
    assert_eq!(r.header("priority"), "5");
    assert_eq!(r.header("tags"), "rotating_light,critical");
    assert_eq!(r.header("click"), "https://fb.example/incidents/42");
    assert_eq!(
        r.header("actions"),
        "view, Acknowledge, https://fb.example/l/ack/42?sig=abc; view, Resolve, https://fb.example/l/res/42?sig=def"
    );
    assert_eq!(r.header("authorization"), "Bearer tk_test");

    // A topic on someone else's server: no token, and a non-ASCII title RFC 2047-encoded.
    let mut other = HttpReceiver::start(200, "{}").await;
    let mut m = page();
    m.subject = "Panne: base de données".to_owned();
    m.incidents[0].severity = Severity::High;
    n.send(&to(ContactKind::Ntfy, &format!("{}/team-topic", other.url)), &m).await.expect("sent");
    let r = other.next().await;
    assert_eq!(r.path, "/team-topic");
    assert_eq!(r.header("priority"), "4");
    assert_eq!(r.header("title"), format!("=?UTF-8?B?{}?=", B64.encode("Panne: base de données")));
    assert!(r.headers.get("authorization").is_none());
}

// ---------------------------------------------------------------------------------- Twilio

fn twilio_config(base_url: &str) -> TwilioConfig {
    TwilioConfig {
        base_url: base_url.to_owned(),
        account_sid: "AC123".to_owned(),
        auth_token: "twilio-secret".into(),
        from: "+15005550006".to_owned(),
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn twilio_sms_posts_the_form_with_basic_auth() {
    let mut rx = HttpReceiver::start(201, r#"{"sid": "SM1"}"#).await;
    let mut cfg = lab_config();
    cfg.twilio = Some(twilio_config(&rx.url));
    assert_eq!(notifier(&cfg).send(&to(ContactKind::Sms, "+14155550100"), &page()).await.expect("sent"), "twilio");
    let r = rx.next().await;
    assert_eq!(r.path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_eq!(r.header("authorization"), format!("Basic {}", B64.encode("AC123:twilio-secret")));
    assert_eq!(r.header("content-type"), "application/x-www-form-urlencoded");
    let body = format!("[Firebreak] INC-42 critical: {TITLE} Reply ACK 42 or RES 42");
    assert_eq!(form(&r.body), pairs(&[("To", "+14155550100"), ("From", "+15005550006"), ("Body", &body)]));

    // A long title is cut so the whole SMS stays within 320 characters, the reply kept.
    let mut m = page();
    m.incidents[0].title = "y".repeat(600);
    notifier(&cfg).send(&to(ContactKind::Sms, "+14155550100"), &m).await.expect("sent");
    let sms = form(&rx.next().await.body).into_iter().find(|(k, _)| k == "Body").expect("Body").1;
    assert!(sms.chars().count() <= 320, "{}", sms.chars().count());
    assert!(sms.starts_with("[Firebreak] INC-42 critical: yyy"), "{sms}");
    assert!(sms.ends_with("… Reply ACK 42 or RES 42"), "{sms}");
}

#[tokio::test]
async fn twilio_voice_calls_with_escaped_twiml() {
    let mut rx = HttpReceiver::start(201, r#"{"sid": "CA1"}"#).await;
    let mut cfg = lab_config();
    cfg.twilio = Some(twilio_config(&format!("{}/", rx.url)));
    assert_eq!(notifier(&cfg).send(&to(ContactKind::Voice, "+14155550100"), &page()).await.expect("sent"), "twilio");
    let r = rx.next().await;
    assert_eq!(r.path, "/2010-04-01/Accounts/AC123/Calls.json");
    let twiml = "<Response><Say>This is Firebreak. Incident 42, severity critical: \
        &#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;down&#34; @channel. Service payments. \
        Acknowledge it in Firebreak or reply to the text message.</Say></Response>";
    assert_eq!(form(&r.body), pairs(&[("To", "+14155550100"), ("From", "+15005550006"), ("Twiml", twiml)]));
}

#[tokio::test]
async fn twilio_errors_keep_the_message_and_hide_the_token() {
    let mut cfg = lab_config();
    let mut bad =
        HttpReceiver::start(400, r#"{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}"#).await;
    cfg.twilio = Some(twilio_config(&bad.url));
    let e = notifier(&cfg).send(&to(ContactKind::Sms, "+14155550100"), &page()).await.expect_err("400");
    assert!(!e.retryable, "{e:?}");
    assert!(e.reason.contains("Invalid 'To' Phone Number") && e.reason.contains("21211"), "{e:?}");
    assert!(!e.reason.contains("twilio-secret"));
    bad.next().await;

    let mut down = HttpReceiver::start(503, "").await;
    cfg.twilio = Some(twilio_config(&down.url));
    let e = notifier(&cfg).send(&to(ContactKind::Voice, "+14155550100"), &page()).await.expect_err("503");
    assert!(e.retryable, "{e:?}");
    down.next().await;

    let mut limited = HttpReceiver::start(429, r#"{"code": 20429, "message": "Too Many Requests"}"#).await;
    cfg.twilio = Some(twilio_config(&limited.url));
    let e = notifier(&cfg).send(&to(ContactKind::Sms, "+14155550100"), &page()).await.expect_err("429");
    assert!(e.retryable, "{e:?}");
    limited.next().await;
}

#[tokio::test]
async fn twilio_fallback_account_takes_over() {
    let mut primary = HttpReceiver::start(500, "").await;
    let mut fallback = HttpReceiver::start(201, "{}").await;
    let mut cfg = lab_config();
    cfg.twilio = Some(twilio_config(&primary.url));
    cfg.twilio_fallback = Some(TwilioConfig { account_sid: "AC999".into(), ..twilio_config(&fallback.url) });
    assert_eq!(notifier(&cfg).send(&to(ContactKind::Sms, "+14155550100"), &page()).await.expect("sent"), "twilio");
    primary.next().await;
    assert_eq!(fallback.next().await.path, "/2010-04-01/Accounts/AC999/Messages.json");
}

// ------------------------------------------------------------------------------------ SMTP

#[derive(Clone, Copy, PartialEq, Eq)]
enum SmtpMode {
    Plain,
    Starttls,
    Implicit,
}

#[derive(Clone)]
struct SmtpBehaviour {
    mode: SmtpMode,
    /// AUTH mechanisms advertised and the credentials required, if any.
    auth: Option<(&'static str, &'static str, &'static str)>,
    /// The answer to MAIL FROM.
    mail_reply: &'static str,
}

/// One accepted message and how it came.
#[derive(Debug, Default)]
struct Mail {
    commands: Vec<String>,
    tls: bool,
    auth_user: Option<String>,
    from: String,
    rcpt: Vec<String>,
    data: String,
}

struct SmtpReceiver {
    port: u16,
    rx: mpsc::UnboundedReceiver<Mail>,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_pem: String,
}

fn tls() -> Tls {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("cert");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    Tls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), ca_pem: cert.cert.pem() }
}

impl SmtpReceiver {
    async fn start(behaviour: SmtpBehaviour) -> Self {
        let tls = tls();
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &tls.ca_pem).expect("write ca");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        let acceptor = tls.acceptor;
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (b, tx, acceptor) = (behaviour.clone(), tx.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let mut mail = Mail::default();
                    let result = async {
                        match b.mode {
                            SmtpMode::Implicit => {
                                let mut s = acceptor.accept(tcp).await?;
                                s.write_all(b"220 localhost ESMTP test\r\n").await?;
                                smtp_session(s, true, &b, &mut mail, &tx).await?;
                            }
                            _ => {
                                let mut tcp = tcp;
                                tcp.write_all(b"220 localhost ESMTP test\r\n").await?;
                                if let Some(tcp) = smtp_session(tcp, false, &b, &mut mail, &tx).await? {
                                    let s = acceptor.accept(tcp).await?;
                                    smtp_session(s, true, &b, &mut mail, &tx).await?;
                                }
                            }
                        }
                        Ok::<(), std::io::Error>(())
                    };
                    let _ = result.await;
                });
            }
        });
        SmtpReceiver { port, rx, ca_file, _dir: dir }
    }

    fn config(&self, tls: SmtpTls, user: Option<(&str, &str)>) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            tls,
            username: user.map(|u| u.0.to_owned()),
            password: user.map(|u| u.1.into()),
            from: "Firebreak <pager@example.com>".to_owned(),
            ca_file: Some(self.ca_file.clone()),
        }
    }

    async fn next(&mut self) -> Mail {
        self.rx.recv().await.expect("a mail arrived")
    }
}

/// Speaks SMTP on `stream` until QUIT or STARTTLS; after STARTTLS returns the stream to upgrade.
async fn smtp_session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    tls: bool,
    b: &SmtpBehaviour,
    mail: &mut Mail,
    tx: &mpsc::UnboundedSender<Mail>,
) -> std::io::Result<Option<S>> {
    let mut io = BufReader::new(stream);
    mail.tls = tls;
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end().to_owned();
        let verb = line.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        mail.commands.push(if verb == "AUTH" { "AUTH".to_owned() } else { line.clone() });
        let reply: String = match verb.as_str() {
            "EHLO" | "HELO" => {
                let mut r = String::from("250-localhost\r\n");
                if b.mode == SmtpMode::Starttls && !tls {
                    r.push_str("250-STARTTLS\r\n");
                }
                if let Some((mechanisms, ..)) = b.auth {
                    r.push_str(&format!("250-AUTH {mechanisms}\r\n"));
                }
                r.push_str("250 8BITMIME\r\n");
                r
            }
            "STARTTLS" => {
                io.write_all(b"220 2.0.0 ready for TLS\r\n").await?;
                io.flush().await?;
                return Ok(Some(io.into_inner()));
            }
            "AUTH" => {
                let mut words = line.split(' ').skip(1);
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial = words.next().map(str::to_owned);
                let (user, pass) = if mechanism == "PLAIN" {
                    let response = match initial {
                        Some(r) => r,
                        None => ask(&mut io, "334 \r\n").await?,
                    };
                    let decoded =
                        String::from_utf8(B64.decode(response.trim()).unwrap_or_default()).unwrap_or_default();
                    let mut parts = decoded.split('\0').skip(1);
                    (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned())
                } else {
                    let user = match initial {
                        Some(u) => u,
                        None => ask(&mut io, "334 VXNlcm5hbWU6\r\n").await?,
                    };
                    let pass = ask(&mut io, "334 UGFzc3dvcmQ6\r\n").await?;
                    let d = |s: &str| String::from_utf8(B64.decode(s.trim()).unwrap_or_default()).unwrap_or_default();
                    (d(&user), d(&pass))
                };
                match b.auth {
                    Some((_, u, p)) if u == user && p == pass => {
                        mail.auth_user = Some(user);
                        "235 2.7.0 Authentication successful\r\n".to_owned()
                    }
                    _ => "535 5.7.8 Authentication credentials invalid\r\n".to_owned(),
                }
            }
            "MAIL" if b.auth.is_some() && mail.auth_user.is_none() => {
                "530 5.7.0 Authentication required\r\n".to_owned()
            }
            "MAIL" => {
                mail.from = line.clone();
                format!("{}\r\n", b.mail_reply)
            }
            "RCPT" => {
                mail.rcpt.push(line.clone());
                "250 2.1.5 OK\r\n".to_owned()
            }
            "DATA" => {
                io.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                io.flush().await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if io.read_line(&mut l).await? == 0 {
                        return Ok(None);
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                let done = Mail {
                    commands: std::mem::take(&mut mail.commands),
                    tls,
                    auth_user: mail.auth_user.clone(),
                    from: std::mem::take(&mut mail.from),
                    rcpt: std::mem::take(&mut mail.rcpt),
                    data,
                };
                let _ = tx.send(done);
                "250 2.0.0 queued\r\n".to_owned()
            }
            "QUIT" => {
                io.write_all(b"221 2.0.0 bye\r\n").await?;
                io.flush().await?;
                return Ok(None);
            }
            "RSET" | "NOOP" => "250 2.0.0 OK\r\n".to_owned(),
            _ => "502 5.5.2 command not recognized\r\n".to_owned(),
        };
        io.write_all(reply.as_bytes()).await?;
        io.flush().await?;
    }
}

async fn ask<S: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<S>, prompt: &str) -> std::io::Result<String> {
    io.write_all(prompt.as_bytes()).await?;
    io.flush().await?;
    let mut answer = String::new();
    io.read_line(&mut answer).await?;
    Ok(answer.trim_end().to_owned())
}

/// The decoded body of the MIME part with `content_type` (7bit or quoted-printable).
fn mime_part(raw: &str, content_type: &str) -> String {
    let start =
        raw.find(&format!("Content-Type: {content_type}")).unwrap_or_else(|| panic!("no {content_type} part in {raw}"));
    let part = &raw[start..];
    let (headers, rest) = part.split_once("\r\n\r\n").expect("part body");
    let body = rest.split("\r\n--").next().expect("part end");
    if headers.contains("quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex digit"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf-8")
    } else {
        body.to_owned()
    }
}

fn assert_page_email(mail: &Mail) {
    assert_eq!(mail.from, "MAIL FROM:<pager@example.com>");
    assert_eq!(mail.rcpt, vec!["RCPT TO:<oncall@example.com>".to_owned()]);
    let raw = &mail.data;
    assert!(raw.contains("From: Firebreak <pager@example.com>\r\n"), "{raw}");
    assert!(raw.contains("To: oncall@example.com\r\n"), "{raw}");
    assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
    let text = mime_part(raw, "text/plain");
    assert!(text.contains("INC-42 critical: <script>alert(1)</script> & down"), "{text}");
    let html = mime_part(raw, "text/html");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;down&#34; @channel"), "{html}");
    assert!(html.contains("<a href=\"https://fb.example/l/ack/42?sig=abc\">Acknowledge</a>"), "{html}");
    assert!(html.contains("<a href=\"https://fb.example/l/res/42?sig=def\">Resolve</a>"), "{html}");
    assert!(html.contains("<a href=\"https://fb.example/incidents/42\">Open</a>"), "{html}");
    assert_eq!(html.matches("<tr style=").count(), 1, "{html}");
}

fn email_to() -> Recipient {
    to(ContactKind::Email, "oncall@example.com")
}

#[tokio::test]
async fn smtp_starttls_with_auth_plain_delivers_both_parts() {
    let mut server = SmtpReceiver::start(SmtpBehaviour {
        mode: SmtpMode::Starttls,
        auth: Some(("PLAIN LOGIN", "pager", "s3cret")),
        mail_reply: "250 2.1.0 OK",
    })
    .await;
    let mut cfg = lab_config();
    cfg.smtp = Some(server.config(SmtpTls::Starttls, Some(("pager", "s3cret"))));
    assert_eq!(notifier(&cfg).send(&email_to(), &page()).await.expect("sent"), "smtp");
    let mail = server.next().await;
    assert!(mail.tls, "the message came over TLS");
    assert!(mail.commands.iter().any(|c| c == "STARTTLS"), "{:?}", mail.commands);
    assert_eq!(mail.auth_user.as_deref(), Some("pager"));
    assert_page_email(&mail);
}

#[tokio::test]
async fn smtp_implicit_tls_works() {
    let mut server =
        SmtpReceiver::start(SmtpBehaviour { mode: SmtpMode::Implicit, auth: None, mail_reply: "250 2.1.0 OK" }).await;
    let mut cfg = lab_config();
    cfg.smtp = Some(server.config(SmtpTls::Tls, None));
    assert_eq!(notifier(&cfg).send(&email_to(), &page()).await.expect("sent"), "smtp");
    let mail = server.next().await;
    assert!(mail.tls);
    assert!(!mail.commands.iter().any(|c| c == "STARTTLS"));
    assert_eq!(mail.auth_user, None);
    assert_page_email(&mail);
}

#[tokio::test]
async fn smtp_plain_with_auth_login() {
    let mut server = SmtpReceiver::start(SmtpBehaviour {
        mode: SmtpMode::Plain,
        auth: Some(("LOGIN", "relay-user", "pw")),
        mail_reply: "250 2.1.0 OK",
    })
    .await;
    let mut cfg = lab_config();
    cfg.smtp = Some(server.config(SmtpTls::None, Some(("relay-user", "pw"))));
    notifier(&cfg).send(&email_to(), &page()).await.expect("sent");
    let mail = server.next().await;
    assert!(!mail.tls);
    assert_eq!(mail.auth_user.as_deref(), Some("relay-user"));
    assert_page_email(&mail);
}

#[tokio::test]
async fn smtp_errors_map_to_retry_rules() {
    let mut cfg = lab_config();
    for (reply, retryable) in [("451 4.3.0 Try again later", true), ("554 5.7.1 Rejected", false)] {
        let server =
            SmtpReceiver::start(SmtpBehaviour { mode: SmtpMode::Starttls, auth: None, mail_reply: reply }).await;
        cfg.smtp = Some(server.config(SmtpTls::Starttls, None));
        let e = notifier(&cfg).send(&email_to(), &page()).await.expect_err(reply);
        assert_eq!(e.retryable, retryable, "{reply}: {e:?}");
    }
    // Wrong password: permanent (535), and the password never shows.
    let server = SmtpReceiver::start(SmtpBehaviour {
        mode: SmtpMode::Starttls,
        auth: Some(("PLAIN", "pager", "right")),
        mail_reply: "250 OK",
    })
    .await;
    cfg.smtp = Some(server.config(SmtpTls::Starttls, Some(("pager", "wrong-password"))));
    let e = notifier(&cfg).send(&email_to(), &page()).await.expect_err("535");
    assert!(!e.retryable, "{e:?}");
    assert!(!e.reason.contains("wrong-password"));
    // Nothing listening: retried.
    let mut smtp = server.config(SmtpTls::Starttls, None);
    smtp.port = refused_port();
    cfg.smtp = Some(smtp);
    let e = notifier(&cfg).send(&email_to(), &page()).await.expect_err("refused");
    assert!(e.retryable, "{e:?}");
    // A relay that does not offer STARTTLS is not used in the clear.
    let plain = SmtpReceiver::start(SmtpBehaviour { mode: SmtpMode::Plain, auth: None, mail_reply: "250 OK" }).await;
    cfg.smtp = Some(plain.config(SmtpTls::Starttls, None));
    assert!(notifier(&cfg).send(&email_to(), &page()).await.is_err());
}

#[tokio::test]
async fn smtp_fallback_delivers_when_the_primary_fails() {
    let primary = SmtpReceiver::start(SmtpBehaviour {
        mode: SmtpMode::Starttls,
        auth: None,
        mail_reply: "421 4.3.2 shutting down",
    })
    .await;
    let mut fallback =
        SmtpReceiver::start(SmtpBehaviour { mode: SmtpMode::Implicit, auth: None, mail_reply: "250 OK" }).await;
    let mut cfg = lab_config();
    cfg.smtp = Some(primary.config(SmtpTls::Starttls, None));
    cfg.smtp_fallback = Some(fallback.config(SmtpTls::Tls, None));
    let n = notifier(&cfg);
    assert_eq!(n.send(&email_to(), &page()).await.expect("delivered by the fallback"), "smtp");
    let mail = fallback.next().await;
    assert_page_email(&mail);

    // Both failing: the error names both attempts and stays retryable.
    let mut dead = fallback.config(SmtpTls::Tls, None);
    dead.port = refused_port();
    cfg.smtp_fallback = Some(dead);
    let e: SendError = notifier(&cfg).send(&email_to(), &page()).await.expect_err("both fail");
    assert!(e.retryable);
    assert_eq!(e.reason.matches("smtp: ").count(), 2, "{e:?}");
}
