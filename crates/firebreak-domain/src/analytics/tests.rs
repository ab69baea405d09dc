use super::*;
use crate::DomainError;
use chrono::{NaiveDate, TimeDelta};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A Monday morning inside the default period.
fn at(seconds: i64) -> Timestamp {
    ts("2026-03-02T09:00:00Z") + TimeDelta::seconds(seconds)
}

fn after(t: Timestamp, seconds: i64) -> Option<Timestamp> {
    Some(t + TimeDelta::seconds(seconds))
}

fn incident(number: i64, detected_at: Timestamp) -> IncidentFacts {
    IncidentFacts {
        number,
        severity: Severity::High,
        kind: IncidentType::Outage,
        service: None,
        team: None,
        drill: false,
        detected_at,
        first_alert_at: None,
        impact_started_at: None,
        first_acknowledged_at: None,
        first_contained_at: None,
        first_resolved_at: None,
        resolved_at: None,
        closed_at: None,
        reopened: 0,
        has_postmortem: false,
        postmortem_published: false,
    }
}

/// Acknowledged after `ack` seconds, then nothing else.
fn acked(number: i64, detected_at: Timestamp, ack: i64) -> IncidentFacts {
    IncidentFacts { first_acknowledged_at: after(detected_at, ack), ..incident(number, detected_at) }
}

/// Acknowledged at +60 s, contained at +300 s, resolved at +900 s, closed at +1200 s.
fn handled(number: i64, detected_at: Timestamp) -> IncidentFacts {
    IncidentFacts {
        first_acknowledged_at: after(detected_at, 60),
        first_contained_at: after(detected_at, 300),
        first_resolved_at: after(detected_at, 900),
        resolved_at: after(detected_at, 900),
        closed_at: after(detected_at, 1200),
        ..incident(number, detected_at)
    }
}

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").unwrap_or_else(|e| panic!("{e}"))
}

/// March 2026 in UTC, business hours 8–18, `now` well after the period.
fn query(group_by: GroupBy) -> ReportQuery {
    ReportQuery {
        from: ts("2026-03-01T00:00:00Z"),
        to: ts("2026-04-01T00:00:00Z"),
        group_by,
        tz: TimeZone::UTC,
        time_zone: "UTC".to_owned(),
        business_start_hour: 8,
        business_end_hour: 18,
        now: ts("2026-05-01T00:00:00Z"),
    }
}

fn in_berlin(group_by: GroupBy) -> ReportQuery {
    ReportQuery { tz: berlin(), time_zone: "Europe/Berlin".to_owned(), ..query(group_by) }
}

/// High: acknowledge within 15 minutes, contain within 60. Critical: 5 and 30. Low: none.
fn targets() -> Targets {
    Targets {
        acknowledge_within_minutes: BTreeMap::from([(Severity::Critical, 5), (Severity::High, 15)]),
        contain_within_minutes: BTreeMap::from([(Severity::Critical, 30), (Severity::High, 60)]),
    }
}

fn run(incidents: Vec<IncidentFacts>, q: &ReportQuery) -> Report {
    report(AnalyticsInput { incidents, ..AnalyticsInput::default() }, q, &targets())
}

fn assert_stat(s: &Stat, count: u32, mean: f64, median: f64, p90: f64) {
    assert_eq!(s.count, count, "{s:?}");
    for (got, want) in [(s.mean, mean), (s.median, median), (s.p90, p90)] {
        let got = got.unwrap_or_else(|| panic!("a value is missing in {s:?}"));
        assert!((got - want).abs() < 1e-9, "{s:?}: got {got}, want {want}");
    }
}

fn assert_empty(s: &Stat) {
    assert_eq!(*s, Stat { count: 0, mean: None, median: None, p90: None });
}

fn share(met: u32, of: u32) -> Share {
    Share { met, of, rate: (of > 0).then(|| f64::from(met) / f64::from(of)) }
}

fn keys(r: &Report) -> Vec<&str> {
    r.groups.iter().map(|g| g.key.as_str()).collect()
}

fn group<'r>(r: &'r Report, key: &str) -> &'r GroupMetrics {
    r.groups.iter().find(|g| g.key == key).unwrap_or_else(|| panic!("no group {key} in {:?}", keys(r)))
}

fn micros(seconds: &[i64]) -> Vec<i64> {
    seconds.iter().map(|s| s * 1_000_000).collect()
}

#[test]
fn stat_on_odd_and_even_counts() {
    // 3 values: middle one; p90 index ⌈2.7⌉−1 = 2.
    assert_stat(&stat(&mut micros(&[30, 10, 20])), 3, 20.0, 20.0, 30.0);
    // 4 values: mean of 20 and 40; p90 index ⌈3.6⌉−1 = 3.
    assert_stat(&stat(&mut micros(&[100, 10, 40, 20])), 4, 42.5, 30.0, 100.0);
    // 10 values 1..=10: p90 index ⌈9⌉−1 = 8, the value 9.
    assert_stat(&stat(&mut micros(&[10, 9, 8, 7, 6, 5, 4, 3, 2, 1])), 10, 5.5, 5.5, 9.0);
    // 20 values 1..=20: p90 index 17, the value 18.
    let twenty: Vec<i64> = (1..=20).rev().collect();
    assert_stat(&stat(&mut micros(&twenty)), 20, 10.5, 10.5, 18.0);
    assert_stat(&stat(&mut micros(&[7])), 1, 7.0, 7.0, 7.0);
    assert_empty(&stat(&mut []));
}

/// The in-place selection agrees with the definitions on a sorted copy, for every count up to 60.
#[test]
fn stat_agrees_with_sorting() {
    let mut seed: u64 = 42;
    for n in 1..=60usize {
        let mut values: Vec<i64> = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Few distinct values, so ties are common.
                i64::try_from(seed >> 59).unwrap_or(0) * 1_000_000
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let sec = |i: usize| sorted.get(i).map_or(f64::NAN, |&v| v as f64 / 1e6);
        let median = if n % 2 == 1 { sec(n / 2) } else { (sec(n / 2 - 1) + sec(n / 2)) / 2.0 };
        let p90 = sec(((9 * n) as f64 / 10.0).ceil() as usize - 1);
        let mean = sorted.iter().sum::<i64>() as f64 / n as f64 / 1e6;
        let s = stat(&mut values);
        assert_stat(&s, u32::try_from(n).unwrap_or(0), mean, median, p90);
    }
}

#[test]
fn mtta_per_group_and_total_on_odd_and_even_counts() {
    let critical = |n, detected, ack| IncidentFacts { severity: Severity::Critical, ..acked(n, detected, ack) };
    let incidents = vec![
        critical(1, at(0), 60),
        critical(2, at(1000), 180),
        critical(3, at(2000), 120),
        acked(4, at(3000), 10),
        acked(5, at(4000), 100),
        acked(6, at(5000), 40),
        acked(7, at(6000), 20),
    ];
    let r = run(incidents, &query(GroupBy::Severity));
    // Critical [60, 120, 180].
    assert_stat(&group(&r, "critical").mtta, 3, 120.0, 120.0, 180.0);
    // High [10, 20, 40, 100]: median (20 + 40) / 2, p90 index 3.
    assert_stat(&group(&r, "high").mtta, 4, 42.5, 30.0, 100.0);
    // All [10, 20, 40, 60, 100, 120, 180]: p90 index ⌈6.3⌉−1 = 6.
    assert_stat(&r.total.mtta, 7, 530.0 / 7.0, 60.0, 180.0);
    assert_eq!(r.total.phases.acknowledge, r.total.mtta);
    assert_eq!(r.total.key, "all");
}

#[test]
fn reopened_incident_uses_first_cycle_for_mtta_and_last_resolution_for_mttr() {
    let d = at(0);
    let reopened = IncidentFacts {
        first_acknowledged_at: after(d, 60),
        first_contained_at: after(d, 300),
        first_resolved_at: after(d, 600),
        resolved_at: after(d, 3600),
        closed_at: after(d, 4000),
        reopened: 1,
        ..incident(1, d)
    };
    let r = run(vec![reopened, handled(2, at(10_000))], &query(GroupBy::None));
    assert_eq!(r.total.reopened, 1);
    assert_eq!(r.total.resolved, 2);
    // First cycle: acknowledged at +60 (the other at +60 too), contained at +300.
    assert_stat(&r.total.mtta, 2, 60.0, 60.0, 60.0);
    assert_stat(&r.total.mttc, 2, 300.0, 300.0, 300.0);
    // Final resolution: 3600 for the reopened one, 900 for the other.
    assert_stat(&r.total.mttr, 2, 2250.0, 2250.0, 3600.0);
    // Recover uses the first resolution (600 − 300 and 900 − 300); close the last (4000 − 3600, 1200 − 900).
    assert_stat(&r.total.phases.contain, 2, 240.0, 240.0, 240.0);
    assert_stat(&r.total.phases.recover, 2, 450.0, 450.0, 600.0);
    assert_stat(&r.total.phases.close, 2, 350.0, 350.0, 400.0);
}

#[test]
fn skipped_acknowledgement_is_left_out_of_mtta_and_mttc_falls_back_to_resolution() {
    let d = at(0);
    let straight_to_resolved =
        IncidentFacts { first_resolved_at: after(d, 900), resolved_at: after(d, 900), ..incident(1, d) };
    let r = run(vec![straight_to_resolved], &query(GroupBy::None));
    let t = &r.total;
    assert_empty(&t.mtta);
    assert_empty(&t.phases.acknowledge);
    assert_stat(&t.mttc, 1, 900.0, 900.0, 900.0);
    assert_stat(&t.mttr, 1, 900.0, 900.0, 900.0);
    // Contain and recover need a containment.
    assert_empty(&t.phases.contain);
    assert_empty(&t.phases.recover);
    // Never acknowledged and the 15-minute target has passed: missed. Resolved at +15 min, within 60: met.
    assert_eq!(t.acknowledged_within_target, share(0, 1));
    assert_eq!(t.contained_within_target, share(1, 1));
}

#[test]
fn skipped_containment_falls_back_to_resolution() {
    let d = at(0);
    let no_containment = IncidentFacts {
        first_acknowledged_at: after(d, 120),
        first_resolved_at: after(d, 1800),
        resolved_at: after(d, 1800),
        ..incident(1, d)
    };
    let r = run(vec![no_containment], &query(GroupBy::None));
    let t = &r.total;
    assert_stat(&t.mtta, 1, 120.0, 120.0, 120.0);
    assert_stat(&t.mttc, 1, 1800.0, 1800.0, 1800.0);
    assert_empty(&t.phases.contain);
    assert_empty(&t.phases.recover);
    assert_eq!(t.contained_within_target, share(1, 1));
}

#[test]
fn only_incidents_detected_inside_the_period_count() {
    let q = query(GroupBy::None);
    let second = TimeDelta::seconds(1);
    // Detected a second before the period, resolved inside it.
    let before = IncidentFacts {
        resolved_at: Some(q.from + TimeDelta::hours(1)),
        first_resolved_at: Some(q.from + TimeDelta::hours(1)),
        ..incident(1, q.from - second)
    };
    let at_from = handled(2, q.from);
    let last = handled(3, q.to - second);
    let at_to = handled(4, q.to);
    let r = run(vec![before, at_from, last, at_to], &q);
    assert_eq!(r.total.incidents, 2);
    assert_eq!(r.total.resolved, 2);
    assert_stat(&r.total.mttr, 2, 900.0, 900.0, 900.0);
}

#[test]
fn drills_are_left_out_and_counted() {
    let q = query(GroupBy::None);
    let drill = |n, d| IncidentFacts { drill: true, ..handled(n, d) };
    let incidents = vec![
        drill(1, at(0)),
        drill(2, at(100)),
        drill(3, q.to + TimeDelta::days(1)),
        IncidentFacts { first_acknowledged_at: after(at(200), 30), ..incident(4, at(200)) },
    ];
    let r = run(incidents, &q);
    assert_eq!(r.drills_excluded, 2);
    assert_eq!(r.total.incidents, 1);
    assert_eq!(r.total.resolved, 0);
    assert_stat(&r.total.mtta, 1, 30.0, 30.0, 30.0);
}

#[test]
fn targets_met_missed_and_not_yet_due() {
    let t0 = at(0);
    let q = ReportQuery { now: t0 + TimeDelta::hours(2), ..query(GroupBy::None) };
    let minutes = |m: i64| m * 60;
    // Acknowledged exactly at the 15-minute target, contained at 30 minutes: both met.
    let a = IncidentFacts {
        first_acknowledged_at: after(t0, minutes(15)),
        first_contained_at: after(t0, minutes(30)),
        ..incident(1, t0)
    };
    // Acknowledged at 16 minutes: missed; resolved without containment at 70 minutes: missed.
    let b = IncidentFacts {
        first_acknowledged_at: after(t0, minutes(16)),
        first_resolved_at: after(t0, minutes(70)),
        resolved_at: after(t0, minutes(70)),
        ..incident(2, t0)
    };
    // Detected an hour in, nothing since: the acknowledge target passed at 1:15 (missed); the
    // contain target is due exactly at `now` (missed).
    let c = incident(3, t0 + TimeDelta::hours(1));
    // Detected at 1:50: neither target has passed at 2:00, so it counts in neither.
    let d = incident(4, t0 + TimeDelta::minutes(110));
    // Low has no targets.
    let e = IncidentFacts { severity: Severity::Low, ..acked(5, t0, minutes(600)) };
    let r = run(vec![a, b, c, d, e], &q);
    assert_eq!(r.total.acknowledged_within_target, share(1, 3));
    assert_eq!(r.total.contained_within_target, share(1, 3));
    assert_eq!(r.total.acknowledged_within_target.rate, Some(1.0 / 3.0));
}

#[test]
fn mttd_from_first_alert_or_impact_start() {
    let d = at(0);
    let before = |s: i64| after(d, -s);
    let incidents = vec![
        // Both: the earlier, the impact start, 600 s before detection.
        IncidentFacts { first_alert_at: before(120), impact_started_at: before(600), ..incident(1, d) },
        // Alert only, 300 s before.
        IncidentFacts { first_alert_at: before(300), ..incident(2, d) },
        // An alert after detection: 0.
        IncidentFacts { first_alert_at: after(d, 60), ..incident(3, d) },
        // Impact start only, 900 s before.
        IncidentFacts { impact_started_at: before(900), ..incident(4, d) },
        // Neither: left out.
        incident(5, d),
    ];
    let r = run(incidents, &query(GroupBy::None));
    // [0, 300, 600, 900].
    assert_stat(&r.total.mttd, 4, 450.0, 450.0, 900.0);
    assert_eq!(r.total.incidents, 5);
}

#[test]
fn group_by_service_with_none() {
    let on =
        |n, service: Option<&str>| IncidentFacts { service: service.map(str::to_owned), ..handled(n, at(n * 100)) };
    let incidents = vec![on(1, Some("db")), on(2, None), on(3, Some("api")), on(4, Some("api")), on(5, None)];
    let r = run(incidents, &query(GroupBy::Service));
    assert_eq!(keys(&r), ["(none)", "api", "db"]);
    assert_eq!(group(&r, "(none)").incidents, 2);
    assert_eq!(group(&r, "api").incidents, 2);
    assert_eq!(group(&r, "db").incidents, 1);
    assert_eq!(r.total.incidents, 5);
    assert_eq!(r.group_by, GroupBy::Service);
}

#[test]
fn group_by_team_uses_the_owner_team() {
    let on = |n, team: Option<&str>| IncidentFacts { team: team.map(str::to_owned), ..handled(n, at(n * 100)) };
    let r = run(vec![on(1, Some("payments")), on(2, Some("core")), on(3, None)], &query(GroupBy::Team));
    assert_eq!(keys(&r), ["(none)", "core", "payments"]);
}

#[test]
fn group_by_severity_in_severity_order() {
    let with = |n, severity| IncidentFacts { severity, ..handled(n, at(n * 100)) };
    let incidents =
        vec![with(1, Severity::Low), with(2, Severity::Critical), with(3, Severity::Medium), with(4, Severity::Low)];
    let r = run(incidents, &query(GroupBy::Severity));
    // Not alphabetical (that would put low before medium).
    assert_eq!(keys(&r), ["critical", "medium", "low"]);
    assert_eq!(group(&r, "low").incidents, 2);
}

#[test]
fn group_by_type_sorted_by_word() {
    let with = |n, kind| IncidentFacts { kind, ..handled(n, at(n * 100)) };
    let incidents =
        vec![with(1, IncidentType::Security), with(2, IncidentType::Outage), with(3, IncidentType::Degradation)];
    let r = run(incidents, &query(GroupBy::Type));
    assert_eq!(keys(&r), ["degradation", "outage", "security"]);
}

#[test]
fn no_grouping_leaves_groups_empty() {
    let r = run(vec![handled(1, at(0))], &query(GroupBy::None));
    assert!(r.groups.is_empty());
    assert_eq!(r.total.incidents, 1);
}

#[test]
fn group_by_week_and_month_in_the_report_zone() {
    let incidents = vec![
        // Wednesday of ISO week 13.
        handled(1, ts("2026-03-25T12:00:00Z")),
        // Sunday 22:30 UTC is Monday 00:30 CEST: week 14 in Berlin (week 13 in UTC).
        handled(2, ts("2026-03-29T22:30:00Z")),
        // 31 March 22:30 UTC is 1 April 00:30 CEST.
        handled(3, ts("2026-03-31T22:30:00Z")),
    ];
    let q = ReportQuery { to: ts("2026-04-02T00:00:00Z"), ..in_berlin(GroupBy::Week) };
    let r = run(incidents.clone(), &q);
    assert_eq!(keys(&r), ["2026-W13", "2026-W14"]);
    assert_eq!(group(&r, "2026-W14").incidents, 2);

    let utc = ReportQuery { tz: TimeZone::UTC, time_zone: "UTC".to_owned(), ..q.clone() };
    let r = run(incidents.clone(), &utc);
    assert_eq!(group(&r, "2026-W13").incidents, 2);

    let r = run(incidents.clone(), &ReportQuery { group_by: GroupBy::Month, ..q.clone() });
    assert_eq!(keys(&r), ["2026-03", "2026-04"]);
    assert_eq!(group(&r, "2026-03").incidents, 2);
    assert_eq!(group(&r, "2026-04").incidents, 1);

    let r = run(incidents, &ReportQuery { group_by: GroupBy::Month, ..utc });
    assert_eq!(keys(&r), ["2026-03"]);
}

#[test]
fn iso_weeks_across_the_new_year_use_the_week_year() {
    let q = ReportQuery { from: ts("2026-12-01T00:00:00Z"), to: ts("2027-02-01T00:00:00Z"), ..query(GroupBy::Week) };
    // 2027-01-01 is a Friday of 2026's week 53; 2027-01-04 starts 2027-W01; 2026-12-21 is W52.
    let incidents = vec![
        handled(1, ts("2027-01-04T10:00:00Z")),
        handled(2, ts("2027-01-01T10:00:00Z")),
        handled(3, ts("2026-12-21T10:00:00Z")),
    ];
    let r = run(incidents, &q);
    assert_eq!(keys(&r), ["2026-W52", "2026-W53", "2027-W01"]);
}

#[test]
fn day_buckets_around_the_end_of_summer_time() {
    let incidents = vec![
        // 23:30 CEST on the 24th.
        handled(1, ts("2026-10-24T21:30:00Z")),
        // 00:30 CEST on the 25th.
        handled(2, ts("2026-10-24T22:30:00Z")),
        // Clocks went back at 01:00 UTC: 23:30 CET, still the 25th.
        handled(3, ts("2026-10-25T22:30:00Z")),
        // 00:30 CET on the 26th.
        handled(4, ts("2026-10-25T23:30:00Z")),
    ];
    let q = ReportQuery { from: ts("2026-10-01T00:00:00Z"), to: ts("2026-11-01T00:00:00Z"), ..in_berlin(GroupBy::Day) };
    let r = run(incidents, &q);
    assert_eq!(keys(&r), ["2026-10-24", "2026-10-25", "2026-10-26"]);
    assert_eq!(group(&r, "2026-10-24").incidents, 1);
    assert_eq!(group(&r, "2026-10-25").incidents, 2);
    assert_eq!(group(&r, "2026-10-26").incidents, 1);
}

#[test]
fn on_call_load_counts_off_hours_in_local_time_across_summer_time() {
    let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
    let page = |user_id, name: &str, t: &str| PageFacts { user_id, user_name: name.to_owned(), at: ts(t) };
    let pages = vec![
        // Sunday 29 March 08:30 CEST (summer time began at 01:00 UTC): weekend, off hours.
        page(alice, "Alice", "2026-03-29T06:30:00Z"),
        // Monday 08:30 CEST: business hours.
        page(alice, "Alice", "2026-03-30T06:30:00Z"),
        // Friday 27 March 08:30 CET: business hours.
        page(bob, "Bob", "2026-03-27T07:30:00Z"),
        // Friday 07:30 CET: before business hours.
        page(bob, "Bob", "2026-03-27T06:30:00Z"),
        // Friday 18:00 CET: business hours end before 18.
        page(bob, "Bob", "2026-03-27T17:00:00Z"),
        // Outside the period.
        page(carol, "Carol", "2026-04-01T00:00:00Z"),
        page(carol, "Carol", "2026-02-28T12:00:00Z"),
        // Friday 17:59:59 CET, within business hours.
        page(carol, "Carol", "2026-03-27T16:59:59Z"),
        page(carol, "Carol", "2026-03-31T09:00:00Z"),
    ];
    let input = AnalyticsInput { pages, ..AnalyticsInput::default() };
    let r = report(input, &in_berlin(GroupBy::None), &targets());
    let load: Vec<(&str, u32, u32)> = r.on_call_load.iter().map(|p| (p.name.as_str(), p.pages, p.off_hours)).collect();
    // Bob first (3 pages), then Alice and Carol (2 each) by name.
    assert_eq!(load, [("Bob", 3, 2), ("Alice", 2, 1), ("Carol", 2, 0)]);
    assert_eq!(r.on_call_load.first().map(|p| p.user_id), Some(bob));

    // The same pages read in UTC: Monday 06:30 is before business hours, Friday 07:30 too.
    let utc = report(
        AnalyticsInput {
            pages: vec![page(alice, "Alice", "2026-03-30T06:30:00Z"), page(alice, "Alice", "2026-03-27T07:30:00Z")],
            ..AnalyticsInput::default()
        },
        &query(GroupBy::None),
        &targets(),
    );
    assert_eq!(utc.on_call_load.first().map(|p| p.off_hours), Some(2));
}

#[test]
fn action_items_closure_and_overdue_in_local_date() {
    // 22:30 UTC on 31 March is already 1 April in Berlin.
    let q = ReportQuery { now: ts("2026-03-31T22:30:00Z"), ..in_berlin(GroupBy::None) };
    let date = |s: &str| Some(s.parse::<NaiveDate>().unwrap_or_else(|e| panic!("{e}")));
    let created = ts("2026-03-10T10:00:00Z");
    let action = |due_on, closed_at| ActionFacts { created_at: created, due_on, closed_at };
    let actions = vec![
        action(None, Some(created + TimeDelta::days(1))),
        // Due yesterday in Berlin (today in UTC): overdue.
        action(date("2026-03-31"), None),
        // Due today: not yet.
        action(date("2026-04-01"), None),
        action(None, None),
        // Closed, so not overdue however late.
        action(date("2026-03-11"), Some(created + TimeDelta::days(5))),
        // Created before the period: not counted.
        ActionFacts { created_at: ts("2026-02-27T10:00:00Z"), due_on: date("2026-03-01"), closed_at: None },
    ];
    let r = report(AnalyticsInput { actions: actions.clone(), ..AnalyticsInput::default() }, &q, &targets());
    assert_eq!(r.action_items, ActionMetrics { created: 5, closed: 2, closure_rate: Some(0.4), overdue: 1 });

    let utc = ReportQuery { tz: TimeZone::UTC, time_zone: "UTC".to_owned(), ..q };
    let r = report(AnalyticsInput { actions, ..AnalyticsInput::default() }, &utc, &targets());
    assert_eq!(r.action_items.overdue, 0);

    let none = report(AnalyticsInput::default(), &query(GroupBy::None), &targets());
    assert_eq!(none.action_items, ActionMetrics { created: 0, closed: 0, closure_rate: None, overdue: 0 });
}

#[test]
fn postmortems_published_of_resolved_incidents() {
    let published = |n| IncidentFacts { has_postmortem: true, postmortem_published: true, ..handled(n, at(n * 100)) };
    let incidents = vec![
        published(1),
        published(2),
        IncidentFacts { has_postmortem: true, ..handled(3, at(300)) },
        // Open: not counted even though published.
        IncidentFacts { postmortem_published: true, ..acked(4, at(400), 10) },
    ];
    let r = run(incidents, &query(GroupBy::None));
    assert_eq!(r.total.postmortems_published, share(2, 3));
}

#[test]
fn noise_lists_pass_through() {
    let noise = vec![AlertNoise { name: "prometheus".to_owned(), alerts: 12, events: 340 }];
    let fingerprints = vec![AlertNoise { name: "disk-full".to_owned(), alerts: 3, events: 90 }];
    let input = AnalyticsInput {
        noisy_sources: noise.clone(),
        noisy_fingerprints: fingerprints.clone(),
        ..AnalyticsInput::default()
    };
    let r = report(input, &in_berlin(GroupBy::None), &targets());
    assert_eq!(r.noisy_sources, noise);
    assert_eq!(r.noisy_fingerprints, fingerprints);
    assert_eq!(r.time_zone, "Europe/Berlin");
    assert_eq!(r.total.incidents, 0);
    assert_empty(&r.total.mttr);
    assert_eq!(r.total.postmortems_published, share(0, 0));
}

#[test]
fn group_by_parses_its_words() {
    for g in GroupBy::ALL {
        assert_eq!(g.as_str().parse::<GroupBy>(), Ok(*g));
    }
    assert_eq!("week".parse::<GroupBy>(), Ok(GroupBy::Week));
    match "weekly".parse::<GroupBy>() {
        Err(DomainError::Invalid { field, message }) => {
            assert_eq!(field, "group_by");
            assert!(message.contains("none, day, week, month, service, team, severity, type"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

const HEADER: &str = "group,incidents,resolved,reopened,mttd_median_s,mttd_p90_s,mtta_mean_s,mtta_median_s,mtta_p90_s,\
mttc_mean_s,mttc_median_s,mttc_p90_s,mttr_mean_s,mttr_median_s,mttr_p90_s,acknowledge_median_s,contain_median_s,\
recover_median_s,close_median_s,ack_within_target_rate,contain_within_target_rate,postmortem_published_rate";

#[test]
fn csv_rows_quoting_and_formula_guard() {
    let on = |service: &str, f: IncidentFacts| IncidentFacts { service: Some(service.to_owned()), ..f };
    let d1 = at(0);
    let d2 = at(1000);
    let incidents = vec![
        on(
            "=HYPERLINK(\"x\")",
            IncidentFacts {
                first_acknowledged_at: after(d1, 60),
                first_contained_at: after(d1, 120),
                first_resolved_at: after(d1, 600),
                resolved_at: after(d1, 600),
                closed_at: after(d1, 700),
                postmortem_published: true,
                ..incident(1, d1)
            },
        ),
        on(
            "a,b",
            IncidentFacts {
                first_alert_at: after(d2, -30),
                first_acknowledged_at: after(d2, 61),
                first_resolved_at: after(d2, 4000),
                resolved_at: after(d2, 4000),
                ..incident(2, d2)
            },
        ),
        // Open and never acknowledged, both targets long passed.
        on("api", incident(3, at(2000))),
    ];
    let r = run(incidents, &query(GroupBy::Service));
    let csv = r.to_csv();
    assert!(csv.ends_with("\r\n"));
    let lines: Vec<&str> = csv.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(Report::csv_header().join(","), HEADER);
    assert_eq!(Report::csv_header().len(), 22);
    assert_eq!(
        lines,
        [
            HEADER,
            "\"'=HYPERLINK(\"\"x\"\")\",1,1,0,,,60,60,60,120,120,120,600,600,600,60,60,480,100,1.0000,1.0000,1.0000",
            "\"a,b\",1,1,0,30,30,61,61,61,4000,4000,4000,4000,4000,4000,61,,,,1.0000,0.0000,0.0000",
            "api,1,0,0,,,,,,,,,,,,,,,,0.0000,0.0000,",
            // MTTA [60, 61]: 60.5 rounds to 61; rates 2/3, 1/3, 1/2.
            "all,3,2,0,30,30,61,61,61,2060,2060,4000,2300,2300,4000,61,60,480,100,0.6667,0.3333,0.5000",
        ]
    );

    let ungrouped = run(vec![handled(1, at(0))], &query(GroupBy::None)).to_csv();
    assert_eq!(
        ungrouped,
        format!("{HEADER}\r\nall,1,1,0,,,60,60,60,300,300,300,900,900,900,60,240,600,300,1.0000,1.0000,0.0000\r\n")
    );
}

#[test]
fn csv_text_cells_are_quoted_and_guarded() {
    let cell = |s: &str| {
        let mut out = String::new();
        push_text_cell(&mut out, s);
        out
    };
    assert_eq!(cell("payments"), "payments");
    assert_eq!(cell("-1+2"), "'-1+2");
    assert_eq!(cell("+cmd"), "'+cmd");
    assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(cell("\tx"), "'\tx");
    assert_eq!(cell("\rx"), "\"'\rx\"");
    assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(cell("a-b"), "a-b");
}

/// Run with `cargo test --release -p firebreak-domain analytics -- --ignored`.
#[test]
#[ignore = "timing; meaningful in release builds only"]
fn report_on_100k_incidents_is_fast() {
    let services = ["api", "db", "web", "queue", "search", "auth", "billing"];
    let incidents: Vec<IncidentFacts> = (0..100_000i64)
        .map(|n| {
            let d = ts("2026-03-01T00:00:00Z") + TimeDelta::seconds(n * 26);
            IncidentFacts {
                severity: Severity::ALL.get((n % 4) as usize).copied().unwrap_or(Severity::Low),
                service: services.get((n % 7) as usize).map(|s| (*s).to_owned()),
                team: (n % 3 != 0).then(|| "core".to_owned()),
                first_alert_at: after(d, -(n % 300)),
                first_acknowledged_at: after(d, n % 1200),
                first_contained_at: (n % 5 != 0).then(|| d + TimeDelta::seconds(1200 + n % 3000)),
                first_resolved_at: after(d, 5000 + n % 7000),
                resolved_at: after(d, 5000 + n % 9000),
                closed_at: after(d, 20_000),
                reopened: u32::from(n % 50 == 0),
                ..incident(n, d)
            }
        })
        .collect();
    for group_by in [GroupBy::None, GroupBy::Service, GroupBy::Week, GroupBy::Day] {
        let q = in_berlin(group_by);
        // The best of a few runs, so that a busy machine does not fail the test.
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            let input = AnalyticsInput { incidents: incidents.clone(), ..AnalyticsInput::default() };
            let started = std::time::Instant::now();
            let r = report(input, &q, &targets());
            best = best.min(started.elapsed());
            assert_eq!(r.total.incidents, 100_000);
        }
        println!("{group_by}: {best:?}");
        assert!(best < std::time::Duration::from_millis(100), "{group_by}: {best:?}");
    }
}
