//! Paging end to end on an injected clock: contact methods verified with the code that really
//! arrives, escalation levels, delays, round robin, repeats, acknowledge and resolve midway,
//! downtime, retries with the same webhook id, bundling, one-click links, escalate now and
//! reassign. Every page goes to a real local HTTP receiver as a signed webhook. On both
//! backends.

mod common;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use common::receiver::{HttpReceiver, Received};
use common::{Backend, Member, PASSWORD, TestApp, assert_error};
use firebreak_server::engine::paging::{check_handoffs, drain};
use firebreak_server::notify::{NotifyConfig, webhook};
use firebreak_server::{PagingConfig, ServerConfig};
use serde_json::{Value, json};

const BASE: &str = "https://firebreak.test";

fn config(bundle_secs: i64) -> ServerConfig {
    ServerConfig {
        public_url: Some(BASE.into()),
        paging: PagingConfig { bundle: TimeDelta::seconds(bundle_secs), ..PagingConfig::default() },
        notify: NotifyConfig { allow_private_addresses: true, ..NotifyConfig::default() },
        ..ServerConfig::default()
    }
}

async fn app(backend: Backend, bundle_secs: i64) -> Option<TestApp> {
    TestApp::with_config(backend, config(bundle_secs)).await
}

/// A person's webhook receiver, verified with the code it received, with a rule "at once".
struct Pager {
    rx: HttpReceiver,
    secret: String,
    method_id: String,
}

impl Pager {
    /// Every message that arrived so far.
    fn got(&mut self) -> Vec<Received> {
        self.rx.drain()
    }

    /// The checklist reminders that arrived so far (update reminders aside).
    fn checklist(&mut self) -> Vec<Received> {
        self.got().into_iter().filter(|m| m.json()["type"] == "checklist.reminder").collect()
    }
}

/// The six digits in a verification message.
fn code_in(text: &str) -> String {
    let digits: Vec<char> = text.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .expect("a six-digit code")
}

async fn pager(app: &TestApp, who: &Member) -> Pager {
    let mut rx = HttpReceiver::start(200, "{}").await;
    let r = app
        .post(
            "/api/v1/me/contact-methods",
            &who.token,
            json!({"kind": "webhook", "address": format!("{}/hook", rx.url), "label": "lab", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let method_id = r.body["id"].as_str().expect("id").to_owned();
    let secret = r.body["secret"].as_str().expect("a webhook secret, shown once").to_owned();
    assert!(r.body["verified_at"].is_null());
    drain(&app.state).await;
    let msg = rx.next().await;
    assert_eq!(msg.json()["type"], "contact_method.verification");
    let code = code_in(msg.json()["data"]["text"].as_str().expect("text"));
    let r =
        app.post(&format!("/api/v1/me/contact-methods/{method_id}/verify"), &who.token, json!({"code": code})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["verified_at"].is_string());
    let r = app
        .post("/api/v1/me/notification-rules", &who.token, json!({"contact_method_id": method_id, "delay_minutes": 0}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    Pager { rx, secret, method_id }
}

/// A policy of `levels` (each: targets JSON, round robin, delay) and a service using it.
async fn service_with_policy(app: &TestApp, name: &str, levels: Value, repeat: u32) -> String {
    let r = app
        .post(
            "/api/v1/escalation-policies",
            &app.admin.token,
            json!({"name": name, "levels": levels, "repeat": repeat}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let policy = r.body["id"].as_str().expect("policy id").to_owned();
    let r = app.post("/api/v1/services", &app.admin.token, json!({"name": name, "escalation_policy_id": policy})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().expect("service id").to_owned()
}

fn user(m: &Member) -> Value {
    json!({"type": "user", "id": m.user.id})
}

async fn declare(app: &TestApp, service: &str, title: &str) -> i64 {
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            json!({"title": title, "severity": "critical", "type": "outage", "service_id": service}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["number"].as_i64().expect("number")
}

async fn act(app: &TestApp, number: i64, action: &str) {
    let r = app.post(&format!("/api/v1/incidents/{number}/{action}"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn timeline_kinds(app: &TestApp, number: i64) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/incidents/{number}/timeline"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().expect("timeline items")
}

async fn escalation(app: &TestApp, number: i64) -> Value {
    let r = app.get(&format!("/api/v1/incidents/{number}/escalation"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// The incident numbers one page message is about.
fn paged_numbers(msg: &Received) -> Vec<i64> {
    let body = msg.json();
    assert_eq!(body["type"], "incident.page", "{body}");
    body["data"]["incidents"].as_array().expect("incidents").iter().map(|i| i["number"].as_i64().expect("n")).collect()
}

fn advance(app: &TestApp, secs: i64) {
    app.clock.advance(TimeDelta::seconds(secs));
}

// ----------------------------------------------------------------------------- the tests

async fn levels_fire_on_time_and_acknowledging_stops_them(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut first = pager(&app, &app.responder).await;
    let mut second = pager(&app, &app.admin).await;
    // Level 2 pages a schedule whose only answer is its fallback, the admin.
    let r = app
        .post(
            "/api/v1/schedules",
            &app.admin.token,
            json!({"name": "backup", "time_zone": "Europe/Berlin", "fallback": app.admin.user.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let schedule = r.body["id"].clone();
    let levels = json!([
        {"targets": [user(&app.responder)], "delay_minutes": 5},
        {"targets": [{"type": "schedule", "id": schedule}], "delay_minutes": 10}
    ]);
    let service = service_with_policy(&app, "payments", levels, 0).await;
    let n = declare(&app, &service, "Checkout <b>down</b>").await;

    drain(&app.state).await;
    let got = first.got();
    assert_eq!(got.len(), 1, "the first level pages at once");
    assert_eq!(paged_numbers(&got[0]), [n]);
    let data = got[0].json()["data"].clone();
    assert_eq!(data["incidents"][0]["title"], "Checkout <b>down</b>");
    assert!(data["incidents"][0]["ack_url"].as_str().expect("ack").starts_with(&format!("{BASE}/a/")));
    assert_eq!(data["incidents"][0]["open_url"], format!("{BASE}/incidents/{n}"));
    // The signature verifies with the secret shown at creation.
    let body = String::from_utf8(got[0].body.clone()).expect("utf-8");
    let ts: i64 = got[0].header("webhook-timestamp").parse().expect("timestamp");
    let sig = webhook::sign(&first.secret, got[0].header("webhook-id"), ts, body.as_bytes()).expect("sign");
    assert_eq!(got[0].header("webhook-signature"), sig);
    assert!(second.got().is_empty(), "level 2 waits");

    advance(&app, 4 * 60 + 50);
    drain(&app.state).await;
    assert!(second.got().is_empty(), "level 2 is not due before 5 minutes");
    advance(&app, 10);
    drain(&app.state).await;
    let got = second.got();
    assert_eq!(got.len(), 1, "level 2 (the schedule's fallback) pages at 5 minutes");
    assert_eq!(paged_numbers(&got[0]), [n]);
    assert!(first.got().is_empty());

    let esc = escalation(&app, n).await;
    assert_eq!(esc["escalation"]["state"], "exhausted", "{esc}");
    assert_eq!(esc["notifications"].as_array().expect("list").len(), 2);

    let events = timeline_kinds(&app, n).await;
    let paged: Vec<&Value> = events.iter().filter(|e| e["kind"] == "paged").collect();
    assert_eq!(paged.len(), 2, "{events:?}");
    assert_eq!(paged[0]["users"][0]["id"], json!(app.responder.user.id));
    assert_eq!(paged[1]["level"], 2);
    assert_eq!(paged[1]["users"][0]["id"], json!(app.admin.user.id));
    assert_eq!(events.iter().filter(|e| e["kind"] == "notification_sent").count(), 2);
    // Whoever was paged takes part in the incident (and so sees it when it is restricted).
    let people = app.get(&format!("/api/v1/incidents/{n}/participants"), &app.viewer.token).await;
    let ids: Vec<&Value> =
        people.body["items"].as_array().expect("participants").iter().map(|p| &p["user_id"]).collect();
    assert_eq!(ids, [&json!(app.responder.user.id), &json!(app.admin.user.id)], "{}", people.text);
}

/// The responder (level 1, with a second rule two minutes after a page) and the admin (level
/// 2), five minutes apart, repeated three times.
async fn two_levels(backend: Backend) -> Option<(TestApp, Pager, Pager, String)> {
    let app = app(backend, 0).await?;
    let first = pager(&app, &app.responder).await;
    let second = pager(&app, &app.admin).await;
    let r = app
        .post(
            "/api/v1/me/notification-rules",
            &app.responder.token,
            json!({"contact_method_id": first.method_id, "delay_minutes": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let levels = json!([
        {"targets": [user(&app.responder)], "delay_minutes": 5},
        {"targets": [user(&app.admin)], "delay_minutes": 5}
    ]);
    let service = service_with_policy(&app, "search", levels, 3).await;
    Some((app, first, second, service))
}

async fn acknowledging_midway_stops_reminders_and_levels(backend: Backend) {
    let Some((app, mut first, mut second, service)) = two_levels(backend).await else { return };
    // Acknowledged after one minute: the 2-minute reminder and level 2 never come.
    let a = declare(&app, &service, "acknowledged midway").await;
    drain(&app.state).await;
    assert_eq!(first.got().len(), 1);
    advance(&app, 60);
    act(&app, a, "acknowledge").await;
    advance(&app, 30 * 60);
    drain(&app.state).await;
    assert!(first.got().is_empty(), "no reminder after the acknowledgment");
    assert!(second.got().is_empty(), "no escalation after the acknowledgment");
    assert_eq!(escalation(&app, a).await["escalation"]["state"], "acknowledged");
    let events = timeline_kinds(&app, a).await;
    assert!(events.iter().any(|e| e["kind"] == "escalation_stopped" && e["reason"] == "acknowledged"), "{events:?}");
}

async fn resolving_midway_stops_everything_and_reopening_starts_over(backend: Backend) {
    let Some((app, mut first, mut second, service)) = two_levels(backend).await else { return };
    let b = declare(&app, &service, "resolved midway").await;
    drain(&app.state).await;
    assert_eq!(first.got().len(), 1);
    advance(&app, 2 * 60);
    drain(&app.state).await;
    assert_eq!(first.got().len(), 1, "the 2-minute reminder");
    advance(&app, 3 * 60);
    drain(&app.state).await;
    assert_eq!(second.got().len(), 1, "level 2 at 5 minutes");
    assert_eq!(escalation(&app, b).await["escalation"]["state"], "active");
    act(&app, b, "resolve").await;
    advance(&app, 60 * 60);
    drain(&app.state).await;
    assert!(first.got().is_empty() && second.got().is_empty(), "nothing after resolve");
    assert_eq!(escalation(&app, b).await["escalation"]["state"], "resolved");
    let events = timeline_kinds(&app, b).await;
    assert!(events.iter().any(|e| e["kind"] == "escalation_stopped" && e["reason"] == "resolved"), "{events:?}");

    // The store stamps incidents with the real time: the test clock goes back to it before the
    // reopened incident starts escalating again.
    advance(&app, -65 * 60);
    act(&app, b, "reopen").await;
    drain(&app.state).await;
    let got = first.got();
    assert_eq!(
        got.len(),
        1,
        "reopening pages level 1 again: {} {:?}",
        escalation(&app, b).await,
        timeline_kinds(&app, b).await.last()
    );
    assert_eq!(paged_numbers(&got[0]), [b]);
    let events = timeline_kinds(&app, b).await;
    assert!(events.iter().any(|e| e["kind"] == "paged" && e["reason"] == "restart"), "{events:?}");
}

async fn round_robin_repeats_then_exhausts(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut r1 = pager(&app, &app.responder).await;
    let mut r2 = pager(&app, &app.admin).await;
    let levels =
        json!([{"targets": [user(&app.responder), user(&app.admin)], "round_robin": true, "delay_minutes": 1}]);
    let service = service_with_policy(&app, "queue", levels, 2).await;
    let n = declare(&app, &service, "round robin").await;
    let mut order = Vec::new();
    for _ in 0..4 {
        drain(&app.state).await;
        for (who, p) in [("responder", &mut r1), ("admin", &mut r2)] {
            for msg in p.got() {
                assert_eq!(paged_numbers(&msg), [n]);
                order.push(who);
            }
        }
        advance(&app, 60);
    }
    assert_eq!(order, ["responder", "admin", "responder"], "one level, three passes, the turn moving on");
    assert_eq!(escalation(&app, n).await["escalation"]["state"], "exhausted");
    // The turn carries over to the next incident on this level.
    let m = declare(&app, &service, "next incident").await;
    drain(&app.state).await;
    assert!(r1.got().is_empty());
    assert_eq!(paged_numbers(&r2.got()[0]), [m]);
}

async fn after_downtime_only_the_current_step_pages_once(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut p1 = pager(&app, &app.responder).await;
    let mut p2 = pager(&app, &app.admin).await;
    let mut p3 = pager(&app, &app.viewer).await;
    let levels = json!([
        {"targets": [user(&app.responder)], "delay_minutes": 1},
        {"targets": [user(&app.admin)], "delay_minutes": 1},
        {"targets": [user(&app.viewer)], "delay_minutes": 1}
    ]);
    let service = service_with_policy(&app, "batch", levels, 0).await;
    let n = declare(&app, &service, "paged through downtime").await;
    drain(&app.state).await;
    assert_eq!(p1.got().len(), 1);
    // Nobody runs the engine for 2½ minutes: levels 2 and 3 both came due.
    advance(&app, 150);
    drain(&app.state).await;
    drain(&app.state).await;
    assert!(p2.got().is_empty(), "the missed level is skipped");
    assert_eq!(p3.got().len(), 1, "the current level pages once");
    let events = timeline_kinds(&app, n).await;
    let last = events.iter().rfind(|e| e["kind"] == "paged").expect("paged").clone();
    assert_eq!((last["level"].clone(), last["skipped"].clone()), (json!(3), json!(1)), "{last}");
}

async fn failed_deliveries_retry_with_the_same_id_then_give_up(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut p = pager(&app, &app.responder).await;
    let levels = json!([{"targets": [user(&app.responder)], "delay_minutes": 30}]);
    let service = service_with_policy(&app, "flaky", levels, 0).await;
    p.rx.answer_with(503);
    let n = declare(&app, &service, "receiver down").await;
    drain(&app.state).await;
    let first = p.got();
    assert_eq!(first.len(), 1);
    let id = first[0].header("webhook-id").to_owned();
    advance(&app, 4);
    drain(&app.state).await;
    assert!(p.got().is_empty(), "the first retry waits 5 s");
    advance(&app, 1);
    drain(&app.state).await;
    let second = p.got();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].header("webhook-id"), id, "the same id on every retry");
    p.rx.answer_with(200);
    advance(&app, 10);
    drain(&app.state).await;
    let third = p.got();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].header("webhook-id"), id);
    advance(&app, 3600);
    drain(&app.state).await;
    assert!(p.got().is_empty(), "delivered once, not again");
    let esc = escalation(&app, n).await;
    let sent = &esc["notifications"][0];
    assert_eq!((sent["status"].clone(), sent["attempts"].clone()), (json!("sent"), json!(3)), "{esc}");

    // A permanent refusal (400) is not retried and shows on the timeline.
    p.rx.answer_with(400);
    let m = declare(&app, &service, "receiver refuses").await;
    drain(&app.state).await;
    assert_eq!(p.got().len(), 1);
    advance(&app, 3600);
    drain(&app.state).await;
    assert!(p.got().is_empty());
    let events = timeline_kinds(&app, m).await;
    assert!(events.iter().any(|e| e["kind"] == "notification_failed"), "{events:?}");
}

async fn pages_in_a_short_window_are_bundled(backend: Backend) {
    let Some(app) = app(backend, 30).await else { return };
    let mut p = pager(&app, &app.responder).await;
    let levels = json!([{"targets": [user(&app.responder)], "delay_minutes": 30}]);
    let service = service_with_policy(&app, "storm", levels, 0).await;
    let a = declare(&app, &service, "first").await;
    drain(&app.state).await;
    assert_eq!(paged_numbers(&p.got()[0]), [a], "the first page goes at once");
    let b = declare(&app, &service, "second").await;
    let c = declare(&app, &service, "third").await;
    drain(&app.state).await;
    assert!(p.got().is_empty(), "later pages wait for the window");
    advance(&app, 30);
    drain(&app.state).await;
    let got = p.got();
    assert_eq!(got.len(), 1, "one message for both");
    let mut numbers = paged_numbers(&got[0]);
    numbers.sort();
    assert_eq!(numbers, [b, c]);
    assert!(got[0].json()["data"]["subject"].as_str().expect("subject").contains("2 incidents"));
    let events = timeline_kinds(&app, b).await;
    assert!(events.iter().any(|e| e["kind"] == "notification_sent" && e["bundled"] == 2), "{events:?}");
}

async fn one_click_links_act_once_and_expire(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut p = pager(&app, &app.responder).await;
    let levels = json!([{"targets": [user(&app.responder)], "delay_minutes": 30}]);
    let service = service_with_policy(&app, "links", levels, 0).await;
    let n = declare(&app, &service, "click me").await;
    let m = declare(&app, &service, "let me expire").await;
    drain(&app.state).await;
    // Without a bundling window, each page is a message of its own.
    let got = p.got();
    assert_eq!(got.len(), 2);
    let incidents: Vec<Value> =
        got.iter().flat_map(|m| m.json()["data"]["incidents"].as_array().cloned().expect("incidents")).collect();
    assert_eq!(incidents.len(), 2);
    let link = |number: i64, which: &str| {
        let i = incidents.iter().find(|i| i["number"] == number).expect("the incident is in the message");
        let url = i[which].as_str().expect("link").to_owned();
        url.strip_prefix(BASE).expect("public base").to_owned()
    };
    let (ack, late) = (link(n, "ack_url"), link(m, "resolve_url"));

    let page = app.raw(Method::GET, &ack, None, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(&format!("Acknowledge INC-{n}?")), "{}", page.text);
    assert_eq!(
        app.get(&format!("/api/v1/incidents/{n}"), &app.viewer.token).await.body["status"],
        "triggered",
        "a GET changes nothing"
    );
    let done = app.raw(Method::POST, &ack, None, None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert!(done.text.contains("is acknowledged"), "{}", done.text);
    let incident = app.get(&format!("/api/v1/incidents/{n}"), &app.viewer.token).await.body;
    assert_eq!(incident["status"], "acknowledged");
    let again = app.raw(Method::POST, &ack, None, None).await;
    assert!(again.text.contains("used already"), "{}", again.text);
    let events = timeline_kinds(&app, n).await;
    let entry = events.iter().find(|e| e["kind"] == "status_changed").expect("the acknowledgment");
    assert_eq!((entry["via"].clone(), entry["actor"]["id"].clone()), (json!("link"), json!(app.responder.user.id)));

    let tampered = ack.replacen("/a/ack.", "/a/res.", 1);
    assert_eq!(app.raw(Method::POST, &tampered, None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.raw(Method::POST, "/a/garbage", None, None).await.status, StatusCode::NOT_FOUND);
    advance(&app, 25 * 3600);
    assert_eq!(app.raw(Method::POST, &late, None, None).await.status, StatusCode::GONE);
    assert_eq!(app.get(&format!("/api/v1/incidents/{m}"), &app.viewer.token).await.body["status"], "triggered");
}

async fn escalate_now_and_reassign_act_at_once(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut p1 = pager(&app, &app.responder).await;
    let mut p2 = pager(&app, &app.admin).await;
    let mut p3 = pager(&app, &app.viewer).await;
    let levels = json!([
        {"targets": [user(&app.responder)], "delay_minutes": 30},
        {"targets": [user(&app.admin)], "delay_minutes": 30}
    ]);
    let service = service_with_policy(&app, "orders", levels, 0).await;
    let n = declare(&app, &service, "needs more hands").await;
    drain(&app.state).await;
    assert_eq!(p1.got().len(), 1);

    let r = app.post(&format!("/api/v1/incidents/{n}/escalate"), &app.viewer.token, json!({})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post(&format!("/api/v1/incidents/{n}/escalate"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["last_step"], 1);
    drain(&app.state).await;
    assert_eq!(p2.got().len(), 1, "level 2 at once");
    let r = app.post(&format!("/api/v1/incidents/{n}/escalate"), &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    let r = app
        .post(&format!("/api/v1/incidents/{n}/reassign"), &app.responder.token, json!({"user_id": app.viewer.user.id}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    drain(&app.state).await;
    assert_eq!(paged_numbers(&p3.got()[0]), [n]);
    let events = timeline_kinds(&app, n).await;
    assert!(events.iter().any(|e| e["kind"] == "paged" && e["reason"] == "escalate_now"), "{events:?}");
    assert!(events.iter().any(|e| e["kind"] == "paged" && e["reason"] == "reassign"), "{events:?}");

    // Bad requests change nothing.
    let r = app
        .post(&format!("/api/v1/incidents/{n}/reassign"), &app.responder.token, json!({"user_id": uuid::Uuid::nil()}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app.post(&format!("/api/v1/incidents/{n}/reassign"), &app.responder.token, json!({"user_id": 42})).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let r = app.post("/api/v1/incidents/999999/escalate", &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let plain = app.declare("no service, no policy").await;
    let r = app.post(&format!("/api/v1/incidents/{}/escalate", plain["number"]), &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    drain(&app.state).await;
    assert!(p1.got().is_empty() && p2.got().is_empty() && p3.got().is_empty());
}

async fn contact_methods_need_the_password_and_a_code(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut rx = HttpReceiver::start(200, "{}").await;
    let add = |password: &str, address: &str| json!({"kind": "webhook", "address": address, "label": "<script>x</script>", "current_password": password});
    let url = format!("{}/hook", rx.url);
    let r = app.post("/api/v1/me/contact-methods", &app.responder.token, add("wrong", &url)).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/v1/me/contact-methods", &app.responder.token, add(PASSWORD, "ftp://nope")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = app
        .raw(Method::POST, "/api/v1/me/contact-methods", Some(&app.responder.token), Some("{\"kind\":".into()))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = app
        .post(
            "/api/v1/me/contact-methods",
            &app.responder.token,
            json!({"kind": "pager", "address": url, "current_password": PASSWORD}),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let r = app.get("/api/v1/me/contact-methods", &app.responder.token).await;
    assert_eq!(r.body["items"], json!([]), "nothing was added");

    let r = app.post("/api/v1/me/contact-methods", &app.responder.token, add(PASSWORD, &url)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().expect("id").to_owned();
    let r = app.post("/api/v1/me/contact-methods", &app.responder.token, add(PASSWORD, &url)).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // Others cannot see or use it.
    let r =
        app.post(&format!("/api/v1/me/contact-methods/{id}/verify"), &app.admin.token, json!({"code": "123456"})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Unverified: no test message, and rules on it page nobody.
    let r = app.post(&format!("/api/v1/me/contact-methods/{id}/test"), &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = app
        .post(
            "/api/v1/me/notification-rules",
            &app.responder.token,
            json!({"contact_method_id": id, "delay_minutes": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            "/api/v1/me/notification-rules",
            &app.responder.token,
            json!({"contact_method_id": id, "delay_minutes": 241}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    drain(&app.state).await;
    let code = code_in(rx.next().await.json()["data"]["text"].as_str().expect("text"));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let levels = json!([{"targets": [user(&app.responder)], "delay_minutes": 30}]);
    let service = service_with_policy(&app, "unverified", levels, 0).await;
    declare(&app, &service, "nobody verified").await;
    drain(&app.state).await;
    assert!(rx.nothing_arrived(), "an unverified method is never paged");

    for _ in 0..5 {
        let r = app
            .post(&format!("/api/v1/me/contact-methods/{id}/verify"), &app.responder.token, json!({"code": wrong}))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    }
    let r =
        app.post(&format!("/api/v1/me/contact-methods/{id}/verify"), &app.responder.token, json!({"code": code})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // A new code works; the old one does not.
    let r = app.post(&format!("/api/v1/me/contact-methods/{id}/resend"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    drain(&app.state).await;
    let fresh = code_in(rx.next().await.json()["data"]["text"].as_str().expect("text"));
    let r = app
        .post(&format!("/api/v1/me/contact-methods/{id}/verify"), &app.responder.token, json!({"code": fresh}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["label"], "<script>x</script>", "kept as text; pages escape it");

    let r = app.post(&format!("/api/v1/me/contact-methods/{id}/test"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    drain(&app.state).await;
    let msg = rx.next().await;
    assert_eq!(msg.json()["type"], "notification.test");
    assert_eq!(
        msg.header("webhook-id"),
        format!("msg_{}", r.body["notification_id"].as_str().expect("id").replace('-', ""))
    );

    // Deleting needs the password too.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/me/contact-methods/{id}"),
            &app.responder.token,
            Some(json!({"current_password": "nope"})),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/me/contact-methods/{id}"),
            &app.responder.token,
            Some(json!({"current_password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.get("/api/v1/me/notification-rules", &app.responder.token).await;
    assert_eq!(r.body["items"], json!([]), "its rules went with it");
}

async fn hand_offs_tell_the_next_person_once(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    let mut responder = pager(&app, &app.responder).await;
    let mut admin = pager(&app, &app.admin).await;
    // Daily shifts in UTC; the responder's current one ends in 30 minutes.
    let start = (chrono::Utc::now() - TimeDelta::minutes(23 * 60 + 30)).format("%Y-%m-%dT%H:%M").to_string();
    let r = app
        .post(
            "/api/v1/schedules",
            &app.admin.token,
            json!({"name": "desk", "time_zone": "UTC", "layers": [{"name": "daily", "members": [app.responder.user.id, app.admin.user.id],
                "rotation_length": 1, "rotation_unit": "days", "starts_at": start}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .call(Method::PUT, "/api/v1/me/handoff-notifications", &app.admin.token, Some(json!({"enabled": true})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The first look only records who is on call.
    assert_eq!(check_handoffs(&app.state).await, 1);
    drain(&app.state).await;
    assert!(responder.got().is_empty() && admin.got().is_empty());
    assert_eq!(check_handoffs(&app.state).await, 0);

    advance(&app, 31 * 60);
    assert_eq!(check_handoffs(&app.state).await, 1);
    drain(&app.state).await;
    let got = admin.got();
    assert_eq!(got.len(), 1, "the admin asked to hear when their shift starts");
    assert_eq!(got[0].json()["type"], "oncall.handoff");
    assert!(got[0].json()["data"]["subject"].as_str().expect("subject").contains("desk"));
    assert_eq!(check_handoffs(&app.state).await, 0, "told once");
    drain(&app.state).await;
    assert!(admin.got().is_empty());

    advance(&app, 24 * 3600);
    assert_eq!(check_handoffs(&app.state).await, 1);
    drain(&app.state).await;
    assert!(responder.got().is_empty(), "the responder did not ask for hand-off messages");
}

async fn late_playbook_steps_remind_their_owner_then_escalate(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::write(
        dir.path().join("playbooks/late.md"),
        "---\nname: late\nsteps:\n  communication:\n    - task: Post the first update\n      role: communications\n      due: 5m\n  containment:\n    - task: Stop the bleeding\n      role: commander\n      due: 5m\n    - task: Done in time\n      role: commander\n      due: 5m\n---\n",
    )
    .expect("write");
    let config = ServerConfig { procedures_dir: Some(dir.path().to_path_buf()), ..config(0) };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    let mut commander = pager(&app, &app.responder).await;
    let mut comms = pager(&app, &app.admin).await;
    let n = app.declare("Slow checkout").await["number"].as_i64().expect("number");
    for (role, who) in [("commander", &app.responder), ("communications", &app.admin)] {
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/incidents/{n}/roles/{role}"),
                &app.responder.token,
                Some(json!({"user_id": who.user.id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = app.post(&format!("/api/v1/incidents/{n}/playbook"), &app.responder.token, json!({"name": "late"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let done = r.body["items"].as_array().expect("items").iter().find(|i| i["title"] == "Done in time").expect("item")
        ["position"]
        .clone();
    let r = app
        .post(&format!("/api/v1/incidents/{n}/checklist/{done}"), &app.responder.token, json!({"state": "done"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    advance(&app, 4 * 60);
    drain(&app.state).await;
    assert!(commander.checklist().is_empty() && comms.checklist().is_empty(), "nothing is late yet");

    advance(&app, 61);
    drain(&app.state).await;
    let to_comms = comms.checklist();
    assert_eq!(
        to_comms.len(),
        1,
        "the communications lead owns the update step: {:?}",
        timeline_kinds(&app, n).await.iter().map(|e| e["kind"].clone()).collect::<Vec<_>>()
    );
    assert_eq!(to_comms[0].json()["type"], "checklist.reminder");
    assert!(
        to_comms[0].json()["data"]["subject"].as_str().expect("subject").contains("\"Post the first update\" is late")
    );
    let to_commander = commander.checklist();
    assert_eq!(to_commander.len(), 1, "the commander owns the containment step; the done one is not late");
    assert!(to_commander[0].json()["data"]["subject"].as_str().expect("subject").contains("Stop the bleeding"));
    drain(&app.state).await;
    assert!(commander.checklist().is_empty() && comms.checklist().is_empty(), "reminded once");

    // Fifteen minutes later, still open: the communications step goes to the commander; the
    // commander's own step goes to the escalation policy (none here: recorded, nobody told).
    advance(&app, 15 * 60);
    drain(&app.state).await;
    let escalated = commander.checklist();
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert!(
        escalated[0].json()["data"]["subject"]
            .as_str()
            .expect("subject")
            .contains("\"Post the first update\" is still not done")
    );
    assert!(comms.checklist().is_empty());
    advance(&app, 60 * 60);
    drain(&app.state).await;
    assert!(commander.checklist().is_empty() && comms.checklist().is_empty(), "escalated once");
    let late: Vec<Value> =
        timeline_kinds(&app, n).await.into_iter().filter(|e| e["kind"] == "checklist_item_late").collect();
    assert_eq!(late.len(), 4, "{late:?}");
    assert_eq!(late.iter().filter(|e| e["escalated"] == true).count(), 2);
}

/// config.yaml names an escalation policy for critical incidents: it pages for them instead of
/// the service's own, from the start; other severities keep the service's.
async fn a_severity_names_the_escalation_policy_that_pages(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("config.yaml"),
        "severities:\n  critical:\n    escalation_policy: major incidents\n",
    )
    .expect("write");
    let config = ServerConfig { procedures_dir: Some(dir.path().to_path_buf()), ..config(0) };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    let mut responder = pager(&app, &app.responder).await;
    let mut admin = pager(&app, &app.admin).await;
    let r = app
        .post("/api/v1/escalation-policies", &app.admin.token, json!({"name": "major incidents", "levels": [{"targets": [user(&app.admin)], "delay_minutes": 5}], "repeat": 0}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let service =
        service_with_policy(&app, "payments", json!([{"targets": [user(&app.responder)], "delay_minutes": 5}]), 0)
            .await;

    let n = declare(&app, &service, "Payments down").await;
    drain(&app.state).await;
    assert_eq!(admin.got().len(), 1, "the critical policy pages");
    assert!(responder.got().is_empty(), "the service's own policy does not page a critical incident");
    let events = timeline_kinds(&app, n).await;
    let chosen: Vec<&Value> = events.iter().filter(|e| e["kind"] == "escalation_policy_chosen").collect();
    assert_eq!(chosen.len(), 1, "{events:?}");
    assert_eq!(
        (chosen[0]["policy"].as_str(), chosen[0]["reason"].as_str()),
        (Some("major incidents"), Some("critical severity"))
    );
    drain(&app.state).await;
    assert!(admin.got().is_empty() && responder.got().is_empty(), "chosen once");

    // A high incident keeps the service's policy.
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            json!({"title": "Slow refunds", "severity": "high", "type": "outage", "service_id": service}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    drain(&app.state).await;
    assert_eq!(responder.got().len(), 1);
    assert!(admin.got().is_empty());
}

async fn people_on_call_whom_pages_would_not_reach_are_named(backend: Backend) {
    let Some(app) = app(backend, 0).await else { return };
    // Daily shifts in UTC: the responder now, the viewer tomorrow.
    let start = (chrono::Utc::now() - TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M").to_string();
    let layers = json!([{"name": "daily", "members": [app.responder.user.id, app.viewer.user.id],
        "rotation_length": 1, "rotation_unit": "days", "starts_at": start}]);
    let r = app
        .post("/api/v1/schedules", &app.admin.token, json!({"name": "desk", "time_zone": "UTC", "layers": layers}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let schedule = r.body["id"].as_str().unwrap_or_default().to_owned();

    let unreachable =
        async |query: &str| app.get(&format!("/api/v1/oncall/unreachable{query}"), &app.viewer.token).await;
    let r = unreachable("").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names: Vec<&str> =
        r.body["items"].as_array().into_iter().flatten().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(
        names,
        [app.responder.user.email.as_str(), app.viewer.user.email.as_str()],
        "earliest first: {}",
        r.text
    );
    assert_eq!(r.body["items"][0]["no_verified_contact_method"], true);
    assert_eq!(r.body["items"][0]["no_notification_rule"], true);
    assert_eq!(r.body["items"][0]["schedules"], json!(["desk"]));

    // A verified method with a rule makes the responder reachable; the viewer stays named.
    let _pager = pager(&app, &app.responder).await;
    let r = unreachable(&format!("?schedule={schedule}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names: Vec<&str> =
        r.body["items"].as_array().into_iter().flatten().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(names, [app.viewer.user.email.as_str()], "{}", r.text);
    for bad in ["?schedule=0196b3c4-0000-7000-8000-000000000000", "?schedule=nope"] {
        let r = unreachable(bad).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.text);
    }
    let r = unreachable("?who=me").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown parameters are refused: {}", r.text);

    // The schedule page warns; the admin page lists them; it is for admins.
    let cookie = common::sign_in(&app, "viewer@example.com").await;
    let page = app.send(common::page(&format!("/schedules/{schedule}"), &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("data-testid=\"unreachable\""), "{}", page.text);
    assert!(page.text.contains(&format!("<strong>{}</strong>", app.viewer.user.name)), "{}", page.text);
    assert!(page.text.contains("no verified contact method and no notification rule"), "{}", page.text);
    assert_eq!(app.send(common::page("/admin/reachability", &cookie)).await.status, StatusCode::FORBIDDEN);
    let admin = common::sign_in(&app, "admin@example.com").await;
    let page = app.send(common::page("/admin/reachability", &admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(&format!("<strong>{}</strong>", app.viewer.user.name)), "{}", page.text);
    assert!(!page.text.contains(&format!("<strong>{}</strong>", app.responder.user.name)), "{}", page.text);

    // The profile says which channels this server cannot send, and what turns them on.
    let page = app.send(common::page("/profile", &cookie)).await;
    let start = page.text.find("data-testid=\"unavailable-channels\"").unwrap_or_else(|| panic!("{}", page.text));
    let unavailable = &page.text[start..start + page.text[start..].find("</div>").unwrap_or_default()];
    assert!(unavailable.contains("<strong>email</strong>") && unavailable.contains("[notify.smtp]"), "{unavailable}");
    assert!(unavailable.contains("<strong>sms</strong>") && unavailable.contains("[notify.twilio]"), "{unavailable}");
    assert!(!unavailable.contains("<strong>webhook</strong>"), "webhooks need no setup: {unavailable}");
}

for_each_backend!(
    people_on_call_whom_pages_would_not_reach_are_named,
    a_severity_names_the_escalation_policy_that_pages,
    late_playbook_steps_remind_their_owner_then_escalate,
    levels_fire_on_time_and_acknowledging_stops_them,
    acknowledging_midway_stops_reminders_and_levels,
    resolving_midway_stops_everything_and_reopening_starts_over,
    round_robin_repeats_then_exhausts,
    after_downtime_only_the_current_step_pages_once,
    failed_deliveries_retry_with_the_same_id_then_give_up,
    pages_in_a_short_window_are_bundled,
    one_click_links_act_once_and_expire,
    escalate_now_and_reassign_act_at_once,
    contact_methods_need_the_password_and_a_code,
    hand_offs_tell_the_next_person_once,
);
