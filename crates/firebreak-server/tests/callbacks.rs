//! Acknowledge from anywhere: SMS replies through Twilio's signed inbound webhook, Slack
//! buttons (signed requests) and Telegram buttons (secret token). The contact methods are
//! verified with codes that really arrive at local stand-ins for Twilio, Slack and Telegram.
//! Unsigned, tampered, stale and replayed callbacks change nothing. On both backends.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::TimeDelta;
use common::receiver::{HttpReceiver, Received};
use common::{Backend, PASSWORD, Reply, TestApp};
use firebreak_server::engine::paging::drain;
use firebreak_server::notify::config::{Secret, SlackConfig, TelegramConfig, TwilioConfig};
use firebreak_server::notify::{NotifyConfig, chat, twilio};
use firebreak_server::{Clock, PagingConfig, ServerConfig};
use serde_json::{Value, json};

const BASE: &str = "https://firebreak.test";
const TWILIO_TOKEN: &str = "twilio-auth-token";
const SLACK_SECRET: &str = "slack-signing-secret";
const TELEGRAM_SECRET: &str = "telegram-webhook-secret";
const PHONE: &str = "+14155550123";
const SLACK_USER: &str = "U0RESPONDER";
const TELEGRAM_USER: &str = "424242";

struct Lab {
    app: TestApp,
    twilio: HttpReceiver,
    slack: HttpReceiver,
    telegram: HttpReceiver,
    service: String,
}

fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn code_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(6).find(|w| w.iter().all(|c| c.is_ascii_digit())).map(|w| w.iter().collect()).expect("a code")
}

/// The text a stand-in received: Twilio's form `Body`, Slack's or Telegram's JSON `text`.
fn text_of(r: &Received) -> String {
    if let Some((_, body)) = form_fields(&r.body).into_iter().find(|(k, _)| k == "Body") {
        return body;
    }
    r.json()["text"].as_str().expect("text").to_owned()
}

async fn lab(backend: Backend) -> Option<Lab> {
    let twilio = HttpReceiver::start(201, r#"{"sid": "SM0001", "status": "queued"}"#).await;
    let slack = HttpReceiver::start(200, r#"{"ok": true}"#).await;
    let telegram = HttpReceiver::start(200, r#"{"ok": true, "result": {}}"#).await;
    let notify = NotifyConfig {
        twilio: Some(TwilioConfig {
            base_url: twilio.url.clone(),
            account_sid: "AC0001".into(),
            auth_token: Secret(TWILIO_TOKEN.into()),
            from: "+14155550100".into(),
        }),
        slack: SlackConfig {
            api_base_url: slack.url.clone(),
            bot_token: Some(Secret("xoxb-test".into())),
            signing_secret: Some(Secret(SLACK_SECRET.into())),
        },
        telegram: TelegramConfig {
            api_base_url: telegram.url.clone(),
            bot_token: Some(Secret("123:bot-token".into())),
            webhook_secret: Some(Secret(TELEGRAM_SECRET.into())),
        },
        allow_private_addresses: true,
        ..NotifyConfig::default()
    };
    let config = ServerConfig {
        public_url: Some(BASE.into()),
        paging: PagingConfig { bundle: TimeDelta::zero(), ..PagingConfig::default() },
        notify,
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(backend, config).await?;
    let mut lab = Lab { app, twilio, slack, telegram, service: String::new() };
    for (kind, address) in [("sms", PHONE), ("slack", SLACK_USER), ("telegram", TELEGRAM_USER)] {
        let app = &lab.app;
        let r = app
            .post(
                "/api/v1/me/contact-methods",
                &app.responder.token,
                json!({"kind": kind, "address": address, "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().expect("id").to_owned();
        drain(&app.state).await;
        let receiver = match kind {
            "sms" => &mut lab.twilio,
            "slack" => &mut lab.slack,
            _ => &mut lab.telegram,
        };
        let code = code_in(&text_of(&receiver.next().await));
        let app = &lab.app;
        let r = app
            .post(&format!("/api/v1/me/contact-methods/{id}/verify"), &app.responder.token, json!({"code": code}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let r = app
            .post(
                "/api/v1/me/notification-rules",
                &app.responder.token,
                json!({"contact_method_id": id, "delay_minutes": 0}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let app = &lab.app;
    let levels = json!([{"targets": [{"type": "user", "id": app.responder.user.id}], "delay_minutes": 30}]);
    let r =
        app.post("/api/v1/escalation-policies", &app.admin.token, json!({"name": "phones", "levels": levels})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post("/api/v1/services", &app.admin.token, json!({"name": "api", "escalation_policy_id": r.body["id"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    lab.service = r.body["id"].as_str().expect("service").to_owned();
    Some(lab)
}

impl Lab {
    /// Declares an incident of the service and lets it page on every channel.
    async fn incident(&mut self, title: &str) -> i64 {
        let app = &self.app;
        let r = app
            .post(
                "/api/v1/incidents",
                &app.responder.token,
                json!({"title": title, "severity": "critical", "type": "outage", "service_id": self.service}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        drain(&app.state).await;
        r.body["number"].as_i64().expect("number")
    }

    async fn status(&self, n: i64) -> String {
        let r = self.app.get(&format!("/api/v1/incidents/{n}"), &self.app.viewer.token).await;
        r.body["status"].as_str().expect("status").to_owned()
    }

    async fn last_via(&self, n: i64) -> Value {
        let r = self.app.get(&format!("/api/v1/incidents/{n}/timeline"), &self.app.viewer.token).await;
        let items = r.body["items"].as_array().cloned().expect("items");
        items.iter().rev().find(|e| e["kind"] == "status_changed").map(|e| e["via"].clone()).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, headers: &[(&str, String)], content_type: &str, body: String) -> Reply {
        let mut req = Request::builder().method("POST").uri(path).header(header::CONTENT_TYPE, content_type);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.app.send(req.body(Body::from(body)).expect("request")).await
    }

    async fn sms(&self, from: &str, text: &str, sid: &str, sign_with: Option<&str>) -> Reply {
        let params: Vec<(String, String)> =
            [("From", from), ("Body", text), ("MessageSid", sid), ("To", "+14155550100")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish();
        let mut headers = Vec::new();
        if let Some(token) = sign_with {
            let sig = twilio::twilio_signature(token, &format!("{BASE}/hooks/twilio/sms"), &params);
            headers.push(("x-twilio-signature", sig));
        }
        self.post("/hooks/twilio/sms", &headers, "application/x-www-form-urlencoded", body).await
    }

    async fn slack(&self, action: &str, number: i64, age_secs: i64, sign: bool) -> Reply {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": SLACK_USER},
            "actions": [{"action_id": action, "value": number.to_string()}]
        });
        let body =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
        let ts = (self.app.clock.now().timestamp() - age_secs).to_string();
        let sig = if sign { chat::slack_signature(SLACK_SECRET, &ts, body.as_bytes()) } else { "v0=00".into() };
        let headers = [("x-slack-request-timestamp", ts), ("x-slack-signature", sig)];
        self.post("/hooks/slack/actions", &headers, "application/x-www-form-urlencoded", body).await
    }

    async fn telegram(&self, update_id: i64, data: &str, secret: &str) -> Reply {
        let update = json!({
            "update_id": update_id,
            "callback_query": {"id": "cb1", "from": {"id": TELEGRAM_USER.parse::<i64>().expect("id")}, "data": data}
        });
        let headers = [("x-telegram-bot-api-secret-token", secret.to_owned())];
        self.post("/hooks/telegram", &headers, "application/json", update.to_string()).await
    }
}

async fn sms_replies_acknowledge_and_resolve(backend: Backend) {
    let Some(mut lab) = lab(backend).await else { return };
    let n = lab.incident("sms me").await;
    let page = text_of(&lab.twilio.next().await);
    assert!(page.contains(&format!("ACK {n}")), "the SMS says how to answer: {page}");

    // Unsigned, wrongly signed, or signed for another body: refused, nothing changes.
    assert_eq!(lab.sms(PHONE, &format!("ACK {n}"), "SM1", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(lab.sms(PHONE, &format!("ACK {n}"), "SM1", Some("other-token")).await.status, StatusCode::FORBIDDEN);
    assert_eq!(lab.status(n).await, "triggered");

    let r = lab.sms(PHONE, &format!("ack {n}"), "SM1", Some(TWILIO_TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("<Response><Message>") && r.text.contains("is acknowledged"), "{}", r.text);
    assert_eq!(lab.status(n).await, "acknowledged");
    assert_eq!(lab.last_via(n).await, "sms");

    // The same message again (a replay) is refused even though its signature is right.
    let r = lab.sms(PHONE, &format!("RES {n}"), "SM1", Some(TWILIO_TOKEN)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(lab.status(n).await, "acknowledged");

    // A number nobody verified, and a reply that is not a command, change nothing.
    let r = lab.sms("+14155559999", &format!("RES {n}"), "SM2", Some(TWILIO_TOKEN)).await;
    assert!(r.text.contains("not a verified"), "{}", r.text);
    let r = lab.sms(PHONE, "hello <there>", "SM3", Some(TWILIO_TOKEN)).await;
    assert!(r.text.contains("Reply ACK"), "{}", r.text);
    assert_eq!(lab.status(n).await, "acknowledged");

    let r = lab.sms(PHONE, &format!("RES INC-{n}"), "SM4", Some(TWILIO_TOKEN)).await;
    assert!(r.text.contains("is resolved"), "{}", r.text);
    assert_eq!(lab.status(n).await, "resolved");
}

async fn slack_buttons_are_signed_and_fresh(backend: Backend) {
    let Some(mut lab) = lab(backend).await else { return };
    let n = lab.incident("slack me").await;
    let msg = lab.slack.next().await;
    assert_eq!(msg.path, "/chat.postMessage");
    assert_eq!(msg.json()["channel"], SLACK_USER);

    assert_eq!(lab.slack("ack", n, 0, false).await.status, StatusCode::FORBIDDEN, "unsigned");
    assert_eq!(lab.slack("ack", n, 600, true).await.status, StatusCode::FORBIDDEN, "ten minutes old");
    assert_eq!(lab.status(n).await, "triggered");

    let r = lab.slack("ack", n, 0, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["text"].as_str().expect("text").contains("is acknowledged"), "{}", r.text);
    assert_eq!(lab.status(n).await, "acknowledged");
    assert_eq!(lab.last_via(n).await, "slack");

    let r = lab.slack("resolve", n, 1, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(lab.status(n).await, "resolved");
}

async fn slack_replays_change_nothing(backend: Backend) {
    let Some(mut lab) = lab(backend).await else { return };
    let n = lab.incident("replay me").await;
    lab.slack.drain();
    let payload = json!({"type": "block_actions", "user": {"id": SLACK_USER}, "actions": [{"action_id": "ack", "value": n.to_string()}]});
    let body =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
    let ts = lab.app.clock.now().timestamp().to_string();
    let sig = chat::slack_signature(SLACK_SECRET, &ts, body.as_bytes());
    let headers = [("x-slack-request-timestamp", ts.clone()), ("x-slack-signature", sig.clone())];
    let first = lab.post("/hooks/slack/actions", &headers, "application/x-www-form-urlencoded", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    // Reopen, then replay the very same signed request: it must not acknowledge again.
    let r = lab.app.post(&format!("/api/v1/incidents/{n}/resolve"), &lab.app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = lab.app.post(&format!("/api/v1/incidents/{n}/reopen"), &lab.app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let replay = lab.post("/hooks/slack/actions", &headers, "application/x-www-form-urlencoded", body.clone()).await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{}", replay.text);
    assert_eq!(lab.status(n).await, "triggered");
    // A tampered body under the old signature is refused.
    let tampered = body.replace("ack", "resolve");
    let r = lab.post("/hooks/slack/actions", &headers, "application/x-www-form-urlencoded", tampered).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(lab.status(n).await, "triggered");
}

async fn telegram_buttons_need_the_secret_token(backend: Backend) {
    let Some(mut lab) = lab(backend).await else { return };
    let n = lab.incident("telegram me").await;
    let msg = lab.telegram.next().await;
    assert_eq!(msg.path, "/bot123:bot-token/sendMessage");
    assert_eq!(msg.json()["reply_markup"]["inline_keyboard"][0][0]["callback_data"], format!("ack:{n}"));

    assert_eq!(lab.telegram(1, &format!("res:{n}"), "wrong").await.status, StatusCode::FORBIDDEN);
    assert_eq!(lab.telegram(1, &format!("res:{n}"), "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(lab.status(n).await, "triggered");

    let r = lab.telegram(1, &format!("res:{n}"), TELEGRAM_SECRET).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["method"], "answerCallbackQuery");
    assert!(r.body["text"].as_str().expect("text").contains("is resolved"), "{}", r.text);
    assert_eq!(lab.status(n).await, "resolved");
    assert_eq!(lab.last_via(n).await, "telegram");

    let r = lab.app.post(&format!("/api/v1/incidents/{n}/reopen"), &lab.app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let replay = lab.telegram(1, &format!("res:{n}"), TELEGRAM_SECRET).await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{}", replay.text);
    assert_eq!(lab.status(n).await, "triggered");
    let bad = lab
        .post(
            "/hooks/telegram",
            &[("x-telegram-bot-api-secret-token", TELEGRAM_SECRET.into())],
            "application/json",
            "{".into(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

for_each_backend!(
    sms_replies_acknowledge_and_resolve,
    slack_buttons_are_signed_and_fresh,
    slack_replays_change_nothing,
    telegram_buttons_need_the_secret_token,
);
