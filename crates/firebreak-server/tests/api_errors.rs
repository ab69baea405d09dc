//! Bad input to the JSON API: every refusal is a 4xx with the documented error envelope, and
//! changes nothing (incidents, timelines, users, tokens and the audit log are as before).

mod common;
#[path = "support/snapshot.rs"]
mod snapshot;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{PASSWORD, Reply, TestApp, assert_error};
use serde_json::{Value, json};
use snapshot::{Snapshot, assert_audit_intact};

/// A request with full control over the content type and the raw body bytes.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Body,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    app.send(req.body(body).unwrap_or_else(|e| panic!("{path}: {e}"))).await
}

async fn send_json_bytes(app: &TestApp, method: Method, path: &str, token: &str, body: impl Into<Vec<u8>>) -> Reply {
    send(app, method, path, Some(token), Some("application/json"), Body::from(body.into())).await
}

/// Asserts the error envelope, that the answer is JSON, and that nothing changed.
async fn assert_refused(app: &TestApp, before: &Snapshot, r: &Reply, status: StatusCode, code: &str, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.text);
    assert_error(r, status, code);
    let ct = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{context}: error content type {ct:?}");
    before.assert_unchanged(app, context).await;
}

/// Every route that takes a JSON body, the token allowed to call it, and a body it accepts.
/// Needs incident 1 to exist.
fn body_routes(app: &TestApp) -> Vec<(Method, String, String, Value)> {
    let responder = app.responder.token.clone();
    let admin = app.admin.token.clone();
    vec![
        (
            Method::POST,
            "/api/v1/incidents".into(),
            responder.clone(),
            json!({"title": "T", "severity": "high", "type": "outage"}),
        ),
        (Method::PATCH, "/api/v1/incidents/1".into(), responder.clone(), json!({"severity": "low"})),
        (Method::POST, "/api/v1/incidents/1/notes".into(), responder.clone(), json!({"body": "a note"})),
        (
            Method::PUT,
            "/api/v1/incidents/1/roles/commander".into(),
            responder.clone(),
            json!({"email": "admin@example.com"}),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            admin.clone(),
            json!({"email": "new@example.com", "name": "New", "role": "viewer"}),
        ),
        (Method::PATCH, format!("/api/v1/users/{}", app.viewer.user.id), admin.clone(), json!({"name": "Renamed"})),
        (Method::POST, "/api/v1/tokens".into(), admin, json!({"name": "ci"})),
        (
            Method::POST,
            "/api/v1/me/password".into(),
            responder,
            json!({"current_password": PASSWORD, "new_password": "a brand new password"}),
        ),
    ]
}

/// `valid` with its first field replaced by a value of the wrong JSON type.
fn with_wrong_type(valid: &Value) -> Value {
    let mut v = valid.clone();
    if let Some((k, old)) = v.as_object().and_then(|o| o.iter().next()).map(|(k, v)| (k.clone(), v.clone())) {
        v[k.as_str()] = if old.is_string() { json!(5) } else { json!("five") };
    }
    v
}

async fn malformed_json_is_400_on_every_route(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let malformed: [&[u8]; 10] = [
        b"{",
        b"{\"title\": \"x\"",
        b"not json",
        b"",
        b"   ",
        b"{'title': 'x'}",
        b"{\"title\": \"x\",}",
        b"{\"body\": \"x\"} trailing",
        b"{\"title\": \"\xff\xfe\"}",
        b"{\"title\": \"\\ud800\"}",
    ];
    for (method, path, token, _) in body_routes(&app) {
        for body in malformed {
            let r = send_json_bytes(&app, method.clone(), &path, &token, body).await;
            let ctx = format!("{method} {path} {:?}", String::from_utf8_lossy(body));
            assert_refused(&app, &before, &r, StatusCode::BAD_REQUEST, "malformed_json", &ctx).await;
        }
        // A byte-order mark is not JSON either.
        let r = send_json_bytes(&app, method.clone(), &path, &token, b"\xef\xbb\xbf{}".to_vec()).await;
        assert_refused(&app, &before, &r, StatusCode::BAD_REQUEST, "malformed_json", &format!("{method} {path} BOM"))
            .await;
    }
}

async fn wrong_shapes_and_unknown_fields_are_422_on_every_route(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    for (method, path, token, valid) in body_routes(&app) {
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(1);
        let mut duplicate_key = valid.to_string();
        if let Some((k, v)) = valid.as_object().and_then(|o| o.iter().next()) {
            duplicate_key = format!("{{\"{k}\": {v}, {}", &duplicate_key[1..]);
        }
        let cases = [
            ("wrong type", with_wrong_type(&valid).to_string()),
            ("unknown field", unknown.to_string()),
            ("duplicate key", duplicate_key),
            ("null", "null".into()),
            ("number", "5".into()),
            ("string", "\"text\"".into()),
            ("bool", "true".into()),
            ("empty array", "[]".into()),
        ];
        for (what, body) in cases {
            let r = send_json_bytes(&app, method.clone(), &path, &token, body.clone()).await;
            let ctx = format!("{method} {path} {what}: {body}");
            assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &ctx).await;
        }
    }
}

async fn missing_or_wrong_content_type_is_415_on_every_route(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    for (method, path, token, valid) in body_routes(&app) {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("json"),
        ] {
            let r = send(&app, method.clone(), &path, Some(&token), ct, Body::from(valid.to_string())).await;
            let ctx = format!("{method} {path} content type {ct:?}");
            assert_refused(&app, &before, &r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", &ctx).await;
        }
    }
}

async fn bodies_over_one_mebibyte_are_413_on_every_route(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let limit = firebreak_server::BODY_LIMIT;
    for (method, path, token, _) in body_routes(&app) {
        // Valid JSON, one byte over the limit.
        let filler = "a".repeat(limit - r#"{"body":""}"#.len() + 1);
        let big = format!(r#"{{"body":"{filler}"}}"#);
        assert_eq!(big.len(), limit + 1);
        let r = send_json_bytes(&app, method.clone(), &path, &token, big.clone()).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("{method} {path} limit+1"),
        )
        .await;

        // The same without a Content-Length: a chunked stream that runs past the limit.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            big.into_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        let stream = Body::from_stream(futures_util::stream::iter(chunks));
        let r = send(&app, method.clone(), &path, Some(&token), Some("application/json"), stream).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("{method} {path} streamed"),
        )
        .await;
    }
    // Exactly at the limit the body is read, and then judged on its content.
    let filler = "a".repeat(limit - r#"{"title":"","severity":"high","type":"outage"}"#.len());
    let at_limit = format!(r#"{{"title":"{filler}","severity":"high","type":"outage"}}"#);
    assert_eq!(at_limit.len(), limit);
    let r = send_json_bytes(&app, Method::POST, "/api/v1/incidents", &app.responder.token, at_limit).await;
    assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "body at the limit").await;
}

async fn incident_fields_missing_unknown_or_mistyped_are_422(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let creates = [
        json!({"title": 5, "severity": "high", "type": "outage"}),
        json!({"title": null, "severity": "high", "type": "outage"}),
        json!({"title": ["a"], "severity": "high", "type": "outage"}),
        json!({"title": "x", "severity": "urgent", "type": "outage"}),
        json!({"title": "x", "severity": "HIGH", "type": "outage"}),
        json!({"title": "x", "severity": " high", "type": "outage"}),
        json!({"title": "x", "severity": 1, "type": "outage"}),
        json!({"title": "x", "severity": "high", "type": "incident"}),
        json!({"title": "x", "severity": "high", "type": "Outage"}),
        json!({"title": "x", "severity": "high", "kind": "outage"}),
        json!({"severity": "high", "type": "outage"}),
        json!({"title": "x", "type": "outage"}),
        json!({"title": "x", "severity": "high"}),
        json!({}),
        json!({"title": "x", "severity": "high", "type": "outage", "priority": "p1"}),
        json!({"title": "x", "severity": "high", "type": "outage", "status": "resolved"}),
        json!({"title": "x", "severity": "high", "type": "outage", "id": "00000000-0000-0000-0000-000000000000"}),
        json!({"title": "x", "severity": "high", "type": "outage", "number": 7}),
        json!({"title": "x", "severity": "high", "type": "outage", "services": "api"}),
        json!({"title": "x", "severity": "high", "type": "outage", "tags": [1, 2]}),
        json!({"title": "x", "severity": "high", "type": "outage", "tags": [null]}),
        json!({"title": "x", "severity": "high", "type": "outage", "summary": 5}),
        json!({"title": "x", "severity": "high", "type": "outage", "summary": {"text": "x"}}),
    ];
    for body in creates {
        let r = app.post("/api/v1/incidents", tok, body.clone()).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &format!("create {body}"))
            .await;
    }
    let edits = [
        json!({"severity": "urgent"}),
        json!({"type": "incident"}),
        json!({"title": 5}),
        json!({"status": "resolved"}),
        json!({"number": 2}),
        json!({"services": "api"}),
        json!({"tags": "db"}),
        json!({"roles": {"commander": null}}),
    ];
    for body in edits {
        let r = app.call(Method::PATCH, "/api/v1/incidents/1", tok, Some(body.clone())).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &format!("edit {body}"))
            .await;
    }
    for body in [
        json!({}),
        json!({"body": 5}),
        json!({"body": null}),
        json!({"body": "x", "author": "someone"}),
        json!({"text": "x"}),
    ] {
        let r = app.post("/api/v1/incidents/1/notes", tok, body.clone()).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &format!("note {body}"))
            .await;
    }
}

async fn invalid_values_are_422_validation_failed(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let create = |title: &str| json!({"title": title, "severity": "high", "type": "outage"});
    let with = |key: &str, value: Value| {
        let mut b = json!({"title": "fine", "severity": "high", "type": "outage"});
        b[key] = value;
        b
    };
    let long_services: Vec<String> = (0..51).map(|i| format!("svc-{i}")).collect();
    let cases = [
        ("empty title", create("")),
        ("blank title", create("   \t ")),
        ("title of 201 characters", create(&"a".repeat(201))),
        ("title of 201 wide characters", create(&"é".repeat(201))),
        ("title of 201 emoji", create(&"🔥".repeat(201))),
        ("two-line title", create("first\nsecond")),
        ("title with a carriage return", create("first\rsecond")),
        ("summary of 10001 characters", with("summary", json!("s".repeat(10_001)))),
        ("51 services", with("services", json!(long_services))),
        ("empty service", with("services", json!([""]))),
        ("blank tag", with("tags", json!(["  "]))),
        ("tag of 101 characters", with("tags", json!(["t".repeat(101)]))),
        ("tag with a newline", with("tags", json!(["a\nb"]))),
    ];
    for (what, body) in cases {
        let r = app.post("/api/v1/incidents", tok, body).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", what).await;
    }
    let edits = [
        ("empty title", json!({"title": ""})),
        ("long title", json!({"title": "x".repeat(201)})),
        ("long summary", json!({"summary": "x".repeat(10_001)})),
        ("empty tag", json!({"tags": [""]})),
    ];
    for (what, body) in edits {
        let r = app.call(Method::PATCH, "/api/v1/incidents/1", tok, Some(body)).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("edit: {what}"),
        )
        .await;
    }
    for (what, body) in
        [("empty note", ""), ("blank note", " \n\t "), ("note of 20001 characters", &"n".repeat(20_001))]
    {
        let r = app.post("/api/v1/incidents/1/notes", tok, json!({"body": body})).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", what).await;
    }

    // The limits are inclusive: 200 characters (however wide) are a valid title.
    for title in ["a".repeat(200), "é".repeat(200), "🔥".repeat(200)] {
        let r = app.post("/api/v1/incidents", tok, create(&title)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["title"], title.as_str());
    }
}

async fn a_closed_incident_refuses_edits_and_roles(app: TestApp) {
    app.declare("done").await;
    let r = app.post("/api/v1/incidents/1/close", &app.responder.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = Snapshot::capture(&app).await;
    let r = app.call(Method::PATCH, "/api/v1/incidents/1", &app.responder.token, Some(json!({"title": "new"}))).await;
    assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "edit closed").await;
    let body = json!({"user_id": app.admin.user.id});
    let r = app.call(Method::PUT, "/api/v1/incidents/1/roles/scribe", &app.responder.token, Some(body)).await;
    assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "role on closed").await;
}

/// Strings that attack something downstream (HTML, SQL, terminals, templates, text
/// direction) are data: stored and returned byte for byte, or refused with a 4xx.
async fn hostile_strings_are_stored_verbatim_or_refused(app: TestApp) {
    let tok = &app.responder.token;
    let verbatim = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "'; DROP TABLE incidents; --",
        "Robert'); DELETE FROM audit_log; --",
        "{{ 7*7 }} {% raw %} ${jndi:ldap://x/a}",
        "evil\u{202E}txt.exe",
        "zero\u{200B}width\u{FEFF}joiner",
        "emoji 🔥👩‍👩‍👧‍👦 and \u{10FFFF} and \u{FFFF}",
        "back\\slash \\u0000 literal, %00, &amp; &#0;",
        "日本語のタイトル — ünïcödé ℌ𝔢𝔩𝔩𝔬",
    ];
    for (n, s) in verbatim.iter().enumerate() {
        let body =
            json!({"title": s, "severity": "low", "type": "security", "summary": s, "services": [s], "tags": [s]});
        let r = app.post("/api/v1/incidents", tok, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{s:?}: {}", r.text);
        let number = n + 1;
        let r = app.post(&format!("/api/v1/incidents/{number}/notes"), tok, json!({"body": s})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{s:?}: {}", r.text);
        let r = app.get(&format!("/api/v1/incidents/{number}"), tok).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for key in ["title", "summary"] {
            assert_eq!(r.body[key], *s, "{key} of {s:?}");
        }
        assert_eq!((&r.body["services"], &r.body["tags"]), (&json!([s]), &json!([s])));
        let r = app.get(&format!("/api/v1/incidents/{number}/timeline"), tok).await;
        assert_eq!(r.body["items"][0]["title"], *s);
        assert_eq!(r.body["items"][1]["body"], *s);
    }
    // Long text in wide characters survives both databases intact.
    let long_summary = "𝔘".repeat(10_000);
    let long_note = "é".repeat(20_000);
    let r = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "👩‍👩‍👧‍👦".repeat(28), "severity": "low", "type": "other", "summary": long_summary}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let number = r.body["number"].as_i64().unwrap_or_default();
    assert_eq!(r.body["summary"].as_str(), Some(long_summary.as_str()));
    let r = app.post(&format!("/api/v1/incidents/{number}/notes"), tok, json!({"body": long_note})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.get(&format!("/api/v1/incidents/{number}/timeline"), tok).await;
    assert_eq!(r.body["items"][1]["body"].as_str(), Some(long_note.as_str()));
    let r = app.get("/api/v1/incidents?limit=200", tok).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(verbatim.len() + 1));

    // Control characters (NUL, escape sequences, DEL, …) are refused wherever text is taken.
    let before = Snapshot::capture(&app).await;
    for bad in ["nul\u{0}byte", "\u{0}", "esc \u{1b}[31mred", "del\u{7f}", "bell\u{7}", "n\u{85}el"] {
        let fields = [
            ("title", json!({"title": bad, "severity": "low", "type": "other"})),
            ("summary", json!({"title": "ok", "severity": "low", "type": "other", "summary": bad})),
            ("services", json!({"title": "ok", "severity": "low", "type": "other", "services": [bad]})),
            ("tags", json!({"title": "ok", "severity": "low", "type": "other", "tags": [bad]})),
        ];
        for (field, body) in fields {
            let r = app.post("/api/v1/incidents", tok, body).await;
            assert_refused(
                &app,
                &before,
                &r,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                &format!("{field} {bad:?}"),
            )
            .await;
        }
        let r = app.post("/api/v1/incidents/1/notes", tok, json!({"body": bad})).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("note {bad:?}"),
        )
        .await;
        let r = app.call(Method::PATCH, "/api/v1/incidents/1", tok, Some(json!({"title": bad}))).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("edit {bad:?}"),
        )
        .await;
        let r = app
            .post("/api/v1/users", &app.admin.token, json!({"email": "x@example.com", "name": bad, "role": "viewer"}))
            .await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("user name {bad:?}"),
        )
        .await;
        let email = format!("x{bad}@example.com");
        let r =
            app.post("/api/v1/users", &app.admin.token, json!({"email": email, "name": "X", "role": "viewer"})).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("email {bad:?}"),
        )
        .await;
        let r = app.post("/api/v1/tokens", &app.admin.token, json!({"name": bad})).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("token name {bad:?}"),
        )
        .await;
        let r = app.call(Method::PUT, "/api/v1/incidents/1/roles/scribe", tok, Some(json!({"email": email}))).await;
        assert_refused(
            &app,
            &before,
            &r,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            &format!("role email {bad:?}"),
        )
        .await;
    }
    assert_audit_intact(&app).await;
}

async fn hostile_paths_and_queries_never_500(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let ids = [
        "%00",
        "%FF",
        "%C0%AF",
        "..%2F..%2Fetc%2Fpasswd",
        "1%20OR%201=1",
        "1'%20OR%20'1'='1",
        "%3Cscript%3E",
        "INC-1%00",
        "1.0",
        "0x1",
        "+1",
        "1e3",
    ];
    for id in ids {
        for (method, path) in [
            (Method::GET, format!("/api/v1/incidents/{id}")),
            (Method::GET, format!("/api/v1/incidents/{id}/timeline")),
            (Method::POST, format!("/api/v1/incidents/{id}/acknowledge")),
        ] {
            let r = app.call(method.clone(), &path, tok, Some(json!({}))).await;
            assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("{method} {path}")).await;
        }
        let r = app.call(Method::PATCH, &format!("/api/v1/incidents/{id}"), tok, Some(json!({"title": "x"}))).await;
        assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("PATCH {id}")).await;
        let r =
            app.call(Method::PATCH, &format!("/api/v1/users/{id}"), &app.admin.token, Some(json!({"name": "x"}))).await;
        assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("PATCH user {id}")).await;
        let r = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), &app.admin.token, None).await;
        assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("DELETE token {id}")).await;
    }
    for q in ["status=%00", "status=%FF", "severity=%3Cscript%3E", "cursor=%00", "limit=%FF", "type=outage%00"] {
        let r = app.get(&format!("/api/v1/incidents?{q}"), tok).await;
        assert_refused(&app, &before, &r, StatusCode::BAD_REQUEST, "invalid_query", q).await;
    }
    let r = app.get("/api/v1/tokens?user_id=%00", &app.admin.token).await;
    assert_refused(&app, &before, &r, StatusCode::BAD_REQUEST, "invalid_query", "tokens user_id NUL").await;
}

async fn unknown_incidents_are_404(app: TestApp) {
    app.declare("the only one").await;
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let unknown_uuid = uuid::Uuid::new_v4().to_string();
    let refs = [
        "999",
        "INC-999",
        "inc-999",
        "0",
        "INC-0",
        "-1",
        "999999999999999999",
        "99999999999999999999999999",
        unknown_uuid.as_str(),
        "garbage",
        "INC-",
        "INC-abc",
        "INC-1-2",
    ];
    for id in refs {
        let routes = [
            (Method::GET, format!("/api/v1/incidents/{id}"), None),
            (Method::PATCH, format!("/api/v1/incidents/{id}"), Some(json!({"title": "renamed"}))),
            (Method::GET, format!("/api/v1/incidents/{id}/timeline"), None),
            (Method::POST, format!("/api/v1/incidents/{id}/notes"), Some(json!({"body": "hello"}))),
            (
                Method::PUT,
                format!("/api/v1/incidents/{id}/roles/commander"),
                Some(json!({"user_id": app.responder.user.id})),
            ),
            (Method::POST, format!("/api/v1/incidents/{id}/resolve"), Some(json!({}))),
        ];
        for (method, path, body) in routes {
            let r = app.call(method.clone(), &path, tok, body).await;
            assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("{method} {path}")).await;
        }
    }
    let routes = [
        (Method::PATCH, format!("/api/v1/users/{}", uuid::Uuid::new_v4()), Some(json!({"name": "x"}))),
        (Method::PATCH, "/api/v1/users/not-a-user".into(), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/api/v1/tokens/{}", uuid::Uuid::new_v4()), None),
        (Method::DELETE, "/api/v1/tokens/not-a-token".into(), None),
        (Method::POST, "/api/v1/tokens".into(), Some(json!({"name": "x", "user_id": uuid::Uuid::new_v4()}))),
    ];
    for (method, path, body) in routes {
        let r = app.call(method.clone(), &path, &app.admin.token, body).await;
        assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &format!("{method} {path}")).await;
    }
}

async fn unknown_routes_under_the_api_are_404_json(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    // Paths no route matches: 404 whoever asks.
    let unrouted = [
        (Method::GET, "/api/v1/nope"),
        (Method::GET, "/api/v1/"),
        (Method::POST, "/api/v1/"),
        (Method::GET, "/api/v1"),
        (Method::GET, "/api/v1/incident"),
        (Method::GET, "/api/v1/incidents/"),
        (Method::GET, "/api/v1/incidents/1/"),
        (Method::GET, "/api/v1/me/"),
        (Method::GET, "/api/v1/incidents/1/notes/1"),
        (Method::GET, "/api/v1/users/me/tokens"),
        (Method::DELETE, "/api/v1/incidents/1/notes/1"),
        (Method::GET, "/api/v1/%00"),
        (Method::GET, "/api/v1/openapi.yaml"),
        (Method::GET, "/api/v2/incidents"),
    ];
    for (method, path) in unrouted {
        for token in [Some(app.responder.token.as_str()), None] {
            let r = app.raw(method.clone(), path, token, Some("{}".into())).await;
            let ctx = format!("{method} {path} token={}", token.is_some());
            if path.starts_with("/api/v2") {
                // Outside the API the web UI answers; it must still not be a success or a 5xx.
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{ctx}");
                continue;
            }
            assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", &ctx).await;
        }
    }
    // Unknown actions: the `{id}/{action}` route matches, the action does not.
    for path in [
        "/api/v1/incidents/1/explode",
        "/api/v1/incidents/1/ACKNOWLEDGE",
        "/api/v1/incidents/1/roles",
        "/api/v1/incidents/1/allowed_actions",
    ] {
        let r = app.raw(Method::POST, path, Some(&app.responder.token), Some("{}".into())).await;
        assert_refused(&app, &before, &r, StatusCode::NOT_FOUND, "not_found", path).await;
        let r = app.raw(Method::POST, path, None, Some("{}".into())).await;
        assert_refused(&app, &before, &r, StatusCode::UNAUTHORIZED, "unauthorized", &format!("{path} without a token"))
            .await;
    }
}

async fn wrong_methods_are_405_with_allow(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let user = format!("/api/v1/users/{}", app.viewer.user.id);
    let token = format!("/api/v1/tokens/{}", uuid::Uuid::new_v4());
    let cases: Vec<(Method, &str, &str)> = vec![
        (Method::DELETE, "/api/v1/incidents", "GET,HEAD,POST"),
        (Method::PUT, "/api/v1/incidents", "GET,HEAD,POST"),
        (Method::PATCH, "/api/v1/incidents", "GET,HEAD,POST"),
        (Method::DELETE, "/api/v1/incidents/1", "GET,HEAD,PATCH"),
        (Method::POST, "/api/v1/incidents/1", "GET,HEAD,PATCH"),
        (Method::PUT, "/api/v1/incidents/1", "GET,HEAD,PATCH"),
        (Method::GET, "/api/v1/incidents/1/notes", "POST"),
        (Method::DELETE, "/api/v1/incidents/1/notes", "POST"),
        (Method::POST, "/api/v1/incidents/1/timeline", "GET,HEAD"),
        (Method::DELETE, "/api/v1/incidents/1/timeline", "GET,HEAD"),
        (Method::GET, "/api/v1/incidents/1/acknowledge", "POST"),
        (Method::PUT, "/api/v1/incidents/1/resolve", "POST"),
        (Method::GET, "/api/v1/incidents/1/roles/commander", "PUT"),
        (Method::POST, "/api/v1/incidents/1/roles/commander", "PUT"),
        (Method::DELETE, "/api/v1/incidents/1/roles/commander", "PUT"),
        (Method::POST, "/api/v1/me", "GET,HEAD"),
        (Method::PATCH, "/api/v1/me", "GET,HEAD"),
        (Method::DELETE, "/api/v1/me", "GET,HEAD"),
        (Method::GET, "/api/v1/me/password", "POST"),
        (Method::PUT, "/api/v1/me/password", "POST"),
        (Method::DELETE, "/api/v1/users", "GET,HEAD,POST"),
        (Method::PUT, "/api/v1/users", "GET,HEAD,POST"),
        (Method::GET, &user, "PATCH"),
        (Method::DELETE, &user, "PATCH"),
        (Method::PUT, &user, "PATCH"),
        (Method::DELETE, "/api/v1/tokens", "GET,HEAD,POST"),
        (Method::GET, &token, "DELETE"),
        (Method::PATCH, &token, "DELETE"),
        (Method::POST, "/api/v1/audit", "GET,HEAD"),
        (Method::DELETE, "/api/v1/audit", "GET,HEAD"),
        (Method::POST, "/api/v1/openapi.json", "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = app.call(method.clone(), path, &app.admin.token, Some(json!({"name": "x"}))).await;
        let ctx = format!("{method} {path}");
        let got = r.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let mut got: Vec<&str> = got.split(',').map(str::trim).collect();
        let mut want: Vec<&str> = allow.split(',').collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{ctx}: Allow header");
        assert_refused(&app, &before, &r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &ctx).await;
    }
}

async fn bad_query_parameters_are_400(app: TestApp) {
    app.declare("target").await;
    let before = Snapshot::capture(&app).await;
    let viewer = &app.viewer.token;
    let admin = &app.admin.token;
    let cases = [
        (viewer, "/api/v1/incidents?limit=abc"),
        (viewer, "/api/v1/incidents?limit=-1"),
        (viewer, "/api/v1/incidents?limit=1.5"),
        (viewer, "/api/v1/incidents?limit=99999999999"),
        (viewer, "/api/v1/incidents?cursor=abc"),
        (viewer, "/api/v1/incidents?cursor=1.5"),
        (viewer, "/api/v1/incidents?status=bogus"),
        (viewer, "/api/v1/incidents?status=triggered,bogus"),
        (viewer, "/api/v1/incidents?status=TRIGGERED"),
        (viewer, "/api/v1/incidents?severity=urgent"),
        (viewer, "/api/v1/incidents?type=incident"),
        (viewer, "/api/v1/incidents?sort=number"),
        (viewer, "/api/v1/incidents?status=triggered&status=resolved"),
        (admin, "/api/v1/audit?cursor=abc"),
        (admin, "/api/v1/audit?limit=abc"),
        (admin, "/api/v1/audit?limit=-5"),
        (admin, "/api/v1/audit?action=incident.create"),
        (admin, "/api/v1/tokens?user_id=abc"),
        (admin, "/api/v1/tokens?user=abc"),
    ];
    for (token, path) in cases {
        let r = app.get(path, token).await;
        assert_refused(&app, &before, &r, StatusCode::BAD_REQUEST, "invalid_query", path).await;
    }
    // Page sizes out of range are clamped, not refused.
    let r = app.get("/api/v1/incidents?limit=0", viewer).await;
    assert_eq!((r.status, r.body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{}", r.text);
    let r = app.get("/api/v1/incidents?limit=100000", viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn bad_role_assignments_are_422(app: TestApp) {
    app.declare("target").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.viewer.user.id),
            &app.admin.token,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let ok_body = json!({"user_id": app.responder.user.id});
    for role in ["captain", "Commander", "COMMANDER", "commander%00", "%3Cscript%3E", "admin", "viewer"] {
        let path = format!("/api/v1/incidents/1/roles/{role}");
        let r = app.call(Method::PUT, &path, tok, Some(ok_body.clone())).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", &path).await;
    }
    let cases = [
        ("unknown user id", json!({"user_id": uuid::Uuid::new_v4()})),
        ("unknown email", json!({"email": "nobody@example.com"})),
        ("invalid email", json!({"email": "not an email"})),
        ("both id and email", json!({"user_id": app.responder.user.id, "email": "responder@example.com"})),
        ("disabled user by id", json!({"user_id": app.viewer.user.id})),
        ("disabled user by email", json!({"email": "viewer@example.com"})),
        ("an incident id as user id", json!({"user_id": uuid::Uuid::nil()})),
    ];
    for (what, body) in cases {
        let r = app.call(Method::PUT, "/api/v1/incidents/1/roles/commander", tok, Some(body)).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", what).await;
    }
    for body in [json!({"user_id": "not-a-uuid"}), json!({"user_id": 5}), json!({"email": 5}), json!({"user": "x"})] {
        let r = app.call(Method::PUT, "/api/v1/incidents/1/roles/commander", tok, Some(body.clone())).await;
        assert_refused(&app, &before, &r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", &body.to_string()).await;
    }
}

/// Walks every status and tries every action: the allowed ones (as advertised in
/// `allowed_actions`) work, every other one is 409 `invalid_transition` and changes nothing.
async fn wrong_transitions_are_409(app: TestApp) {
    let tok = &app.responder.token;
    let actions = ["acknowledge", "contain", "resolve", "close", "reopen"];
    let paths: [(&str, &[&str]); 5] = [
        ("triggered", &[]),
        ("acknowledged", &["acknowledge"]),
        ("contained", &["contain"]),
        ("resolved", &["resolve"]),
        ("closed", &["close"]),
    ];
    let expected_allowed: [(&str, &[&str]); 5] = [
        ("triggered", &["acknowledge", "contain", "resolve", "close"]),
        ("acknowledged", &["contain", "resolve", "close"]),
        ("contained", &["resolve", "close"]),
        ("resolved", &["close", "reopen"]),
        ("closed", &[]),
    ];
    // One incident per status, and one per (status, allowed action) to prove the allowed ones.
    let mut numbers = Vec::new();
    for (status, steps) in paths {
        let created = app.declare(status).await;
        let n = created["number"].as_i64().unwrap_or_default();
        for step in steps {
            let r = app.post(&format!("/api/v1/incidents/{n}/{step}"), tok, json!({})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        numbers.push((n, status, steps));
    }
    let before = Snapshot::capture(&app).await;
    for ((n, status, _), (s, allowed)) in numbers.iter().zip(expected_allowed) {
        assert_eq!(*status, s);
        let r = app.get(&format!("/api/v1/incidents/{n}"), tok).await;
        assert_eq!(r.body["status"], *status);
        assert_eq!(r.body["allowed_actions"], json!(allowed), "allowed actions when {status}");
        for action in actions.iter().filter(|a| !allowed.contains(a)) {
            let r = app.post(&format!("/api/v1/incidents/INC-{n}/{action}"), tok, json!({})).await;
            let ctx = format!("{action} when {status}");
            assert_refused(&app, &before, &r, StatusCode::CONFLICT, "invalid_transition", &ctx).await;
            let message = r.body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(action) && message.contains(status), "{ctx}: unhelpful message {message:?}");
        }
    }
    for ((_, status, steps), (_, allowed)) in numbers.iter().zip(expected_allowed) {
        for action in allowed {
            let n = app.declare("proof").await["number"].as_i64().unwrap_or_default();
            for step in steps.iter() {
                app.post(&format!("/api/v1/incidents/{n}/{step}"), tok, json!({})).await;
            }
            let r = app.post(&format!("/api/v1/incidents/{n}/{action}"), tok, json!({})).await;
            assert_eq!(r.status, StatusCode::OK, "{action} when {status}: {}", r.text);
        }
    }
}

/// The rewritten body extractor still takes every JSON media type a client may send.
async fn json_media_types_are_accepted(app: TestApp) {
    let body = json!({"title": "typed", "severity": "low", "type": "other"}).to_string();
    for ct in [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        "application/vnd.firebreak+json",
    ] {
        let r = send(
            &app,
            Method::POST,
            "/api/v1/incidents",
            Some(&app.responder.token),
            Some(ct),
            Body::from(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}: {}", r.text);
    }
    let r = send(
        &app,
        Method::PATCH,
        "/api/v1/incidents/1",
        Some(&app.responder.token),
        Some("application/merge-patch+json"),
        Body::from(r#"{"severity":"high"}"#),
    )
    .await;
    assert_eq!((r.status, r.body["severity"].as_str()), (StatusCode::OK, Some("high")), "{}", r.text);
    // Whitespace around the object is still JSON.
    let r = send_json_bytes(
        &app,
        Method::POST,
        "/api/v1/incidents/1/notes",
        &app.responder.token,
        " \n\t{\"body\": \"padded\"} \n",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// Racing requests are serialised by the database: one acknowledgement wins and the rest are
/// 409, concurrent declarations get distinct numbers, and nothing is a 5xx.
async fn concurrent_changes_are_serialised(app: TestApp) {
    app.declare("race").await;
    let tok = &app.responder.token;
    let acks =
        futures_util::future::join_all((0..12).map(|_| app.post("/api/v1/incidents/1/acknowledge", tok, json!({}))))
            .await;
    let won = acks.iter().filter(|r| r.status == StatusCode::OK).count();
    for r in acks.iter().filter(|r| r.status != StatusCode::OK) {
        assert_error(r, StatusCode::CONFLICT, "invalid_transition");
    }
    assert_eq!(won, 1, "exactly one acknowledgement wins");
    let r = app.get("/api/v1/incidents/1/timeline", tok).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2), "{}", r.text);

    let declared = futures_util::future::join_all((0..12).map(|i| {
        app.post(
            "/api/v1/incidents",
            tok,
            json!({"title": format!("storm {i}"), "severity": "medium", "type": "outage"}),
        )
    }))
    .await;
    let mut numbers: Vec<i64> = declared
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.body["number"].as_i64().unwrap_or_default()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=13).collect::<Vec<_>>());
    let audit = snapshot::all_pages(&app, "/api/v1/audit", &app.admin.token).await;
    assert_eq!(audit.iter().filter(|e| e["action"] == "incident.create").count(), 13);
    assert_eq!(audit.iter().filter(|e| e["action"] == "incident.acknowledge").count(), 1);
    assert_audit_intact(&app).await;
}

on_both_backends!(
    malformed_json_is_400_on_every_route,
    wrong_shapes_and_unknown_fields_are_422_on_every_route,
    missing_or_wrong_content_type_is_415_on_every_route,
    bodies_over_one_mebibyte_are_413_on_every_route,
    incident_fields_missing_unknown_or_mistyped_are_422,
    invalid_values_are_422_validation_failed,
    a_closed_incident_refuses_edits_and_roles,
    hostile_strings_are_stored_verbatim_or_refused,
    hostile_paths_and_queries_never_500,
    unknown_incidents_are_404,
    unknown_routes_under_the_api_are_404_json,
    wrong_methods_are_405_with_allow,
    bad_query_parameters_are_400,
    bad_role_assignments_are_422,
    wrong_transitions_are_409,
    json_media_types_are_accepted,
    concurrent_changes_are_serialised,
);
