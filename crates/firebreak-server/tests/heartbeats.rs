//! Heartbeats on an injected clock: beats move the deadline, a missed deadline opens one
//! alert (and incident), the next beat resolves it. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_error};
use serde_json::json;

async fn heartbeat_integration(app: &TestApp) -> (String, String, String) {
    let s = app.post("/api/v1/services", &app.responder.token, json!({"name": "nightly-backup"})).await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.text);
    let sid = s.body["id"].as_str().unwrap_or_default().to_owned();
    let i = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "heartbeat", "name": "backup job"}),
        )
        .await;
    assert_eq!(i.status, StatusCode::CREATED, "{}", i.text);
    let key = i.body["key"].as_str().unwrap_or_default().to_owned();
    assert!(i.body["url"].as_str().is_some_and(|u| u.ends_with(&format!("/ingest/{key}/heartbeat"))), "{}", i.text);
    (sid, i.body["id"].as_str().unwrap_or_default().to_owned(), key)
}

async fn open_alerts(app: &TestApp) -> Vec<serde_json::Value> {
    app.get("/api/v1/alerts?status=open", &app.viewer.token).await.body["items"].as_array().cloned().unwrap_or_default()
}

async fn a_missed_beat_alerts_once_and_the_next_beat_resolves(app: TestApp) {
    let (_sid, iid, key) = heartbeat_integration(&app).await;
    let hb = app.get(&format!("/api/v1/integrations/{iid}/heartbeat"), &app.viewer.token).await;
    assert_eq!(
        (hb.body["interval_seconds"].as_i64(), hb.body["grace_seconds"].as_i64()),
        (Some(300), Some(60)),
        "{}",
        hb.text
    );
    let hb = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{iid}/heartbeat"),
            &app.responder.token,
            Some(json!({"interval_seconds": 60, "grace_seconds": 10})),
        )
        .await;
    assert_eq!(hb.status, StatusCode::OK, "{}", hb.text);

    let beat = app.raw(Method::POST, &format!("/ingest/{key}/heartbeat"), None, None).await;
    assert_eq!((beat.status, beat.body["status"].as_str()), (StatusCode::OK, Some("ok")), "{}", beat.text);
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 0, "not due yet");

    app.clock.advance(chrono::TimeDelta::seconds(69));
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 0, "still within interval plus grace");
    app.clock.advance(chrono::TimeDelta::seconds(2));
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 1, "the deadline passed");
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 0, "a miss fires once");
    let alerts = open_alerts(&app).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["dedup_key"], "heartbeat-missed");
    assert!(alerts[0]["summary"].as_str().is_some_and(|s| s.contains("backup job")), "{}", alerts[0]);
    let incident = app.get("/api/v1/incidents/1", &app.viewer.token).await;
    assert_eq!(
        (incident.body["status"].as_str(), incident.body["severity"].as_str()),
        (Some("triggered"), Some("high")),
        "{}",
        incident.text
    );
    let hb = app.get(&format!("/api/v1/integrations/{iid}/heartbeat"), &app.viewer.token).await;
    assert_eq!(hb.body["missed"], true);

    // A GET beats too (for cron jobs using curl without -X POST).
    let beat = app.raw(Method::GET, &format!("/ingest/{key}/heartbeat"), None, None).await;
    assert_eq!(beat.status, StatusCode::OK);
    assert!(open_alerts(&app).await.is_empty(), "the next beat resolves the alert");
    let incident = app.get("/api/v1/incidents/1", &app.viewer.token).await;
    assert_eq!(incident.body["status"], "resolved", "all alerts resolved: the incident resolves itself");
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 0);

    // A second miss opens a new alert and a new incident.
    app.clock.advance(chrono::TimeDelta::seconds(71));
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 1);
    assert_eq!(open_alerts(&app).await.len(), 1);
    assert_eq!(app.get("/api/v1/incidents/2", &app.viewer.token).await.body["status"], "triggered");
}

async fn a_heartbeat_that_never_starts_is_missed(app: TestApp) {
    heartbeat_integration(&app).await;
    app.clock.advance(chrono::TimeDelta::seconds(361));
    assert_eq!(firebreak_server::engine::tick(&app.state).await, 1);
    assert_eq!(open_alerts(&app).await.len(), 1);
}

async fn bad_heartbeat_requests_change_nothing(app: TestApp) {
    let (sid, iid, _key) = heartbeat_integration(&app).await;
    let r = app.raw(Method::POST, "/ingest/0123456789abcdef0123456789abcdef/heartbeat", None, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = app.raw(Method::POST, "/ingest/x/heartbeat", None, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // A key of another kind of integration is not a heartbeat key.
    let pd = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "pagerduty", "name": "pd"}),
        )
        .await;
    let pd_key = pd.body["key"].as_str().unwrap_or_default().to_owned();
    let r = app.raw(Method::POST, &format!("/ingest/{pd_key}/heartbeat"), None, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    for body in [
        json!({"interval_seconds": 5}),
        json!({"interval_seconds": 60, "grace_seconds": -1}),
        json!({"interval_seconds": 60, "grace_seconds": 100000}),
    ] {
        let r = app
            .call(Method::PUT, &format!("/api/v1/integrations/{iid}/heartbeat"), &app.responder.token, Some(body))
            .await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{iid}/heartbeat"),
            &app.viewer.token,
            Some(json!({"interval_seconds": 60})),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/integrations/{}/heartbeat", uuid::Uuid::new_v4()),
            &app.responder.token,
            Some(json!({"interval_seconds": 60})),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let hb = app.get(&format!("/api/v1/integrations/{iid}/heartbeat"), &app.viewer.token).await;
    assert_eq!((hb.body["interval_seconds"].as_i64(), hb.body["last_beat_at"].is_null()), (Some(300), true));
}

on_both_backends!(
    a_missed_beat_alerts_once_and_the_next_beat_resolves,
    a_heartbeat_that_never_starts_is_missed,
    bad_heartbeat_requests_change_nothing
);
