//! Paging through the web UI: the profile page (contact methods added and deleted with the
//! password, verified with the code from the outbox, tested; notification rules; the hand-off
//! setting; calendar feeds), "my on-call", the incident page's escalation with "escalate now"
//! and "reassign", and the service form's escalation policy. Forged forms change nothing;
//! hostile labels are escaped. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use common::{Reply, TestApp, csrf_of, form, location, page, sign_in, testid};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";
const HOOK: &str = "https://hooks.example.com/x";

async fn get_page(app: &TestApp, path: &str, cookie: &str) -> (Reply, String) {
    let r = app.send(page(path, cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    let csrf = csrf_of(&r.text);
    assert!(!csrf.is_empty(), "{path} has a CSRF token");
    (r, csrf)
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

/// Asserts a redirect back to the profile.
fn assert_back(r: &Reply) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert!(location(r).starts_with("/profile"), "{}", location(r));
}

async fn my_methods(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/me/contact-methods", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].clone()
}

async fn my_rules(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/me/notification-rules", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].clone()
}

/// The code in the verification message waiting in the outbox for `method_id`.
async fn code_from_outbox(app: &TestApp, method_id: &str) -> String {
    let claimed = app
        .store
        .claim_notifications(app.state.clock.now(), TimeDelta::zero(), TimeDelta::seconds(60), 10)
        .await
        .expect("claim notifications");
    let row = claimed
        .iter()
        .find(|n| n.kind == "verification" && n.method.id.to_string() == method_id)
        .unwrap_or_else(|| panic!("no verification for {method_id} in {claimed:?}"));
    let text = row.payload["text"].as_str().expect("a text payload");
    let digits: Vec<String> =
        text.split(|c: char| !c.is_ascii_digit()).filter(|w| w.len() == 6).map(str::to_owned).collect();
    digits.first().cloned().unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// Adds a webhook through the profile form and verifies it with its code; returns its id.
async fn verified_webhook(app: &TestApp, cookie: &str, token: &str, label: &str) -> String {
    let (_, csrf) = get_page(app, "/profile", cookie).await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("kind", "webhook"),
        ("address", HOOK),
        ("label", label),
        ("current_password", common::PASSWORD),
    ];
    let r = post(app, "/profile/contact-methods", cookie, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let methods = my_methods(app, token).await;
    let id = methods[0]["id"].as_str().expect("a method id").to_owned();
    let code = code_from_outbox(app, &id).await;
    let r =
        post(app, &format!("/profile/contact-methods/{id}/verify"), cookie, &[("csrf", &csrf), ("code", &code)]).await;
    assert_back(&r);
    id
}

async fn profile_adds_verifies_and_deletes_contact_methods(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let token = app.responder.token.clone();
    let (r, csrf) = get_page(&app, "/profile", &cookie).await;
    assert!(r.text.contains("href=\"/profile\" aria-current=\"page\">Profile</a>"), "the nav marks Profile");
    assert!(r.text.contains("No contact methods yet"), "{}", r.text);
    assert!(r.text.contains("<option value=\"webhook\">webhook</option>"), "webhooks can always be added");
    assert!(!r.text.contains("<option value=\"sms\">"), "no SMS provider is configured: {}", r.text);
    assert!(r.text.contains("an http(s) URL that receives signed JSON"), "the address hint is shown");

    // The wrong password adds nothing.
    let add = async |password: &str, csrf: &str| {
        let fields = [
            ("csrf", csrf),
            ("kind", "webhook"),
            ("address", HOOK),
            ("label", HOSTILE),
            ("current_password", password),
        ];
        post(&app, "/profile/contact-methods", &cookie, &fields).await
    };
    let r = add("wrong password", &csrf).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(testid(&r.text, "error").as_deref(), Some("the current password is wrong"));
    assert!(r.text.contains(&format!("value=\"{HOOK}\"")), "what was typed is kept: {}", r.text);
    assert_eq!(my_methods(&app, &token).await, json!([]), "nothing added");

    // The right one adds it, shows the webhook's secret once, and escapes the label.
    let r = add(common::PASSWORD, &csrf).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let secret = testid(&r.text, "webhook-secret").unwrap_or_default();
    assert!(secret.len() >= 32, "the signing secret is shown: {}", r.text);
    assert!(r.text.contains(HOSTILE_ESCAPED) && !r.text.contains(HOSTILE), "{}", r.text);
    let methods = my_methods(&app, &token).await;
    assert_eq!(methods.as_array().map(Vec::len), Some(1), "{methods}");
    assert_eq!(methods[0]["address"], HOOK);
    assert_eq!(methods[0]["verified_at"], Value::Null);
    let id = methods[0]["id"].as_str().expect("a method id").to_owned();
    let (r, _) = get_page(&app, "/profile", &cookie).await;
    assert!(!r.text.contains(&secret), "the secret is shown only once");
    assert_eq!(testid(&r.text, "method-state").as_deref(), Some("not verified"));
    assert!(r.text.contains(&format!("action=\"/profile/contact-methods/{id}/verify\"")));
    assert!(r.text.contains("Verify a contact method to add rules for it"), "no rule form yet");

    // A wrong code, then the right one.
    let code = code_from_outbox(&app, &id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = format!("/profile/contact-methods/{id}/verify");
    let r = post(&app, &verify, &cookie, &[("csrf", &csrf), ("code", wrong)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(testid(&r.text, "error").is_some(), "{}", r.text);
    assert_eq!(my_methods(&app, &token).await[0]["verified_at"], Value::Null, "still unverified");
    let r = post(&app, &verify, &cookie, &[("csrf", &csrf), ("code", &code)]).await;
    assert_back(&r);
    assert!(my_methods(&app, &token).await[0]["verified_at"].is_string(), "verified");
    let (r, _) = get_page(&app, &location(&r), &cookie).await;
    assert_eq!(testid(&r.text, "method-state").as_deref(), Some("verified"));
    assert!(testid(&r.text, "notice").is_some_and(|n| n.contains("verified")), "{}", r.text);
    assert!(r.text.contains("Send test notification"));

    // A test notification is queued and listed.
    let r = post(&app, &format!("/profile/contact-methods/{id}/test"), &cookie, &[("csrf", &csrf)]).await;
    assert_back(&r);
    let (r, _) = get_page(&app, "/profile", &cookie).await;
    assert!(r.text.contains("data-testid=\"notification\""), "{}", r.text);
    assert!(r.text.contains("<td data-label=\"Kind\">test</td>"), "{}", r.text);

    // Deleting needs the password too.
    let delete = format!("/profile/contact-methods/{id}/delete");
    let r = post(&app, &delete, &cookie, &[("csrf", &csrf), ("current_password", "nope")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(my_methods(&app, &token).await.as_array().map(Vec::len), Some(1), "kept");
    let r = post(&app, &delete, &cookie, &[("csrf", &csrf), ("current_password", common::PASSWORD)]).await;
    assert_back(&r);
    assert_eq!(my_methods(&app, &token).await, json!([]), "deleted");

    // Someone else's method is not found, and not touched.
    let other = sign_in(&app, "admin@example.com").await;
    let theirs = verified_webhook(&app, &other, &app.admin.token, "admin's").await;
    let r = post(
        &app,
        &format!("/profile/contact-methods/{theirs}/delete"),
        &cookie,
        &[("csrf", &csrf), ("current_password", common::PASSWORD)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(my_methods(&app, &app.admin.token).await.as_array().map(Vec::len), Some(1));
}

async fn profile_rules_handoff_and_feeds(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let token = app.responder.token.clone();
    let id = verified_webhook(&app, &cookie, &token, "hook").await;
    let (r, csrf) = get_page(&app, "/profile", &cookie).await;
    assert!(r.text.contains("e.g. push now, SMS after 2 min, voice after 5 min"));
    assert!(r.text.contains(&format!("<option value=\"{id}\">hook (webhook)</option>")), "{}", r.text);

    // Rules: a bad delay adds nothing; a good one is listed and deleted.
    let rules = "/profile/notification-rules";
    for bad in ["241", "-1", "soon"] {
        let r =
            post(&app, rules, &cookie, &[("csrf", &csrf), ("contact_method_id", &id), ("delay_minutes", bad)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
        assert!(testid(&r.text, "error").is_some_and(|e| e.contains("240")), "{}", r.text);
    }
    assert_eq!(my_rules(&app, &token).await, json!([]));
    let r = post(&app, rules, &cookie, &[("csrf", &csrf), ("contact_method_id", &id), ("delay_minutes", "5")]).await;
    assert_back(&r);
    let listed = my_rules(&app, &token).await;
    assert_eq!(listed[0]["delay_minutes"], 5, "{listed}");
    let (r, _) = get_page(&app, "/profile", &cookie).await;
    assert_eq!(testid(&r.text, "rule-delay").as_deref(), Some("after 5 minutes"));
    let rule = listed[0]["id"].as_str().expect("a rule id").to_owned();
    let r = post(&app, &format!("{rules}/{rule}/delete"), &cookie, &[("csrf", &csrf)]).await;
    assert_back(&r);
    assert_eq!(my_rules(&app, &token).await, json!([]));

    // The hand-off setting persists both ways.
    let me = app.responder.user.id;
    assert!(!app.store.handoff_notifications(me).await.expect("handoff"));
    assert_back(&post(&app, "/profile/handoff", &cookie, &[("csrf", &csrf), ("enabled", "on")]).await);
    assert!(app.store.handoff_notifications(me).await.expect("handoff"));
    let (r, _) = get_page(&app, "/profile", &cookie).await;
    assert!(r.text.contains("data-testid=\"handoff\" checked"), "{}", r.text);
    assert_back(&post(&app, "/profile/handoff", &cookie, &[("csrf", &csrf)]).await);
    assert!(!app.store.handoff_notifications(me).await.expect("handoff"));

    // A personal calendar feed: its URL shown once, then it works until deleted.
    let r = post(&app, "/profile/calendar-feeds", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let url = testid(&r.text, "feed-url").unwrap_or_default();
    assert!(url.starts_with("http://firebreak.example.com/calendar/") && url.ends_with(".ics"), "{url}");
    let path = url.trim_start_matches("http://firebreak.example.com").to_owned();
    assert_eq!(app.send(page(&path, "")).await.status, StatusCode::OK);
    let (r, _) = get_page(&app, "/profile", &cookie).await;
    assert!(!r.text.contains(&url), "shown only once");
    assert!(r.text.contains("data-testid=\"feed\""));
    let feeds = app.get("/api/v1/me/calendar-feeds", &token).await.body["items"].clone();
    let feed = feeds[0]["id"].as_str().expect("a feed id").to_owned();
    assert_back(&post(&app, &format!("/profile/calendar-feeds/{feed}/delete"), &cookie, &[("csrf", &csrf)]).await);
    assert_eq!(app.send(page(&path, "")).await.status, StatusCode::NOT_FOUND, "revoked");
}

async fn forged_profile_forms_change_nothing(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let token = app.responder.token.clone();
    let me = app.responder.user.id;
    let add = [("kind", "webhook"), ("address", HOOK), ("label", "x"), ("current_password", common::PASSWORD)];
    // No token at all, an empty one and a forged one.
    let r = post(&app, "/profile/contact-methods", &cookie, &add).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    for forged in ["", "forged"] {
        let mut fields = add.to_vec();
        fields.push(("csrf", forged));
        let r = post(&app, "/profile/contact-methods", &cookie, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{forged:?}: {}", r.text);
        let r = post(&app, "/profile/handoff", &cookie, &[("csrf", forged), ("enabled", "on")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = post(&app, "/profile/calendar-feeds", &cookie, &[("csrf", forged)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = post(&app, "/profile/handoff", &cookie, &[("enabled", "on")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(my_methods(&app, &token).await, json!([]));
    assert!(!app.store.handoff_notifications(me).await.expect("handoff"));
    assert_eq!(app.get("/api/v1/me/calendar-feeds", &token).await.body["items"], json!([]));
    // Signed out: to the sign-in page.
    let r = app.send(page("/profile", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"));
}

/// Sets the app's clock to `at`.
fn set_clock(app: &TestApp, at: &str) {
    let target = chrono::DateTime::parse_from_rfc3339(at).expect("a time");
    app.clock.advance(target.with_timezone(&chrono::Utc) - firebreak_domain::time::now());
}

async fn my_on_call_shows_my_shifts(app: TestApp) {
    // Daily hand-offs at 09:00 UTC between the responder and the admin from Sunday 25
    // October: the responder has Saturday 31 October and Monday 2 November.
    set_clock(&app, "2026-10-31T12:00:00Z");
    let body = json!({"name": HOSTILE, "time_zone": "UTC",
        "layers": [{"name": "primary", "members": [app.responder.user.id, app.admin.user.id],
                    "rotation_length": 1, "rotation_unit": "days", "starts_at": "2026-10-25T09:00"}]});
    let r = app.post("/api/v1/schedules", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, _) = get_page(&app, "/schedules", &cookie).await;
    assert!(r.text.contains("href=\"/oncall/me\""), "the on-call list links to my on-call");
    let (r, _) = get_page(&app, "/oncall/me", &cookie).await;
    assert!(r.text.contains("href=\"/schedules\" aria-current=\"page\">On call</a>"));
    assert_eq!(testid(&r.text, "on-call-state").as_deref(), Some("You are on call now."));
    assert!(r.text.contains(HOSTILE_ESCAPED) && !r.text.contains(HOSTILE), "{}", r.text);
    assert!(r.text.contains("until Sun 2026-11-01 09:00 UTC"), "{}", r.text);
    assert!(r.text.contains("Mon 2026-11-02 09:00 UTC"), "the next shift is listed: {}", r.text);
    // Hers on the 31st, 2nd, 4th, … 14th (cut at the end of the 14 days); none of the admin's.
    assert_eq!(r.text.matches("data-testid=\"my-shift\"").count(), 8, "{}", r.text);
    assert!(r.text.contains("No open incident has paged you"));

    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, "/oncall/me", &viewer).await;
    assert_eq!(testid(&r.text, "on-call-state").as_deref(), Some("You are not on call now."));
    assert!(r.text.contains("No shifts in the next 14 days"));
}

/// A service with a one-level policy paging the responder, and an incident opened on it by
/// an alert; returns (service id, policy id, incident label).
async fn paged_incident(app: &TestApp) -> (String, String, String) {
    let policy = json!({"name": "db policy",
        "levels": [{"targets": [{"type": "user", "id": app.responder.user.id}], "delay_minutes": 5}]});
    let r = app.post("/api/v1/escalation-policies", &app.responder.token, policy).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pid = r.body["id"].as_str().expect("a policy id").to_owned();
    let r =
        app.post("/api/v1/services", &app.responder.token, json!({"name": "db", "escalation_policy_id": pid})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sid = r.body["id"].as_str().expect("a service id").to_owned();
    let r = app
        .post(
            &format!("/api/v1/services/{sid}/integrations"),
            &app.responder.token,
            json!({"type": "pagerduty", "name": "prom"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let key = r.body["key"].as_str().expect("a key").to_owned();
    let event = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": "db down", "source": "db1", "severity": "critical"}});
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/v2/enqueue")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(event.to_string()))
        .expect("a request");
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = app.get("/api/v1/incidents", &app.viewer.token).await;
    let label = r.body["items"][0]["label"].as_str().unwrap_or_else(|| panic!("no incident: {}", r.text)).to_owned();
    (sid, pid, label)
}

async fn escalation(app: &TestApp, label: &str) -> Value {
    let r = app.get(&format!("/api/v1/incidents/{label}/escalation"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["escalation"].clone()
}

async fn incident_page_escalates_and_reassigns(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    // The responder can be reached: a verified webhook paged at once.
    let method = verified_webhook(&app, &cookie, &app.responder.token, "hook").await;
    let (_, csrf) = get_page(&app, "/profile", &cookie).await;
    let rule = [("csrf", csrf.as_str()), ("contact_method_id", method.as_str()), ("delay_minutes", "0")];
    assert_back(&post(&app, "/profile/notification-rules", &cookie, &rule).await);

    let (_, _, label) = paged_incident(&app).await;
    let path = format!("/incidents/{label}");
    let (r, csrf) = get_page(&app, &path, &cookie).await;
    assert_eq!(testid(&r.text, "escalation-state").as_deref(), Some("active"), "{}", r.text);
    assert!(r.text.contains(&format!("action=\"/incidents/{label}/escalate\"")));
    assert!(r.text.contains(&format!("<option value=\"{}\">admin@example.com</option>", app.admin.user.id)));

    // A forged form changes nothing.
    let r = post(&app, &format!("{path}/escalate"), &cookie, &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(escalation(&app, &label).await["last_step"], Value::Null);

    // Escalate now pages the first level; a second time, every level has been paged.
    let r = post(&app, &format!("{path}/escalate"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(location(&r), path);
    assert_eq!(escalation(&app, &label).await["last_step"], 0);
    let (r, _) = get_page(&app, &path, &cookie).await;
    assert!(r.text.contains("escalated by hand"), "{}", r.text);
    let r = post(&app, &format!("{path}/escalate"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("every level has been paged")), "{}", r.text);
    assert!(r.text.contains("data-testid=\"escalation-state\""), "the incident page again");

    // My on-call lists the incident that paged me.
    let (r, _) = get_page(&app, "/oncall/me", &cookie).await;
    assert!(r.text.contains("data-testid=\"paged-incident\""), "{}", r.text);
    assert!(r.text.contains(&format!("<a href=\"/incidents/{label}\">{label} ")), "{}", r.text);

    // Reassign pages someone else; a bad pick is shown as an error.
    let reassign = format!("{path}/reassign");
    let admin = app.admin.user.id.to_string();
    let r = post(&app, &reassign, &cookie, &[("csrf", &csrf), ("user_id", &admin)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let (r, _) = get_page(&app, &path, &cookie).await;
    assert!(r.text.contains("(reassigned)"), "{}", r.text);
    for bad in ["", "nobody", &uuid::Uuid::now_v7().to_string()] {
        let r = post(&app, &reassign, &cookie, &[("csrf", &csrf), ("user_id", bad)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {}", r.text);
        assert!(testid(&r.text, "error").is_some(), "{}", r.text);
    }
    let r = post(&app, &reassign, &cookie, &[("user_id", &admin)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token: {}", r.text);

    // Viewers see the state but no forms, and are refused.
    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, vcsrf) = get_page(&app, &path, &viewer).await;
    assert!(r.text.contains("data-testid=\"escalation-state\""));
    assert!(!r.text.contains(&format!("action=\"/incidents/{label}/escalate\"")));
    let r = post(&app, &reassign, &viewer, &[("csrf", &vcsrf), ("user_id", &admin)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

async fn incident_without_a_policy_shows_errors(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let label = app.declare("no policy here").await["label"].as_str().expect("a label").to_owned();
    let path = format!("/incidents/{label}");
    let (r, csrf) = get_page(&app, &path, &cookie).await;
    assert_eq!(testid(&r.text, "escalation-state").as_deref(), Some("No escalation policy pages for this incident."));
    let r = post(&app, &format!("{path}/escalate"), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(testid(&r.text, "error").is_some_and(|e| e.contains("has no escalation policy")), "{}", r.text);
    let r = post(&app, "/incidents/INC-999/escalate", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

async fn service_form_sets_and_unsets_the_policy(app: TestApp) {
    let policy = json!({"name": HOSTILE,
        "levels": [{"targets": [{"type": "user", "id": app.responder.user.id}], "delay_minutes": 5}]});
    let r = app.post("/api/v1/escalation-policies", &app.responder.token, policy).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pid = r.body["id"].as_str().expect("a policy id").to_owned();
    let r = app.post("/api/v1/services", &app.responder.token, json!({"name": "db"})).await;
    let sid = r.body["id"].as_str().expect("a service id").to_owned();
    let policy_of = async || {
        app.get(&format!("/api/v1/services/{sid}"), &app.viewer.token).await.body["escalation_policy_id"].clone()
    };

    let cookie = sign_in(&app, "responder@example.com").await;
    let path = format!("/services/{sid}");
    let (r, csrf) = get_page(&app, &path, &cookie).await;
    assert!(r.text.contains(&format!("<option value=\"{pid}\">{HOSTILE_ESCAPED}</option>")), "{}", r.text);
    assert!(!r.text.contains(HOSTILE));
    let edit = format!("{path}/edit");
    // The edit form's fields, with the policy select set to `policy` (or left out).
    let fields = |policy: Option<&str>| {
        let mut f =
            vec![("csrf", csrf.clone()), ("description", "the database".to_owned()), ("auto_resolve", "on".into())];
        if let Some(p) = policy {
            f.push(("escalation_policy", p.to_owned()));
        }
        f
    };
    let send = async |fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&app, &edit, &cookie, &fields).await
    };

    let r = send(fields(Some(&pid))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(policy_of().await, json!(pid));
    let (r, _) = get_page(&app, &path, &cookie).await;
    assert!(r.text.contains(&format!("<option value=\"{pid}\" selected>")), "{}", r.text);
    // Omitted (an older form): kept.
    assert_eq!(send(fields(None)).await.status, StatusCode::SEE_OTHER);
    assert_eq!(policy_of().await, json!(pid));
    // Unknown or malformed: refused, nothing changed.
    for bad in ["nope".to_owned(), uuid::Uuid::now_v7().to_string()] {
        let r = send(fields(Some(&bad))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", r.text);
        assert_eq!(policy_of().await, json!(pid));
    }
    // None: unset.
    assert_eq!(send(fields(Some(""))).await.status, StatusCode::SEE_OTHER);
    assert_eq!(policy_of().await, Value::Null);
    assert_eq!(
        app.get(&format!("/api/v1/services/{sid}"), &app.viewer.token).await.body["description"],
        "the database",
        "the other fields are saved as before"
    );
}

on_both_backends!(
    profile_adds_verifies_and_deletes_contact_methods,
    profile_rules_handoff_and_feeds,
    forged_profile_forms_change_nothing,
    my_on_call_shows_my_shifts,
    incident_page_escalates_and_reassigns,
    incident_without_a_policy_shows_errors,
    service_form_sets_and_unsets_the_policy,
);
