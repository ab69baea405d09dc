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

fn kinds_of(timeline: &serde_json::Value) -> Vec<String> {
    timeline["items"].as_array().into_iter().flatten().filter_map(|e| e["kind"].as_str().map(str::to_owned)).collect()
}

/// An alert for a service joins the incident declared by hand for that service; it moves to
/// another incident and off it; a duplicate incident is merged into the one that goes on.
/// Every refusal is a clear 4xx and changes nothing.
async fn alerts_join_move_and_incidents_merge(app: TestApp) {
    let (tok, viewer) = (&app.responder.token, &app.viewer.token);
    let (_, key) = app.pagerduty_service("checkout").await;
    let declared = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "Checkout errors", "severity": "high", "type": "outage", "services": ["Checkout"]}),
        )
        .await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text);
    let first_id = declared.body["id"].as_str().unwrap_or_default().to_owned();
    app.trigger(&key, "http-5xx", "5xx above 2%").await;
    let alerts = app.get("/api/v1/alerts", tok).await;
    let alert = alerts.body["items"][0].clone();
    assert_eq!(alert["incident_id"].as_str(), Some(first_id.as_str()), "the alert joined the declared incident");
    assert_eq!(app.get("/api/v1/incidents", tok).await.body["items"].as_array().map(Vec::len), Some(1));
    let alert_id = alert["id"].as_str().unwrap_or_default().to_owned();

    let second = app.declare("Payments failing").await;
    let second_id = second["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        app.post("/api/v1/incidents/INC-2/notes", tok, json!({"body": "card declines up"})).await.status,
        StatusCode::CREATED
    );

    // Attach: refusals first.
    let attach = format!("/api/v1/alerts/{alert_id}/attach");
    assert_error(&app.post(&attach, viewer, json!({"incident": "INC-2"})).await, StatusCode::FORBIDDEN, "forbidden");
    for (body, code) in [
        ("{\"incident\": ", "malformed_json"),
        ("{\"incident\": 2}", "invalid_body"),
        ("{\"incident\": \"INC-2\", \"force\": true}", "invalid_body"),
        ("{\"incident\": \"INC-99\"}", "validation_failed"),
        ("{\"incident\": \"<script>alert(1)</script>\"}", "validation_failed"),
    ] {
        let r = app.raw(Method::POST, &attach, Some(tok), Some(body.to_owned())).await;
        assert!(r.status.is_client_error(), "{body}: {}", r.text);
        assert_eq!(r.body["error"]["code"].as_str(), Some(code), "{body}: {}", r.text);
        assert!(!r.text.contains("<script>"), "the hostile string is not echoed: {}", r.text);
    }
    let nobody = format!("/api/v1/alerts/{}/attach", uuid::Uuid::new_v4());
    assert_error(&app.post(&nobody, tok, json!({"incident": "INC-2"})).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get(&format!("/api/v1/alerts/{alert_id}"), tok).await.body["incident_id"].as_str(),
        Some(first_id.as_str())
    );

    let r = app.post(&attach, tok, json!({"incident": "INC-2"})).await;
    assert_eq!((r.status, r.body["incident_id"].as_str()), (StatusCode::OK, Some(second_id.as_str())), "{}", r.text);
    let first_timeline = app.get("/api/v1/incidents/INC-1/timeline", viewer).await.body;
    assert_eq!(kinds_of(&first_timeline).last().map(String::as_str), Some("alert_detached"));
    assert_eq!(
        first_timeline["items"].as_array().and_then(|a| a.last()).map(|e| e["moved_to"].clone()),
        Some(json!(2))
    );
    let second_timeline = app.get("/api/v1/incidents/INC-2/timeline", viewer).await.body;
    assert_eq!(kinds_of(&second_timeline).last().map(String::as_str), Some("alert_attached"));

    let detach = format!("/api/v1/alerts/{alert_id}/detach");
    assert_error(&app.post(&detach, viewer, json!({})).await, StatusCode::FORBIDDEN, "forbidden");
    for _ in 0..2 {
        let r = app.post(&detach, tok, json!({})).await;
        assert_eq!((r.status, r.body["incident_id"].is_null()), (StatusCode::OK, true), "{}", r.text);
    }
    let detached = app.get("/api/v1/incidents/INC-2/timeline", viewer).await.body;
    assert_eq!(kinds_of(&detached).iter().filter(|k| *k == "alert_detached").count(), 1, "a second detach is a no-op");
    assert_eq!(app.post(&attach, tok, json!({"incident": "2"})).await.status, StatusCode::OK);

    // Merge INC-2 into INC-1.
    let merge = "/api/v1/incidents/INC-2/merge";
    assert_error(&app.post(merge, viewer, json!({"into": "INC-1"})).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(
        &app.post(merge, tok, json!({"into": "INC-2"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post(merge, tok, json!({"into": "x".repeat(100_000)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post("/api/v1/incidents/INC-77/merge", tok, json!({"into": "INC-1"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let second_before =
        app.get("/api/v1/incidents/INC-2/timeline", viewer).await.body["items"].as_array().map(Vec::len).unwrap_or(0);
    let r = app.post(merge, tok, json!({"into": first_id})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["alerts"].as_u64(), r.body["entries"].as_u64()), (Some(1), Some(second_before as u64)));
    assert_eq!(
        (r.body["from"]["status"].as_str(), r.body["from"]["merged_into"].as_str()),
        (Some("resolved"), Some(first_id.as_str()))
    );
    assert!(!r.body["from"]["allowed_actions"].as_array().into_iter().flatten().any(|a| a == "reopen"), "{}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/alerts/{alert_id}"), tok).await.body["incident_id"].as_str(),
        Some(first_id.as_str())
    );
    let merged = app.get("/api/v1/incidents/INC-1/timeline", viewer).await.body;
    let copied = merged["items"].as_array().into_iter().flatten().filter(|e| e["from_number"] == 2).count();
    assert_eq!(copied, second_before, "INC-2's timeline is carried over, each entry marked");
    assert!(
        merged["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["from_number"] == 2 && e["body"] == "card declines up")
    );
    assert_eq!(kinds_of(&merged).last().map(String::as_str), Some("merged_from"));
    let export = app.get("/api/v1/incidents/INC-1/timeline/export", viewer).await;
    assert!(
        export.text.contains("| (from INC-2) added a note |"),
        "the export says where entries came from: {}",
        export.text
    );
    assert_eq!(
        kinds_of(&app.get("/api/v1/incidents/INC-2/timeline", viewer).await.body).last().map(String::as_str),
        Some("merged_into")
    );

    // Refused afterwards: nothing changes.
    let after = merged["items"].as_array().map(Vec::len);
    assert_error(
        &app.post(merge, tok, json!({"into": "INC-1"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post("/api/v1/incidents/INC-2/reopen", tok, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post("/api/v1/incidents/INC-1/merge", tok, json!({"into": "INC-2"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.post(&attach, tok, json!({"incident": "INC-2"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(app.get("/api/v1/incidents/INC-1/timeline", viewer).await.body["items"].as_array().map(Vec::len), after);
    let audit = app.get("/api/v1/audit?limit=200", &app.admin.token).await;
    for action in ["alert.attach", "alert.detach", "incident.merge", "incident.merge_in"] {
        assert!(audit.text.contains(&format!("\"{action}\"")), "{action} is audited: {}", audit.text);
    }
}

/// Services typed before the catalog had them stay free text; naming a catalog service in an
/// edit makes the incident that service's, and its alerts join it. One already belonging to a
/// service keeps it.
async fn editing_services_links_the_catalog_service(app: TestApp) {
    let tok = &app.responder.token;
    let declared = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "Billing slow", "severity": "high", "type": "outage", "services": ["billing"]}),
        )
        .await;
    assert_eq!(declared.body["service_id"], serde_json::Value::Null, "not in the catalog yet");
    let (_, key) = app.pagerduty_service("billing").await;
    // The same name again, now that the catalog has the service: it links.
    let r = app.call(Method::PATCH, "/api/v1/incidents/INC-1", tok, Some(json!({"services": ["billing"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let billing = r.body["service_id"].as_str().unwrap_or_default().to_owned();
    assert!(!billing.is_empty(), "re-saving the same services links the catalog service: {}", r.text);
    let r = app
        .call(Method::PATCH, "/api/v1/incidents/INC-1", tok, Some(json!({"services": ["Billing", "ledger-db"]})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["service_id"].as_str(), Some(billing.as_str()));
    app.trigger(&key, "slow", "p99 above 2 s").await;
    let alerts = app.get("/api/v1/alerts", tok).await;
    assert_eq!(alerts.body["items"][0]["incident_id"], declared.body["id"], "{}", alerts.text);
    app.pagerduty_service("ledger-db").await;
    let r = app.call(Method::PATCH, "/api/v1/incidents/INC-1", tok, Some(json!({"services": ["ledger-db"]}))).await;
    assert_eq!(r.body["service_id"].as_str(), Some(billing.as_str()), "it keeps the service it belongs to");
    let r = app.call(Method::PATCH, "/api/v1/incidents/INC-1", tok, Some(json!({"services": [""]}))).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

on_both_backends!(
    editing_services_links_the_catalog_service,
    alerts_join_move_and_incidents_merge,
    declare_and_work_an_incident,
    notes_roles_and_edits,
    lists_filter_and_paginate,
    wrong_transition_is_409_and_changes_nothing
);
