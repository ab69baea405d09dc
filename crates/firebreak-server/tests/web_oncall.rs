//! The on-call pages through HTTP: the list with who is on call now, a schedule's layers and
//! shifts in its own time zone (across the New York autumn change), overrides of a whole shift
//! or part of one through the form (and the API agreeing), bad input shown again, viewers and
//! forged forms refused, hostile names escaped, unknown schedules. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use common::{Reply, TestApp, form, get_page, location, page, sign_in, testid};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

/// The Saturday before New York's clocks go back (1 November 2026), 08:00 EDT.
const NOW: &str = "2026-10-31T12:00:00Z";

/// Sets the app's clock to `at`.
fn set_clock(app: &TestApp, at: &str) {
    let target = chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{e}"));
    app.clock.advance(target.with_timezone(&chrono::Utc) - firebreak_domain::time::now());
}

/// A daily rotation of the responder and the viewer in New York handing off at 09:00 from
/// Monday 26 October (so the responder has the shift running at [`NOW`]) but only from Friday
/// 09:00 to Monday 00:00, the admin as fallback.
async fn create(app: &TestApp, name: &str) -> String {
    let body = json!({
        "name": name,
        "time_zone": "America/New_York",
        "layers": [{"name": "primary", "members": [app.responder.user.id, app.viewer.user.id],
                    "rotation_length": 1, "rotation_unit": "days", "starts_at": "2026-10-26T09:00",
                    "restrictions": [{"kind": "weekly", "start_day": "friday", "start": "09:00",
                                      "end_day": "monday", "end": "00:00"}]}],
        "fallback": app.admin.user.id
    });
    let r = app.post("/api/v1/schedules", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Reply {
    app.send(form(Method::POST, path, cookie, fields)).await
}

async fn on_call_at(app: &TestApp, id: &str, at: &str) -> Value {
    let r = app.get(&format!("/api/v1/schedules/{id}/on-call?at={}", common::urlencode(at)), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["on_call"].clone()
}

async fn overrides(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["overrides"].clone()
}

/// The HTML of the shift row starting at `start` (RFC 3339, as the row's form carries it).
fn shift_row<'a>(html: &'a str, start: &str) -> &'a str {
    let marker = format!("data-testid=\"shift\" data-start=\"{start}\"");
    let from = html.find(&marker).unwrap_or_else(|| panic!("no shift from {start} in {html}"));
    let row = &html[from..];
    &row[..row.find("</tr>").unwrap_or(row.len())]
}

async fn list_shows_who_is_on_call_now(app: TestApp) {
    set_clock(&app, NOW);
    let cookie = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, "/schedules", &cookie).await;
    assert!(r.text.contains("No schedules yet"), "{}", r.text);
    assert!(r.text.contains("href=\"/schedules\" aria-current=\"page\">On call</a>"), "the nav marks On call");
    assert!(r.text.contains("docs/oncall.md"), "the list points to the docs");

    let id = create(&app, "databases").await;
    // A schedule that covers nobody now: a layer that starts next year, no fallback.
    let later = json!({"name": "later", "time_zone": "Europe/Berlin",
        "layers": [{"name": "l", "members": [app.admin.user.id], "rotation_length": 1,
                    "rotation_unit": "weeks", "starts_at": "2027-01-04T09:00"}]});
    assert_eq!(app.post("/api/v1/schedules", &app.responder.token, later).await.status, StatusCode::CREATED);

    let (r, _) = get_page(&app, "/schedules", &cookie).await;
    assert!(r.text.contains(&format!("<a href=\"/schedules/{id}\" data-testid=\"schedule-name\">databases</a>")));
    assert_eq!(testid(&r.text, "on-call-now").as_deref(), Some("responder@example.com"), "{}", r.text);
    assert_eq!(testid(&r.text, "on-call-why").as_deref(), Some("layer 1 “primary”"));
    assert!(r.text.contains("America/New_York") && r.text.contains("Europe/Berlin"));
    let later_row = &r.text[r.text.find(">later</a>").unwrap_or_else(|| panic!("{}", r.text))..];
    assert_eq!(testid(later_row, "on-call-now").as_deref(), Some("nobody"));
}

async fn schedule_shows_shifts_in_local_time(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let cookie = sign_in(&app, "viewer@example.com").await;
    let (r, _) = get_page(&app, &format!("/schedules/{id}"), &cookie).await;
    assert_eq!(testid(&r.text, "schedule-title").as_deref(), Some("databases"));
    assert_eq!(testid(&r.text, "time-zone").as_deref(), Some("America/New_York"));
    assert_eq!(testid(&r.text, "layer-name").as_deref(), Some("primary"));
    assert_eq!(testid(&r.text, "fallback").as_deref(), Some("admin@example.com"));
    for text in [
        "responder@example.com, viewer@example.com",
        "hands off every day",
        "from 2026-10-26 09:00",
        "every week from Friday 09:00 to Monday 00:00",
    ] {
        assert!(r.text.contains(text), "{text} in {}", r.text);
    }
    // 09:00 EDT on Saturday is 13:00 UTC; the next hand-off, after the clocks go back, is at
    // 09:00 EST, 14:00 UTC: a 25-hour shift.
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert_eq!(testid(row, "shift-start").as_deref(), Some("Sat 2026-10-31 09:00 EDT"));
    assert_eq!(testid(row, "shift-end").as_deref(), Some("Sun 2026-11-01 09:00 EST"));
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("viewer@example.com"));
    let row = shift_row(&r.text, "2026-11-01T14:00:00+00:00");
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("responder@example.com"));
    assert_eq!(testid(row, "shift-end").as_deref(), Some("Mon 2026-11-02 00:00 EST"), "the weekly restriction");
    let row = shift_row(&r.text, "2026-11-02T05:00:00+00:00");
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("admin@example.com"));
    assert!(row.contains("(fallback)"), "{row}");
    assert!(!r.text.contains("override-form"), "viewers see no override forms");
}

async fn overrides_through_the_form(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let path = format!("/schedules/{id}");
    let (r, csrf) = get_page(&app, &path, &cookie).await;
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert!(row.contains("data-testid=\"override-form\""), "{row}");
    assert!(row.contains("name=\"end\" value=\"2026-11-01T14:00:00+00:00\""), "{row}");
    assert!(row.contains(&format!("<option value=\"{}\">admin@example.com</option>", app.admin.user.id)));

    // The whole Saturday shift goes to the admin.
    let admin = app.admin.user.id.to_string();
    let whole = [
        ("csrf", csrf.as_str()),
        ("user", admin.as_str()),
        ("start", "2026-10-31T13:00:00+00:00"),
        ("end", "2026-11-01T14:00:00+00:00"),
        ("from_local", ""),
        ("until_local", ""),
    ];
    let r = post(&app, &format!("{path}/overrides"), &cookie, &whole).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, path.clone()), "{}", r.text);
    let (r, _) = get_page(&app, &path, &cookie).await;
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("admin@example.com"));
    assert!(row.contains("(override)"), "{row}");
    let api = on_call_at(&app, &id, "2026-11-01T06:00:00Z").await;
    assert_eq!(
        (api["user_id"].as_str(), &api["source"]),
        (Some(admin.as_str()), &json!({"kind": "override", "index": 0}))
    );

    // Part of Sunday's shift, typed as New York wall-clock times (EST then: UTC-5).
    let part = [
        ("csrf", csrf.as_str()),
        ("user", admin.as_str()),
        ("start", "2026-11-01T14:00:00+00:00"),
        ("end", "2026-11-02T05:00:00+00:00"),
        ("from_local", "2026-11-01T12:00"),
        ("until_local", "2026-11-01T15:00"),
    ];
    let r = post(&app, &format!("{path}/overrides"), &cookie, &part).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let responder = app.responder.user.id.to_string();
    assert_eq!(on_call_at(&app, &id, "2026-11-01T16:59:00Z").await["user_id"], json!(responder));
    assert_eq!(on_call_at(&app, &id, "2026-11-01T17:00:00Z").await["user_id"], json!(admin));
    assert_eq!(on_call_at(&app, &id, "2026-11-01T20:00:00Z").await["user_id"], json!(responder));
    let (r, _) = get_page(&app, &path, &cookie).await;
    let row = shift_row(&r.text, "2026-11-01T17:00:00+00:00");
    assert_eq!(testid(row, "shift-start").as_deref(), Some("Sun 2026-11-01 12:00 EST"));
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("admin@example.com"));
    assert_eq!(overrides(&app, &id).await.as_array().map(Vec::len), Some(2));
}

async fn bad_overrides_are_shown_with_their_error(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let path = format!("/schedules/{id}");
    let (_, csrf) = get_page(&app, &path, &cookie).await;
    let admin = app.admin.user.id.to_string();
    let unknown = uuid::Uuid::now_v7().to_string();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("user", "")], "choose who takes the shift"),
        (vec![("user", &unknown)], "no user has the id"),
        (vec![("user", &admin), ("start", "yesterday")], "must be an instant"),
        (vec![("user", &admin), ("from_local", "soon")], "must be a date and time"),
        (
            vec![("user", &admin), ("from_local", "2026-11-01T08:00"), ("until_local", "2026-11-01T07:00")],
            "must end after it starts",
        ),
    ];
    for (fields, message) in cases {
        let mut all =
            vec![("csrf", csrf.as_str()), ("start", "2026-10-31T13:00:00+00:00"), ("end", "2026-11-01T14:00:00+00:00")];
        for (k, v) in fields {
            all.retain(|(name, _)| *name != k);
            all.push((k, v));
        }
        let r = post(&app, &format!("{path}/overrides"), &cookie, &all).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}: {}", r.text);
        let error = testid(&r.text, "form-error").unwrap_or_default();
        assert!(error.contains(message), "{message} in {error}");
        assert!(r.text.contains("data-testid=\"shift\""), "the schedule is shown again");
    }
    assert_eq!(overrides(&app, &id).await, json!([]), "nothing stored");
}

async fn viewers_and_forged_forms_are_refused(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let path = format!("/schedules/{id}/overrides");
    let admin = app.admin.user.id.to_string();
    let fields = |csrf: &str| -> Vec<(String, String)> {
        [("csrf", csrf), ("user", &admin), ("start", "2026-10-31T13:00:00Z"), ("end", "2026-11-01T14:00:00Z")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let send = async |cookie: &str, fields: Vec<(String, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post(&app, &path, cookie, &fields).await
    };

    let viewer = sign_in(&app, "viewer@example.com").await;
    let (_, csrf) = get_page(&app, &format!("/schedules/{id}"), &viewer).await;
    assert!(!csrf.is_empty());
    let r = send(&viewer, fields(&csrf)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("read-only"), "{}", r.text);

    let responder = sign_in(&app, "responder@example.com").await;
    for token in ["", "forged", &"a".repeat(64), &csrf] {
        let r = send(&responder, fields(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}: {}", r.text);
    }
    let mut without = fields("");
    without.retain(|(k, _)| k != "csrf");
    assert!(send(&responder, without).await.status.is_client_error());
    let r = send("", fields("")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login"));
    assert_eq!(overrides(&app, &id).await, json!([]), "nothing changed");
}

async fn hostile_names_are_escaped(app: TestApp) {
    set_clock(&app, NOW);
    let body = json!({"name": HOSTILE, "description": HOSTILE, "time_zone": "UTC",
        "layers": [{"name": HOSTILE, "members": [app.responder.user.id], "rotation_length": 1,
                    "rotation_unit": "weeks", "starts_at": "2026-10-26T09:00"}]});
    let r = app.post("/api/v1/schedules", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, _) = get_page(&app, "/schedules", &cookie).await;
    assert!(!r.text.contains(HOSTILE));
    assert_eq!(testid(&r.text, "schedule-name").as_deref(), Some(HOSTILE_ESCAPED));
    let (r, _) = get_page(&app, &format!("/schedules/{id}"), &cookie).await;
    assert!(!r.text.contains(HOSTILE));
    assert_eq!(testid(&r.text, "schedule-title").as_deref(), Some(HOSTILE_ESCAPED));
    assert_eq!(testid(&r.text, "layer-name").as_deref(), Some(HOSTILE_ESCAPED));
}

async fn unknown_schedules_are_404_pages(app: TestApp) {
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/schedules", &cookie).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [unknown.as_str(), "not-an-id"] {
        let r = app.send(page(&format!("/schedules/{id}"), &cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert!(r.text.contains("There is no such schedule."), "{}", r.text);
        let r = post(&app, &format!("/schedules/{id}/overrides"), &cookie, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert!(r.text.contains("There is no such schedule."), "{}", r.text);
    }
}

on_both_backends!(
    list_shows_who_is_on_call_now,
    schedule_shows_shifts_in_local_time,
    overrides_through_the_form,
    bad_overrides_are_shown_with_their_error,
    viewers_and_forged_forms_are_refused,
    hostile_names_are_escaped,
    unknown_schedules_are_404_pages,
);
