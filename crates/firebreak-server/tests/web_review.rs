//! Post-incident review pages through HTTP, on both backends: drafting and saving from the
//! page, hostile text escaped in the editor, its preview, the printable page and the action
//! items list; the star form; CSRF on every form; viewers read but do not write; the
//! Analytics page's charts (SVG with accessible labels) and its bad-input answer.

mod common;

use axum::http::{Method, StatusCode};
use common::{Backend, Reply, TestApp, form, get_page, location, sign_in};
use serde_json::json;

const HOSTILE: &str = "<script>alert(1)</script>";

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

async fn review_pages(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else { return };
    let r = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            json!({"title": format!("Disk {HOSTILE}"), "severity": "high", "type": "outage"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cookie = sign_in(&app, "responder@example.com").await;

    // The star form on the incident page; without CSRF it is refused.
    let (r, csrf) = get_page(&app, "/incidents/INC-1", &cookie).await;
    assert!(r.text.contains("/timeline/") && r.text.contains("/star\""), "a star form per entry: {}", r.text);
    assert!(!r.text.contains(HOSTILE));
    let seq = app.get("/api/v1/incidents/INC-1/timeline", &app.admin.token).await.body["items"][0]["seq"]
        .as_i64()
        .unwrap_or_default();
    let star = format!("/incidents/INC-1/timeline/{seq}/star");
    assert_eq!(post(&app, &star, &cookie, &[("starred", "1")]).await.status, StatusCode::FORBIDDEN);
    let r = post(&app, &star, &cookie, &[("csrf", &csrf), ("starred", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, "/incidents/INC-1", &cookie).await;
    assert!(r.text.contains("aria-pressed=\"true\""), "{}", r.text);

    // Draft from the page; the draft's hostile title is escaped in the editor.
    let (r, csrf) = get_page(&app, "/incidents/INC-1/postmortem", &cookie).await;
    assert!(r.text.contains("data-testid=\"pm-none\""));
    assert_eq!(
        post(&app, "/incidents/INC-1/postmortem/new", &cookie, &[("template", "blameless")]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = post(&app, "/incidents/INC-1/postmortem/new", &cookie, &[("csrf", &csrf), ("template", "blameless")]).await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, "/incidents/INC-1/postmortem?done=drafted".to_owned())
    );
    let (r, csrf) = get_page(&app, "/incidents/INC-1/postmortem", &cookie).await;
    assert!(!r.text.contains(HOSTILE) && r.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", r.text);

    // Preview (without script) and the script's fragment both render safely.
    let body = format!("# Findings\n\n{HOSTILE} [x](javascript:alert(1))");
    let r = post(
        &app,
        "/incidents/INC-1/postmortem",
        &cookie,
        &[("csrf", &csrf), ("base_revision", "1"), ("title", "PM"), ("body", &body), ("action", "preview")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.text.contains("<h1>Findings</h1>") && !r.text.contains(HOSTILE) && !r.text.contains("href=\"javascript"),
        "{}",
        r.text
    );
    let r = post(&app, "/incidents/INC-1/postmortem/preview", &cookie, &[("csrf", &csrf), ("body", &body)]).await;
    assert!(
        r.status == StatusCode::OK && r.text.contains("<h1>Findings</h1>") && !r.text.contains(HOSTILE),
        "{}",
        r.text
    );
    assert_eq!(
        post(&app, "/incidents/INC-1/postmortem/preview", &cookie, &[("body", &body)]).await.status,
        StatusCode::FORBIDDEN
    );
    // Saving: a stale base shows the conflict on the page, the right one saves.
    let r = post(
        &app,
        "/incidents/INC-1/postmortem",
        &cookie,
        &[("csrf", &csrf), ("base_revision", "9"), ("title", "PM"), ("body", &body), ("action", "save")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("data-testid=\"error\"") && r.text.contains("reload it"), "{}", r.text);
    let r = post(
        &app,
        "/incidents/INC-1/postmortem",
        &cookie,
        &[("csrf", &csrf), ("base_revision", "1"), ("title", "PM"), ("body", &body), ("action", "save")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.get("/api/v1/incidents/INC-1/postmortem", &app.admin.token).await.body["revision"], 2);
    let (r, csrf) = get_page(&app, "/incidents/INC-1/postmortem", &cookie).await;
    assert!(r.text.contains("data-testid=\"diff-link\""));
    let (d, _) = get_page(&app, "/incidents/INC-1/postmortem/diff?from=1&to=2", &cookie).await;
    assert!(
        d.text.contains("diff-added") && d.text.contains("+ # Findings") && !d.text.contains(HOSTILE),
        "{}",
        d.text
    );

    // An action item from the page, with a hostile title; the list and the printable page escape it.
    let r = post(
        &app,
        "/incidents/INC-1/action-items",
        &cookie,
        &[
            ("csrf", &csrf),
            ("title", &format!("Fix {HOSTILE}")),
            ("priority", "high"),
            ("due_on", "2026-01-01"),
            ("back", "postmortem"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = post(
        &app,
        "/incidents/INC-1/action-items",
        &cookie,
        &[("csrf", &csrf), ("title", "x"), ("due_on", "soon"), ("back", "postmortem")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (list, _) = get_page(&app, "/action-items?overdue=1", &cookie).await;
    assert!(
        list.text.contains("AI-1") && list.text.contains("data-testid=\"overdue\"") && !list.text.contains(HOSTILE),
        "{}",
        list.text
    );
    let (print, _) = get_page(&app, "/incidents/INC-1/postmortem/print", &cookie).await;
    assert!(
        print.text.contains("<h1>Findings</h1>") && print.text.contains("AI-1") && !print.text.contains(HOSTILE),
        "{}",
        print.text
    );
    let md = app.send(common::page("/incidents/INC-1/postmortem.md", &cookie)).await;
    assert!(md.status == StatusCode::OK && md.text.contains("# Findings"), "{}", md.text);
    // The status form goes back only to a path on this site.
    let r = post(
        &app,
        "/action-items/AI-1",
        &cookie,
        &[("csrf", &csrf), ("status", "done"), ("back", "https://evil.example/")],
    )
    .await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/action-items".to_owned()));

    // A viewer reads the postmortem but gets no editor and cannot post.
    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, vcsrf) = get_page(&app, "/incidents/INC-1/postmortem", &viewer).await;
    assert!(!r.text.contains("data-testid=\"pm-editor\"") && r.text.contains("<h1>Findings</h1>"), "{}", r.text);
    let r = post(
        &app,
        "/incidents/INC-1/postmortem",
        &viewer,
        &[("csrf", &vcsrf), ("base_revision", "2"), ("title", "PM"), ("body", "mine"), ("action", "save")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Analytics: charts as SVG with labels; bad input is a 400 on the page.
    let (r, _) = get_page(&app, "/analytics?group_by=severity", &viewer).await;
    assert!(r.text.contains("data-testid=\"chart-incidents\"") && r.text.contains("role=\"img\""), "{}", r.text);
    assert!(r.text.contains("<desc id=\"chart-incidents-d\">high: 1</desc>"), "{}", r.text);
    let r = app.send(common::page("/analytics?tz=Nowhere/Land", &viewer)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("unknown time zone"), "{}", r.text);
}

for_each_backend!(review_pages);
