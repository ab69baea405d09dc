use super::*;
use chrono::Duration;

fn user(n: u128) -> UserId {
    UserId(uuid::Uuid::from_u128(n))
}

const A: u128 = 1;
const B: u128 = 2;
const C: u128 = 3;
const D: u128 = 4;

/// The instant of wall-clock time `local` (`2026-03-08T09:00`) in zone `tz`.
fn at(tz: &str, local: &str) -> Timestamp {
    let dt: CivilDateTime = local.parse().expect("a civil date-time");
    let z = dt.to_zoned(TimeZone::get(tz).expect("a zone")).expect("in range");
    to_chrono(z.timestamp())
}

fn time(s: &str) -> Time {
    s.parse().expect("a time")
}

fn layer(members: &[u128], length: u32, unit: RotationUnit, starts_at: &str) -> LayerDefinition {
    LayerDefinition {
        name: "primary".into(),
        members: members.iter().map(|m| user(*m)).collect(),
        rotation_length: length,
        rotation_unit: unit,
        starts_at: starts_at.parse().expect("a civil date-time"),
        restrictions: vec![],
    }
}

fn schedule(tz: &str, layers: Vec<LayerDefinition>) -> OnCallSchedule {
    OnCallSchedule::parse(ScheduleDefinition { time_zone: tz.into(), layers, overrides: vec![], fallback: None })
        .expect("a valid schedule")
}

fn who(s: &OnCallSchedule, at: Timestamp) -> Option<u128> {
    s.on_call_at(at).map(|c| c.user.0.as_u128())
}

/// Lengths in minutes of the shifts from `from` to `to`, and who is on call in each.
fn shifts(s: &OnCallSchedule, from: Timestamp, to: Timestamp) -> Vec<(i64, Option<u128>)> {
    s.shifts(from, to)
        .expect("a valid range")
        .into_iter()
        .map(|sh| ((sh.end - sh.start).num_minutes(), sh.on_call.map(|c| c.user.0.as_u128())))
        .collect()
}

#[test]
fn a_weekly_rotation_hands_off_at_its_start_time() {
    let s = schedule("Europe/Berlin", vec![layer(&[A, B, C], 1, RotationUnit::Weeks, "2026-03-02T09:00")]);
    let tz = "Europe/Berlin";
    assert_eq!(who(&s, at(tz, "2026-03-02T08:59")), None, "nobody before the layer starts");
    assert_eq!(who(&s, at(tz, "2026-03-02T09:00")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-09T08:59")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-09T09:00")), Some(B));
    assert_eq!(who(&s, at(tz, "2026-03-16T09:00")), Some(C));
    assert_eq!(who(&s, at(tz, "2026-03-23T09:00")), Some(A), "back to the first member");
    // Across the spring change (29 March) the hand-off stays at 09:00 local.
    assert_eq!(who(&s, at(tz, "2026-03-30T08:59")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-30T09:00")), Some(B));
    // A year on: 52 weeks later is 17 full rotations and one shift.
    assert_eq!(who(&s, at(tz, "2027-03-01T09:00")), Some(B));
}

#[test]
fn daily_shifts_in_new_york_are_23_and_25_hours_on_the_change_days() {
    let tz = "America/New_York";
    let s = schedule(tz, vec![layer(&[A, B], 1, RotationUnit::Days, "2026-03-01T09:00")]);
    // DST starts on Sunday 8 March 2026 at 02:00.
    assert_eq!(
        shifts(&s, at(tz, "2026-03-07T09:00"), at(tz, "2026-03-09T09:00")),
        [(23 * 60, Some(A)), (24 * 60, Some(B))],
    );
    // DST ends on Sunday 1 November 2026 at 02:00.
    assert_eq!(
        shifts(&s, at(tz, "2026-10-31T09:00"), at(tz, "2026-11-02T09:00")),
        // 244 days after the start: A's turn again.
        [(25 * 60, Some(A)), (24 * 60, Some(B))],
    );
    assert_eq!(who(&s, at(tz, "2026-03-08T08:59")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-08T09:00")), Some(B));
}

#[test]
fn hour_rotations_count_real_hours_across_a_change() {
    let tz = "America/New_York";
    let s = schedule(tz, vec![layer(&[A, B], 12, RotationUnit::Hours, "2026-03-07T21:00")]);
    // 12 real hours after 21:00 EST is 10:00 EDT, not 09:00.
    assert_eq!(who(&s, at(tz, "2026-03-08T09:59")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-08T10:00")), Some(B));
    assert_eq!(
        shifts(&s, at(tz, "2026-03-07T21:00"), at(tz, "2026-03-08T22:00")),
        [(12 * 60, Some(A)), (12 * 60, Some(B))],
    );
}

#[test]
fn a_hand_off_inside_the_berlin_spring_gap_moves_to_after_it() {
    let tz = "Europe/Berlin";
    // 02:30 does not exist on 29 March 2026 (02:00 → 03:00): that hand-off happens at 03:30.
    let s = schedule(tz, vec![layer(&[A, B], 1, RotationUnit::Days, "2026-03-27T02:30")]);
    assert_eq!(who(&s, at(tz, "2026-03-28T02:30")), Some(B));
    assert_eq!(who(&s, at(tz, "2026-03-29T03:15")), Some(B), "the 02:30 hand-off has not happened yet");
    assert_eq!(who(&s, at(tz, "2026-03-29T03:30")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-30T02:30")), Some(B), "the next day is back to 02:30");
    // In autumn 02:30 happens twice (25 October): the hand-off is at the first.
    let first_0230 = at(tz, "2026-10-25T02:30");
    let s = schedule(tz, vec![layer(&[A, B], 1, RotationUnit::Days, "2026-10-24T02:30")]);
    assert_eq!(who(&s, first_0230 - Duration::minutes(1)), Some(A));
    assert_eq!(who(&s, first_0230), Some(B));
    assert_eq!(who(&s, first_0230 + Duration::minutes(90)), Some(B), "an hour later it is 02:30 again, same shift");
}

#[test]
fn lord_howe_shifts_are_half_an_hour_shorter_and_longer() {
    let tz = "Australia/Lord_Howe";
    let s = schedule(tz, vec![layer(&[A, B, C], 1, RotationUnit::Days, "2026-04-01T09:00")]);
    // Daylight time ends on Sunday 5 April 2026 (02:00 → 01:30) and starts on Sunday
    // 4 October 2026 (02:00 → 02:30): only 30 minutes each way.
    assert_eq!(
        shifts(&s, at(tz, "2026-04-04T09:00"), at(tz, "2026-04-06T09:00")),
        [(24 * 60 + 30, Some(A)), (24 * 60, Some(B))],
    );
    assert_eq!(
        shifts(&s, at(tz, "2026-10-03T09:00"), at(tz, "2026-10-05T09:00")),
        [(23 * 60 + 30, Some(C)), (24 * 60, Some(A))],
    );
}

#[test]
fn the_highest_layer_that_covers_an_instant_wins() {
    let tz = "Europe/Berlin";
    let mut business_hours = layer(&[C], 1, RotationUnit::Weeks, "2026-03-02T00:00");
    business_hours.name = "business hours".into();
    business_hours.restrictions = vec![Restriction::Daily { start: time("09:00"), end: time("17:00") }];
    let s = schedule(tz, vec![layer(&[A, B], 1, RotationUnit::Weeks, "2026-03-02T00:00"), business_hours]);
    assert_eq!(who(&s, at(tz, "2026-03-03T08:59")), Some(A));
    assert_eq!(s.on_call_at(at(tz, "2026-03-03T09:00")).map(|c| c.source), Some(OnCallSource::Layer(1)));
    assert_eq!(who(&s, at(tz, "2026-03-03T16:59")), Some(C));
    assert_eq!(who(&s, at(tz, "2026-03-03T17:00")), Some(A), "the layer below shows through outside the window");
    assert_eq!(
        shifts(&s, at(tz, "2026-03-03T00:00"), at(tz, "2026-03-04T00:00")),
        [(9 * 60, Some(A)), (8 * 60, Some(C)), (7 * 60, Some(A))],
    );
}

#[test]
fn an_overnight_window_wraps_past_midnight() {
    let tz = "America/New_York";
    let mut nights = layer(&[B], 1, RotationUnit::Days, "2026-03-01T00:00");
    nights.restrictions = vec![Restriction::Daily { start: time("22:00"), end: time("06:00") }];
    let s = schedule(tz, vec![layer(&[A], 1, RotationUnit::Days, "2026-03-01T00:00"), nights]);
    assert_eq!(who(&s, at(tz, "2026-03-03T21:59")), Some(A));
    assert_eq!(who(&s, at(tz, "2026-03-03T22:00")), Some(B));
    assert_eq!(who(&s, at(tz, "2026-03-04T05:59")), Some(B));
    assert_eq!(who(&s, at(tz, "2026-03-04T06:00")), Some(A));
    // The night DST starts is an hour shorter: 22:00 EST to 06:00 EDT is 7 hours.
    assert_eq!(
        shifts(&s, at(tz, "2026-03-07T12:00"), at(tz, "2026-03-08T12:00")),
        [(10 * 60, Some(A)), (7 * 60, Some(B)), (6 * 60, Some(A))],
    );
}

#[test]
fn a_weekly_window_covers_the_weekend_only() {
    let tz = "Europe/Berlin";
    let mut weekend = layer(&[D], 1, RotationUnit::Weeks, "2026-03-02T00:00");
    weekend.restrictions = vec![Restriction::Weekly {
        start_day: Day::Friday,
        start: time("18:00"),
        end_day: Day::Monday,
        end: time("08:00"),
    }];
    let s = schedule(tz, vec![layer(&[A], 1, RotationUnit::Weeks, "2026-03-02T00:00"), weekend]);
    assert_eq!(who(&s, at(tz, "2026-03-06T17:59")), Some(A), "Friday afternoon");
    assert_eq!(who(&s, at(tz, "2026-03-06T18:00")), Some(D), "Friday evening");
    assert_eq!(who(&s, at(tz, "2026-03-08T12:00")), Some(D), "Sunday");
    assert_eq!(who(&s, at(tz, "2026-03-09T07:59")), Some(D), "Monday early");
    assert_eq!(who(&s, at(tz, "2026-03-09T08:00")), Some(A), "Monday morning");
    assert_eq!(who(&s, at(tz, "2026-03-11T12:00")), Some(A), "Wednesday");
    assert_eq!(
        shifts(&s, at(tz, "2026-03-06T00:00"), at(tz, "2026-03-10T00:00")),
        [(18 * 60, Some(A)), ((6 + 48 + 8) * 60, Some(D)), (16 * 60, Some(A))],
    );
}

#[test]
fn overrides_cover_everyone_or_one_person_and_the_latest_wins() {
    let tz = "Europe/Berlin";
    let mut def = ScheduleDefinition {
        time_zone: tz.into(),
        layers: vec![layer(&[A, B], 1, RotationUnit::Days, "2026-03-02T09:00")],
        overrides: vec![],
        fallback: None,
    };
    def.overrides = vec![
        // C covers whoever is on call on Tuesday afternoon (that is B).
        Override { user: user(C), replaces: None, start: at(tz, "2026-03-03T12:00"), end: at(tz, "2026-03-03T18:00") },
        // D replaces A only: on Tuesday, when B is on call, this changes nothing.
        Override {
            user: user(D),
            replaces: Some(user(A)),
            start: at(tz, "2026-03-03T10:00"),
            end: at(tz, "2026-03-04T12:00"),
        },
        // A later override over the first one: A covers 14:00–15:00.
        Override { user: user(A), replaces: None, start: at(tz, "2026-03-03T14:00"), end: at(tz, "2026-03-03T15:00") },
    ];
    let s = OnCallSchedule::parse(def).expect("a valid schedule");
    assert_eq!(who(&s, at(tz, "2026-03-03T11:00")), Some(B), "D replaces only A");
    assert_eq!(who(&s, at(tz, "2026-03-03T12:00")), Some(C));
    assert_eq!(s.on_call_at(at(tz, "2026-03-03T12:00")).map(|c| c.source), Some(OnCallSource::Override(0)));
    assert_eq!(who(&s, at(tz, "2026-03-03T14:30")), Some(A), "the latest override wins");
    assert_eq!(who(&s, at(tz, "2026-03-03T18:00")), Some(B), "an override ends at its end");
    assert_eq!(who(&s, at(tz, "2026-03-04T09:00")), Some(D), "Wednesday is A's: D replaces A until noon");
    assert_eq!(who(&s, at(tz, "2026-03-04T12:00")), Some(A));
    assert_eq!(
        shifts(&s, at(tz, "2026-03-03T09:00"), at(tz, "2026-03-04T13:00")),
        [
            (3 * 60, Some(B)),
            (2 * 60, Some(C)),
            (60, Some(A)),
            (3 * 60, Some(C)),
            (15 * 60, Some(B)),
            (3 * 60, Some(D)),
            (60, Some(A)),
        ],
    );
}

#[test]
fn the_fallback_covers_what_nothing_else_does() {
    let tz = "America/New_York";
    let mut days = layer(&[A], 1, RotationUnit::Weeks, "2026-03-02T00:00");
    days.restrictions = vec![Restriction::Daily { start: time("08:00"), end: time("20:00") }];
    let def =
        ScheduleDefinition { time_zone: tz.into(), layers: vec![days], overrides: vec![], fallback: Some(user(D)) };
    let s = OnCallSchedule::parse(def).expect("a valid schedule");
    assert_eq!(who(&s, at(tz, "2026-03-03T12:00")), Some(A));
    assert_eq!(
        s.on_call_at(at(tz, "2026-03-03T21:00")),
        Some(OnCall { user: user(D), source: OnCallSource::Fallback })
    );
    assert_eq!(who(&s, at(tz, "2026-02-01T12:00")), Some(D), "before the layer starts");
    let no_fallback = schedule(tz, vec![layer(&[A], 1, RotationUnit::Weeks, "2026-03-02T00:00")]);
    assert_eq!(
        shifts(&no_fallback, at(tz, "2026-03-01T00:00"), at(tz, "2026-03-03T00:00")),
        [(24 * 60, None), (24 * 60, Some(A))],
        "before the start nobody is on call",
    );
}

#[test]
fn shifts_merge_when_the_same_person_stays_on_call() {
    let tz = "Europe/Berlin";
    // One member: every daily hand-off goes to the same person.
    let s = schedule(tz, vec![layer(&[A], 1, RotationUnit::Days, "2026-03-01T09:00")]);
    assert_eq!(shifts(&s, at(tz, "2026-03-02T00:00"), at(tz, "2026-03-09T00:00")), [(7 * 24 * 60, Some(A))]);
    // A range that starts mid-shift starts the first shift at the range's start.
    let s = schedule(tz, vec![layer(&[A, B], 1, RotationUnit::Days, "2026-03-01T09:00")]);
    let listed = s.shifts(at(tz, "2026-03-02T12:00"), at(tz, "2026-03-03T12:00")).expect("a valid range");
    assert_eq!(listed[0].start, at(tz, "2026-03-02T12:00"));
    assert_eq!(listed.last().map(|s| s.end), Some(at(tz, "2026-03-03T12:00")));
}

#[test]
fn many_weeks_of_a_multi_week_rotation_agree_with_instant_answers() {
    // Two-week shifts in Sydney over a year: each listed shift starts at 10:00 local on a
    // Monday, lasts 14 days give or take the hour DST moves, and matches on_call_at inside.
    let tz = "Australia/Sydney";
    let s = schedule(tz, vec![layer(&[A, B, C, D], 2, RotationUnit::Weeks, "2026-01-05T10:00")]);
    let listed = s.shifts(at(tz, "2026-01-05T10:00"), at(tz, "2027-01-04T10:00")).expect("a valid range");
    assert_eq!(listed.len(), 26);
    let zone = TimeZone::get(tz).expect("a zone");
    for (n, shift) in listed.iter().enumerate() {
        let local = to_jiff(shift.start).to_zoned(zone.clone());
        assert_eq!((local.weekday(), local.hour(), local.minute()), (Weekday::Monday, 10, 0), "shift {n}");
        let hours = (shift.end - shift.start).num_hours();
        assert!((14 * 24 - 1..=14 * 24 + 1).contains(&hours), "shift {n} lasts {hours} h");
        assert_eq!(shift.on_call.map(|c| c.user), Some(user([A, B, C, D][n % 4])));
        assert_eq!(s.on_call_at(shift.start + Duration::hours(1)), shift.on_call);
        assert_eq!(s.on_call_at(shift.end - Duration::seconds(1)), shift.on_call);
    }
}

#[test]
fn definitions_that_cannot_work_are_refused_with_the_reason() {
    let ok = || ScheduleDefinition {
        time_zone: "Europe/Berlin".into(),
        layers: vec![layer(&[A], 1, RotationUnit::Days, "2026-03-01T09:00")],
        overrides: vec![],
        fallback: None,
    };
    let refused = |def: ScheduleDefinition| OnCallSchedule::parse(def).expect_err("refused").to_string();
    assert!(refused(ScheduleDefinition { time_zone: "Mars/Olympus".into(), ..ok() }).contains("IANA time zone"));
    assert!(refused(ScheduleDefinition { layers: vec![], ..ok() }).contains("at least one layer"));
    let mut d = ok();
    d.layers[0].members.clear();
    assert!(refused(d).contains("members"));
    let mut d = ok();
    d.layers[0].rotation_length = 0;
    assert!(refused(d).contains("rotation length"));
    let mut d = ok();
    d.layers[0].rotation_length = 53;
    d.layers[0].rotation_unit = RotationUnit::Weeks;
    assert!(refused(d).contains("1 to 52 weeks"));
    let mut d = ok();
    d.layers[0].restrictions = vec![Restriction::Daily { start: time("09:00"), end: time("09:00") }];
    assert!(refused(d).contains("different start and end"));
    let mut d = ok();
    d.layers[0].restrictions = vec![Restriction::Daily { start: time("09:00:30"), end: time("17:00") }];
    assert!(refused(d).contains("whole minutes"));
    let mut d = ok();
    let t = at("Europe/Berlin", "2026-03-03T12:00");
    d.overrides = vec![Override { user: user(B), replaces: None, start: t, end: t }];
    assert!(refused(d).contains("end after it starts"));

    let s = OnCallSchedule::parse(ok()).expect("valid");
    let t = at("Europe/Berlin", "2026-03-03T12:00");
    assert!(s.shifts(t, t).is_err());
    assert!(s.shifts(t, t + Duration::days(MAX_RANGE_DAYS + 1)).is_err());
}

#[test]
fn definitions_read_as_json_with_wall_clock_times() {
    let json = serde_json::json!({
        "time_zone": "America/New_York",
        "layers": [{
            "name": "primary",
            "members": [user(A), user(B)],
            "rotation_length": 1,
            "rotation_unit": "weeks",
            "starts_at": "2026-03-02T09:00",
            "restrictions": [
                {"kind": "daily", "start": "09:00", "end": "10:00"},
                {"kind": "weekly", "start_day": "saturday", "start": "10:00", "end_day": "saturday", "end": "12:00"}
            ]
        }],
        "fallback": user(D)
    });
    let def: ScheduleDefinition = serde_json::from_value(json).expect("a definition");
    let s = OnCallSchedule::parse(def.clone()).expect("valid");
    assert_eq!(who(&s, at("America/New_York", "2026-03-03T09:30")), Some(A));
    assert_eq!(who(&s, at("America/New_York", "2026-03-03T11:00")), Some(D));
    assert_eq!(who(&s, at("America/New_York", "2026-03-07T11:00")), Some(A), "Saturday window");
    assert_eq!(who(&s, at("America/New_York", "2026-03-07T13:00")), Some(D));
    let back: ScheduleDefinition =
        serde_json::from_value(serde_json::to_value(&def).expect("serializes")).expect("reads back");
    assert_eq!(back, def);
    let unknown = serde_json::json!({"time_zone": "UTC", "layers": [], "fallback": user(A), "extra": 1});
    assert!(serde_json::from_value::<ScheduleDefinition>(unknown).is_err(), "unknown fields are refused");
}

#[test]
fn a_fault_in_a_layer_says_which_layer_and_part() {
    let ok = || ScheduleDefinition {
        time_zone: "Europe/Berlin".into(),
        layers: vec![
            layer(&[A], 1, RotationUnit::Days, "2026-03-01T09:00"),
            layer(&[B], 1, RotationUnit::Days, "2026-03-01T09:00"),
        ],
        overrides: vec![],
        fallback: None,
    };
    let path = |def: ScheduleDefinition| OnCallSchedule::check(def).expect_err("refused").path;
    let mut d = ok();
    d.layers[1].members.clear();
    assert_eq!(path(d), "layers[1].members");
    let mut d = ok();
    d.layers[0].name = " ".into();
    assert_eq!(path(d), "layers[0].name");
    let mut d = ok();
    d.layers[1].rotation_length = 0;
    assert_eq!(path(d), "layers[1].rotation_length");
    let mut d = ok();
    d.layers[1].restrictions = vec![Restriction::Daily { start: time("09:00"), end: time("09:00") }];
    assert_eq!(path(d), "layers[1].restrictions");
    assert_eq!(path(ScheduleDefinition { time_zone: "Mars/Olympus".into(), ..ok() }), "time_zone");
    assert_eq!(path(ScheduleDefinition { layers: vec![], ..ok() }), "layers");

    // The error itself is the one `parse` gives, so the API says the same as before.
    let mut d = ok();
    d.layers[1].members.clear();
    let fault = OnCallSchedule::check(d.clone()).expect_err("refused");
    assert_eq!(Some(fault.error), OnCallSchedule::parse(d).err());
}

#[test]
fn forms_are_offered_the_regional_zone_names() {
    let names = time_zone_names();
    for name in ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"] {
        assert!(names.iter().any(|n| n == name), "{name}");
    }
    assert!(!names.iter().any(|n| n.starts_with("posix/") || n.starts_with("right/")));
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
}

#[test]
fn weekday_windows_are_five_weekly_ones_and_are_recognised_again() {
    let days = Restriction::weekdays(time("09:00"), time("17:00"));
    assert_eq!(days.len(), 5);
    assert_eq!(
        days[4],
        Restriction::Weekly { start_day: Day::Friday, start: time("09:00"), end_day: Day::Friday, end: time("17:00") }
    );
    let nights = Restriction::weekdays(time("22:00"), time("06:00"));
    assert_eq!(
        nights[4],
        Restriction::Weekly {
            start_day: Day::Friday,
            start: time("22:00"),
            end_day: Day::Saturday,
            end: time("06:00")
        },
        "overnight windows end the next morning"
    );
    let mut list = days.clone();
    list.push(Restriction::Daily { start: time("01:00"), end: time("02:00") });
    assert_eq!(Restriction::weekdays_at_start(&list), Some((time("09:00"), time("17:00"))));
    assert_eq!(Restriction::weekdays_at_start(&days[1..]), None, "four days are not the weekdays");
    assert_eq!(Restriction::weekdays_at_start(&[]), None);

    // Covered on weekdays only.
    let mut d = ScheduleDefinition {
        time_zone: "Europe/Berlin".into(),
        layers: vec![layer(&[A], 1, RotationUnit::Weeks, "2026-03-02T00:00")],
        overrides: vec![],
        fallback: Some(user(D)),
    };
    d.layers[0].restrictions = days;
    let s = OnCallSchedule::parse(d).expect("valid");
    assert_eq!(who(&s, at("Europe/Berlin", "2026-03-06T10:00")), Some(A), "Friday");
    assert_eq!(who(&s, at("Europe/Berlin", "2026-03-07T10:00")), Some(D), "Saturday");
    assert_eq!(who(&s, at("Europe/Berlin", "2026-03-06T18:00")), Some(D), "Friday evening");
}
