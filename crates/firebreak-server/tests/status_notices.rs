//! What status pages tell readers beyond component statuses, on both backends: public
//! incidents drafted from an internal incident through a customer template and published by
//! hand (never before), posted by hand, and maintenance; restricted incidents never on a
//! page; the Statuspage v2 incident documents; Atom and RSS feeds checked by an XML parser;
//! hostile text escaped everywhere; private pages with a shared token; custom domains by
//! `Host`; and the page cache showing a change in the very next request.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Backend, Reply, TestApp, assert_error};
use firebreak_server::ServerConfig;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn app(backend: Backend) -> Option<TestApp> {
    let config = ServerConfig {
        procedures_dir: Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example")),
        ..ServerConfig::default()
    };
    TestApp::with_config(backend, config).await
}

/// A page `acme` with a component `Checkout` linked to the catalog service `checkout`;
/// returns the component's id and the service's PagerDuty key.
async fn page_with_checkout(app: &TestApp) -> (String, String) {
    let (_, key) = app.pagerduty_service("checkout").await;
    let admin = &app.admin.token;
    let r = app.post("/api/v1/status-pages", admin, json!({"slug": "acme", "name": "Acme"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .post("/api/v1/status-pages/acme/components", admin, json!({"name": "Checkout", "services": ["checkout"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (r.body["components"][0]["id"].as_str().unwrap_or_default().to_owned(), key)
}

/// An anonymous reader's GET, with an optional `Host`.
async fn read(app: &TestApp, path: &str, host: Option<&str>) -> Reply {
    let mut req = Request::builder().method(Method::GET).uri(path);
    if let Some(h) = host {
        req = req.header(header::HOST, h);
    }
    app.send(req.body(Body::empty()).unwrap_or_else(|e| panic!("{e}"))).await
}

async fn doc(app: &TestApp, doc: &str) -> Value {
    let r = read(app, &format!("/status/acme/api/v2/{doc}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{doc}: {}", r.text);
    r.body
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| l.iter().filter_map(|i| i["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

async fn public_incidents_are_drafted_from_incidents_and_published_by_hand(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (component, _) = page_with_checkout(&app).await;
    let tok = &app.responder.token;
    let r = app
        .post("/api/v1/incidents", tok, json!({"title": "db-7 primary lost quorum", "severity": "high", "type": "outage", "services": ["checkout"]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let label = r.body["label"].as_str().unwrap_or_default().to_owned();
    let base = format!("/api/v1/incidents/{label}/status-page");

    // A preview shows the public words and stores nothing.
    let ask = json!({"page": "acme", "template": "customer-initial", "message": "Payments may fail."});
    let r = app.post(&format!("{base}/preview"), tok, ask.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Investigating: db-7 primary lost quorum");
    assert_eq!((r.body["status"].as_str(), r.body["impact"].as_str()), (Some("investigating"), Some("major")));
    assert_eq!(r.body["components"], json!([component]), "the components of the incident's service");
    assert!(r.body["body"].as_str().is_some_and(|b| b.contains("Payments may fail.")), "{}", r.text);
    assert_eq!(doc(&app, "incidents.json").await["incidents"], json!([]));
    let r = app.post(&format!("{base}/preview"), tok, json!({"page": "acme", "template": "internal"})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post(&format!("{base}/preview"), tok, json!({"page": "nowhere", "template": "customer-initial"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_error(
        &app.post(&format!("{base}/drafts"), &app.viewer.token, ask.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // A draft is recorded (on the incident's timeline too) but readers see nothing yet.
    let mut drafting = ask.clone();
    drafting["title"] = json!("Card payments failing");
    let r = app.post(&format!("{base}/drafts"), tok, drafting).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let update = r.body["update_id"].as_str().unwrap_or_default().to_owned();
    let notice = r.body["notice"]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r.body["notice"]["published"], false);
    assert_eq!(
        r.body["notice"]["incident_number"],
        json!(label.trim_start_matches("INC-").parse::<i64>().unwrap_or(0))
    );
    let timeline = app.get(&format!("/api/v1/incidents/{label}/timeline"), tok).await;
    assert!(timeline.text.contains("update_sent") && timeline.text.contains("customer-initial"), "{}", timeline.text);
    assert_eq!(doc(&app, "summary.json").await["incidents"], json!([]));
    let html = read(&app, "/status/acme", None).await.text;
    assert!(!html.contains("Card payments failing"), "{html}");
    let listed = app.get("/api/v1/status-pages/acme/incidents", tok).await;
    assert_eq!(listed.body["items"][0]["published"], false, "{}", listed.text);

    // Published by hand: now readers see it, and never the internal title.
    let publish = format!("/api/v1/status-pages/acme/updates/{update}/publish");
    assert_error(&app.post(&publish, &app.viewer.token, json!({})).await, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post(&publish, tok, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_error(&app.post(&publish, tok, json!({})).await, StatusCode::CONFLICT, "conflict");
    let summary = doc(&app, "summary.json").await;
    let shown = &summary["incidents"][0];
    assert_eq!(
        (shown["name"].as_str(), shown["status"].as_str(), shown["impact"].as_str()),
        (Some("Card payments failing"), Some("investigating"), Some("major")),
        "{summary}"
    );
    assert!(shown["incident_updates"][0]["body"].as_str().is_some_and(|b| b.contains("Payments may fail.")));
    assert_eq!(shown["components"][0]["id"], json!(component));
    assert!(!summary.to_string().contains("db-7 primary") && !summary.to_string().contains("responder@"), "{summary}");
    assert_eq!(names(&doc(&app, "incidents/unresolved.json").await["incidents"]), ["Card payments failing"]);
    let html = read(&app, "/status/acme", None).await.text;
    assert!(html.contains("Card payments failing") && html.contains("data-testid=\"active-incident\""), "{html}");

    // A second draft from the incident waits too: readers keep the published title.
    let mut again = ask.clone();
    again["title"] = json!("Investigating: db-7 internal words");
    let r = app.post(&format!("{base}/drafts"), tok, again).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["notice"]["id"], json!(notice), "the same notice");
    assert_eq!(names(&doc(&app, "incidents.json").await["incidents"]), ["Card payments failing"]);
    let drafts = doc(&app, "incidents.json").await;
    assert_eq!(drafts["incidents"][0]["incident_updates"].as_array().map(Vec::len), Some(1), "{drafts}");

    // Further updates: by hand, published at once; resolved moves it to the history.
    let updates = format!("/api/v1/status-pages/acme/incidents/{notice}/updates");
    for (bad, code) in [
        (json!({"status": "in_progress", "body": "x"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"status": "resolved", "body": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"status": "resolved", "body": "x", "colour": "red"}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        assert_eq!(app.post(&updates, tok, bad.clone()).await.status, code, "{bad}");
    }
    let r = app.raw(Method::POST, &updates, Some(tok), Some("{\"status\":".into())).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let unknown = format!("/api/v1/status-pages/acme/incidents/{}/updates", uuid::Uuid::now_v7());
    assert_eq!(app.post(&unknown, tok, json!({"status": "resolved", "body": "x"})).await.status, StatusCode::NOT_FOUND);
    let r = app.post(&updates, tok, json!({"status": "resolved", "body": "Payments work again."})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(doc(&app, "incidents/unresolved.json").await["incidents"], json!([]));
    let all = doc(&app, "incidents.json").await;
    assert_eq!(all["incidents"][0]["status"], "resolved");
    assert!(all["incidents"][0]["resolved_at"].is_string(), "{all}");
    assert_eq!(all["incidents"][0]["incident_updates"].as_array().map(Vec::len), Some(2), "newest first, drafts never");
    assert_eq!(all["incidents"][0]["incident_updates"][0]["body"], "Payments work again.");

    // A restricted incident: nothing of it goes to a page, and what went before it was
    // restricted disappears.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/incidents/{label}/restricted"),
            &app.admin.token,
            Some(json!({"restricted": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.post(&format!("{base}/drafts"), &app.admin.token, ask).await;
    assert_error(&r, StatusCode::CONFLICT, "restricted_incident");
    assert_eq!(doc(&app, "incidents.json").await["incidents"], json!([]));
    let feed = read(&app, "/status/acme/history.atom", None).await.text;
    assert!(!feed.contains("Card payments failing"), "{feed}");
    assert!(!read(&app, "/status/acme", None).await.text.contains("Card payments failing"));
}

async fn feeds_json_and_the_page_escape_hostile_text(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (component, _) = page_with_checkout(&app).await;
    let tok = &app.responder.token;
    let title = "<script>alert(1)</script> & \"quotes\" ]]> 'x'";
    let body = "Read [this](javascript:alert(2)) <img src=x onerror=alert(3)> <script>alert(4)</script> & more";
    let r = app
        .post(
            "/api/v1/status-pages/acme/incidents",
            tok,
            json!({"title": title, "body": body, "impact": "critical", "components": [component]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for bad in [
        json!({"title": "bell\u{7}", "body": "x"}),
        json!({"title": "x", "body": "escape \u{1b}[31m"}),
        json!({"title": "x", "body": "x", "impact": "maintenance"}),
        json!({"title": "x", "body": "x", "components": ["not-an-id"]}),
        json!({"title": "x", "body": "x", "components": [uuid::Uuid::now_v7()]}),
        json!({"title": "", "body": "x"}),
    ] {
        let r = app.post("/api/v1/status-pages/acme/incidents", tok, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    assert_error(
        &app.post("/api/v1/status-pages/acme/incidents", &app.viewer.token, json!({"title": "x", "body": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // JSON carries the text as it was written, escaped by JSON.
    let summary = doc(&app, "summary.json").await;
    assert_eq!(summary["incidents"][0]["name"], title);
    assert_eq!(summary["incidents"][0]["incident_updates"][0]["body"], body);
    assert_eq!(summary["status"]["indicator"], "none", "a notice by hand does not set component statuses");

    // The page: escaped title, the body's Markdown rendered without scripts or javascript: links.
    let html = read(&app, "/status/acme", None).await.text;
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{html}");
    for forbidden in ["<script>alert", "javascript:", "<img"] {
        assert!(!html.to_lowercase().contains(forbidden), "{forbidden} in {html}");
    }

    // The feeds are well-formed XML whose text is the title as written.
    for (path, kind) in [("/status/acme/history.atom", "atom"), ("/status/acme/history.rss", "rss")] {
        let r = read(&app, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let ct = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(ct.starts_with(&format!("application/{kind}+xml")), "{ct}");
        let xml = roxmltree::Document::parse(&r.text).unwrap_or_else(|e| panic!("{path} is not XML: {e}\n{}", r.text));
        let root = xml.root_element();
        let (entry, content) = if kind == "atom" {
            assert_eq!(
                (root.tag_name().name(), root.tag_name().namespace()),
                ("feed", Some("http://www.w3.org/2005/Atom"))
            );
            for required in ["id", "title", "updated", "author"] {
                assert!(root.children().any(|c| c.has_tag_name(required)), "an Atom feed has {required}");
            }
            ("entry", "content")
        } else {
            assert_eq!((root.tag_name().name(), root.attribute("version")), ("rss", Some("2.0")));
            ("item", "description")
        };
        let entries: Vec<_> = xml.descendants().filter(|n| n.has_tag_name(entry)).collect();
        assert_eq!(entries.len(), 1, "{}", r.text);
        let text = |name: &str| {
            entries[0].children().find(|c| c.has_tag_name(name)).and_then(|c| c.text()).unwrap_or_default().to_owned()
        };
        assert_eq!(text("title"), title);
        let inner = text(content);
        assert!(inner.contains("alert(4)") || inner.contains("&amp; more") || inner.contains("& more"), "{inner}");
        for forbidden in ["<script", "javascript:", "<img"] {
            assert!(!inner.to_lowercase().contains(forbidden), "{forbidden} in the {kind} content: {inner}");
        }
    }
}

async fn maintenance_is_scheduled_and_shown(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (component, _) = page_with_checkout(&app).await;
    let tok = &app.responder.token;
    let now = chrono::Utc::now();
    let at = |minutes: i64| (now + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    let path = "/api/v1/status-pages/acme/maintenance";
    for bad in [
        json!({"title": "x", "body": "x", "starts_at": at(60), "ends_at": at(30)}),
        json!({"title": "x", "body": "x", "starts_at": "tomorrow", "ends_at": at(30)}),
        json!({"title": "x", "body": "x", "starts_at": at(-120), "ends_at": at(-60)}),
        json!({"title": "x", "body": "x", "starts_at": at(0), "ends_at": at(60 * 24 * 40)}),
    ] {
        assert_eq!(app.post(path, tok, bad.clone()).await.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let r = app
        .post(path, tok, json!({"title": "Database upgrade", "body": "Checkout may be slow.", "starts_at": at(60), "ends_at": at(120), "components": [component]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((r.body["status"].as_str(), r.body["impact"].as_str()), (Some("scheduled"), Some("maintenance")));
    let all = doc(&app, "scheduled-maintenances.json").await;
    assert_eq!(names(&all["scheduled_maintenances"]), ["Database upgrade"]);
    assert!(all["scheduled_maintenances"][0]["scheduled_for"].is_string(), "{all}");
    assert_eq!(
        names(&doc(&app, "scheduled-maintenances/upcoming.json").await["scheduled_maintenances"]),
        ["Database upgrade"]
    );
    assert_eq!(doc(&app, "scheduled-maintenances/active.json").await["scheduled_maintenances"], json!([]));
    assert_eq!(names(&doc(&app, "summary.json").await["scheduled_maintenances"]), ["Database upgrade"]);
    assert_eq!(doc(&app, "incidents.json").await["incidents"], json!([]), "maintenance is not an incident");
    assert_eq!(doc(&app, "components.json").await["components"][0]["status"], "operational", "not started yet");

    // One that has begun is in progress at once, and its components are under maintenance.
    let r = app
        .post(path, tok, json!({"title": "Network work", "body": "Now.", "starts_at": at(-5), "ends_at": at(60), "components": [component]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["status"], "in_progress", "{}", r.text);
    assert_eq!(
        names(&doc(&app, "scheduled-maintenances/active.json").await["scheduled_maintenances"]),
        ["Network work"]
    );
    let components = doc(&app, "components.json").await;
    assert_eq!(components["components"][0]["status"], "under_maintenance", "{components}");
    let html = read(&app, "/status/acme", None).await.text;
    assert!(
        html.contains("data-testid=\"maintenance\"") && html.contains("Network work") && html.contains("In progress"),
        "{html}"
    );
    // The uptime bars: 90 days, the ones before the component existed without data.
    assert!(html.contains("data-testid=\"uptime\"") && html.contains("no data yet"), "{html}");
    assert_eq!(html.matches("<i class=\"bar ").count(), 90, "{html}");
    assert!(html.matches("b-none").count() >= 89, "{html}");
}

async fn private_pages_domains_and_the_cache(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (component, key) = page_with_checkout(&app).await;
    let admin = &app.admin.token;

    // The cache: a change shows in the very next request, and validators still work.
    let first = read(&app, "/status/acme/api/v2/summary.json", None).await;
    assert_eq!(first.body["status"]["indicator"], "none");
    let etag = first.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let again = Request::builder()
        .uri("/status/acme/api/v2/summary.json")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.send(again).await.status, StatusCode::NOT_MODIFIED);
    // Readers who accept gzip get the same body gzipped, with its own validator.
    let zipped = Request::builder()
        .uri("/status/acme")
        .header(header::ACCEPT_ENCODING, "br;q=1.0, gzip;q=0.8")
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let res = app.app.clone().oneshot(zipped).await.unwrap_or_else(|e| match e {});
    assert_eq!(res.headers().get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()), Some("gzip"));
    assert_eq!(res.headers().get(header::VARY).and_then(|v| v.to_str().ok()), Some("Accept-Encoding"));
    let gz_tag = res.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
        .unwrap_or_else(|e| panic!("{e}"));
    let plain = read(&app, "/status/acme", None).await;
    assert_eq!(html, plain.text);
    assert_ne!(Some(gz_tag.as_str()), plain.headers.get(header::ETAG).and_then(|v| v.to_str().ok()));
    let set = format!("/api/v1/status-pages/acme/components/{component}/status");
    let r = app.call(Method::PUT, &set, &app.responder.token, Some(json!({"status": "major_outage"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(doc(&app, "summary.json").await["status"]["indicator"], "critical", "the next request sees it");
    let r = app.call(Method::PUT, &set, &app.responder.token, Some(json!({"status": null}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(doc(&app, "summary.json").await["status"]["indicator"], "none");
    // An alert that opens an incident on the linked service changes the page too.
    app.trigger(&key, "cpu", "CPU high").await;
    let mut shown = Value::Null;
    for _ in 0..50 {
        shown = doc(&app, "summary.json").await;
        if shown["status"]["indicator"] != "none" {
            break;
        }
        // Ingestion commits in batches: the alert is acknowledged before its incident exists.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_ne!(shown["status"]["indicator"], "none", "{shown}");

    // Look and time zone, checked.
    let settings = "/api/v1/status-pages/acme";
    for bad in [
        json!({"branding": {"logo_url": "javascript:alert(1)"}}),
        json!({"branding": {"accent": "red;}"}}),
        json!({"branding": {"time_zone": "Nowhere/Land"}}),
        json!({"branding": {"footer_links": [{"label": "x", "url": "javascript:x"}]}}),
        json!({"custom_domain": "https://status.acme.test/"}),
        json!({"new_token": true, "withdraw_token": true}),
        json!({"theme": "dark"}),
    ] {
        let r = app.call(Method::PATCH, settings, admin, Some(bad.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
    }
    let r = app.call(Method::PATCH, settings, &app.responder.token, Some(json!({"public": false}))).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let look = json!({"branding": {"logo_url": "https://cdn.acme.test/logo.png", "accent": "#AA3300",
        "footer_links": [{"label": "Acme home", "url": "https://acme.test"}], "time_zone": "Europe/Berlin"}});
    let r = app.call(Method::PATCH, settings, admin, Some(look)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let html = read(&app, "/status/acme", None).await.text;
    assert!(html.contains("src=\"https://cdn.acme.test/logo.png\"") && html.contains("--accent: #aa3300"), "{html}");
    assert!(html.contains("href=\"https://acme.test/\"") && html.contains("times in Europe/Berlin"), "{html}");
    assert_eq!(doc(&app, "status.json").await["page"]["time_zone"], "Europe/Berlin");

    // A custom domain serves the page at its root and its JSON at /api/v2; nothing else there.
    let r = app.call(Method::PATCH, settings, admin, Some(json!({"custom_domain": "Status.Acme.test"}))).await;
    assert_eq!(
        (r.status, r.body["page"]["custom_domain"].as_str()),
        (StatusCode::OK, Some("status.acme.test")),
        "{}",
        r.text
    );
    let r = read(&app, "/", Some("status.acme.test")).await;
    assert!(r.status == StatusCode::OK && r.text.contains("<h1>Acme</h1>"), "{}", r.text);
    let r = read(&app, "/api/v2/summary.json", Some("status.acme.test:443")).await;
    assert_eq!((r.status, r.body["page"]["name"].as_str()), (StatusCode::OK, Some("Acme")), "{}", r.text);
    assert_eq!(read(&app, "/history.rss", Some("status.acme.test")).await.status, StatusCode::OK);
    assert_eq!(read(&app, "/api/v1/incidents", Some("status.acme.test")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(read(&app, "/login", Some("status.acme.test")).await.status, StatusCode::NOT_FOUND);
    let r = app.post("/api/v1/status-pages", admin, json!({"slug": "other", "name": "Other"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .call(Method::PATCH, "/api/v1/status-pages/other", admin, Some(json!({"custom_domain": "status.acme.test"})))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");

    // Private, with a shared token: refused without it (page, JSON, feeds), read with it.
    let r = app.call(Method::PATCH, settings, admin, Some(json!({"public": false, "new_token": true}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.body["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.len() >= 40 && r.body["page"]["has_token"] == true, "{}", r.text);
    assert!(!app.get("/api/v1/audit", admin).await.text.contains(&token), "the token is never in the audit log");
    for path in ["/status/acme/api/v2/summary.json", "/status/acme/history.atom", "/status/acme/history.rss"] {
        assert_eq!(read(&app, path, None).await.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(read(&app, &format!("{path}?token=guess"), None).await.status, StatusCode::UNAUTHORIZED, "{path}");
        let r = read(&app, &format!("{path}?token={token}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("private, no-store"));
    }
    assert_eq!(read(&app, "/status/acme", None).await.status, StatusCode::SEE_OTHER, "to sign in");
    let r = read(&app, &format!("/status/acme?token={token}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = common::set_cookies(&r).into_iter().find(|c| c.starts_with("status_token_acme=")).unwrap_or_default();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/status/acme"), "{cookie}");
    let with_cookie = Request::builder()
        .uri("/status/acme/api/v2/status.json")
        .header(header::COOKIE, cookie.split(';').next().unwrap_or_default())
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.send(with_cookie).await.status, StatusCode::OK);
    let r = app.call(Method::PATCH, settings, admin, Some(json!({"withdraw_token": true}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = read(&app, &format!("/status/acme/api/v2/summary.json?token={token}"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a withdrawn token opens nothing, cached or not");
}

async fn the_admin_screen_posts_publishes_and_sets_the_look(backend: Backend) {
    let Some(app) = app(backend).await else { return };
    let (component, _) = page_with_checkout(&app).await;
    let responder = common::sign_in(&app, "responder@example.com").await;
    let (_, csrf) = common::get_page(&app, "/admin/status-pages", &responder).await;
    let post = async |cookie: &str, path: &str, fields: &[(&str, &str)]| {
        app.send(common::form(Method::POST, path, cookie, fields)).await
    };

    // A draft posted by hand, published from the screen.
    let r = post(
        &responder,
        "/admin/status-pages/acme/incidents",
        &[
            ("csrf", &csrf),
            ("title", "Search is slow"),
            ("status", "identified"),
            ("impact", "minor"),
            ("body", "We found the cause."),
            ("component", &component),
            ("draft", "on"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(doc(&app, "incidents.json").await["incidents"], json!([]), "a draft is not shown");
    let (shown, _) = common::get_page(&app, "/admin/status-pages", &responder).await;
    let html = shown.text;
    assert!(html.contains("Search is slow") && html.contains("data-testid=\"unpublished\""), "{html}");
    let listed = app.get("/api/v1/status-pages/acme/incidents", &app.responder.token).await;
    let update = listed.body["items"][0]["updates"][0]["id"].as_str().unwrap_or_default().to_owned();
    let notice = listed.body["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let r = post(&responder, "/admin/status-pages/acme/publish", &[("csrf", &csrf), ("update", &update)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(names(&doc(&app, "incidents/unresolved.json").await["incidents"]), ["Search is slow"]);
    let r = post(&responder, "/admin/status-pages/acme/publish", &[("csrf", "forged"), ("update", &update)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "CSRF");
    let r = post(
        &responder,
        &format!("/admin/status-pages/acme/incidents/{notice}/updates"),
        &[("csrf", &csrf), ("status", "resolved"), ("body", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty update is shown back: {}", r.text);
    assert!(r.text.contains("data-testid=\"error\""), "{}", r.text);
    let r = post(
        &responder,
        &format!("/admin/status-pages/acme/incidents/{notice}/updates"),
        &[("csrf", &csrf), ("status", "resolved"), ("body", "Fast again.")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(doc(&app, "incidents.json").await["incidents"][0]["status"], "resolved");
    let starts = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let ends = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let r = post(
        &responder,
        "/admin/status-pages/acme/maintenance",
        &[("csrf", &csrf), ("title", "Upgrade"), ("body", "Short."), ("starts_at", &starts), ("ends_at", &ends)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(names(&doc(&app, "scheduled-maintenances/upcoming.json").await["scheduled_maintenances"]), ["Upgrade"]);

    // Settings are for admins; a new token is shown once on the screen.
    let settings = [
        ("csrf", csrf.as_str()),
        ("name", "Acme"),
        ("accent", "#123456"),
        ("time_zone", "Asia/Tokyo"),
        ("footer_links", "Home | https://acme.test\nHelp | mailto:help@acme.test"),
        ("private", "on"),
        ("token", "issue"),
    ];
    assert_eq!(post(&responder, "/admin/status-pages/acme/settings", &settings).await.status, StatusCode::FORBIDDEN);
    let admin = common::sign_in(&app, "admin@example.com").await;
    let (_, acsrf) = common::get_page(&app, "/admin/status-pages", &admin).await;
    let mut with_admin = settings;
    with_admin[0].1 = &acsrf;
    let r = post(&admin, "/admin/status-pages/acme/settings", &with_admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r
        .text
        .split("shown only now: <code>")
        .nth(1)
        .and_then(|t| t.split("</code>").next())
        .unwrap_or_default()
        .to_owned();
    assert!(token.len() >= 40, "{}", r.text);
    assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    assert_eq!(read(&app, "/status/acme/api/v2/status.json", None).await.status, StatusCode::UNAUTHORIZED);
    let page = read(&app, &format!("/status/acme?token={token}"), None).await;
    assert!(
        page.text.contains("times in Asia/Tokyo") && page.text.contains("href=\"mailto:help@acme.test\""),
        "{}",
        page.text
    );
    let mut bad = with_admin;
    bad[2] = ("accent", "url(javascript:x)");
    let r = post(&admin, "/admin/status-pages/acme/settings", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

for_each_backend!(
    the_admin_screen_posts_publishes_and_sets_the_look,
    public_incidents_are_drafted_from_incidents_and_published_by_hand,
    feeds_json_and_the_page_escape_hostile_text,
    maintenance_is_scheduled_and_shown,
    private_pages_domains_and_the_cache
);
