//! Classification rules and maintenance windows applied to real ingested events. On both
//! backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_error};
use serde_json::{Value, json};

async fn pagerduty(app: &TestApp) -> (String, String) {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": "storage"})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "pagerduty", "name": "prom"}),
        )
        .await;
    (sid, i.body["key"].as_str().unwrap_or_default().to_owned())
}

async fn trigger(app: &TestApp, key: &str, dedup: &str, summary: &str, severity: &str, custom: Value) -> StatusCode {
    let body = json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
        "payload": {"summary": summary, "source": "db-7", "severity": severity, "custom_details": custom}});
    app.raw(Method::POST, "/v2/enqueue", None, Some(body.to_string())).await.status
}

async fn alerts(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/alerts?{query}"), &app.viewer.token).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    app.get("/api/v1/incidents", &app.viewer.token).await.body["items"].as_array().cloned().unwrap_or_default()
}

async fn rules_classify_new_alerts(app: TestApp) {
    let (sid, key) = pagerduty(&app).await;
    let r = app
        .post("/api/v1/rules", &app.responder.token, json!({
            "name": "disk alerts are security-sensitive", "service_id": sid, "position": 1,
            "conditions": [{"field": "summary", "op": "regex", "value": "(?i)disk"}, {"field": "details.custom_details.env", "op": "one_of", "value": ["prod", "dr"]}],
            "actions": {"severity": "critical", "type": "degradation", "tags": ["disk"]}
        }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rule_id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let r = app.post("/api/v1/rules", &app.responder.token, json!({"name": "drop test noise", "conditions": [{"field": "source", "op": "equals", "value": "test-host"}], "actions": {"drop": true}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    assert_eq!(
        trigger(&app, &key, "d1", "Disk 97% on db-7", "warning", json!({"env": "prod"})).await,
        StatusCode::ACCEPTED
    );
    let incident = &incidents(&app).await[0];
    assert_eq!(
        (incident["severity"].as_str(), incident["type"].as_str()),
        (Some("critical"), Some("degradation")),
        "{incident}"
    );
    assert_eq!(incident["tags"], json!(["disk"]));
    let alert = &alerts(&app, "").await[0];
    assert_eq!(alert["details"]["matched_rule"]["id"], json!(rule_id), "the alert shows which rule matched: {alert}");

    // Dropped: accepted as PagerDuty would, stored nowhere.
    let body = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "noise", "payload": {"summary": "x", "source": "test-host", "severity": "info"}});
    let r = app.raw(Method::POST, "/v2/enqueue", None, Some(body.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(alerts(&app, "").await.len(), 1);

    let listed = app.get("/api/v1/rules", &app.viewer.token).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(2));
    let r = app.call(Method::DELETE, &format!("/api/v1/rules/{rule_id}"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.call(Method::DELETE, &format!("/api/v1/rules/{rule_id}"), &app.responder.token, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

async fn windows_suppress_matching_alerts(app: TestApp) {
    let (_sid, key) = pagerduty(&app).await;
    let now = chrono::Utc::now();
    let w = app
        .post("/api/v1/maintenance-windows", &app.responder.token, json!({
            "name": "db-7 upgrade", "conditions": [{"field": "source", "op": "equals", "value": "db-7"}],
            "starts_at": (now - chrono::TimeDelta::minutes(5)).to_rfc3339(), "ends_at": (now + chrono::TimeDelta::hours(1)).to_rfc3339()
        }))
        .await;
    assert_eq!((w.status, w.body["active"].as_bool()), (StatusCode::CREATED, Some(true)), "{}", w.text);
    for _ in 0..3 {
        assert_eq!(trigger(&app, &key, "up1", "db-7 restarting", "critical", json!({})).await, StatusCode::ACCEPTED);
    }
    let suppressed = alerts(&app, "status=suppressed").await;
    assert_eq!(suppressed.len(), 1, "duplicates fold into the suppressed alert");
    assert_eq!(suppressed[0]["count"], 3);
    assert_eq!(suppressed[0]["details"]["suppressed_by"]["name"], "db-7 upgrade");
    assert!(suppressed[0]["incident_id"].is_null());
    assert!(incidents(&app).await.is_empty(), "suppressed alerts open no incident");
    assert!(alerts(&app, "status=open").await.is_empty());

    // A future window does not suppress.
    let id = w.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        app.call(Method::DELETE, &format!("/api/v1/maintenance-windows/{id}"), &app.responder.token, None).await.status,
        StatusCode::NO_CONTENT
    );
    app.post("/api/v1/maintenance-windows", &app.responder.token, json!({
        "name": "tomorrow", "starts_at": (now + chrono::TimeDelta::days(1)).to_rfc3339(), "ends_at": (now + chrono::TimeDelta::days(1) + chrono::TimeDelta::hours(1)).to_rfc3339()
    })).await;
    assert_eq!(trigger(&app, &key, "other", "db-7 slow", "error", json!({})).await, StatusCode::ACCEPTED);
    assert_eq!(alerts(&app, "status=open").await.len(), 1);
    assert_eq!(incidents(&app).await.len(), 1);
    let windows = app.get("/api/v1/maintenance-windows", &app.viewer.token).await;
    assert_eq!(windows.body["items"][0]["active"], false);
}

async fn bad_rules_and_windows_are_refused(app: TestApp) {
    let tok = &app.responder.token;
    let now = chrono::Utc::now();
    for body in [
        json!({"name": "x", "conditions": [], "actions": {}}),
        json!({"name": "x", "conditions": [{"field": "bogus", "op": "exists"}], "actions": {"drop": true}}),
        json!({"name": "x", "conditions": [{"field": "summary", "op": "regex", "value": "("}], "actions": {"drop": true}}),
        json!({"name": "", "actions": {"drop": true}}),
        json!({"name": "x", "service_id": uuid::Uuid::new_v4(), "actions": {"drop": true}}),
    ] {
        let r = app.post("/api/v1/rules", tok, body.clone()).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app.post("/api/v1/rules", tok, json!({"name": "x", "actions": {"severity": "urgent"}})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let r = app.post("/api/v1/maintenance-windows", tok, json!({"name": "x", "starts_at": now.to_rfc3339(), "ends_at": (now - chrono::TimeDelta::hours(1)).to_rfc3339()})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post("/api/v1/maintenance-windows", tok, json!({"name": "x", "starts_at": now.to_rfc3339(), "ends_at": (now + chrono::TimeDelta::hours(30)).to_rfc3339(), "recurrence": "daily"})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post("/api/v1/rules", &app.viewer.token, json!({"name": "x", "actions": {"drop": true}})).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/api/v1/rules", tok).await.body["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(app.get("/api/v1/maintenance-windows", tok).await.body["items"].as_array().map(Vec::len), Some(0));
}

async fn services_can_group_alerts_by_labels(app: TestApp) {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": "k8s"})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(s.body["grouping"], json!({"by": "service"}));
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/services/{sid}"),
            &app.responder.token,
            Some(json!({"grouping": {"by": "labels", "labels": ["alertname"], "window_secs": 600}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bad = app
        .call(
            Method::PATCH,
            &format!("/api/v1/services/{sid}"),
            &app.responder.token,
            Some(json!({"grouping": {"by": "labels", "labels": [], "window_secs": 600}})),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "alertmanager", "name": "am"}),
        )
        .await;
    let key = i.body["key"].as_str().unwrap_or_default().to_owned();
    let send = |alertname: &str, instance: &str| {
        json!({"alerts": [{"status": "firing", "labels": {"alertname": alertname, "instance": instance}, "annotations": {}}]}).to_string()
    };
    for (name, inst) in [("Down", "a"), ("Down", "b"), ("HighCPU", "a")] {
        let r = app.raw(Method::POST, &format!("/ingest/{key}/alertmanager"), None, Some(send(name, inst))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let incidents = incidents(&app).await;
    assert_eq!(incidents.len(), 2, "one incident per alertname");
    let all = alerts(&app, "").await;
    let incident_of = |name: &str, inst: &str| {
        all.iter()
            .find(|a| a["details"]["labels"]["alertname"] == name && a["details"]["labels"]["instance"] == inst)
            .map(|a| a["incident_id"].clone())
    };
    assert_eq!(incident_of("Down", "a"), incident_of("Down", "b"));
    assert_ne!(incident_of("Down", "a"), incident_of("HighCPU", "a"));
}

/// A service that groups by labels: while a person's declared incident for it is open, every
/// alert of the service joins that incident; once it resolves, alerts group by label again.
async fn grouped_alerts_join_the_incident_declared_for_their_service(app: TestApp) {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": "k8s"})).await;
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let grouping = json!({"grouping": {"by": "labels", "labels": ["alertname"], "window_secs": 600}});
    let r = app.call(Method::PATCH, &format!("/api/v1/services/{sid}"), &app.responder.token, Some(grouping)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "alertmanager", "name": "am"}),
        )
        .await;
    let key = i.body["key"].as_str().unwrap_or_default().to_owned();
    let declared = app
        .post(
            "/api/v1/incidents",
            &app.responder.token,
            json!({"title": "Cluster trouble", "severity": "high", "type": "outage", "services": ["k8s"]}),
        )
        .await;
    assert_eq!(declared.body["service_id"].as_str(), Some(sid.as_str()), "{}", declared.text);
    let send = |alertname: &str| {
        json!({"alerts": [{"status": "firing", "labels": {"alertname": alertname, "instance": "a"}, "annotations": {}}]}).to_string()
    };
    for name in ["Down", "HighCPU"] {
        let r = app.raw(Method::POST, &format!("/ingest/{key}/alertmanager"), None, Some(send(name))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(incidents(&app).await.len(), 1, "both alerts joined the declared incident");
    assert!(alerts(&app, "").await.iter().all(|a| a["incident_id"] == declared.body["id"]));
    let r = app.post("/api/v1/incidents/INC-1/resolve", &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for name in ["DiskFull", "DiskFull", "OOM"] {
        let r = app.raw(Method::POST, &format!("/ingest/{key}/alertmanager"), None, Some(send(name))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(incidents(&app).await.len(), 3, "grouped by label again: one incident per alertname");
}

on_both_backends!(
    grouped_alerts_join_the_incident_declared_for_their_service,
    services_can_group_alerts_by_labels,
    rules_classify_new_alerts,
    windows_suppress_matching_alerts,
    bad_rules_and_windows_are_refused
);
