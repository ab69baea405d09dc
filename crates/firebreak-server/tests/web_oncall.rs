//! The on-call pages through HTTP: the list with who is on call now, a schedule's layers and
//! shifts in its own time zone (across the New York autumn change), overrides of a whole shift
//! or part of one through the form (and the API agreeing), bad input shown again, viewers and
//! forged forms refused, hostile names escaped, unknown schedules; the schedule and escalation
//! policy forms (create, edit, preview, the list buttons, errors at their field) and the policy
//! pages. On both backends.

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

// ---------------------------------------------------------------- the schedule form

/// Owned form fields, as the tests build them.
type Typed = Vec<(String, String)>;

fn typed(pairs: &[(&str, &str)]) -> Typed {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn post_typed(app: &TestApp, path: &str, cookie: &str, fields: &Typed) -> Reply {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    post(app, path, cookie, &fields).await
}

/// Sets `name` to `value` in `fields` (every field of that name goes; `value` is added last).
fn set(fields: &mut Typed, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

/// The schedule form filled in as [`create`] makes its schedule through the API, posted with
/// the button `action`.
fn schedule_form(app: &TestApp, csrf: &str, name: &str, action: &str) -> Typed {
    let (responder, viewer, admin) =
        (app.responder.user.id.to_string(), app.viewer.user.id.to_string(), app.admin.user.id.to_string());
    typed(&[
        ("csrf", csrf),
        ("name", name),
        ("description", ""),
        ("time_zone", "America/New_York"),
        ("layer1.name", "primary"),
        ("layer1.member", &responder),
        ("layer1.member", &viewer),
        ("layer1.member", ""),
        ("layer1.length", "1"),
        ("layer1.unit", "days"),
        ("layer1.starts_at", "2026-10-26T09:00"),
        ("layer1.window1.kind", "weekly"),
        ("layer1.window1.start_day", "friday"),
        ("layer1.window1.start", "09:00"),
        ("layer1.window1.end_day", "monday"),
        ("layer1.window1.end", "00:00"),
        ("layer1.window2.kind", ""),
        ("layer1.window2.start_day", ""),
        ("layer1.window2.start", ""),
        ("layer1.window2.end_day", ""),
        ("layer1.window2.end", ""),
        ("fallback", &admin),
        ("action", action),
    ])
}

async fn schedules(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/schedules", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// The value of attribute `name` in the start tag `element`.
fn attr<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = element.find(&marker)? + marker.len();
    element[start..].split('"').next()
}

/// The start tag of the element with `id`.
fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no element {id} in {html}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
    &html[start..end]
}

/// The HTML from the element with `id` to the end of its `</tag>`.
fn inner<'a>(html: &'a str, id: &str, tag: &str) -> &'a str {
    let start = html.find(&format!(" id=\"{id}\"")).unwrap_or_else(|| panic!("no element {id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find(&format!("</{tag}>")).unwrap_or(rest.len())]
}

/// Every field of the page's forms (inputs but hidden ones, selects, text areas) has an id and
/// a `<label for>` naming it.
fn assert_every_field_is_labelled(html: &str) {
    for tag in ["<input", "<select", "<textarea"] {
        for (i, _) in html.match_indices(tag) {
            let end = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
            let field = &html[i..end];
            if attr(field, "type") == Some("hidden") {
                continue;
            }
            let id = attr(field, "id").unwrap_or_else(|| panic!("a field without an id: {field}"));
            assert!(html.contains(&format!("<label for=\"{id}\"")), "no label for {id}");
        }
    }
}

/// The page shows `message` in its summary (`role="alert"`, linking to the field) and at the
/// field `id`, which the field names with `aria-describedby` and marks invalid.
fn assert_error_at(html: &str, id: &str, message: &str) {
    let summary = common::unescape(&testid(html, "form-error").unwrap_or_default());
    assert!(summary.contains(message), "{message:?} in the summary {summary:?}");
    assert!(html.contains("role=\"alert\""), "the summary is an alert");
    assert!(html.contains(&format!("href=\"#{id}\" data-testid=\"problem-link\"")), "the summary links to {id}");
    let at = inner(html, &format!("{id}-error"), "p");
    assert!(common::unescape(at).contains(message), "{message:?} at {id}: {at}");
    let field = element(html, id);
    assert!(
        attr(field, "aria-describedby").is_some_and(|d| d.split(' ').any(|d| d == format!("{id}-error"))),
        "{field}"
    );
    assert_eq!(attr(field, "aria-invalid"), Some("true"), "{field}");
    assert_eq!(html.matches("data-testid=\"field-error\"").count(), 1, "one field shows the error");
}

/// Whether the select with `id` has `value` chosen.
fn chosen(html: &str, id: &str, value: &str) -> bool {
    inner(html, id, "select").contains(&format!("<option value=\"{value}\" selected>"))
}

async fn create_a_schedule_through_the_form(app: TestApp) {
    set_clock(&app, NOW);
    let reference = create(&app, "reference").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, _) = get_page(&app, "/schedules", &cookie).await;
    assert!(r.text.contains("href=\"/schedules/new\" data-testid=\"new-schedule\""), "{}", r.text);
    assert!(r.text.contains("href=\"/policies\""), "the on-call page links to the policies");
    let (r, csrf) = get_page(&app, "/schedules/new", &cookie).await;
    assert!(r.text.contains("<form method=\"post\" action=\"/schedules/new\""), "{}", r.text);
    assert!(!csrf.is_empty());
    assert_every_field_is_labelled(&r.text);
    assert!(r.text.contains("<option value=\"Europe/Berlin\">"), "time zones are offered");
    assert!(r.text.contains("<legend>Layer 1</legend>"), "layers count from 1");

    let r = post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "save")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let path = location(&r);
    let id = path.strip_prefix("/schedules/").unwrap_or_else(|| panic!("{path}")).to_owned();

    // The API has the same schedule as the one made through it.
    let saved = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body;
    let made = app.get(&format!("/api/v1/schedules/{reference}"), &app.viewer.token).await.body;
    assert_eq!(saved["name"], "databases");
    for key in ["time_zone", "layers", "fallback", "overrides"] {
        assert_eq!(saved[key], made[key], "{key}");
    }

    let (r, _) = get_page(&app, &path, &cookie).await;
    assert_eq!(testid(&r.text, "schedule-title").as_deref(), Some("databases"));
    assert_eq!(testid(&r.text, "layer-name").as_deref(), Some("primary"));
    assert!(r.text.contains("responder@example.com, viewer@example.com"), "members in order");
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert_eq!(testid(row, "shift-end").as_deref(), Some("Sun 2026-11-01 09:00 EST"));
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("viewer@example.com"));
    assert!(r.text.contains(&format!("href=\"/schedules/{id}/edit\" data-testid=\"edit-schedule\"")));
}

async fn a_schedule_preview_shows_shifts_and_saves_nothing(app: TestApp) {
    set_clock(&app, NOW);
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/schedules/new", &cookie).await;
    let r = post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "preview")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-testid=\"preview\""), "{}", r.text);
    assert_eq!(testid(&r.text, "form-status").as_deref(), Some("Preview only: nothing is saved yet."));
    // The shifts of the schedule page, across the autumn change in New York.
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert_eq!(testid(row, "shift-start").as_deref(), Some("Sat 2026-10-31 09:00 EDT"));
    assert_eq!(testid(row, "shift-end").as_deref(), Some("Sun 2026-11-01 09:00 EST"));
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("viewer@example.com"));
    let row = shift_row(&r.text, "2026-11-02T05:00:00+00:00");
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("admin@example.com"));
    assert!(row.contains("(fallback)"), "{row}");
    let first = r.text.find("data-testid=\"shift\" data-start=\"").map(|i| &r.text[i + 32..i + 51]);
    assert_eq!(first, Some("2026-10-31T12:00:00"), "from now");
    // What was typed is still in the form.
    assert_eq!(attr(element(&r.text, "sf-name"), "value"), Some("databases"));
    assert!(chosen(&r.text, "sf-layer-1-members-2", &app.viewer.user.id.to_string()));
    assert!(chosen(&r.text, "sf-layer-1-window-1-start-day", "friday"));
    assert_every_field_is_labelled(&r.text);
    assert!(schedules(&app).await.is_empty(), "nothing saved");
}

async fn invalid_schedules_are_shown_again_at_their_field(app: TestApp) {
    set_clock(&app, NOW);
    let taken = json!({"name": "taken", "time_zone": "UTC", "fallback": app.admin.user.id});
    assert_eq!(app.post("/api/v1/schedules", &app.responder.token, taken).await.status, StatusCode::CREATED);
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/schedules/new", &cookie).await;
    let stranger = uuid::Uuid::now_v7().to_string();
    let long = "n".repeat(101);
    let without_members = |f: &mut Typed| f.retain(|(k, _)| k != "layer1.member");
    type Change = Box<dyn Fn(&mut Typed)>;
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "bad zone",
            Box::new(|f| set(f, "time_zone", "Mars/Olympus_Mons")),
            "sf-time-zone",
            "is not an IANA time zone",
        ),
        ("no members", Box::new(without_members), "sf-layer-1-members", "needs 1 to 200 members"),
        (
            "unknown user",
            Box::new({
                let stranger = stranger.clone();
                move |f| {
                    without_members(f);
                    f.push(("layer1.member".into(), stranger.clone()));
                }
            }),
            "sf-layer-1-members",
            "no user has the id",
        ),
        (
            "bad member id",
            Box::new(|f| f.push(("layer1.member".into(), "x'><b>".into()))),
            "sf-layer-1-members",
            "choose the members",
        ),
        ("words for a length", Box::new(|f| set(f, "layer1.length", "two")), "sf-layer-1-length", "whole number"),
        (
            "an oversize length",
            Box::new(|f| set(f, "layer1.length", "99999999999999999999")),
            "sf-layer-1-length",
            "whole number",
        ),
        (
            "too long a rotation",
            Box::new(|f| {
                set(f, "layer1.length", "53");
                set(f, "layer1.unit", "weeks");
            }),
            "sf-layer-1-length",
            "1 to 52 weeks",
        ),
        (
            "an unknown unit",
            Box::new(|f| set(f, "layer1.unit", "fortnights")),
            "sf-layer-1-length",
            "hours, days or weeks",
        ),
        ("no start", Box::new(|f| set(f, "layer1.starts_at", "soon")), "sf-layer-1-start", "a date and time"),
        ("a bad window", Box::new(|f| set(f, "layer1.window1.start", "25:99")), "sf-layer-1-windows", "like 09:00"),
        (
            "a window without its times",
            Box::new(|f| {
                set(f, "layer1.window2.kind", "daily");
                set(f, "layer1.window2.start", "17:00");
            }),
            "sf-layer-1-windows",
            "like 09:00",
        ),
        (
            "a daily window that is the whole day",
            Box::new(|f| {
                for (k, v) in [
                    ("layer1.window1.kind", "daily"),
                    ("layer1.window1.start", "09:00"),
                    ("layer1.window1.end", "09:00"),
                ] {
                    set(f, k, v);
                }
            }),
            "sf-layer-1-windows",
            "different start and end times",
        ),
        ("no layer name", Box::new(|f| set(f, "layer1.name", " ")), "sf-layer-1-name", "a name of 1 to 100"),
        ("no name", Box::new(|f| set(f, "name", "")), "sf-name", "1 to 100 characters"),
        ("an oversize name", Box::new(move |f| set(f, "name", &long)), "sf-name", "1 to 100 characters"),
        ("a taken name", Box::new(|f| set(f, "name", "taken")), "sf-name", "already exists"),
        (
            "an oversize description",
            Box::new(|f| set(f, "description", &"d".repeat(2001))),
            "sf-description",
            "at most 2000 characters",
        ),
        ("a bad fallback", Box::new(|f| set(f, "fallback", "nobody")), "sf-fallback", "choose the fallback"),
        (
            "a second layer without members",
            Box::new(|f| {
                for (k, v) in [("layer2.name", "second"), ("layer2.length", "1"), ("layer2.unit", "weeks")] {
                    f.push((k.into(), v.into()));
                }
                f.push(("layer2.starts_at".into(), "2026-10-26T09:00".into()));
            }),
            "sf-layer-2-members",
            "needs 1 to 200 members",
        ),
    ];
    for (what, change, id, message) in &cases {
        for action in ["save", "preview"] {
            if action == "preview" && matches!(*id, "sf-name" | "sf-description") {
                continue; // a preview needs no name or description
            }
            let mut fields = schedule_form(&app, &csrf, HOSTILE, action);
            change(&mut fields);
            let r = post_typed(&app, "/schedules/new", &cookie, &fields).await;
            let status = if *what == "a taken name" { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            assert_eq!(r.status, status, "{what} ({action}): {}", r.text);
            assert_error_at(&r.text, id, message);
            assert!(!r.text.contains("data-testid=\"preview\""), "{what}: no preview");
            // What was typed is shown again, escaped.
            assert!(!r.text.contains(HOSTILE), "{what}: escaped");
            let name = attr(element(&r.text, "sf-name"), "value").unwrap_or_default();
            if !matches!(*what, "no name" | "an oversize name" | "a taken name") {
                assert_eq!(name, HOSTILE_ESCAPED, "{what}");
            }
        }
    }
    // The unknown member is still chosen, so the person typing sees what was wrong.
    let mut fields = schedule_form(&app, &csrf, "databases", "save");
    without_members(&mut fields);
    fields.push(("layer1.member".into(), stranger.clone()));
    let r = post_typed(&app, "/schedules/new", &cookie, &fields).await;
    assert!(chosen(&r.text, "sf-layer-1-members-1", &stranger), "{}", r.text);
    let mut fields = schedule_form(&app, &csrf, "databases", "save");
    set(&mut fields, "time_zone", "Mars/Olympus_Mons");
    let r = post_typed(&app, "/schedules/new", &cookie, &fields).await;
    assert_eq!(attr(element(&r.text, "sf-time-zone"), "value"), Some("Mars/Olympus_Mons"));
    assert!(chosen(&r.text, "sf-fallback", &app.admin.user.id.to_string()));
    assert!(chosen(&r.text, "sf-layer-1-window-1-kind", "weekly"));

    let names: Vec<Value> = schedules(&app).await.iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, [json!("taken")], "nothing else saved");
}

async fn edit_a_schedule_through_the_form(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let (admin, responder, viewer) =
        (app.admin.user.id.to_string(), app.responder.user.id.to_string(), app.viewer.user.id.to_string());
    let over = json!({"user": admin, "start": "2026-10-31T13:00:00Z", "end": "2026-10-31T15:00:00Z"});
    let r = app.post(&format!("/api/v1/schedules/{id}/overrides"), &app.responder.token, over).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let cookie = sign_in(&app, "responder@example.com").await;
    let path = format!("/schedules/{id}/edit");
    let (r, csrf) = get_page(&app, &path, &cookie).await;
    assert!(r.text.contains(&format!("<form method=\"post\" action=\"{path}\"")), "{}", r.text);
    assert_every_field_is_labelled(&r.text);
    assert_eq!(attr(element(&r.text, "sf-name"), "value"), Some("databases"));
    assert_eq!(attr(element(&r.text, "sf-time-zone"), "value"), Some("America/New_York"));
    assert_eq!(attr(element(&r.text, "sf-layer-1-name"), "value"), Some("primary"));
    assert!(chosen(&r.text, "sf-layer-1-members-1", &responder));
    assert!(chosen(&r.text, "sf-layer-1-members-2", &viewer));
    assert!(chosen(&r.text, "sf-layer-1-unit", "days"));
    assert_eq!(attr(element(&r.text, "sf-layer-1-start"), "value"), Some("2026-10-26T09:00"));
    assert!(chosen(&r.text, "sf-layer-1-window-1-kind", "weekly"));
    assert!(chosen(&r.text, "sf-layer-1-window-1-end-day", "monday"));
    assert!(chosen(&r.text, "sf-fallback", &admin));

    // Renamed, the members the other way round, every day from 09:00 to 17:00, no fallback.
    let mut fields = schedule_form(&app, &csrf, "databases (edited)", "preview");
    fields.retain(|(k, _)| k != "layer1.member");
    fields.extend(typed(&[("layer1.member", &viewer), ("layer1.member", &responder)]));
    for (k, v) in [("layer1.window1.kind", "daily"), ("layer1.window1.start", "09:00"), ("layer1.window1.end", "17:00")]
    {
        set(&mut fields, k, v);
    }
    set(&mut fields, "fallback", "");
    // The preview keeps the schedule's override.
    let r = post_typed(&app, &path, &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = shift_row(&r.text, "2026-10-31T13:00:00+00:00");
    assert_eq!(testid(row, "shift-on-call").as_deref(), Some("admin@example.com"));
    assert!(row.contains("(override)"), "{row}");
    let unsaved = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body;
    assert_eq!(unsaved["name"], "databases", "a preview saves nothing");

    // Someone adds an override while the form is open: saving the form keeps it.
    let meanwhile = json!({"user": viewer, "start": "2026-11-01T13:00:00Z", "end": "2026-11-01T15:00:00Z"});
    let r = app.post(&format!("/api/v1/schedules/{id}/overrides"), &app.responder.token, meanwhile).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    set(&mut fields, "action", "save");
    let r = post_typed(&app, &path, &cookie, &fields).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, format!("/schedules/{id}")), "{}", r.text);
    let saved = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body;
    assert_eq!(saved["overrides"].as_array().map(Vec::len), Some(2), "the override added meanwhile is kept");
    assert_eq!(saved["name"], "databases (edited)");
    assert_eq!(saved["layers"][0]["members"], json!([viewer, responder]));
    assert_eq!(saved["layers"][0]["restrictions"].as_array().map(Vec::len), Some(1));
    assert_eq!(saved["layers"][0]["restrictions"][0]["kind"], "daily");
    assert_eq!(saved["fallback"], Value::Null);
    assert_eq!(saved["overrides"].as_array().map(Vec::len), Some(2), "the overrides are kept");
    assert_eq!(on_call_at(&app, &id, "2026-11-02T15:00:00Z").await["user_id"], json!(responder), "Monday 10:00 EST");
    assert_eq!(on_call_at(&app, &id, "2026-11-02T23:00:00Z").await, Value::Null, "outside the window, no fallback");

    // Monday to Friday from 09:00 to 17:00 is saved as five weekly windows, and shown as one.
    for (k, v) in [("layer1.window1.kind", "weekdays"), ("action", "save")] {
        set(&mut fields, k, v);
    }
    let r = post_typed(&app, &path, &cookie, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let saved = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body;
    assert_eq!(saved["layers"][0]["restrictions"].as_array().map(Vec::len), Some(5));
    let (r, _) = get_page(&app, &path, &cookie).await;
    assert!(chosen(&r.text, "sf-layer-1-window-1-kind", "weekdays"));
    assert!(chosen(&r.text, "sf-layer-1-window-2-kind", ""), "then a blank row");
    assert!(!r.text.contains("id=\"sf-layer-1-window-3-kind\""));
}

async fn the_schedule_form_adds_and_removes_layers_and_members(app: TestApp) {
    set_clock(&app, NOW);
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/schedules/new", &cookie).await;
    let (responder, viewer) = (app.responder.user.id.to_string(), app.viewer.user.id.to_string());
    let layers = |html: &str| html.matches("data-testid=\"layer-fields\"").count();

    let r = post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "add-layer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(layers(&r.text), 2);
    assert_eq!(testid(&r.text, "form-status").as_deref(), Some("Layer 2 added."));
    assert!(element(&r.text, "sf-layer-2-name").contains(" autofocus"), "the new layer's name takes focus");
    assert!(r.text.contains("<legend>Layer 2</legend>"));
    assert_eq!(attr(element(&r.text, "sf-layer-1-name"), "value"), Some("primary"), "what was typed stays");
    assert!(chosen(&r.text, "sf-layer-1-members-1", &responder));

    let r =
        post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "member-up:1:2")).await;
    assert!(chosen(&r.text, "sf-layer-1-members-1", &viewer), "{}", r.text);
    assert!(chosen(&r.text, "sf-layer-1-members-2", &responder));
    assert!(r.text.contains("value=\"member-up:1:2\""), "the second member can move up");
    assert!(!r.text.contains("value=\"member-up:1:1\""), "the first cannot");

    let rows = |html: &str| html.matches("name=\"layer1.member\"").count();
    let r =
        post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "more-members:1")).await;
    assert_eq!(rows(&r.text), 4, "two members and two blank rows");
    let r =
        post_typed(&app, "/schedules/new", &cookie, &schedule_form(&app, &csrf, "databases", "more-windows:1")).await;
    assert_eq!(r.text.matches("data-testid=\"window-row\"").count(), 3, "a window and two blank rows");

    let mut two = schedule_form(&app, &csrf, "databases", "remove-layer:1");
    for (k, v) in [("layer2.name", "second"), ("layer2.member", responder.as_str()), ("layer2.length", "2")] {
        two.push((k.into(), v.into()));
    }
    let r = post_typed(&app, "/schedules/new", &cookie, &two).await;
    assert_eq!(layers(&r.text), 1, "{}", r.text);
    assert_eq!(attr(element(&r.text, "sf-layer-1-name"), "value"), Some("second"), "the layers after moved up");
    assert_eq!(attr(element(&r.text, "sf-layer-1-length"), "value"), Some("2"));
    assert_eq!(testid(&r.text, "form-status").as_deref(), Some("Layer 1 removed; the layers after it moved up one."));
    assert!(schedules(&app).await.is_empty(), "nothing saved");
}

async fn viewers_cannot_create_or_edit_schedules(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let before = app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body;
    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, csrf) = get_page(&app, "/schedules", &viewer).await;
    assert!(!r.text.contains("/schedules/new"), "no button to create one");
    let (r, _) = get_page(&app, &format!("/schedules/{id}"), &viewer).await;
    assert!(!r.text.contains("/edit"), "no button to edit it");
    for path in ["/schedules/new".to_owned(), format!("/schedules/{id}/edit")] {
        let r = app.send(page(&path, &viewer)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(r.text.contains("read-only"), "{}", r.text);
        for action in ["save", "preview", "add-layer"] {
            let r = post_typed(&app, &path, &viewer, &schedule_form(&app, &csrf, "mine", action)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {action}: {}", r.text);
        }
    }
    assert_eq!(schedules(&app).await.len(), 1);
    assert_eq!(app.get(&format!("/api/v1/schedules/{id}"), &app.viewer.token).await.body, before, "unchanged");
}

async fn schedule_forms_refuse_a_missing_csrf_token(app: TestApp) {
    set_clock(&app, NOW);
    let id = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/schedules/new", &cookie).await;
    for path in ["/schedules/new".to_owned(), format!("/schedules/{id}/edit")] {
        for token in [None, Some(""), Some("forged")] {
            let mut fields = schedule_form(&app, &csrf, "other", "save");
            fields.retain(|(k, _)| k != "csrf");
            if let Some(token) = token {
                fields.push(("csrf".into(), token.into()));
            }
            let r = post_typed(&app, &path, &cookie, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {}", r.text);
        }
        let r = post_typed(&app, &path, "", &schedule_form(&app, "", "other", "save")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "signed out");
        assert!(location(&r).starts_with("/login"));
    }
    let names: Vec<Value> = schedules(&app).await.iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, [json!("databases")], "nothing saved or changed");
    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".into()] {
        let r = app.send(page(&format!("/schedules/{id}/edit"), &cookie)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert!(r.text.contains("There is no such schedule."), "{}", r.text);
        let r =
            post_typed(&app, &format!("/schedules/{id}/edit"), &cookie, &schedule_form(&app, &csrf, "x", "save")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }
}

// ---------------------------------------------------------------- escalation policies

/// The policy form: level 1 pages the schedule `schedule` and waits 5 minutes, level 2 the
/// admin and the responder in turn and waits 15, one repeat; posted with the button `action`.
fn policy_form(app: &TestApp, csrf: &str, name: &str, schedule: &str, action: &str) -> Typed {
    let (admin, responder) = (format!("user:{}", app.admin.user.id), format!("user:{}", app.responder.user.id));
    let schedule = format!("schedule:{schedule}");
    typed(&[
        ("csrf", csrf),
        ("name", name),
        ("description", "database escalation"),
        ("level1.target", &schedule),
        ("level1.target", ""),
        ("level1.delay", "5"),
        ("level2.target", &admin),
        ("level2.target", &responder),
        ("level2.target", ""),
        ("level2.round_robin", "on"),
        ("level2.delay", "15"),
        ("repeat", "1"),
        ("action", action),
    ])
}

async fn policies(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/escalation-policies", &app.viewer.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

/// The texts of every element with `data-testid="ID"`, in order.
fn testids(html: &str, id: &str) -> Vec<String> {
    let marker = format!("data-testid=\"{id}\">");
    html.match_indices(&marker)
        .map(|(i, _)| html[i + marker.len()..].split('<').next().unwrap_or_default().to_owned())
        .collect()
}

async fn create_and_edit_a_policy_through_the_form(app: TestApp) {
    set_clock(&app, NOW);
    let schedule = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (r, _) = get_page(&app, "/policies", &cookie).await;
    assert!(r.text.contains("No escalation policies yet."), "{}", r.text);
    assert!(r.text.contains("href=\"/policies/new\" data-testid=\"new-policy\""));
    let (r, csrf) = get_page(&app, "/policies/new", &cookie).await;
    assert!(r.text.contains("<form method=\"post\" action=\"/policies/new\""), "{}", r.text);
    assert_every_field_is_labelled(&r.text);
    assert!(r.text.contains(&format!("<option value=\"schedule:{schedule}\">databases</option>")), "{}", r.text);
    assert!(r.text.contains(&format!("<option value=\"user:{}\">admin@example.com</option>", app.admin.user.id)));

    let r = post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "databases", &schedule, "save")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let path = location(&r);
    let id = path.strip_prefix("/policies/").unwrap_or_else(|| panic!("{path}")).to_owned();
    let saved = app.get(&format!("/api/v1/escalation-policies/{id}"), &app.viewer.token).await.body;
    assert_eq!(saved["name"], "databases");
    assert_eq!(saved["description"], "database escalation");
    assert_eq!(
        saved["levels"],
        json!([
            {"targets": [{"type": "schedule", "id": schedule}], "round_robin": false, "delay_minutes": 5},
            {"targets": [{"type": "user", "id": app.admin.user.id}, {"type": "user", "id": app.responder.user.id}],
             "round_robin": true, "delay_minutes": 15}
        ])
    );
    assert_eq!(saved["repeat"], 1);

    // Its page: levels, targets by name, waits, repeats, no service yet, and the plan.
    let (r, _) = get_page(&app, &path, &cookie).await;
    assert_eq!(testid(&r.text, "policy-title").as_deref(), Some("databases"));
    assert_eq!(
        testids(&r.text, "level-targets"),
        ["whoever is on call on databases", "admin@example.com, responder@example.com"]
    );
    assert_eq!(testids(&r.text, "level-wait"), ["5 minutes", "15 minutes"]);
    assert!(r.text.contains("one of them at a time, in turn"));
    assert!(common::unescape(&testid(&r.text, "repeat").unwrap_or_default()).contains("runs 1 more time."));
    assert!(r.text.contains("data-testid=\"no-services\""));
    assert_eq!(testids(&r.text, "plan-minute"), ["0", "5", "20", "25"]);
    assert_eq!(testids(&r.text, "plan-pages")[0], "responder@example.com (on call on databases)");
    assert!(r.text.contains(&format!("href=\"/policies/{id}/edit\" data-testid=\"edit-policy\"")));

    // A service that pages through it is listed with it.
    let body = json!({"name": "checkout", "escalation_policy_id": id});
    assert_eq!(app.post("/api/v1/services", &app.responder.token, body).await.status, StatusCode::CREATED);
    let (r, _) = get_page(&app, &path, &cookie).await;
    let used_by = &r.text[r.text.find("data-testid=\"services\"").unwrap_or_else(|| panic!("{}", r.text))..];
    assert!(used_by.contains(">checkout</a>"), "{used_by}");
    assert!(!r.text.contains("data-testid=\"no-services\""));
    let (r, _) = get_page(&app, "/policies", &cookie).await;
    assert!(r.text.contains(&format!("<a href=\"/policies/{id}\" data-testid=\"policy-name\">databases</a>")));
    assert!(r.text.contains("checkout"), "used by the service");

    // Edited: one level, a 10-minute wait, no repeats.
    let edit = format!("/policies/{id}/edit");
    let (r, csrf) = get_page(&app, &edit, &cookie).await;
    assert_every_field_is_labelled(&r.text);
    assert_eq!(attr(element(&r.text, "pf-name"), "value"), Some("databases"));
    assert!(chosen(&r.text, "pf-level-1-targets-1", &format!("schedule:{schedule}")));
    assert!(chosen(&r.text, "pf-level-2-targets-2", &format!("user:{}", app.responder.user.id)));
    assert!(element(&r.text, "pf-level-2-round-robin").contains(" checked"));
    assert!(!element(&r.text, "pf-level-1-round-robin").contains(" checked"));
    assert_eq!(attr(element(&r.text, "pf-level-2-delay"), "value"), Some("15"));
    assert_eq!(attr(element(&r.text, "pf-repeat"), "value"), Some("1"));
    let mut fields = policy_form(&app, &csrf, "databases", &schedule, "save");
    fields.retain(|(k, _)| !k.starts_with("level2."));
    set(&mut fields, "level1.delay", "10");
    set(&mut fields, "repeat", "0");
    let r = post_typed(&app, &edit, &cookie, &fields).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, path.clone()), "{}", r.text);
    let saved = app.get(&format!("/api/v1/escalation-policies/{id}"), &app.viewer.token).await.body;
    assert_eq!(
        saved["levels"],
        json!([{"targets": [{"type": "schedule", "id": schedule}], "round_robin": false, "delay_minutes": 10}])
    );
    assert_eq!(saved["repeat"], 0);
}

async fn a_policy_preview_shows_the_plan_and_saves_nothing(app: TestApp) {
    set_clock(&app, NOW);
    let schedule = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/policies/new", &cookie).await;
    let r =
        post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "databases", &schedule, "preview")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("data-testid=\"preview\""), "{}", r.text);
    assert_eq!(testid(&r.text, "form-status").as_deref(), Some("Preview only: nothing is saved yet."));
    // Now (Saturday 08:00 in New York) the schedule has the responder on call; levels 1, 2, then
    // the repeat, at minutes 0, 5, 20 and 25.
    assert_eq!(testids(&r.text, "plan-minute"), ["0", "5", "20", "25"]);
    assert_eq!(
        testids(&r.text, "plan-pages"),
        [
            "responder@example.com (on call on databases)",
            "admin@example.com, responder@example.com",
            "responder@example.com (on call on databases)",
            "admin@example.com, responder@example.com",
        ]
    );
    assert!(r.text.contains("(2026-10-31 12:05:00 UTC)"), "{}", r.text);
    assert!(r.text.contains("one of them, in turn:"), "level 2 pages one at a time");
    assert_eq!(attr(element(&r.text, "pf-name"), "value"), Some("databases"), "what was typed stays");
    assert!(chosen(&r.text, "pf-level-2-targets-1", &format!("user:{}", app.admin.user.id)));
    assert!(policies(&app).await.is_empty(), "nothing saved");
}

async fn invalid_policies_are_shown_again_at_their_field(app: TestApp) {
    set_clock(&app, NOW);
    let schedule = create(&app, "databases").await;
    let taken = json!({"name": "taken", "levels": [{"targets": [{"type": "user", "id": app.admin.user.id}], "delay_minutes": 5}]});
    assert_eq!(app.post("/api/v1/escalation-policies", &app.responder.token, taken).await.status, StatusCode::CREATED);
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/policies/new", &cookie).await;
    let stranger = uuid::Uuid::now_v7();
    let unknown_user = format!("user:{stranger}");
    let unknown_schedule = format!("schedule:{stranger}");
    let twice = format!("schedule:{schedule}");
    type Change = Box<dyn Fn(&mut Typed)>;
    let targets = |value: String| -> Change {
        Box::new(move |f: &mut Typed| {
            f.retain(|(k, _)| k != "level1.target");
            f.push(("level1.target".into(), value.clone()));
        })
    };
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        ("no targets", targets(String::new()), "pf-level-1-targets", "needs 1 to 50 targets"),
        ("an unknown user", targets(unknown_user.clone()), "pf-level-1-targets", "no user has the id"),
        ("an unknown schedule", targets(unknown_schedule), "pf-level-1-targets", "no schedule has the id"),
        ("a malformed target", targets("root:<b>".into()), "pf-level-1-targets", "choose people and schedules"),
        (
            "a target twice",
            Box::new(move |f| f.push(("level1.target".into(), twice.clone()))),
            "pf-level-1-targets",
            "names a target twice",
        ),
        ("no wait", Box::new(|f| set(f, "level1.delay", "0")), "pf-level-1-delay", "1 to 1440 minutes"),
        ("words for a wait", Box::new(|f| set(f, "level2.delay", "soon")), "pf-level-2-delay", "whole number"),
        (
            "a second level without targets",
            Box::new(|f| f.retain(|(k, _)| k != "level2.target")),
            "pf-level-2-targets",
            "level 2 needs",
        ),
        ("too many repeats", Box::new(|f| set(f, "repeat", "10")), "pf-repeat", "at most 9 repeats"),
        ("negative repeats", Box::new(|f| set(f, "repeat", "-1")), "pf-repeat", "whole number"),
        ("no levels", Box::new(|f| f.retain(|(k, _)| !k.starts_with("level"))), "pf-levels", "1 to 20 levels"),
        ("no name", Box::new(|f| set(f, "name", "")), "pf-name", "1 to 100 characters"),
        ("a taken name", Box::new(|f| set(f, "name", "taken")), "pf-name", "already exists"),
    ];
    for (what, change, id, message) in &cases {
        for action in ["save", "preview"] {
            if action == "preview" && *id == "pf-name" {
                continue; // a preview needs no name
            }
            let mut fields = policy_form(&app, &csrf, HOSTILE, &schedule, action);
            change(&mut fields);
            let r = post_typed(&app, "/policies/new", &cookie, &fields).await;
            let status = if *what == "a taken name" { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
            assert_eq!(r.status, status, "{what} ({action}): {}", r.text);
            assert_error_at(&r.text, id, message);
            assert!(!r.text.contains(HOSTILE), "{what}: escaped");
            assert!(!r.text.contains("data-testid=\"preview\""), "{what}: no preview");
            if !matches!(*what, "no name" | "a taken name") {
                assert_eq!(attr(element(&r.text, "pf-name"), "value"), Some(HOSTILE_ESCAPED), "{what}");
            }
        }
    }
    let mut fields = policy_form(&app, &csrf, "databases", &schedule, "save");
    targets(unknown_user.clone())(&mut fields);
    let r = post_typed(&app, "/policies/new", &cookie, &fields).await;
    assert!(chosen(&r.text, "pf-level-1-targets-1", &unknown_user), "the unknown target stays chosen");
    assert!(element(&r.text, "pf-level-2-round-robin").contains(" checked"));
    assert_eq!(attr(element(&r.text, "pf-level-2-delay"), "value"), Some("15"));
    let names: Vec<Value> = policies(&app).await.iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [json!("taken")], "nothing else saved");
}

async fn the_policy_form_adds_and_removes_levels_and_targets(app: TestApp) {
    set_clock(&app, NOW);
    let schedule = create(&app, "databases").await;
    let cookie = sign_in(&app, "responder@example.com").await;
    let (_, csrf) = get_page(&app, "/policies/new", &cookie).await;
    let levels = |html: &str| html.matches("data-testid=\"level-fields\"").count();
    let (admin, responder) = (format!("user:{}", app.admin.user.id), format!("user:{}", app.responder.user.id));

    let r = post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "p", &schedule, "add-level")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(levels(&r.text), 3);
    assert_eq!(testid(&r.text, "form-status").as_deref(), Some("Level 3 added."));
    assert!(element(&r.text, "pf-level-3-targets-1").contains(" autofocus"));
    let r =
        post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "p", &schedule, "target-up:2:2")).await;
    assert!(chosen(&r.text, "pf-level-2-targets-1", &responder), "{}", r.text);
    assert!(chosen(&r.text, "pf-level-2-targets-2", &admin));
    let r =
        post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "p", &schedule, "more-targets:1")).await;
    assert_eq!(r.text.matches("name=\"level1.target\"").count(), 3, "a target and two blank rows");
    let r =
        post_typed(&app, "/policies/new", &cookie, &policy_form(&app, &csrf, "p", &schedule, "remove-level:1")).await;
    assert_eq!(levels(&r.text), 1);
    assert!(chosen(&r.text, "pf-level-1-targets-1", &admin), "level 2 is level 1 now");
    assert_eq!(attr(element(&r.text, "pf-level-1-delay"), "value"), Some("15"));
    assert!(policies(&app).await.is_empty(), "nothing saved");
}

async fn viewers_and_forged_forms_cannot_change_policies(app: TestApp) {
    set_clock(&app, NOW);
    let schedule = create(&app, "databases").await;
    let body = json!({"name": HOSTILE, "description": HOSTILE,
        "levels": [{"targets": [{"type": "schedule", "id": schedule}], "delay_minutes": 5}]});
    let r = app.post("/api/v1/escalation-policies", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let before = policies(&app).await;

    let viewer = sign_in(&app, "viewer@example.com").await;
    let (r, csrf) = get_page(&app, "/policies", &viewer).await;
    assert!(!r.text.contains("/policies/new"), "no button to create one");
    assert!(!r.text.contains(HOSTILE));
    assert_eq!(testid(&r.text, "policy-name").as_deref(), Some(HOSTILE_ESCAPED));
    let (r, _) = get_page(&app, &format!("/policies/{id}"), &viewer).await;
    assert!(!r.text.contains("/edit"), "no button to edit it");
    assert!(!r.text.contains(HOSTILE));
    assert_eq!(testid(&r.text, "policy-title").as_deref(), Some(HOSTILE_ESCAPED));
    for path in ["/policies/new".to_owned(), format!("/policies/{id}/edit")] {
        let r = app.send(page(&path, &viewer)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        for action in ["save", "preview"] {
            let r = post_typed(&app, &path, &viewer, &policy_form(&app, &csrf, "mine", &schedule, action)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {action}: {}", r.text);
        }
    }

    let responder = sign_in(&app, "responder@example.com").await;
    for path in ["/policies/new".to_owned(), format!("/policies/{id}/edit")] {
        for token in [None, Some(""), Some("forged"), Some(csrf.as_str())] {
            let mut fields = policy_form(&app, "", "mine", &schedule, "save");
            fields.retain(|(k, _)| k != "csrf");
            if let Some(token) = token {
                fields.push(("csrf".into(), token.into()));
            }
            let r = post_typed(&app, &path, &responder, &fields).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}: {}", r.text);
        }
    }
    assert_eq!(policies(&app).await, before, "nothing changed");
    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".into()] {
        for path in [format!("/policies/{id}"), format!("/policies/{id}/edit")] {
            let r = app.send(page(&path, &responder)).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
            assert!(r.text.contains("There is no such escalation policy."), "{}", r.text);
        }
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
    create_a_schedule_through_the_form,
    a_schedule_preview_shows_shifts_and_saves_nothing,
    invalid_schedules_are_shown_again_at_their_field,
    edit_a_schedule_through_the_form,
    the_schedule_form_adds_and_removes_layers_and_members,
    viewers_cannot_create_or_edit_schedules,
    schedule_forms_refuse_a_missing_csrf_token,
    create_and_edit_a_policy_through_the_form,
    a_policy_preview_shows_the_plan_and_saves_nothing,
    invalid_policies_are_shown_again_at_their_field,
    the_policy_form_adds_and_removes_levels_and_targets,
    viewers_and_forged_forms_cannot_change_policies,
);
