//! The incident API: happy paths and refusals, on both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_error};
use serde_json::json;

async fn declare_and_work_an_incident(app: TestApp) {
    let tok = &app.responder.token;
    let r = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "Checkout down", "severity": "critical", "type": "outage", "summary": "5xx"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for key in ["id", "number", "title", "status", "severity", "type"] {
        assert!(!r.body[key].is_null(), "missing {key}: {}", r.text);
    }
    assert_eq!(
        (r.body["number"].as_i64(), r.body["label"].as_str(), r.body["status"].as_str()),
        (Some(1), Some("INC-1"), Some("triggered"))
    );
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();

    for (path, status) in [
        ("acknowledge", "acknowledged"),
        ("contain", "contained"),
        ("resolve", "resolved"),
        ("reopen", "triggered"),
        ("resolve", "resolved"),
        ("close", "closed"),
    ] {
        let r = app.post(&format!("/api/v1/incidents/INC-1/{path}"), tok, json!({})).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.body["status"], status);
    }
    let r = app.get(&format!("/api/v1/incidents/{id}"), &app.viewer.token).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("closed")));
    assert!(r.body["closed_at"].is_string() && r.body["resolved_at"].is_string());

    let r = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await;
    let kinds: Vec<&str> =
        r.body["items"].as_array().map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect()).unwrap_or_default();
    assert_eq!(
        kinds,
        vec![
            "created",
            "status_changed",
            "status_changed",
            "status_changed",
            "status_changed",
            "status_changed",
            "status_changed"
        ]
    );
    assert_eq!(r.body["items"][1]["actor"]["name"], "responder@example.com");
}

async fn notes_roles_and_edits(app: TestApp) {
    app.declare("Slow search").await;
    let tok = &app.responder.token;
    let r = app.post("/api/v1/incidents/1/notes", tok, json!({"body": "Found the **bad** query"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .call(Method::PUT, "/api/v1/incidents/1/roles/commander", tok, Some(json!({"user_id": app.admin.user.id})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["roles"]["commander"]["name"], "admin@example.com");
    let r = app
        .call(Method::PUT, "/api/v1/incidents/1/roles/commander", tok, Some(json!({"email": "responder@example.com"})))
        .await;
    assert_eq!(r.body["roles"]["commander"]["name"], "responder@example.com", "{}", r.text);
    let r = app
        .call(
            Method::PATCH,
            "/api/v1/incidents/1",
            tok,
            Some(json!({"severity": "low", "type": "degradation", "tags": ["db"]})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["severity"].as_str(), r.body["type"].as_str()),
        (StatusCode::OK, Some("low"), Some("degradation")),
        "{}",
        r.text
    );
    let r = app.get("/api/v1/incidents/1/timeline", tok).await;
    let kinds: Vec<&str> =
        r.body["items"].as_array().map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect()).unwrap_or_default();
    assert_eq!(
        kinds,
        vec![
            "created",
            "note_added",
            "role_assigned",
            "role_assigned",
            "severity_changed",
            "type_changed",
            "tags_changed"
        ]
    );
    assert_eq!(r.body["items"][3]["from"], json!(app.admin.user.id));
}

async fn lists_filter_and_paginate(app: TestApp) {
    for i in 0..5 {
        app.declare(&format!("incident {i}")).await;
    }
    app.post("/api/v1/incidents/2/resolve", &app.responder.token, json!({})).await;
    let r = app.get("/api/v1/incidents?limit=2", &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(r.body["items"][0]["number"], 5);
    let cursor = r.body["next_cursor"].as_str().unwrap_or_default().to_owned();
    let r = app.get(&format!("/api/v1/incidents?limit=2&cursor={cursor}"), &app.viewer.token).await;
    assert_eq!(r.body["items"][0]["number"], 3);
    let r = app.get("/api/v1/incidents?status=resolved", &app.viewer.token).await;
    assert_eq!(
        r.body["items"].as_array().map(|a| a.iter().map(|i| i["number"].as_i64().unwrap_or(0)).collect::<Vec<_>>()),
        Some(vec![2])
    );
    assert!(r.body.get("next_cursor").is_none());
    let r =
        app.get("/api/v1/incidents?status=triggered,acknowledged&severity=high&type=outage", &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(4));
    let r = app.get("/api/v1/incidents?severity=urgent", &app.viewer.token).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_query");
    let r = app.get("/api/v1/incidents?cursor=abc", &app.viewer.token).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_query");
}

async fn wrong_transition_is_409_and_changes_nothing(app: TestApp) {
    app.declare("x").await;
    let r = app.post("/api/v1/incidents/1/reopen", &app.responder.token, json!({})).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_transition");
    let r = app.post("/api/v1/incidents/1/close", &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    for action in ["acknowledge", "contain", "resolve", "close", "reopen"] {
        let r = app.post(&format!("/api/v1/incidents/1/{action}"), &app.responder.token, json!({})).await;
        assert_error(&r, StatusCode::CONFLICT, "invalid_transition");
    }
    let r = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
}

on_both_backends!(
    declare_and_work_an_incident,
    notes_roles_and_edits,
    lists_filter_and_paginate,
    wrong_transition_is_409_and_changes_nothing
);
