//! Status pages on both backends: administration through the API, and the Statuspage v2
//! JSON that readers fetch, driven by the incidents of linked services.

mod common;

use axum::http::{Method, StatusCode, header};
use common::{TestApp, assert_error, csrf_of, form, page, sign_in};
use serde_json::{Value, json};

/// The anonymous answer at `/status/{slug}/api/v2/{doc}`.
async fn public(app: &TestApp, slug: &str, doc: &str) -> common::Reply {
    app.raw(Method::GET, &format!("/status/{slug}/api/v2/{doc}"), None, None).await
}

fn component<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["components"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no component {name}: {summary}"))
}

async fn pages_show_what_the_incidents_of_their_services_say(app: TestApp) {
    let (admin, tok, viewer) = (&app.admin.token, &app.responder.token, &app.viewer.token);
    app.pagerduty_service("checkout").await;

    // Administration, with its refusals.
    assert_error(
        &app.post("/api/v1/status-pages", tok, json!({"slug": "acme", "name": "Acme"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let r = app.post("/api/v1/status-pages", admin, json!({"slug": "acme", "name": "Acme status"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((r.body["url"].as_str(), r.body["public"].as_bool()), (Some("/status/acme"), Some(true)));
    assert_error(
        &app.post("/api/v1/status-pages", admin, json!({"slug": "acme", "name": "Again"})).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    for bad in [
        json!({"slug": "Not OK", "name": "x"}),
        json!({"slug": "ok", "name": ""}),
        json!({"slug": "ok", "name": "x", "theme": "dark"}),
    ] {
        let r = app.post("/api/v1/status-pages", admin, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    let r = app.raw(Method::POST, "/api/v1/status-pages", Some(admin), Some("{\"slug\":".into())).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let comps = "/api/v1/status-pages/acme/components";
    assert_eq!(
        app.post(comps, admin, json!({"name": "API <script>alert(1)</script>"})).await.status,
        StatusCode::CREATED
    );
    let r = app.post(comps, admin, json!({"name": "Checkout", "group": "Shop", "services": ["Checkout"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_error(
        &app.post(comps, admin, json!({"name": "X", "services": ["nowhere"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post("/api/v1/status-pages/none/components", admin, json!({"name": "X"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(app.get("/api/v1/status-pages", viewer).await.body["items"].as_array().map(Vec::len), Some(1));

    // Everything operational; the answer is cacheable and revalidates.
    let r = public(&app, "acme", "summary.json").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], json!({"indicator": "none", "description": "All Systems Operational"}));
    assert_eq!(component(&r.body, "API <script>alert(1)</script>")["status"], "operational", "the name is data");
    assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("public, max-age=10"));
    let etag = r.headers.get(header::ETAG).cloned().unwrap_or_else(|| panic!("an ETag"));
    let mut again = axum::http::Request::get("/status/acme/api/v2/summary.json");
    again = again.header(header::IF_NONE_MATCH, etag.clone());
    let r = app.send(again.body(axum::body::Body::empty()).unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    // A critical incident on checkout: the next request shows it.
    let declared = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "Payments failing", "severity": "critical", "type": "outage", "services": ["checkout"]}),
        )
        .await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text);
    let r = public(&app, "acme", "summary.json").await;
    assert_eq!(r.body["status"]["indicator"], "critical", "{}", r.text);
    assert_eq!(component(&r.body, "Checkout")["status"], "major_outage");
    let shop = component(&r.body, "Shop");
    assert_eq!((shop["group"].as_bool(), &shop["status"]), (Some(true), &json!("major_outage")));
    assert_eq!(shop["components"], json!([component(&r.body, "Checkout")["id"]]));
    assert_eq!(component(&r.body, "Checkout")["group_id"], shop["id"]);
    assert_ne!(r.headers.get(header::ETAG), Some(&etag), "a change is a new validator");
    assert!(!r.text.contains("Payments failing") && !r.text.contains("responder"), "no internal data: {}", r.text);
    // The page itself says the same, in words, with the hostile name as text.
    let html = app.raw(Method::GET, "/status/acme", None, None).await;
    assert_eq!(html.status, StatusCode::OK, "{}", html.text);
    assert!(
        html.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"))
    );
    assert!(html.text.contains("data-testid=\"overall\">Major System Outage</p>"), "{}", html.text);
    assert!(
        html.text.contains("<span class=\"name\">Shop</span>") && html.text.contains(">Major outage</span>"),
        "{}",
        html.text
    );
    assert!(
        html.text.contains("<span class=\"name\">API &#60;script&#62;alert(1)&#60;/script&#62;</span>"),
        "{}",
        html.text
    );
    assert!(!html.text.contains("<script>") && !html.text.contains("Payments failing"), "{}", html.text);
    assert!(html.headers.get(header::ETAG).is_some());
    let status = public(&app, "acme", "status.json").await;
    assert_eq!(status.body["status"]["description"], "Major System Outage");
    assert!(status.body.get("components").is_none());
    let components = public(&app, "acme", "components.json").await;
    assert_eq!(components.body["components"].as_array().map(Vec::len), Some(3));

    // Restricted incidents never reach a page.
    let r = app.call(Method::PUT, "/api/v1/incidents/INC-1/restricted", tok, Some(json!({"restricted": true}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(public(&app, "acme", "summary.json").await.body["status"]["indicator"], "none");
    let r = app.call(Method::PUT, "/api/v1/incidents/INC-1/restricted", tok, Some(json!({"restricted": false}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A status set by hand stands until cleared.
    let api_id = component(&public(&app, "acme", "summary.json").await.body, "API <script>alert(1)</script>")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let set = format!("/api/v1/status-pages/acme/components/{api_id}/status");
    assert_error(
        &app.call(Method::PUT, &set, viewer, Some(json!({"status": "major_outage"}))).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.call(Method::PUT, &set, tok, Some(json!({"status": "down"}))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let unknown = format!("/api/v1/status-pages/acme/components/{}/status", uuid::Uuid::new_v4());
    assert_error(
        &app.call(Method::PUT, &unknown, tok, Some(json!({"status": null}))).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let r = app.call(Method::PUT, &set, tok, Some(json!({"status": "degraded_performance"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let checkout_id = component(&public(&app, "acme", "summary.json").await.body, "Checkout")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hand = format!("/api/v1/status-pages/acme/components/{checkout_id}/status");
    assert_eq!(app.call(Method::PUT, &hand, tok, Some(json!({"status": "operational"}))).await.status, StatusCode::OK);
    let r = public(&app, "acme", "summary.json").await;
    assert_eq!(component(&r.body, "API <script>alert(1)</script>")["status"], "degraded_performance");
    assert_eq!(component(&r.body, "Checkout")["status"], "operational", "the hand-set status outranks the incident");
    assert_eq!(r.body["status"]["indicator"], "minor");
    for path in [&set, &hand] {
        assert_eq!(app.call(Method::PUT, path, tok, Some(json!({"status": null}))).await.status, StatusCode::OK);
    }
    assert_eq!(component(&public(&app, "acme", "summary.json").await.body, "Checkout")["status"], "major_outage");

    // Resolved: back to operational.
    assert_eq!(app.post("/api/v1/incidents/INC-1/resolve", tok, json!({})).await.status, StatusCode::OK);
    assert_eq!(public(&app, "acme", "summary.json").await.body["status"]["indicator"], "none");
    let audit = app.get("/api/v1/audit?limit=200", admin).await.text;
    for action in ["status_page.create", "status_component.create", "status_component.set_status"] {
        assert!(audit.contains(&format!("\"{action}\"")), "{action} is audited");
    }

    // Unknown pages and documents.
    assert_error(&public(&app, "nowhere", "summary.json").await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&public(&app, "acme", "secrets.json").await, StatusCode::NOT_FOUND, "not_found");
}

async fn a_private_page_is_for_signed_in_readers_only(app: TestApp) {
    let r = app
        .post(
            "/api/v1/status-pages",
            &app.admin.token,
            json!({"slug": "internal", "name": "Internal", "public": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for doc in ["summary.json", "status.json", "components.json"] {
        let r = public(&app, "internal", doc).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(!r.text.contains("Internal"), "{doc} says nothing of the page: {}", r.text);
    }
    let cookie = sign_in(&app, "viewer@example.com").await;
    let r = app.send(page("/status/internal/api/v2/summary.json", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["page"]["name"], "Internal");
    assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("private, no-store"));
    assert!(r.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let anonymous = app.raw(Method::GET, "/status/internal", None, None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "sent to sign in: {}", anonymous.text);
    assert!(!anonymous.text.contains("Internal"));
    let signed_in = app.send(page("/status/internal", &cookie)).await;
    assert!(signed_in.status == StatusCode::OK && signed_in.text.contains("<h1>Internal</h1>"), "{}", signed_in.text);
    assert_eq!(app.raw(Method::GET, "/status/nowhere", None, None).await.status, StatusCode::NOT_FOUND);
    let css = app.raw(Method::GET, "/static/status.css", None, None).await;
    assert!(css.status == StatusCode::OK && css.text.contains("prefers-color-scheme: dark"));
}

/// The status page screen: admins create a page and a component driven by two services;
/// responders set a status by hand and give it back; viewers and forged forms change nothing.
async fn status_pages_are_managed_in_the_web(app: TestApp) {
    app.pagerduty_service("checkout").await;
    app.pagerduty_service("payments").await;
    let admin = sign_in(&app, "admin@example.com").await;
    let r = app.send(page("/admin/status-pages", &admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("No status pages yet.") && r.text.contains("Create a status page"));
    let csrf = csrf_of(&r.text);
    let post = |cookie: &str, path: &str, fields: &[(&str, &str)]| app.send(form(Method::POST, path, cookie, fields));
    let r = post(&admin, "/admin/status-pages", &[("csrf", &csrf), ("slug", "Bad Slug"), ("name", "Acme")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("role=\"alert\"") && r.text.contains("slug: 1 to 63 lower-case letters"), "{}", r.text);
    let r = post(&admin, "/admin/status-pages", &[("slug", "acme"), ("name", "Acme")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(
        app.get("/api/v1/status-pages", &app.viewer.token).await.body["items"],
        json!([]),
        "refusals made nothing"
    );
    let r =
        post(&admin, "/admin/status-pages", &[("csrf", &csrf), ("slug", "acme"), ("name", "Acme <b>status</b>")]).await;
    assert_eq!(
        (r.status, common::location(&r)),
        (StatusCode::SEE_OTHER, "/admin/status-pages".to_owned()),
        "{}",
        r.text
    );
    let services = app.get("/api/v1/services", &app.admin.token).await.body["items"].clone();
    let ids: Vec<String> =
        services.as_array().into_iter().flatten().filter_map(|s| s["id"].as_str().map(str::to_owned)).collect();
    let fields = [("csrf", csrf.as_str()), ("name", "Shop"), ("group", ""), ("service", &ids[0]), ("service", &ids[1])];
    let r = post(&admin, "/admin/status-pages/acme/components", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let api = app.get("/api/v1/status-pages/acme", &app.viewer.token).await.body;
    assert_eq!(api["components"][0]["service_ids"].as_array().map(Vec::len), Some(2), "{api}");
    let shown = app.send(page("/admin/status-pages", &admin)).await.text;
    assert!(shown.contains("Acme &#60;b&#62;status&#60;/b&#62;") && !shown.contains("<b>status</b>"), "{shown}");
    let component = api["components"][0]["id"].as_str().unwrap_or_default().to_owned();
    let set = format!("/admin/status-pages/acme/components/{component}/status");

    let responder = sign_in(&app, "responder@example.com").await;
    let rcsrf = csrf_of(&app.send(page("/admin/status-pages", &responder)).await.text);
    let r = post(&responder, &set, &[("csrf", &rcsrf), ("status", "major_outage")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let shown = app.send(page("/admin/status-pages", &responder)).await.text;
    assert!(
        shown.contains("data-testid=\"component-status\">major_outage</span>")
            && shown.contains("<option value=\"major_outage\" selected>"),
        "{shown}"
    );
    assert!(!shown.contains("Create a status page"), "responders do not create pages");
    let r = post(&responder, &set, &[("csrf", &rcsrf), ("status", "exploded")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = post(&responder, &set, &[("csrf", &rcsrf), ("status", "auto")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/status-pages/acme", &app.viewer.token).await.body["components"][0]["manual_status"],
        Value::Null
    );
    let r = post(&responder, "/admin/status-pages", &[("csrf", &rcsrf), ("slug", "mine"), ("name", "Mine")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only admins create pages");

    let viewer = sign_in(&app, "viewer@example.com").await;
    assert_eq!(app.send(page("/admin/status-pages", &viewer)).await.status, StatusCode::FORBIDDEN);
    let nowhere = format!("/admin/status-pages/nowhere/components/{component}/status");
    assert_eq!(post(&responder, &nowhere, &[("csrf", &rcsrf), ("status", "auto")]).await.status, StatusCode::NOT_FOUND);
}

on_both_backends!(
    pages_show_what_the_incidents_of_their_services_say,
    a_private_page_is_for_signed_in_readers_only,
    status_pages_are_managed_in_the_web
);
