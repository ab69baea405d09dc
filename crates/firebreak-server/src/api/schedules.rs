//! On-call schedules: create and change them, ask who is on call (now, at an instant, over a
//! range), and add overrides.

use crate::AppState;
use crate::api::ItemsBody;
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use firebreak_domain::schedule::{LayerDefinition, OnCallSchedule, OnCallSource, Override, ScheduleDefinition, Shift};
use firebreak_domain::{ScheduleId, Timestamp, UserId};
use firebreak_store::Schedule;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Shifts listed when no range is asked for: from now, this many days.
pub const DEFAULT_SHIFT_DAYS: i64 = 14;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list_schedules).post(create_schedule))
        .route("/schedules/{id}", get(get_schedule).put(update_schedule).delete(delete_schedule))
        .route("/schedules/{id}/on-call", get(get_on_call))
        .route("/schedules/{id}/shifts", get(list_shifts))
        .route("/schedules/{id}/overrides", post(create_override))
        .route("/oncall", get(list_on_call))
}

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

fn named(directory: &HashMap<UserId, (String, String)>, user: UserId, source: OnCallSource) -> OnCallView {
    let (name, email) = directory.get(&user).cloned().unwrap_or_else(|| ("(deleted user)".into(), String::new()));
    OnCallView { user_id: user, name, email, source }
}

fn parsed(schedule: &Schedule) -> ApiResult<OnCallSchedule> {
    schedule.on_call().map_err(|e| {
        ApiError::new(StatusCode::CONFLICT, "schedule_unusable", format!("the stored schedule cannot be used: {e}"))
    })
}

fn view(schedule: Schedule, directory: &HashMap<UserId, (String, String)>, now: Timestamp) -> ScheduleView {
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

/// Every person named must be a user.
fn check_people<'a>(
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

fn schedule_id(id: &str) -> ApiResult<ScheduleId> {
    id.parse().map_err(|_| ApiError::not_found("schedule"))
}

#[utoipa::path(post, path = "/api/v1/schedules", tag = "on-call", request_body = ScheduleBody,
    responses((status = 201, body = ScheduleView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_schedule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    p.require_responder()?;
    let (name, description, definition) = body.definition();
    let people = directory(&state).await?;
    check_people(definition.people(), &people)?;
    let schedule = state.store.create_schedule(&name, &description, &definition, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(view(schedule, &people, state.clock.now()))))
}

#[utoipa::path(get, path = "/api/v1/schedules", tag = "on-call", responses((status = 200, body = ItemsBody<ScheduleView>)))]
pub async fn list_schedules(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<ScheduleView>>> {
    let people = directory(&state).await?;
    let now = state.clock.now();
    let items = state.store.list_schedules().await?.into_iter().map(|s| view(s, &people, now)).collect();
    Ok(Json(ItemsBody { items }))
}

#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ScheduleView>> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    Ok(Json(view(schedule, &directory(&state).await?, state.clock.now())))
}

#[utoipa::path(put, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    request_body = ScheduleBody,
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_schedule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<Json<ScheduleView>> {
    p.require_responder()?;
    let id = schedule_id(&id)?;
    let (name, description, definition) = body.definition();
    let people = directory(&state).await?;
    check_people(definition.people(), &people)?;
    let schedule = state.store.update_schedule(id, &name, &description, &definition, &p.actor()).await?;
    Ok(Json(view(schedule, &people, state.clock.now())))
}

#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_schedule(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    p.require_responder()?;
    state.store.delete_schedule(schedule_id(&id)?, &p.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
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

#[utoipa::path(get, path = "/api/v1/schedules/{id}/on-call", tag = "on-call",
    params(("id" = String, Path, format = Uuid), AtQuery),
    responses((status = 200, body = OnCallAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_on_call(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<OnCallAnswer>> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    let at = q.at.unwrap_or_else(|| state.clock.now());
    let people = directory(&state).await?;
    let on_call = parsed(&schedule)?.on_call_at(at).map(|c| named(&people, c.user, c.source));
    Ok(Json(OnCallAnswer { at, on_call }))
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

#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", tag = "on-call",
    params(("id" = String, Path, format = Uuid), RangeQuery),
    responses((status = 200, body = ItemsBody<ShiftView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_shifts(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<ItemsBody<ShiftView>>> {
    let schedule = state.store.get_schedule(schedule_id(&id)?).await?;
    let from = q.from.unwrap_or_else(|| state.clock.now());
    let to = q.to.unwrap_or(from + chrono::Duration::days(DEFAULT_SHIFT_DAYS));
    let people = directory(&state).await?;
    let items = parsed(&schedule)?
        .shifts(from, to)?
        .into_iter()
        .map(|Shift { start, end, on_call }| ShiftView {
            start,
            end,
            on_call: on_call.map(|c| named(&people, c.user, c.source)),
        })
        .collect();
    Ok(Json(ItemsBody { items }))
}

#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", tag = "on-call",
    params(("id" = String, Path, format = Uuid)), request_body = Override,
    responses((status = 201, body = ScheduleView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_override(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(item): ApiJson<Override>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    p.require_responder()?;
    let id = schedule_id(&id)?;
    let item = Override {
        start: firebreak_domain::time::truncate(item.start),
        end: firebreak_domain::time::truncate(item.end),
        ..item
    };
    let people = directory(&state).await?;
    check_people(item.people(), &people)?;
    let now = state.clock.now();
    let schedule = state.store.add_schedule_override(id, &item, now, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(view(schedule, &people, now))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOnCall {
    #[schema(value_type = String, format = Uuid)]
    pub schedule_id: ScheduleId,
    pub schedule_name: String,
    pub on_call: Option<OnCallView>,
}

#[utoipa::path(get, path = "/api/v1/oncall", tag = "on-call", params(AtQuery),
    responses((status = 200, body = ItemsBody<ScheduleOnCall>)))]
pub async fn list_on_call(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<ItemsBody<ScheduleOnCall>>> {
    let at = q.at.unwrap_or_else(|| state.clock.now());
    let people = directory(&state).await?;
    let items = (state.store.list_schedules().await?.into_iter())
        .map(|s| ScheduleOnCall {
            on_call: s.on_call().ok().and_then(|c| c.on_call_at(at)).map(|c| named(&people, c.user, c.source)),
            schedule_id: s.id,
            schedule_name: s.name,
        })
        .collect();
    Ok(Json(ItemsBody { items }))
}
