//! Post-incident review through the API, on both backends: a postmortem drafted from the
//! record (checked field by field with a template that prints every field), hostile text kept
//! as text, revisions with their diff, review and an audited sign-off, publishing, the close
//! policy, reminders on the injected clock, action items with the tracker webhook signed at a
//! local receiver, and analytics (JSON and CSV).

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::receiver::HttpReceiver;
use common::{Backend, TestApp, assert_error};
use firebreak_server::ServerConfig;
use firebreak_server::notify::NotifyConfig;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const SECRET: &str = "whsec_dHJhY2tlci1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMzJieXRlcw==";

const FIELDS_TEMPLATE: &str = r#"---
title: "Review of {{ incident.label }}: {{ incident.title }}"
---
severity={{ incident.severity }}
phases={% for p in phases %}{{ p.name }};{% endfor %}
ack={{ durations.to_acknowledge }}
roles={% for r in roles %}{{ r.role }}:{{ r.name }};{% endfor %}
alerts={% for a in alerts %}{{ a.summary }} x{{ a.count }} from {{ a.source }};{% endfor %}
acked_by={{ paging.acknowledged_by | join(",") }}
checklist={{ checklist.playbook }}
key={% for e in key_events %}{{ e.text }};{% endfor %}
timeline={{ timeline | length }}
"#;

/// A procedures directory: critical incidents need a published postmortem and it is due 2h
/// after resolution; high ones use the `fields` template; action items go to `hook`.
fn procedures(hook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        "severities:\n  critical:\n    postmortem_required: true\n    postmortem_due: 2h\n  high:\n    postmortem: fields\n\
         review:\n  action_webhook: {hook}/hook\n  action_webhook_secret: TRACKER\n"
    );
    std::fs::write(dir.path().join("config.yaml"), config).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("postmortems")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("postmortems/fields.md"), FIELDS_TEMPLATE).unwrap_or_else(|e| panic!("{e}"));
    dir
}

async fn app(backend: Backend, dir: &std::path::Path) -> Option<TestApp> {
    let config = ServerConfig {
        procedures_dir: Some(dir.to_path_buf()),
        notify: NotifyConfig { allow_private_addresses: true, ..NotifyConfig::default() },
        action_secrets: [("TRACKER".to_owned(), firebreak_server::notify::config::Secret(SECRET.to_owned()))].into(),
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(backend, config).await?;
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], json!([]));
    Some(app)
}

async fn declare(app: &TestApp, title: &str, severity: &str) -> String {
    let body = json!({"title": title, "severity": severity, "type": "outage"});
    let r = app.post("/api/v1/incidents", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["label"].as_str().unwrap_or_default().to_owned()
}

async fn act(app: &TestApp, label: &str, action: &str) -> common::Reply {
    app.post(&format!("/api/v1/incidents/{label}/{action}"), &app.responder.token, json!({})).await
}

fn put(app: &TestApp, path: &str, token: &str, body: Value) -> impl std::future::Future<Output = common::Reply> {
    app.call(Method::PUT, path, token, Some(body))
}

async fn drafted_from_the_record_field_by_field(backend: Backend) {
    let hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    let (_, key) = app.pagerduty_service("checkout").await;
    app.trigger(&key, "db-lag", "Replica lag over 30s").await;
    app.trigger(&key, "db-lag", "Replica lag over 30s").await;
    let incidents = app.get("/api/v1/incidents", &app.admin.token).await;
    let label = incidents.body["items"][0]["label"].as_str().unwrap_or_default().to_owned();
    // Alerts open high incidents by default; make it explicit for the template choice.
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{label}"),
            &app.responder.token,
            Some(json!({"severity": "high", "title": "Checkout <script>alert(1)</script> {{ 7*7 }}"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = put(
        &app,
        &format!("/api/v1/incidents/{label}/roles/commander"),
        &app.responder.token,
        json!({"email": app.responder.user.email.to_string()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(act(&app, &label, "acknowledge").await.status, StatusCode::OK);
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/notes"),
            &app.responder.token,
            json!({"body": "Failed over to the replica in eu-west"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(act(&app, &label, "resolve").await.status, StatusCode::OK);

    // Star the note as a key event (a viewer may not; an entry of another incident is unknown).
    let timeline = app.get(&format!("/api/v1/incidents/{label}/timeline?kind=note_added"), &app.admin.token).await;
    let seq = timeline.body["items"][0]["seq"].as_i64().unwrap_or_default();
    let star = format!("/api/v1/incidents/{label}/timeline/{seq}/star");
    assert_error(&app.post(&star, &app.viewer.token, json!({})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.post(&star, &app.responder.token, json!({})).await.status, StatusCode::NO_CONTENT);
    let other = declare(&app, "Other", "low").await;
    let r = app.post(&format!("/api/v1/incidents/{other}/timeline/{seq}/star"), &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    // A viewer cannot start it; the responder can, once.
    let path = format!("/api/v1/incidents/{label}/postmortem");
    assert_error(&app.get(&path, &app.viewer.token).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &app.raw(Method::POST, &path, Some(&app.viewer.token), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let r = app.raw(Method::POST, &path, Some(&app.responder.token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["template"].as_str(), r.body["state"].as_str(), r.body["revision"].as_i64()),
        (Some("fields"), Some("draft"), Some(1))
    );
    assert_error(
        &app.raw(Method::POST, &path, Some(&app.responder.token), None).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let body = r.body["body"].as_str().unwrap_or_default();
    let lines: Vec<&str> = body.lines().collect();
    let responder = app.responder.user.name.clone();
    assert_eq!(
        lines,
        vec![
            "severity=high".to_owned(),
            "phases=detected;acknowledged;resolved;".to_owned(),
            "ack=0m".to_owned(),
            format!("roles=commander:{responder};"),
            "alerts=Replica lag over 30s x2 from test;".to_owned(),
            format!("acked_by={responder}"),
            "checklist=".to_owned(),
            "key=note: Failed over to the replica in eu-west;".to_owned(),
            "timeline=1".to_owned(),
        ],
        "{body}"
    );
    // The title is data: printed as written, never evaluated.
    assert_eq!(r.body["title"], format!("Review of {label}: Checkout <script>alert(1)</script> {{{{ 7*7 }}}}"));

    // The preview shows raw HTML as text.
    let preview = app
        .post(
            &format!("{path}/preview"),
            &app.responder.token,
            json!({"body": "# Hi\n<script>alert(1)</script> [x](javascript:alert(1))"}),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let html = preview.body["html"].as_str().unwrap_or_default();
    assert!(html.contains("<h1>Hi</h1>") && html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    assert!(!html.contains("href=\"javascript"), "{html}");
    let preview = app
        .post(
            &format!("{path}/preview"),
            &app.responder.token,
            json!({"body": "[x](javascript:alert(1)) <img src=x onerror=alert(1)>"}),
        )
        .await;
    let html = preview.body["html"].as_str().unwrap_or_default();
    assert!(!html.contains("href=\"javascript") && !html.contains("<img"), "{html}");

    // The built-in template drafts too, with the incident's facts in its sections.
    let r = app.get(&format!("{path}/draft?template=blameless"), &app.responder.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let md = r.body["body"].as_str().unwrap_or_default();
    assert!(
        md.contains("## Contributing factors")
            && md.contains("| acknowledged |")
            && md.contains("Failed over to the replica"),
        "{md}"
    );
    let r = app.get(&format!("{path}/draft?template=nope"), &app.responder.token).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn revised_reviewed_signed_off_and_published(backend: Backend) {
    let hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    let label = declare(&app, "Payments down", "critical").await;
    assert_eq!(act(&app, &label, "resolve").await.status, StatusCode::OK);

    // Closing needs the published postmortem: the answer says so.
    let r = act(&app, &label, "close").await;
    assert_error(&r, StatusCode::CONFLICT, "postmortem_required");
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| m.contains("no postmortem")), "{}", r.text);

    let path = format!("/api/v1/incidents/{label}/postmortem");
    let r = app.raw(Method::POST, &path, Some(&app.responder.token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["required_to_close"], true);
    assert!(r.body["due_at"].is_string(), "{}", r.text);
    let rt = &app.responder.token;

    // Bad input changes nothing.
    assert_error(
        &app.raw(Method::PUT, &path, Some(rt), Some("{not json".into())).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &put(&app, &path, rt, json!({"base_revision": 1, "title": "", "body": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &put(&app, &path, rt, json!({"base_revision": "one", "title": "t", "body": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let big = "x".repeat(300 * 1024);
    let r = put(&app, &path, rt, json!({"base_revision": 1, "title": "t", "body": big})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let stale = put(&app, &path, rt, json!({"base_revision": 5, "title": "t", "body": "x"})).await;
    assert_error(&stale, StatusCode::CONFLICT, "conflict");
    assert_eq!(app.get(&path, rt).await.body["revision"], 1);

    let r = put(&app, &path, rt, json!({"base_revision": 1, "title": "Payments outage", "body": "# Payments\n\nThe card processor timed out.\n", "impact_started_at": "2026-12-01T10:00:00Z"})).await;
    assert_eq!((r.status, r.body["revision"].as_i64()), (StatusCode::OK, Some(2)), "{}", r.text);
    assert_eq!(r.body["impact_started_at"], "2026-12-01T10:00:00Z");
    let revisions = app.get(&format!("{path}/revisions"), rt).await;
    assert_eq!(revisions.body["items"].as_array().map(Vec::len), Some(2));
    let diff = app.get(&format!("{path}/diff?from=1&to=2"), rt).await;
    let lines = diff.body["items"].as_array().cloned().unwrap_or_default();
    assert!(lines.iter().any(|l| l["change"] == "added" && l["text"] == "The card processor timed out."), "{lines:?}");
    assert!(lines.iter().any(|l| l["change"] == "removed"), "{lines:?}");
    assert_error(
        &app.get(&format!("{path}/diff?from=1&to=9"), rt).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    // Review by the viewer (named by email) and the admin.
    let r = app.post(&format!("{path}/review"), rt, json!({"reviewers": ["nobody@example.com"]})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let reviewers = json!({"reviewers": [app.viewer.user.email.to_string(), app.admin.user.id.to_string()]});
    let r = app.post(&format!("{path}/review"), rt, reviewers).await;
    assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::OK, Some("in_review")), "{}", r.text);
    let hash = r.body["revision_hash"].as_str().unwrap_or_default().to_owned();
    assert_error(
        &app.post(&format!("{path}/publish"), rt, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    // The responder is not a reviewer; a wrong hash is a stale read.
    let r = app.post(&format!("{path}/sign-off"), rt, json!({"revision_hash": hash})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post(&format!("{path}/sign-off"), &app.viewer.token, json!({"revision_hash": "0".repeat(64)})).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    for token in [&app.viewer.token, &app.admin.token] {
        let r = app.post(&format!("{path}/sign-off"), token, json!({"revision_hash": hash})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = app.post(&format!("{path}/publish"), rt, json!({})).await;
    assert_eq!((r.status, r.body["state"].as_str()), (StatusCode::OK, Some("published")), "{}", r.text);

    // The sign-offs are audited: who, which revision, its hash.
    let audit = app.get("/api/v1/audit?limit=200", &app.admin.token).await;
    let entries = audit.body["items"].as_array().cloned().unwrap_or_default();
    let signed: Vec<&Value> = entries.iter().filter(|e| e["action"] == "postmortem.signed_off").collect();
    assert_eq!(signed.len(), 2, "{entries:?}");
    assert!(signed.iter().any(|e| e["actor_id"] == app.viewer.user.id.to_string()
        && e["details"]["hash"] == hash.as_str()
        && e["details"]["revision"] == 2));

    // The export keeps the text and the review record.
    let r = app.get(&format!("{path}/export"), rt).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text.contains("The card processor timed out.") && r.text.contains(&hash) && r.text.contains("signed off"),
        "{}",
        r.text
    );

    // Now it closes.
    assert_eq!(act(&app, &label, "close").await.status, StatusCode::OK);
}

async fn late_postmortems_remind_the_commander(backend: Backend) {
    let hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    let label = declare(&app, "Late review", "critical").await;
    let r = put(
        &app,
        &format!("/api/v1/incidents/{label}/roles/commander"),
        &app.responder.token,
        json!({"email": app.admin.user.email.to_string()}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(act(&app, &label, "resolve").await.status, StatusCode::OK);
    let late = async |app: &TestApp| {
        let r = app.get(&format!("/api/v1/incidents/{label}/timeline?kind=postmortem_changed"), &app.admin.token).await;
        r.body["items"].as_array().cloned().unwrap_or_default()
    };
    // The clock starts at the real now: resolution is just before it.
    firebreak_server::engine::tick(&app.state).await;
    assert!(late(&app).await.is_empty(), "not due yet");
    app.clock.advance(chrono::TimeDelta::minutes(119));
    firebreak_server::engine::tick(&app.state).await;
    assert!(late(&app).await.is_empty(), "due after 2h");
    app.clock.advance(chrono::TimeDelta::minutes(2));
    firebreak_server::engine::tick(&app.state).await;
    let entries = late(&app).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["change"], "late");
    assert_eq!(entries[0]["detail"], format!("reminded {}", app.admin.user.name));
    app.clock.advance(chrono::TimeDelta::minutes(60));
    firebreak_server::engine::tick(&app.state).await;
    assert_eq!(late(&app).await.len(), 1, "once");
    let r = app.get(&format!("/api/v1/incidents/{label}/postmortem"), &app.admin.token).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

fn signature_is_valid(secret: &str, id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap_or_else(|e| panic!("{e}"));
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    header.split(' ').any(|s| s.strip_prefix("v1,") == Some(want.as_str()))
}

async fn action_items_reach_the_tracker_signed(backend: Backend) {
    let mut hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    let label = declare(&app, "Disk full", "high").await;
    let rt = &app.responder.token;
    let items = format!("/api/v1/incidents/{label}/action-items");
    // Bad input: a 422 each, nothing created.
    for bad in [
        json!({"title": ""}),
        json!({"title": "x", "due_on": "31/12/2026"}),
        json!({"title": "x", "link": "javascript:alert(1)"}),
        json!({"title": "x", "owner": "nobody@example.com"}),
        json!({"title": "x", "kind": "procedure_change"}),
        json!({"title": "x", "kind": "procedure_change", "procedure_file": "../../etc/passwd"}),
        json!({"title": "x", "kind": "procedure_change", "procedure_file": "playbooks/none.yaml"}),
        json!({"title": "x", "priority": "p0"}),
    ] {
        let r = app.post(&items, rt, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    assert_error(&app.post(&items, &app.viewer.token, json!({"title": "x"})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get(&items, rt).await.body["items"], json!([]));

    let body = json!({"title": "Alert on disk at 80%", "owner": app.responder.user.email.to_string(), "due_on": "2026-01-02",
        "priority": "high", "link": "https://tracker.example/OPS-7", "from_postmortem": true});
    let r = app.post(&items, rt, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let number = r.body["number"].as_i64().unwrap_or_default();
    let change = app
        .post(
            &items,
            rt,
            json!({"title": "Update the disk playbook", "kind": "procedure_change", "procedure_file": "config.yaml"}),
        )
        .await;
    assert_eq!(change.status, StatusCode::CREATED, "{}", change.text);
    // The list links a procedure change to the file's editor.
    let cookie = common::sign_in(&app, "responder@example.com").await;
    let (page, _) = common::get_page(&app, "/action-items", &cookie).await;
    assert!(page.text.contains("href=\"/procedures/edit?path=config.yaml\""), "{}", page.text);

    // Lists: mine, overdue, by status; a viewer sees them (read-only).
    let list = async |q: &str, token: &str| {
        let r = app.get(&format!("/api/v1/action-items{q}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"]
            .as_array()
            .map(|a| a.iter().map(|i| i["number"].as_i64().unwrap_or_default()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(list("?owner=mine", rt).await, vec![number]);
    assert_eq!(list("?overdue=true", rt).await, vec![number]);
    assert_eq!(list("?status=open", &app.viewer.token).await.len(), 2);
    assert_error(&app.get("/api/v1/action-items?status=nope", rt).await, StatusCode::BAD_REQUEST, "invalid_query");
    assert_error(&app.get("/api/v1/action-items?color=red", rt).await, StatusCode::BAD_REQUEST, "invalid_query");

    let r = app
        .call(Method::PATCH, &format!("/api/v1/action-items/AI-{number}"), rt, Some(json!({"status": "done"})))
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("done")), "{}", r.text);
    assert!(r.body["closed_at"].is_string());
    assert_error(&app.get("/api/v1/action-items/AI-999", rt).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&app.get("/api/v1/action-items/zzz", rt).await, StatusCode::NOT_FOUND, "not_found");

    // Each create and change reached the tracker, signed.
    firebreak_server::engine::paging::drain(&app.state).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let delivery = tokio::time::timeout(std::time::Duration::from_secs(10), hook.next())
            .await
            .unwrap_or_else(|_| panic!("no tracker delivery"));
        got.push(delivery);
    }
    let types: Vec<String> = got.iter().map(|d| d.json()["type"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(types, ["action_item.created", "action_item.created", "action_item.updated"]);
    for d in &got {
        assert_eq!(d.path, "/hook");
        let (id, ts, sig) = (d.header("webhook-id"), d.header("webhook-timestamp"), d.header("webhook-signature"));
        assert!(signature_is_valid(SECRET, id, ts, &d.body, sig), "{id} {ts} {sig}");
        assert!(!signature_is_valid(SECRET, id, ts, b"{}", sig));
    }
    let last = got[2].json();
    assert_eq!(last["data"]["action_item"]["number"], number);
    assert_eq!(last["data"]["action_item"]["status"], "done");
    assert_eq!(last["data"]["action_item"]["link"], "https://tracker.example/OPS-7");
}

async fn analytics_count_the_response(backend: Backend) {
    let hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    for (title, severity) in [("A", "high"), ("B", "high"), ("C", "low")] {
        let label = declare(&app, title, severity).await;
        assert_eq!(act(&app, &label, "acknowledge").await.status, StatusCode::OK);
        assert_eq!(act(&app, &label, "resolve").await.status, StatusCode::OK);
    }
    let q = "from=2026-01-01&to=2028-01-01&group_by=severity";
    let r = app.get(&format!("/api/v1/analytics?{q}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total"]["incidents"], 3);
    assert_eq!(r.body["total"]["resolved"], 3);
    assert_eq!(r.body["total"]["mtta"]["count"], 3);
    let groups = r.body["groups"].as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = groups.iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(keys, ["high", "low"]);
    assert_eq!(groups[0]["incidents"], 2);
    let csv = app.get(&format!("/api/v1/analytics.csv?{q}"), &app.viewer.token).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap_or_default().starts_with("text/csv"));
    let rows: Vec<&str> = csv.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(rows[0].starts_with("group,incidents,resolved,reopened,"), "{}", csv.text);
    assert_eq!(rows.len(), 4, "{}", csv.text);
    assert!(rows[1].starts_with("high,2,2,0,") && rows[3].starts_with("all,3,3,0,"), "{}", csv.text);
    for bad in [
        "from=yesterday",
        "from=2026-02-01&to=2026-01-01",
        "group_by=color",
        "tz=Mars/Olympus",
        "severity=huge",
        "from=2000-01-01&to=2026-01-01",
        "team=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ] {
        assert_error(
            &app.get(&format!("/api/v1/analytics?{bad}"), &app.viewer.token).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        );
    }
    let r = app.raw(Method::GET, "/api/v1/analytics", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // An alert's incident belongs to its service (and counts for time to detect); the
    // declared ones to none.
    let (_, key) = app.pagerduty_service("checkout").await;
    app.trigger(&key, "checkout-5xx", "5xx rate over 2%").await;
    let r = app.get("/api/v1/analytics?from=2026-01-01&to=2028-01-01&group_by=service", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let groups = r.body["groups"].as_array().cloned().unwrap_or_default();
    let keys: Vec<(&str, i64)> =
        groups.iter().filter_map(|g| Some((g["key"].as_str()?, g["incidents"].as_i64()?))).collect();
    assert_eq!(keys, [("(none)", 3), ("checkout", 1)], "{}", r.text);
    assert_eq!(groups[1]["mttd"]["count"], 1, "{}", r.text);
    assert_eq!(r.body["noisy_sources"][0]["name"], "pd", "{}", r.text);
    assert_eq!(r.body["noisy_fingerprints"][0]["name"], "checkout-5xx", "{}", r.text);
}

async fn restricted_incidents_keep_their_review_private(backend: Backend) {
    let hook = HttpReceiver::start(200, "{}").await;
    let dir = procedures(&hook.url);
    let Some(app) = app(backend, dir.path()).await else { return };
    let body = json!({"title": "Leaked keys", "severity": "high", "type": "security"});
    let r = app.post("/api/v1/incidents", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let label = r.body["label"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/incidents/{label}/postmortem");
    let r = app.raw(Method::POST, &path, Some(&app.responder.token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/incidents/{label}/action-items"),
            &app.responder.token,
            json!({"title": "Rotate every key"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let number = r.body["number"].as_i64().unwrap_or_default();
    // The viewer takes no part: to them it does not exist.
    let v = &app.viewer.token;
    for p in [
        path.clone(),
        format!("{path}/revisions"),
        format!("{path}/export"),
        format!("/api/v1/incidents/{label}/action-items"),
        format!("/api/v1/action-items/AI-{number}"),
    ] {
        assert_error(&app.get(&p, v).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(app.get("/api/v1/action-items", v).await.body["items"], json!([]));
    // An alert of a restricted incident stays out of the viewer's noisiest fingerprints.
    let (_, key) = app.pagerduty_service("vault").await;
    app.trigger(&key, "vault-token-leak", "Vault token used from a new country").await;
    let alerted = app.get("/api/v1/incidents?limit=1", &app.admin.token).await.body["items"][0]["label"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{alerted}"),
            &app.admin.token,
            Some(json!({"type": "security"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let keys = async |token: &str| {
        let r = app.get("/api/v1/analytics?from=2026-01-01&to=2028-01-01", token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let noisy = r.body["noisy_fingerprints"].as_array().cloned().unwrap_or_default();
        noisy.iter().filter_map(|n| n["name"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(keys(&app.admin.token).await, ["vault-token-leak"]);
    assert!(keys(v).await.is_empty());
    // The participant and admins see it.
    assert_eq!(
        app.get("/api/v1/action-items", &app.responder.token).await.body["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(app.get(&format!("/api/v1/action-items/AI-{number}"), &app.admin.token).await.status, StatusCode::OK);
}

for_each_backend!(
    restricted_incidents_keep_their_review_private,
    drafted_from_the_record_field_by_field,
    revised_reviewed_signed_off_and_published,
    late_postmortems_remind_the_commander,
    action_items_reach_the_tracker_signed,
    analytics_count_the_response,
);
