//! On-call schedules through the API: who is on call at an instant and over a range (across a
//! DST change), overrides, and the errors bad requests get. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, assert_error};
use serde_json::{Value, json};

/// A weekly rotation of the responder and the viewer in New York, handing off Mondays at
/// 09:00, with the admin on a business-hours layer on top for the first week of March only
/// (by an override-free restriction) and as the fallback.
fn definition(app: &TestApp, name: &str) -> Value {
    json!({
        "name": name,
        "description": "database on-call",
        "time_zone": "America/New_York",
        "layers": [
            {"name": "primary", "members": [app.responder.user.id, app.viewer.user.id],
             "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2026-03-02T09:00"},
            {"name": "day desk", "members": [app.admin.user.id],
             "rotation_length": 1, "rotation_unit": "days", "starts_at": "2026-03-02T00:00",
             "restrictions": [{"kind": "daily", "start": "12:00", "end": "13:00"}]}
        ],
        "fallback": app.admin.user.id
    })
}

async fn create(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/v1/schedules", &app.responder.token, definition(app, name)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn on_call_at(app: &TestApp, id: &str, at: &str) -> Value {
    let r = app.get(&format!("/api/v1/schedules/{id}/on-call?at={}", common::urlencode(at)), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["on_call"].clone()
}

async fn schedules_answer_who_is_on_call(app: TestApp) {
    let id = create(&app, "databases").await;
    let responder = app.responder.user.id.to_string();
    let viewer = app.viewer.user.id.to_string();
    let admin = app.admin.user.id.to_string();

    // 09:00 EST on Monday 2 March is 14:00 UTC.
    assert_eq!(on_call_at(&app, &id, "2026-03-02T13:59:59Z").await["user_id"], admin, "the fallback before the start");
    let first = on_call_at(&app, &id, "2026-03-02T14:00:00Z").await;
    assert_eq!(first["user_id"], responder);
    assert_eq!(first["name"], app.responder.user.name);
    assert_eq!(first["source"], json!({"kind": "layer", "index": 0}));
    // Noon to one in New York, the day desk layer (higher) wins.
    assert_eq!(on_call_at(&app, &id, "2026-03-03T17:30:00Z").await["user_id"], admin);
    // DST starts on 8 March: the Monday 9 March hand-off is at 09:00 EDT = 13:00 UTC.
    assert_eq!(on_call_at(&app, &id, "2026-03-09T12:59:59Z").await["user_id"], responder);
    assert_eq!(on_call_at(&app, &id, "2026-03-09T13:00:00Z").await["user_id"], viewer);

    let r = app
        .get(
            &format!("/api/v1/schedules/{id}/shifts?from=2026-03-07T00:00:00Z&to=2026-03-10T00:00:00Z"),
            &app.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let shifts: Vec<(String, String, String)> = r.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&s["start"]), text(&s["end"]), text(&s["on_call"]["user_id"]))
        })
        .collect();
    let expected = [
        ("2026-03-07T00:00:00Z", "2026-03-07T17:00:00Z", &responder),
        ("2026-03-07T17:00:00Z", "2026-03-07T18:00:00Z", &admin),
        ("2026-03-07T18:00:00Z", "2026-03-08T16:00:00Z", &responder),
        // After the change noon EDT is 16:00 UTC.
        ("2026-03-08T16:00:00Z", "2026-03-08T17:00:00Z", &admin),
        ("2026-03-08T17:00:00Z", "2026-03-09T13:00:00Z", &responder),
        ("2026-03-09T13:00:00Z", "2026-03-09T16:00:00Z", &viewer),
        ("2026-03-09T16:00:00Z", "2026-03-09T17:00:00Z", &admin),
        ("2026-03-09T17:00:00Z", "2026-03-10T00:00:00Z", &viewer),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).clone())).collect();
    assert_eq!(shifts, expected);

    // Everyone can see who is on call now, in the list and per schedule.
    let r = app.get("/api/v1/oncall", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mine = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["schedule_name"], "databases");
    let now = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await;
    assert_eq!(now.status, StatusCode::OK);
    assert_eq!(now.body["time_zone"], "America/New_York");
    assert_eq!(now.body["on_call_now"]["user_id"], mine[0]["on_call"]["user_id"]);
    assert!(now.body["on_call_now"]["user_id"].is_string(), "someone is always on call: there is a fallback");
}

/// Adds an override as the responder; it must be taken.
async fn add_override(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

async fn overrides_put_someone_else_on_call(app: TestApp) {
    let id = create(&app, "payments").await;
    let admin = app.admin.user.id.to_string();
    let viewer = app.viewer.user.id.to_string();
    let path = format!("/api/v1/schedules/{id}/overrides");
    // The viewer covers the responder's Wednesday afternoon (a year after the start: the
    // responder's week again). Overrides are in the future: past ones expire.
    add_override(
        &app,
        &path,
        json!({"user": viewer, "replaces": app.responder.user.id,
            "start": "2027-03-03T18:00:00Z", "end": "2027-03-03T22:00:00Z"}),
    )
    .await;
    // The admin takes Thursday evening whoever is on call.
    let body = add_override(
        &app,
        &path,
        json!({"user": admin, "start": "2027-03-04T22:00:00Z", "end": "2027-03-05T02:00:00Z"}),
    )
    .await;
    assert_eq!(body["overrides"].as_array().map(Vec::len), Some(2), "both overrides are kept");

    let o = on_call_at(&app, &id, "2027-03-03T19:00:00Z").await;
    assert_eq!(
        (o["user_id"].as_str(), o["source"].clone()),
        (Some(viewer.as_str()), json!({"kind": "override", "index": 0}))
    );
    assert_eq!(on_call_at(&app, &id, "2027-03-03T22:00:00Z").await["user_id"], app.responder.user.id.to_string());
    assert_eq!(on_call_at(&app, &id, "2027-03-05T01:00:00Z").await["user_id"], admin);

    // Overrides long over are dropped when the next one is added.
    add_override(&app, &path, json!({"user": admin, "start": "2020-01-01T00:00:00Z", "end": "2020-01-02T00:00:00Z"}))
        .await;
    let body = add_override(
        &app,
        &path,
        json!({"user": admin, "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}),
    )
    .await;
    let starts: Vec<&str> = body["overrides"]
        .as_array()
        .map(|o| o.iter().filter_map(|o| o["start"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(starts.len(), 3, "{starts:?}");
    assert!(starts.iter().all(|s| !s.starts_with("2020")), "{starts:?}");

    // Viewers read but do not change schedules.
    let r = app
        .post(
            &path,
            &app.viewer.token,
            json!({"user": admin, "start": "2027-03-04T22:00:00Z", "end": "2027-03-05T02:00:00Z"}),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
}

async fn schedules_are_changed_and_deleted(app: TestApp) {
    let id = create(&app, "edge").await;
    let mut changed = definition(&app, "edge network");
    changed["layers"] = json!([{"name": "solo", "members": [app.viewer.user.id], "rotation_length": 12,
        "rotation_unit": "hours", "starts_at": "2026-01-01T00:00"}]);
    let r = app.call(Method::PUT, &format!("/api/v1/schedules/{id}"), &app.responder.token, Some(changed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "edge network");
    assert_eq!(on_call_at(&app, &id, "2026-06-01T12:00:00Z").await["user_id"], app.viewer.user.id.to_string());

    let audit = app.get("/api/v1/audit", &app.admin.token).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(actions.contains(&"schedule.create") && actions.contains(&"schedule.update"), "{actions:?}");

    let r = app.call(Method::DELETE, &format!("/api/v1/schedules/{id}"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_error(
        &app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let r = app.call(Method::DELETE, &format!("/api/v1/schedules/{id}"), &app.responder.token, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

async fn bad_schedule_requests_change_nothing(app: TestApp) {
    let token = &app.responder.token;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut d = definition(&app, "bad");
        change(&mut d);
        d
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (with(&|d| d["time_zone"] = json!("Mars/Olympus_Mons")), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (with(&|d| d["layers"][0]["members"] = json!([])), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            with(&|d| d["layers"][0]["members"] = json!([uuid::Uuid::nil()])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            with(&|d| d["layers"][0]["rotation_length"] = json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (with(&|d| d["layers"][0]["rotation_length"] = json!(-1)), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            with(&|d| d["layers"][0]["rotation_unit"] = json!("fortnights")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with(&|d| d["layers"][0]["starts_at"] = json!("next monday")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with(&|d| d["layers"][1]["restrictions"][0]["end"] = json!("25:00")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (with(&|d| d["surprise"] = json!(true)), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (with(&|d| d["name"] = json!("   ")), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (with(&|d| d["fallback"] = json!(42)), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let r = app.post("/api/v1/schedules", token, body.clone()).await;
        assert_error(&r, status, code);
        assert!(!r.text.contains("panicked"), "{body}");
    }
    let r = app.raw(Method::POST, "/api/v1/schedules", Some(token), Some("{\"name\": ".into())).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    assert_error(
        &app.post("/api/v1/schedules", &app.viewer.token, definition(&app, "nope")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let listed = app.get("/api/v1/schedules", &app.viewer.token).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored: {}", listed.text);

    // A hostile name is kept as text, and a second schedule with the same name is a conflict.
    let hostile = "<script>alert('x')</script> \u{202e} 💥";
    let id = create(&app, hostile).await;
    assert_eq!(app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body["name"], hostile);
    assert_error(
        &app.post("/api/v1/schedules", token, definition(&app, hostile)).await,
        StatusCode::CONFLICT,
        "conflict",
    );

    for path in ["/api/v1/schedules/not-an-id", &format!("/api/v1/schedules/{}", uuid::Uuid::now_v7())] {
        assert_error(&app.get(path, &app.viewer.token).await, StatusCode::NOT_FOUND, "not_found");
    }
    let bad_queries = [
        (format!("/api/v1/schedules/{id}/on-call?at=yesterday"), StatusCode::BAD_REQUEST, "invalid_query"),
        (format!("/api/v1/schedules/{id}/on-call?when=now"), StatusCode::BAD_REQUEST, "invalid_query"),
        (
            format!("/api/v1/schedules/{id}/shifts?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            format!("/api/v1/schedules/{id}/shifts?from=2026-01-01T00:00:00Z&to=2028-01-01T00:00:00Z"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (path, status, code) in bad_queries {
        assert_error(&app.get(&path, &app.viewer.token).await, status, code);
    }
    let path = format!("/api/v1/schedules/{id}/overrides");
    let bad_overrides = [
        json!({"user": app.admin.user.id, "start": "2026-03-05T22:00:00Z", "end": "2026-03-05T22:00:00Z"}),
        json!({"user": uuid::Uuid::nil(), "start": "2026-03-05T22:00:00Z", "end": "2026-03-06T22:00:00Z"}),
    ];
    for body in bad_overrides {
        assert_error(&app.post(&path, token, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let after = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await;
    assert_eq!(after.body["overrides"], json!([]), "refused overrides are not stored");
    assert!(app.get("/api/v1/schedules", "not-a-token").await.status == StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    schedules_answer_who_is_on_call,
    overrides_put_someone_else_on_call,
    schedules_are_changed_and_deleted,
    bad_schedule_requests_change_nothing
);
