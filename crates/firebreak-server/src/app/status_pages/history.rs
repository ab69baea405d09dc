//! Component status history: what each component showed, recorded by the engine when it
//! changes, and the 90 daily bars and uptime percentage a page shows from it.

use crate::AppState;
use crate::error::ApiResult;
use firebreak_domain::Timestamp;
use firebreak_domain::status_page::{ComponentStatus, DayMinutes, NoticeKind, minutes_between};
use firebreak_store::{StatusComponent, StatusNotice, StatusPage};
use serde::Serialize;
use std::collections::HashMap;

/// Days a page shows bars for.
pub const DAYS: u32 = 90;
/// The most days [`uptime`] computes at once.
pub const MAX_DAYS: u32 = 400;

/// Records what every component of every page shows at `now` where it changed since the
/// last record; returns how many changed.
pub async fn record_all(state: &AppState, now: Timestamp) -> ApiResult<usize> {
    let statuses: Vec<(uuid::Uuid, ComponentStatus)> = super::derive_all(state)
        .await?
        .into_iter()
        .flat_map(|d| d.components.into_iter().map(|(c, status)| (c.id, status)))
        .collect();
    Ok(state.store.record_component_statuses(&statuses, now).await?)
}

/// One calendar day of one component, in the page's time zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayBar {
    /// `YYYY-MM-DD` in the page's time zone.
    pub date: String,
    /// Minutes in each status; all zero on a day before the component existed.
    pub minutes: DayMinutes,
    /// The worst status held that day (operational on an empty day).
    pub worst: ComponentStatus,
    /// Titles of the published notices that overlap the day and name this component or no
    /// component, oldest first.
    pub notices: Vec<String>,
}

/// A component's bars and its uptime over them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentUptime {
    pub component_id: uuid::Uuid,
    /// Oldest first, today last.
    pub days: Vec<DayBar>,
    /// Uptime over the days in percent (0–100); `None` when no time counts (the component is
    /// newer than a minute).
    pub percent: Option<f64>,
}

/// The last `days` calendar days (today last, counted up to `now`) of each component of
/// `page`, from one history query, with each component's uptime and the page's over all of
/// them (percent). `notices` are the ones readers may see (published, of no restricted
/// incident), filtered by the caller. At most [`MAX_DAYS`] days.
pub async fn uptime(
    state: &AppState,
    page: &StatusPage,
    components: &[StatusComponent],
    notices: &[StatusNotice],
    now: Timestamp,
    days: u32,
) -> ApiResult<(Vec<ComponentUptime>, Option<f64>)> {
    let calendar = calendar_days(page.branding.time_zone.as_deref(), now, days.min(MAX_DAYS));
    let Some(first) = calendar.first() else { return Ok((Vec::new(), None)) };
    let history = state.store.component_history(page.id, first.start).await?;
    Ok(bars(&calendar, components, &history, notices, now))
}

/// One calendar day: its date and the instants it starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Day {
    date: String,
    start: Timestamp,
    end: Timestamp,
}

/// The last `days` calendar days up to and including the one `now` is in, in the zone named
/// `zone` (UTC when none or unknown), oldest first. A day lasts from one local midnight to
/// the next (23 or 25 hours across a DST change).
fn calendar_days(zone: Option<&str>, now: Timestamp, days: u32) -> Vec<Day> {
    let tz = zone.and_then(|z| jiff::tz::TimeZone::get(z.trim()).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
    let Ok(instant) = jiff::Timestamp::from_microsecond(now.timestamp_micros()) else { return Vec::new() };
    let start_of = |date: jiff::civil::Date| {
        let zoned = date.to_zoned(tz.clone()).ok()?;
        chrono::DateTime::from_timestamp_micros(zoned.timestamp().as_microsecond())
    };
    let mut date = instant.to_zoned(tz.clone()).date();
    let mut end = date.tomorrow().ok().and_then(start_of);
    let mut out = Vec::new();
    for _ in 0..days {
        let Some(start) = start_of(date) else { break };
        out.push(Day { date: date.to_string(), start, end: end.unwrap_or(start + chrono::TimeDelta::days(1)) });
        end = Some(start);
        match date.yesterday() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    out.reverse();
    out
}

/// The bars from the history (component, time, status) in time order.
fn bars(
    calendar: &[Day],
    components: &[StatusComponent],
    history: &[(uuid::Uuid, Timestamp, ComponentStatus)],
    notices: &[StatusNotice],
    now: Timestamp,
) -> (Vec<ComponentUptime>, Option<f64>) {
    let mut changes: HashMap<uuid::Uuid, Vec<(Timestamp, ComponentStatus)>> = HashMap::new();
    for (component, at, status) in history {
        changes.entry(*component).or_default().push((*at, *status));
    }
    let mut spans: Vec<(Timestamp, Timestamp, &StatusNotice)> =
        notices.iter().filter(|n| n.published()).map(|n| (notice_start(n), notice_end(n, now), n)).collect();
    spans.sort_by_key(|(start, _, _)| *start);
    let mut overall = DayMinutes::default();
    let uptimes = components
        .iter()
        .map(|c| {
            let changes = changes.get(&c.id).map(Vec::as_slice).unwrap_or_default();
            let mut all = DayMinutes::default();
            let days = calendar
                .iter()
                .map(|day| {
                    let to = day.end.min(now);
                    let minutes = minutes_between(changes, c.created_at, day.start, to);
                    all.plus(&minutes);
                    let notices = spans
                        .iter()
                        .filter(|(start, end, n)| {
                            (n.component_ids.is_empty() || n.component_ids.contains(&c.id))
                                && *start < to
                                && (*end > day.start || *start >= day.start)
                        })
                        .map(|(_, _, n)| n.title.clone())
                        .collect();
                    DayBar { date: day.date.clone(), worst: minutes.worst(), minutes, notices }
                })
                .collect();
            overall.plus(&all);
            ComponentUptime { component_id: c.id, days, percent: percent(&all) }
        })
        .collect();
    (uptimes, percent(&overall))
}

fn percent(minutes: &DayMinutes) -> Option<f64> {
    minutes.uptime().map(|u| u * 100.0)
}

/// When a notice begins for the bars: a maintenance at its scheduled start, an incident when
/// it was written.
fn notice_start(n: &StatusNotice) -> Timestamp {
    match n.kind {
        NoticeKind::Maintenance => n.scheduled_for.unwrap_or(n.created_at),
        NoticeKind::Incident => n.created_at,
    }
}

/// When it ends: when it was resolved or completed, else a maintenance at its scheduled end
/// and an open incident now.
fn notice_end(n: &StatusNotice, now: Timestamp) -> Timestamp {
    let end = match (n.resolved_at, n.kind) {
        (Some(at), _) => at,
        (None, NoticeKind::Maintenance) => n.scheduled_until.unwrap_or(now).min(now),
        (None, NoticeKind::Incident) => now,
    };
    end.max(notice_start(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;
    use firebreak_domain::status_page::{Impact, NoticeStatus};
    use firebreak_store::StatusUpdate;

    fn at(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_utc()
    }

    fn component(created: &str) -> StatusComponent {
        StatusComponent {
            id: uuid::Uuid::now_v7(),
            page_id: uuid::Uuid::nil(),
            name: "API".into(),
            group_name: String::new(),
            position: 1,
            service_ids: Vec::new(),
            manual_status: None,
            created_at: at(created),
            updated_at: at(created),
        }
    }

    fn notice(title: &str, components: Vec<uuid::Uuid>, from: &str, to: Option<&str>, published: bool) -> StatusNotice {
        let id = uuid::Uuid::now_v7();
        StatusNotice {
            id,
            page_id: uuid::Uuid::nil(),
            kind: NoticeKind::Incident,
            incident_id: None,
            title: title.into(),
            impact: Impact::Major,
            status: NoticeStatus::Investigating,
            component_ids: components,
            scheduled_for: None,
            scheduled_until: None,
            created_at: at(from),
            updated_at: at(from),
            resolved_at: to.map(at),
            updates: vec![StatusUpdate {
                id: uuid::Uuid::now_v7(),
                notice_id: id,
                status: NoticeStatus::Investigating,
                body: String::new(),
                created_at: at(from),
                created_by: "test".into(),
                published_at: published.then(|| at(from)),
            }],
        }
    }

    #[test]
    fn days_are_calendar_days_in_the_page_zone_and_today_ends_now() {
        let now = at("2026-03-02T10:30:00Z");
        let utc = calendar_days(None, now, 3);
        let dates: Vec<_> = utc.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-02-28", "2026-03-01", "2026-03-02"]);
        assert_eq!((utc[0].start, utc[2].end), (at("2026-02-28T00:00:00Z"), at("2026-03-03T00:00:00Z")));
        assert_eq!(calendar_days(Some("Nowhere/Atlantis"), now, 3), utc, "an unknown zone is UTC");
        // Tokyo is 9 hours ahead: 10:30 UTC is already the evening of the 2nd there.
        let tokyo = calendar_days(Some("Asia/Tokyo"), at("2026-03-02T20:00:00Z"), 1);
        assert_eq!((tokyo[0].date.as_str(), tokyo[0].start), ("2026-03-03", at("2026-03-02T15:00:00Z")));
        // Berlin springs forward on 29 March 2026: that day has 23 hours.
        let berlin = calendar_days(Some("Europe/Berlin"), at("2026-03-30T12:00:00Z"), 2);
        assert_eq!(berlin[0].date, "2026-03-29");
        assert_eq!((berlin[0].end - berlin[0].start).num_hours(), 23);
        assert_eq!(berlin[0].end, berlin[1].start);
    }

    #[test]
    fn bars_count_minutes_from_the_history_and_creation_and_show_the_notices() {
        let now = at("2026-03-03T06:00:00Z");
        let calendar = calendar_days(None, now, 3);
        let (api, web) = (component("2026-02-01T00:00:00Z"), component("2026-03-02T12:00:00Z"));
        let history = [
            (api.id, at("2026-02-20T00:00:00Z"), Operational),
            (api.id, at("2026-03-01T23:00:00Z"), MajorOutage),
            (api.id, at("2026-03-02T01:00:00Z"), PartialOutage),
            (api.id, at("2026-03-02T02:00:00Z"), Operational),
        ];
        let notices = [
            notice("Payments failing", vec![api.id], "2026-03-01T23:05:00Z", Some("2026-03-02T02:00:00Z"), true),
            notice("Everything slow", vec![], "2026-03-03T05:00:00Z", None, true),
            notice("A draft", vec![], "2026-03-02T05:00:00Z", None, false),
            notice("Web only", vec![web.id], "2026-03-02T13:00:00Z", Some("2026-03-02T14:00:00Z"), true),
        ];
        let (uptimes, overall) = bars(&calendar, &[api.clone(), web.clone()], &history, &notices, now);
        let a = &uptimes[0];
        assert_eq!(a.component_id, api.id);
        let dates: Vec<_> = a.days.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-01", "2026-03-02", "2026-03-03"]);
        assert_eq!((a.days[0].minutes.major, a.days[0].minutes.total()), (60, 1440));
        assert_eq!((a.days[1].minutes.major, a.days[1].minutes.partial), (60, 60));
        assert_eq!(a.days[1].worst, MajorOutage);
        assert_eq!(a.days[2].minutes.total(), 360, "today counts up to now");
        assert_eq!(a.days[0].notices, ["Payments failing"]);
        assert_eq!(a.days[1].notices, ["Payments failing"], "a notice shows on every day it spans");
        assert_eq!(a.days[2].notices, ["Everything slow"], "no draft; a notice naming no component is everyone's");
        let total = 1440.0 + 1440.0 + 360.0;
        let expected = 100.0 * (1.0 - (120.0 + 0.3 * 60.0) / total);
        assert!(a.percent.is_some_and(|p| (p - expected).abs() < 1e-9), "{:?} vs {expected}", a.percent);

        let w = &uptimes[1];
        assert_eq!(w.days[0].minutes.total(), 0, "before it was made nothing counts");
        assert_eq!(w.days[1].minutes.operational, 720);
        assert_eq!(w.days[1].notices, ["Web only"]);
        assert_eq!(w.percent, Some(100.0));
        let all = total + 720.0 + 360.0;
        let expected = 100.0 * (1.0 - (120.0 + 0.3 * 60.0) / all);
        assert!(overall.is_some_and(|p| (p - expected).abs() < 1e-9), "{overall:?}");

        // A component made this minute has no uptime yet.
        let (fresh, overall) = bars(&calendar, &[component("2026-03-03T06:00:00Z")], &[], &[], now);
        assert_eq!((fresh[0].percent, overall), (None, None));
    }
}
