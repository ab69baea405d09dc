//! On-call schedules: create and change them, ask who is on call (now, at an instant, over a
//! range), and add overrides.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::schedule::{LayerDefinition, OnCallSchedule, OnCallSource, Override, ScheduleDefinition, Shift};
use firebreak_domain::{ScheduleId, Timestamp, UserId};
use firebreak_store::{Schedule, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// How far ahead reachability is checked: people on call now or within this many days.
pub const REACH_DAYS: i64 = 7;

/// Shifts listed when no range is asked for: from now, this many days.
pub const DEFAULT_SHIFT_DAYS: i64 = 14;

/// A schedule as written: name, time zone, layers (lowest first), overrides and fallback.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    #[serde(default)]
    pub layers: Vec<LayerDefinition>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub fallback: Option<UserId>,
}

impl ScheduleBody {
    fn definition(self) -> (String, String, ScheduleDefinition) {
        let definition = ScheduleDefinition {
            time_zone: self.time_zone.trim().to_owned(),
            layers: self.layers,
            overrides: self.overrides,
            fallback: self.fallback,
        };
        (self.name, self.description, definition)
    }
}

/// Who is on call, with their name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnCallView {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// `layer` (with its index, 0 the lowest), `override` (with its index) or `fallback`.
    pub source: OnCallSource,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ScheduleId,
    pub name: String,
    pub description: String,
    #[serde(flatten)]
    pub definition: ScheduleDefinition,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Who is on call right now (`null`: nobody).
    pub on_call_now: Option<OnCallView>,
}

/// The names and addresses of every user, to show who is on call.
pub(crate) async fn directory(state: &AppState) -> ApiResult<HashMap<UserId, (String, String)>> {
    Ok(state.store.list_users().await?.into_iter().map(|u| (u.id, (u.name, u.email.as_str().to_owned()))).collect())
}

/// Who is on call as shown: the user's name and email from `directory` (or "(deleted user)").
pub fn named(directory: &HashMap<UserId, (String, String)>, user: UserId, source: OnCallSource) -> OnCallView {
    let (name, email) = directory.get(&user).cloned().unwrap_or_else(|| ("(deleted user)".into(), String::new()));
    OnCallView { user_id: user, name, email, source }
}

/// The stored schedule, ready to say who is on call; one that no longer parses is a 409.
pub fn parsed(schedule: &Schedule) -> ApiResult<OnCallSchedule> {
    schedule.on_call().map_err(|e| {
        ApiError::new(StatusCode::CONFLICT, "schedule_unusable", format!("the stored schedule cannot be used: {e}"))
    })
}

/// The view of a schedule, with who is on call at `now`.
pub fn view(schedule: Schedule, directory: &HashMap<UserId, (String, String)>, now: Timestamp) -> ScheduleView {
    let on_call_now =
        schedule.on_call().ok().and_then(|s| s.on_call_at(now)).map(|c| named(directory, c.user, c.source));
    ScheduleView {
        id: schedule.id,
        name: schedule.name,
        description: schedule.description,
        definition: schedule.definition,
        created_at: schedule.created_at,
        updated_at: schedule.updated_at,
        on_call_now,
    }
}

/// Everyone a schedule names must be a user; an error says where the stranger is
/// (`layers[1].members`, `overrides`, `fallback`).
fn check_schedule_people(
    definition: &ScheduleDefinition,
    directory: &HashMap<UserId, (String, String)>,
) -> ApiResult<()> {
    for (i, layer) in definition.layers.iter().enumerate() {
        check_people(&layer.members, directory)
            .map_err(|e| ApiError::invalid_at(format!("layers[{i}].members"), e.message))?;
    }
    check_people(definition.overrides.iter().flat_map(Override::people), directory)
        .map_err(|e| ApiError::invalid_at("overrides", e.message))?;
    check_people(&definition.fallback, directory).map_err(|e| ApiError::invalid_at("fallback", e.message))
}

/// A definition as the store will check it, with where a problem is.
fn check_definition(definition: &ScheduleDefinition) -> ApiResult<OnCallSchedule> {
    Ok(OnCallSchedule::check(definition.clone())?)
}

/// A store error of saving a schedule; the one conflict there can be is its name.
fn saving(e: StoreError) -> ApiError {
    let e = ApiError::from(e);
    if e.status == StatusCode::CONFLICT { e.at("name") } else { e }
}

/// Who may create and change schedules and their overrides: responders and admins.
pub fn may_edit_schedules(p: &Principal) -> ApiResult<()> {
    p.require_responder()
}

/// Every person named must be a user.
pub fn check_people<'a>(
    named: impl IntoIterator<Item = &'a UserId>,
    directory: &HashMap<UserId, (String, String)>,
) -> ApiResult<()> {
    match named.into_iter().find(|user| !directory.contains_key(user)) {
        Some(user) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("no user has the id {user}: schedules name existing users"),
        )),
        None => Ok(()),
    }
}

/// Parses a schedule id path segment (a malformed one is not found).
pub fn schedule_id(id: &str) -> ApiResult<ScheduleId> {
    id.parse().map_err(|_| ApiError::not_found("schedule"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    /// The instant to ask about (RFC 3339); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallAnswer {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `null` when nobody is on call then.
    pub on_call: Option<OnCallView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// Start of the range (RFC 3339); default now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<Timestamp>,
    /// End of the range; default 14 days after its start; at most 400 days after it.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftView {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// `null` for a gap nobody covers.
    pub on_call: Option<OnCallView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOnCall {
    #[schema(value_type = String, format = Uuid)]
    pub schedule_id: ScheduleId,
    pub schedule_name: String,
    pub on_call: Option<OnCallView>,
}

/// Creates an on-call schedule (everyone it names must be a user); responders only.
pub async fn create_schedule(state: &AppState, p: &Principal, body: ScheduleBody) -> ApiResult<ScheduleView> {
    may_edit_schedules(p)?;
    let (name, description, definition) = body.definition();
    check_definition(&definition)?;
    let people = directory(state).await?;
    check_schedule_people(&definition, &people)?;
    let schedule = state.store.create_schedule(&name, &description, &definition, &p.actor()).await.map_err(saving)?;
    Ok(view(schedule, &people, state.clock.now()))
}

/// The shifts a schedule as written would give over the next `DEFAULT_SHIFT_DAYS`, checked as
/// creating it checks it (but for its name, which it does not need), without saving anything;
/// responders only.
pub async fn preview_schedule(state: &AppState, p: &Principal, body: ScheduleBody) -> ApiResult<SchedulePreview> {
    may_edit_schedules(p)?;
    let (_, _, definition) = body.definition();
    let schedule = check_definition(&definition)?;
    let people = directory(state).await?;
    check_schedule_people(&definition, &people)?;
    let from = state.clock.now();
    let shifts = shift_views(&schedule, from, from + chrono::Duration::days(DEFAULT_SHIFT_DAYS), &people)?;
    Ok(SchedulePreview { schedule, shifts })
}

/// A schedule not saved, and the shifts it would give.
pub struct SchedulePreview {
    pub schedule: OnCallSchedule,
    pub shifts: Vec<ShiftView>,
}

/// The shifts of `schedule` from `from` to `to`, with names.
fn shift_views(
    schedule: &OnCallSchedule,
    from: Timestamp,
    to: Timestamp,
    people: &HashMap<UserId, (String, String)>,
) -> ApiResult<Vec<ShiftView>> {
    let items = schedule
        .shifts(from, to)?
        .into_iter()
        .map(|Shift { start, end, on_call }| ShiftView {
            start,
            end,
            on_call: on_call.map(|c| named(people, c.user, c.source)),
        })
        .collect();
    Ok(items)
}

/// Every schedule, by name, each with who is on call now.
pub async fn list_schedules(state: &AppState) -> ApiResult<Vec<ScheduleView>> {
    let people = directory(state).await?;
    let now = state.clock.now();
    let items = state.store.list_schedules().await?.into_iter().map(|s| view(s, &people, now)).collect();
    Ok(items)
}

/// The schedule `id`, with who is on call now.
pub async fn get_schedule(state: &AppState, id: String) -> ApiResult<ScheduleView> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    Ok(view(schedule, &directory(state).await?, state.clock.now()))
}

/// Replaces the schedule `id` (everyone it names must be a user); responders only. The API
/// replaces the overrides with the body's; the web form, which does not show them, keeps the
/// ones stored when it saves.
pub async fn update_schedule(
    state: &AppState,
    p: &Principal,
    id: String,
    body: ScheduleBody,
    overrides: firebreak_store::Overrides,
) -> ApiResult<ScheduleView> {
    may_edit_schedules(p)?;
    let id = schedule_id(&id)?;
    let (name, description, definition) = body.definition();
    check_definition(&definition)?;
    let people = directory(state).await?;
    check_schedule_people(&definition, &people)?;
    let schedule = state
        .store
        .update_schedule(id, &name, &description, &definition, overrides, &p.actor())
        .await
        .map_err(saving)?;
    Ok(view(schedule, &people, state.clock.now()))
}

/// Deletes the schedule `id`, with its calendar feeds; responders only.
pub async fn delete_schedule(state: &AppState, p: &Principal, id: String) -> ApiResult<()> {
    may_edit_schedules(p)?;
    state.store.delete_schedule(schedule_id(&id)?, &p.actor()).await?;
    Ok(())
}

/// Who the schedule `id` has on call at `at` (default now).
pub async fn get_on_call(state: &AppState, id: String, q: AtQuery) -> ApiResult<OnCallAnswer> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    let at = q.at.unwrap_or_else(|| state.clock.now());
    let people = directory(state).await?;
    let on_call = parsed(&schedule)?.on_call_at(at).map(|c| named(&people, c.user, c.source));
    Ok(OnCallAnswer { at, on_call })
}

/// The shifts of the schedule `id` from `from` (default now) to `to` (default 14 days on), gaps
/// included.
pub async fn list_shifts(state: &AppState, id: String, q: RangeQuery) -> ApiResult<Vec<ShiftView>> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    let from = q.from.unwrap_or_else(|| state.clock.now());
    let to = q.to.unwrap_or(from + chrono::Duration::days(DEFAULT_SHIFT_DAYS));
    shift_views(&parsed(&schedule)?, from, to, &directory(state).await?)
}

/// Adds an override to the schedule `id` (its people must be users); responders only.
pub async fn create_override(state: &AppState, p: &Principal, id: String, item: Override) -> ApiResult<ScheduleView> {
    may_edit_schedules(p)?;
    let id = schedule_id(&id)?;
    let item = Override {
        start: firebreak_domain::time::truncate(item.start),
        end: firebreak_domain::time::truncate(item.end),
        ..item
    };
    let people = directory(state).await?;
    check_people(item.people(), &people)?;
    let now = state.clock.now();
    let schedule = state.store.add_schedule_override(id, &item, now, &p.actor()).await?;
    Ok(view(schedule, &people, now))
}

/// Who each schedule has on call at `at` (default now).
pub async fn list_on_call(state: &AppState, q: AtQuery) -> ApiResult<Vec<ScheduleOnCall>> {
    let at = q.at.unwrap_or_else(|| state.clock.now());
    let people = directory(state).await?;
    let items = (state.store.list_schedules().await?.into_iter())
        .map(|s| ScheduleOnCall {
            on_call: s.on_call().ok().and_then(|c| c.on_call_at(at)).map(|c| named(&people, c.user, c.source)),
            schedule_id: s.id,
            schedule_name: s.name,
        })
        .collect();
    Ok(items)
}

/// Someone on call now or within `REACH_DAYS` whom a page would not reach.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unreachable {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// The schedules they are on call on in that time, by name.
    pub schedules: Vec<String>,
    /// When their first shift in that time starts (now when on call already).
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// They have no verified contact method: no page can reach them.
    pub no_verified_contact_method: bool,
    /// They have no notification rule: pages are sent nowhere.
    pub no_notification_rule: bool,
}

/// The people on call now or within `REACH_DAYS` (on every schedule, or on `schedule`) whom a
/// page would not reach: no verified contact method, or no notification rule. Earliest first.
pub async fn unreachable(state: &AppState, schedule: Option<ScheduleId>) -> ApiResult<Vec<Unreachable>> {
    if let Some(id) = schedule {
        state.store.get_schedule(id).await?;
    }
    let now = state.clock.now();
    let until = now + chrono::TimeDelta::days(REACH_DAYS);
    let mut on_call: HashMap<UserId, (Timestamp, Vec<String>)> = HashMap::new();
    for stored in state.store.list_schedules().await? {
        if schedule.is_some_and(|id| id != stored.id) {
            continue;
        }
        // A schedule that no longer parses pages nobody; its own page says so.
        let Ok(parsed) = stored.on_call() else { continue };
        for shift in parsed.shifts(now, until)? {
            let Some(c) = shift.on_call else { continue };
            let entry = on_call.entry(c.user).or_insert_with(|| (shift.start.max(now), Vec::new()));
            entry.0 = entry.0.min(shift.start.max(now));
            if !entry.1.contains(&stored.name) {
                entry.1.push(stored.name.clone());
            }
        }
    }
    let people = directory(state).await?;
    let mut out = Vec::new();
    for (user, (from, mut schedules)) in on_call {
        let verified = state.store.list_contact_methods(user).await?.iter().any(|m| m.verified_at.is_some());
        let ruled = !state.store.list_notification_rules(user).await?.is_empty();
        if verified && ruled {
            continue;
        }
        schedules.sort();
        let (name, email) = people.get(&user).cloned().unwrap_or_else(|| ("(deleted user)".into(), String::new()));
        let (no_verified_contact_method, no_notification_rule) = (!verified, !ruled);
        out.push(Unreachable {
            user_id: user,
            name,
            email,
            schedules,
            from,
            no_verified_contact_method,
            no_notification_rule,
        });
    }
    out.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}
