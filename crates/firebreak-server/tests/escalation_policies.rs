//! Escalation policies through the API: stored, previewed step by step with the people each
//! step pages, pointed to by services, and refused when they cannot work. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_error};
use serde_json::{Value, json};

/// A schedule with the responder on call from 2026-03-02 on (weekly, alone).
async fn schedule(app: &TestApp) -> String {
    let r = app
        .post(
            "/api/v1/schedules",
            &app.responder.token,
            json!({"name": "primary", "time_zone": "Europe/Berlin", "layers": [{"name": "primary",
                "members": [app.responder.user.id], "rotation_length": 1, "rotation_unit": "weeks",
                "starts_at": "2026-03-02T09:00"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap_or_default().to_owned()
}

/// The schedule first, then the admin and the viewer in turn after 5 minutes, waiting 10;
/// the whole policy twice.
fn policy(app: &TestApp, schedule: &str, name: &str) -> Value {
    json!({
        "name": name,
        "levels": [
            {"targets": [{"type": "schedule", "id": schedule}], "delay_minutes": 5},
            {"targets": [{"type": "user", "id": app.admin.user.id}, {"type": "user", "id": app.viewer.user.id}],
             "round_robin": true, "delay_minutes": 10}
        ],
        "repeat": 1
    })
}

async fn policies_are_stored_previewed_and_used_by_services(app: TestApp) {
    let sid = schedule(&app).await;
    let r = app.post("/api/v1/escalation-policies", &app.responder.token, policy(&app, &sid, "databases")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(r.body["repeat"], 1);
    assert_eq!(r.body["levels"][1]["round_robin"], true);

    let r =
        app.get(&format!("/api/v1/escalation-policies/{id}/plan?start=2026-03-03T10:00:00Z"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let steps = r.body["items"].as_array().cloned().unwrap_or_default();
    let times: Vec<&str> = steps.iter().filter_map(|s| s["due_at"].as_str()).collect();
    assert_eq!(times, ["2026-03-03T10:00:00Z", "2026-03-03T10:05:00Z", "2026-03-03T10:15:00Z", "2026-03-03T10:20:00Z"]);
    let levels: Vec<(u64, u64)> =
        steps.iter().map(|s| (s["cycle"].as_u64().unwrap_or(9), s["level"].as_u64().unwrap_or(9))).collect();
    assert_eq!(levels, [(0, 0), (0, 1), (1, 0), (1, 1)]);
    let first = &steps[0]["pages"][0];
    assert_eq!(first["user_id"], app.responder.user.id.to_string(), "the schedule's on-call person: {first}");
    assert_eq!(first["source"], json!({"kind": "layer", "index": 0}));
    assert_eq!(steps[1]["pages"][1]["name"], app.viewer.user.name);

    // A service points to it; the policy cannot go while it does.
    let r = app.post("/api/v1/services", &app.responder.token, json!({"name": "db", "escalation_policy_id": id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["escalation_policy_id"], id.as_str());
    let service = r.body["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/escalation-policies/{id}");
    assert_error(&app.call(Method::DELETE, &path, &app.responder.token, None).await, StatusCode::CONFLICT, "conflict");
    let r = app
        .call(Method::PATCH, &format!("/api/v1/services/{service}"), &app.responder.token, Some(json!({"name": "db2"})))
        .await;
    assert_eq!(r.body["escalation_policy_id"], id.as_str(), "omitted: kept");
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/services/{service}"),
            &app.responder.token,
            Some(json!({"escalation_policy_id": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["escalation_policy_id"], Value::Null, "null: unset");

    // Replaced, then deleted.
    let mut changed = policy(&app, &sid, "databases (nights)");
    changed["repeat"] = json!(0);
    let r = app.call(Method::PUT, &path, &app.responder.token, Some(changed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["name"].as_str(), r.body["repeat"].as_u64()), (Some("databases (nights)"), Some(0)));
    assert_eq!(app.call(Method::DELETE, &path, &app.responder.token, None).await.status, StatusCode::NO_CONTENT);
    assert_error(&app.get(&path, &app.viewer.token).await, StatusCode::NOT_FOUND, "not_found");
    let audit = app.get("/api/v1/audit", &app.admin.token).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for action in ["escalation_policy.create", "escalation_policy.update", "escalation_policy.delete"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

async fn bad_policies_are_refused_and_change_nothing(app: TestApp) {
    let sid = schedule(&app).await;
    let token = &app.responder.token;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut p = policy(&app, &sid, "bad");
        change(&mut p);
        p
    };
    let nil = uuid::Uuid::nil();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (with(&|p| p["levels"] = json!([])), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (with(&|p| p["levels"][0]["delay_minutes"] = json!(0)), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            with(&|p| p["levels"][0]["delay_minutes"] = json!(1441)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (with(&|p| p["repeat"] = json!(10)), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (with(&|p| p["levels"][0]["targets"] = json!([])), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            with(&|p| p["levels"][0]["targets"] = json!([{"type": "user", "id": nil}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            with(&|p| p["levels"][0]["targets"] = json!([{"type": "schedule", "id": nil}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            with(&|p| p["levels"][0]["targets"] = json!([{"type": "team", "id": nil}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (with(&|p| p["levels"][0]["delay_minutes"] = json!("5")), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (with(&|p| p["levels"][0]["wait"] = json!(5)), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (with(&|p| p["name"] = json!("")), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (body, status, code) in cases {
        assert_error(&app.post("/api/v1/escalation-policies", token, body).await, status, code);
    }
    assert_error(
        &app.post("/api/v1/escalation-policies", &app.viewer.token, policy(&app, &sid, "viewer's")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(app.get("/api/v1/escalation-policies", &app.viewer.token).await.body["items"], json!([]));

    let r = app.post("/api/v1/escalation-policies", token, policy(&app, &sid, "once")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_error(
        &app.post("/api/v1/escalation-policies", token, policy(&app, &sid, "once")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    for path in
        ["/api/v1/escalation-policies/nope", &format!("/api/v1/escalation-policies/{}/plan", uuid::Uuid::now_v7())]
    {
        assert_error(&app.get(path, &app.viewer.token).await, StatusCode::NOT_FOUND, "not_found");
    }
    let id = r.body["id"].as_str().unwrap_or_default();
    assert_error(
        &app.get(&format!("/api/v1/escalation-policies/{id}/plan?start=soon"), &app.viewer.token).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    let r = app.post("/api/v1/services", token, json!({"name": "x", "escalation_policy_id": nil})).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(app.get("/api/v1/services", &app.viewer.token).await.body["items"], json!([]), "no service was made");
}

on_both_backends!(policies_are_stored_previewed_and_used_by_services, bad_policies_are_refused_and_change_nothing);
