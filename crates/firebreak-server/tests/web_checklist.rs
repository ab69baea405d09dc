//! The incident page's playbook checklist through HTTP: attaching a playbook in force with the
//! form, the checklist by phase (role, due time, late, state), checking items off, skipping and
//! reopening them, action steps run only when confirmed (the request shown as written, secrets
//! never filled in on the page, the result as a notice), errors shown on the page, CSRF and
//! roles on every form, and hostile titles escaped. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::receiver::HttpReceiver;
use common::{Backend, Reply, TestApp, form, get_page, location, sign_in, testid};
use firebreak_server::ServerConfig;
use serde_json::Value;

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example")
}

/// An app whose procedures are the documented example.
async fn example_app(backend: Backend) -> Option<TestApp> {
    let config = ServerConfig { procedures_dir: Some(example_dir()), ..ServerConfig::default() };
    let app = TestApp::with_config(backend, config).await?;
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], serde_json::json!([]));
    Some(app)
}

/// An app whose only playbook is `db`, written from `playbook` into a temporary directory (kept
/// alive by the returned guard), with the secret `OPS` set.
async fn own_app(backend: Backend, playbook: &str) -> Option<(TestApp, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("playbooks")).expect("mkdir");
    std::fs::write(dir.path().join("playbooks/db.md"), playbook).expect("write");
    let mut secrets = std::collections::BTreeMap::new();
    secrets.insert("OPS".to_owned(), firebreak_server::notify::config::Secret("s3cret-token".into()));
    let config = ServerConfig {
        procedures_dir: Some(dir.path().to_path_buf()),
        action_secrets: secrets,
        ..ServerConfig::default()
    };
    let app = TestApp::with_config(backend, config).await?;
    assert_eq!(app.get("/api/v1/procedures", &app.viewer.token).await.body["problems"], serde_json::json!([]));
    Some((app, dir))
}

/// Declares an incident; returns the path of its page.
async fn incident(app: &TestApp, title: &str) -> String {
    let n = app.declare(title).await["number"].clone();
    format!("/incidents/{n}")
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

/// Posts a form that should succeed; follows its redirect and returns the page.
async fn post_ok(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    let r = post(app, path, cookie, fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.text);
    get_page(app, &location(&r), cookie).await.0
}

/// The incident's checklist through the API.
async fn checklist(app: &TestApp, incident: &str) -> Value {
    let r = app.get(&format!("/api/v1{incident}/checklist"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn timeline(app: &TestApp, incident: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1{incident}/timeline"), &app.viewer.token).await;
    r.body["items"].as_array().cloned().expect("items")
}

fn state_of(html: &str, position: u32) -> String {
    testid(html, &format!("state-{position}")).expect("the item's state")
}

async fn attach_and_work_the_checklist(backend: Backend) {
    let Some(app) = example_app(backend).await else { return };
    let inc = incident(&app, "Checkout is down").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &inc, &cookie).await;
    assert!(testid(&r.text, "no-playbook").is_some(), "{}", r.text);
    assert!(r.text.contains("major-outage — Major outage"), "{}", r.text);
    assert!(r.text.contains("security-incident — "), "{}", r.text);

    // Attach by the form.
    let r = post_ok(&app, &format!("{inc}/playbook"), &cookie, &[("csrf", &csrf), ("name", "major-outage")]).await;
    let attached = checklist(&app, &inc).await;
    assert_eq!(attached["playbook"]["name"], "major-outage");
    let version = attached["playbook"]["version"].as_str().expect("version");
    assert_eq!(testid(&r.text, "playbook-title").as_deref(), Some("Major outage"));
    assert_eq!(testid(&r.text, "playbook-version").as_deref(), version.get(..12));
    let at = |needle: &str| r.text.find(needle).unwrap_or_else(|| panic!("{needle} missing: {}", r.text));
    assert!(at("data-testid=\"phase-containment\"") < at("data-testid=\"phase-investigation\""));
    assert!(at("data-testid=\"phase-investigation\"") < at("data-testid=\"phase-communication\""));
    assert!(at("data-testid=\"phase-communication\"") < at("data-testid=\"phase-review\""));
    assert_eq!(
        testid(&r.text, "item-title-0").map(|t| common::unescape(&t)).as_deref(),
        Some("Confirm the impact from the customer's side (status checks, support tickets)")
    );
    assert!(r.text.contains("Freeze deploys to the affected services"), "{}", r.text);
    assert!(r.text.contains("operations_lead"), "roles are shown");
    assert_eq!(state_of(&r.text, 0), "open");
    assert!(testid(&r.text, "late-0").is_none(), "nothing is late yet");
    // The action step's request as written: the secret reference, never a value.
    assert!(r.text.contains("POST https://ops.example.com/api/failover"), "{}", r.text);

    // Attaching again: the conflict on the page.
    let r = post(&app, &format!("{inc}/playbook"), &cookie, &[("csrf", &csrf), ("name", "security-incident")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| !e.is_empty()), "{}", r.text);
    assert_eq!(checklist(&app, &inc).await["playbook"]["name"], "major-outage");

    // Check one off, skip one, reopen.
    let item = |pos: u32| format!("{inc}/checklist/{pos}");
    let r = post_ok(&app, &item(0), &cookie, &[("csrf", &csrf), ("state", "done")]).await;
    assert_eq!(state_of(&r.text, 0), "done");
    assert!(r.text.contains("by responder@example.com"), "who did it is shown");
    let r = post_ok(&app, &item(1), &cookie, &[("csrf", &csrf), ("state", "skipped")]).await;
    assert_eq!((state_of(&r.text, 0), state_of(&r.text, 1)), ("done".into(), "skipped".into()));
    let items = checklist(&app, &inc).await["items"].clone();
    assert_eq!((items[0]["state"].clone(), items[1]["state"].clone()), ("done".into(), "skipped".into()));
    let r = post_ok(&app, &item(0), &cookie, &[("csrf", &csrf), ("state", "open")]).await;
    assert_eq!(state_of(&r.text, 0), "open");
    let events = timeline(&app, &inc).await;
    let changes: Vec<&Value> = events.iter().filter(|e| e["kind"] == "checklist_item_changed").collect();
    assert_eq!(changes.len(), 3, "{events:?}");

    // Past due and still open: late; skipped items are not.
    app.clock.advance(chrono::TimeDelta::minutes(11));
    let (r, _) = get_page(&app, &inc, &cookie).await;
    assert_eq!(testid(&r.text, "late-0").as_deref(), Some("late"));
    assert!(testid(&r.text, "late-1").is_none(), "skipped is not late");

    // Client errors come back on the page, never as a server error.
    let r = post(&app, &item(99), &cookie, &[("csrf", &csrf), ("state", "done")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| !e.is_empty()), "{}", r.text);
    let r = post(&app, &item(0), &cookie, &[("csrf", &csrf), ("state", "finished")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| !e.is_empty()), "{}", r.text);
    let r = post(&app, "/incidents/9999/checklist/0", &cookie, &[("csrf", &csrf), ("state", "done")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let other = incident(&app, "Another one").await;
    let r = post(&app, &format!("{other}/playbook"), &cookie, &[("csrf", &csrf), ("name", "nope")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| !e.is_empty()), "{}", r.text);
    assert!(checklist(&app, &other).await["playbook"].is_null());

    // The example's action step, unconfirmed: an error, and nothing runs.
    let r = post(&app, &format!("{}/run", item(2)), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("I confirm")), "{}", r.text);
    assert!(!timeline(&app, &inc).await.iter().any(|e| e["kind"] == "action_run"));
    assert_eq!(checklist(&app, &inc).await["items"][2]["state"], "open");
}

async fn forms_without_csrf_change_nothing(backend: Backend) {
    let Some(app) = example_app(backend).await else { return };
    let inc = incident(&app, "Checkout is down").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    for fields in [&[("name", "major-outage")][..], &[("csrf", "forged"), ("name", "major-outage")][..]] {
        let r = post(&app, &format!("{inc}/playbook"), &cookie, fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    assert!(checklist(&app, &inc).await["playbook"].is_null(), "nothing attached");

    let (_, csrf) = get_page(&app, &inc, &cookie).await;
    post_ok(&app, &format!("{inc}/playbook"), &cookie, &[("csrf", &csrf), ("name", "major-outage")]).await;
    let r = post(&app, &format!("{inc}/checklist/0"), &cookie, &[("state", "done")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = post(&app, &format!("{inc}/checklist/2/run"), &cookie, &[("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let items = checklist(&app, &inc).await["items"].clone();
    assert_eq!((items[0]["state"].clone(), items[2]["state"].clone()), ("open".into(), "open".into()));
    assert!(!timeline(&app, &inc).await.iter().any(|e| e["kind"] == "action_run"));
}

async fn viewers_see_the_checklist_but_no_forms(backend: Backend) {
    let Some(app) = example_app(backend).await else { return };
    let inc = incident(&app, "Checkout is down").await;
    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, &inc, &viewer).await;
    assert!(testid(&r.text, "no-playbook").is_some(), "{}", r.text);
    assert!(!r.text.contains("/playbook\""), "no attach form: {}", r.text);

    let attached = app
        .post(&format!("/api/v1{inc}/playbook"), &app.responder.token, serde_json::json!({"name": "major-outage"}))
        .await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.text);
    let (r, csrf) = get_page(&app, &inc, &viewer).await;
    assert_eq!(testid(&r.text, "playbook-title").as_deref(), Some("Major outage"));
    assert!(r.text.contains("Freeze deploys to the affected services"), "{}", r.text);
    assert_eq!(state_of(&r.text, 0), "open");
    assert!(!r.text.contains("/checklist/"), "no checklist forms for viewers: {}", r.text);
    assert!(!r.text.contains(">Done<") && !r.text.contains(">Run<"), "{}", r.text);

    // Posting anyway (with a valid token) is refused and changes nothing.
    let r = post(&app, &format!("{inc}/checklist/0"), &viewer, &[("csrf", &csrf), ("state", "done")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = post(&app, &format!("{inc}/checklist/2/run"), &viewer, &[("csrf", &csrf), ("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(checklist(&app, &inc).await["items"][0]["state"], "open");
}

async fn action_steps_run_from_the_page_when_confirmed(backend: Backend) {
    let mut ops = HttpReceiver::start(200, r#"{"failover": "started"}"#).await;
    let playbook = format!(
        "---\nname: db\ntitle: Database down\nsteps:\n  containment:\n    - action: Fail over\n      request:\n        method: POST\n        url: {url}/failover?key=${{secret:OPS}}\n    - action: Flush caches\n      request:\n        url: {url}/flush\n    - task: Watch the graphs\n---\n",
        url = ops.url
    );
    let Some((app, _dir)) = own_app(backend, &playbook).await else { return };
    let inc = incident(&app, "Database down").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, &inc, &cookie).await;
    let r = post_ok(&app, &format!("{inc}/playbook"), &cookie, &[("csrf", &csrf), ("name", "db")]).await;

    // The request as written, with its secret reference; the secret never reaches the page.
    let shown = testid(&r.text, "run-request-0").expect("the run form");
    assert_eq!(common::unescape(&shown), format!("POST {}/failover?key=${{secret:OPS}}", ops.url));
    assert!(!r.text.contains("s3cret-token"));
    assert!(r.text.contains("I confirm") && r.text.contains("required"), "{}", r.text);

    // Not confirmed: an error, nothing sent.
    let run = |pos: u32| format!("{inc}/checklist/{pos}/run");
    let r = post(&app, &run(0), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("I confirm")), "{}", r.text);
    assert!(ops.nothing_arrived(), "nothing was sent");

    // Not an action: the conflict on the page.
    let r = post(&app, &run(2), &cookie, &[("csrf", &csrf), ("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| !e.is_empty()), "{}", r.text);

    // Confirmed: sent with the secret filled in; the result as a notice; the step is done.
    let r = post(&app, &run(0), &cookie, &[("csrf", &csrf), ("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    let notice = testid(&r.text, "notice").expect("a notice");
    assert!(notice.contains("succeeded") && notice.contains("HTTP 200"), "{notice}");
    assert_eq!(state_of(&r.text, 0), "done");
    assert!(testid(&r.text, "run-request-0").is_none(), "a done action offers no Run form");
    assert!(!r.text.contains("s3cret-token"));
    let got = ops.next().await;
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/failover?key=s3cret-token"));
    let r = post(&app, &run(0), &cookie, &[("csrf", &csrf), ("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "it ran already: {}", r.text);
    assert!(ops.nothing_arrived());

    // Failed: said so; the step stays open.
    ops.answer_with(500);
    let r = post(&app, &run(1), &cookie, &[("csrf", &csrf), ("confirm", "on")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    let notice = testid(&r.text, "notice").expect("a notice");
    assert!(notice.contains("did not succeed") && notice.contains("HTTP 500"), "{notice}");
    assert_eq!(state_of(&r.text, 1), "open");
    assert_eq!(ops.next().await.path, "/flush");

    // A link cannot make the page claim a run that did not happen.
    let (r, _) = get_page(&app, &format!("{inc}?ran=2"), &cookie).await;
    assert!(testid(&r.text, "notice").is_none(), "{}", r.text);
}

async fn hostile_step_titles_are_escaped(backend: Backend) {
    let playbook =
        format!("---\nname: db\ntitle: \"{HOSTILE}\"\nsteps:\n  containment:\n    - task: \"{HOSTILE}\"\n---\n");
    let Some((app, _dir)) = own_app(backend, &playbook).await else { return };
    let inc = incident(&app, "Escaping").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &inc, &cookie).await;
    assert!(!r.text.contains(HOSTILE), "{}", r.text);
    assert!(r.text.contains(HOSTILE_ESCAPED), "the attach form's choice: {}", r.text);
    let r = post_ok(&app, &format!("{inc}/playbook"), &cookie, &[("csrf", &csrf), ("name", "db")]).await;
    assert!(!r.text.contains(HOSTILE), "{}", r.text);
    assert_eq!(testid(&r.text, "item-title-0").as_deref(), Some(HOSTILE_ESCAPED));
}

for_each_backend!(
    attach_and_work_the_checklist,
    forms_without_csrf_change_nothing,
    viewers_see_the_checklist_but_no_forms,
    action_steps_run_from_the_page_when_confirmed,
    hostile_step_titles_are_escaped,
);
