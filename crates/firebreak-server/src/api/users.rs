//! The caller (`/me`), and for admins: users and API tokens.

use super::Ctx;
use crate::AppState;
use crate::api::ItemsBody;
use crate::app::access::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(get_me))
        .route("/me/password", post(change_my_password))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", patch(update_user))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn get_me(ApiPrincipal(p): ApiPrincipal) -> Json<UserView> {
    Json(p.user.into())
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "users", request_body = PasswordChange,
    responses((status = 204, description = "changed; every web session of the user is signed out"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_my_password(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    access::change_my_password(&state, &p, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = ItemsBody<UserView>), (status = 403, body = ErrorBody)))]
pub async fn list_users(Ctx { state, p }: Ctx) -> ApiResult<Json<ItemsBody<UserView>>> {
    Ok(Json(ItemsBody { items: access::list_users(&state, &p).await? }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    Ok((StatusCode::CREATED, Json(access::create_user(&state, &p, body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_user(
    Ctx { state, p }: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(access::update_user(&state, &p, id, body).await?))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery),
    responses((status = 200, body = ItemsBody<TokenView>), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    Ctx { state, p }: Ctx,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> ApiResult<Json<ItemsBody<TokenView>>> {
    Ok(Json(ItemsBody { items: access::list_tokens(&state, &p, q).await? }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_token(
    Ctx { state, p }: Ctx,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    Ok((StatusCode::CREATED, Json(access::create_token(&state, &p, body).await?)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TokenView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(Ctx { state, p }: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<TokenView>> {
    Ok(Json(access::revoke_token(&state, &p, id).await?))
}
