//! On-call schedules: who is on call at an instant and over a range, correct across daylight
//! saving changes.
//!
//! A schedule has a time zone, layers and overrides, and an optional final fallback:
//! - a **layer** rotates through its members, handing off every `length` hours, days or weeks
//!   counted from its start (a wall-clock time in the schedule's zone). Day and week rotations
//!   keep the wall-clock hand-off time across DST changes (a shift is 23 or 25 hours then, or
//!   23½ and 24½ on Lord Howe Island); hour rotations count real hours;
//! - a layer may be **restricted** to time-of-day or weekday windows; outside them it covers
//!   nobody and the layers below show through;
//! - layers are ordered from lowest to highest: the **highest** layer that covers an instant
//!   decides who is on call;
//! - an **override** puts someone on call for a range, either over whoever is on call or only
//!   in place of one named person; the latest override wins where several overlap;
//! - the **fallback** is on call whenever nothing else covers the instant.
//!
//! Everything here is computed, never stored: the same definition gives the same answer.

use crate::{DomainError, Fault, Timestamp, UserId};
use chrono::TimeZone as _;
use jiff::civil::Weekday;
/// The wall-clock date-times and times definitions are written in (`2026-03-02T09:00`, `09:00`).
pub use jiff::civil::{DateTime as CivilDateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Zoned};
use serde::{Deserialize, Serialize};

/// The longest range shifts are listed for at once.
pub const MAX_RANGE_DAYS: i64 = 400;
/// Members of one layer at most.
pub const MAX_MEMBERS: usize = 200;
/// Layers of one schedule at most.
pub const MAX_LAYERS: usize = 20;

/// The IANA zone names this machine knows, sorted, for forms to offer: the regional ones
/// (`Europe/Berlin`) and `UTC`, without the database's legacy and `posix/` or `right/` copies.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = (jiff::tz::db().available().map(|n| n.to_string()))
        .filter(|n| {
            let region = n.split('/').next().unwrap_or_default();
            n == "UTC"
                || (n.contains('/')
                    && !["posix", "right", "Etc", "SystemV", "US", "Brazil", "Canada", "Chile", "Mexico"]
                        .contains(&region)
                    && region.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// How long each shift of a layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RotationUnit {
    Hours,
    Days,
    Weeks,
}

/// A window during which a restricted layer covers its shifts. Times are wall-clock times in
/// the schedule's zone; an end at or before the start wraps past midnight (or past the end of
/// the week for weekly windows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Restriction {
    /// Every day from `start` to `end` (e.g. 09:00–17:00, or 22:00–06:00 overnight).
    Daily {
        #[schema(value_type = String, example = "09:00")]
        start: Time,
        #[schema(value_type = String, example = "17:00")]
        end: Time,
    },
    /// Once a week from `start_day` `start` to `end_day` `end` (e.g. Friday 18:00 to Monday 08:00).
    Weekly {
        #[schema(value_type = String, example = "friday")]
        start_day: Day,
        #[schema(value_type = String, example = "18:00")]
        start: Time,
        #[schema(value_type = String, example = "monday")]
        end_day: Day,
        #[schema(value_type = String, example = "08:00")]
        end: Time,
    },
}

/// A day of the week, as written in definitions (`monday` … `sunday`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    fn offset(self) -> i64 {
        self as i64
    }

    fn of(w: Weekday) -> Day {
        [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday, Day::Saturday, Day::Sunday]
            [w.to_monday_zero_offset() as usize]
    }
}

const MINUTES_PER_DAY: i64 = 24 * 60;
const MINUTES_PER_WEEK: i64 = 7 * MINUTES_PER_DAY;

fn minute_of_day(t: Time) -> i64 {
    i64::from(t.hour()) * 60 + i64::from(t.minute())
}

/// Whether `at` lies in the half-open window from `start` to `end` on a circle of `period`.
fn in_window(at: i64, start: i64, end: i64) -> bool {
    if start < end { start <= at && at < end } else { at >= start || at < end }
}

impl Restriction {
    fn covers(&self, local: CivilDateTime) -> bool {
        let tod = minute_of_day(local.time());
        match self {
            Restriction::Daily { start, end } => in_window(tod, minute_of_day(*start), minute_of_day(*end)),
            Restriction::Weekly { start_day, start, end_day, end } => {
                let at = Day::of(local.weekday()).offset() * MINUTES_PER_DAY + tod;
                let s = start_day.offset() * MINUTES_PER_DAY + minute_of_day(*start);
                let e = end_day.offset() * MINUTES_PER_DAY + minute_of_day(*end);
                debug_assert!(s < MINUTES_PER_WEEK && e < MINUTES_PER_WEEK);
                in_window(at, s, e)
            }
        }
    }

    /// The wall-clock times on `date` at which this window opens or closes.
    fn edges_on(&self, date: jiff::civil::Date) -> Vec<Time> {
        match self {
            Restriction::Daily { start, end } => vec![*start, *end],
            Restriction::Weekly { start_day, start, end_day, end } => {
                let day = Day::of(date.weekday());
                let mut edges = Vec::new();
                if day == *start_day {
                    edges.push(*start);
                }
                if day == *end_day {
                    edges.push(*end);
                }
                edges
            }
        }
    }

    /// Monday to Friday from `start` to `end` each day — past midnight into the next day when
    /// `end` is at or before `start` — as five weekly windows.
    pub fn weekdays(start: Time, end: Time) -> Vec<Restriction> {
        const WEEK: [Day; 7] =
            [Day::Monday, Day::Tuesday, Day::Wednesday, Day::Thursday, Day::Friday, Day::Saturday, Day::Sunday];
        (0..5)
            .map(|d| Restriction::Weekly {
                start_day: WEEK[d],
                start,
                end_day: if end > start { WEEK[d] } else { WEEK[d + 1] },
                end,
            })
            .collect()
    }

    /// The times of the [`Restriction::weekdays`] windows `list` starts with, if it does.
    pub fn weekdays_at_start(list: &[Restriction]) -> Option<(Time, Time)> {
        let Some(Restriction::Weekly { start, end, .. }) = list.first() else { return None };
        let five = Restriction::weekdays(*start, *end);
        list.starts_with(&five).then_some((*start, *end))
    }

    fn check(&self) -> Result<(), DomainError> {
        let whole_minutes = |t: &Time| t.second() == 0 && t.subsec_nanosecond() == 0;
        let (start, end) = match self {
            Restriction::Daily { start, end } | Restriction::Weekly { start, end, .. } => (start, end),
        };
        if !whole_minutes(start) || !whole_minutes(end) {
            return Err(DomainError::invalid("restrictions", "window times are whole minutes (HH:MM)"));
        }
        if let Restriction::Daily { start, end } = self
            && start == end
        {
            return Err(DomainError::invalid(
                "restrictions",
                "a daily window needs different start and end times (leave the layer unrestricted for all day)",
            ));
        }
        Ok(())
    }
}

/// One layer as written: members in rotation order, the shift length, when the first shift
/// starts, and optional restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerDefinition {
    pub name: String,
    pub members: Vec<UserId>,
    pub rotation_length: u32,
    pub rotation_unit: RotationUnit,
    /// Wall-clock time of the first hand-off in the schedule's zone, e.g. `2026-03-02T09:00`.
    #[schema(value_type = String, example = "2026-03-02T09:00")]
    pub starts_at: CivilDateTime,
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
}

/// Someone on call for a range in place of the computed on-call (or of `replaces` only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub user: UserId,
    #[serde(default)]
    pub replaces: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

impl Override {
    /// The people it names: who covers, and whom only (if anyone).
    pub fn people(&self) -> impl Iterator<Item = &UserId> {
        std::iter::once(&self.user).chain(self.replaces.iter())
    }
}

/// A schedule as written (and stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDefinition {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Lowest first; the highest layer covering an instant wins.
    pub layers: Vec<LayerDefinition>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// On call whenever no layer or override covers the instant.
    #[serde(default)]
    pub fallback: Option<UserId>,
}

impl ScheduleDefinition {
    /// Every person it names: layer members, people in overrides, the fallback.
    pub fn people(&self) -> impl Iterator<Item = &UserId> {
        (self.layers.iter().flat_map(|l| l.members.iter()))
            .chain(self.overrides.iter().flat_map(Override::people))
            .chain(self.fallback.iter())
    }
}

/// Why someone is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum OnCallSource {
    /// The layer at this position (0 is the lowest).
    Layer(usize),
    /// The override at this position.
    Override(usize),
    Fallback,
}

/// Who is on call, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OnCall {
    pub user: UserId,
    pub source: OnCallSource,
}

/// A stretch of time with one person on call (or nobody: `on_call` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Shift {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    pub on_call: Option<OnCall>,
}

/// A checked schedule: the zone exists, every layer has members and a positive length, every
/// override ends after it starts. Only [`OnCallSchedule::parse`] makes one.
#[derive(Debug, Clone)]
pub struct OnCallSchedule {
    definition: ScheduleDefinition,
    tz: TimeZone,
    /// Each layer's first hand-off as a zoned instant.
    anchors: Vec<Zoned>,
}

fn to_jiff(t: Timestamp) -> jiff::Timestamp {
    // Every chrono instant the stores keep (years 1–9999) is in jiff's range.
    jiff::Timestamp::from_microsecond(t.timestamp_micros()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn to_chrono(t: jiff::Timestamp) -> Timestamp {
    chrono::Utc.timestamp_micros(t.as_microsecond()).single().unwrap_or_default()
}

/// Checks one layer in the schedule's zone; an error says which part of it is wrong.
fn check_layer(layer: &LayerDefinition, tz: &TimeZone) -> Result<Zoned, (&'static str, DomainError)> {
    if layer.name.trim().is_empty() || layer.name.chars().count() > 100 {
        return Err(("name", DomainError::invalid("layers", "each layer needs a name of 1 to 100 characters")));
    }
    if layer.members.is_empty() || layer.members.len() > MAX_MEMBERS {
        let message = format!("layer {:?} needs 1 to {MAX_MEMBERS} members", layer.name);
        return Err(("members", DomainError::invalid("layers", message)));
    }
    let max = match layer.rotation_unit {
        RotationUnit::Hours => 24 * 366,
        RotationUnit::Days => 366,
        RotationUnit::Weeks => 52,
    };
    if layer.rotation_length == 0 || layer.rotation_length > max {
        let message =
            format!("layer {:?}: the rotation length must be 1 to {max} {:?}", layer.name, layer.rotation_unit)
                .to_lowercase();
        return Err(("rotation_length", DomainError::invalid("layers", message)));
    }
    for r in &layer.restrictions {
        r.check().map_err(|e| ("restrictions", e))?;
    }
    layer.starts_at.to_zoned(tz.clone()).map_err(|_| {
        let message = format!("layer {:?}: the start time is out of range", layer.name);
        ("starts_at", DomainError::invalid("layers", message))
    })
}

impl OnCallSchedule {
    pub fn parse(definition: ScheduleDefinition) -> Result<Self, DomainError> {
        Self::check(definition).map_err(|f| f.error)
    }

    /// [`OnCallSchedule::parse`], saying where the problem is: in one layer it is that layer
    /// and its part (`layers[1].members`: `name`, `members`, `rotation_length`, `starts_at` or
    /// `restrictions`), so that a form can show it there.
    pub fn check(definition: ScheduleDefinition) -> Result<Self, Fault> {
        let tz = TimeZone::get(definition.time_zone.trim()).map_err(|_| {
            DomainError::invalid(
                "time_zone",
                format!("{:?} is not an IANA time zone such as Europe/Berlin", definition.time_zone),
            )
        })?;
        if definition.layers.is_empty() && definition.fallback.is_none() && definition.overrides.is_empty() {
            return Err(DomainError::invalid("layers", "a schedule needs at least one layer or a fallback").into());
        }
        if definition.layers.len() > MAX_LAYERS {
            return Err(DomainError::invalid("layers", format!("at most {MAX_LAYERS} layers")).into());
        }
        let mut anchors = Vec::with_capacity(definition.layers.len());
        for (i, layer) in definition.layers.iter().enumerate() {
            anchors.push(check_layer(layer, &tz).map_err(|(part, e)| Fault::in_entry("layers", i, part, e))?);
        }
        for o in &definition.overrides {
            if o.end <= o.start {
                return Err(DomainError::invalid("overrides", "an override must end after it starts").into());
            }
        }
        Ok(OnCallSchedule { definition, tz, anchors })
    }

    pub fn definition(&self) -> &ScheduleDefinition {
        &self.definition
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn span(layer: &LayerDefinition, shifts: i64) -> Option<Span> {
        let n = shifts.checked_mul(i64::from(layer.rotation_length))?;
        match layer.rotation_unit {
            RotationUnit::Hours => Span::new().try_hours(n).ok(),
            RotationUnit::Days => Span::new().try_days(n).ok(),
            RotationUnit::Weeks => Span::new().try_weeks(n).ok(),
        }
    }

    /// The instant of hand-off number `k` (0 is the layer's start) of layer `i`.
    fn handoff(&self, i: usize, k: i64) -> Option<jiff::Timestamp> {
        let span = Self::span(&self.definition.layers[i], k)?;
        self.anchors[i].checked_add(span).ok().map(|z| z.timestamp())
    }

    /// The number of the shift of layer `i` running at `at` (`None` before the layer starts).
    fn shift_number(&self, i: usize, at: jiff::Timestamp) -> Option<i64> {
        let layer = &self.definition.layers[i];
        let start = self.anchors[i].timestamp();
        if at < start {
            return None;
        }
        let nominal = match layer.rotation_unit {
            RotationUnit::Hours => 3600,
            RotationUnit::Days => 86_400,
            RotationUnit::Weeks => 7 * 86_400,
        } * i64::from(layer.rotation_length);
        // An estimate within a shift or two (DST moves hand-offs by an hour at most) …
        let mut k = (at.as_second() - start.as_second()) / nominal;
        // … corrected against the real hand-off instants.
        while k > 0 && self.handoff(i, k)? > at {
            k -= 1;
        }
        while self.handoff(i, k + 1)? <= at {
            k += 1;
        }
        Some(k)
    }

    /// Who layer `i` puts on call at `at`, if anyone.
    fn layer_on_call(&self, i: usize, at: jiff::Timestamp) -> Option<UserId> {
        let layer = &self.definition.layers[i];
        if !layer.restrictions.is_empty() {
            let local = at.to_zoned(self.tz.clone()).datetime();
            if !layer.restrictions.iter().any(|r| r.covers(local)) {
                return None;
            }
        }
        let k = self.shift_number(i, at)?;
        let n = layer.members.len() as i64;
        Some(layer.members[k.rem_euclid(n) as usize])
    }

    /// Who is on call at `at`, and why; `None` when nobody is.
    pub fn on_call_at(&self, at: Timestamp) -> Option<OnCall> {
        let t = to_jiff(at);
        let mut on_call = (0..self.definition.layers.len())
            .rev()
            .find_map(|i| self.layer_on_call(i, t).map(|user| OnCall { user, source: OnCallSource::Layer(i) }))
            .or(self.definition.fallback.map(|user| OnCall { user, source: OnCallSource::Fallback }));
        for (i, o) in self.definition.overrides.iter().enumerate() {
            if o.start <= at && at < o.end {
                let applies = match o.replaces {
                    None => true,
                    Some(replaced) => on_call.is_some_and(|c| c.user == replaced),
                };
                if applies {
                    on_call = Some(OnCall { user: o.user, source: OnCallSource::Override(i) });
                }
            }
        }
        on_call
    }

    /// The final schedule from `from` to `to`: consecutive shifts, each with one person on
    /// call (or nobody), merged where the same person stays on call for the same reason.
    pub fn shifts(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Shift>, DomainError> {
        if to <= from {
            return Err(DomainError::invalid("range", "the end of the range must be after its start"));
        }
        if (to - from).num_days() > MAX_RANGE_DAYS {
            return Err(DomainError::invalid("range", format!("at most {MAX_RANGE_DAYS} days at once")));
        }
        let mut edges = vec![from, to];
        let (jfrom, jto) = (to_jiff(from), to_jiff(to));
        for i in 0..self.definition.layers.len() {
            let mut k = self.shift_number(i, jfrom).unwrap_or(0);
            while let Some(h) = self.handoff(i, k) {
                if h >= jto {
                    break;
                }
                edges.push(to_chrono(h));
                k += 1;
            }
            let restrictions = &self.definition.layers[i].restrictions;
            if !restrictions.is_empty() {
                let mut date = jfrom.to_zoned(self.tz.clone()).date().yesterday().unwrap_or(jiff::civil::Date::MIN);
                let last = jto.to_zoned(self.tz.clone()).date();
                while date <= last {
                    for r in restrictions {
                        for time in r.edges_on(date) {
                            if let Ok(z) = date.to_datetime(time).to_zoned(self.tz.clone()) {
                                edges.push(to_chrono(z.timestamp()));
                            }
                        }
                    }
                    let Ok(next) = date.tomorrow() else { break };
                    date = next;
                }
            }
        }
        for o in &self.definition.overrides {
            edges.extend([o.start, o.end]);
        }
        edges.retain(|e| from <= *e && *e <= to);
        edges.sort();
        edges.dedup();
        let mut shifts: Vec<Shift> = Vec::new();
        for pair in edges.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let on_call = self.on_call_at(start);
            match shifts.last_mut() {
                Some(last) if last.on_call == on_call => last.end = end,
                _ => shifts.push(Shift { start, end, on_call }),
            }
        }
        Ok(shifts)
    }
}

#[cfg(test)]
mod tests;
