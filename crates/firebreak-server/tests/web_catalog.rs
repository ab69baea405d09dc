//! The service, integration and alert pages through HTTP: services and integrations created
//! with the forms, integration keys and their examples shown once, alerts sent to
//! `/v2/enqueue` listed and shown, acknowledge and resolve buttons guarded by CSRF and role,
//! and hostile strings escaped. On both backends.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, TestApp, csrf_of, form, location, page, sign_in, testid, unescape};
use serde_json::{Value, json};

/// Sends one PagerDuty Events v2 trigger.
async fn trigger(app: &TestApp, key: &str, dedup: &str, summary: &str, severity: &str, details: Value) -> Reply {
    let event = json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": summary, "source": "db-1", "severity": severity, "custom_details": details},
    });
    app.raw(Method::POST, "/v2/enqueue", None, Some(event.to_string())).await
}

/// A service with a PagerDuty integration, made through the API; returns (service id, key).
/// The texts of every example on a page, unescaped.
fn examples_of(html: &str) -> Vec<String> {
    let marker = "data-testid=\"example\"><code>";
    html.match_indices(marker)
        .filter_map(|(i, _)| html[i + marker.len()..].split("</code>").next())
        .map(unescape)
        .collect()
}

/// Splits a shell command line into words: single quotes, backslash escapes and
/// backslash-newline continuations, as `sh` reads them.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(e) => {
                    in_word = true;
                    word.push(e);
                }
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs a `curl -X POST URL [-H H]… [-d BODY]` example against the app, as curl would send it.
async fn run_curl(app: &TestApp, example: &str) -> Reply {
    let words = shell_words(example);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{example}");
    let (mut url, mut headers, mut body) = (String::new(), Vec::new(), String::new());
    let mut it = words.iter().skip(1);
    while let Some(w) = it.next() {
        match w.as_str() {
            "-X" => assert_eq!(it.next().map(String::as_str), Some("POST"), "{example}"),
            "-H" => headers.push(it.next().cloned().unwrap_or_default()),
            "-d" => body = it.next().cloned().unwrap_or_default(),
            "-m" => {
                it.next();
            }
            flag if flag.starts_with('-') => {}
            other => url = other.to_owned(),
        }
    }
    let path = url.strip_prefix("http://firebreak.example.com").unwrap_or_else(|| panic!("{url}"));
    let mut req = Request::builder().method(Method::POST).uri(path);
    for h in headers {
        let (name, value) = h.split_once(':').unwrap_or_else(|| panic!("{h}"));
        req = req.header(name.trim(), value.trim());
    }
    if !body.is_empty() && !example.contains("Content-Type") {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    app.send(req.body(Body::from(body)).unwrap_or_else(|e| panic!("{e}"))).await
}

async fn service_with_key(app: &TestApp, name: &str) -> (String, String) {
    let r = app.post("/api/v1/services", &app.responder.token, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let r = app
        .post(
            &format!("/api/v1/services/{id}/integrations"),
            &app.responder.token,
            json!({"type": "pagerduty", "name": "prometheus"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (id, r.body["key"].as_str().unwrap_or_default().to_owned())
}

async fn alert_ids(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/alerts{query}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

async fn services_and_integrations_through_forms(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let r = app.send(page("/services", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("No services yet"), "{}", r.text);
    assert!(r.text.contains("href=\"/services\" aria-current=\"page\""), "the nav marks Services");
    let csrf = csrf_of(&r.text);

    // A bad runbook URL: the form comes back with the message and what was typed.
    let r = app
        .send(form(
            Method::POST,
            "/services",
            &cookie,
            &[("csrf", &csrf), ("name", "checkout"), ("runbook_url", "javascript:alert(1)"), ("auto_resolve", "on")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("runbook_url") && r.text.contains("value=\"checkout\""), "{}", r.text);
    assert_eq!(app.get("/api/v1/services", &app.viewer.token).await.body["items"], json!([]));

    let hostile = "<script>alert(1)</script> checkout";
    let r = app
        .send(form(
            Method::POST,
            "/services",
            &cookie,
            &[
                ("csrf", &csrf),
                ("name", hostile),
                ("description", "Takes <b>payments</b>"),
                ("owner_team", "payments"),
                ("runbook_url", "https://runbooks.example.com/checkout?a=1&b=\"2\""),
                ("tags", "tier-1, eu, <i>x</i>"),
                ("auto_resolve", "on"),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let path = location(&r);
    assert!(path.starts_with("/services/"), "{path}");
    let id = path.trim_start_matches("/services/").to_owned();
    let service = app.get(&format!("/api/v1/services/{id}"), &app.viewer.token).await;
    assert_eq!(service.body["name"], hostile);
    assert_eq!(service.body["tags"], json!(["tier-1", "eu", "<i>x</i>"]));
    assert_eq!(service.body["auto_resolve"], true);

    // Duplicate names are refused with the page, not a bare error.
    let r = app.send(form(Method::POST, "/services", &cookie, &[("csrf", &csrf), ("name", hostile)])).await;
    assert!(r.status == StatusCode::CONFLICT || r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("Create a service"));

    for path in ["/services", path.as_str()] {
        let r = app.send(page(path, &cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.text.contains("<script>alert(1)"), "{path} must escape the name:\n{}", r.text);
        assert!(r.text.contains("&#60;script&#62;alert(1)&#60;/script&#62; checkout"), "{path}: {}", r.text);
        assert!(!r.text.contains("<i>x</i>") && !r.text.contains("<b>payments"), "{path}");
    }
    let r = app.send(page(&path, &cookie)).await;
    assert!(r.text.contains("No integrations yet"));
    assert!(r.text.contains("href=\"https://runbooks.example.com/checkout?a=1&#38;b=&#34;2&#34;\""), "{}", r.text);

    // A PagerDuty integration: key, endpoint and examples once, on the answer to the form.
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "pagerduty"), ("name", "prometheus <prod>")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    let key = testid(&r.text, "integration-key").unwrap_or_default();
    assert_eq!(key.len(), 32, "{key:?}");
    assert_eq!(testid(&r.text, "integration-url").as_deref(), Some("http://firebreak.example.com/v2/enqueue"));
    let html = unescape(&r.text);
    assert!(html.contains("prometheus <prod>"));
    assert!(!r.text.contains("prometheus <prod>"), "integration names are escaped");
    assert!(html.contains("curl -sS -X POST http://firebreak.example.com/v2/enqueue"), "{html}");
    assert!(html.contains(&format!("\"routing_key\":\"{key}\"")), "{html}");
    assert!(html.contains("\"event_action\":\"trigger\""), "{html}");
    assert!(html.contains("pagerduty_configs:"), "{html}");
    assert!(html.contains(&format!("routing_key: \"{key}\"")), "{html}");
    assert!(html.contains("url: \"http://firebreak.example.com/v2/enqueue\""), "{html}");

    // The key works, and is not on the page any more.
    let sent = trigger(&app, &key, "disk", "Disk full", "warning", json!({})).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.text);
    let r = app.send(page(&format!("/services/{id}"), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&key), "the key is shown only once");
    assert!(testid(&r.text, "integration-key").is_none());
    assert!(r.text.contains("prometheus &#60;prod&#62;") && r.text.contains("pagerduty"), "{}", r.text);
    assert!(r.text.contains("/rotate-key"), "responders may rotate");

    // Alertmanager and Grafana integrations: the key is in the URL.
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "alertmanager"), ("name", "am")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let am_key = testid(&r.text, "integration-key").unwrap_or_default();
    let am_url = format!("http://firebreak.example.com/ingest/{am_key}/alertmanager");
    assert_eq!(testid(&r.text, "integration-url").as_deref(), Some(am_url.as_str()));
    let html = unescape(&r.text);
    assert!(html.contains("webhook_configs:") && html.contains(&format!("- url: \"{am_url}\"")), "{html}");
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "grafana"), ("name", "grafana")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gf_key = testid(&r.text, "integration-key").unwrap_or_default();
    let gf_url = format!("http://firebreak.example.com/ingest/{gf_key}/grafana");
    let html = unescape(&r.text);
    assert!(html.contains("Contact point") && html.contains(&format!("URL: {gf_url}")), "{html}");
    assert!(html.contains("type: webhook") && html.contains(&format!("url: \"{gf_url}\"")), "{html}");
    let r = app.send(page(&format!("/services/{id}"), &cookie)).await;
    for k in [&key, &am_key, &gf_key] {
        assert!(!r.text.contains(k.as_str()), "no key on a later load");
    }
    assert!(r.text.contains("/ingest/&#60;key&#62;/alertmanager"), "the endpoint with a placeholder");

    // Bad integration input: the page again, with the message, nothing added.
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "carrier-pigeon"), ("name", "x")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("carrier-pigeon") && testid(&r.text, "integration-key").is_none());
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "generic"), ("name", "  ")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let listed = app.get(&format!("/api/v1/services/{id}/integrations"), &app.viewer.token).await;
    let integrations = listed.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(integrations.len(), 3, "{}", listed.text);

    // Rotating: a new key, once; the old one stops working at once.
    let pd_id = integrations.iter().find(|i| i["type"] == "pagerduty").and_then(|i| i["id"].as_str()).unwrap_or("");
    let r =
        app.send(form(Method::POST, &format!("/integrations/{pd_id}/rotate-key"), &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    let new_key = testid(&r.text, "integration-key").unwrap_or_default();
    assert_eq!(new_key.len(), 32);
    assert_ne!(new_key, key);
    assert!(r.text.contains("previous key has stopped working"));
    assert!(unescape(&r.text).contains(&format!("\"routing_key\":\"{new_key}\"")));
    assert_eq!(trigger(&app, &key, "disk", "Disk full", "warning", json!({})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(trigger(&app, &new_key, "disk", "Disk full", "warning", json!({})).await.status, StatusCode::ACCEPTED);
    let r = app.send(page(&format!("/services/{id}"), &cookie)).await;
    assert!(!r.text.contains(&new_key) && !r.text.contains(&key));
    let r = app
        .send(form(
            Method::POST,
            "/integrations/00000000-0000-0000-0000-000000000000/rotate-key",
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Editing: every field of the form, the checkbox unticked.
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/edit"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("description", "Checkout API"),
                ("owner_team", "team-pay"),
                ("runbook_url", "https://wiki.example.com/checkout"),
                ("tags", "tier-1"),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), format!("/services/{id}"));
    let service = app.get(&format!("/api/v1/services/{id}"), &app.viewer.token).await;
    assert_eq!(service.body["name"], hostile, "the edit form leaves the name alone");
    assert_eq!(service.body["description"], "Checkout API");
    assert_eq!(service.body["owner_team"], "team-pay");
    assert_eq!(service.body["runbook_url"], "https://wiki.example.com/checkout");
    assert_eq!(service.body["tags"], json!(["tier-1"]));
    assert_eq!(service.body["auto_resolve"], false);
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{id}/edit"),
            &cookie,
            &[("csrf", &csrf), ("runbook_url", "file:///etc/passwd"), ("owner_team", "kept?")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("value=\"kept?\""), "what was typed stays in the form");
    let after = app.get(&format!("/api/v1/services/{id}"), &app.viewer.token).await;
    assert_eq!(after.body, service.body, "a refused edit changes nothing");

    // Unknown services.
    for path in ["/services/nope", "/services/00000000-0000-0000-0000-000000000000"] {
        let r = app.send(page(path, &cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.text.contains("There is no such service."), "{path}");
    }
    let r = app
        .send(form(
            Method::POST,
            "/services/00000000-0000-0000-0000-000000000000/integrations",
            &cookie,
            &[("csrf", &csrf), ("type", "pagerduty"), ("name", "x")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn alert_pages_show_what_was_sent(app: TestApp) {
    let (service_id, key) = service_with_key(&app, "checkout").await;
    let (other_service, other_key) = service_with_key(&app, "search").await;
    let hostile = "<img src=x onerror=alert(1)> disk full";
    let details = json!({"note": "</pre><script>alert(2)</script>", "used": "97%"});
    for _ in 0..2 {
        let r = trigger(&app, &key, "db-1/disk", hostile, "critical", details.clone()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let r = trigger(&app, &other_key, "search-latency", "Search is slow", "info", json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let ids = alert_ids(&app, "").await;
    assert_eq!(ids.len(), 2);
    let disk = alert_ids(&app, &format!("?service_id={service_id}")).await.remove(0);

    let cookie = sign_in(&app, "viewer@example.com").await;
    let r = app.send(page("/alerts", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("href=\"/alerts\" aria-current=\"page\""), "the nav marks Alerts");
    assert!(!r.text.contains("<img src=x"), "summaries are escaped");
    assert!(r.text.contains("&#60;img src=x onerror=alert(1)&#62; disk full"));
    assert!(r.text.contains("Search is slow"));
    assert!(r.text.contains("badge status-open") && r.text.contains("badge sev-critical"));
    assert!(r.text.contains("badge sev-info"));
    assert!(r.text.contains(&format!("href=\"/alerts/{disk}\"")));
    assert!(r.text.contains(&format!("href=\"/services/{other_service}\"")));
    assert!(r.text.contains("<td data-label=\"Events\">2</td>"), "{}", r.text);
    assert_eq!(testid(&r.text, "alert-count").as_deref(), Some("2 alerts on this page, newest first."));

    let r = app.send(page(&format!("/alerts?status=open&service={service_id}"), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("disk full") && !r.text.contains("Search is slow"), "{}", r.text);
    assert!(r.text.contains(&format!("<option value=\"{service_id}\" selected>checkout</option>")), "{}", r.text);
    let r = app.send(page("/alerts?incident=INC-1", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("disk full") && !r.text.contains("Search is slow"), "{}", r.text);
    assert!(testid(&r.text, "incident-filter").is_some_and(|t| t.contains("Only alerts of")));
    assert!(r.text.contains("<input type=\"hidden\" name=\"incident\" value=\"INC-1\">"), "filters keep it");
    assert_eq!(app.send(page("/alerts?incident=INC-99", &cookie)).await.status, StatusCode::NOT_FOUND);
    let r = app.send(page("/alerts?status=resolved", &cookie)).await;
    assert!(r.text.contains("No alerts match."));
    let r = app.send(page("/alerts?status=%3Cscript%3E", &cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.text.contains("<script>"));
    let r = app.send(page("/alerts?service=%3Cb%3Enope", &cookie)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = app.send(page(&format!("/alerts/{disk}"), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("<img src=x") && !r.text.contains("<script>alert(2)"), "{}", r.text);
    assert!(r.text.contains("&#60;img src=x onerror=alert(1)&#62; disk full"));
    assert_eq!(testid(&r.text, "dedup-key").as_deref(), Some("db-1/disk"));
    assert_eq!(testid(&r.text, "alert-count").as_deref(), Some("2"));
    assert_eq!(testid(&r.text, "alert-status").as_deref(), Some("open"));
    let shown = unescape(&testid(&r.text, "alert-details").unwrap_or_default());
    let parsed: Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("details are JSON ({e}): {shown}"));
    assert_eq!(parsed["custom_details"], details);
    assert!(shown.contains("\n  \"custom_details\": {"), "pretty-printed: {shown}");
    assert!(r.text.contains("href=\"/incidents/INC-1\""), "links its incident: {}", r.text);
    assert!(r.text.contains(&format!("href=\"/services/{service_id}\">checkout</a>")));
    assert!(r.text.contains("prometheus (pagerduty)"));
    assert!(r.text.contains("First seen") && r.text.contains("Last seen") && r.text.contains("db-1"));
    assert!(!r.text.contains("/actions/acknowledge") && !r.text.contains("/actions/resolve"), "viewers get no buttons");

    for path in ["/alerts/nope", "/alerts/00000000-0000-0000-0000-000000000000"] {
        let r = app.send(page(path, &cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.text.contains("There is no such alert."));
    }
    // Signed out: sent to sign in.
    for path in ["/alerts", "/services", &format!("/alerts/{disk}")] {
        let r = app.send(page(path, "")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(location(&r).starts_with("/login?next="), "{path}");
    }
}

async fn alert_list_pages_with_a_cursor(app: TestApp) {
    let (_, key) = service_with_key(&app, "noisy").await;
    for n in 0..53 {
        let r = trigger(&app, &key, &format!("k{n}"), &format!("alert number {n}"), "warning", json!({})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let cookie = sign_in(&app, "viewer@example.com").await;
    let r = app.send(page("/alerts?status=open", &cookie)).await;
    assert_eq!(testid(&r.text, "alert-count").as_deref(), Some("50 alerts on this page, newest first."));
    let marker = "<p><a href=\"";
    let next = r
        .text
        .find(marker)
        .map(|i| &r.text[i + marker.len()..])
        .and_then(|s| s.split('"').next())
        .map(unescape)
        .unwrap_or_default();
    assert!(next.starts_with("/alerts?status=open&service=&cursor="), "{next}");
    let r = app.send(page(&next, &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(testid(&r.text, "alert-count").as_deref(), Some("3 alerts on this page, newest first."));
    assert!(!r.text.contains("rel=\"next\""), "the last page has no next link");
    let first_page = app.send(page("/alerts?status=open", &cookie)).await;
    for n in 0..53 {
        let on_first = first_page.text.contains(&format!(">alert number {n}<"));
        let on_second = r.text.contains(&format!(">alert number {n}<"));
        assert!(on_first != on_second, "alert {n} is on exactly one page");
    }
}

async fn alerts_link_to_their_incident(app: TestApp) {
    let (_, key) = service_with_key(&app, "checkout").await;
    let r = trigger(&app, &key, "cpu", "CPU high on checkout-1", "critical", json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = trigger(&app, &key, "noise", "a warning that opens nothing", "info", json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let cookie = sign_in(&app, "viewer@example.com").await;
    let list = app.send(page("/alerts", &cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("<th scope=\"col\">Incident</th>"), "{}", list.text);
    assert!(
        list.text.contains("<td data-label=\"Incident\"><a href=\"/incidents/INC-1\">INC-1</a></td>"),
        "the alert that opened INC-1 links to it: {}",
        list.text
    );
}

async fn alert_buttons_need_csrf_and_a_responder(app: TestApp) {
    let (_, key) = service_with_key(&app, "checkout").await;
    assert_eq!(trigger(&app, &key, "disk", "Disk full", "error", json!({})).await.status, StatusCode::ACCEPTED);
    let id = alert_ids(&app, "").await.remove(0);
    let status = async || {
        let r = app.get(&format!("/api/v1/alerts/{id}"), &app.viewer.token).await;
        (r.body["status"].as_str().unwrap_or("").to_owned(), r.body["acknowledged_at"].is_string())
    };

    // Viewers: a valid token of their own session is not enough.
    let viewer = sign_in(&app, "viewer@example.com").await;
    let viewer_csrf = csrf_of(&app.send(page(&format!("/alerts/{id}"), &viewer)).await.text);
    let r = app
        .send(form(Method::POST, &format!("/alerts/{id}/actions/acknowledge"), &viewer, &[("csrf", &viewer_csrf)]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(status().await, ("open".into(), false));

    // Responders without a valid CSRF token.
    let cookie = sign_in(&app, "responder@example.com").await;
    let r = app.send(page(&format!("/alerts/{id}"), &cookie)).await;
    assert!(r.text.contains(&format!("action=\"/alerts/{id}/actions/acknowledge\"")), "{}", r.text);
    assert!(r.text.contains(&format!("action=\"/alerts/{id}/actions/resolve\"")));
    let csrf = csrf_of(&r.text);
    for token in ["", "forged", viewer_csrf.as_str()] {
        let r =
            app.send(form(Method::POST, &format!("/alerts/{id}/actions/resolve"), &cookie, &[("csrf", token)])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "csrf {token:?}");
    }
    let r = app.send(form(Method::POST, &format!("/alerts/{id}/actions/resolve"), &cookie, &[])).await;
    assert!(r.status.is_client_error());
    assert_eq!(status().await, ("open".into(), false));

    // With it: acknowledge, then resolve.
    let r =
        app.send(form(Method::POST, &format!("/alerts/{id}/actions/acknowledge"), &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), format!("/alerts/{id}"));
    assert_eq!(status().await, ("open".into(), true));
    let r = app.send(page(&format!("/alerts/{id}"), &cookie)).await;
    assert!(r.text.contains("status-acknowledged") && r.text.contains("Acknowledged"));
    assert!(!r.text.contains("/actions/acknowledge"), "no second acknowledge button");
    let r = app.send(form(Method::POST, &format!("/alerts/{id}/actions/resolve"), &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(status().await.0, "resolved");
    let r = app.send(page(&format!("/alerts/{id}"), &cookie)).await;
    assert_eq!(testid(&r.text, "alert-status").as_deref(), Some("resolved"));
    assert!(!r.text.contains("/actions/"), "a resolved alert has no buttons");

    // Resolving twice, or an unknown action or alert: an error page, nothing changes.
    let r = app.send(form(Method::POST, &format!("/alerts/{id}/actions/resolve"), &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app.send(form(Method::POST, &format!("/alerts/{id}/actions/explode"), &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .send(form(
            Method::POST,
            "/alerts/00000000-0000-0000-0000-000000000000/actions/resolve",
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The incident's timeline says who, via the web.
    let timeline = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await;
    let by_web: Vec<&Value> = timeline.body["items"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["kind"] == "alert" && e["via"] == "web").collect())
        .unwrap_or_default();
    assert_eq!(by_web.len(), 2, "{}", timeline.text);
    assert!(by_web.iter().all(|e| e["actor"]["name"] == "responder@example.com"), "{}", timeline.text);
}

async fn viewers_see_the_catalog_read_only(app: TestApp) {
    let (service_id, key) = service_with_key(&app, "checkout").await;
    let cookie = sign_in(&app, "viewer@example.com").await;
    let r = app.send(page("/services", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("checkout") && !r.text.contains("Create a service"), "{}", r.text);
    let csrf = csrf_of(&r.text);
    let r = app.send(page(&format!("/services/{service_id}"), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("prometheus"));
    for absent in ["/rotate-key", "Add an integration", "Edit service", "/edit"] {
        assert!(!r.text.contains(absent), "viewers see no {absent}");
    }
    let r = app.send(form(Method::POST, "/services", &cookie, &[("csrf", &csrf), ("name", "mine")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{service_id}/integrations"),
            &cookie,
            &[("csrf", &csrf), ("type", "pagerduty"), ("name", "mine")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(testid(&r.text, "integration-key").is_none());
    let r = app
        .send(form(
            Method::POST,
            &format!("/services/{service_id}/edit"),
            &cookie,
            &[("csrf", &csrf), ("owner_team", "mine")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let integrations = app.get(&format!("/api/v1/services/{service_id}/integrations"), &app.viewer.token).await;
    let integration = integrations.body["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let r = app
        .send(form(Method::POST, &format!("/integrations/{integration}/rotate-key"), &cookie, &[("csrf", &csrf)]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(testid(&r.text, "integration-key").is_none());

    // Nothing changed: one service, one integration, the same key.
    assert_eq!(app.get("/api/v1/services", &app.viewer.token).await.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(integrations.body["items"].as_array().map(Vec::len), Some(1));
    let service = app.get(&format!("/api/v1/services/{service_id}"), &app.viewer.token).await;
    assert_eq!(service.body["owner_team"], "");
    assert_eq!(trigger(&app, &key, "k", "still works", "info", json!({})).await.status, StatusCode::ACCEPTED);

    // Responders without a valid token change nothing either.
    let responder = sign_in(&app, "responder@example.com").await;
    let r = app
        .send(form(Method::POST, &format!("/integrations/{integration}/rotate-key"), &responder, &[("csrf", &csrf)]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another session's token");
    let r = app.send(form(Method::POST, "/services", &responder, &[("csrf", "forged"), ("name", "x")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(trigger(&app, &key, "k", "still works", "info", json!({})).await.status, StatusCode::ACCEPTED);
}

async fn pasted_examples_work(app: TestApp) {
    let (service_id, _) = service_with_key(&app, "checkout").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let csrf = csrf_of(&app.send(page(&format!("/services/{service_id}"), &cookie)).await.text);
    let mut sent = 0;
    for kind in ["pagerduty", "opsgenie", "alertmanager", "grafana", "generic", "heartbeat"] {
        let r = app
            .send(form(
                Method::POST,
                &format!("/services/{service_id}/integrations"),
                &cookie,
                &[("csrf", &csrf), ("type", kind), ("name", kind)],
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{kind}: {}", r.text);
        let key = testid(&r.text, "integration-key").unwrap_or_default();
        let url = testid(&r.text, "integration-url").unwrap_or_default();
        let examples = examples_of(&r.text);
        assert!(!examples.is_empty(), "{kind} has examples");
        for e in &examples {
            assert!(e.contains(&key) || e.contains(&url), "{kind}: every example carries the key or URL:\n{e}");
            assert!(e.contains("http://firebreak.example.com/"), "{kind}: examples use the public base:\n{e}");
        }
        // Each curl example works as pasted.
        for curl in examples.iter().filter(|e| e.starts_with("curl ")) {
            let r = run_curl(&app, curl).await;
            assert!(r.status.is_success(), "{kind}: {curl}\n{} {}", r.status, r.text);
            if kind != "heartbeat" {
                sent += 1;
            }
        }
        if matches!(kind, "pagerduty" | "opsgenie" | "generic" | "heartbeat") {
            assert!(examples.iter().any(|e| e.starts_with("curl ")), "{kind} has a curl example");
        }
        if kind == "opsgenie" {
            let am = examples.iter().find(|e| e.contains("opsgenie_configs")).unwrap_or_else(|| panic!("no receiver"));
            assert!(am.contains("api_url: \"http://firebreak.example.com/\""), "Alertmanager appends v2/alerts: {am}");
        }
    }
    let alerts = app.get(&format!("/api/v1/alerts?service_id={service_id}"), &app.viewer.token).await;
    assert_eq!(alerts.body["items"].as_array().map(Vec::len), Some(sent), "{}", alerts.text);
}

on_both_backends!(
    pasted_examples_work,
    services_and_integrations_through_forms,
    alert_pages_show_what_was_sent,
    alert_list_pages_with_a_cursor,
    alerts_link_to_their_incident,
    alert_buttons_need_csrf_and_a_responder,
    viewers_see_the_catalog_read_only,
);
