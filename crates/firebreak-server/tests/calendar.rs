//! Calendar feeds through the API and the secret `.ics` URL: a weekly New York rotation across
//! the next spring DST change, hostile names escaped and folded, personal feeds across
//! schedules, and revocation. On both backends.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use common::{Reply, TestApp, assert_error};
use serde_json::{Value, json};
use std::collections::HashSet;

/// A display name that breaks naive iCalendar writers: TEXT specials, markup, and a tail of
/// two-byte characters up to the 100-character limit on names, so lines fold inside them.
fn hostile_name() -> String {
    let head = r#"Ann, "Lee"; \ <script>"#;
    format!("{head}{}", "é".repeat(100 - head.chars().count()))
}

/// The same text as RFC 5545 TEXT escapes it.
fn escaped(text: &str) -> String {
    text.replace('\\', r"\\").replace(';', r"\;").replace(',', r"\,").replace('\n', r"\n")
}

/// The Sunday the United States next moves to daylight saving time (second Sunday of March)
/// with at least three weeks to spare.
fn next_dst_start(today: NaiveDate) -> NaiveDate {
    (today.year()..=today.year() + 1)
        .filter_map(|year| NaiveDate::from_weekday_of_month_opt(year, 3, Weekday::Sun, 2))
        .find(|sunday| *sunday - TimeDelta::days(21) > today)
        .expect("a second Sunday of March within two years")
}

/// Monday 09:00 in New York (EST, so 14:00 UTC) six days before the DST change: the first
/// weekly shift runs 167 hours, to Monday 09:00 EDT (13:00 UTC).
struct Rotation {
    start: DateTime<Utc>,
    first_end: DateTime<Utc>,
}

fn rotation() -> Rotation {
    let monday = next_dst_start(Utc::now().date_naive()) - TimeDelta::days(6);
    let at = |day: NaiveDate, hour| Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).expect("a valid time of day"));
    Rotation { start: at(monday, 14), first_end: at(monday + TimeDelta::days(7), 13) }
}

fn ics_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

async fn create_schedule(app: &TestApp, name: &str, members: Value, rotation: &Rotation) -> String {
    let starts_at = (rotation.start - TimeDelta::hours(5)).format("%Y-%m-%dT%H:%M").to_string();
    let body = json!({
        "name": name,
        "time_zone": "America/New_York",
        "layers": [{"name": r#"primary; nights, \ "A""#, "members": members,
            "rotation_length": 1, "rotation_unit": "weeks", "starts_at": starts_at}],
    });
    let r = app.post("/api/v1/schedules", &app.responder.token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().expect("the schedule has an id").to_owned()
}

/// Creates a feed at `path` as `token`; returns (id, path of the .ics, token).
async fn create_feed(app: &TestApp, path: &str, token: &str) -> (String, String, String) {
    let r = app.raw(Method::POST, path, Some(token), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let text = |k: &str| r.body[k].as_str().expect("a string field").to_owned();
    let (id, url, secret) = (text("id"), text("url"), text("token"));
    assert!(secret.len() >= 43, "32 random bytes: {secret}");
    let suffix = format!("/calendar/{secret}.ics");
    assert_eq!(url, format!("http://127.0.0.1:8080{suffix}"), "the URL carries the token");
    (id, suffix, secret)
}

async fn fetch(app: &TestApp, path: &str) -> Reply {
    app.send(Request::get(path).body(Body::empty()).expect("a request")).await
}

/// The events of a feed, as (property, unfolded value) pairs.
fn events(ics: &str) -> Vec<Vec<(String, String)>> {
    let unfolded = ics.replace("\r\n ", "");
    let mut all = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in unfolded.split("\r\n") {
        match line {
            "BEGIN:VEVENT" => current = Some(Vec::new()),
            "END:VEVENT" => all.extend(current.take()),
            _ => {
                if let (Some(event), Some((k, v))) = (current.as_mut(), line.split_once(':')) {
                    event.push((k.to_owned(), v.to_owned()));
                }
            }
        }
    }
    all
}

fn prop<'a>(event: &'a [(String, String)], name: &str) -> &'a str {
    event.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
}

/// Checks what every feed must be: headers, CRLF, folding, the calendar's properties; returns
/// the body.
fn assert_valid_feed(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let header = |name: &str| r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "text/calendar; charset=utf-8");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-robots-tag"), "noindex");
    let ics = r.text.clone();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
    assert!(!ics.replace("\r\n", "").contains(['\r', '\n']), "every line ends in CRLF: {ics:?}");
    for line in ics.trim_end_matches("\r\n").split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets: {line:?}", line.len());
        assert!(!line.is_empty(), "no empty lines");
    }
    for required in ["VERSION:2.0", "PRODID:-//Firebreak//On-call//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"] {
        assert!(ics.contains(&format!("\r\n{required}\r\n")), "{required} missing: {ics}");
    }
    assert!(ics.contains("\r\nX-WR-CALNAME:On call: "), "{ics}");
    let evs = events(&ics);
    assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), evs.len());
    let uids: HashSet<&str> = evs.iter().map(|e| prop(e, "UID")).collect();
    assert_eq!(uids.len(), evs.len(), "UIDs are unique");
    for e in &evs {
        assert!(prop(e, "UID").ends_with("@firebreak"), "{e:?}");
        for p in ["DTSTAMP", "DTSTART", "DTEND"] {
            let v = prop(e, p);
            assert!(
                v.len() == 16 && v.ends_with('Z') && v.as_bytes()[8] == b'T',
                "{p} in UTC form YYYYMMDDTHHMMSSZ: {v:?}"
            );
        }
    }
    ics
}

async fn schedule_feeds_list_every_shift(app: TestApp) {
    let rotation = rotation();
    // The feed shows 7 days back to 90 ahead of the app's clock: put the clock three days
    // before the rotation starts.
    app.clock.advance((rotation.start - TimeDelta::days(3)) - Utc::now());
    let name = hostile_name();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{}", app.responder.user.id),
            &app.admin.token,
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let members = json!([app.responder.user.id, app.viewer.user.id]);
    let id = create_schedule(&app, "Databases", members, &rotation).await;

    // Viewers may subscribe to any schedule.
    let (_, path, _) = create_feed(&app, &format!("/api/v1/schedules/{id}/calendar-feeds"), &app.viewer.token).await;
    let ics = assert_valid_feed(&fetch(&app, &path).await);
    assert!(ics.contains("\r\nX-WR-CALNAME:On call: Databases\r\n"), "{ics}");

    let evs = events(&ics);
    let first = evs.first().expect("at least one shift");
    assert_eq!(prop(first, "DTSTART"), ics_time(rotation.start), "09:00 EST");
    assert_eq!(prop(first, "DTEND"), ics_time(rotation.first_end), "09:00 EDT, after the change");
    assert_eq!(prop(first, "SUMMARY"), format!("On call: {} (Databases)", escaped(&name)));
    assert_eq!(prop(first, "DESCRIPTION"), r#"Layer: primary\; nights\, \\ "A"\nSchedule: Databases"#);
    let viewer_summary = format!("On call: {} (Databases)", app.viewer.user.name);
    assert_eq!(prop(&evs[1], "SUMMARY"), viewer_summary, "the rotation hands over weekly");
    // The long name folds inside its two-byte characters, never splitting one.
    assert!(ics.lines().any(|l| l.starts_with(' ') && l.contains('é')), "{ics}");

    // One event per shift: the same shifts the API lists over the same range, back to back.
    for pair in evs.windows(2) {
        assert_eq!(prop(&pair[0], "DTEND"), prop(&pair[1], "DTSTART"));
    }
    assert!((12..=14).contains(&evs.len()), "about 90 days of weekly shifts: {}", evs.len());
    let last_end = NaiveDate::parse_from_str(&prop(&evs[evs.len() - 1], "DTEND")[..8], "%Y%m%d")
        .expect("a date")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    let range = format!(
        "/api/v1/schedules/{id}/shifts?from={}&to={}",
        common::urlencode(&rotation.start.to_rfc3339()),
        common::urlencode(&Utc.from_utc_datetime(&last_end).to_rfc3339())
    );
    let shifts = app.get(&range, &app.viewer.token).await;
    assert_eq!(shifts.status, StatusCode::OK, "{}", shifts.text);
    let listed = shifts.body["items"].as_array().map(Vec::len).unwrap_or_default();
    assert_eq!(listed, evs.len(), "{}", shifts.text);

    // The same feed again names the same events.
    let again = events(&fetch(&app, &path).await.text);
    let uids = |e: &[Vec<(String, String)>]| e.iter().map(|e| prop(e, "UID").to_owned()).collect::<Vec<_>>();
    assert_eq!(uids(&again), uids(&evs), "UIDs are stable");
}

async fn personal_feeds_span_every_schedule(app: TestApp) {
    let rotation = rotation();
    app.clock.advance((rotation.start - TimeDelta::days(3)) - Utc::now());
    let responder = app.responder.user.id;
    create_schedule(&app, "Databases", json!([responder, app.viewer.user.id]), &rotation).await;
    create_schedule(&app, "Payments", json!([app.viewer.user.id, responder]), &rotation).await;
    create_schedule(&app, "Storage", json!([app.admin.user.id]), &rotation).await;

    let (_, path, _) = create_feed(&app, "/api/v1/me/calendar-feeds", &app.responder.token).await;
    let ics = assert_valid_feed(&fetch(&app, &path).await);
    let evs = events(&ics);
    let mine = format!("On call: {} (", app.responder.user.name);
    assert!(evs.iter().all(|e| prop(e, "SUMMARY").starts_with(&mine)), "only the responder's shifts: {ics}");
    let on = |schedule: &str| evs.iter().filter(|e| prop(e, "SUMMARY").ends_with(&format!("({schedule})"))).count();
    assert!(on("Databases") >= 6 && on("Payments") >= 6, "{ics}");
    assert_eq!(on("Storage"), 0);
    let first_payments = evs.iter().find(|e| prop(e, "SUMMARY").ends_with("(Payments)")).expect("a Payments shift");
    assert_eq!(prop(first_payments, "DTSTART"), ics_time(rotation.first_end), "the second week");
}

async fn feeds_are_revocable_secrets(app: TestApp) {
    let rotation = rotation();
    let id = create_schedule(&app, "Databases", json!([app.responder.user.id]), &rotation).await;
    let (feed, path, secret) =
        create_feed(&app, &format!("/api/v1/schedules/{id}/calendar-feeds"), &app.responder.token).await;
    let (mine, _, my_secret) = create_feed(&app, "/api/v1/me/calendar-feeds", &app.responder.token).await;

    // Listed without their tokens, and only to their owner.
    let r = app.get("/api/v1/me/calendar-feeds", &app.responder.token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<&str> = r.body["items"].as_array().into_iter().flatten().filter_map(|f| f["id"].as_str()).collect();
    assert_eq!(ids, [feed.as_str(), mine.as_str()]);
    assert!(!r.text.contains(&secret) && !r.text.contains(&my_secret), "{}", r.text);
    assert!(!r.text.contains("token"), "{}", r.text);
    let r = app.get("/api/v1/me/calendar-feeds", &app.viewer.token).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);

    // Another user cannot delete it; its owner can, and then the URL is dead.
    let r = app.call(Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &app.viewer.token, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(fetch(&app, &path).await.status, StatusCode::OK);
    let r = app.call(Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &app.responder.token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = fetch(&app, &path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("not found") && r.body.is_null(), "a plain body: {}", r.text);
    let r = app.call(Method::DELETE, &format!("/api/v1/calendar-feeds/{feed}"), &app.responder.token, None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Admins may delete anyone's.
    let r = app.call(Method::DELETE, &format!("/api/v1/calendar-feeds/{mine}"), &app.admin.token, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // Unknown and malformed tokens, schedules and ids.
    for path in ["/calendar/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics", "/calendar/x.txt", "/calendar/%20.ics"] {
        let r = fetch(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(
            r.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("text/calendar; charset=utf-8")
        );
    }
    let unknown = "/api/v1/schedules/0190b6c2-0000-7000-8000-000000000000/calendar-feeds";
    assert_error(
        &app.raw(Method::POST, unknown, Some(&app.viewer.token), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let malformed = "/api/v1/schedules/not-a-uuid/calendar-feeds";
    assert_error(
        &app.raw(Method::POST, malformed, Some(&app.viewer.token), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    );
    let r = app.call(Method::DELETE, "/api/v1/calendar-feeds/nope", &app.admin.token, None).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_id");
    let r = app.raw(Method::POST, "/api/v1/me/calendar-feeds", None, None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // A disabled account's feeds stop with it.
    let (_, viewers, _) = create_feed(&app, "/api/v1/me/calendar-feeds", &app.viewer.token).await;
    assert_eq!(fetch(&app, &viewers).await.status, StatusCode::OK);
    let disable = json!({"disabled": true});
    let r = app
        .call(Method::PATCH, &format!("/api/v1/users/{}", app.viewer.user.id), &app.admin.token, Some(disable))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(fetch(&app, &viewers).await.status, StatusCode::NOT_FOUND);
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_owned()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn the_openapi_document_describes_feed_routes(app: TestApp) {
    let r = app.raw(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let paths = &r.body["paths"];
    for (path, methods, params) in [
        ("/api/v1/schedules/{id}/calendar-feeds", &["post"][..], &["id"][..]),
        ("/api/v1/me/calendar-feeds", &["get", "post"][..], &[][..]),
        ("/api/v1/calendar-feeds/{id}", &["delete"][..], &["id"][..]),
    ] {
        for method in methods {
            let op = &paths[path][method];
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: {op}");
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(declared, params, "{method} {path}");
        }
    }
    let mut all = Vec::new();
    refs(&r.body, &mut all);
    for reference in all {
        let name = reference.strip_prefix("#/components/schemas/").unwrap_or(&reference);
        assert!(r.body["components"]["schemas"][name].is_object(), "{reference} does not resolve");
    }
}

on_both_backends!(
    schedule_feeds_list_every_shift,
    personal_feeds_span_every_schedule,
    feeds_are_revocable_secrets,
    the_openapi_document_describes_feed_routes
);
