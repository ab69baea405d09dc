//! On-call pages: every schedule with who is on call now, and one schedule's layers, fallback
//! and final shifts for the next two weeks in its own time zone, with a form on each shift to
//! put someone else on call for all or part of it; and "my on-call": whether the signed-in
//! person is on call now, their next shifts on every schedule, and the open incidents that
//! paged them.
//!
//! Schedules are created and edited in the form of `schedule_form`. The override form calls
//! the application layer's operation with the signed-in user, as the API does, so the UI and
//! the API cannot disagree about what is valid.

use super::catalog::{SelectOption, or_missing};
use super::{Chrome, Submitted, WebError, WebPrincipal, WebResult, answer, render, see};
use crate::AppState;
use crate::app::oncall::{OnCallView, ScheduleView, ShiftView};
use crate::auth::Principal;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use firebreak_domain::schedule::{
    LayerDefinition, OnCallSchedule, OnCallSource, Override, Restriction, RotationUnit, ScheduleDefinition,
};
use firebreak_domain::{DomainError, ScheduleId, Timestamp, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::SystemTime;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list_schedules))
        .route("/oncall/me", get(my_on_call))
        .route("/admin/reachability", get(reachability))
        .route("/schedules/{id}", get(show_schedule))
        .route("/schedules/{id}/overrides", post(create_override))
}

fn no_such_schedule() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "There is no such schedule.")
}

/// Why someone is on call, in words: `layer 1 “primary”`, `override` or `fallback`.
pub(super) fn describe_source(source: OnCallSource, definition: &ScheduleDefinition) -> String {
    match source {
        OnCallSource::Layer(i) => match definition.layers.get(i) {
            Some(layer) => format!("layer {} “{}”", i + 1, layer.name),
            None => format!("layer {}", i + 1),
        },
        OnCallSource::Override(_) => "override".into(),
        OnCallSource::Fallback => "fallback".into(),
    }
}

/// Who is on call and why, as pages show it; nobody is `("nobody", "")`.
pub(super) fn who_and_why(on_call: Option<&OnCallView>, definition: &ScheduleDefinition) -> (String, String) {
    match on_call {
        Some(c) => (c.name.clone(), describe_source(c.source, definition)),
        None => ("nobody".into(), String::new()),
    }
}

// Time zones: the server does not depend on jiff itself, so it reaches jiff's instants through
// the schedule's zone (whose methods name them) and `SystemTime`, which both crates convert.

/// `t` as wall-clock time in the schedule's zone: `Sun 2026-11-01 09:00 EST`.
pub(super) fn local_time(schedule: &OnCallSchedule, t: Timestamp) -> String {
    let tz = schedule.time_zone();
    match SystemTime::from(t).try_into() {
        Ok(instant) => {
            let local = tz.to_datetime(instant);
            format!("{} {}", local.strftime("%a %Y-%m-%d %H:%M"), tz.to_offset_info(instant).abbreviation())
        }
        Err(_) => super::show_time(&t),
    }
}

/// `t` in the schedule's zone as a `datetime-local` field wants it: `2026-11-01T09:00`.
fn local_field(schedule: &OnCallSchedule, t: Timestamp) -> String {
    SystemTime::from(t)
        .try_into()
        .map(|instant| schedule.time_zone().to_datetime(instant).strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A wall-clock time typed in a form, in the schedule's zone (a time the clocks skip is moved
/// past the gap; one they repeat is taken the first time, as for hand-offs).
fn parse_local(schedule: &OnCallSchedule, field: &'static str, raw: &str) -> Result<Timestamp, DomainError> {
    let invalid = || DomainError::invalid(field, "must be a date and time such as 2026-11-02T09:00");
    let civil = raw.trim().parse().map_err(|_| invalid())?;
    let zoned = schedule.time_zone().to_ambiguous_zoned(civil).compatible().map_err(|_| invalid())?;
    Ok(SystemTime::from(zoned.timestamp()).into())
}

fn describe_rotation(layer: &LayerDefinition) -> String {
    let unit = match layer.rotation_unit {
        RotationUnit::Hours => "hour",
        RotationUnit::Days => "day",
        RotationUnit::Weeks => "week",
    };
    match layer.rotation_length {
        1 => format!("hands off every {unit}"),
        n => format!("hands off every {n} {unit}s"),
    }
}

fn describe_restriction(r: &Restriction) -> String {
    match r {
        Restriction::Daily { start, end } => {
            format!("every day from {} to {}", start.strftime("%H:%M"), end.strftime("%H:%M"))
        }
        Restriction::Weekly { start_day, start, end_day, end } => format!(
            "every week from {start_day:?} {} to {end_day:?} {}",
            start.strftime("%H:%M"),
            end.strftime("%H:%M")
        ),
    }
}

pub(super) fn name_of(names: &HashMap<UserId, String>, id: &UserId) -> String {
    names.get(id).cloned().unwrap_or_else(|| "(deleted user)".into())
}

// ---------------------------------------------------------------- list

/// One schedule as the list shows it.
pub struct ScheduleRow {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub on_call: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "schedules.html")]
struct SchedulesPage {
    chrome: Chrome,
    schedules: Vec<ScheduleRow>,
}

async fn list_schedules(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    let mut views = crate::app::oncall::list_schedules(&state).await?;
    views.sort_by_key(|s| s.name.to_lowercase());
    let schedules = views
        .into_iter()
        .map(|s| {
            let (on_call, why) = who_and_why(s.on_call_now.as_ref(), &s.definition);
            ScheduleRow { id: s.id.to_string(), name: s.name, time_zone: s.definition.time_zone, on_call, why }
        })
        .collect();
    Ok(render(&SchedulesPage { chrome: Chrome::for_user(&p, "schedules"), schedules }))
}

// ---------------------------------------------------------------- one schedule

/// One layer as the schedule page shows it.
pub struct LayerRow {
    pub number: usize,
    pub name: String,
    pub members: Vec<String>,
    pub rotation: String,
    pub starts_at: String,
    pub restrictions: Vec<String>,
}

/// One final shift: its instants (for the override form) and how people read them.
pub struct ShiftRow {
    pub start: String,
    pub end: String,
    pub start_local: String,
    pub end_local: String,
    pub start_field: String,
    pub end_field: String,
    pub on_call: String,
    pub why: String,
}

/// Shifts of `schedule` as the pages show them, in its zone.
pub(super) fn shift_rows(schedule: &OnCallSchedule, shifts: Vec<ShiftView>) -> Vec<ShiftRow> {
    let definition = schedule.definition();
    shifts
        .into_iter()
        .map(|s| {
            let (on_call, why) = who_and_why(s.on_call.as_ref(), definition);
            ShiftRow {
                start: s.start.to_rfc3339(),
                end: s.end.to_rfc3339(),
                start_local: local_time(schedule, s.start),
                end_local: local_time(schedule, s.end),
                start_field: local_field(schedule, s.start),
                end_field: local_field(schedule, s.end),
                on_call,
                why,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    time_zone: String,
    on_call_now: String,
    why_now: String,
    layers: Vec<LayerRow>,
    fallback: String,
    shifts: Vec<ShiftRow>,
    users: Vec<SelectOption>,
    days: i64,
    error: String,
    unreachable: Vec<UnreachableRow>,
    reach_days: i64,
}

/// Someone on call soon whom a page would not reach, as the pages warn of them.
pub struct UnreachableRow {
    pub name: String,
    pub email: String,
    pub schedules: String,
    pub from: String,
    pub why: &'static str,
}

impl From<crate::app::oncall::Unreachable> for UnreachableRow {
    fn from(u: crate::app::oncall::Unreachable) -> Self {
        UnreachableRow {
            why: match (u.no_verified_contact_method, u.no_notification_rule) {
                (true, true) => "no verified contact method and no notification rule",
                (true, false) => "no verified contact method",
                _ => "no notification rule",
            },
            from: super::show_time(&u.from),
            schedules: u.schedules.join(", "),
            name: u.name,
            email: u.email,
        }
    }
}

async fn unreachable_rows(state: &AppState, schedule: Option<ScheduleId>) -> WebResult<Vec<UnreachableRow>> {
    Ok(crate::app::oncall::unreachable(state, schedule).await?.into_iter().map(UnreachableRow::from).collect())
}

#[derive(Template)]
#[template(path = "reachability.html")]
struct ReachabilityPage {
    chrome: Chrome,
    unreachable: Vec<UnreachableRow>,
    reach_days: i64,
}

async fn reachability(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    p.require_admin()?;
    let unreachable = unreachable_rows(&state, None).await?;
    let page = ReachabilityPage {
        chrome: Chrome::for_user(&p, "reachability"),
        unreachable,
        reach_days: crate::app::oncall::REACH_DAYS,
    };
    Ok(render(&page))
}

async fn schedule_view(state: &AppState, p: &Principal, id: &str) -> WebResult<SchedulePage> {
    let api = crate::app::oncall::get_schedule(state, id.into()).await.map_err(|e| or_missing(e, no_such_schedule))?;
    let shifts =
        crate::app::oncall::list_shifts(state, id.into(), crate::app::oncall::RangeQuery { from: None, to: None })
            .await
            .map_err(|e| or_missing(e, no_such_schedule))?;
    let ScheduleView { id, name, description, definition, on_call_now, .. } = api;
    let schedule = OnCallSchedule::parse(definition.clone())?;
    let people = state.store.list_users().await?;
    let names: HashMap<UserId, String> = people.iter().map(|u| (u.id, u.name.clone())).collect();
    let layers = definition
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerRow {
            number: i + 1,
            name: l.name.clone(),
            members: l.members.iter().map(|m| name_of(&names, m)).collect(),
            rotation: describe_rotation(l),
            starts_at: l.starts_at.strftime("%Y-%m-%d %H:%M").to_string(),
            restrictions: l.restrictions.iter().map(describe_restriction).collect(),
        })
        .collect();
    let shifts = shift_rows(&schedule, shifts);
    let mut users: Vec<SelectOption> = people
        .into_iter()
        .filter(|u| !u.disabled)
        .map(|u| SelectOption { value: u.id.to_string(), label: u.name, selected: false })
        .collect();
    users.sort_by_key(|u| u.label.to_lowercase());
    let (on_call_now, why_now) = who_and_why(on_call_now.as_ref(), &definition);
    Ok(SchedulePage {
        chrome: Chrome::for_user(p, "schedules"),
        id: id.to_string(),
        name,
        description,
        time_zone: definition.time_zone.clone(),
        on_call_now,
        why_now,
        layers,
        fallback: definition.fallback.map(|f| name_of(&names, &f)).unwrap_or_default(),
        shifts,
        users,
        days: crate::app::oncall::DEFAULT_SHIFT_DAYS,
        error: String::new(),
        unreachable: unreachable_rows(state, Some(id)).await?,
        reach_days: crate::app::oncall::REACH_DAYS,
    })
}

async fn show_schedule(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    Ok(render(&schedule_view(&state, &p, &id).await?))
}

// ---------------------------------------------------------------- overrides

#[derive(Deserialize)]
struct OverrideForm {
    #[serde(default)]
    user: String,
    /// The shift's instants (RFC 3339).
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    /// Optional wall-clock times in the schedule's zone covering only part of the shift.
    #[serde(default)]
    from_local: String,
    #[serde(default)]
    until_local: String,
}

impl OverrideForm {
    fn item(&self, schedule: &OnCallSchedule) -> Result<Override, DomainError> {
        let user = self.user.trim().parse().map_err(|_| DomainError::invalid("user", "choose who takes the shift"))?;
        let instant = |field: &'static str, raw: &str| {
            chrono::DateTime::parse_from_rfc3339(raw.trim())
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| DomainError::invalid(field, "must be an instant such as 2026-11-02T14:00:00Z"))
        };
        let pick = |field: &'static str, local: &str, whole: &str| match local.trim() {
            "" => instant(field, whole),
            local => parse_local(schedule, field, local),
        };
        let start = pick("start", &self.from_local, &self.start)?;
        let end = pick("end", &self.until_local, &self.end)?;
        if end <= start {
            return Err(DomainError::invalid("end", "the override must end after it starts"));
        }
        Ok(Override { user, replaces: None, start, end })
    }
}

async fn create_override(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<OverrideForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let schedule_id: ScheduleId = id.parse().map_err(|_| no_such_schedule())?;
    let stored = state.store.get_schedule(schedule_id).await.map_err(|e| or_missing(e.into(), no_such_schedule))?;
    let outcome =
        async { crate::app::oncall::create_override(&state, &p, id.clone(), form.item(&stored.on_call()?)?).await }
            .await;
    answer(
        outcome,
        async |_| Ok(see(&format!("/schedules/{schedule_id}"))),
        async |error| Ok(render(&SchedulePage { error, ..schedule_view(&state, &p, &id).await? })),
    )
    .await
}

// ---------------------------------------------------------------- my on-call

/// How far ahead "my on-call" lists shifts.
pub const MY_SHIFT_DAYS: i64 = 14;

/// A schedule the person is on call on now.
pub struct OnCallNowRow {
    pub schedule_id: String,
    pub schedule: String,
    pub why: String,
    pub until: String,
}

/// One of the person's coming shifts, in its schedule's zone.
pub struct MyShiftRow {
    pub schedule_id: String,
    pub schedule: String,
    pub start_local: String,
    pub end_local: String,
    pub why: String,
    start: Timestamp,
}

/// An open incident that paged the person.
pub struct PagedIncidentRow {
    pub label: String,
    pub title: String,
    pub status: String,
    pub severity: String,
    pub paged: String,
}

#[derive(Template)]
#[template(path = "my_oncall.html")]
struct MyOnCallPage {
    chrome: Chrome,
    now: Vec<OnCallNowRow>,
    shifts: Vec<MyShiftRow>,
    days: i64,
    incidents: Vec<PagedIncidentRow>,
}

/// The person's schedules now (where they are on call and until when) and their shifts over
/// the next `MY_SHIFT_DAYS`, each in its schedule's zone.
async fn my_shifts(state: &AppState, me: UserId) -> WebResult<(Vec<OnCallNowRow>, Vec<MyShiftRow>)> {
    let now = state.clock.now();
    let until = now + chrono::TimeDelta::days(MY_SHIFT_DAYS);
    let (mut on_call_now, mut shifts) = (Vec::new(), Vec::new());
    for stored in state.store.list_schedules().await? {
        // A schedule that no longer parses is shown on its own page; here it is skipped.
        let Ok(schedule) = stored.on_call() else { continue };
        let coming = schedule.shifts(now, until)?;
        if let Some(c) = schedule.on_call_at(now).filter(|c| c.user == me) {
            let end = coming.iter().find(|s| s.start <= now && now < s.end).map(|s| s.end);
            on_call_now.push(OnCallNowRow {
                schedule_id: stored.id.to_string(),
                schedule: stored.name.clone(),
                why: describe_source(c.source, &stored.definition),
                until: end.map(|e| local_time(&schedule, e)).unwrap_or_default(),
            });
        }
        for s in coming.into_iter().filter(|s| s.on_call.as_ref().is_some_and(|c| c.user == me)) {
            let why = s.on_call.as_ref().map(|c| describe_source(c.source, &stored.definition)).unwrap_or_default();
            shifts.push(MyShiftRow {
                schedule_id: stored.id.to_string(),
                schedule: stored.name.clone(),
                start_local: local_time(&schedule, s.start),
                end_local: local_time(&schedule, s.end),
                why,
                start: s.start,
            });
        }
    }
    on_call_now.sort_by_key(|r| r.schedule.to_lowercase());
    shifts.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.schedule.cmp(&b.schedule)));
    Ok((on_call_now, shifts))
}

/// The open incidents the person was paged for, newest page first, each once.
async fn paged_incidents(state: &AppState, me: UserId) -> WebResult<Vec<PagedIncidentRow>> {
    let mut incidents = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let pages = state.store.list_notifications(None, Some(me), 200).await?;
    for n in pages.into_iter().filter(|n| n.kind == "page") {
        let Some(id) = n.incident_id.filter(|id| seen.insert(*id)) else { continue };
        let incident = match state.store.get_incident(firebreak_domain::IncidentRef::Id(id)).await {
            Ok(i) => i,
            Err(firebreak_store::StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if incident.status.is_open() {
            incidents.push(PagedIncidentRow {
                label: incident.label(),
                title: incident.title,
                status: incident.status.to_string(),
                severity: incident.severity.to_string(),
                paged: super::show_time(&n.created_at),
            });
        }
    }
    Ok(incidents)
}

async fn my_on_call(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    let (now, shifts) = my_shifts(&state, p.user.id).await?;
    let incidents = paged_incidents(&state, p.user.id).await?;
    let page = MyOnCallPage { chrome: Chrome::for_user(&p, "schedules"), now, shifts, days: MY_SHIFT_DAYS, incidents };
    Ok(render(&page))
}
