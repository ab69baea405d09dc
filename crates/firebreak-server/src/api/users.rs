//! The caller (`/me`), and for admins: users and API tokens.

use crate::AppState;
use crate::api::ItemsBody;
use crate::app::access::{self, *};
use crate::auth::ApiPrincipal;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use axum::extract::State;
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
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    access::change_my_password(&state, &p, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = ItemsBody<UserView>), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<UserView>>> {
    let v = access::list_users(&state, &p).await?;
    Ok(Json(ItemsBody { items: v }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<CreatedUser>)> {
    let v = access::create_user(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserView>> {
    let v = access::update_user(&state, &p, id, body).await?;
    Ok(Json(v))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery),
    responses((status = 200, body = ItemsBody<TokenView>), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> ApiResult<Json<ItemsBody<TokenView>>> {
    let v = access::list_tokens(&state, &p, q).await?;
    Ok(Json(ItemsBody { items: v }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let v = access::create_token(&state, &p, body).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TokenView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TokenView>> {
    let v = access::revoke_token(&state, &p, id).await?;
    Ok(Json(v))
}
