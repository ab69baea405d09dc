//! The incident page's communication and investigation parts through HTTP, with the
//! documented example procedures: the update composer (preview changes nothing, send records
//! and redirects, a switched template shows its own lists before anything is sent, hostile text
//! escaped, viewers preview but do not send, CSRF), evidence links, the restricted mark and
//! participants, recent changes of the affected service and the timeline filter. On both
//! backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, Reply, TestApp, form, get_page, location, page, sign_in, testid};
use firebreak_server::ServerConfig;
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example")
}

async fn example_app(backend: Backend) -> Option<TestApp> {
    let config = ServerConfig { procedures_dir: Some(example_dir()), ..ServerConfig::default() };
    TestApp::with_config(backend, config).await
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

async fn post_owned(app: &TestApp, path: &str, cookie: &str, fields: Vec<(&str, String)>) -> Reply {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(app, path, cookie, &refs).await
}

async fn timeline(app: &TestApp, label: &str, kind: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/incidents/{label}/timeline?kind={kind}"), &app.admin.token).await;
    r.body["items"].as_array().cloned().unwrap_or_default()
}

async fn declare(app: &TestApp, body: Value) -> String {
    let r = app.post("/api/v1/incidents", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["label"].as_str().unwrap_or_default().to_owned()
}

async fn compose_preview_and_send(backend: Backend) {
    let Some(app) = example_app(backend).await else { return };
    let label =
        declare(&app, json!({"title": format!("Checkout {HOSTILE}"), "severity": "critical", "type": "outage"})).await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, _) = get_page(&app, &format!("/incidents/{label}"), &cookie).await;
    assert!(testid(&r.text, "update-due").is_some(), "the cadence is on the incident page: {}", r.text);
    // Critical: acknowledge within 5 minutes, contain within an hour (the example config.yaml).
    let target = |html: &str, i: usize| testid(html, &format!("target-{i}")).unwrap_or_default();
    assert!(
        target(&r.text, 0).starts_with("acknowledge within 5 minutes (by ") && target(&r.text, 0).ends_with("): open"),
        "{}",
        r.text
    );
    assert!(target(&r.text, 1).starts_with("contain within 60 minutes"), "{}", r.text);
    let ack = app.post(&format!("/api/v1/incidents/{label}/acknowledge"), &app.responder.token, json!({})).await;
    assert_eq!(ack.status, StatusCode::OK, "{}", ack.text);
    let (r, _) = get_page(&app, &format!("/incidents/{label}"), &cookie).await;
    assert!(target(&r.text, 0).ends_with("): met") && target(&r.text, 1).ends_with("): open"), "{}", r.text);
    assert!(r.text.contains(&format!("href=\"/incidents/{label}/updates\"")), "{}", r.text);

    let composer = format!("/incidents/{label}/updates");
    let (r, csrf) = get_page(&app, &composer, &cookie).await;
    assert!(r.text.contains("<option value=\"customer-initial\"") && r.text.contains("(executive)"), "{}", r.text);
    assert!(testid(&r.text, "no-updates").is_some());
    let before = timeline(&app, &label, "").await.len();

    // Preview: rendered, escaped, nothing recorded.
    let fields = |action: &'static str, template: &'static str, lists_for: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("template", template.to_owned()),
            ("lists_for", lists_for.to_owned()),
            ("to", "executives".to_owned()),
            ("message", format!("Failing over {HOSTILE}")),
            ("action", action.to_owned()),
        ]
    };
    let r = post_owned(&app, &composer, &cookie, fields("preview", "executive", "executive")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-testid=\"preview\""), "{}", r.text);
    assert!(!r.text.contains(HOSTILE), "hostile text is escaped everywhere: {}", r.text);
    assert!(r.text.contains("Failing over"), "{}", r.text);
    assert!(testid(&r.text, "recipients").is_some_and(|t| t.contains("cto@example.com")), "{}", r.text);
    assert_eq!(timeline(&app, &label, "").await.len(), before, "a preview records nothing");

    // A template switched since the lists were drawn: its own lists, previewed, not sent.
    let r = post_owned(&app, &composer, &cookie, fields("send", "customer-initial", "executive")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(testid(&r.text, "draft").is_some(), "{}", r.text);
    assert!(!r.text.contains("value=\"executives\" checked"), "the customer template has no lists: {}", r.text);
    assert!(timeline(&app, &label, "update_sent").await.is_empty());

    // Viewers preview but do not send; a missing CSRF token is refused.
    let viewer = sign_in(&app, "viewer@example.com").await;
    let (vr, vcsrf) = get_page(&app, &composer, &viewer).await;
    assert!(!vr.text.contains("value=\"send\""), "no send button for viewers");
    let r = post(
        &app,
        &composer,
        &viewer,
        &[("csrf", &vcsrf), ("template", "internal"), ("lists_for", "internal"), ("action", "send")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = post(&app, &composer, &cookie, &[("template", "internal"), ("lists_for", "internal"), ("action", "send")])
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);
    // An unknown template is an error on the page.
    let r = post(
        &app,
        &composer,
        &cookie,
        &[("csrf", &csrf), ("template", "nope"), ("lists_for", "nope"), ("action", "send")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("no update template")), "{}", r.text);
    assert!(timeline(&app, &label, "update_sent").await.is_empty());

    // Send.
    let r = post_owned(&app, &composer, &cookie, fields("send", "executive", "executive")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    assert_eq!(testid(&r.text, "notice").as_deref(), Some("Sent the executive update to executives."));
    let sent = timeline(&app, &label, "update_sent").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], json!(["executives"]));
    assert!(
        sent[0]["body"].as_str().unwrap_or_default().contains(&format!("Failing over {HOSTILE}")),
        "stored as written"
    );
    // On the incident page the update is on the timeline, escaped.
    let (r, _) = get_page(&app, &format!("/incidents/{label}"), &cookie).await;
    assert!(r.text.contains("sent an executive update to executives"), "{}", r.text);
    assert!(!r.text.contains(HOSTILE));
}

async fn investigate_restrict_and_filter(backend: Backend) {
    let Some(app) = example_app(backend).await else { return };
    // A service with a deploy recorded an hour before the incident.
    let s = app.post("/api/v1/services", &app.admin.token, json!({"name": "checkout"})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.admin.token,
            json!({"type": "pagerduty", "name": "deploys"}),
        )
        .await;
    let key = i.body["key"].as_str().unwrap_or_default().to_owned();
    let at = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let change = json!({"routing_key": key, "payload": {"summary": format!("Deploy v42 {HOSTILE}"), "timestamp": at, "source": "ci"}});
    let r = app.raw(Method::POST, "/v2/change/enqueue", None, Some(change.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let label =
        declare(&app, json!({"title": "Checkout errors", "severity": "high", "type": "outage", "service_id": sid}))
            .await;
    let r = app.get(&format!("/api/v1/incidents/{label}/changes"), &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1), "{}", r.text);
    let r = app.get(&format!("/api/v1/incidents/{label}/changes?before_minutes=30"), &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(0), "a shorter window leaves it out: {}", r.text);
    let r = app.get(&format!("/api/v1/incidents/{label}/changes?before_minutes=0"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    let cookie = sign_in(&app, "responder@example.com").await;
    let inc = format!("/incidents/{label}");
    let (r, csrf) = get_page(&app, &inc, &cookie).await;
    let change_row = testid(&r.text, "change").unwrap_or_default();
    assert!(change_row.contains("Deploy v42 &#60;script&#62;"), "{}", r.text);
    assert!(r.text.contains("before detection"), "{}", r.text);

    // Evidence: only web addresses; the link is on the timeline.
    let r = post(
        &app,
        &format!("{inc}/evidence"),
        &cookie,
        &[("csrf", &csrf), ("url", "javascript:alert(1)"), ("title", "x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = post(
        &app,
        &format!("{inc}/evidence"),
        &cookie,
        &[("csrf", &csrf), ("url", "https://grafana.example/d/1?a=1&b=2"), ("title", "Error rate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &inc, &cookie).await;
    assert!(r.text.contains("href=\"https://grafana.example/d/1?a=1&#38;b=2\""), "{}", r.text);
    assert!(r.text.contains("rel=\"noopener noreferrer nofollow\""));

    // The timeline filter.
    let r = app.post(&format!("/api/v1{inc}/notes"), &app.responder.token, json!({"body": "Rolled back v42"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (r, _) = get_page(&app, &format!("{inc}?kind=note_added"), &cookie).await;
    assert!(r.text.contains("Rolled back v42") && !r.text.contains("linked evidence"), "{}", r.text);
    assert!(
        r.text.contains("data-live=\"/incidents/INC-1/live?part=timeline&amp;kind=note_added\""),
        "the live timeline keeps the filter"
    );
    let live = app.send(page(&format!("{inc}/live?kind=evidence_added"), &cookie)).await;
    assert!(live.text.contains("linked evidence") && !live.text.contains("Rolled back"), "{}", live.text);
    let r = app.send(page(&format!("{inc}?kind=bogus"), &cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Restrict it: the viewer loses it; add the viewer: they see it again.
    let r = post(&app, &format!("{inc}/restricted"), &cookie, &[("csrf", &csrf), ("restricted", "true")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let viewer = sign_in(&app, "viewer@example.com").await;
    assert_eq!(app.send(page(&inc, &viewer)).await.status, StatusCode::NOT_FOUND);
    let (r, _) = get_page(&app, &inc, &cookie).await;
    assert!(testid(&r.text, "restricted").is_some(), "the badge shows");
    let viewer_id = app.viewer.user.id.to_string();
    let r = post(&app, &format!("{inc}/participants"), &cookie, &[("csrf", &csrf), ("user_id", &viewer_id)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &inc, &viewer).await;
    assert!(r.text.contains("data-testid=\"participant\">viewer@example.com"), "{}", r.text);
    let r = post(&app, &format!("{inc}/restricted"), &cookie, &[("csrf", &csrf), ("restricted", "maybe")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(&app, &format!("{inc}/participants"), &cookie, &[("csrf", "wrong"), ("user_id", &viewer_id)]).await;
    assert!(r.status.is_client_error());
}

for_each_backend!(compose_preview_and_send, investigate_restrict_and_filter);
