//! On-call schedules: create and change them, ask who is on call (now, at an instant, over a
//! range), and add overrides.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::oncall::{self, *};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use firebreak_domain::schedule::Override;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules", get(list_schedules).post(create_schedule))
        .route("/schedules/{id}", get(get_schedule).put(update_schedule).delete(delete_schedule))
        .route("/schedules/{id}/on-call", get(get_on_call))
        .route("/schedules/{id}/shifts", get(list_shifts))
        .route("/schedules/{id}/overrides", post(create_override))
        .route("/oncall", get(list_on_call))
        .route("/oncall/unreachable", get(list_unreachable))
}

#[utoipa::path(post, path = "/api/v1/schedules", tag = "on-call", request_body = ScheduleBody,
    responses((status = 201, body = ScheduleView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_schedule(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    Ok((StatusCode::CREATED, Json(oncall::create_schedule(&state, &p, body).await?)))
}

#[utoipa::path(get, path = "/api/v1/schedules", tag = "on-call", responses((status = 200, body = ItemsBody<ScheduleView>)))]
pub async fn list_schedules(Ctx { state, .. }: Ctx) -> ApiResult<Json<ItemsBody<ScheduleView>>> {
    Ok(Json(ItemsBody { items: oncall::list_schedules(&state).await? }))
}

#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(Ctx { state, .. }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(oncall::get_schedule(&state, id).await?))
}

#[utoipa::path(put, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    request_body = ScheduleBody,
    responses((status = 200, body = ScheduleView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_schedule(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> ApiResult<Json<ScheduleView>> {
    Ok(Json(oncall::update_schedule(&state, &p, id, body, firebreak_store::Overrides::Replace).await?))
}

#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "on-call", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_schedule(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    oncall::delete_schedule(&state, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/schedules/{id}/on-call", tag = "on-call",
    params(("id" = String, Path, format = Uuid), AtQuery),
    responses((status = 200, body = OnCallAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_on_call(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<OnCallAnswer>> {
    Ok(Json(oncall::get_on_call(&state, id, q).await?))
}

#[utoipa::path(get, path = "/api/v1/schedules/{id}/shifts", tag = "on-call",
    params(("id" = String, Path, format = Uuid), RangeQuery),
    responses((status = 200, body = ItemsBody<ShiftView>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_shifts(
    Ctx { state, .. }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<ItemsBody<ShiftView>>> {
    Ok(Json(ItemsBody { items: oncall::list_shifts(&state, id, q).await? }))
}

#[utoipa::path(post, path = "/api/v1/schedules/{id}/overrides", tag = "on-call",
    params(("id" = String, Path, format = Uuid)), request_body = Override,
    responses((status = 201, body = ScheduleView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_override(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(item): ApiJson<Override>,
) -> ApiResult<(StatusCode, Json<ScheduleView>)> {
    Ok((StatusCode::CREATED, Json(oncall::create_override(&state, &p, id, item).await?)))
}

#[utoipa::path(get, path = "/api/v1/oncall", tag = "on-call", params(AtQuery),
    responses((status = 200, body = ItemsBody<ScheduleOnCall>)))]
pub async fn list_on_call(
    Ctx { state, .. }: Ctx,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<ItemsBody<ScheduleOnCall>>> {
    Ok(Json(ItemsBody { items: oncall::list_on_call(&state, q).await? }))
}

/// Which schedule the reachability check looks at.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnreachableQuery {
    /// One schedule's id; every schedule when omitted.
    pub schedule: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/oncall/unreachable", tag = "on-call", params(UnreachableQuery),
    responses((status = 200, body = ItemsBody<Unreachable>, description = "people on call now or in the next 7 days whom a page would not reach"),
        (status = 404, body = ErrorBody)))]
pub async fn list_unreachable(
    Ctx { state, .. }: Ctx,
    ApiQuery(q): ApiQuery<UnreachableQuery>,
) -> ApiResult<Json<ItemsBody<Unreachable>>> {
    let schedule = q.schedule.as_deref().map(oncall::schedule_id).transpose()?;
    Ok(Json(ItemsBody { items: oncall::unreachable(&state, schedule).await? }))
}
