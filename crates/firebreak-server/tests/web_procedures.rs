//! The procedures pages through HTTP: triaging an incident through the forms one question at a
//! time (Back, Start over, the outcome applied at the last answer with every question and
//! answer on the timeline), viewers walking but refused at the end, forged forms and tampered
//! answers refusing without changing anything, hostile titles escaped; and what is in force,
//! with a broken directory's problems shown. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, Reply, TestApp, form, get_page, location, page, sign_in, testid, unescape};
use firebreak_server::ServerConfig;
use serde_json::Value;

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

async fn incident(app: &TestApp, n: &Value) -> Value {
    let r = app.get(&format!("/api/v1/incidents/{n}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn triaged_entries(app: &TestApp, n: &Value) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/incidents/{n}/timeline"), &app.viewer.token).await;
    let items = r.body["items"].as_array().cloned().expect("timeline items");
    items.into_iter().filter(|e| e["kind"] == "triaged").collect()
}

/// The question the triage page asks.
fn question(r: &Reply) -> String {
    unescape(&testid(&r.text, "question").unwrap_or_else(|| panic!("no question on {}", r.text)))
}

async fn responder_walks_the_tree_through_the_forms(app: TestApp) {
    let inc = app.declare("Checkout is down").await;
    let n = inc["number"].clone();
    let label = inc["label"].as_str().expect("label").to_owned();
    let url = format!("/incidents/{label}/triage");
    let cookie = sign_in(&app, "responder@example.com").await;

    let (r, _) = get_page(&app, &format!("/incidents/{label}"), &cookie).await;
    assert!(r.text.contains(&format!("href=\"{url}\"")), "the incident page links to triage");

    let (r, csrf) = get_page(&app, &url, &cookie).await;
    assert!(question(&r).starts_with("Is there a security exposure"), "{}", r.text);
    assert!(r.text.contains("Leaked credentials"), "the help text is shown");
    assert_eq!(testid(&r.text, "current-severity").as_deref(), Some("high"));
    assert_eq!(testid(&r.text, "current-type").as_deref(), Some("outage"));
    assert!(!r.text.contains("data-testid=\"back\""), "no Back on the first question");

    // "No" → customers affected?
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", ""), ("choice", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), format!("{url}?path=1"));
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    assert_eq!(question(&r), "Are customers affected right now?");
    assert!(r.text.contains("<strong>No</strong>"), "the path so far shows the answer: {}", r.text);

    // "Yes, they cannot use a core feature" → how many?
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1"), ("choice", "0")]).await;
    assert_eq!(location(&r), format!("{url}?path=1%2C0"));
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    assert_eq!(question(&r), "How many customers are affected?");
    assert_eq!(r.text.matches("data-testid=\"step\"").count(), 2);

    // Back: one answer fewer, the previous question again; nothing changed.
    assert!(r.text.contains(&format!("href=\"{url}?path=1\" data-testid=\"back\"")), "{}", r.text);
    let (r, _) = get_page(&app, &format!("{url}?path=1"), &cookie).await;
    assert_eq!(question(&r), "Are customers affected right now?");
    assert!(r.text.contains(&format!("href=\"{url}\" data-testid=\"start-over\"")));
    assert_eq!(incident(&app, &n).await["severity"], "high", "walking changes nothing");
    assert!(triaged_entries(&app, &n).await.is_empty());

    // The last answer applies the outcome and goes back to the incident.
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,0"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), format!("/incidents/{label}"));
    let after = incident(&app, &n).await;
    assert_eq!(after["severity"], "critical");
    assert_eq!(after["type"], "outage");
    let entries = triaged_entries(&app, &n).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let steps = entries[0]["steps"].as_array().cloned().expect("steps");
    let pairs: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s["question"].as_str().unwrap_or_default(), s["answer"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(pairs.len(), 3);
    assert!(pairs[0].0.starts_with("Is there a security exposure"));
    assert_eq!(pairs[0].1, "No");
    assert_eq!(pairs[1], ("Are customers affected right now?", "Yes, they cannot use a core feature"));
    assert_eq!(pairs[2], ("How many customers are affected?", "All or most"));
    assert_eq!(entries[0]["outcome"], "critical-outage");
}

async fn viewers_walk_but_cannot_apply(app: TestApp) {
    let inc = app.declare("Checkout is down").await;
    let n = inc["number"].clone();
    let url = format!("/incidents/{}/triage", inc["label"].as_str().expect("label"));
    let cookie = sign_in(&app, "viewer@example.com").await;
    let (r, csrf) = get_page(&app, &url, &cookie).await;
    assert!(r.text.contains("needs the responder role"), "{}", r.text);

    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", ""), ("choice", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a viewer may walk: {}", r.text);
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,0"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("viewers")), "{}", r.text);
    assert_eq!(question(&r), "How many customers are affected?", "the same question again");

    let after = incident(&app, &n).await;
    assert_eq!(after["severity"], "high");
    assert!(triaged_entries(&app, &n).await.is_empty());
}

async fn forged_and_tampered_forms_change_nothing(app: TestApp) {
    let inc = app.declare(HOSTILE).await;
    let n = inc["number"].clone();
    let url = format!("/incidents/{}/triage", inc["label"].as_str().expect("label"));
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &url, &cookie).await;
    assert!(r.text.contains(HOSTILE_ESCAPED), "the title is escaped");
    assert!(!r.text.contains(HOSTILE), "no raw script on the page");

    let r = post(&app, &url, &cookie, &[("path", "1,0"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token: {}", r.text);
    let r = post(&app, &url, &cookie, &[("csrf", "forged"), ("path", "1,0"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a wrong CSRF token: {}", r.text);

    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,0"), ("choice", "7")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("does not exist"), "the message is shown: {}", r.text);
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,x"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,0,0"), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "more answers than questions: {}", r.text);
    let r = app.send(page(&format!("{url}?path=9"), &cookie)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let r = app.send(page("/incidents/9999/triage", &cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = post(&app, "/incidents/9999/triage", &cookie, &[("csrf", &csrf), ("path", ""), ("choice", "0")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    let after = incident(&app, &n).await;
    assert_eq!(after["severity"], "high");
    assert_eq!(after["type"], "outage");
    assert!(triaged_entries(&app, &n).await.is_empty());
}

async fn a_complete_path_is_shown_before_it_is_applied(app: TestApp) {
    let inc = app.declare("Checkout is down").await;
    let n = inc["number"].clone();
    let url = format!("/incidents/{}/triage", inc["label"].as_str().expect("label"));
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &format!("{url}?path=1,0,0"), &cookie).await;
    assert!(testid(&r.text, "outcome").is_some(), "{}", r.text);
    assert!(r.text.contains("<strong>critical</strong>"), "{}", r.text);
    assert_eq!(incident(&app, &n).await["severity"], "high", "showing it changes nothing");
    let r = post(&app, &url, &cookie, &[("csrf", &csrf), ("path", "1,0,0")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(incident(&app, &n).await["severity"], "critical");
}

async fn the_procedures_page_shows_what_is_in_force(app: TestApp) {
    let cookie = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, "/procedures", &cookie).await;
    assert!(r.text.contains("href=\"/procedures\" aria-current=\"page\">Procedures</a>"), "the nav marks Procedures");
    assert_eq!(testid(&r.text, "triage-tree").as_deref(), Some("severity"));
    assert!(r.text.contains("data-testid=\"tree\""), "the default tree is listed");
    assert!(r.text.contains("<code>severity</code>"), "{}", r.text);
    assert!(r.text.contains("data-testid=\"severity\""), "the severity table");
    assert!(!r.text.contains("data-testid=\"problems\""), "no problems");
}

async fn the_procedures_page_shows_the_directory_problems(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let trees = dir.path().join("trees");
    std::fs::create_dir_all(&trees).expect("mkdir");
    std::fs::write(trees.join("broken.yaml"), "start: \"<b>q</b>\"\nquestions: {}\noutcomes: {}\n").expect("write");
    let config = ServerConfig { procedures_dir: Some(dir.path().to_path_buf()), ..ServerConfig::default() };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    let cookie = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, "/procedures", &cookie).await;
    assert!(r.text.contains("data-testid=\"problems\""), "{}", r.text);
    let problem = testid(&r.text, "problem").expect("a problem line");
    assert!(problem.starts_with("trees/broken.yaml:1: `start` names an unknown question"), "{problem}");
    assert!(problem.contains("&#60;b&#62;q&#60;/b&#62;"), "escaped: {problem}");
    assert!(!r.text.contains("<b>q</b>"), "no raw markup from the directory");
    assert!(r.text.contains(&dir.path().display().to_string()), "the directory is named");
    // The built-in tree stays in force.
    assert_eq!(testid(&r.text, "triage-tree").as_deref(), Some("severity"));
}

on_both_backends!(
    responder_walks_the_tree_through_the_forms,
    viewers_walk_but_cannot_apply,
    forged_and_tampered_forms_change_nothing,
    a_complete_path_is_shown_before_it_is_applied,
    the_procedures_page_shows_what_is_in_force,
);

mod directory {
    crate::for_each_backend!(the_procedures_page_shows_the_directory_problems);

    use super::the_procedures_page_shows_the_directory_problems;
}
