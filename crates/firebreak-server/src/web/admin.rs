//! Admin pages: users (create, change role, disable) and API tokens (create, revoke).
//! Secrets (generated passwords, token secrets) are shown once, on the page that answers the
//! form that created them.

use super::{Chrome, Submitted, WebPrincipal, WebResult, answer, render, show_time};
use crate::AppState;
use crate::app::access::{UpdateUser, apply_user_update, create_account, issue_token};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::{TokenId, UserId, UserRole};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_page).post(create_user))
        .route("/admin/users/{id}", post(update_user))
        .route("/admin/tokens", get(tokens_page).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
}

pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub disabled: bool,
    pub created: String,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    error: String,
    created_email: String,
    generated_password: String,
}

async fn users_view(state: &AppState, p: &crate::auth::Principal) -> WebResult<UsersPage> {
    let users = state.store.list_users().await?;
    Ok(UsersPage {
        chrome: Chrome::for_user(p, "users"),
        users: users
            .into_iter()
            .map(|u| UserRow {
                id: u.id.to_string(),
                email: u.email.to_string(),
                name: u.name,
                role: u.role.as_str(),
                disabled: u.disabled,
                created: show_time(&u.created_at),
                is_me: u.id == p.user.id,
            })
            .collect(),
        roles: UserRole::ALL.iter().map(|r| r.as_str()).collect(),
        error: String::new(),
        created_email: String::new(),
        generated_password: String::new(),
    })
}

async fn users_page(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    p.require_admin()?;
    Ok(render(&users_view(&state, &p).await?))
}

#[derive(Deserialize)]
struct CreateUserForm {
    email: String,
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

async fn create_user(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<CreateUserForm>,
) -> WebResult<Response> {
    p.require_admin()?;
    let role: UserRole = form.role.parse()?;
    let password = Some(form.password.clone()).filter(|s| !s.is_empty());
    let outcome = create_account(&state.store, &p.actor(), &form.email, &form.name, role, password).await;
    let done = async |(user, generated): (firebreak_store::User, Option<String>)| {
        let page = users_view(&state, &p).await?;
        let page = UsersPage {
            created_email: user.email.to_string(),
            generated_password: generated.unwrap_or_default(),
            ..page
        };
        Ok((StatusCode::CREATED, render(&page)).into_response())
    };
    answer(outcome, done, async |error| Ok(render(&UsersPage { error, ..users_view(&state, &p).await? }))).await
}

#[derive(Deserialize)]
struct UpdateUserForm {
    role: String,
    #[serde(default)]
    disabled: Option<String>,
}

async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<UpdateUserForm>,
) -> WebResult<Response> {
    p.require_admin()?;
    let id: UserId = id.parse().map_err(|_| super::WebError::new(StatusCode::NOT_FOUND, "There is no such user."))?;
    let update = UpdateUser { name: None, role: Some(form.role.parse()?), disabled: Some(form.disabled.is_some()) };
    apply_user_update(&state, &p.user, &p.actor(), id, update).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    people: Vec<(String, String)>,
    error: String,
    new_secret: String,
    new_name: String,
}

async fn tokens_view(state: &AppState, p: &crate::auth::Principal) -> WebResult<TokensPage> {
    let users = state.store.list_users().await?;
    let owner = |id: UserId| users.iter().find(|u| u.id == id).map(|u| u.email.to_string()).unwrap_or_default();
    let tokens = state.store.list_tokens(None).await?;
    Ok(TokensPage {
        chrome: Chrome::for_user(p, "tokens"),
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                owner: owner(t.user_id),
                name: t.name,
                created: show_time(&t.created_at),
                last_used: t.last_used_at.map(|t| show_time(&t)).unwrap_or_else(|| "never".into()),
                revoked: t.revoked_at.map(|t| show_time(&t)).unwrap_or_default(),
            })
            .collect(),
        people: users.iter().filter(|u| !u.disabled).map(|u| (u.id.to_string(), u.email.to_string())).collect(),
        error: String::new(),
        new_secret: String::new(),
        new_name: String::new(),
    })
}

async fn tokens_page(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    p.require_admin()?;
    Ok(render(&tokens_view(&state, &p).await?))
}

#[derive(Deserialize)]
struct CreateTokenForm {
    name: String,
    user_id: String,
}

async fn create_token(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<CreateTokenForm>,
) -> WebResult<Response> {
    p.require_admin()?;
    let user_id: UserId = form
        .user_id
        .parse()
        .map_err(|_| super::WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Pick a user from the list."))?;
    let outcome = issue_token(&state.store, &p.actor(), user_id, &form.name).await;
    let done = async |(token, new_secret): (firebreak_store::ApiToken, String)| {
        let page = TokensPage { new_secret, new_name: token.name, ..tokens_view(&state, &p).await? };
        Ok(super::no_store((StatusCode::CREATED, render(&page)).into_response()))
    };
    answer(outcome, done, async |error| Ok(render(&TokensPage { error, ..tokens_view(&state, &p).await? }))).await
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<super::CsrfOnly>,
) -> WebResult<Response> {
    p.require_admin()?;
    let id: TokenId = id.parse().map_err(|_| super::WebError::new(StatusCode::NOT_FOUND, "There is no such token."))?;
    state.store.revoke_token(id, &p.actor()).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}
