//! The web UI through HTTP: sign-in with CSRF and throttling, cookies, forms refused without
//! a valid CSRF token or by viewers, sign-out and password change ending sessions, escaping,
//! and the live-update stream. On both backends.

mod common;

use axum::http::{Method, StatusCode, header};
use common::{PASSWORD, TestApp, cookie_value, csrf_of, form, login_attempt, page, set_cookies, sign_in};

async fn sign_in_sets_a_safe_cookie(app: TestApp) {
    let r = login_attempt(&app, "responder@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/incidents"));
    let cookie = set_cookies(&r).into_iter().find(|c| c.starts_with("fb_session=")).unwrap_or_default();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");

    // Behind an HTTPS proxy the cookie is Secure.
    let r = app.send(page("/login", "")).await;
    let csrf = csrf_of(&r.text);
    let pre = cookie_value(&r, "fb_login_csrf").unwrap_or_default();
    let mut req = form(
        Method::POST,
        "/login",
        &format!("fb_login_csrf={pre}"),
        &[("email", "responder@example.com"), ("password", PASSWORD), ("csrf", &csrf)],
    );
    req.headers_mut().insert("x-forwarded-proto", header::HeaderValue::from_static("https"));
    let r = app.send(req).await;
    let cookie = set_cookies(&r).into_iter().find(|c| c.starts_with("fb_session=")).unwrap_or_default();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

async fn signed_out_visitors_are_sent_to_sign_in(app: TestApp) {
    let r = app.send(page("/incidents/INC-1", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/login?next=/incidents/INC-1"));
    let r = app.send(page("/incidents", "fb_session=forged")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

async fn wrong_passwords_are_refused_then_throttled(app: TestApp) {
    let r = login_attempt(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&r, "fb_session").is_none());
    for _ in 0..5 {
        let r = login_attempt(&app, "responder@example.com", "wrong password!!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert!(r.text.contains("Wrong email or password"));
    }
    // Now even the right password waits.
    let r = login_attempt(&app, "responder@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.text.contains("Try again in"));
    let audit = app.get("/api/v1/audit?limit=200", &app.admin.token).await;
    let failures =
        audit.body["items"].as_array().map(|a| a.iter().filter(|e| e["action"] == "user.login_failed").count());
    assert_eq!(failures, Some(5));
}

async fn throttling_ends_after_the_wait(app: TestApp) {
    for _ in 0..5 {
        login_attempt(&app, "responder@example.com", "wrong password!!").await;
    }
    assert_eq!(login_attempt(&app, "responder@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(chrono::TimeDelta::seconds(29));
    assert_eq!(login_attempt(&app, "responder@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(chrono::TimeDelta::seconds(2));
    assert_eq!(
        login_attempt(&app, "responder@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "30 s after the fifth failure"
    );
}

async fn sessions_expire(app: TestApp) {
    let cookie = sign_in(&app, "viewer@example.com").await;
    app.clock.advance(chrono::TimeDelta::hours(11));
    assert_eq!(app.send(page("/incidents", &cookie)).await.status, StatusCode::OK);
    app.clock.advance(chrono::TimeDelta::hours(1) + chrono::TimeDelta::seconds(1));
    assert_eq!(app.send(page("/incidents", &cookie)).await.status, StatusCode::SEE_OTHER, "12 h sessions end");
}

async fn sign_in_without_its_csrf_cookie_is_refused(app: TestApp) {
    let r = app.send(page("/login", "")).await;
    let csrf = csrf_of(&r.text);
    let r = app
        .send(form(
            Method::POST,
            "/login",
            "",
            &[("email", "responder@example.com"), ("password", PASSWORD), ("csrf", &csrf)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(cookie_value(&r, "fb_session").is_none());
}

async fn declare_and_act_through_forms(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let r = app.send(page("/incidents/new", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let csrf = csrf_of(&r.text);
    assert!(!csrf.is_empty());
    let r = app
        .send(form(
            Method::POST,
            "/incidents",
            &cookie,
            &[
                ("csrf", &csrf),
                ("title", "<img src=x onerror=alert(1)> API down"),
                ("severity", "critical"),
                ("type", "outage"),
                ("services", "api, db"),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/incidents/INC-1"));
    for path in ["/incidents/INC-1/actions/acknowledge", "/incidents/INC-1/actions/resolve"] {
        let r = app.send(form(Method::POST, path, &cookie, &[("csrf", &csrf)])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}: {}", r.text);
    }
    let r = app
        .send(form(Method::POST, "/incidents/INC-1/notes", &cookie, &[("csrf", &csrf), ("body", "<b>bold</b> claim")]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .send(form(
            Method::POST,
            "/incidents/INC-1/roles",
            &cookie,
            &[("csrf", &csrf), ("role", "commander"), ("user_id", &app.admin.user.id.to_string())],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app
        .send(form(
            Method::POST,
            "/incidents/INC-1/edit",
            &cookie,
            &[("csrf", &csrf), ("severity", "low"), ("type", "degradation")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    let r = app.send(page("/incidents/INC-1", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("<img src=x"), "title must be escaped");
    assert!(r.text.contains("&#60;img src=x onerror=alert(1)&#62; API down"));
    // Notes are Markdown; raw HTML in them is shown as text.
    assert!(r.text.contains("&lt;b&gt;bold&lt;/b&gt; claim"), "{}", r.text);
    assert!(!r.text.contains("<b>bold</b>"), "note HTML must not be interpreted");
    assert!(r.text.contains("status-resolved"));
    let timeline = app.get("/api/v1/incidents/1/timeline", &app.viewer.token).await;
    let kinds: Vec<&str> = timeline.body["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        vec![
            "created",
            "status_changed",
            "status_changed",
            "note_added",
            "role_assigned",
            "severity_changed",
            "type_changed"
        ]
    );
    let md = app
        .send(form(
            Method::POST,
            "/incidents/INC-1/notes",
            &cookie,
            &[("csrf", &csrf), ("body", "**Root cause** found: see [runbook](javascript:alert(1))")],
        ))
        .await;
    assert_eq!(md.status, StatusCode::SEE_OTHER, "{}", md.text);
    let r = app.send(page("/incidents/INC-1", &cookie)).await;
    assert!(r.text.contains("<strong>Root cause</strong> found"), "notes render Markdown");
    assert!(r.text.contains(r##"<a href="#">runbook</a>"##) && !r.text.contains("javascript:"), "no script links");
    assert_eq!(timeline.body["items"][0]["via"], "web");

    // A wrong transition shows an error page and changes nothing.
    let r = app.send(form(Method::POST, "/incidents/INC-1/actions/contain", &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text.contains("cannot contain an incident that is resolved"), "{}", r.text);
}

async fn forms_without_a_valid_csrf_token_change_nothing(app: TestApp) {
    app.declare("x").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    for token in ["", "forged", &"a".repeat(64)] {
        let r = app.send(form(Method::POST, "/incidents/INC-1/actions/acknowledge", &cookie, &[("csrf", token)])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = app.send(form(Method::POST, "/incidents/INC-1/actions/acknowledge", &cookie, &[])).await;
    assert!(r.status.is_client_error());
    let r = app.get("/api/v1/incidents/1", &app.viewer.token).await;
    assert_eq!(r.body["status"], "triggered");
}

async fn viewers_cannot_act_in_the_ui(app: TestApp) {
    app.declare("x").await;
    let cookie = sign_in(&app, "viewer@example.com").await;
    let r = app.send(page("/incidents/INC-1", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains("/actions/acknowledge"), "viewers get no action buttons");
    let csrf = csrf_of(&r.text);
    let r = app.send(form(Method::POST, "/incidents/INC-1/actions/acknowledge", &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.send(page("/admin/users", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get("/api/v1/incidents/1", &app.viewer.token).await;
    assert_eq!(r.body["status"], "triggered");
}

async fn sign_out_and_password_change_end_sessions(app: TestApp) {
    let a = sign_in(&app, "responder@example.com").await;
    let b = sign_in(&app, "responder@example.com").await;
    let csrf = csrf_of(&app.send(page("/incidents", &a)).await.text);
    let r = app.send(form(Method::POST, "/logout", &a, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(page("/incidents", &a)).await.status, StatusCode::SEE_OTHER, "signed out");
    assert_eq!(app.send(page("/incidents", &b)).await.status, StatusCode::OK, "other session lives on");

    let csrf = csrf_of(&app.send(page("/account", &b)).await.text);
    let r = app
        .send(form(
            Method::POST,
            "/account/password",
            &b,
            &[
                ("csrf", &csrf),
                ("current_password", "not it at all"),
                ("new_password", "another long password"),
                ("confirm_password", "another long password"),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let c = sign_in(&app, "responder@example.com").await;
    let r = app
        .send(form(
            Method::POST,
            "/account/password",
            &b,
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "another long password"),
                ("confirm_password", "another long password"),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.send(page("/incidents", &b)).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(page("/incidents", &c)).await.status, StatusCode::SEE_OTHER, "every session ends");
    let r = login_attempt(&app, "responder@example.com", "another long password").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

async fn admins_manage_users_and_tokens_in_the_ui(app: TestApp) {
    let cookie = sign_in(&app, "admin@example.com").await;
    let r = app.send(page("/admin/users", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let csrf = csrf_of(&r.text);
    let r = app
        .send(form(
            Method::POST,
            "/admin/users",
            &cookie,
            &[
                ("csrf", &csrf),
                ("email", "new@example.com"),
                ("name", "New Person"),
                ("role", "responder"),
                ("password", ""),
            ],
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.text.contains("shown only now"));
    let users = app.get("/api/v1/users", &app.admin.token).await;
    let new_id = users.body["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "new@example.com"))
        .map(|u| u["id"].as_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    let r = app
        .send(form(
            Method::POST,
            "/admin/tokens",
            &cookie,
            &[("csrf", &csrf), ("name", "deploys"), ("user_id", &new_id)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let marker = "data-testid=\"new-token\">";
    let secret = r
        .text
        .find(marker)
        .map(|i| &r.text[i + marker.len()..])
        .and_then(|s| s.split('<').next())
        .unwrap_or("")
        .to_owned();
    assert!(secret.starts_with("fbk_"), "{secret}");
    assert_eq!(app.get("/api/v1/me", &secret).await.body["email"], "new@example.com");
    let page2 = app.send(page("/admin/tokens", &cookie)).await;
    assert!(!page2.text.contains(&secret), "the secret is shown only once");
    let r = app
        .send(form(
            Method::POST,
            &format!("/admin/users/{new_id}"),
            &cookie,
            &[("csrf", &csrf), ("role", "viewer"), ("disabled", "on")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(
        app.get("/api/v1/me", &secret).await.status,
        StatusCode::UNAUTHORIZED,
        "disabled users' tokens stop working"
    );
}

async fn live_stream_announces_changes(app: TestApp) {
    app.declare("live").await;
    let cookie = sign_in(&app, "viewer@example.com").await;
    let base = app.serve().await;
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{base}/incidents/INC-1/events"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"))
    );
    let mut res = res;
    app.post("/api/v1/incidents/1/acknowledge", &app.responder.token, serde_json::json!({})).await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("event: changed") {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event within 10 s; got {seen:?}"));
        let Ok(Some(bytes)) = chunk else { panic!("stream ended: {seen:?}") };
        seen.push_str(&String::from_utf8_lossy(&bytes));
    }
    let live = app.send(page("/incidents/INC-1/live", &cookie)).await;
    assert!(live.text.contains("status-acknowledged"));
    // Signed-out clients get no stream.
    let res = client.get(format!("{base}/incidents/INC-1/events")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(res.url().path().starts_with("/login"));
}

async fn the_incident_list_starts_with_what_is_open(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let csrf = csrf_of(&app.send(page("/incidents/new", &cookie)).await.text);
    for (title, services) in [("Checkout is down", "checkout"), ("Old disk alarm", "storage")] {
        let fields = [
            ("csrf", csrf.as_str()),
            ("title", title),
            ("severity", "high"),
            ("type", "outage"),
            ("services", services),
        ];
        let r = app.send(form(Method::POST, "/incidents", &cookie, &fields)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let commander = [("csrf", csrf.as_str()), ("role", "commander"), ("user_id", &app.admin.user.id.to_string())];
    let r = app.send(form(Method::POST, "/incidents/INC-1/roles", &cookie, &commander)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.send(form(Method::POST, "/incidents/INC-2/actions/resolve", &cookie, &[("csrf", &csrf)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);

    // By default: open incidents only, with service, commander, age and last change.
    let list = app.send(page("/incidents", &cookie)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("Checkout is down") && !list.text.contains("Old disk alarm"), "{}", list.text);
    for column in ["Service", "Commander", "Age", "Last change"] {
        assert!(list.text.contains(&format!("<th scope=\"col\">{column}</th>")), "{column}: {}", list.text);
    }
    assert!(list.text.contains("<td data-label=\"Service\">checkout</td>"), "{}", list.text);
    assert!(list.text.contains(&format!("<td data-label=\"Commander\">{}</td>", app.admin.user.name)), "{}", list.text);
    assert!(list.text.contains("<option value=\"open\" selected>open (not resolved)</option>"), "{}", list.text);

    // The filter is in the address: every incident, or one status.
    let all = app.send(page("/incidents?status=any", &cookie)).await;
    assert!(all.text.contains("Checkout is down") && all.text.contains("Old disk alarm"), "{}", all.text);
    assert!(all.text.contains("<option value=\"any\" selected>any</option>"), "{}", all.text);
    let resolved = app.send(page("/incidents?status=resolved", &cookie)).await;
    assert!(
        !resolved.text.contains("Checkout is down") && resolved.text.contains("Old disk alarm"),
        "{}",
        resolved.text
    );
    let bad = app.send(page("/incidents?status=nonsense", &cookie)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
}

async fn the_navigation_is_grouped(app: TestApp) {
    for (email, admin) in [("admin@example.com", true), ("viewer@example.com", false)] {
        let cookie = sign_in(&app, email).await;
        let r = app.send(page("/rules", &cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        let start = r.text.find("<nav aria-label=\"Main\">").unwrap_or_else(|| panic!("no nav: {}", r.text));
        let nav = &r.text[start..start + r.text[start..].find("</nav>").unwrap_or_default()];
        // Top items are the nav's own links and menus; menu entries sit one level deeper.
        let top: Vec<&str> =
            nav.lines().filter(|l| l.starts_with("    <a ") || l.starts_with("    <details")).collect();
        assert!(top.len() <= 7, "{email}: at most 7 top items, got {}: {top:#?}", top.len());
        assert_eq!(nav.contains("<summary>Admin</summary>"), admin, "{email}: the admin menu is for admins");
        assert!(nav.contains("href=\"/rules\" aria-current=\"page\">Classification rules</a>"), "{nav}");
        assert!(nav.contains("<details class=\"menu current\">\n      <summary>Alerts</summary>"), "{nav}");
        // The user menu, beside the nav, holds the profile and signing out.
        let user = &r.text[r.text.find("user-menu").unwrap_or_default()..];
        let user = &user[..user.find("</details>").unwrap_or_default()];
        assert!(user.contains("href=\"/profile\"") && user.contains("Sign out"), "{user}");
        assert!(!nav.contains("href=\"/profile\""), "the profile is not a top item");
    }
}

async fn the_incident_page_says_what_now(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let csrf = csrf_of(&app.send(page("/incidents/new", &cookie)).await.text);
    let fields = [("csrf", csrf.as_str()), ("title", "Checkout is down"), ("severity", "critical"), ("type", "outage")];
    let r = app.send(form(Method::POST, "/incidents", &cookie, &fields)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = app.send(page("/incidents/INC-1", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    // The head: how long it has been open, and whether anyone is being paged.
    assert!(r.text.contains("<strong>Open for "), "{}", r.text);
    assert!(r.text.contains("data-testid=\"paging-now\">no escalation policy pages for it"), "{}", r.text);
    // One primary action, the next lifecycle step, in sentence case.
    assert!(r.text.contains("class=\"action-acknowledge primary\">Acknowledge</button>"), "{}", r.text);
    assert!(r.text.contains("class=\"action-resolve\">Resolve</button>"), "{}", r.text);
    // The note box sits at the top of the timeline, before its entries, with its shortcut.
    let (note, entries) = (r.text.find("id=\"note-body\""), r.text.find("data-testid=\"timeline\""));
    assert!(note.is_some() && entries.is_some() && note < entries, "{}", r.text);
    assert!(r.text.contains("data-shortcut=\"n\"") && r.text.contains("data-submit-on=\"ctrl-enter\""));
    // The title comes before the timeline filter.
    assert!(r.text.find("Checkout is down</h1>") < r.text.find("data-testid=\"timeline-filter\""), "{}", r.text);

    // The live parts: the head alone, the timeline alone, both; anything else is not a part.
    let head = app.send(page("/incidents/INC-1/live?part=head", &cookie)).await;
    assert!(head.text.contains("data-testid=\"status\"") && !head.text.contains("data-testid=\"timeline\""));
    let timeline = app.send(page("/incidents/INC-1/live?part=timeline", &cookie)).await;
    assert!(timeline.text.contains("data-testid=\"timeline\"") && !timeline.text.contains("data-testid=\"status\""));
    let both = app.send(page("/incidents/INC-1/live", &cookie)).await;
    assert!(both.text.contains("data-testid=\"timeline\"") && both.text.contains("data-testid=\"status\""));
    let bad = app.send(page("/incidents/INC-1/live?part=everything", &cookie)).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    // Resolved, the head says how long it took.
    for action in ["acknowledge", "resolve"] {
        let r = app
            .send(form(Method::POST, &format!("/incidents/INC-1/actions/{action}"), &cookie, &[("csrf", &csrf)]))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    }
    let head = app.send(page("/incidents/INC-1/live?part=head", &cookie)).await;
    assert!(head.text.contains("<strong>Resolved after "), "{}", head.text);
    assert!(!head.text.contains("paging-now"), "a resolved incident pages nobody: {}", head.text);
    assert!(head.text.contains("class=\"action-close primary\">Close</button>"), "{}", head.text);
}

/// The web side of alerts meeting incidents: the declared incident's services link to the
/// catalog (free text marked), the service's alert joins it and can be detached there; the
/// alert page moves an alert to another incident; an incident is merged into another.
/// Refusals (no CSRF, a viewer, an unknown incident, merging into itself) change nothing.
async fn alerts_move_and_incidents_merge_in_the_web(app: TestApp) {
    let (sid, key) = app.pagerduty_service("checkout").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let csrf = csrf_of(&app.send(page("/incidents/new", &cookie)).await.text);
    let fields = [
        ("csrf", csrf.as_str()),
        ("title", "Checkout errors"),
        ("severity", "high"),
        ("type", "outage"),
        ("services", "Checkout, legacy-billing"),
    ];
    assert_eq!(app.send(form(Method::POST, "/incidents", &cookie, &fields)).await.status, StatusCode::SEE_OTHER);
    app.trigger(&key, "5xx", "5xx above 2%").await;
    let alert = app.get("/api/v1/alerts", &app.responder.token).await.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let first = app.send(page("/incidents/INC-1", &cookie)).await.text;
    assert!(
        first.contains(&format!("<a href=\"/services/{sid}\">checkout</a>")),
        "the catalog service is linked: {first}"
    );
    assert!(first.contains("legacy-billing <small>(not in the catalog)</small>"), "free text is marked: {first}");
    assert!(first.contains(&format!("href=\"/alerts/{alert}\">5xx above 2%</a>")), "the alert joined: {first}");
    assert!(first.contains(&format!("action=\"/alerts/{alert}/detach\"")), "{first}");
    assert!(first.contains("No other open incident to merge this one into."), "{first}");

    app.declare("Payments failing").await;
    let alert_page = format!("/alerts/{alert}");
    let shown = app.send(page(&alert_page, &cookie)).await.text;
    assert!(shown.contains("<option value=\"INC-2\">INC-2 Payments failing</option>"), "{shown}");
    assert!(!shown.contains("<option value=\"INC-1\">"), "not the incident it is on: {shown}");
    let attach = format!("/alerts/{alert}/attach");
    // Refused: no CSRF token, a viewer, an unknown incident.
    let r = app.send(form(Method::POST, &attach, &cookie, &[("incident", "INC-2")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let viewer = sign_in(&app, "viewer@example.com").await;
    let viewer_page = app.send(page(&alert_page, &viewer)).await.text;
    assert!(!viewer_page.contains("attach-form") && !viewer_page.contains("detach-form"), "{viewer_page}");
    let vcsrf = csrf_of(&viewer_page);
    assert_eq!(
        app.send(form(Method::POST, &attach, &viewer, &[("csrf", &vcsrf), ("incident", "INC-2")])).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app.send(form(Method::POST, &attach, &cookie, &[("csrf", &csrf), ("incident", "INC-99")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("role=\"alert\"") && r.text.contains("no such incident"), "{}", r.text);
    assert!(r.text.contains("aria-invalid=\"true\""), "the error is tied to the field: {}", r.text);
    assert_eq!(
        app.get(&format!("/api/v1/alerts/{alert}"), &app.responder.token).await.body["incident_id"],
        app.get("/api/v1/incidents/INC-1", &app.responder.token).await.body["id"],
        "refusals moved nothing"
    );
    let r = app.send(form(Method::POST, &attach, &cookie, &[("csrf", &csrf), ("incident", "INC-2")])).await;
    assert_eq!((r.status, common::location(&r)), (StatusCode::SEE_OTHER, alert_page.clone()), "{}", r.text);
    let shown = app.send(page(&alert_page, &cookie)).await.text;
    assert!(shown.contains("<span class=\"num\">INC-2</span> Payments failing</a>"), "{shown}");

    // Detach from the incident page goes back there.
    let detach = format!("/alerts/{alert}/detach");
    let r = app.send(form(Method::POST, &detach, &cookie, &[("csrf", &csrf), ("back", "incident")])).await;
    assert_eq!((r.status, common::location(&r)), (StatusCode::SEE_OTHER, "/incidents/INC-2".to_owned()));
    assert!(app.send(page(&alert_page, &cookie)).await.text.contains("none: this alert stands alone"));
    let r = app.send(form(Method::POST, &attach, &cookie, &[("csrf", &csrf), ("incident", "INC-2")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Merge INC-2 into INC-1.
    let second = app.send(page("/incidents/INC-2", &cookie)).await.text;
    assert!(second.contains("<option value=\"INC-1\">INC-1 Checkout errors</option>"), "{second}");
    let r =
        app.send(form(Method::POST, "/incidents/INC-1/merge", &cookie, &[("csrf", &csrf), ("into", "INC-1")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("cannot be merged into itself"), "{}", r.text);
    let r = app.send(form(Method::POST, "/incidents/INC-2/merge", &cookie, &[("into", "INC-1")])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(app.get("/api/v1/incidents/INC-2", &app.responder.token).await.body["status"], "triggered");
    let r =
        app.send(form(Method::POST, "/incidents/INC-2/merge", &cookie, &[("csrf", &csrf), ("into", "INC-1")])).await;
    assert_eq!((r.status, common::location(&r)), (StatusCode::SEE_OTHER, "/incidents/INC-1".to_owned()), "{}", r.text);
    let first = app.send(page("/incidents/INC-1", &cookie)).await.text;
    assert!(first.contains("from INC-2</span>"), "copied entries are marked: {first}");
    assert!(first.contains("merged INC-2 “Payments failing” into this incident: 1 alert(s) moved"), "{first}");
    let second = app.send(page("/incidents/INC-2", &cookie)).await.text;
    assert!(second.contains("data-testid=\"merged-into\">Merged into <a href=\"/incidents/INC-1\">"), "{second}");
    assert!(!second.contains("action-reopen"), "a merged incident is not reopened: {second}");
    let list = app.send(page("/incidents?status=any", &cookie)).await.text;
    assert!(list.contains("resolved</span> <span class=\"badge\">merged</span>"), "{list}");
}

/// The form fields of a page with no label: neither `<label for>` naming their id, nor an
/// `aria-label`, nor a `<label>` around them. Hidden fields and buttons need none.
fn unlabelled_fields(html: &str) -> Vec<String> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[at..].split('"').next().map(str::to_owned)
    };
    let mut missing = Vec::new();
    for open in ["<input", "<select", "<textarea"] {
        let mut from = 0;
        while let Some(i) = html[from..].find(open).map(|i| i + from) {
            let end = html[i..].find('>').map(|e| i + e).unwrap_or(html.len());
            let tag = &html[i..end];
            from = end;
            if matches!(attr(tag, "type").as_deref(), Some("hidden" | "submit" | "button")) {
                continue;
            }
            let by_for = attr(tag, "id").is_some_and(|id| html.contains(&format!("for=\"{id}\"")));
            let wrapped = html[..i].rfind("<label").is_some_and(|l| html[..i].rfind("</label>").is_none_or(|c| c < l));
            if !(by_for || wrapped || attr(tag, "aria-label").is_some()) {
                missing.push(tag.to_owned());
            }
        }
    }
    missing
}

/// Accessibility: on every page a responder and an admin use, each form field has a label,
/// focus is visible, and status and severity are written in words (colour is never the only
/// signal).
async fn every_field_is_labelled_and_status_is_in_words(app: TestApp) {
    use serde_json::json;
    // The check itself: it finds bare fields and accepts the three ways of labelling one.
    assert_eq!(unlabelled_fields("<form><input name=\"q\"><select id=\"s\"></select></form>").len(), 2);
    let labelled = "<label for=\"a\">A</label><input id=\"a\"><label><input type=\"checkbox\"> B</label>\
                    <textarea aria-label=\"C\"></textarea><input type=\"hidden\" name=\"csrf\">";
    assert_eq!(unlabelled_fields(labelled), Vec::<String>::new());
    let (sid, key) = app.pagerduty_service("checkout").await;
    app.trigger(&key, "cpu", "CPU high").await;
    app.declare("Second incident").await;
    let alert = app.get("/api/v1/alerts", &app.admin.token).await.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let schedule = app
        .post(
            "/api/v1/schedules",
            &app.admin.token,
            json!({"name": "primary", "time_zone": "UTC", "layers": [{"name": "l", "members": [app.responder.user.id],
                "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2026-10-26T09:00"}]}),
        )
        .await;
    let schedule = schedule.body["id"].as_str().unwrap_or_default().to_owned();
    let cookie = sign_in(&app, "admin@example.com").await;
    let pages = [
        "/incidents".to_owned(),
        "/incidents/new".into(),
        "/incidents/INC-1".into(),
        "/incidents/INC-1/triage".into(),
        "/incidents/INC-1/updates".into(),
        "/alerts".into(),
        format!("/alerts/{alert}"),
        "/services".into(),
        format!("/services/{sid}"),
        "/rules".into(),
        "/maintenance-windows".into(),
        "/schedules".into(),
        format!("/schedules/{schedule}"),
        "/schedules/new".into(),
        format!("/schedules/{schedule}/edit"),
        "/policies".into(),
        "/policies/new".into(),
        "/oncall/me".into(),
        "/procedures".into(),
        "/profile".into(),
        "/account".into(),
        "/admin/users".into(),
        "/admin/tokens".into(),
        "/admin/reachability".into(),
        "/admin/status-pages".into(),
    ];
    for path in &pages {
        let r = app.send(page(path, &cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(unlabelled_fields(&r.text), Vec::<String>::new(), "{path} has fields without a label");
    }
    let incident = app.send(page("/incidents/INC-1", &cookie)).await.text;
    assert!(incident.contains("data-testid=\"status\">triggered</span>"), "status in words");
    assert!(incident.contains("class=\"badge sev-high\">high</span>"), "severity in words");
    let list = app.send(page("/alerts", &cookie)).await.text;
    assert!(list.contains(">open<"), "alert status in words: {list}");
    let css = app.send(page("/static/app.css", &cookie)).await.text;
    assert!(css.contains(":focus-visible { outline: 3px solid"), "focus is visible");
    assert!(!css.contains("outline: none") && !css.contains("outline:none"), "focus is never hidden");
}

on_both_backends!(
    every_field_is_labelled_and_status_is_in_words,
    alerts_move_and_incidents_merge_in_the_web,
    the_incident_page_says_what_now,
    the_navigation_is_grouped,
    the_incident_list_starts_with_what_is_open,
    sign_in_sets_a_safe_cookie,
    signed_out_visitors_are_sent_to_sign_in,
    wrong_passwords_are_refused_then_throttled,
    sign_in_without_its_csrf_cookie_is_refused,
    throttling_ends_after_the_wait,
    sessions_expire,
    declare_and_act_through_forms,
    forms_without_a_valid_csrf_token_change_nothing,
    viewers_cannot_act_in_the_ui,
    sign_out_and_password_change_end_sessions,
    admins_manage_users_and_tokens_in_the_ui,
    live_stream_announces_changes,
);
