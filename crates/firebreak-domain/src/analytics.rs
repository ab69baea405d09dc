//! Response analytics: detection, acknowledgement, containment and recovery times, target
//! attainment, on-call load and action-item follow-through over a period, grouped by period,
//! service, team, severity or type, and the report as CSV. Pure computation over facts the
//! store reads; the caller passes the period, the zone and the current instant.

use crate::ids::UserId;
use crate::incident::{IncidentType, Severity};
use crate::time::Timestamp;
use chrono::Datelike;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{Offset, TimeZone};
use serde::Serialize;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// The group key of a missing service or team.
const NONE_KEY: &str = "(none)";
/// The key of the group of every counted incident.
const ALL_KEY: &str = "all";
const MICROS_PER_SECOND: f64 = 1_000_000.0;

/// One incident, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFacts {
    pub number: i64,
    pub severity: Severity,
    pub kind: IncidentType,
    /// The catalog service's name.
    pub service: Option<String>,
    /// The service's owner team.
    pub team: Option<String>,
    pub drill: bool,
    pub detected_at: Timestamp,
    /// The earliest `first_seen_at` of its alerts.
    pub first_alert_at: Option<Timestamp>,
    /// When the impact began, as a person recorded it in the postmortem.
    pub impact_started_at: Option<Timestamp>,
    /// The first acknowledgement; a reopen does not reset the `first_` instants.
    pub first_acknowledged_at: Option<Timestamp>,
    pub first_contained_at: Option<Timestamp>,
    pub first_resolved_at: Option<Timestamp>,
    /// The last resolution (`None` while open).
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// How many times it was reopened.
    pub reopened: u32,
    pub has_postmortem: bool,
    pub postmortem_published: bool,
}

/// One page sent to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFacts {
    pub user_id: UserId,
    pub user_name: String,
    pub at: Timestamp,
}

/// One postmortem action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFacts {
    pub created_at: Timestamp,
    pub due_on: Option<chrono::NaiveDate>,
    /// When it was closed: done or won't do.
    pub closed_at: Option<Timestamp>,
}

/// How much an alert source or fingerprint fired in the period; the store computes the top
/// ones and the report passes them through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertNoise {
    pub name: String,
    /// Distinct alerts.
    pub alerts: i64,
    /// Events received, repeats included.
    pub events: i64,
}

/// Response targets per severity, in minutes after detection. A severity without an entry has
/// no target and its incidents are left out of the target shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub acknowledge_within_minutes: BTreeMap<Severity, u32>,
    pub contain_within_minutes: BTreeMap<Severity, u32>,
}

crate::word_enum!(
    /// How a report splits the counted incidents: not at all, by the period (day, ISO week,
    /// month) of `detected_at` in the report's zone, or by service, owner team, severity or type.
    GroupBy, "group_by" {
        None => "none",
        Day => "day",
        Week => "week",
        Month => "month",
        Service => "service",
        Team => "team",
        Severity => "severity",
        Type => "type",
    }
);

/// What a report covers and how it reads local time.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    /// Start of the period, inclusive.
    pub from: Timestamp,
    /// End of the period, exclusive.
    pub to: Timestamp,
    pub group_by: GroupBy,
    /// The zone for period buckets, business hours and today's date.
    pub tz: TimeZone,
    /// The IANA name of `tz`, for the output.
    pub time_zone: String,
    /// First local hour of business hours (callers default it to 8).
    pub business_start_hour: u8,
    /// Local hour business hours end, exclusive (callers default it to 18).
    pub business_end_hour: u8,
    /// The current instant: decides which targets have passed and which action items are overdue.
    pub now: Timestamp,
}

/// Everything the store reads for one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsInput {
    pub incidents: Vec<IncidentFacts>,
    pub pages: Vec<PageFacts>,
    pub actions: Vec<ActionFacts>,
    pub noisy_sources: Vec<AlertNoise>,
    pub noisy_fingerprints: Vec<AlertNoise>,
}

/// A summary of durations, in seconds; negative durations count as 0. `median` is the middle
/// value (the mean of the two middle values for an even count); `p90` is the nearest rank (the
/// values sorted ascending, the one at index ⌈0.9·count⌉−1). All `None` when `count` is 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stat {
    pub count: u32,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// How many of the incidents a target applies to met it: `rate` = `met`/`of`, from 0 to 1,
/// `None` when `of` is 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub met: u32,
    pub of: u32,
    pub rate: Option<f64>,
}

/// The time spent in each phase of the first response cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Phases {
    /// `detected_at` → first acknowledgement.
    pub acknowledge: Stat,
    /// First acknowledgement → first containment (incidents with both).
    pub contain: Stat,
    /// First containment → first resolution (incidents with both).
    pub recover: Stat,
    /// Last resolution (`resolved_at`) → `closed_at` (incidents with both).
    pub close: Stat,
}

/// The metrics of one group of counted incidents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupMetrics {
    /// The service or team name (`(none)` when missing), the severity or type word, the period
    /// of `detected_at` in the report's zone (`2026-03-29`, ISO week `2026-W13`, `2026-03`), or
    /// `all` for the total.
    pub key: String,
    /// Incidents counted: detected in `[from, to)`, drills left out.
    pub incidents: u32,
    /// Counted incidents with a `resolved_at` (resolved at the end, open ones not).
    pub resolved: u32,
    /// Counted incidents reopened at least once.
    pub reopened: u32,
    /// Mean time to detect: `detected_at` − the earlier of `first_alert_at` and
    /// `impact_started_at`, for incidents with either; an alert after detection counts as 0.
    pub mttd: Stat,
    /// Mean time to acknowledge: first acknowledgement − `detected_at`, for acknowledged
    /// incidents (one resolved without acknowledgement is left out).
    pub mtta: Stat,
    /// Mean time to contain: first containment − `detected_at`, or first resolution −
    /// `detected_at` when containment was skipped.
    pub mttc: Stat,
    /// Mean time to resolve: the last resolution (`resolved_at`, so a reopened incident's time
    /// includes the reopening) − `detected_at`; open incidents are left out.
    pub mttr: Stat,
    pub phases: Phases,
    /// Of the incidents whose severity has an acknowledge target: met when first acknowledged
    /// by `detected_at` + target; missed when acknowledged later, or not acknowledged and the
    /// target has passed at `now`. Unacknowledged incidents whose target has not passed are left
    /// out.
    pub acknowledged_within_target: Share,
    /// As `acknowledged_within_target`, with the contain target and the containment instant
    /// (first containment, or first resolution when containment was skipped).
    pub contained_within_target: Share,
    /// Of the resolved incidents, those with a published postmortem.
    pub postmortems_published: Share,
}

/// How often one person was paged in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PersonLoad {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    /// Pages sent to them with `at` in `[from, to)`.
    pub pages: u32,
    /// Of those, pages whose local time in the report's zone is on a Saturday or Sunday or
    /// outside `[business_start_hour, business_end_hour)`.
    pub off_hours: u32,
}

/// Follow-through on postmortem action items created in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActionMetrics {
    /// Action items with `created_at` in `[from, to)`.
    pub created: u32,
    /// Of those, the closed ones (done or won't do).
    pub closed: u32,
    /// `closed` / `created`; `None` when none were created.
    pub closure_rate: Option<f64>,
    /// Of those, the open ones whose `due_on` is before today's date in the report's zone.
    pub overdue: u32,
}

/// Response analytics over one period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub group_by: GroupBy,
    /// The IANA zone periods, business hours and today's date are read in.
    pub time_zone: String,
    /// Drills detected in the period, left out of every metric.
    pub drills_excluded: u32,
    /// Every counted incident, with key `all`.
    pub total: GroupMetrics,
    /// One entry per group, sorted by key (severities in severity order, periods
    /// chronologically); empty when `group_by` is `none`.
    pub groups: Vec<GroupMetrics>,
    /// Pages per person, most paged first, then by name.
    pub on_call_load: Vec<PersonLoad>,
    pub noisy_sources: Vec<AlertNoise>,
    pub noisy_fingerprints: Vec<AlertNoise>,
    pub action_items: ActionMetrics,
}

/// Computes the report over the incidents detected in `[q.from, q.to)`, drills left out (and
/// counted in `drills_excluded`). An incident detected before `from` is not counted even when
/// it was resolved inside the period. The metrics are defined on [`GroupMetrics`], [`Stat`],
/// [`Share`], [`PersonLoad`] and [`ActionMetrics`].
pub fn report(input: AnalyticsInput, q: &ReportQuery, targets: &Targets) -> Report {
    let AnalyticsInput { incidents, pages, actions, noisy_sources, noisy_fingerprints } = input;
    let clock = LocalClock::new(&q.tz, q.from, q.to);
    let now = q.now.timestamp_micros();
    let mut drills_excluded = 0;
    let mut total = Accumulator::default();
    total.reserve(incidents.len());
    let mut buckets: HashMap<Bucket<'_>, usize> = HashMap::new();
    let mut groups: Vec<(usize, String, Accumulator)> = Vec::new();
    for incident in &incidents {
        if incident.detected_at < q.from || incident.detected_at >= q.to {
            continue;
        }
        if incident.drill {
            drills_excluded += 1;
            continue;
        }
        let m = Measures::of(incident, now, targets);
        total.add(&m);
        let Some(bucket) = Bucket::of(incident, q.group_by, &clock) else {
            continue;
        };
        let index = match buckets.entry(bucket) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                groups.push((bucket.rank(), bucket.key(), Accumulator::default()));
                *e.insert(groups.len() - 1)
            }
        };
        if let Some((_, _, acc)) = groups.get_mut(index) {
            acc.add(&m);
        }
    }
    groups.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Report {
        from: q.from,
        to: q.to,
        group_by: q.group_by,
        time_zone: q.time_zone.clone(),
        drills_excluded,
        total: total.finish(ALL_KEY.to_owned()),
        groups: groups.into_iter().map(|(_, key, acc)| acc.finish(key)).collect(),
        on_call_load: on_call_load(&pages, q, &clock),
        noisy_sources,
        noisy_fingerprints,
        action_items: action_metrics(&actions, q, &clock),
    }
}

impl Report {
    /// The CSV columns, in order.
    pub fn csv_header() -> &'static [&'static str] {
        &[
            "group",
            "incidents",
            "resolved",
            "reopened",
            "mttd_median_s",
            "mttd_p90_s",
            "mtta_mean_s",
            "mtta_median_s",
            "mtta_p90_s",
            "mttc_mean_s",
            "mttc_median_s",
            "mttc_p90_s",
            "mttr_mean_s",
            "mttr_median_s",
            "mttr_p90_s",
            "acknowledge_median_s",
            "contain_median_s",
            "recover_median_s",
            "close_median_s",
            "ack_within_target_rate",
            "contain_within_target_rate",
            "postmortem_published_rate",
        ]
    }

    /// The report as CSV (RFC 4180, CRLF line ends): the header, one row per group, then the
    /// `all` row. Empty cells for missing values, seconds rounded to whole numbers, rates with
    /// four decimals. A text cell starting with `=`, `+`, `-`, `@`, a tab or CR gets a leading
    /// `'` so spreadsheets do not run it as a formula.
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(256 * (self.groups.len() + 2));
        out.push_str(&Self::csv_header().join(","));
        out.push_str("\r\n");
        for g in self.groups.iter().chain(std::iter::once(&self.total)) {
            csv_row(&mut out, g);
        }
        out
    }
}

fn csv_row(out: &mut String, g: &GroupMetrics) {
    push_text_cell(out, &g.key);
    for count in [g.incidents, g.resolved, g.reopened] {
        let _ = write!(out, ",{count}");
    }
    let seconds = [
        g.mttd.median,
        g.mttd.p90,
        g.mtta.mean,
        g.mtta.median,
        g.mtta.p90,
        g.mttc.mean,
        g.mttc.median,
        g.mttc.p90,
        g.mttr.mean,
        g.mttr.median,
        g.mttr.p90,
        g.phases.acknowledge.median,
        g.phases.contain.median,
        g.phases.recover.median,
        g.phases.close.median,
    ];
    for s in seconds {
        out.push(',');
        if let Some(s) = s {
            let _ = write!(out, "{}", s.round());
        }
    }
    for rate in [g.acknowledged_within_target.rate, g.contained_within_target.rate, g.postmortems_published.rate] {
        out.push(',');
        if let Some(r) = rate {
            let _ = write!(out, "{r:.4}");
        }
    }
    out.push_str("\r\n");
}

fn push_text_cell(out: &mut String, text: &str) {
    let guard = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = text.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Whether an incident met a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Met,
    Missed,
    /// No target, or not reached yet and its deadline has not passed.
    NotCounted,
}

/// One incident's contributions, in microseconds, computed once and added to the total and
/// to its group.
struct Measures {
    mttd: Option<i64>,
    mtta: Option<i64>,
    mttc: Option<i64>,
    mttr: Option<i64>,
    contain: Option<i64>,
    recover: Option<i64>,
    close: Option<i64>,
    resolved: bool,
    reopened: bool,
    acknowledged: Outcome,
    contained: Outcome,
    published: bool,
}

impl Measures {
    /// `now` in microseconds since the Unix epoch.
    fn of(i: &IncidentFacts, now: i64, targets: &Targets) -> Measures {
        // Each instant as microseconds, converted once.
        let us = |t: Option<Timestamp>| t.map(|t| t.timestamp_micros());
        let detected = Some(i.detected_at.timestamp_micros());
        let (acknowledged, contained, first_resolved, resolved) =
            (us(i.first_acknowledged_at), us(i.first_contained_at), us(i.first_resolved_at), us(i.resolved_at));
        let earliest_sign = match (us(i.first_alert_at), us(i.impact_started_at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let contained_or_resolved = contained.or(first_resolved);
        let minutes = |m: &BTreeMap<Severity, u32>| m.get(&i.severity).copied();
        Measures {
            mttd: span(earliest_sign, detected),
            mtta: span(detected, acknowledged),
            mttc: span(detected, contained_or_resolved),
            mttr: span(detected, resolved),
            contain: span(acknowledged, contained),
            recover: span(contained, first_resolved),
            close: span(resolved, us(i.closed_at)),
            resolved: resolved.is_some(),
            reopened: i.reopened > 0,
            acknowledged: outcome(detected, minutes(&targets.acknowledge_within_minutes), acknowledged, now),
            contained: outcome(detected, minutes(&targets.contain_within_minutes), contained_or_resolved, now),
            published: i.postmortem_published,
        }
    }
}

/// Whether `reached` came by `detected` + `minutes`, all instants in microseconds.
fn outcome(detected: Option<i64>, minutes: Option<u32>, reached: Option<i64>, now: i64) -> Outcome {
    let (Some(detected), Some(minutes)) = (detected, minutes) else {
        return Outcome::NotCounted;
    };
    let deadline = detected.saturating_add(i64::from(minutes) * 60_000_000);
    match reached {
        Some(at) if at <= deadline => Outcome::Met,
        Some(_) => Outcome::Missed,
        None if deadline <= now => Outcome::Missed,
        None => Outcome::NotCounted,
    }
}

/// `to` − `from` in microseconds when both are there, negative clamped to 0.
fn span(from: Option<i64>, to: Option<i64>) -> Option<i64> {
    Some(to?.saturating_sub(from?).max(0))
}

/// The durations and counts of one group while incidents are added.
#[derive(Default)]
struct Accumulator {
    incidents: u32,
    resolved: u32,
    reopened: u32,
    mttd: Vec<i64>,
    mtta: Vec<i64>,
    mttc: Vec<i64>,
    mttr: Vec<i64>,
    contain: Vec<i64>,
    recover: Vec<i64>,
    close: Vec<i64>,
    acknowledged: ShareCount,
    contained: ShareCount,
    published: ShareCount,
}

#[derive(Default)]
struct ShareCount {
    met: u32,
    of: u32,
}

impl ShareCount {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Met => {
                self.met += 1;
                self.of += 1;
            }
            Outcome::Missed => self.of += 1,
            Outcome::NotCounted => {}
        }
    }

    fn finish(&self) -> Share {
        Share { met: self.met, of: self.of, rate: ratio(self.met, self.of) }
    }
}

impl Accumulator {
    fn durations(&mut self) -> [&mut Vec<i64>; 7] {
        [
            &mut self.mttd,
            &mut self.mtta,
            &mut self.mttc,
            &mut self.mttr,
            &mut self.contain,
            &mut self.recover,
            &mut self.close,
        ]
    }

    fn reserve(&mut self, incidents: usize) {
        for v in self.durations() {
            v.reserve(incidents);
        }
    }

    fn add(&mut self, m: &Measures) {
        self.incidents += 1;
        self.resolved += u32::from(m.resolved);
        self.reopened += u32::from(m.reopened);
        let spans = [m.mttd, m.mtta, m.mttc, m.mttr, m.contain, m.recover, m.close];
        for (v, d) in self.durations().into_iter().zip(spans) {
            if let Some(d) = d {
                v.push(d);
            }
        }
        self.acknowledged.add(m.acknowledged);
        self.contained.add(m.contained);
        if m.resolved {
            self.published.add(if m.published { Outcome::Met } else { Outcome::Missed });
        }
    }

    fn finish(mut self, key: String) -> GroupMetrics {
        let mtta = stat(&mut self.mtta);
        GroupMetrics {
            key,
            incidents: self.incidents,
            resolved: self.resolved,
            reopened: self.reopened,
            mttd: stat(&mut self.mttd),
            mttc: stat(&mut self.mttc),
            mttr: stat(&mut self.mttr),
            phases: Phases {
                // The acknowledge phase is the same span as MTTA.
                acknowledge: mtta.clone(),
                contain: stat(&mut self.contain),
                recover: stat(&mut self.recover),
                close: stat(&mut self.close),
            },
            mtta,
            acknowledged_within_target: self.acknowledged.finish(),
            contained_within_target: self.contained.finish(),
            postmortems_published: self.published.finish(),
        }
    }
}

/// Summarises durations in microseconds as seconds. Selects the order statistics in place
/// (linear time) instead of sorting; `values` ends up partly reordered.
fn stat(values: &mut [i64]) -> Stat {
    let n = values.len();
    if n == 0 {
        return Stat::default();
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    // Nearest rank: ⌈0.9·n⌉ − 1, in integers. Everything before it ends up no larger.
    let rank = (9 * n).div_ceil(10) - 1;
    let (below, &mut p90, _) = values.select_nth_unstable(rank);
    let upper = n / 2;
    // `upper` ≤ `rank`: the median is the p90 value or among the values below it.
    let (upper_value, below_upper) = if upper == rank {
        (p90, below)
    } else {
        let (lower, &mut value, _) = below.select_nth_unstable(upper);
        (value, lower)
    };
    let median = if n % 2 == 1 {
        upper_value as f64
    } else {
        // The other middle value is the largest of those before `upper`.
        let lower_value = below_upper.iter().copied().max().unwrap_or(upper_value);
        (lower_value as f64 + upper_value as f64) / 2.0
    };
    Stat {
        count: u32::try_from(n).unwrap_or(u32::MAX),
        mean: Some(sum as f64 / n as f64 / MICROS_PER_SECOND),
        median: Some(median / MICROS_PER_SECOND),
        p90: Some(p90 as f64 / MICROS_PER_SECOND),
    }
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// Which group an incident falls in, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bucket<'a> {
    Name(&'a str),
    Severity(Severity),
    Kind(IncidentType),
    Day(Date),
    Week(i16, i8),
    Month(i16, i8),
}

impl<'a> Bucket<'a> {
    fn of(i: &'a IncidentFacts, group_by: GroupBy, clock: &LocalClock<'_>) -> Option<Bucket<'a>> {
        let name = |n: &'a Option<String>| Bucket::Name(n.as_deref().unwrap_or(NONE_KEY));
        let date = || clock.local(i.detected_at).date();
        Some(match group_by {
            GroupBy::None => return None,
            GroupBy::Service => name(&i.service),
            GroupBy::Team => name(&i.team),
            GroupBy::Severity => Bucket::Severity(i.severity),
            GroupBy::Type => Bucket::Kind(i.kind),
            GroupBy::Day => Bucket::Day(date()),
            GroupBy::Week => {
                let week = date().iso_week_date();
                Bucket::Week(week.year(), week.week())
            }
            GroupBy::Month => {
                let d = date();
                Bucket::Month(d.year(), d.month())
            }
        })
    }

    /// Sorts before the key: severities go in severity order, everything else by key.
    fn rank(self) -> usize {
        match self {
            Bucket::Severity(s) => Severity::ALL.iter().position(|&x| x == s).unwrap_or(0),
            _ => 0,
        }
    }

    fn key(self) -> String {
        match self {
            Bucket::Name(n) => n.to_owned(),
            Bucket::Severity(s) => s.as_str().to_owned(),
            Bucket::Kind(k) => k.as_str().to_owned(),
            Bucket::Day(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            Bucket::Week(y, w) => format!("{y:04}-W{w:02}"),
            Bucket::Month(y, m) => format!("{y:04}-{m:02}"),
        }
    }
}

fn on_call_load(pages: &[PageFacts], q: &ReportQuery, clock: &LocalClock<'_>) -> Vec<PersonLoad> {
    let mut index: HashMap<UserId, usize> = HashMap::new();
    let mut people: Vec<PersonLoad> = Vec::new();
    for page in pages {
        if page.at < q.from || page.at >= q.to {
            continue;
        }
        let i = *index.entry(page.user_id).or_insert_with(|| {
            people.push(PersonLoad { user_id: page.user_id, name: page.user_name.clone(), pages: 0, off_hours: 0 });
            people.len() - 1
        });
        if let Some(person) = people.get_mut(i) {
            person.pages += 1;
            person.off_hours += u32::from(is_off_hours(clock.local(page.at), q));
        }
    }
    people.sort_unstable_by(|a, b| {
        b.pages.cmp(&a.pages).then_with(|| a.name.cmp(&b.name)).then_with(|| a.user_id.cmp(&b.user_id))
    });
    people
}

fn is_off_hours(local: DateTime, q: &ReportQuery) -> bool {
    let weekend = matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
    // jiff's hours are 0–23.
    let hour = local.hour().unsigned_abs();
    weekend || hour < q.business_start_hour || hour >= q.business_end_hour
}

fn action_metrics(actions: &[ActionFacts], q: &ReportQuery, clock: &LocalClock<'_>) -> ActionMetrics {
    let today = clock.local(q.now).date();
    let today =
        (i32::from(today.year()), u32::from(today.month().unsigned_abs()), u32::from(today.day().unsigned_abs()));
    let (mut created, mut closed, mut overdue) = (0, 0, 0);
    for a in actions.iter().filter(|a| a.created_at >= q.from && a.created_at < q.to) {
        created += 1;
        if a.closed_at.is_some() {
            closed += 1;
        } else if a.due_on.is_some_and(|d| (d.year(), d.month(), d.day()) < today) {
            overdue += 1;
        }
    }
    ActionMetrics { created, closed, closure_rate: ratio(closed, created), overdue }
}

/// Reads instants as local time in the report's zone. The zone's offsets over the period are
/// looked up once, as zone lookups per instant were a large share of a report's time.
struct LocalClock<'z> {
    tz: &'z TimeZone,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    /// Each offset in `[from, to)` and the instant it starts, ascending.
    offsets: Vec<(jiff::Timestamp, Offset)>,
}

impl<'z> LocalClock<'z> {
    fn new(tz: &'z TimeZone, from: Timestamp, to: Timestamp) -> LocalClock<'z> {
        let (from, to) = (to_jiff(from), to_jiff(to));
        let mut offsets = vec![(from, tz.to_offset(from))];
        offsets.extend(
            tz.following(from)
                .map(|t| (t.timestamp(), t.offset()))
                .skip_while(|(t, _)| *t <= from)
                .take_while(|(t, _)| *t < to),
        );
        LocalClock { tz, from, to, offsets }
    }

    fn local(&self, t: Timestamp) -> DateTime {
        let t = to_jiff(t);
        if t < self.from || t >= self.to {
            return self.tz.to_datetime(t);
        }
        let i = self.offsets.partition_point(|(start, _)| *start <= t);
        match i.checked_sub(1).and_then(|i| self.offsets.get(i)) {
            Some((_, offset)) => offset.to_datetime(t),
            None => self.tz.to_datetime(t),
        }
    }
}

/// The same instant in jiff, via the Unix timestamp; instants outside jiff's range (years
/// −9999 to 9999) clamp to its ends.
fn to_jiff(t: Timestamp) -> jiff::Timestamp {
    let seconds = t.timestamp();
    // chrono carries a leap second as nanoseconds ≥ 10⁹; jiff wants them below.
    let nanos = t.timestamp_subsec_nanos();
    let (seconds, nanos) = (seconds.saturating_add(i64::from(nanos / 1_000_000_000)), nanos % 1_000_000_000);
    let nanos = i32::try_from(nanos).unwrap_or(0);
    jiff::Timestamp::new(seconds, nanos).unwrap_or(if seconds < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

#[cfg(test)]
mod tests;
