//! Calendar feeds: on-call shifts as iCalendar (RFC 5545) at secret URLs that calendar apps
//! subscribe to. A feed covers one schedule (every shift, with who is on call) or one person
//! (their shifts on every schedule). The URL's token is the only credential: it is shown once
//! and only its SHA-256 is stored; deleting the feed revokes it.

use crate::AppState;
use crate::auth::{Principal, random_secret, secret_hash};
use crate::error::{ApiError, ApiResult};
use chrono::TimeDelta;
use firebreak_domain::schedule::{OnCallSource, Shift};
use firebreak_domain::{ScheduleId, Timestamp, UserId};
use firebreak_store::{CalendarFeed, Schedule};
use icalendar::{Calendar, Component, Event, EventLike, Property};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// How far back a feed shows shifts.
pub const FEED_PAST_DAYS: i64 = 7;
/// How far ahead a feed shows shifts.
pub const FEED_FUTURE_DAYS: i64 = 90;
/// Shifts are computed from this long before the feed's window, so that a shift already
/// running when the window opens keeps its real start (and so its UID) from day to day.
const LOOKBACK_DAYS: i64 = 35;

/// A new feed: its URL and token, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedFeed {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// The address to subscribe to; it carries the token.
    pub url: String,
    pub token: String,
}

/// Makes a feed of `schedule` or of `user`'s shifts; its URL starts with `base`, the server's
/// public address.
async fn create_feed(
    state: &AppState,
    p: &Principal,
    base: &str,
    schedule: Option<ScheduleId>,
    user: Option<UserId>,
) -> ApiResult<CreatedFeed> {
    let token = random_secret();
    let feed = state.store.create_calendar_feed(schedule, user, &secret_hash(&token), &p.actor()).await?;
    let url = format!("{}/calendar/{token}.ics", base.trim_end_matches('/'));
    Ok(CreatedFeed { id: feed.id, url, token })
}

/// A feed of every shift of schedule `id`. Everyone may read every schedule, so everyone may
/// subscribe to one.
pub async fn create_schedule_feed(state: &AppState, p: &Principal, base: &str, id: &str) -> ApiResult<CreatedFeed> {
    let id: ScheduleId =
        id.parse().map_err(|_| ApiError::bad_request("invalid_id", "the schedule id is not a UUID"))?;
    state.store.get_schedule(id).await?;
    create_feed(state, p, base, Some(id), None).await
}

/// A feed of the caller's own shifts, on every schedule.
pub async fn create_my_feed(state: &AppState, p: &Principal, base: &str) -> ApiResult<CreatedFeed> {
    create_feed(state, p, base, None, Some(p.user.id)).await
}

/// The caller's feeds.
pub async fn list_my_feeds(state: &AppState, p: &Principal) -> ApiResult<Vec<CalendarFeed>> {
    Ok(state.store.list_calendar_feeds(Some(p.user.id)).await?)
}

/// Deletes feed `id`: the caller's own, or any feed for an administrator. Someone else's feed
/// is answered like a missing one: its existence is not theirs to know.
pub async fn delete_feed(state: &AppState, p: &Principal, id: &str) -> ApiResult<()> {
    let id: uuid::Uuid =
        id.parse().map_err(|_| ApiError::bad_request("invalid_id", "the calendar feed id is not a UUID"))?;
    let owner = if p.role().can_administer() { None } else { Some(p.user.id) };
    let feeds = state.store.list_calendar_feeds(owner).await?;
    if !feeds.iter().any(|f| f.id == id) {
        return Err(ApiError::not_found("calendar feed"));
    }
    state.store.delete_calendar_feed(id, &p.actor()).await?;
    Ok(())
}

/// The feed's iCalendar text, or `None` when the token names no feed (or its owner can no
/// longer sign in).
pub async fn render_feed(state: &AppState, token: &str) -> ApiResult<Option<String>> {
    let Some(feed) = state.store.calendar_feed(&secret_hash(token)).await? else { return Ok(None) };
    let people: HashMap<UserId, firebreak_store::User> =
        state.store.list_users().await?.into_iter().map(|u| (u.id, u)).collect();
    if people.get(&feed.created_by).is_none_or(|u| u.disabled) {
        return Ok(None);
    }
    let now = state.clock.now();
    let window = (now - TimeDelta::days(FEED_PAST_DAYS), now + TimeDelta::days(FEED_FUTURE_DAYS));
    let names: HashMap<UserId, String> = people.into_iter().map(|(id, u)| (id, u.name)).collect();
    let (title, schedules) = match (feed.schedule_id, feed.user_id) {
        (Some(id), _) => {
            let schedule = match state.store.get_schedule(id).await {
                Ok(s) => s,
                Err(firebreak_store::StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            (format!("On call: {}", schedule.name), vec![schedule])
        }
        (None, Some(user)) => {
            let name = names.get(&user).cloned().unwrap_or_default();
            (format!("On call: {name}"), state.store.list_schedules().await?)
        }
        (None, None) => return Ok(None),
    };
    let mut events = Vec::new();
    for schedule in &schedules {
        // A stored schedule that no longer parses shows no shifts rather than failing the feed.
        let Ok(on_call) = schedule.on_call() else { continue };
        let shifts = on_call.shifts(window.0 - TimeDelta::days(LOOKBACK_DAYS), window.1)?;
        for shift in shifts.into_iter().filter(|s| s.end > window.0) {
            if shift.on_call.is_some_and(|c| feed.user_id.is_none_or(|u| u == c.user)) {
                events.push(shift_event(schedule, &shift, &names, now));
            }
        }
    }
    Ok(Some(calendar(&title, events).to_string()))
}

/// A calendar with Firebreak's identity and `events`.
pub fn calendar(title: &str, events: Vec<Event>) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"))
        .append_property(("PRODID", "-//Firebreak//On-call//EN"))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", "PUBLISH"))
        .append_property(Property::new("X-WR-CALNAME", plain(title)));
    for event in events {
        cal.push(event);
    }
    cal
}

/// One shift as an event: `UID` from schedule, person and start, so it stays the same from
/// one fetch to the next.
fn shift_event(schedule: &Schedule, shift: &Shift, names: &HashMap<UserId, String>, now: Timestamp) -> Event {
    let (user, source) = match shift.on_call {
        Some(c) => (Some(c.user), Some(c.source)),
        None => (None, None),
    };
    let name = user.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "(deleted user)".into());
    let why = match source {
        Some(OnCallSource::Layer(i)) => match schedule.definition.layers.get(i) {
            Some(layer) => format!("Layer: {}", layer.name),
            None => "Layer".into(),
        },
        Some(OnCallSource::Override(_)) => "Override".into(),
        Some(OnCallSource::Fallback) | None => "Fallback".into(),
    };
    let uid = format!(
        "{}-{}-{}@firebreak",
        schedule.id,
        user.map(|u| u.to_string()).unwrap_or_default(),
        shift.start.format("%Y%m%dT%H%M%SZ")
    );
    Event::new()
        .uid(&uid)
        .timestamp(now)
        .starts(shift.start)
        .ends(shift.end)
        .summary(&plain(&format!("On call: {name} ({})", schedule.name)))
        .description(&plain(&format!("{why}\nSchedule: {}", schedule.name)))
        .done()
}

/// Text fit for an iCalendar TEXT value before escaping: line breaks become `\n` (escaped
/// later) and other control characters, which TEXT may not hold, become spaces.
fn plain(text: &str) -> String {
    text.replace("\r\n", "\n").chars().map(|c| if c != '\n' && c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(summary: &str) -> Event {
        let start = chrono::Utc.with_ymd_and_hms(2027, 3, 8, 14, 0, 0).single().expect("a valid instant");
        Event::new()
            .uid("u@firebreak")
            .timestamp(start)
            .starts(start)
            .ends(start + TimeDelta::hours(167))
            .summary(&plain(summary))
            .done()
    }

    #[test]
    fn hostile_text_is_escaped_folded_and_crlf_terminated() {
        let name = format!("Ann, \"Lee\"; \\ <script>\r\nX-EVIL:1 {}", "é".repeat(60));
        let text = calendar(&format!("On call: {name}"), vec![event(&name)]).to_string();
        assert!(text.ends_with("END:VCALENDAR\r\n"), "{text}");
        assert!(!text.replace("\r\n", "").contains(['\r', '\n']), "only CRLF line breaks: {text:?}");
        for line in text.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            assert!(!line.starts_with("X-EVIL"), "no injected property: {text}");
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:Ann\\, \"Lee\"\\; \\\\ <script>\\nX-EVIL:1 é"), "{unfolded}");
        assert!(unfolded.contains("X-WR-CALNAME:On call: Ann\\, \"Lee\"\\; \\\\ <script>\\nX-EVIL:1"), "{unfolded}");
        assert!(unfolded.contains("\r\nDTSTART:20270308T140000Z\r\n"), "{unfolded}");
        assert!(unfolded.contains("\r\nDTEND:20270315T130000Z\r\n"), "{unfolded}");
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(plain("a\r\nb\rc\u{7}d\te"), "a\nb c d e");
    }
}
