//! The triage settings pages through HTTP: classification rules and maintenance windows
//! created, listed and deleted with the forms, bad input shown again with its error and
//! nothing stored, what a window suppressed, heartbeat settings, the webhook mapping editor
//! and tester, built-in checks from the service page, the alert page naming its rule and
//! window, CSRF and roles on every form, and hostile strings escaped. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Reply, TestApp, form, get_page, location, page, sign_in, testid, unescape};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

async fn service(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/services", &app.responder.token, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap_or_default().to_owned()
}

/// Adds an integration of `kind` through the API; returns (its id, its key).
async fn integration(app: &TestApp, service: &str, kind: &str, name: &str) -> (String, String) {
    let r = app
        .post(
            &format!("/api/v1/services/{service}/integrations"),
            &app.responder.token,
            json!({"type": kind, "name": name}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let text = |k: &str| r.body[k].as_str().unwrap_or_default().to_owned();
    (text("id"), text("key"))
}

/// Sends one PagerDuty Events v2 trigger from `source`.
async fn trigger(app: &TestApp, key: &str, dedup: &str, summary: &str, source: &str, custom: Value) {
    let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
        "payload": {"summary": summary, "source": source, "severity": "warning", "custom_details": custom}});
    let r = app.raw(Method::POST, "/v2/enqueue", None, Some(event.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    let r = app.get(path, &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

/// The fields of a rule form, with `csrf` and the caller's fields after defaults.
fn rule_fields<'a>(csrf: &'a str, fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("csrf", csrf), ("position", "100"), ("op1", "equals"), ("op2", "equals"), ("op3", "equals")];
    for (k, v) in fields {
        all.retain(|(name, _)| name != k);
        all.push((k, v));
    }
    all
}

/// A form time `minutes` from now (UTC).
fn form_time(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(minutes)).format("%Y-%m-%dT%H:%M").to_string()
}

async fn rules_through_forms(app: TestApp) {
    let sid = service(&app, "storage").await;
    let (_, key) = integration(&app, &sid, "pagerduty", "prometheus").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, "/rules", &cookie).await;
    assert!(r.text.contains("No rules yet"), "{}", r.text);
    assert!(r.text.contains("href=\"/rules\" aria-current=\"page\""), "the nav marks Rules");

    let fields = rule_fields(
        &csrf,
        &[
            ("name", "disk alerts on prod are critical"),
            ("service", &sid),
            ("position", "5"),
            ("field1", "summary"),
            ("op1", "regex"),
            ("value1", "(?i)disk"),
            ("field2", "details.custom_details.env"),
            ("op2", "one_of"),
            ("value2", "prod, dr"),
            ("severity", "critical"),
            ("type", "degradation"),
            ("tags", "disk, storage"),
        ],
    );
    let r = post(&app, "/rules", &cookie, &fields).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/rules".to_owned()), "{}", r.text);
    let fields = rule_fields(
        &csrf,
        &[("name", "drop test noise"), ("field1", "source"), ("value1", "test-host"), ("drop", "on")],
    );
    assert_eq!(post(&app, "/rules", &cookie, &fields).await.status, StatusCode::SEE_OTHER);

    let rules = items(&app, "/api/v1/rules").await;
    assert_eq!(rules.len(), 2, "{rules:?}");
    let rule = rules.iter().find(|r| r["name"] == "disk alerts on prod are critical").cloned().unwrap_or_default();
    assert_eq!(rule["service_id"], json!(sid));
    assert_eq!(rule["position"], 5);
    assert_eq!(
        rule["conditions"],
        json!([{"field": "summary", "op": "regex", "value": "(?i)disk"},
               {"field": "details.custom_details.env", "op": "one_of", "value": ["prod", "dr"]}]),
        "blank rows are ignored"
    );
    assert_eq!(
        rule["actions"],
        json!({"severity": "critical", "type": "degradation", "tags": ["disk", "storage"], "drop": false})
    );
    let rule_id = rule["id"].as_str().unwrap_or_default().to_owned();

    let (r, _) = get_page(&app, "/rules", &cookie).await;
    let html = unescape(&r.text);
    for text in [
        "disk alerts on prod are critical",
        "summary matches regex (?i)disk",
        "details.custom_details.env is one of prod, dr",
        "set severity critical",
        "set type degradation",
        "add tags disk, storage",
        "source equals “test-host”",
        "drop the alert",
        "every service",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    assert!(r.text.contains(&format!("<a href=\"/services/{sid}\">storage</a>")));
    let service_rule = r.text.find("disk alerts on prod are critical").unwrap_or(usize::MAX);
    let global_rule = r.text.find("drop test noise").unwrap_or(0);
    assert!(service_rule < global_rule, "service rules are listed before global ones");

    // The rule classifies an alert; the alert page names it and links to it.
    trigger(&app, &key, "d1", "Disk 97% on db-7", "db-7", json!({"env": "prod"})).await;
    let alert = items(&app, "/api/v1/alerts").await.first().cloned().unwrap_or_default();
    let alert_id = alert["id"].as_str().unwrap_or_default().to_owned();
    let r = app.send(page(&format!("/alerts/{alert_id}"), &cookie)).await;
    assert!(r.text.contains("Matched rule"), "{}", r.text);
    assert!(
        r.text.contains(&format!("<a href=\"/rules#rule-{rule_id}\">disk alerts on prod are critical</a>")),
        "{}",
        r.text
    );
    let (r, _) = get_page(&app, "/rules", &cookie).await;
    assert!(r.text.contains(&format!("id=\"rule-{rule_id}\"")), "the link's target is on the rules page");

    let r = post(&app, &format!("/rules/{rule_id}/delete"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/rules".to_owned()));
    assert_eq!(items(&app, "/api/v1/rules").await.len(), 1);
    let (r, _) = get_page(&app, "/rules", &cookie).await;
    assert!(!r.text.contains(&format!("id=\"rule-{rule_id}\"")), "the rule is gone from the list");
    let r = post(&app, &format!("/rules/{rule_id}/delete"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("There is no such rule."), "{}", r.text);
    let r = post(&app, "/rules/not-an-id/delete", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn bad_input_is_shown_again_and_stores_nothing(app: TestApp) {
    let sid = service(&app, "storage").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/rules", &cookie).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("name", "keep me"),
                ("field1", "summary"),
                ("op1", "regex"),
                ("value1", "(unclosed"),
                ("severity", "high"),
            ],
            "not a valid regular expression",
        ),
        (vec![("name", "keep me"), ("severity", "high")], "at least one condition"),
        (
            vec![
                ("name", "keep me"),
                ("field1", "source"),
                ("value1", "db"),
                ("severity", "high"),
                ("service", &unknown),
            ],
            "no such service",
        ),
        (
            vec![
                ("name", "keep me"),
                ("field1", "source"),
                ("value1", "db"),
                ("severity", "high"),
                ("service", "nope"),
            ],
            "no such service",
        ),
        (vec![("name", "keep me"), ("field1", "source"), ("value1", "db")], "must set severity, type or tags"),
        (vec![("name", "keep me"), ("field1", "nonsense"), ("value1", "db"), ("severity", "high")], "unknown field"),
        (vec![("name", "keep me"), ("value1", "db"), ("severity", "high")], "choose the field"),
        (
            vec![
                ("name", "keep me"),
                ("field1", "source"),
                ("value1", "db"),
                ("severity", "high"),
                ("position", "first"),
            ],
            "whole number",
        ),
        (vec![("name", ""), ("field1", "source"), ("value1", "db"), ("severity", "high")], "name"),
    ];
    for (fields, message) in cases {
        let r = post(&app, "/rules", &cookie, &rule_fields(&csrf, &fields)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}: {}", r.text);
        let error = testid(&r.text, "form-error").map(|e| unescape(&e)).unwrap_or_default();
        assert!(error.contains(message), "{fields:?}: {error:?}");
        if fields.iter().any(|(k, v)| *k == "name" && !v.is_empty()) {
            assert!(r.text.contains("value=\"keep me\""), "the form keeps what was typed");
        }
    }
    // The service picked stays picked.
    let fields = rule_fields(&csrf, &[("name", "x"), ("service", &sid), ("field1", "source"), ("value1", "db")]);
    let r = post(&app, "/rules", &cookie, &fields).await;
    assert!(r.text.contains(&format!("<option value=\"{sid}\" selected>")), "{}", r.text);
    assert!(items(&app, "/api/v1/rules").await.is_empty(), "nothing was stored");

    let (_, csrf) = get_page(&app, "/maintenance-windows", &cookie).await;
    let (start, end) = (form_time(60), form_time(120));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("name", "w"), ("starts_at", &end), ("ends_at", &start)], "must be after starts_at"),
        (vec![("name", "w"), ("starts_at", "tomorrow"), ("ends_at", &end)], "must be a date and time"),
        (vec![("name", "w"), ("starts_at", &start), ("ends_at", &end), ("service", &unknown)], "no such service"),
        (
            vec![
                ("name", "w"),
                ("starts_at", &start),
                ("ends_at", &end),
                ("field1", "summary"),
                ("op1", "regex"),
                ("value1", "["),
            ],
            "not a valid regular expression",
        ),
        (vec![("name", "w"), ("starts_at", &start), ("ends_at", &end), ("recurrence", "hourly")], "recurrence"),
    ];
    for (mut fields, message) in cases {
        fields.push(("csrf", &csrf));
        let r = post(&app, "/maintenance-windows", &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}: {}", r.text);
        let error = testid(&r.text, "form-error").map(|e| unescape(&e)).unwrap_or_default();
        assert!(error.contains(message), "{fields:?}: {error:?}");
    }
    assert!(items(&app, "/api/v1/maintenance-windows").await.is_empty(), "nothing was stored");
}

async fn windows_show_what_they_suppressed(app: TestApp) {
    let sid = service(&app, "storage").await;
    let (_, key) = integration(&app, &sid, "pagerduty", "prometheus").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, "/maintenance-windows", &cookie).await;
    assert!(r.text.contains("No maintenance windows."));
    let (start, end) = (form_time(-5), form_time(60));
    let r = post(
        &app,
        "/maintenance-windows",
        &cookie,
        &[
            ("csrf", &csrf),
            ("name", "db-7 upgrade"),
            ("service", &sid),
            ("starts_at", &start),
            ("ends_at", &end),
            ("recurrence", "once"),
            ("field1", "source"),
            ("op1", "equals"),
            ("value1", "db-7"),
            ("op2", "equals"),
            ("op3", "equals"),
        ],
    )
    .await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/maintenance-windows".to_owned()), "{}", r.text);
    let (later_start, later_end) = (form_time(24 * 60), form_time(25 * 60));
    let r = post(
        &app,
        "/maintenance-windows",
        &cookie,
        &[
            ("csrf", &csrf),
            ("name", "nightly"),
            ("starts_at", &later_start),
            ("ends_at", &later_end),
            ("recurrence", "daily"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let windows = items(&app, "/api/v1/maintenance-windows").await;
    let window = windows.iter().find(|w| w["name"] == "db-7 upgrade").cloned().unwrap_or_default();
    assert_eq!(window["active"], true, "{window}");
    assert_eq!(window["conditions"], json!([{"field": "source", "op": "equals", "value": "db-7"}]));
    let window_id = window["id"].as_str().unwrap_or_default().to_owned();

    for _ in 0..2 {
        trigger(&app, &key, "up1", "db-7 restarting", "db-7", json!({})).await;
    }
    trigger(&app, &key, "other", "db-8 slow", "db-8", json!({})).await;
    let suppressed = items(&app, "/api/v1/alerts?status=suppressed").await;
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    let alert_id = suppressed[0]["id"].as_str().unwrap_or_default().to_owned();

    let (r, _) = get_page(&app, "/maintenance-windows", &cookie).await;
    let row = r
        .text
        .split(&format!("id=\"window-{window_id}\""))
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap_or_default();
    assert!(row.contains("active now"), "{row}");
    assert!(row.contains("source equals"), "{row}");
    assert!(row.contains(&format!("<a href=\"/services/{sid}\">storage</a>")), "{row}");
    assert_eq!(testid(row, "suppressed-count").as_deref(), Some("1"), "{row}");
    assert!(row.contains(&format!("<a href=\"/alerts/{alert_id}\">db-7 restarting</a>")), "{row}");
    assert!(row.contains("one-off"));
    let nightly = r.text.split_once("nightly").and_then(|(_, s)| s.split("</tr>").next()).unwrap_or_default();
    assert!(
        nightly.contains("not active") && nightly.contains("every day") && nightly.contains("all services"),
        "{nightly}"
    );
    assert_eq!(testid(nightly, "suppressed-count").as_deref(), Some("0"));

    // The alert page says which window suppressed it.
    let r = app.send(page(&format!("/alerts/{alert_id}"), &cookie)).await;
    assert!(
        r.text.contains(&format!("<a href=\"/maintenance-windows#window-{window_id}\">db-7 upgrade</a>")),
        "{}",
        r.text
    );

    let r = post(&app, &format!("/maintenance-windows/{window_id}/delete"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/maintenance-windows".to_owned()));
    assert_eq!(items(&app, "/api/v1/maintenance-windows").await.len(), 1);
    let r = post(&app, &format!("/maintenance-windows/{window_id}/delete"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn heartbeat_settings_form(app: TestApp) {
    let sid = service(&app, "batch").await;
    let (hb, _) = integration(&app, &sid, "heartbeat", "nightly backup").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert_eq!(testid(&r.text, "heartbeat-interval").as_deref(), Some("5 min"), "{}", r.text);
    assert!(r.text.contains("Last beat</dt><dd>never"));

    let path = format!("/integrations/{hb}/heartbeat");
    let r = post(&app, &path, &cookie, &[("csrf", &csrf), ("interval_seconds", "5400"), ("grace_seconds", "30")]).await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, format!("/services/{sid}#heartbeat-{hb}")),
        "{}",
        r.text
    );
    let saved = app.get(&format!("/api/v1/integrations/{hb}/heartbeat"), &app.viewer.token).await;
    assert_eq!((saved.body["interval_seconds"].as_i64(), saved.body["grace_seconds"].as_i64()), (Some(5400), Some(30)));
    let (r, _) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert_eq!(testid(&r.text, "heartbeat-interval").as_deref(), Some("1 h 30 min"));

    for (interval, grace, message) in [
        ("5", "0", "between 10 seconds and 30 days"),
        ("600", "-1", "between 0 and 1 day"),
        ("ten", "0", "whole number"),
    ] {
        let r =
            post(&app, &path, &cookie, &[("csrf", &csrf), ("interval_seconds", interval), ("grace_seconds", grace)])
                .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let error = testid(&r.text, "form-error").unwrap_or_default();
        assert!(error.contains(message), "{error}");
        assert!(r.text.contains(&format!("value=\"{interval}\"")), "the form keeps what was typed");
    }
    let saved = app.get(&format!("/api/v1/integrations/{hb}/heartbeat"), &app.viewer.token).await;
    assert_eq!(saved.body["interval_seconds"].as_i64(), Some(5400), "bad input changed nothing");

    // Only heartbeats have heartbeat settings.
    let (generic, _) = integration(&app, &sid, "generic", "webhook").await;
    let r = post(
        &app,
        &format!("/integrations/{generic}/heartbeat"),
        &cookie,
        &[("csrf", &csrf), ("interval_seconds", "600"), ("grace_seconds", "0")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(&app, "/integrations/nope/heartbeat", &cookie, &[("csrf", &csrf), ("interval_seconds", "600")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn mapping_editor_and_tester(app: TestApp) {
    let sid = service(&app, "web").await;
    let (id, _) = integration(&app, &sid, "generic", "uptime robot").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert!(r.text.contains(&format!("id=\"mapping-{id}\"")), "{}", r.text);
    assert!(unescape(&r.text).contains("\"summary\": \"{{ summary or title"), "the default mapping is shown");

    let saved_mapping = json!({"summary": "/title", "dedup_key": "/id", "severity": "/level", "source": "/host"});
    let r = post(
        &app,
        &format!("/integrations/{id}/mapping"),
        &cookie,
        &[("csrf", &csrf), ("mapping", &saved_mapping.to_string()), ("sample", "")],
    )
    .await;
    assert_eq!(
        (r.status, location(&r)),
        (StatusCode::SEE_OTHER, format!("/services/{sid}#mapping-{id}")),
        "{}",
        r.text
    );
    let mapping_path = format!("/api/v1/integrations/{id}/mapping");
    let saved = app.get(&mapping_path, &app.viewer.token).await.body;
    assert_eq!(saved["summary"], "/title");
    let (r, _) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert!(unescape(&r.text).contains("\"summary\": \"/title\""), "the saved mapping is shown");

    // A good sample, tried with an edited mapping that is not saved.
    let sample = json!({"title": "Homepage down", "id": "home-1", "level": "critical", "host": "web-1"}).to_string();
    let edited = json!({"summary": "{{ title }} (tested)", "dedup_key": "/id", "severity": "/level"}).to_string();
    let test_path = format!("/integrations/{id}/mapping/test");
    let r = post(&app, &test_path, &cookie, &[("csrf", &csrf), ("mapping", &edited), ("sample", &sample)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(testid(&r.text, "mapped-summary").as_deref(), Some("Homepage down (tested)"), "{}", r.text);
    assert_eq!(testid(&r.text, "mapped-dedup-key").as_deref(), Some("home-1"));
    assert!(r.text.contains("sev-critical"));
    assert!(unescape(&r.text).contains("(tested)\""), "the editor keeps the edited mapping");
    assert!(unescape(&r.text).contains("\"host\": \"web-1\""), "the sample stays in its box");
    // An empty editor tests the saved mapping.
    let r = post(&app, &test_path, &cookie, &[("csrf", &csrf), ("mapping", ""), ("sample", &sample)]).await;
    assert_eq!(testid(&r.text, "mapped-summary").as_deref(), Some("Homepage down"), "{}", r.text);

    // Bad samples and mappings say why, with 422.
    for (mapping, sample, message) in [
        ("", "not json", "not valid JSON"),
        (r#"{"summary": "/missing"}"#, r#"{"title": "x"}"#, "empty summary"),
        (r#"{"summary": "{{ unclosed"}"#, r#"{"title": "x"}"#, "summary"),
        (r#"{"summry": "/title"}"#, r#"{"title": "x"}"#, "not a valid JSON mapping"),
    ] {
        let r = post(&app, &test_path, &cookie, &[("csrf", &csrf), ("mapping", mapping), ("sample", sample)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        let error = testid(&r.text, "mapping-test-error").map(|e| unescape(&e)).unwrap_or_default();
        assert!(error.contains(message), "{message}: {error}");
        assert!(testid(&r.text, "mapped-summary").is_none());
    }
    assert_eq!(app.get(&mapping_path, &app.viewer.token).await.body, saved, "testing saved nothing");

    // A bad mapping is not saved either.
    let r = post(
        &app,
        &format!("/integrations/{id}/mapping"),
        &cookie,
        &[("csrf", &csrf), ("mapping", r#"{"summary": ""}"#)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "form-error").unwrap_or_default().contains("summary"));
    assert_eq!(app.get(&mapping_path, &app.viewer.token).await.body, saved);

    // Other kinds have no mapping.
    let (pd, _) = integration(&app, &sid, "pagerduty", "pd").await;
    let r =
        post(&app, &format!("/integrations/{pd}/mapping/test"), &cookie, &[("csrf", &csrf), ("sample", "{}")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

/// A local HTTP server whose /health always answers 503; returns its base URL.
async fn failing_target() -> String {
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// The fields of a create-check form for an HTTP check of `url`, with `extra` over them.
fn check_fields<'a>(url: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("name", "homepage"),
        ("kind", "http"),
        ("url", url),
        ("method", "GET"),
        ("expected_status", "204"),
        ("keyword", "ok"),
        ("address", ""),
        ("timeout_seconds", "2.5"),
        ("interval_secs", "30"),
        ("failure_threshold", "2"),
    ];
    for (k, v) in extra {
        f.retain(|(name, _)| name != k);
        f.push((k, v));
    }
    f
}

async fn checks_from_the_service_page(app: TestApp) {
    let sid = service(&app, "shop").await;
    let url = format!("{}/health", failing_target().await);
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, csrf) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert!(r.text.contains("No built-in checks."));
    let path = format!("/services/{sid}/checks");
    let mut fields = check_fields(&url, &[]);
    fields.push(("csrf", &csrf));
    let r = post(&app, &path, &cookie, &fields).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, format!("/services/{sid}#checks")), "{}", r.text);
    let mut fields =
        check_fields(&url, &[("name", "database"), ("kind", "tcp"), ("address", "127.0.0.1:9"), ("url", "")]);
    fields.push(("csrf", &csrf));
    assert_eq!(post(&app, &path, &cookie, &fields).await.status, StatusCode::SEE_OTHER);

    let checks = items(&app, &format!("/api/v1/checks?service_id={sid}")).await;
    assert_eq!(checks.len(), 2, "{checks:?}");
    let http = checks.iter().find(|c| c["name"] == "homepage").cloned().unwrap_or_default();
    assert_eq!(http["probe"]["url"], json!(url));
    assert_eq!(http["probe"]["expected_status"], 204);
    assert_eq!(http["probe"]["keyword"], "ok");
    assert_eq!((http["timeout_ms"].as_i64(), http["interval_secs"].as_i64()), (Some(2500), Some(30)));
    assert_eq!(http["failure_threshold"], 2);
    assert_eq!(http["probe"]["cert_warn_days"], 14, "the form's default");
    let tcp = checks.iter().find(|c| c["name"] == "database").cloned().unwrap_or_default();
    assert_eq!(tcp["probe"], json!({"kind": "tcp", "address": "127.0.0.1:9"}));
    let check_id = http["id"].as_str().unwrap_or_default().to_owned();

    let (r, _) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    let html = unescape(&r.text);
    assert!(html.contains(&format!("GET {url} → 204, body contains “ok”")), "{html}");
    assert!(html.contains("TCP 127.0.0.1:9"));
    assert!(html.contains("not run yet"));
    assert!(r.text.contains(&format!("<a href=\"/checks/{check_id}\">homepage</a>")));
    assert!(!r.text.contains("data-testid=\"mapping\""), "a check's own integration has no mapping editor");

    // Its history, once it has run.
    let (r, _) = get_page(&app, &format!("/checks/{check_id}"), &cookie).await;
    assert!(r.text.contains("No results yet"), "{}", r.text);
    // The engine runs the due checks against the real (failing) target.
    firebreak_server::engine::tick(&app.state).await;
    let (r, _) = get_page(&app, &format!("/checks/{check_id}"), &cookie).await;
    assert!(r.text.contains("data-testid=\"check-result\"") && r.text.contains(">failed</span>"), "{}", r.text);
    assert_eq!(testid(&r.text, "check-state").as_deref(), Some("failing"));
    let (r, _) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert!(r.text.contains("1 of 2 failures"), "{}", r.text);
    assert_eq!(
        app.send(page(&format!("/checks/{}", uuid::Uuid::now_v7()), &cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.send(page("/checks/nope", &cookie)).await.status, StatusCode::NOT_FOUND);

    // Bad checks are shown again with their error.
    for (extra, message) in [
        (vec![("url", "ftp://example.com/")], "http:// or https://"),
        (vec![("kind", "tcp"), ("address", "db")], "host:port"),
        (vec![("interval_secs", "5")], "interval"),
        (vec![("timeout_seconds", "soon")], "seconds"),
        (vec![("expected_status", "999")], "HTTP status"),
        (vec![("kind", "udp")], "HTTP or TCP"),
        (vec![("cert_warn_days", "-1")], "cert_warn_days"),
        (vec![("cert_warn_days", "400")], "cert_warn_days"),
    ] {
        let mut fields = check_fields(&url, &extra);
        fields.push(("csrf", &csrf));
        let r = post(&app, &path, &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {}", r.text);
        let error = testid(&r.text, "form-error").map(|e| unescape(&e)).unwrap_or_default();
        assert!(error.contains(message), "{extra:?}: {error}");
    }
    assert_eq!(items(&app, "/api/v1/checks").await.len(), 2, "nothing more was stored");
    let mut fields = check_fields(&url, &[]);
    fields.push(("csrf", &csrf));
    let r = post(&app, &format!("/services/{}/checks", uuid::Uuid::now_v7()), &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // An https check with its certificate warning.
    let mut fields =
        check_fields("https://shop.example.com/health", &[("name", "tls"), ("cert_warn_days", "30"), ("keyword", "")]);
    fields.push(("csrf", &csrf));
    assert_eq!(post(&app, &path, &cookie, &fields).await.status, StatusCode::SEE_OTHER);
    let (r, _) = get_page(&app, &format!("/services/{sid}"), &cookie).await;
    assert!(
        unescape(&r.text)
            .contains("GET https://shop.example.com/health → 204, warns 30 days before the certificate expires"),
        "{}",
        r.text
    );
}

/// Every form of these pages, with what it needs filled in.
struct Forms {
    rule: String,
    window: String,
    heartbeat: String,
    generic: String,
    service: String,
}

async fn setup_forms(app: &TestApp) -> Forms {
    let service = service(app, "svc").await;
    let (heartbeat, _) = integration(app, &service, "heartbeat", "hb").await;
    let (generic, _) = integration(app, &service, "generic", "gen").await;
    let r = app
        .post(
            "/api/v1/rules",
            &app.responder.token,
            json!({"name": "r", "conditions": [{"field": "source", "op": "exists"}], "actions": {"severity": "low"}}),
        )
        .await;
    let rule = r.body["id"].as_str().unwrap_or_default().to_owned();
    let now = chrono::Utc::now();
    let r = app
        .post(
            "/api/v1/maintenance-windows",
            &app.responder.token,
            json!({"name": "w", "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::TimeDelta::hours(1)).to_rfc3339()}),
        )
        .await;
    let window = r.body["id"].as_str().unwrap_or_default().to_owned();
    Forms { rule, window, heartbeat, generic, service }
}

/// (path, fields) of every form that changes something.
fn changing_posts(f: &Forms) -> Vec<(String, Vec<(&'static str, String)>)> {
    let (start, end) = (form_time(10), form_time(20));
    vec![
        (
            "/rules".into(),
            vec![
                ("name", "new".into()),
                ("field1", "source".into()),
                ("op1", "exists".into()),
                ("severity", "high".into()),
            ],
        ),
        (format!("/rules/{}/delete", f.rule), vec![]),
        ("/maintenance-windows".into(), vec![("name", "new".into()), ("starts_at", start), ("ends_at", end)]),
        (format!("/maintenance-windows/{}/delete", f.window), vec![]),
        (
            format!("/integrations/{}/heartbeat", f.heartbeat),
            vec![("interval_seconds", "600".into()), ("grace_seconds", "0".into())],
        ),
        (format!("/integrations/{}/mapping", f.generic), vec![("mapping", r#"{"summary": "/changed"}"#.into())]),
        (
            format!("/services/{}/checks", f.service),
            vec![("name", "c".into()), ("kind", "tcp".into()), ("address", "db:5432".into())],
        ),
    ]
}

/// What the forms could change, to compare before and after.
async fn snapshot(app: &TestApp, f: &Forms) -> Value {
    json!({
        "rules": items(app, "/api/v1/rules").await,
        "windows": items(app, "/api/v1/maintenance-windows").await.iter().map(|w| w["id"].clone()).collect::<Vec<_>>(),
        "heartbeat": app.get(&format!("/api/v1/integrations/{}/heartbeat", f.heartbeat), &app.viewer.token).await.body["interval_seconds"],
        "mapping": app.get(&format!("/api/v1/integrations/{}/mapping", f.generic), &app.viewer.token).await.body,
        "checks": items(app, "/api/v1/checks").await.len(),
    })
}

async fn viewers_get_403_on_every_post(app: TestApp) {
    let f = setup_forms(&app).await;
    let before = snapshot(&app, &f).await;
    let cookie = sign_in(&app, "viewer@example.com").await;
    for path in ["/rules", "/maintenance-windows", &format!("/services/{}", f.service)] {
        let (r, _) = get_page(&app, path, &cookie).await;
        for hidden in ["Create rule", "Create window", "Add check", "Save mapping", "/heartbeat\"", "/delete\""] {
            assert!(!r.text.contains(hidden), "viewers see no {hidden} on {path}");
        }
    }
    let (_, csrf) = get_page(&app, "/rules", &cookie).await;
    assert!(!csrf.is_empty());
    for (path, fields) in changing_posts(&f) {
        let mut fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fields.push(("csrf", &csrf));
        let r = post(&app, &path, &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(r.text.contains("read-only"), "{path}: {}", r.text);
    }
    assert_eq!(snapshot(&app, &f).await, before, "viewers changed nothing");
    // Testing a mapping changes nothing, so viewers may, as with the API.
    let r = post(
        &app,
        &format!("/integrations/{}/mapping/test", f.generic),
        &cookie,
        &[("csrf", &csrf), ("mapping", ""), ("sample", r#"{"title": "t"}"#)],
    )
    .await;
    assert_eq!(testid(&r.text, "mapped-summary").as_deref(), Some("t"), "{}", r.text);
}

async fn forms_without_csrf_are_refused(app: TestApp) {
    let f = setup_forms(&app).await;
    let before = snapshot(&app, &f).await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let mut posts = changing_posts(&f);
    posts.push((format!("/integrations/{}/mapping/test", f.generic), vec![("sample", "{}".into())]));
    for (path, fields) in posts {
        for token in ["", "forged", &"a".repeat(64)] {
            let mut fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            fields.push(("csrf", token));
            let r = post(&app, &path, &cookie, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with {token:?}: {}", r.text);
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&app, &path, &cookie, &fields).await;
        assert!(r.status.is_client_error(), "{path} without a token: {}", r.status);
        // Without a session cookie: sent to sign in.
        let r = post(&app, &path, "", &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(location(&r).starts_with("/login"));
    }
    assert_eq!(snapshot(&app, &f).await, before, "nothing changed");
}

async fn hostile_strings_come_back_escaped(app: TestApp) {
    let sid = service(&app, "svc").await;
    let (_, key) = integration(&app, &sid, "pagerduty", "pd").await;
    let (generic, _) = integration(&app, &sid, "generic", "gen").await;
    let (_, _) = integration(&app, &sid, "heartbeat", HOSTILE).await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/rules", &cookie).await;
    let fields = rule_fields(
        &csrf,
        &[
            ("name", HOSTILE),
            ("field1", "summary"),
            ("op1", "equals"),
            ("value1", HOSTILE),
            ("tags", "x"),
            ("severity", "low"),
        ],
    );
    assert_eq!(post(&app, "/rules", &cookie, &fields).await.status, StatusCode::SEE_OTHER);
    let (start, end) = (form_time(-5), form_time(60));
    let r = post(
        &app,
        "/maintenance-windows",
        &cookie,
        &[
            ("csrf", &csrf),
            ("name", HOSTILE),
            ("starts_at", &start),
            ("ends_at", &end),
            ("field1", "source"),
            ("op1", "equals"),
            ("value1", HOSTILE),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let mut check = vec![("csrf", csrf.as_str()), ("name", HOSTILE), ("kind", "tcp"), ("address", "db:5432")];
    assert_eq!(post(&app, &format!("/services/{sid}/checks"), &cookie, &check).await.status, StatusCode::SEE_OTHER);
    // An alert the window suppresses, with a hostile summary and source.
    trigger(&app, &key, "h1", HOSTILE, HOSTILE, json!({})).await;
    assert_eq!(items(&app, "/api/v1/alerts?status=suppressed").await.len(), 1);

    let pages = ["/rules".to_owned(), "/maintenance-windows".to_owned(), format!("/services/{sid}")];
    for path in &pages {
        let (r, _) = get_page(&app, path, &cookie).await;
        assert!(!r.text.contains(HOSTILE), "{path}: {}", r.text);
        assert!(r.text.contains(HOSTILE_ESCAPED), "{path}");
    }
    // Shown again after an error, still escaped.
    let fields = rule_fields(&csrf, &[("name", HOSTILE), ("field1", "summary"), ("op1", "regex"), ("value1", "(")]);
    let r = post(&app, "/rules", &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains(HOSTILE) && r.text.contains(HOSTILE_ESCAPED));
    check.retain(|(k, _)| *k != "address");
    check.push(("address", HOSTILE));
    let r = post(&app, &format!("/services/{sid}/checks"), &cookie, &check).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains(HOSTILE) && r.text.contains(HOSTILE_ESCAPED));
    // The mapping tester shows hostile payload values escaped.
    let sample = json!({"summary": HOSTILE, "source": HOSTILE}).to_string();
    let r = post(
        &app,
        &format!("/integrations/{generic}/mapping/test"),
        &cookie,
        &[("csrf", &csrf), ("mapping", ""), ("sample", &sample)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(HOSTILE));
    assert_eq!(testid(&r.text, "mapped-summary").as_deref(), Some(HOSTILE_ESCAPED));
    // The alert page names the hostile window escaped.
    let alert = items(&app, "/api/v1/alerts?status=suppressed").await.first().cloned().unwrap_or_default();
    let r = app.send(page(&format!("/alerts/{}", alert["id"].as_str().unwrap_or_default()), &cookie)).await;
    assert!(!r.text.contains(HOSTILE));
    assert!(testid(&r.text, "suppressed-by").is_some(), "{}", r.text);
}

on_both_backends!(
    rules_through_forms,
    bad_input_is_shown_again_and_stores_nothing,
    windows_show_what_they_suppressed,
    heartbeat_settings_form,
    mapping_editor_and_tester,
    checks_from_the_service_page,
    viewers_get_403_on_every_post,
    forms_without_csrf_are_refused,
    hostile_strings_come_back_escaped,
);
