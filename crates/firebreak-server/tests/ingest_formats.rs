//! Alertmanager, Grafana, Opsgenie, generic webhooks and PagerDuty change events, through
//! real requests with fixtures shaped after each tool's documentation. On both backends.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, TestApp, assert_error};
use serde_json::{Value, json};

async fn integration(app: &TestApp, kind: &str) -> (String, String, String) {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": format!("svc-{kind}")})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": kind, "name": kind}),
        )
        .await;
    assert_eq!(i.status, StatusCode::CREATED, "{}", i.text);
    (sid, i.body["id"].as_str().unwrap_or_default().to_owned(), i.body["key"].as_str().unwrap_or_default().to_owned())
}

async fn send(app: &TestApp, method: Method, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    app.send(req.body(Body::from(body.to_owned())).unwrap_or_else(|e| panic!("{e}"))).await
}

async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/alerts?{query}"), &app.viewer.token).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn alertmanager_payload(status: &str, alerts: Value) -> String {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"InstanceDown\"}", "truncatedAlerts": 0, "status": status,
        "receiver": "firebreak", "groupLabels": {"alertname": "InstanceDown"}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager.example:9093", "alerts": alerts
    })
    .to_string()
}

async fn alertmanager_dedups_by_fingerprint_and_resolves(app: TestApp) {
    let (_, _, key) = integration(&app, "alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    let firing = json!([
        {"status": "firing", "labels": {"alertname": "InstanceDown", "instance": "web-1:9100", "severity": "critical"},
         "annotations": {"summary": "web-1 is down"}, "startsAt": "2026-11-26T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus.example/graph", "fingerprint": "a1b2c3d4e5f60718"},
        {"status": "firing", "labels": {"alertname": "InstanceDown", "instance": "web-2:9100"},
         "annotations": {"summary": "web-2 is down"}, "startsAt": "2026-11-26T10:00:00Z"}
    ]);
    for _ in 0..3 {
        let r = send(&app, Method::POST, &path, None, &alertmanager_payload("firing", firing.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["accepted"], 2);
    }
    let open = alerts(&app, "status=open").await;
    assert_eq!(open.len(), 2, "one alert per fingerprint or label set, however often it is sent");
    assert!(open.iter().all(|a| a["count"] == 3));
    // Same summary, different label set: a different alert — never deduplicated by text.
    let same_text = json!([{"status": "firing", "labels": {"alertname": "InstanceDown", "instance": "web-3:9100"}, "annotations": {"summary": "web-2 is down"}}]);
    send(&app, Method::POST, &path, None, &alertmanager_payload("firing", same_text)).await;
    assert_eq!(alerts(&app, "status=open").await.len(), 3);
    let critical = open.iter().find(|a| a["dedup_key"] == "a1b2c3d4e5f60718").cloned().unwrap_or_default();
    assert_eq!((critical["severity"].as_str(), critical["source"].as_str()), (Some("critical"), Some("web-1:9100")));
    assert_eq!(critical["details"]["labels"]["instance"], "web-1:9100");

    let resolved = json!([{"status": "resolved", "labels": {"alertname": "InstanceDown", "instance": "web-1:9100", "severity": "critical"}, "fingerprint": "a1b2c3d4e5f60718"}]);
    let r = send(&app, Method::POST, &path, None, &alertmanager_payload("resolved", resolved)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(alerts(&app, "status=open").await.len(), 2);
    assert_eq!(alerts(&app, "status=resolved").await.len(), 1);
    let timeline = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await;
    let alert_entries = timeline.body["items"].as_array().map(|a| a.iter().filter(|e| e["kind"] == "alert").count());
    assert_eq!(alert_entries, Some(8), "every alert event is on the incident's timeline");
}

async fn grafana_webhooks_open_alerts(app: TestApp) {
    let (_, _, key) = integration(&app, "grafana").await;
    let payload = json!({
        "receiver": "firebreak", "status": "firing", "orgId": 1, "version": "1", "groupKey": "{}/{}:{}", "truncatedAlerts": 0,
        "title": "[FIRING:1] High CPU", "state": "alerting", "message": "CPU above 90%",
        "groupLabels": {}, "commonLabels": {"alertname": "High CPU"}, "commonAnnotations": {}, "externalURL": "http://grafana.example/",
        "alerts": [{"status": "firing", "labels": {"alertname": "High CPU", "grafana_folder": "Infra", "severity": "warning"},
                    "annotations": {"summary": "CPU above 90% on db-1"}, "startsAt": "2026-11-26T11:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://grafana.example/alerting/grafana/abc/view",
                    "fingerprint": "57c6d9296de2ad39", "silenceURL": "http://grafana.example/alerting/silence/new",
                    "dashboardURL": "", "panelURL": "", "values": {"B": 93.2}, "valueString": "[ var='B' value=93.2 ]"}]
    });
    let r = send(&app, Method::POST, &format!("/ingest/{key}/grafana"), None, &payload.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let open = alerts(&app, "status=open").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["summary"], "High CPU: CPU above 90% on db-1");
    assert_eq!(app.get("/api/v1/incidents/1", &app.viewer.token).await.body["severity"], "medium");
    // A key for another kind of integration is not accepted here.
    let (_, _, am_key) = integration(&app, "alertmanager").await;
    let r = send(&app, Method::POST, &format!("/ingest/{am_key}/grafana"), None, &payload.to_string()).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

async fn webhook_bad_input_stores_nothing(app: TestApp) {
    let (_, _, key) = integration(&app, "alertmanager").await;
    let path = format!("/ingest/{key}/alertmanager");
    for (body, code) in [
        ("not json", "invalid_payload"),
        ("[]", "invalid_payload"),
        (r#"{"alerts": "x"}"#, "invalid_payload"),
        (r#"{"alerts": [{"status": "burning"}]}"#, "invalid_payload"),
        (r#"{"alerts": [{"status": "firing", "labels": ["a"]}]}"#, "invalid_payload"),
    ] {
        let r = send(&app, Method::POST, &path, None, body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, code);
    }
    let r = send(
        &app,
        Method::POST,
        "/ingest/00000000000000000000000000000000/alertmanager",
        None,
        &alertmanager_payload("firing", json!([{"status": "firing", "labels": {"a": "b"}}])),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // PostgreSQL cannot store NUL; it is refused everywhere, the same on both backends.
    let nul = r#"{"alerts": [{"status": "firing", "labels": {"alertname": "a\u0000b"}}]}"#;
    let r = send(&app, Method::POST, &path, None, nul).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_payload");
    let big = format!(r#"{{"alerts": [], "pad": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
    let r = send(&app, Method::POST, &path, None, &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(alerts(&app, "").await.is_empty());
    assert_eq!(app.get("/api/v1/incidents", &app.viewer.token).await.body["items"].as_array().map(Vec::len), Some(0));
}

async fn opsgenie_create_acknowledge_close(app: TestApp) {
    let (_, _, key) = integration(&app, "opsgenie").await;
    let auth = format!("GenieKey {key}");
    let create = json!({"message": "An example alert message", "alias": "Life is too short for no alias",
        "description": "Every alert needs a description", "tags": ["OverwriteQuietHours"], "details": {"key1": "value1"},
        "entity": "An example entity", "priority": "P1", "source": "nagios"});
    for _ in 0..2 {
        let r = send(&app, Method::POST, "/v2/alerts", Some(&auth), &create.to_string()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.body["result"], "Request will be processed");
        assert!(r.body["took"].is_number() && r.body["requestId"].is_string());
    }
    let open = alerts(&app, "status=open").await;
    assert_eq!((open.len(), open[0]["count"].as_i64(), open[0]["severity"].as_str()), (1, Some(2), Some("critical")));
    let id = open[0]["id"].as_str().unwrap_or_default().to_owned();
    let r = send(
        &app,
        Method::POST,
        "/v2/alerts/Life%20is%20too%20short%20for%20no%20alias/acknowledge?identifierType=alias",
        Some(&auth),
        "{}",
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(app.get(&format!("/api/v1/alerts/{id}"), &app.viewer.token).await.body["acknowledged_at"].is_string());
    let r = send(&app, Method::POST, &format!("/v2/alerts/{id}/close"), Some(&auth), r#"{"note":"fixed"}"#).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/alerts/{id}"), &app.viewer.token).await.body["status"], "resolved");

    for (auth, body, status) in [
        (None, create.to_string(), StatusCode::UNAUTHORIZED),
        (Some("GenieKey wrong-key"), create.to_string(), StatusCode::UNAUTHORIZED),
        (Some(auth.as_str()), "{".into(), StatusCode::UNPROCESSABLE_ENTITY),
        (Some(auth.as_str()), json!({"message": ""}).to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        (Some(auth.as_str()), json!({"message": "m".repeat(131)}).to_string(), StatusCode::UNPROCESSABLE_ENTITY),
        (Some(auth.as_str()), json!({"message": "x", "priority": "P0"}).to_string(), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let r = send(&app, Method::POST, "/v2/alerts", auth, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert!(r.body["message"].is_string() && r.body["requestId"].is_string(), "Opsgenie's error shape: {}", r.text);
    }
    assert_eq!(alerts(&app, "").await.len(), 1, "refused requests store nothing");
}

async fn generic_webhook_with_a_mapping(app: TestApp) {
    let (_, iid, key) = integration(&app, "generic").await;
    let mapping = json!({"summary": "{{ check.name }} failed on {{ check.host }}", "dedup_key": "/check/id",
        "severity": "/level", "action": "/state", "source": "/check/host", "details": "/check"});
    let r = app
        .call(Method::PUT, &format!("/api/v1/integrations/{iid}/mapping"), &app.responder.token, Some(mapping))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sample =
        json!({"check": {"id": "ping-web1", "name": "ping", "host": "web1"}, "level": "high", "state": "down"});
    let t = app
        .post(&format!("/api/v1/integrations/{iid}/mapping/test"), &app.viewer.token, json!({"sample": sample}))
        .await;
    assert_eq!(
        (t.status, t.body["summary"].as_str(), t.body["severity"].as_str()),
        (StatusCode::OK, Some("ping failed on web1"), Some("error")),
        "{}",
        t.text
    );
    assert!(alerts(&app, "").await.is_empty(), "testing a mapping stores nothing");

    let r = send(&app, Method::POST, &format!("/ingest/{key}/generic"), None, &sample.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut up = sample.clone();
    up["state"] = json!("up");
    let r = send(&app, Method::POST, &format!("/ingest/{key}/generic"), None, &up.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let all = alerts(&app, "").await;
    assert_eq!((all.len(), all[0]["status"].as_str(), all[0]["count"].as_i64()), (1, Some("resolved"), Some(2)));

    let bad = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{iid}/mapping"),
            &app.responder.token,
            Some(json!({"summary": "{{ nope"})),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let unmappable =
        send(&app, Method::POST, &format!("/ingest/{key}/generic"), None, r#"{"state":"sideways","check":{"id":"x"}}"#)
            .await;
    assert_error(&unmappable, StatusCode::UNPROCESSABLE_ENTITY, "mapping_failed");
    let r = send(&app, Method::POST, &format!("/ingest/{key}/generic"), None, "nope").await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_payload");
    assert_eq!(alerts(&app, "").await.len(), 1);
    let viewer = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{iid}/mapping"),
            &app.viewer.token,
            Some(json!({"summary": "x"})),
        )
        .await;
    assert_error(&viewer, StatusCode::FORBIDDEN, "forbidden");
}

async fn change_events_are_recorded_for_investigation(app: TestApp) {
    let (sid, _, key) = integration(&app, "pagerduty").await;
    let change = json!({"routing_key": key, "payload": {"summary": "Build Success: Increase snapshot create timeout to 30 seconds",
        "timestamp": "2020-07-17T08:42:58.315+0000", "source": "prod-build-agent-i-0b148d1040d565540",
        "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}},
        "links": [{"href": "https://dev.acme.com/build/2", "text": "View more details in Acme!"}]});
    let r = send(&app, Method::POST, "/v2/change/enqueue", None, &change.to_string()).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::ACCEPTED, Some("success")), "{}", r.text);
    let list = app.get(&format!("/api/v1/changes?service_id={sid}"), &app.viewer.token).await;
    let items = list.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["occurred_at"], "2020-07-17T08:42:58.315Z");
    assert_eq!(items[0]["details"]["custom_details"]["build_number"], "2");
    let mut unknown = change.clone();
    unknown["routing_key"] = json!("0000000000000000000000000000000f");
    let r = send(&app, Method::POST, "/v2/change/enqueue", None, &unknown.to_string()).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid event")));
    let r = send(&app, Method::POST, "/v2/change/enqueue", None, r#"{"routing_key":"x","payload":{}}"#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/changes", &app.viewer.token).await.body["items"].as_array().map(Vec::len), Some(1));
    assert!(alerts(&app, "").await.is_empty(), "changes are not alerts");
}

on_both_backends!(
    alertmanager_dedups_by_fingerprint_and_resolves,
    grafana_webhooks_open_alerts,
    webhook_bad_input_stores_nothing,
    opsgenie_create_acknowledge_close,
    generic_webhook_with_a_mapping,
    change_events_are_recorded_for_investigation,
);
