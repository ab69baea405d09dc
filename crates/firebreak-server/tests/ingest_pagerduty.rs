//! PagerDuty Events API v2 (`POST /v2/enqueue`) on both backends, with fixtures written from
//! PagerDuty's public documentation: the answers (202, 400, 413, 429) byte for byte where
//! clients check them, dedup case by case, alerts joining their service's incident, severity
//! mapping, the incident timeline, auto-resolve, key rotation, the alerts API, a malformed
//! and hostile input corpus that stores nothing, concurrency, and the per-key rate limit.

mod common;
#[path = "support/snapshot.rs"]
mod snapshot;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Backend, Reply, TestApp, assert_error};
use firebreak_server::ServerConfig;
use serde_json::{Value, json};
use snapshot::{Snapshot, all_pages};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A service with one PagerDuty integration.
struct PdService {
    service_id: String,
    integration_id: String,
    key: String,
}

async fn create_service(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/services", &app.responder.token, json!({"name": name})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], name);
    assert_eq!(r.body["auto_resolve"], true, "auto-resolve is on by default: {}", r.text);
    r.body["id"].as_str().unwrap_or_else(|| panic!("service without id: {}", r.text)).to_owned()
}

/// Adds an integration of `kind`; returns its id, key and URL.
async fn add_integration(app: &TestApp, service_id: &str, kind: &str, name: &str) -> (String, String, String) {
    let r = app
        .post(
            &format!("/api/v1/services/{service_id}/integrations"),
            &app.responder.token,
            json!({"type": kind, "name": name}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["type"], kind, "{}", r.text);
    assert_eq!(r.body["service_id"], service_id, "{}", r.text);
    let field =
        |f: &str| r.body[f].as_str().unwrap_or_else(|| panic!("integration without {f}: {}", r.text)).to_owned();
    (field("id"), field("key"), field("url"))
}

async fn pd_service(app: &TestApp, name: &str) -> PdService {
    let service_id = create_service(app, name).await;
    let (integration_id, key, url) = add_integration(app, &service_id, "pagerduty", "Prometheus").await;
    assert!(url.ends_with("/v2/enqueue"), "a PagerDuty integration's URL is the Events v2 endpoint: {url}");
    assert!(key.len() >= 32, "integration keys are high-entropy: {key:?}");
    PdService { service_id, integration_id, key }
}

/// A trigger shaped like the example in PagerDuty's "Send an Alert Event" documentation.
fn trigger(routing_key: &str, dedup_key: Option<&str>, summary: &str, severity: &str) -> Value {
    let mut event = json!({
        "payload": {
            "summary": summary,
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
            "severity": severity,
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "deploy",
            "custom_details": {"ping time": "1500ms", "load avg": 0.75}
        },
        "routing_key": routing_key,
        "images": [{
            "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "href": "https://example.com/",
            "alt": "Example text"
        }],
        "links": [{"href": "https://example.com/", "text": "Link text"}],
        "event_action": "trigger",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com"
    });
    if let Some(k) = dedup_key {
        event["dedup_key"] = json!(k);
    }
    event
}

/// An acknowledge or resolve, as in the documentation's other two examples.
fn follow_up(routing_key: &str, dedup_key: &str, action: &str) -> Value {
    json!({"routing_key": routing_key, "dedup_key": dedup_key, "event_action": action})
}

/// `POST /v2/enqueue` with raw bytes and no credentials but the routing key in the body.
async fn enqueue_bytes(app: &TestApp, body: impl Into<Vec<u8>>) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v2/enqueue")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.into()))
        .unwrap_or_else(|e| panic!("{e}"));
    app.send(req).await
}

async fn enqueue(app: &TestApp, event: &Value) -> Reply {
    enqueue_bytes(app, event.to_string()).await
}

/// Asserts PagerDuty's success answer, exactly; returns the dedup key it names.
fn assert_accepted(r: &Reply, context: &str) -> String {
    assert_eq!(r.status, StatusCode::ACCEPTED, "{context}: {}", r.text);
    let ct = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{context}: content type {ct:?}");
    let obj = r.body.as_object().unwrap_or_else(|| panic!("{context}: not an object: {}", r.text));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["status", "message", "dedup_key"]), "{context}: {}", r.text);
    assert_eq!(r.body["status"], "success", "{context}");
    assert_eq!(r.body["message"], "Event processed", "{context}");
    let key = r.body["dedup_key"].as_str().unwrap_or_default().to_owned();
    assert!(!key.is_empty(), "{context}: empty dedup_key");
    key
}

/// Asserts PagerDuty's invalid-event answer with `status`, exactly.
fn assert_invalid_with(r: &Reply, status: StatusCode, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.text);
    let obj = r.body.as_object().unwrap_or_else(|| panic!("{context}: not a JSON object: {}", r.text));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["status", "message", "errors"]), "{context}: {}", r.text);
    assert_eq!(r.body["status"], "invalid event", "{context}");
    assert_eq!(r.body["message"], "Event object is invalid", "{context}");
    let errors = r.body["errors"].as_array().unwrap_or_else(|| panic!("{context}: errors is not a list: {}", r.text));
    assert!(!errors.is_empty(), "{context}: no errors listed");
    assert!(errors.iter().all(|e| e.as_str().is_some_and(|s| !s.is_empty())), "{context}: {}", r.text);
}

fn assert_invalid(r: &Reply, context: &str) {
    assert_invalid_with(r, StatusCode::BAD_REQUEST, context);
}

/// Every alert, newest first, following `next_cursor`.
async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    all_pages(app, &format!("/api/v1/alerts{query}"), &app.viewer.token).await
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    all_pages(app, "/api/v1/incidents", &app.admin.token).await
}

async fn incident(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/incidents/{id}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn alert(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/alerts/{id}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// The open alert with `dedup_key`, asserting there is exactly one.
async fn open_alert(app: &TestApp, dedup_key: &str) -> Value {
    let open: Vec<Value> =
        alerts(app, "?status=open").await.into_iter().filter(|a| a["dedup_key"] == dedup_key).collect();
    assert_eq!(open.len(), 1, "one open alert for {dedup_key:?}: {open:?}");
    open.into_iter().next().unwrap_or_default()
}

/// An incident's timeline in short words: `created`, `alert:opened`, `status_changed:resolved`, …
async fn timeline(app: &TestApp, incident_id: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/incidents/{incident_id}/timeline"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| match e["kind"].as_str().unwrap_or_default() {
            "alert" => format!("alert:{}", e["change"].as_str().unwrap_or_default()),
            "status_changed" => format!("status_changed:{}", e["to"].as_str().unwrap_or_default()),
            other => other.to_owned(),
        })
        .collect()
}

fn instant(v: &Value, field: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(str_of(v, field)).unwrap_or_else(|e| panic!("{field} in {v}: {e}"))
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("no {field} in {v}"))
}

/// What a refused event must leave alone: everything the API shows, alerts included.
struct Stored {
    snapshot: Snapshot,
    alerts: Vec<Value>,
}

impl Stored {
    async fn capture(app: &TestApp) -> Stored {
        Stored { snapshot: Snapshot::capture(app).await, alerts: alerts(app, "").await }
    }

    async fn assert_unchanged(&self, app: &TestApp, context: &str) {
        self.snapshot.assert_unchanged(app, context).await;
        assert_eq!(alerts(app, "").await, self.alerts, "{context}: alerts changed");
    }
}

/// The integration contract and PagerDuty's own documented examples, as sent.
async fn documented_examples_are_accepted(app: TestApp) {
    let pd = pd_service(&app, "Checkout").await;
    let r = app.get(&format!("/api/v1/services/{}/integrations", pd.service_id), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "{}", r.text);
    assert_eq!(listed[0]["id"], pd.integration_id.as_str());
    assert!(!r.text.contains(&pd.key), "the key is shown only once: {}", r.text);

    let mut event = trigger(&pd.key, Some("samplekeyhere"), "Example alert on host1.example.com", "info");
    let r = enqueue(&app, &event).await;
    assert_eq!(assert_accepted(&r, "documented trigger"), "samplekeyhere");

    let a = open_alert(&app, "samplekeyhere").await;
    assert_eq!(a["status"], "open");
    assert_eq!(a["count"], 1);
    assert_eq!(a["summary"], "Example alert on host1.example.com");
    assert_eq!(a["source"], event["payload"]["source"]);
    assert_eq!(a["severity"], "info");
    assert_eq!(a["service_id"], pd.service_id.as_str());
    assert_eq!(a["integration_id"], pd.integration_id.as_str());
    assert!(a["incident_id"].is_string(), "{a}");
    assert_eq!(a["acknowledged_at"], Value::Null);
    assert_eq!(a["resolved_at"], Value::Null);
    assert_eq!(a["first_seen_at"], a["last_seen_at"]);
    // Everything else the tool sent is kept for responders.
    let d = &a["details"];
    assert_eq!(d["component"], "postgres");
    assert_eq!(d["group"], "prod-datapipe");
    assert_eq!(d["class"], "deploy");
    assert_eq!(d["custom_details"], event["payload"]["custom_details"]);
    assert_eq!(d["links"], event["links"]);
    assert_eq!(d["images"], event["images"]);
    assert_eq!(d["client"], "Sample Monitoring Service");
    assert_eq!(d["client_url"], "https://monitoring.example.com");

    // The other two documented examples.
    let r = enqueue(&app, &follow_up(&pd.key, "samplekeyhere", "acknowledge")).await;
    assert_eq!(assert_accepted(&r, "documented acknowledge"), "samplekeyhere");
    let r = enqueue(&app, &follow_up(&pd.key, "samplekeyhere", "resolve")).await;
    assert_eq!(assert_accepted(&r, "documented resolve"), "samplekeyhere");
    let a = alert(&app, str_of(&a, "id")).await;
    assert_eq!((a["status"].as_str(), a["count"].as_i64()), (Some("resolved"), Some(3)), "{a}");

    // Optional fields may be absent or null; the timestamp may use any RFC 3339 offset.
    event = json!({
        "routing_key": pd.key, "event_action": "trigger", "dedup_key": null,
        "payload": {"summary": "minimal", "source": "host", "severity": "warning", "timestamp": "2024-02-29T23:59:59Z",
                    "component": null, "custom_details": null},
        "links": null, "images": []
    });
    assert_accepted(&enqueue(&app, &event).await, "minimal trigger");
    event["payload"]["timestamp"] = json!("2024-02-29T23:59:59.123456+05:30");
    assert_accepted(&enqueue(&app, &event).await, "offset with a colon");
}

/// Dedup case by case: generated keys, duplicates, acknowledge, resolve, a new alert after
/// resolve, and follow-ups for keys with no open alert.
async fn dedup_follows_pagerduty(app: TestApp) {
    let pd = pd_service(&app, "Payments").await;

    // A trigger without a key gets a fresh one, returned; two such triggers are two alerts.
    let generated = assert_accepted(&enqueue(&app, &trigger(&pd.key, None, "CPU high", "error")).await, "no key");
    let other = assert_accepted(&enqueue(&app, &trigger(&pd.key, None, "CPU high", "error")).await, "no key again");
    assert_ne!(generated, other, "each keyless trigger gets its own key");
    let a = open_alert(&app, &generated).await;
    assert_eq!(a["count"], 1);
    let incident_id = str_of(&a, "incident_id").to_owned();
    assert_eq!(open_alert(&app, &other).await["incident_id"], incident_id.as_str(), "same service, same incident");

    // The generated key works like any other: a repeat is a duplicate.
    let r = enqueue(&app, &trigger(&pd.key, Some(&generated), "CPU higher", "critical")).await;
    assert_eq!(assert_accepted(&r, "repeat"), generated);
    let dup = open_alert(&app, &generated).await;
    assert_eq!(dup["id"], a["id"], "a repeat is not a new alert");
    assert_eq!(dup["count"], 2);
    assert_eq!(dup["first_seen_at"], a["first_seen_at"]);
    assert!(instant(&dup, "last_seen_at") > instant(&a, "last_seen_at"), "last seen moves: {a} → {dup}");
    assert_eq!((dup["summary"].as_str(), dup["severity"].as_str()), (Some("CPU higher"), Some("critical")));
    assert_eq!(alerts(&app, "").await.len(), 2);
    assert_eq!(incidents(&app).await.len(), 1, "a duplicate opens no incident");

    // Acknowledge acts on the open alert; a second acknowledge changes nothing.
    assert_accepted(&enqueue(&app, &follow_up(&pd.key, &generated, "acknowledge")).await, "ack");
    let acked = open_alert(&app, &generated).await;
    assert_eq!(acked["status"], "open", "an acknowledged alert is still open");
    assert!(acked["acknowledged_at"].is_string(), "{acked}");
    assert_eq!(acked["count"], 3);
    assert_accepted(&enqueue(&app, &follow_up(&pd.key, &generated, "acknowledge")).await, "ack again");
    assert_eq!(open_alert(&app, &generated).await, acked, "a second acknowledge changes nothing");
    // A trigger while acknowledged is still a duplicate of the same alert.
    assert_accepted(&enqueue(&app, &trigger(&pd.key, Some(&generated), "CPU high", "error")).await, "re-trigger");
    assert_eq!(open_alert(&app, &generated).await["count"], 4);

    // Resolve both; the incident resolves itself when the last one does.
    assert_accepted(&enqueue(&app, &follow_up(&pd.key, &generated, "resolve")).await, "resolve");
    let resolved = alert(&app, str_of(&a, "id")).await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    assert_eq!(resolved["count"], 5);
    assert_eq!(incident(&app, &incident_id).await["status"], "triggered", "another alert is still open");
    assert_accepted(&enqueue(&app, &follow_up(&pd.key, &other, "resolve")).await, "resolve other");
    let inc = incident(&app, &incident_id).await;
    assert_eq!(inc["status"], "resolved", "all alerts resolved: {inc}");
    assert!(inc["resolved_at"].is_string());

    // Follow-ups for a key with no open alert (resolved, or never seen) are taken and change nothing.
    let before = Stored::capture(&app).await;
    for (key, action) in [(&generated, "resolve"), (&generated, "acknowledge"), (&"never-seen".to_owned(), "resolve")] {
        let r = enqueue(&app, &follow_up(&pd.key, key, action)).await;
        assert_eq!(assert_accepted(&r, action), key.as_str(), "{action} {key}");
        before.assert_unchanged(&app, &format!("{action} {key} with no open alert")).await;
    }

    // After resolve, the same key opens a new alert, in a new incident.
    let r = enqueue(&app, &trigger(&pd.key, Some(&generated), "CPU high again", "warning")).await;
    assert_eq!(assert_accepted(&r, "after resolve"), generated);
    let again = open_alert(&app, &generated).await;
    assert_ne!(again["id"], a["id"], "a new alert");
    assert_eq!(again["count"], 1);
    assert_ne!(again["incident_id"], incident_id.as_str(), "the old incident is resolved: a new one opens");
    let same_key: Vec<Value> = alerts(&app, "").await.into_iter().filter(|x| x["dedup_key"] == generated).collect();
    assert_eq!(same_key.len(), 2, "{same_key:?}");
    let all = incidents(&app).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["id"], again["incident_id"]);
    assert_eq!(all[0]["title"], "CPU high again");
    assert_eq!(all[0]["severity"], "medium");

    // Every alert event of the first incident is on its timeline, then the auto-resolve.
    assert_eq!(
        timeline(&app, &incident_id).await,
        [
            "created",
            "alert:opened",
            "alert:opened",
            "alert:repeated",
            "alert:acknowledged",
            "alert:repeated",
            "alert:resolved",
            "alert:resolved",
            "status_changed:resolved"
        ]
    );
    let r = app.get(&format!("/api/v1/incidents/{incident_id}/timeline"), &app.viewer.token).await;
    let last_alert = r.body["items"].as_array().and_then(|i| i.get(7)).cloned().unwrap_or_default();
    assert_eq!(last_alert["dedup_key"], other.as_str(), "{last_alert}");
    assert_eq!(last_alert["via"], "system", "{last_alert}");
    assert!(str_of(&last_alert["actor"], "name").contains("Prometheus"), "the integration is the actor: {last_alert}");
    assert_eq!(timeline(&app, str_of(&again, "incident_id")).await, ["created", "alert:opened"]);
}

/// Alerts of one service join its open incident; other services get their own.
async fn alerts_join_their_services_open_incident(app: TestApp) {
    let api = pd_service(&app, "API").await;
    let db = pd_service(&app, "Database").await;
    let mut incident_of = BTreeMap::new();
    for (svc, key) in [(&api, "api-5xx"), (&api, "api-latency"), (&db, "db-replication"), (&api, "api-cert")] {
        assert_accepted(&enqueue(&app, &trigger(&svc.key, Some(key), key, "error")).await, key);
        incident_of.insert(key, open_alert(&app, key).await["incident_id"].clone());
    }
    assert_eq!(incident_of["api-5xx"], incident_of["api-latency"]);
    assert_eq!(incident_of["api-5xx"], incident_of["api-cert"]);
    assert_ne!(incident_of["api-5xx"], incident_of["db-replication"]);
    let all = incidents(&app).await;
    assert_eq!(all.len(), 2);
    let api_incident = incident_of["api-5xx"].as_str().unwrap_or_default().to_owned();
    let inc = incident(&app, &api_incident).await;
    assert_eq!(inc["title"], "api-5xx", "titled from the first alert: {inc}");
    assert_eq!(
        timeline(&app, &api_incident).await,
        ["created", "alert:opened", "alert:opened", "alert:opened"],
        "every alert of the service is on its incident's timeline"
    );
    let r = app.get(&format!("/api/v1/alerts?incident_id={api_incident}"), &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(3), "{}", r.text);
    let r = app.get(&format!("/api/v1/alerts?service_id={}", db.service_id), &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1), "{}", r.text);
}

/// An incident declared by hand for a catalog service (typed by its name) is that service's
/// open incident: the service's alerts join it instead of opening another.
async fn alerts_join_an_incident_declared_for_their_service(app: TestApp) {
    let checkout = pd_service(&app, "checkout").await;
    let declared = json!({"title": "Checkout is slow", "severity": "high", "type": "degradation", "services": ["Checkout", "payments"]});
    let r = app.post("/api/v1/incidents", &app.responder.token, declared).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["service_id"], checkout.service_id.as_str(), "the typed name is the catalog service: {}", r.text);
    let declared_id = r.body["id"].as_str().unwrap_or_default().to_owned();
    // A name the catalog does not know stays free text and links no service.
    let other = json!({"title": "Payments flaky", "severity": "low", "type": "other", "services": ["payments"]});
    let r = app.post("/api/v1/incidents", &app.responder.token, other).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["service_id"].is_null(), "{}", r.text);

    assert_accepted(&enqueue(&app, &trigger(&checkout.key, Some("cko-5xx"), "checkout 5xx", "error")).await, "trigger");
    assert_eq!(open_alert(&app, "cko-5xx").await["incident_id"], declared_id.as_str(), "the alert joined INC-1");
    assert_eq!(incidents(&app).await.len(), 2, "no third incident was opened");
    assert_eq!(timeline(&app, &declared_id).await, ["created", "alert:opened"]);
}

/// Alert severities open incidents of the mapped severity.
async fn severities_map_onto_incidents(app: TestApp) {
    for (severity, expected) in [("critical", "critical"), ("error", "high"), ("warning", "medium"), ("info", "low")] {
        let svc = pd_service(&app, &format!("svc-{severity}")).await;
        let summary = format!("{severity} alert");
        assert_accepted(&enqueue(&app, &trigger(&svc.key, Some(severity), &summary, severity)).await, severity);
        let a = open_alert(&app, severity).await;
        assert_eq!(a["severity"], severity);
        let inc = incident(&app, str_of(&a, "incident_id")).await;
        assert_eq!(inc["severity"], expected, "{severity} → {expected}: {inc}");
        assert_eq!(inc["status"], "triggered");
        assert_eq!(inc["title"], summary.as_str());
    }
}

/// With auto-resolve off, the incident stays open when its alerts resolve.
async fn auto_resolve_can_be_turned_off(app: TestApp) {
    let pd = pd_service(&app, "Batch jobs").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/services/{}", pd.service_id),
            &app.responder.token,
            Some(json!({"auto_resolve": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["auto_resolve"], false);
    assert_accepted(&enqueue(&app, &trigger(&pd.key, Some("nightly"), "nightly job failed", "error")).await, "t");
    let incident_id = str_of(&open_alert(&app, "nightly").await, "incident_id").to_owned();
    assert_accepted(&enqueue(&app, &follow_up(&pd.key, "nightly", "resolve")).await, "resolve");
    let all = alerts(&app, "").await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["status"], "resolved");
    assert_eq!(incident(&app, &incident_id).await["status"], "triggered", "auto-resolve is off");
    assert_eq!(timeline(&app, &incident_id).await, ["created", "alert:opened", "alert:resolved"]);

    // The same key opens a new alert, which joins the incident that is still open.
    assert_accepted(&enqueue(&app, &trigger(&pd.key, Some("nightly"), "nightly job failed", "error")).await, "t2");
    let again = open_alert(&app, "nightly").await;
    assert_ne!(again["id"], all[0]["id"]);
    assert_eq!(again["incident_id"], incident_id.as_str());
    assert_eq!(incidents(&app).await.len(), 1);
}

/// Dedup keys belong to an integration: the same key from two integrations is two alerts,
/// and a follow-up through one leaves the other's alert alone.
async fn integrations_keep_their_own_keys(app: TestApp) {
    let pd = pd_service(&app, "Storage").await;
    let (_, second_key, _) = add_integration(&app, &pd.service_id, "pagerduty", "Nagios").await;
    let other = pd_service(&app, "Network").await;
    for key in [&pd.key, &second_key, &other.key] {
        assert_accepted(&enqueue(&app, &trigger(key, Some("disk-full"), "disk full", "error")).await, "trigger");
    }
    let open: Vec<Value> = alerts(&app, "?status=open").await;
    assert_eq!(open.len(), 3, "{open:?}");
    assert!(open.iter().all(|a| a["dedup_key"] == "disk-full" && a["count"] == 1), "{open:?}");
    let integrations: BTreeSet<&str> = open.iter().map(|a| str_of(a, "integration_id")).collect();
    assert_eq!(integrations.len(), 3);

    assert_accepted(&enqueue(&app, &follow_up(&second_key, "disk-full", "resolve")).await, "resolve");
    let open = alerts(&app, "?status=open").await;
    assert_eq!(open.len(), 2);
    let resolved = alerts(&app, "?status=resolved").await;
    assert_eq!(resolved.len(), 1);
    assert!(!open.iter().any(|a| a["integration_id"] == resolved[0]["integration_id"]));
    // The Storage incident still has the first integration's alert open.
    assert_eq!(incident(&app, str_of(&resolved[0], "incident_id")).await["status"], "triggered");
}

/// Rotating a key: the old key stops at once, the new one works and keeps the alerts.
async fn rotated_keys_stop_working(app: TestApp) {
    let pd = pd_service(&app, "Search").await;
    assert_accepted(&enqueue(&app, &trigger(&pd.key, Some("k1"), "slow queries", "warning")).await, "before");
    let r = app
        .call(Method::POST, &format!("/api/v1/integrations/{}/rotate-key", pd.integration_id), &app.viewer.token, None)
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/integrations/{}/rotate-key", pd.integration_id),
            &app.responder.token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_key = str_of(&r.body, "key").to_owned();
    assert_ne!(new_key, pd.key);
    assert!(str_of(&r.body, "url").ends_with("/v2/enqueue"));
    assert!(r.body["key_rotated_at"].is_string(), "{}", r.text);

    let before = Stored::capture(&app).await;
    for event in [trigger(&pd.key, Some("k1"), "slow queries", "warning"), follow_up(&pd.key, "k1", "resolve")] {
        assert_invalid(&enqueue(&app, &event).await, "old key");
        before.assert_unchanged(&app, "old key").await;
    }
    assert_accepted(&enqueue(&app, &trigger(&new_key, Some("k1"), "slow queries", "warning")).await, "new key");
    assert_eq!(open_alert(&app, "k1").await["count"], 2, "the integration's open alert carries on");

    // A key of another kind of integration is not a routing key.
    let (_, opsgenie_key, _) = add_integration(&app, &pd.service_id, "opsgenie", "Opsgenie").await;
    let before = Stored::capture(&app).await;
    assert_invalid(&enqueue(&app, &trigger(&opsgenie_key, Some("k2"), "x", "info")).await, "opsgenie key");
    before.assert_unchanged(&app, "opsgenie key").await;
}

/// `GET /api/v1/alerts` filters and pages; `GET /api/v1/alerts/{id}`; people acknowledge
/// and resolve alerts through the API as the monitoring tool could.
async fn alerts_api(app: TestApp) {
    let pd = pd_service(&app, "Web").await;
    for n in 0..5 {
        let key = format!("web-{n}");
        assert_accepted(&enqueue(&app, &trigger(&pd.key, Some(&key), &key, "error")).await, &key);
    }
    for n in [1, 3] {
        assert_accepted(&enqueue(&app, &follow_up(&pd.key, &format!("web-{n}"), "resolve")).await, "resolve");
    }
    let keys = |items: &[Value]| items.iter().map(|a| str_of(a, "dedup_key").to_owned()).collect::<Vec<_>>();
    assert_eq!(keys(&alerts(&app, "").await), ["web-4", "web-3", "web-2", "web-1", "web-0"], "newest first");
    assert_eq!(keys(&alerts(&app, "?status=open").await), ["web-4", "web-2", "web-0"]);
    assert_eq!(keys(&alerts(&app, "?status=resolved").await), ["web-3", "web-1"]);
    assert_eq!(keys(&alerts(&app, "?status=open,resolved").await).len(), 5);
    assert!(alerts(&app, "?status=suppressed").await.is_empty());

    // Pages of two, following next_cursor, see every alert once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/alerts?limit=2&cursor={c}"),
            None => "/api/v1/alerts?limit=2".to_owned(),
        };
        let r = app.get(&path, &app.viewer.token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let items = r.body["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(keys(&items));
        pages += 1;
        match r.body.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["web-4", "web-3", "web-2", "web-1", "web-0"]);
    let r = app.get("/api/v1/alerts?status=open&limit=2", &app.viewer.token).await;
    assert_eq!(keys(r.body["items"].as_array().map(Vec::as_slice).unwrap_or_default()), ["web-4", "web-2"]);
    let c = str_of(&r.body, "next_cursor");
    let r = app.get(&format!("/api/v1/alerts?status=open&limit=2&cursor={c}"), &app.viewer.token).await;
    assert_eq!(keys(r.body["items"].as_array().map(Vec::as_slice).unwrap_or_default()), ["web-0"]);
    assert!(r.body.get("next_cursor").is_none(), "{}", r.text);

    for bad in ["?status=firing", "?cursor=nope", "?service_id=nope", "?limit=many", "?colour=red"] {
        let r = app.get(&format!("/api/v1/alerts{bad}"), &app.viewer.token).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_query");
    }
    let r = app.raw(Method::GET, "/api/v1/alerts", None, None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // Detail.
    let a = open_alert(&app, "web-2").await;
    let id = str_of(&a, "id").to_owned();
    assert_eq!(alert(&app, &id).await, a);
    for missing in [uuid_like(), "not-an-id".to_owned()] {
        assert_error(
            &app.get(&format!("/api/v1/alerts/{missing}"), &app.viewer.token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }

    // A viewer may not act; nothing changes.
    let before = Stored::capture(&app).await;
    for action in ["acknowledge", "resolve"] {
        let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/{action}"), &app.viewer.token, None).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        before.assert_unchanged(&app, &format!("viewer {action}")).await;
    }
    let r = app
        .call(Method::POST, &format!("/api/v1/alerts/{uuid}/resolve", uuid = uuid_like()), &app.responder.token, None)
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/explode"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    before.assert_unchanged(&app, "refused actions").await;

    // A responder acknowledges, then resolves.
    let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/acknowledge"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "open");
    assert!(r.body["acknowledged_at"].is_string());
    let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/resolve"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(alert(&app, &id).await, r.body);
    let incident_id = str_of(&a, "incident_id").to_owned();
    let r2 = app.get(&format!("/api/v1/incidents/{incident_id}/timeline"), &app.viewer.token).await;
    let by_responder: Vec<&Value> = r2.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "alert" && e["alert_id"] == id.as_str() && e["via"] != "system")
        .collect();
    assert_eq!(by_responder.len(), 2, "{}", r2.text);
    assert!(by_responder.iter().all(|e| e["actor"]["name"] == "responder@example.com"), "{}", r2.text);
    // web-0 and web-4 are still open: the incident stays open.
    assert_eq!(incident(&app, &incident_id).await["status"], "triggered");

    // Only open alerts can be acted on.
    let before = Stored::capture(&app).await;
    for action in ["acknowledge", "resolve"] {
        let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/{action}"), &app.responder.token, None).await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");
        before.assert_unchanged(&app, &format!("{action} a resolved alert")).await;
    }

    // Resolving the last open alerts through the API auto-resolves the incident too.
    for key in ["web-0", "web-4"] {
        let id = str_of(&open_alert(&app, key).await, "id").to_owned();
        let r = app.call(Method::POST, &format!("/api/v1/alerts/{id}/resolve"), &app.responder.token, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(incident(&app, &incident_id).await["status"], "resolved");
    assert_eq!(timeline(&app, &incident_id).await.last().map(String::as_str), Some("status_changed:resolved"));
}

fn uuid_like() -> String {
    "0190f2a4-0000-7000-8000-000000000000".to_owned()
}

/// Malformed events: PagerDuty's 400 shape with a list of errors, and nothing stored.
async fn malformed_events_store_nothing(app: TestApp) {
    let pd = pd_service(&app, "Corpus").await;
    // An open alert, so that a refused event on its key visibly changes nothing.
    assert_accepted(&enqueue(&app, &trigger(&pd.key, Some("existing"), "already open", "error")).await, "setup");
    let key = pd.key.as_str();
    let valid = trigger(key, Some("existing"), "again", "error");
    let with = |path: &[&str], value: Value| {
        let mut e = valid.clone();
        let mut target = &mut e;
        for p in &path[..path.len() - 1] {
            target = &mut target[*p];
        }
        target[path[path.len() - 1]] = value;
        e.to_string()
    };
    let without = |path: &[&str]| {
        let mut e = valid.clone();
        let mut target = &mut e;
        for p in &path[..path.len() - 1] {
            target = &mut target[*p];
        }
        if let Some(o) = target.as_object_mut() {
            o.remove(path[path.len() - 1]);
        }
        e.to_string()
    };
    let corpus: Vec<(&str, String)> = vec![
        ("bad JSON", r#"{"routing_key": "#.to_owned()),
        ("trailing garbage", format!("{valid} x")),
        ("empty body", String::new()),
        ("JSON array", format!("[{valid}]")),
        ("JSON string", r#""trigger""#.to_owned()),
        ("JSON number", "42".to_owned()),
        ("JSON null", "null".to_owned()),
        ("missing routing_key", without(&["routing_key"])),
        ("blank routing_key", with(&["routing_key"], json!("  "))),
        ("unknown routing_key", with(&["routing_key"], json!("0123456789abcdef0123456789abcdef"))),
        ("routing_key number", with(&["routing_key"], json!(12345))),
        ("routing_key object", with(&["routing_key"], json!({"key": key}))),
        ("missing event_action", without(&["event_action"])),
        ("unknown event_action", with(&["event_action"], json!("escalate"))),
        ("event_action number", with(&["event_action"], json!(1))),
        ("payload string", with(&["payload"], json!("disk full"))),
        ("payload array", with(&["payload"], json!([]))),
        ("trigger without payload", without(&["payload"])),
        ("trigger with null payload", with(&["payload"], Value::Null)),
        ("trigger without summary", without(&["payload", "summary"])),
        ("blank summary", with(&["payload", "summary"], json!(" \n "))),
        ("summary number", with(&["payload", "summary"], json!(42))),
        ("trigger without source", without(&["payload", "source"])),
        ("source object", with(&["payload", "source"], json!({}))),
        ("trigger without severity", without(&["payload", "severity"])),
        ("bad severity", with(&["payload", "severity"], json!("fatal"))),
        ("severity in capitals", with(&["payload", "severity"], json!("CRITICAL"))),
        ("severity number", with(&["payload", "severity"], json!(1))),
        ("summary over 1024 chars", with(&["payload", "summary"], json!("x".repeat(1025)))),
        ("source over 1024 chars", with(&["payload", "source"], json!("s".repeat(1025)))),
        ("dedup_key over 255 chars", with(&["dedup_key"], json!("k".repeat(256)))),
        ("dedup_key number", with(&["dedup_key"], json!(7))),
        ("dedup_key with a newline", with(&["dedup_key"], json!("existing\n"))),
        ("bad timestamp", with(&["payload", "timestamp"], json!("yesterday"))),
        ("timestamp number", with(&["payload", "timestamp"], json!(1_700_000_000))),
        ("impossible date", with(&["payload", "timestamp"], json!("2015-02-30T08:42:58Z"))),
        ("links not an array", with(&["links"], json!({"href": "https://example.com/"}))),
        ("images a string", with(&["images"], json!("https://example.com/x.png"))),
        ("component number", with(&["payload", "component"], json!(3))),
        ("client array", with(&["client"], json!(["a"]))),
        ("acknowledge without dedup_key", json!({"routing_key": key, "event_action": "acknowledge"}).to_string()),
        ("resolve without dedup_key", json!({"routing_key": key, "event_action": "resolve"}).to_string()),
        (
            "resolve with blank dedup_key",
            json!({"routing_key": key, "event_action": "resolve", "dedup_key": ""}).to_string(),
        ),
        ("lone surrogate", with(&["payload", "summary"], json!("PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800")),
        ("NUL in summary", with(&["payload", "summary"], json!("disk\u{0}full"))),
        ("NUL in source", with(&["payload", "source"], json!("db1\u{0}"))),
        ("NUL in component", with(&["payload", "component"], json!("\u{0}"))),
        ("NUL in custom details", with(&["payload", "custom_details"], json!({"note": "a\u{0}b"}))),
        ("NUL in a custom details key", with(&["payload", "custom_details"], json!({"a\u{0}b": 1}))),
        ("NUL in a link", with(&["links"], json!([{"href": "https://example.com/", "text": "\u{0}"}]))),
        ("NUL in client", with(&["client"], json!("x\u{0}"))),
        ("NUL in dedup_key", with(&["dedup_key"], json!("k\u{0}"))),
        (
            "nesting deeper than the parser allows",
            with(&["payload", "custom_details"], json!("DEEP"))
                .replace("\"DEEP\"", &format!("{}1{}", "[".repeat(200), "]".repeat(200))),
        ),
    ];
    let before = Stored::capture(&app).await;
    for (name, body) in &corpus {
        let r = enqueue_bytes(&app, body.clone()).await;
        assert_invalid(&r, name);
        before.assert_unchanged(&app, name).await;
    }
    // Invalid UTF-8 inside a string.
    let mut bytes = valid.to_string().into_bytes();
    let at = bytes.windows(5).position(|w| w == b"again").unwrap_or_else(|| panic!("fixture"));
    bytes[at] = 0xff;
    assert_invalid(&enqueue_bytes(&app, bytes).await, "invalid UTF-8");
    before.assert_unchanged(&app, "invalid UTF-8").await;

    // Each error is reported, not only the first.
    let r =
        enqueue(&app, &json!({"routing_key": key, "event_action": "trigger", "payload": {"severity": "loud"}})).await;
    assert_invalid(&r, "several errors");
    assert!(r.body["errors"].as_array().map(Vec::len).unwrap_or_default() >= 3, "{}", r.text);

    // The limits themselves are fine.
    let at_limits = with(&["payload", "summary"], json!("é".repeat(1024)));
    let mut at_limits: Value = serde_json::from_str(&at_limits).unwrap_or_default();
    at_limits["dedup_key"] = json!("ü".repeat(255));
    assert_eq!(assert_accepted(&enqueue(&app, &at_limits).await, "at the limits"), "ü".repeat(255));
    assert_eq!(open_alert(&app, &"ü".repeat(255)).await["summary"], "é".repeat(1024));
}

/// Bodies over PagerDuty's 512 KB are refused with 413 and store nothing; a body just
/// under it is taken.
async fn oversized_bodies_are_refused(app: TestApp) {
    let pd = pd_service(&app, "Big").await;
    let before = Stored::capture(&app).await;
    for size in [600 * 1024, 2 * 1024 * 1024] {
        let mut event = trigger(&pd.key, Some("big"), "big", "info");
        event["payload"]["custom_details"] = json!({"blob": "x".repeat(size)});
        let r = enqueue(&app, &event).await;
        assert_invalid_with(&r, StatusCode::PAYLOAD_TOO_LARGE, &format!("{size} bytes"));
        before.assert_unchanged(&app, "oversized").await;
    }
    let mut event = trigger(&pd.key, Some("big"), "big", "info");
    event["payload"]["custom_details"] = json!({"blob": "x".repeat(500 * 1024)});
    assert!(event.to_string().len() < 512 * 1024);
    assert_accepted(&enqueue(&app, &event).await, "just under 512 KB");
    let a = open_alert(&app, "big").await;
    assert_eq!(a["details"]["custom_details"]["blob"].as_str().map(str::len), Some(500 * 1024));
}

/// Hostile strings are data: stored as sent and never a 5xx. Control characters other than
/// NUL are taken (PagerDuty takes them) and kept in the alert, but never reach the incident's
/// title; NUL, which PostgreSQL cannot store, is refused (see the corpus above).
async fn hostile_strings_are_data(app: TestApp) {
    let pd = pd_service(&app, "Hostile").await;
    let cases: Vec<(&str, &str, &str)> = vec![
        ("script", "<script>alert(document.cookie)</script>", "<img src=x onerror=alert(1)>"),
        ("sql", "'; DROP TABLE alerts; --", "\" OR 1=1; --"),
        ("template", "{{ 7*7 }} {% raw %} ${jndi:ldap://x/a}", "%s%s%s%n"),
        ("unicode", "\u{202e}gnp.exe \u{1f525} \u{fffd} \u{200b}", "ﬁle \u{10ffff}"),
        ("escapes", "disk \u{1b}[31mfull\u{1b}[0m\u{7}", "\u{1b}]0;pwned\u{7}"),
        ("c1 and del", "a\u{85}b\u{9b}c\u{7f}d", "\u{8}\u{8}"),
        ("lines", "line one\r\nline\ttwo", "src\n"),
        ("only control", "\u{7}\u{1b}", "x"),
    ];
    for (i, (name, summary, source)) in cases.iter().enumerate() {
        // Each on its own service, so each opens an incident titled from its summary.
        let svc = pd_service(&app, &format!("Hostile {i}")).await;
        let dedup = format!("{name} <b>'\"; --");
        let mut event = trigger(&svc.key, Some(&dedup), summary, "critical");
        event["payload"]["source"] = json!(source);
        event["payload"]["custom_details"] = json!({ (*summary): source, "nested": [summary, {"k": source}] });
        let r = enqueue(&app, &event).await;
        assert!(!r.status.is_server_error(), "{name}: {}", r.text);
        assert_eq!(assert_accepted(&r, name), dedup);
        let a = open_alert(&app, &dedup).await;
        let trimmed = |s: &str| s.trim().to_owned();
        assert_eq!(a["summary"], trimmed(summary), "{name}: stored as sent");
        assert_eq!(a["source"], trimmed(source), "{name}");
        assert_eq!(a["details"]["custom_details"], event["payload"]["custom_details"], "{name}");
        let inc = incident(&app, str_of(&a, "incident_id")).await;
        let title = str_of(&inc, "title");
        assert!(!title.is_empty() && !title.chars().any(char::is_control), "{name}: title {title:?}");
        // A repeat of the same hostile event is a plain duplicate.
        assert_accepted(&enqueue(&app, &event).await, name);
        assert_eq!(open_alert(&app, &dedup).await["count"], 2, "{name}");
    }
    let r = app.get("/api/v1/alerts?status=open", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(cases.len()));
    // Hostile routing keys are unknown keys, not errors.
    let before = Stored::capture(&app).await;
    let (long, upper) = ("k".repeat(10_000), pd.key.to_uppercase());
    for bad_key in ["' OR '1'='1", "<script>", long.as_str(), "\u{1b}[2J", upper.as_str()] {
        let r = enqueue(&app, &trigger(bad_key, Some("x"), "x", "info")).await;
        assert_invalid(&r, bad_key);
    }
    before.assert_unchanged(&app, "hostile routing keys").await;

    // Events are committed in batches: a hostile event (opening its service's incident, or
    // refused) in the same batch as ordinary ones harms none of them.
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for s in 0..5 {
        let svc = pd_service(&app, &format!("Mixed {s}")).await;
        for n in 0..12 {
            let (summary, expect) = match n % 3 {
                0 => ("\u{1b}[1mboom\u{7}", StatusCode::ACCEPTED),
                1 => ("nul\u{0}", StatusCode::BAD_REQUEST),
                _ => ("ordinary", StatusCode::ACCEPTED),
            };
            let (app, event) = (app.clone(), trigger(&svc.key, Some(&format!("mixed-{s}-{n}")), summary, "error"));
            tasks.push(tokio::spawn(async move { (enqueue(&app, &event).await, expect) }));
        }
    }
    for t in tasks {
        let (r, expect) = t.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, expect, "{}", r.text);
    }
    let mixed = alerts(&app, "").await.into_iter().filter(|a| str_of(a, "dedup_key").starts_with("mixed-")).count();
    assert_eq!(mixed, 5 * 8);
}

/// Change events (`POST /v2/change/enqueue`) follow the same rule on NUL: refused on both
/// backends, nothing recorded; other hostile strings are recorded as sent.
async fn change_events_refuse_nul(app: TestApp) {
    let pd = pd_service(&app, "Deploys").await;
    let change = |summary: &str, details: Value| {
        json!({
            "routing_key": pd.key,
            "payload": {"summary": summary, "timestamp": "2020-07-17T08:42:58.315+0000", "source": "acme-build-pipeline",
                        "custom_details": details},
            "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]
        })
    };
    let post = async |event: Value| {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v2/change/enqueue")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(event.to_string()))
            .unwrap_or_else(|e| panic!("{e}"));
        app.send(req).await
    };
    let changes = async || {
        let r = app.get("/api/v1/changes", &app.viewer.token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["items"].clone()
    };
    let r = post(change("Build \u{1b}[32msucceeded\u{7} <script>", json!({"build_state": "passed"}))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let before = Stored::capture(&app).await;
    let recorded = changes().await;
    assert_eq!(recorded.as_array().map(Vec::len), Some(1), "{recorded}");
    for (name, event) in [
        ("NUL in summary", change("Build\u{0}", json!({}))),
        ("NUL in details", change("Build", json!({"build_state": "pa\u{0}ssed"}))),
        ("NUL in a details key", change("Build", json!({"a\u{0}": 1}))),
    ] {
        let r = post(event).await;
        assert_invalid(&r, name);
        assert_eq!(changes().await, recorded, "{name}: nothing recorded");
        before.assert_unchanged(&app, name).await;
    }
}

/// 200 triggers at once over 10 dedup keys: exactly 10 open alerts, counts summing to 200.
async fn concurrent_triggers_fold_exactly(app: TestApp) {
    let app = Arc::new(app);
    let pd = pd_service(&app, "Busy").await;
    let mut tasks = Vec::new();
    for n in 0..200 {
        let (app, event) = (app.clone(), trigger(&pd.key, Some(&format!("key-{}", n % 10)), "flapping", "error"));
        tasks.push(tokio::spawn(async move { enqueue(&app, &event).await }));
    }
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| panic!("{e}"));
        assert_accepted(&r, "concurrent trigger");
    }
    let open = alerts(&app, "?status=open").await;
    assert_eq!(open.len(), 10, "{open:?}");
    let keys: BTreeSet<&str> = open.iter().map(|a| str_of(a, "dedup_key")).collect();
    assert_eq!(keys.len(), 10);
    assert!(open.iter().all(|a| a["count"] == 20), "{open:?}");
    assert_eq!(open.iter().map(|a| a["count"].as_i64().unwrap_or_default()).sum::<i64>(), 200);
    assert_eq!(alerts(&app, "").await.len(), 10);
    let all = incidents(&app).await;
    assert_eq!(all.len(), 1, "one incident for the service");
    let tl = timeline(&app, str_of(&all[0], "id")).await;
    assert_eq!(tl.iter().filter(|e| *e == "alert:opened").count(), 10);
    // Duplicates of one alert committed together share an entry that says how many they were:
    // every one of the 190 is on the timeline.
    let r = app.get(&format!("/api/v1/incidents/{}/timeline", str_of(&all[0], "id")), &app.viewer.token).await;
    let repeated: Vec<&Value> =
        r.body["items"].as_array().into_iter().flatten().filter(|e| e["change"] == "repeated").collect();
    assert_eq!(repeated.iter().map(|e| e["events"].as_i64().unwrap_or_default()).sum::<i64>(), 190, "{repeated:?}");
    assert!(repeated.iter().all(|e| e["events"].as_i64().is_some_and(|n| n >= 1)));
}

/// A person resolving an alert while its monitoring tool keeps triggering it: the resolve
/// is never undone, and every event is counted exactly once.
async fn api_resolve_racing_triggers_holds(app: TestApp) {
    let app = Arc::new(app);
    let pd = pd_service(&app, "Racy").await;
    for round in 0..8 {
        let key = format!("race-{round}");
        assert_accepted(&enqueue(&app, &trigger(&pd.key, Some(&key), "flapping", "error")).await, "first");
        let first = open_alert(&app, &key).await;
        let id = str_of(&first, "id").to_owned();
        let mut tasks = Vec::new();
        for _ in 0..60 {
            let (app, event) = (app.clone(), trigger(&pd.key, Some(&key), "flapping", "error"));
            tasks.push(tokio::spawn(async move { enqueue(&app, &event).await }));
        }
        let resolver = {
            let app = app.clone();
            let path = format!("/api/v1/alerts/{id}/resolve");
            tokio::spawn(async move { app.call(Method::POST, &path, &app.responder.token, None).await })
        };
        for t in tasks {
            assert_accepted(&t.await.unwrap_or_else(|e| panic!("{e}")), "racing trigger");
        }
        let r = resolver.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let after = alert(&app, &id).await;
        assert_eq!(after["status"], "resolved", "round {round}: the resolve that answered 200 was undone: {after}");
        let same_key: Vec<Value> = alerts(&app, "").await.into_iter().filter(|a| a["dedup_key"] == key).collect();
        let counted: i64 = same_key.iter().map(|a| a["count"].as_i64().unwrap_or_default()).sum();
        assert_eq!(counted, 1 + 60 + 1, "round {round}: every event counted once: {same_key:?}");
        assert!(same_key.iter().filter(|a| a["status"] == "open").count() <= 1);
    }
}

on_both_backends!(
    documented_examples_are_accepted,
    dedup_follows_pagerduty,
    alerts_join_their_services_open_incident,
    alerts_join_an_incident_declared_for_their_service,
    severities_map_onto_incidents,
    auto_resolve_can_be_turned_off,
    integrations_keep_their_own_keys,
    rotated_keys_stop_working,
    alerts_api,
    malformed_events_store_nothing,
    oversized_bodies_are_refused,
    hostile_strings_are_data,
    change_events_refuse_nul,
    concurrent_triggers_fold_exactly,
    api_resolve_racing_triggers_holds,
);

/// Over the per-key rate the endpoint answers 429 with `Retry-After` and stores nothing;
/// other keys are not affected.
async fn rate_limit_refuses_with_retry_after(backend: Backend) {
    let config = ServerConfig { ingest_rate_per_minute: 3, ..Default::default() };
    let Some(app) = TestApp::with_config(backend, config).await else { return };
    let pd = pd_service(&app, "Chatty").await;
    let quiet = pd_service(&app, "Quiet").await;
    for n in 0..3 {
        let key = format!("burst-{n}");
        assert_accepted(&enqueue(&app, &trigger(&pd.key, Some(&key), "burst", "warning")).await, &key);
    }
    let before = Stored::capture(&app).await;
    for event in [trigger(&pd.key, Some("burst-3"), "burst", "warning"), follow_up(&pd.key, "burst-0", "resolve")] {
        let r = enqueue(&app, &event).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
        let retry = r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let secs: u64 = retry.parse().unwrap_or_else(|_| panic!("Retry-After {retry:?} is not a number of seconds"));
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
        assert!(r.body["status"].is_string() && r.body["message"].is_string(), "{}", r.text);
        before.assert_unchanged(&app, "throttled").await;
    }
    assert!(alerts(&app, "").await.iter().all(|a| a["dedup_key"] != "burst-3"));
    assert_eq!(open_alert(&app, "burst-0").await["count"], 1);
    // Another integration key has its own allowance.
    assert_accepted(&enqueue(&app, &trigger(&quiet.key, Some("q"), "quiet", "info")).await, "other key");
    // Invalid events are refused as invalid, not counted as throttled.
    assert_invalid(&enqueue_bytes(&app, "{").await, "bad JSON while throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rate_limit_refuses_with_retry_after() {
    rate_limit_refuses_with_retry_after(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rate_limit_refuses_with_retry_after() {
    rate_limit_refuses_with_retry_after(Backend::Postgres).await;
}
