//! Stakeholder communication through the API with the documented example procedures: the
//! stakeholder groups a severity names are told once, over a real SMTP conversation; updates
//! are previewed (changing nothing), sent (on the timeline, emailed to their contact lists) or
//! recorded as customer-facing drafts; notify steps run when confirmed; the update cadence
//! reminds the communications lead and then escalates, on an injected clock. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use common::smtp::{Mail, SmtpServer};
use common::{Backend, TestApp, assert_error};
use firebreak_server::ServerConfig;
use firebreak_server::notify::NotifyConfig;
use serde_json::{Value, json};

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example")
}

async fn app(backend: Backend, smtp: &SmtpServer) -> Option<TestApp> {
    let config = ServerConfig {
        procedures_dir: Some(example_dir()),
        notify: NotifyConfig { smtp: Some(smtp.config()), ..NotifyConfig::default() },
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(backend, config).await?;
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], json!([]));
    Some(app)
}

async fn declare(app: &TestApp, title: &str, severity: &str, kind: &str) -> String {
    let r = app
        .post("/api/v1/incidents", &app.responder.token, json!({"title": title, "severity": severity, "type": kind}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["label"].as_str().unwrap_or_default().to_owned()
}

async fn timeline(app: &TestApp, label: &str, kind: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/incidents/{label}/timeline?kind={kind}"), &app.admin.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// Runs the engine until nothing is due, then collects the mail that arrived.
async fn mail(app: &TestApp, smtp: &mut SmtpServer, expected: usize) -> Vec<Mail> {
    firebreak_server::engine::paging::drain(&app.state).await;
    let mut got = smtp.drain();
    for _ in 0..50 {
        if got.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        got.extend(smtp.drain());
    }
    got.sort_by(|a, b| a.to.cmp(&b.to));
    got
}

fn advance(app: &TestApp, minutes: i64) {
    app.clock.advance(TimeDelta::minutes(minutes));
}

async fn updates_are_previewed_sent_and_emailed(backend: Backend) {
    let mut smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp).await else { return };
    let label = declare(&app, "Checkout <b>down</b> {{ 7*7 }}", "critical", "outage").await;

    // Critical incidents tell the executives group (config.yaml), once, by email here.
    let told = mail(&app, &mut smtp, 2).await;
    let to: Vec<&str> = told.iter().flat_map(|m| m.to.iter().map(String::as_str)).collect();
    assert_eq!(to, ["cto@example.com", "leadership@example.com"]);
    assert!(told[0].header("Subject").contains("INC-1 critical"), "{}", told[0].data);
    let notices = timeline(&app, &label, "stakeholders_notified").await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        (notices[0]["group"].as_str(), notices[0]["reason"].as_str()),
        (Some("executives"), Some("critical severity"))
    );
    assert!(mail(&app, &mut smtp, 0).await.is_empty(), "a group is told once");

    let view = app.get(&format!("/api/v1/incidents/{label}/updates"), &app.viewer.token).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let names: Vec<&str> =
        view.body["templates"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["customer-initial", "executive", "internal"]);
    assert_eq!(view.body["cadence"]["every_minutes"], 30);
    assert_eq!(view.body["cadence"]["late"], false);

    // A preview renders with the incident's fields and changes nothing.
    let before = timeline(&app, &label, "").await.len();
    let compose = json!({"template": "executive", "message": "Failing over to the standby <script>x</script>."});
    let p = app.post(&format!("/api/v1/incidents/{label}/updates/preview"), &app.viewer.token, compose.clone()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert_eq!(p.body["subject"], "[critical] INC-1: Checkout <b>down</b> {{ 7*7 }}");
    let body = p.body["body"].as_str().unwrap_or_default();
    assert!(
        // The title's `{{ 7*7 }}` stays text: never evaluated to 49 (the times in the body may
        // hold a 49 of their own, so the check is on the title).
        body.contains("Failing over to the standby")
            && body.contains("Checkout <b>down</b> {{ 7*7 }}")
            && !body.contains("down</b> 49"),
        "{body}"
    );
    let html = p.body["html"].as_str().unwrap_or_default();
    assert!(!html.contains("<script>") && !html.contains("<b>down"), "the preview escapes: {html}");
    assert_eq!(p.body["recipients"], json!(["cto@example.com", "leadership@example.com"]));
    assert_eq!(p.body["draft"], false);
    assert_eq!(timeline(&app, &label, "").await.len(), before, "a preview changes nothing");

    // Bad compositions are refused and change nothing.
    let url = format!("/api/v1/incidents/{label}/updates");
    for (bad, code) in [
        (json!({"template": "nope"}), "validation_failed"),
        (json!({"template": "internal", "to": ["ghosts"]}), "validation_failed"),
        (json!({"template": "internal", "message": "x".repeat(10_001)}), "validation_failed"),
        (json!({"template": "internal", "extra": 1}), "invalid_body"),
        (json!({"template": 5}), "invalid_body"),
    ] {
        let r = app.post(&url, &app.responder.token, bad.clone()).await;
        assert_eq!(r.body["error"]["code"], code, "{bad}: {}", r.text);
    }
    let r = app.raw(Method::POST, &url, Some(&app.responder.token), Some("{not json".into())).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    assert_error(&app.post(&url, &app.viewer.token, compose.clone()).await, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(timeline(&app, &label, "").await.len(), before);
    assert!(mail(&app, &mut smtp, 0).await.is_empty());

    // Sending: on the timeline, emailed to the template's list, the cadence starts over.
    let sent = app.post(&url, &app.responder.token, compose).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let emails = mail(&app, &mut smtp, 2).await;
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|m| m.header("Subject") == "[critical] INC-1: Checkout <b>down</b> {{ 7*7 }}"));
    assert!(emails[0].data.contains("Failing over to the standby"), "{}", emails[0].data);
    let entries = timeline(&app, &label, "update_sent").await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0]["audience"].as_str(), entries[0]["to"].clone()), (Some("executive"), json!(["executives"])));
    assert_eq!(entries[0]["actor"]["name"], "responder@example.com");
    let view = app.get(&url, &app.viewer.token).await;
    assert_eq!(view.body["sent"].as_array().map(Vec::len), Some(1));

    // A customer-facing update is a draft: recorded, never emailed, and the cadence runs on.
    let due = app.get(&url, &app.viewer.token).await.body["cadence"]["due_at"].clone();
    assert!(due.is_string(), "{due}");
    app.clock.advance(TimeDelta::minutes(5));
    let r =
        app.post(&url, &app.responder.token, json!({"template": "customer-initial", "message": "We are on it."})).await;
    assert_eq!((r.status, r.body["draft"].as_bool()), (StatusCode::CREATED, Some(true)), "{}", r.text);
    assert!(mail(&app, &mut smtp, 0).await.is_empty(), "drafts are not sent");
    let drafts = timeline(&app, &label, "update_sent").await;
    assert_eq!((drafts.len(), drafts[1]["to"].clone()), (2, json!([])));
    assert_eq!(app.get(&url, &app.viewer.token).await.body["cadence"]["due_at"], due, "a draft does not restart it");
}

async fn notify_steps_tell_their_list_when_confirmed(backend: Backend) {
    let mut smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp).await else { return };
    let label = declare(&app, "Secrets in a public bucket", "medium", "security").await;
    // Security incidents tell the security team (config.yaml) without details: they are restricted.
    let told = mail(&app, &mut smtp, 2).await;
    assert_eq!(told.len(), 2);
    assert!(told.iter().all(|m| !m.data.contains("public bucket")), "restricted details stay out of mail");
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/playbook"),
            &app.responder.token,
            json!({"name": "security-incident"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let items =
        app.get(&format!("/api/v1/incidents/{label}/checklist"), &app.responder.token).await.body["items"].clone();
    let notify = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["title"] == "Notify security-team")
        .cloned()
        .unwrap_or_default();
    let run = format!("/api/v1/incidents/{label}/checklist/{}/run", notify["position"]);
    let r = app.post(&run, &app.responder.token, json!({"confirm": false})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post(&run, &app.responder.token, json!({"confirm": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["item"]["state"], "done");
    assert!(r.body["response"].as_str().unwrap_or_default().contains("security@example.com"), "{}", r.text);
    assert_eq!(mail(&app, &mut smtp, 2).await.len(), 2, "the step's notice is its own");
    let r = app.post(&run, &app.responder.token, json!({"confirm": true})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    assert_eq!(timeline(&app, &label, "stakeholders_notified").await.len(), 2);
    // Reopened and run again: the list is not told twice for one step, and says so.
    let step = format!("/api/v1/incidents/{label}/checklist/{}", notify["position"]);
    assert_eq!(app.post(&step, &app.responder.token, json!({"state": "open"})).await.status, StatusCode::OK);
    let r = app.post(&run, &app.responder.token, json!({"confirm": true})).await;
    assert!(r.body["response"].as_str().unwrap_or_default().contains("told for this step before"), "{}", r.text);
    assert!(mail(&app, &mut smtp, 0).await.is_empty());

    // An update step is checked off by the update sent for it.
    let update = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["title"] == "Send the internal update")
        .cloned()
        .unwrap_or_default();
    let body = json!({"template": "internal", "message": "Keys rotated.", "step": update["position"]});
    let r = app.post(&format!("/api/v1/incidents/{label}/updates"), &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let items =
        app.get(&format!("/api/v1/incidents/{label}/checklist"), &app.responder.token).await.body["items"].clone();
    let done = items
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["position"] == update["position"])
        .cloned()
        .unwrap_or_default();
    assert_eq!(done["state"], "done", "{items}");
    let sent = timeline(&app, &label, "update_sent").await.len();
    let bad = json!({"template": "internal", "step": 999});
    let r = app.post(&format!("/api/v1/incidents/{label}/updates"), &app.responder.token, bad).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(timeline(&app, &label, "update_sent").await.len(), sent, "nothing was sent");
}

async fn late_updates_remind_the_communications_lead_then_escalate(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp).await else { return };
    let label = declare(&app, "Search is down", "critical", "outage").await;
    for (role, who) in [("communications", &app.responder), ("commander", &app.admin)] {
        let r = app
            .call(
                Method::PUT,
                &format!("/api/v1/incidents/{label}/roles/{role}"),
                &app.responder.token,
                Some(json!({"user_id": who.user.id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    firebreak_server::engine::paging::drain(&app.state).await;
    assert!(timeline(&app, &label, "update_late").await.is_empty(), "not due yet");
    advance(&app, 31);
    firebreak_server::engine::paging::drain(&app.state).await;
    let late = timeline(&app, &label, "update_late").await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(
        (late[0]["escalated"].as_bool(), late[0]["to"].clone()),
        (Some(false), json!(["responder@example.com"]))
    );
    let view = app.get(&format!("/api/v1/incidents/{label}/updates"), &app.viewer.token).await;
    assert_eq!(
        (view.body["cadence"]["late"].as_bool(), view.body["cadence"]["reminded"].as_bool()),
        (Some(true), Some(true))
    );
    advance(&app, 10);
    firebreak_server::engine::paging::drain(&app.state).await;
    assert_eq!(timeline(&app, &label, "update_late").await.len(), 1, "escalation waits 15 minutes");
    advance(&app, 6);
    firebreak_server::engine::paging::drain(&app.state).await;
    let late = timeline(&app, &label, "update_late").await;
    assert_eq!(late.len(), 2);
    assert_eq!((late[1]["escalated"].as_bool(), late[1]["to"].clone()), (Some(true), json!(["admin@example.com"])));
    // An update restarts the cadence: nothing more until the next is due.
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/updates"),
            &app.responder.token,
            json!({"template": "internal", "message": "Reindexing."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    advance(&app, 29);
    firebreak_server::engine::paging::drain(&app.state).await;
    assert_eq!(timeline(&app, &label, "update_late").await.len(), 2);
    // Resolved incidents need no more updates.
    let r = app.post(&format!("/api/v1/incidents/{label}/resolve"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    advance(&app, 60);
    firebreak_server::engine::paging::drain(&app.state).await;
    assert_eq!(timeline(&app, &label, "update_late").await.len(), 2);
    let view = app.get(&format!("/api/v1/incidents/{label}/updates"), &app.viewer.token).await;
    assert_eq!(view.body["cadence"], Value::Null);
}

/// A contact list's escalation path: executives escalate to the security team after an hour
/// (contacts/executives.yaml) when nobody acknowledged the incident by then.
async fn unacknowledged_group_notices_follow_the_lists_escalation_path(backend: Backend) {
    let mut smtp = SmtpServer::start().await;
    let Some(app) = app(backend, &smtp).await else { return };
    let label = declare(&app, "Orders are lost", "critical", "outage").await;
    assert_eq!(mail(&app, &mut smtp, 2).await.len(), 2, "executives are told");
    advance(&app, 59);
    assert!(mail(&app, &mut smtp, 0).await.is_empty(), "not yet");
    advance(&app, 2);
    let escalated = mail(&app, &mut smtp, 2).await;
    let to: Vec<&str> = escalated.iter().flat_map(|m| m.to.iter().map(String::as_str)).collect();
    assert_eq!(to, ["ciso@example.com", "security@example.com"]);
    let notices = timeline(&app, &label, "stakeholders_notified").await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!(
        (notices[1]["group"].as_str(), notices[1]["reason"].as_str()),
        (Some("security-team"), Some("executives did not acknowledge within 60 minutes"))
    );
    advance(&app, 120);
    assert!(mail(&app, &mut smtp, 0).await.is_empty(), "escalated once");

    // Acknowledged in time: no escalation.
    let other = declare(&app, "Invoices are late", "critical", "outage").await;
    assert_eq!(mail(&app, &mut smtp, 2).await.len(), 2);
    let r = app.post(&format!("/api/v1/incidents/{other}/acknowledge"), &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    advance(&app, 61);
    assert!(mail(&app, &mut smtp, 0).await.is_empty(), "acknowledged: nobody else is told");
}

for_each_backend!(
    unacknowledged_group_notices_follow_the_lists_escalation_path,
    updates_are_previewed_sent_and_emailed,
    notify_steps_tell_their_list_when_confirmed,
    late_updates_remind_the_communications_lead_then_escalate
);
