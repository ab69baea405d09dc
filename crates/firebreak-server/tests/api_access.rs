//! Who may do what through the JSON API: authentication (401), roles (403), the admin's
//! users, tokens and audit log, the caller's own account, the OpenAPI document and the
//! operational endpoints. Every refusal changes nothing.

mod common;
#[path = "support/snapshot.rs"]
mod snapshot;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use common::{PASSWORD, Reply, TestApp, assert_error};
use serde_json::{Value, json};
use snapshot::{Snapshot, all_pages, assert_audit_intact};
use std::collections::{BTreeMap, BTreeSet};

/// A request with an arbitrary `Authorization` header (or none) and an optional JSON body.
async fn send_auth(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<HeaderValue>,
    body: Option<&Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.send(req.unwrap_or_else(|e| panic!("{path}: {e}"))).await
}

fn bearer(secret: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {secret}")).unwrap_or_else(|e| panic!("{e}"))
}

/// Asserts the error envelope and that nothing changed.
async fn assert_refused(app: &TestApp, before: &Snapshot, r: &Reply, status: StatusCode, code: &str, context: &str) {
    assert_eq!(r.status, status, "{context}: {}", r.text);
    assert_error(r, status, code);
    before.assert_unchanged(app, context).await;
}

fn assert_unauthorized(r: &Reply, context: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{context}: {}", r.text);
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized");
    let challenge = r.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{context}: WWW-Authenticate {challenge:?}");
}

/// The id of `user`'s first token (the harness gives each member one).
async fn token_id_of(app: &TestApp, user: firebreak_domain::UserId) -> String {
    let r = app.get(&format!("/api/v1/tokens?user_id={user}"), &app.admin.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"][0]["id"].as_str().unwrap_or_else(|| panic!("no token: {}", r.text)).to_owned()
}

/// Every API route with a body it would accept. Needs incident 1.
fn every_route(app: &TestApp, token_id: &str) -> Vec<(Method, String, Option<Value>)> {
    let incident = json!({"title": "x", "severity": "high", "type": "outage"});
    vec![
        (Method::GET, "/api/v1/incidents".into(), None),
        (Method::POST, "/api/v1/incidents".into(), Some(incident)),
        (Method::GET, "/api/v1/incidents/1".into(), None),
        (Method::PATCH, "/api/v1/incidents/1".into(), Some(json!({"severity": "low"}))),
        (Method::POST, "/api/v1/incidents/1/acknowledge".into(), None),
        (Method::POST, "/api/v1/incidents/1/notes".into(), Some(json!({"body": "n"}))),
        (Method::PUT, "/api/v1/incidents/1/roles/commander".into(), Some(json!({"email": "admin@example.com"}))),
        (Method::GET, "/api/v1/incidents/1/timeline".into(), None),
        (Method::GET, "/api/v1/me".into(), None),
        (
            Method::POST,
            "/api/v1/me/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "another long password"})),
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (Method::POST, "/api/v1/users".into(), Some(json!({"email": "new@example.com", "name": "N", "role": "admin"}))),
        (Method::PATCH, format!("/api/v1/users/{}", app.viewer.user.id), Some(json!({"role": "admin"}))),
        (Method::GET, "/api/v1/tokens".into(), None),
        (Method::POST, "/api/v1/tokens".into(), Some(json!({"name": "stolen"}))),
        (Method::DELETE, format!("/api/v1/tokens/{token_id}"), None),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::GET, "/api/v1/status-pages/acme/subscribers".into(), None),
        (Method::GET, "/api/v1/status-pages/acme/subscribers/export".into(), None),
        (
            Method::POST,
            "/api/v1/status-pages/acme/subscribers".into(),
            Some(json!({"kind": "webhook", "url": "https://hooks.example.com/x"})),
        ),
        (Method::DELETE, format!("/api/v1/status-pages/acme/subscribers/{token_id}"), None),
        (Method::GET, "/api/v1/incidents/1/postmortem".into(), None),
        (Method::POST, "/api/v1/incidents/1/postmortem".into(), Some(json!({}))),
        (
            Method::PUT,
            "/api/v1/incidents/1/postmortem".into(),
            Some(json!({"base_revision": 1, "title": "t", "body": "b"})),
        ),
        (
            Method::POST,
            "/api/v1/incidents/1/postmortem/review".into(),
            Some(json!({"reviewers": ["admin@example.com"]})),
        ),
        (Method::POST, "/api/v1/incidents/1/postmortem/publish".into(), Some(json!({}))),
        (Method::POST, "/api/v1/incidents/1/timeline/1/star".into(), Some(json!({}))),
        (Method::DELETE, "/api/v1/incidents/1/timeline/1/star".into(), None),
        (Method::POST, "/api/v1/incidents/1/action-items".into(), Some(json!({"title": "x"}))),
        (Method::PATCH, "/api/v1/action-items/1".into(), Some(json!({"status": "done"}))),
        (Method::GET, "/api/v1/action-items".into(), None),
        (Method::GET, "/api/v1/analytics".into(), None),
    ]
}

async fn missing_bad_and_revoked_credentials_are_401(app: TestApp) {
    app.declare("target").await;
    // A revoked token, and a live token of a user who is then disabled.
    let r = app.post("/api/v1/tokens", &app.admin.token, json!({"name": "soon revoked"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let revoked = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", r.body["token"]["id"].as_str().unwrap_or_default()),
            &app.admin.token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .post("/api/v1/users", &app.admin.token, json!({"email": "gone@example.com", "name": "Gone", "role": "admin"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gone_id = r.body["user"]["id"].as_str().unwrap_or_default().to_owned();
    let r =
        app.post("/api/v1/tokens", &app.admin.token, json!({"name": "of a disabled user", "user_id": gone_id})).await;
    let disabled = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let r = app.get("/api/v1/me", &disabled).await;
    assert_eq!(r.status, StatusCode::OK, "works before the account is disabled: {}", r.text);
    let r = app
        .call(Method::PATCH, &format!("/api/v1/users/{gone_id}"), &app.admin.token, Some(json!({"disabled": true})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let admin = app.admin.token.clone();
    let stored_hash = firebreak_server::auth::secret_hash(&admin);
    let credentials: Vec<(&str, Option<HeaderValue>)> = vec![
        ("no header", None),
        ("unknown token", Some(bearer("fbk_not-a-real-token"))),
        ("empty bearer", Some(HeaderValue::from_static("Bearer "))),
        ("bare scheme", Some(HeaderValue::from_static("Bearer"))),
        ("basic auth", Some(HeaderValue::from_static("Basic YWRtaW5AZXhhbXBsZS5jb206Y29ycmVjdCBob3JzZQ=="))),
        ("token without scheme", Some(HeaderValue::from_str(&admin).unwrap_or_else(|e| panic!("{e}")))),
        ("other scheme", Some(HeaderValue::from_str(&format!("Token {admin}")).unwrap_or_else(|e| panic!("{e}")))),
        ("token with an extra character", Some(bearer(&format!("{admin}x")))),
        ("token missing its last character", Some(bearer(&admin[..admin.len() - 1]))),
        ("the stored hash instead of the secret", Some(bearer(&stored_hash))),
        ("very long token", Some(bearer(&"a".repeat(10_000)))),
        ("non-ASCII bytes", Some(HeaderValue::from_bytes(b"Bearer fbk_\xff\xfe").unwrap_or_else(|e| panic!("{e}")))),
        ("revoked token", Some(bearer(&revoked))),
        ("token of a disabled user", Some(bearer(&disabled))),
    ];
    let token_id = token_id_of(&app, app.viewer.user.id).await;
    let before = Snapshot::capture(&app).await;
    for (method, path, body) in every_route(&app, &token_id) {
        for (what, auth) in &credentials {
            let r = send_auth(&app, method.clone(), &path, auth.clone(), body.as_ref()).await;
            let ctx = format!("{method} {path} with {what}");
            assert_unauthorized(&r, &ctx);
            before.assert_unchanged(&app, &ctx).await;
        }
        // A browser session cookie is no API credential.
        let req = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::COOKIE, format!("{}=whatever", firebreak_server::auth::SESSION_COOKIE))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.as_ref().map(Value::to_string).unwrap_or_default()))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = app.send(req).await;
        assert_unauthorized(&r, &format!("{method} {path} with a cookie"));
    }
    before.assert_unchanged(&app, "after every 401").await;
}

async fn the_bearer_scheme_is_case_insensitive(app: TestApp) {
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let auth = HeaderValue::from_str(&format!("{scheme} {}", app.viewer.token)).unwrap_or_else(|e| panic!("{e}"));
        let r = send_auth(&app, Method::GET, "/api/v1/me", Some(auth), None).await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}: {}", r.text);
        assert_eq!(r.body["email"], "viewer@example.com");
    }
    let auth = HeaderValue::from_str(&format!("Bearer   {}  ", app.viewer.token)).unwrap_or_else(|e| panic!("{e}"));
    let r = send_auth(&app, Method::GET, "/api/v1/me", Some(auth), None).await;
    assert_eq!(r.status, StatusCode::OK, "extra spaces: {}", r.text);
}

async fn viewers_cannot_change_anything(app: TestApp) {
    app.declare("target").await;
    let token_id = token_id_of(&app, app.viewer.user.id).await;
    let before = Snapshot::capture(&app).await;
    let viewer = &app.viewer.token;
    let mut mutations: Vec<(Method, String, Option<Value>)> = every_route(&app, &token_id)
        .into_iter()
        .filter(|(m, p, _)| *m != Method::GET && p != "/api/v1/me/password")
        .collect();
    for action in ["contain", "resolve", "close"] {
        mutations.push((Method::POST, format!("/api/v1/incidents/INC-1/{action}"), None));
    }
    mutations.push((
        Method::PUT,
        "/api/v1/incidents/1/roles/scribe".into(),
        Some(json!({"user_id": app.viewer.user.id})),
    ));
    mutations.push((Method::PATCH, format!("/api/v1/users/{}", app.admin.user.id), Some(json!({"disabled": true}))));
    mutations.push((Method::POST, "/api/v1/tokens".into(), Some(json!({"name": "x", "user_id": app.admin.user.id}))));
    let reads_for_admins = [
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/status-pages/acme/subscribers",
        "/api/v1/status-pages/acme/subscribers/export",
    ];
    for path in reads_for_admins {
        mutations.push((Method::GET, path.into(), None));
    }
    for (method, path, body) in mutations {
        let r = app.call(method.clone(), &path, viewer, body).await;
        assert_refused(&app, &before, &r, StatusCode::FORBIDDEN, "forbidden", &format!("viewer {method} {path}")).await;
    }
    // Reading is what viewers are for.
    for path in ["/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/incidents/INC-1/timeline", "/api/v1/me"] {
        let r = app.get(path, viewer).await;
        assert_eq!(r.status, StatusCode::OK, "viewer GET {path}: {}", r.text);
    }
    // So is changing one's own password.
    let r = app
        .post(
            "/api/v1/me/password",
            viewer,
            json!({"current_password": PASSWORD, "new_password": "the viewer's new password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

async fn responders_cannot_administer(app: TestApp) {
    app.declare("target").await;
    let own_token = token_id_of(&app, app.responder.user.id).await;
    let admin_token = token_id_of(&app, app.admin.user.id).await;
    let before = Snapshot::capture(&app).await;
    let tok = &app.responder.token;
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/users".into(), None),
        (Method::POST, "/api/v1/users".into(), Some(json!({"email": "new@example.com", "name": "N", "role": "admin"}))),
        (Method::PATCH, format!("/api/v1/users/{}", app.responder.user.id), Some(json!({"role": "admin"}))),
        (Method::PATCH, format!("/api/v1/users/{}", app.admin.user.id), Some(json!({"disabled": true}))),
        (Method::PATCH, format!("/api/v1/users/{}", app.viewer.user.id), Some(json!({"role": "responder"}))),
        (Method::GET, "/api/v1/tokens".into(), None),
        (Method::GET, format!("/api/v1/tokens?user_id={}", app.responder.user.id), None),
        (Method::POST, "/api/v1/tokens".into(), Some(json!({"name": "mine"}))),
        (Method::POST, "/api/v1/tokens".into(), Some(json!({"name": "the admin's", "user_id": app.admin.user.id}))),
        (Method::DELETE, format!("/api/v1/tokens/{admin_token}"), None),
        (Method::DELETE, format!("/api/v1/tokens/{own_token}"), None),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::GET, "/api/v1/audit?limit=1".into(), None),
    ];
    for (method, path, body) in cases {
        let r = app.call(method.clone(), &path, tok, body).await;
        assert_refused(&app, &before, &r, StatusCode::FORBIDDEN, "forbidden", &format!("responder {method} {path}"))
            .await;
    }
    // Responders do work incidents.
    let r = app.post("/api/v1/incidents/1/acknowledge", tok, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|s| (*s).to_owned()).collect()
}

async fn password_works(app: &TestApp, email: &str, password: &str) -> bool {
    let email: firebreak_domain::Email = email.parse().unwrap_or_else(|e| panic!("{e}"));
    let creds = app
        .store
        .credentials(&email)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no user {email}"));
    firebreak_server::auth::verify_password(password, creds.password_hash.as_deref())
}

async fn audit_text(app: &TestApp) -> String {
    all_pages(app, "/api/v1/audit", &app.admin.token).await.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
}

async fn admins_create_users(app: TestApp) {
    let admin = &app.admin.token;
    let r = app.get("/api/v1/users", admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let emails: Vec<&str> =
        r.body["items"].as_array().map(|a| a.iter().filter_map(|u| u["email"].as_str()).collect()).unwrap_or_default();
    assert_eq!(emails, ["admin@example.com", "responder@example.com", "viewer@example.com"]);
    let user_keys = set(&["id", "email", "name", "role", "disabled", "created_at"]);
    for u in r.body["items"].as_array().into_iter().flatten() {
        assert_eq!(keys(u), user_keys, "a user shows exactly these fields");
    }

    // Without a password: one is generated, returned once, and works.
    let r = app
        .post(
            "/api/v1/users",
            admin,
            json!({"email": "  New.Person@Example.COM ", "name": "  New Person ", "role": "responder"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.body["user"]["email"].as_str(), r.body["user"]["name"].as_str()),
        (Some("new.person@example.com"), Some("New Person"))
    );
    assert_eq!(
        (r.body["user"]["role"].as_str(), r.body["user"]["disabled"].as_bool()),
        (Some("responder"), Some(false))
    );
    assert_eq!(keys(&r.body["user"]), user_keys);
    let generated =
        r.body["generated_password"].as_str().unwrap_or_else(|| panic!("no generated password: {}", r.text)).to_owned();
    assert!(generated.chars().count() >= 12, "generated password too short: {generated:?}");
    assert!(password_works(&app, "new.person@example.com", &generated).await);
    let new_id = r.body["user"]["id"].as_str().unwrap_or_default().to_owned();

    // The new account can act in its role at once.
    let r = app.post("/api/v1/tokens", admin, json!({"name": "laptop", "user_id": new_id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let new_token = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let r = app
        .post(
            "/api/v1/incidents",
            &new_token,
            json!({"title": "by the new responder", "severity": "low", "type": "other"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["created_by"]["name"], "New Person");

    // With a password: nothing is generated.
    let chosen = "a perfectly fine passphrase";
    let r = app
        .post(
            "/api/v1/users",
            admin,
            json!({"email": "chosen@example.com", "name": "Chosen", "role": "viewer", "password": chosen}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body.get("generated_password").is_none(), "{}", r.text);
    assert!(password_works(&app, "chosen@example.com", chosen).await);
    assert!(!password_works(&app, "chosen@example.com", "a perfectly fine passphrasE").await);

    // Passwords appear nowhere afterwards.
    let listing = app.get("/api/v1/users", admin).await;
    assert_eq!(listing.body["items"].as_array().map(Vec::len), Some(5));
    let audit = audit_text(&app).await;
    for secret in [generated.as_str(), chosen] {
        assert!(!listing.text.contains(secret) && !audit.contains(secret), "a password leaked");
    }
    assert!(!listing.text.contains("password"), "{}", listing.text);

    let before = Snapshot::capture(&app).await;
    let refusals = [
        (StatusCode::CONFLICT, "conflict", json!({"email": "chosen@example.com", "name": "Again", "role": "viewer"})),
        (StatusCode::CONFLICT, "conflict", json!({"email": "ADMIN@example.com", "name": "Again", "role": "viewer"})),
        (
            StatusCode::CONFLICT,
            "conflict",
            json!({"email": " new.person@example.com", "name": "Again", "role": "admin"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "weak@example.com", "name": "W", "role": "viewer", "password": "short"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "weak@example.com", "name": "W", "role": "viewer", "password": "elevenchars"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "weak@example.com", "name": "W", "role": "viewer", "password": ""}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "weak@example.com", "name": "W", "role": "viewer", "password": "p".repeat(1025)}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "not-an-email", "name": "W", "role": "viewer"}),
        ),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", json!({"email": "", "name": "W", "role": "viewer"})),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "a b@example.com", "name": "W", "role": "viewer"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "w@example.com", "name": "   ", "role": "viewer"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            json!({"email": "w@example.com", "name": "n".repeat(101), "role": "viewer"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            json!({"email": "w@example.com", "name": "W", "role": "root"}),
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            json!({"email": "w@example.com", "name": "W", "role": "Admin"}),
        ),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", json!({"email": "w@example.com", "name": "W"})),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            json!({"email": "w@example.com", "name": "W", "role": "viewer", "disabled": true}),
        ),
    ];
    for (status, code, body) in refusals {
        let r = app.post("/api/v1/users", admin, body.clone()).await;
        assert_refused(&app, &before, &r, status, code, &format!("create user {body}")).await;
    }
}

async fn admins_update_users(app: TestApp) {
    let admin = &app.admin.token;
    let incident = json!({"title": "x", "severity": "low", "type": "other"});
    let patch = async |id: firebreak_domain::UserId, body: Value| {
        app.call(Method::PATCH, &format!("/api/v1/users/{id}"), admin, Some(body)).await
    };

    // Role changes take effect on the next request.
    let r = patch(app.responder.user.id, json!({"role": "viewer"})).await;
    assert_eq!((r.status, r.body["role"].as_str()), (StatusCode::OK, Some("viewer")), "{}", r.text);
    let r = app.post("/api/v1/incidents", &app.responder.token, incident.clone()).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = patch(app.responder.user.id, json!({"role": "responder"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.post("/api/v1/incidents", &app.responder.token, incident.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = patch(app.viewer.user.id, json!({"role": "admin"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get("/api/v1/audit", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "a promoted viewer reads the audit log: {}", r.text);
    let r = patch(app.viewer.user.id, json!({"role": "viewer"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Disabling stops the user's tokens; enabling brings them back.
    let r = patch(app.viewer.user.id, json!({"disabled": true})).await;
    assert_eq!((r.status, r.body["disabled"].as_bool()), (StatusCode::OK, Some(true)), "{}", r.text);
    for path in ["/api/v1/me", "/api/v1/incidents"] {
        assert_unauthorized(&app.get(path, &app.viewer.token).await, &format!("disabled viewer GET {path}"));
    }
    let r = app.get("/api/v1/users", admin).await;
    let disabled: Vec<&str> = r.body["items"]
        .as_array()
        .map(|a| a.iter().filter(|u| u["disabled"] == true).filter_map(|u| u["email"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(disabled, ["viewer@example.com"]);
    let r = patch(app.viewer.user.id, json!({"disabled": false, "name": "  Vera Viewer "})).await;
    assert_eq!(
        (r.status, r.body["disabled"].as_bool(), r.body["name"].as_str()),
        (StatusCode::OK, Some(false), Some("Vera Viewer")),
        "{}",
        r.text
    );
    let r = app.get("/api/v1/me", &app.viewer.token).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some("Vera Viewer")), "{}", r.text);

    // Admins may not lock themselves out; another admin may demote them.
    let before = Snapshot::capture(&app).await;
    for body in [
        json!({"role": "responder"}),
        json!({"role": "viewer"}),
        json!({"disabled": true}),
        json!({"role": "viewer", "name": "Renamed too"}),
        json!({"role": "admin", "disabled": true}),
    ] {
        let r = patch(app.admin.user.id, body.clone()).await;
        assert_refused(&app, &before, &r, StatusCode::CONFLICT, "conflict", &format!("self {body}")).await;
    }
    let refusals = [
        (uuid::Uuid::new_v4().to_string(), json!({"name": "x"}), StatusCode::NOT_FOUND, "not_found"),
        ("not-a-uuid".to_owned(), json!({"name": "x"}), StatusCode::NOT_FOUND, "not_found"),
        (app.viewer.user.id.to_string(), json!({"name": ""}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            app.viewer.user.id.to_string(),
            json!({"name": "a\nb"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (app.viewer.user.id.to_string(), json!({"role": "root"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (app.viewer.user.id.to_string(), json!({"disabled": "yes"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            app.viewer.user.id.to_string(),
            json!({"email": "other@example.com"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            app.viewer.user.id.to_string(),
            json!({"password": "a new password here"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (id, body, status, code) in refusals {
        let r = app.call(Method::PATCH, &format!("/api/v1/users/{id}"), admin, Some(body.clone())).await;
        assert_refused(&app, &before, &r, status, code, &format!("PATCH {id} {body}")).await;
    }
    let r = patch(app.admin.user.id, json!({"role": "admin", "disabled": false, "name": "Ada Admin"})).await;
    assert_eq!(
        (r.status, r.body["name"].as_str()),
        (StatusCode::OK, Some("Ada Admin")),
        "harmless self-edits are fine: {}",
        r.text
    );

    let r = app
        .post("/api/v1/users", admin, json!({"email": "second@example.com", "name": "Second", "role": "admin"}))
        .await;
    let second = r.body["user"]["id"].as_str().unwrap_or_default().to_owned();
    let r = app.post("/api/v1/tokens", admin, json!({"name": "second", "user_id": second})).await;
    let second_token = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.admin.user.id),
            &second_token,
            Some(json!({"role": "responder"})),
        )
        .await;
    assert_eq!((r.status, r.body["role"].as_str()), (StatusCode::OK, Some("responder")), "{}", r.text);
    assert_error(&app.get("/api/v1/users", admin).await, StatusCode::FORBIDDEN, "forbidden");

    let actions: Vec<String> = all_pages(&app, "/api/v1/audit", &second_token)
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "user.update").count(), 8, "{actions:?}");
}

async fn tokens_are_shown_once_work_at_once_and_can_be_revoked(app: TestApp) {
    let admin = &app.admin.token;
    let r = app.post("/api/v1/tokens", admin, json!({"name": "ci-deploys"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let id = r.body["token"]["id"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("fbk_") && secret.len() >= 40, "secret {secret:?}");
    assert_eq!(keys(&r.body["token"]), set(&["id", "user_id", "name", "created_at", "last_used_at", "revoked_at"]));
    assert_eq!(r.body["token"]["user_id"], json!(app.admin.user.id));
    assert_eq!(r.body["token"]["name"], "ci-deploys");
    assert!(r.body["token"]["last_used_at"].is_null() && r.body["token"]["revoked_at"].is_null(), "{}", r.text);

    // It works at once, and the list then shows it was used.
    let r = app.get("/api/v1/me", &secret).await;
    assert_eq!((r.status, r.body["email"].as_str()), (StatusCode::OK, Some("admin@example.com")), "{}", r.text);
    let list = app.get("/api/v1/tokens", admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let listed = list.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert!(listed["last_used_at"].is_string(), "last_used_at after use: {listed}");
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(4));

    // The secret is shown only once: not in the list, not in the audit log, not as its hash.
    let hash = firebreak_server::auth::secret_hash(&secret);
    let audit = audit_text(&app).await;
    for text in [&list.text, &audit] {
        assert!(!text.contains(&secret) && !text.contains(&secret[4..]) && !text.contains(&hash), "the secret leaked");
        assert!(!text.contains("\"secret\"") && !text.contains("token_hash"));
    }
    for t in list.body["items"].as_array().into_iter().flatten() {
        assert_eq!(keys(t), set(&["id", "user_id", "name", "created_at", "last_used_at", "revoked_at"]));
    }

    // A token for someone else acts as them.
    let r = app.post("/api/v1/tokens", admin, json!({"name": "pager bot", "user_id": app.responder.user.id})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let responder_secret = r.body["secret"].as_str().unwrap_or_default().to_owned();
    assert_ne!(responder_secret, secret);
    let r = app.get("/api/v1/me", &responder_secret).await;
    assert_eq!(r.body["email"], "responder@example.com");
    assert_error(&app.get("/api/v1/users", &responder_secret).await, StatusCode::FORBIDDEN, "forbidden");
    let r = app.get(&format!("/api/v1/tokens?user_id={}", app.responder.user.id), admin).await;
    let names: BTreeSet<&str> =
        r.body["items"].as_array().map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect()).unwrap_or_default();
    assert_eq!(names, BTreeSet::from(["test", "pager bot"]));

    // Revoked: refused at once; the others keep working.
    let r = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["revoked_at"].is_string(), "{}", r.text);
    assert_unauthorized(&app.get("/api/v1/me", &secret).await, "revoked token");
    assert_eq!(app.get("/api/v1/me", admin).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &responder_secret).await.status, StatusCode::OK);

    // Revoking again changes nothing (and audits nothing).
    let before = Snapshot::capture(&app).await;
    let r = app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    before.assert_unchanged(&app, "second revoke").await;

    let refusals = [
        (json!({"name": ""}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (json!({"name": "n".repeat(101)}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"name": "x", "secret": "fbk_chosen-by-me"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"name": "x", "user_id": "nobody"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"name": "x", "user_id": uuid::Uuid::new_v4()}), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (body, status, code) in refusals {
        let r = app.post("/api/v1/tokens", admin, body.clone()).await;
        assert_refused(&app, &before, &r, status, code, &format!("create token {body}")).await;
    }

    // An admin may revoke the very token they call with.
    let r = app.post("/api/v1/tokens", admin, json!({"name": "self-destruct"})).await;
    let own = r.body["secret"].as_str().unwrap_or_default().to_owned();
    let own_id = r.body["token"]["id"].as_str().unwrap_or_default().to_owned();
    let r = app.call(Method::DELETE, &format!("/api/v1/tokens/{own_id}"), &own, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_unauthorized(&app.get("/api/v1/me", &own).await, "self-revoked token");

    let entries = all_pages(&app, "/api/v1/audit", admin).await;
    let count = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    // Three tokens from the harness, three here.
    assert_eq!((count("token.create"), count("token.revoke")), (6, 2));
    let revoke =
        entries.iter().find(|e| e["action"] == "token.revoke" && e["target"] == format!("token:{id}").as_str());
    assert!(revoke.is_some_and(|e| e["actor_name"] == "admin@example.com" && e["via"] == "api"), "{entries:?}");
}

async fn me_and_changing_my_password(app: TestApp) {
    for (member, role) in [(&app.admin, "admin"), (&app.responder, "responder"), (&app.viewer, "viewer")] {
        let r = app.get("/api/v1/me", &member.token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(keys(&r.body), set(&["id", "email", "name", "role", "disabled", "created_at"]));
        assert_eq!((&r.body["id"], r.body["role"].as_str()), (&json!(member.user.id), Some(role)));
        assert_eq!(r.body["email"], member.user.email.as_str());
    }

    let tok = &app.responder.token;
    let email = "responder@example.com";
    let before = Snapshot::capture(&app).await;
    let refusals = [
        (
            json!({"current_password": "not my password", "new_password": "a long new password"}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (json!({"current_password": "", "new_password": "a long new password"}), StatusCode::FORBIDDEN, "forbidden"),
        (json!({"current_password": "not my password", "new_password": "short"}), StatusCode::FORBIDDEN, "forbidden"),
        (
            json!({"current_password": PASSWORD, "new_password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"current_password": PASSWORD, "new_password": "elevenchars"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"current_password": PASSWORD, "new_password": "x".repeat(1025)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (json!({"current_password": PASSWORD}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (json!({"new_password": "a long new password"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            json!({"current_password": PASSWORD, "new_password": "a long new password", "user_id": app.admin.user.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in refusals {
        let r = app.post("/api/v1/me/password", tok, body.clone()).await;
        assert_refused(&app, &before, &r, status, code, &format!("password change {body}")).await;
        assert!(password_works(&app, email, PASSWORD).await, "the old password must still work");
    }

    let new = "twelve chars";
    let r = app.post("/api/v1/me/password", tok, json!({"current_password": PASSWORD, "new_password": new})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty(), "{}", r.text);
    assert!(password_works(&app, email, new).await && !password_works(&app, email, PASSWORD).await);
    // API tokens outlive a password change; only web sessions end.
    assert_eq!(app.get("/api/v1/me", tok).await.status, StatusCode::OK);
    let r = app
        .post("/api/v1/me/password", tok, json!({"current_password": PASSWORD, "new_password": "yet another password"}))
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app
        .post("/api/v1/me/password", tok, json!({"current_password": new, "new_password": "yet another password"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Only the caller's own password changed.
    assert!(
        password_works(&app, "admin@example.com", PASSWORD).await
            && password_works(&app, "viewer@example.com", PASSWORD).await
    );

    let entries = all_pages(&app, "/api/v1/audit", &app.admin.token).await;
    let changes: Vec<&Value> = entries.iter().filter(|e| e["action"] == "user.set_password").collect();
    assert_eq!(changes.len(), 2, "{entries:?}");
    for e in changes {
        assert_eq!(
            (e["target"].as_str(), e["actor_name"].as_str()),
            (Some(format!("user:{}", app.responder.user.id).as_str()), Some(email))
        );
    }
    let audit = audit_text(&app).await;
    for secret in [PASSWORD, new, "yet another password"] {
        assert!(!audit.contains(secret), "a password is in the audit log");
    }
}

/// Every mutating call is in the audit log, newest first, chained, and pages cleanly.
async fn the_audit_log_records_every_change_newest_first(app: TestApp) {
    let admin = &app.admin.token;
    let tok = &app.responder.token;
    let setup_entries = all_pages(&app, "/api/v1/audit", admin).await.len();
    let mut expected: Vec<(String, String)> = Vec::new();
    let r = app.post("/api/v1/incidents", tok, json!({"title": "Audited", "severity": "high", "type": "outage"})).await;
    let incident_target = format!("incident:{}", r.body["id"].as_str().unwrap_or_default());
    expected.push(("incident.create".into(), incident_target.clone()));
    let ok = |r: &Reply| assert!(r.status.is_success(), "{}", r.text);
    ok(&app.post("/api/v1/incidents/1/acknowledge", tok, json!({})).await);
    expected.push(("incident.acknowledge".into(), incident_target.clone()));
    ok(&app.post("/api/v1/incidents/1/notes", tok, json!({"body": "looking"})).await);
    expected.push(("incident.note".into(), incident_target.clone()));
    ok(&app
        .call(Method::PUT, "/api/v1/incidents/1/roles/commander", tok, Some(json!({"email": "responder@example.com"})))
        .await);
    expected.push(("incident.assign_role".into(), incident_target.clone()));
    ok(&app
        .call(Method::PATCH, "/api/v1/incidents/1", tok, Some(json!({"severity": "critical", "summary": "worse"})))
        .await);
    expected.push(("incident.update".into(), incident_target.clone()));
    // Refusals and no-op edits leave no trace.
    assert_error(
        &app.post("/api/v1/incidents/1/acknowledge", tok, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    assert_error(
        &app.post("/api/v1/incidents", &app.viewer.token, json!({"title": "x", "severity": "low", "type": "other"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post("/api/v1/incidents", tok, json!({"title": "", "severity": "low", "type": "other"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    ok(&app.call(Method::PATCH, "/api/v1/incidents/1", tok, Some(json!({"severity": "critical"}))).await);
    for action in ["contain", "resolve", "reopen", "close"] {
        ok(&app.post(&format!("/api/v1/incidents/1/{action}"), tok, json!({})).await);
        expected.push((format!("incident.{action}"), incident_target.clone()));
    }
    let r = app
        .post("/api/v1/users", admin, json!({"email": "audited@example.com", "name": "Audited", "role": "viewer"}))
        .await;
    let user_target = format!("user:{}", r.body["user"]["id"].as_str().unwrap_or_default());
    expected.push(("user.create".into(), user_target.clone()));
    ok(&app
        .call(Method::PATCH, &format!("/api/v1/users/{}", &user_target[5..]), admin, Some(json!({"role": "responder"})))
        .await);
    expected.push(("user.update".into(), user_target.clone()));
    let r = app.post("/api/v1/tokens", admin, json!({"name": "audited"})).await;
    let token_target = format!("token:{}", r.body["token"]["id"].as_str().unwrap_or_default());
    expected.push(("token.create".into(), token_target.clone()));
    ok(&app.call(Method::DELETE, &format!("/api/v1/tokens/{}", &token_target[6..]), admin, None).await);
    expected.push(("token.revoke".into(), token_target.clone()));
    ok(&app
        .post("/api/v1/me/password", tok, json!({"current_password": PASSWORD, "new_password": "a fresh password"}))
        .await);
    expected.push(("user.set_password".into(), format!("user:{}", app.responder.user.id)));

    // Newest first, with the details of who and how.
    let all = all_pages(&app, "/api/v1/audit", admin).await;
    assert_eq!(all.len(), setup_entries + expected.len());
    let newest: Vec<(String, String)> = all[..expected.len()]
        .iter()
        .rev()
        .map(|e| {
            (e["action"].as_str().unwrap_or_default().to_owned(), e["target"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(newest, expected);
    for e in &all[..expected.len()] {
        let action = e["action"].as_str().unwrap_or_default();
        let by = if action.starts_with("incident.") || action == "user.set_password" {
            "responder@example.com"
        } else {
            "admin@example.com"
        };
        assert_eq!((e["actor_name"].as_str(), e["via"].as_str()), (Some(by), Some("api")), "{e}");
        assert!(e["at"].is_string() && e["hash"].as_str().is_some_and(|h| h.len() == 64), "{e}");
    }
    let seqs: Vec<i64> = all.iter().filter_map(|e| e["seq"].as_i64()).collect();
    let total = i64::try_from(all.len()).unwrap_or_default();
    assert_eq!(seqs, (1..=total).rev().collect::<Vec<_>>(), "newest first, no gaps");
    for pair in all.windows(2) {
        assert_eq!(pair[0]["prev_hash"], pair[1]["hash"], "each entry chains to the one before it");
    }
    assert_audit_intact(&app).await;

    // Cursor pagination: every page size gives the same entries, and only the last page
    // lacks a cursor — also when the pages come out even.
    assert_eq!(all.len(), 20, "this test relies on 20 entries for an even split");
    for limit in [1usize, 3, 4, 5, 7, 10, 19, 20, 21, 200] {
        let mut got: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/audit?limit={limit}&cursor={c}"),
                None => format!("/api/v1/audit?limit={limit}"),
            };
            let r = app.get(&path, admin).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            let items = r.body["items"].as_array().cloned().unwrap_or_default();
            assert!(!items.is_empty() && items.len() <= limit, "{path}: page of {} entries", items.len());
            pages += 1;
            got.extend(items);
            match r.body.get("next_cursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
            assert!(pages <= all.len(), "{path}: pagination does not end");
        }
        assert_eq!(got, all, "limit {limit}");
        assert_eq!(pages, all.len().div_ceil(limit), "limit {limit}: pages");
    }
    let r = app.get("/api/v1/audit?limit=0", admin).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(1), "a page size of 0 is read as 1");
    let r = app.get("/api/v1/audit?cursor=1", admin).await;
    assert_eq!((r.body["items"].as_array().map(Vec::len), r.body.get("next_cursor")), (Some(0), None));

    // The CLI is told apart from other API clients.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/incidents")
        .header(header::AUTHORIZATION, format!("Bearer {tok}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, "firebreak-cli/0.1.0")
        .body(Body::from(json!({"title": "from the CLI", "severity": "low", "type": "other"}).to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);
    let r = app.get("/api/v1/audit?limit=1", admin).await;
    assert_eq!(
        (r.body["items"][0]["action"].as_str(), r.body["items"][0]["via"].as_str()),
        (Some("incident.create"), Some("cli"))
    );
}

/// Resolves a local `$ref` (`#/a/b`) in `doc`.
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

async fn the_openapi_document_describes_every_route(app: TestApp) {
    app.declare("target").await;
    let r = app.raw(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ct = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{ct}");
    let doc = &r.body;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "openapi: {}", doc["openapi"]);
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()) && doc["info"]["version"].is_string());

    let expected: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        ("/api/v1/incidents", set(&["get", "post"])),
        ("/api/v1/incidents/{id}", set(&["get", "patch"])),
        ("/api/v1/incidents/{id}/{action}", set(&["post"])),
        ("/api/v1/incidents/{id}/notes", set(&["post"])),
        ("/api/v1/incidents/{id}/merge", set(&["post"])),
        ("/api/v1/incidents/{id}/roles/{role}", set(&["put"])),
        ("/api/v1/incidents/{id}/timeline", set(&["get"])),
        ("/api/v1/incidents/{id}/participants", set(&["get", "post"])),
        ("/api/v1/incidents/{id}/restricted", set(&["put"])),
        ("/api/v1/incidents/{id}/evidence", set(&["post"])),
        ("/api/v1/incidents/{id}/changes", set(&["get"])),
        ("/api/v1/incidents/{id}/alerts", set(&["get"])),
        ("/api/v1/incidents/{id}/updates", set(&["get", "post"])),
        ("/api/v1/incidents/{id}/updates/preview", set(&["post"])),
        ("/api/v1/procedures/files", set(&["get"])),
        ("/api/v1/procedures/files/{path}", set(&["get", "put"])),
        ("/api/v1/me", set(&["get"])),
        ("/api/v1/me/password", set(&["post"])),
        ("/api/v1/users", set(&["get", "post"])),
        ("/api/v1/users/{id}", set(&["patch"])),
        ("/api/v1/tokens", set(&["get", "post"])),
        ("/api/v1/tokens/{id}", set(&["delete"])),
        ("/api/v1/audit", set(&["get"])),
        ("/api/v1/services", set(&["get", "post"])),
        ("/api/v1/services/{id}", set(&["get", "patch"])),
        ("/api/v1/services/{id}/integrations", set(&["get", "post"])),
        ("/api/v1/integrations/{id}/rotate-key", set(&["post"])),
        ("/api/v1/integrations/{id}/heartbeat", set(&["get", "put"])),
        ("/api/v1/integrations/{id}/mapping", set(&["get", "put"])),
        ("/api/v1/integrations/{id}/mapping/test", set(&["post"])),
        ("/api/v1/alerts", set(&["get"])),
        ("/api/v1/alerts/{id}", set(&["get"])),
        ("/api/v1/alerts/{id}/{action}", set(&["post"])),
        ("/api/v1/status-pages", set(&["get", "post"])),
        ("/api/v1/status-pages/{slug}", set(&["get", "patch"])),
        ("/api/v1/status-pages/{slug}/incidents", set(&["get", "post"])),
        ("/api/v1/status-pages/{slug}/incidents/{id}/updates", set(&["post"])),
        ("/api/v1/status-pages/{slug}/updates/{id}/publish", set(&["post"])),
        ("/api/v1/status-pages/{slug}/maintenance", set(&["post"])),
        ("/api/v1/incidents/{id}/status-page/preview", set(&["post"])),
        ("/api/v1/incidents/{id}/status-page/drafts", set(&["post"])),
        ("/api/v1/status-pages/{slug}/components", set(&["post"])),
        ("/api/v1/status-pages/{slug}/components/{id}/status", set(&["put"])),
        ("/api/v1/status-pages/{slug}/subscribers", set(&["get", "post"])),
        ("/api/v1/status-pages/{slug}/subscribers/export", set(&["get"])),
        ("/api/v1/status-pages/{slug}/subscribers/{id}", set(&["delete"])),
        ("/api/v1/alerts/{id}/attach", set(&["post"])),
        ("/api/v1/alerts/{id}/detach", set(&["post"])),
        ("/api/v1/changes", set(&["get"])),
        ("/api/v1/rules", set(&["get", "post"])),
        ("/api/v1/services/{id}/checks", set(&["post"])),
        ("/api/v1/checks", set(&["get"])),
        ("/api/v1/checks/{id}/history", set(&["get"])),
        ("/api/v1/rules/{id}", set(&["delete"])),
        ("/api/v1/maintenance-windows", set(&["get", "post"])),
        ("/api/v1/maintenance-windows/{id}", set(&["delete"])),
        ("/api/v1/schedules", set(&["get", "post"])),
        ("/api/v1/schedules/{id}", set(&["get", "put", "delete"])),
        ("/api/v1/schedules/{id}/on-call", set(&["get"])),
        ("/api/v1/schedules/{id}/shifts", set(&["get"])),
        ("/api/v1/schedules/{id}/overrides", set(&["post"])),
        ("/api/v1/oncall", set(&["get"])),
        ("/api/v1/oncall/unreachable", set(&["get"])),
        ("/api/v1/escalation-policies", set(&["get", "post"])),
        ("/api/v1/escalation-policies/{id}", set(&["get", "put", "delete"])),
        ("/api/v1/escalation-policies/{id}/plan", set(&["get"])),
        ("/api/v1/schedules/{id}/calendar-feeds", set(&["post"])),
        ("/api/v1/me/calendar-feeds", set(&["get", "post"])),
        ("/api/v1/calendar-feeds/{id}", set(&["delete"])),
        ("/api/v1/me/contact-methods", set(&["get", "post"])),
        ("/api/v1/me/contact-methods/{id}", set(&["delete"])),
        ("/api/v1/me/contact-methods/{id}/verify", set(&["post"])),
        ("/api/v1/me/contact-methods/{id}/resend", set(&["post"])),
        ("/api/v1/me/contact-methods/{id}/test", set(&["post"])),
        ("/api/v1/me/notification-rules", set(&["get", "post"])),
        ("/api/v1/me/notification-rules/{id}", set(&["delete"])),
        ("/api/v1/me/handoff-notifications", set(&["put"])),
        ("/api/v1/me/notifications", set(&["get"])),
        ("/api/v1/incidents/{id}/escalation", set(&["get"])),
        ("/api/v1/incidents/{id}/escalate", set(&["post"])),
        ("/api/v1/incidents/{id}/reassign", set(&["post"])),
        ("/api/v1/incidents/{id}/notifications", set(&["get"])),
        ("/api/v1/incidents/{id}/timeline/export", set(&["get"])),
        ("/api/v1/procedures", set(&["get"])),
        ("/api/v1/procedures/trees/{name}", set(&["get"])),
        ("/api/v1/incidents/{id}/triage", set(&["get", "post"])),
        ("/api/v1/incidents/{id}/checklist", set(&["get"])),
        ("/api/v1/incidents/{id}/checklist/{position}", set(&["post"])),
        ("/api/v1/incidents/{id}/playbook", set(&["post"])),
        ("/api/v1/incidents/{id}/checklist/{position}/run", set(&["post"])),
        ("/api/v1/incidents/{id}/postmortem", set(&["get", "post", "put"])),
        ("/api/v1/incidents/{id}/postmortem/draft", set(&["get"])),
        ("/api/v1/incidents/{id}/postmortem/preview", set(&["post"])),
        ("/api/v1/incidents/{id}/postmortem/revisions", set(&["get"])),
        ("/api/v1/incidents/{id}/postmortem/diff", set(&["get"])),
        ("/api/v1/incidents/{id}/postmortem/review", set(&["post"])),
        ("/api/v1/incidents/{id}/postmortem/sign-off", set(&["post"])),
        ("/api/v1/incidents/{id}/postmortem/publish", set(&["post"])),
        ("/api/v1/incidents/{id}/postmortem/export", set(&["get"])),
        ("/api/v1/incidents/{id}/timeline/{seq}/star", set(&["post", "delete"])),
        ("/api/v1/incidents/{id}/action-items", set(&["get", "post"])),
        ("/api/v1/action-items", set(&["get"])),
        ("/api/v1/action-items/{number}", set(&["get", "patch"])),
        ("/api/v1/analytics", set(&["get"])),
        ("/api/v1/analytics.csv", set(&["get"])),
    ]);
    let paths = doc["paths"].as_object().unwrap_or_else(|| panic!("no paths: {doc}"));
    let documented: BTreeMap<&str, BTreeSet<String>> = paths
        .iter()
        .map(|(p, item)| {
            (
                p.as_str(),
                keys(item)
                    .into_iter()
                    .filter(|k| !matches!(k.as_str(), "parameters" | "summary" | "description" | "servers"))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(documented, expected);

    // A valid document: unique operation ids, declared path parameters, responses, and
    // every reference resolves.
    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        let wanted: BTreeSet<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        for (method, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(operation_ids.insert(id.to_owned()), "duplicate operationId {id}");
            }
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(declared, wanted, "{method} {path}: path parameters");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: responses");
        }
    }
    let mut refs = Vec::new();
    collect_refs(doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        assert!(resolve(doc, &reference).is_some(), "dangling $ref {reference}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"].as_str().map(str::to_lowercase).as_deref(),
        Some("bearer")
    );

    // Every documented operation is served (with these parameters filled in).
    let token_id = uuid::Uuid::new_v4().to_string();
    let viewer = app.viewer.user.id.to_string();
    for (path, methods) in &expected {
        let concrete = if path.starts_with("/api/v1/users/") {
            path.replace("{id}", &viewer)
        } else if path.starts_with("/api/v1/tokens/") {
            path.replace("{id}", &token_id)
        } else {
            path.replace("{id}", "1").replace("{action}", "acknowledge").replace("{role}", "commander")
        };
        for method in methods {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let r = app.call(method.clone(), &concrete, &app.admin.token, body).await;
            let unrouted =
                r.status == StatusCode::METHOD_NOT_ALLOWED || r.body["error"]["message"] == "route not found";
            assert!(
                !unrouted && !r.status.is_server_error(),
                "{method} {concrete} is documented but not served: {}",
                r.text
            );
        }
    }
}

async fn health_readiness_and_metrics(app: TestApp) {
    for (path, text) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let r = app.raw(Method::GET, path, None, None).await;
        assert_eq!((r.status, r.text.trim()), (StatusCode::OK, text), "{path}");
    }
    for i in 0..4 {
        app.declare(&format!("incident {i}")).await;
    }
    let tok = &app.responder.token;
    assert_eq!(app.post("/api/v1/incidents/1/acknowledge", tok, json!({})).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/v1/incidents/2/resolve", tok, json!({})).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/v1/incidents/2/acknowledge", tok, json!({})).await.status, StatusCode::CONFLICT);
    let r = app.post("/api/v1/incidents", tok, json!({"title": "", "severity": "low", "type": "other"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/api/v1/definitely-not-a-route-7f3a", tok).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/incidents/INC-77", tok).await.status, StatusCode::NOT_FOUND);

    let r = app.raw(Method::GET, "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ct = r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(ct.starts_with("text/plain") && ct.contains("version=0.0.4"), "{ct}");
    let metrics = &r.text;
    let samples: BTreeMap<&str, f64> = metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l:?}"));
            (name, value.parse::<f64>().unwrap_or_else(|e| panic!("{l:?}: {e}")))
        })
        .collect();
    for (status, n) in
        [("triggered", 2.0), ("acknowledged", 1.0), ("contained", 0.0), ("resolved", 1.0), ("closed", 0.0)]
    {
        let key = format!("firebreak_incidents{{status=\"{status}\"}}");
        assert_eq!(samples.get(key.as_str()), Some(&n), "{key} in\n{metrics}");
    }
    let requests = |method: &str, route: &str, status: u16| {
        let key = format!("firebreak_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}");
        samples.get(key.as_str()).copied()
    };
    assert_eq!(requests("POST", "/api/v1/incidents", 201), Some(4.0), "{metrics}");
    assert_eq!(requests("POST", "/api/v1/incidents", 422), Some(1.0), "{metrics}");
    assert_eq!(requests("POST", "/api/v1/incidents/{id}/{action}", 200), Some(2.0), "{metrics}");
    assert_eq!(requests("POST", "/api/v1/incidents/{id}/{action}", 409), Some(1.0), "{metrics}");
    assert_eq!(requests("GET", "/api/v1/incidents/{id}", 404), Some(1.0), "{metrics}");
    assert_eq!(requests("GET", "/healthz", 200), Some(1.0), "{metrics}");
    assert_eq!(samples.get("firebreak_up"), Some(&1.0));
    assert!(
        metrics.contains("# TYPE firebreak_http_requests_total counter")
            && metrics.contains("# TYPE firebreak_incidents gauge")
    );
    assert!(samples.keys().any(|k| k.starts_with("firebreak_http_request_duration_seconds_bucket{")), "{metrics}");
    // Raw paths never become labels (they would grow without bound).
    assert!(!metrics.contains("definitely-not-a-route") && !metrics.contains("INC-77"), "{metrics}");
}

on_both_backends!(
    missing_bad_and_revoked_credentials_are_401,
    the_bearer_scheme_is_case_insensitive,
    viewers_cannot_change_anything,
    responders_cannot_administer,
    admins_create_users,
    admins_update_users,
    tokens_are_shown_once_work_at_once_and_can_be_revoked,
    me_and_changing_my_password,
    the_audit_log_records_every_change_newest_first,
    the_openapi_document_describes_every_route,
    health_readiness_and_metrics,
);
