//! Signing in and out, and the account page (password change).

use super::{Chrome, CsrfOnly, Submitted, WebForm, WebPrincipal, WebResult, answer, render};
use crate::AppState;
use crate::auth::{self, Credential};
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    next: String,
    email: String,
    error: String,
    notice: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    changed: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/incidents".into(),
    }
}

fn login_response(status: StatusCode, headers: &HeaderMap, state: &AppState, page: LoginPage) -> Response {
    let mut res = (status, render(&page)).into_response();
    let cookie = auth::set_cookie(auth::LOGIN_CSRF_COOKIE, &page.csrf, 3600, auth::is_https(headers, state));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    if let Ok(Some(_)) = auth::session_principal(&headers, &state).await {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let page = LoginPage {
        chrome: Chrome::default(),
        csrf: auth::random_secret(),
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: String::new(),
        notice: if q.changed.is_some() {
            "Your password was changed. Sign in with the new one.".into()
        } else {
            String::new()
        },
    };
    login_response(StatusCode::OK, &headers, &state, page)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    WebForm(form): WebForm<LoginForm>,
) -> WebResult<Response> {
    let cookie_csrf = auth::cookie(&headers, auth::LOGIN_CSRF_COOKIE).unwrap_or("");
    let next = safe_next(form.next.as_deref());
    let again = |status: StatusCode, error: &str| {
        let page = LoginPage {
            chrome: Chrome::default(),
            csrf: auth::random_secret(),
            next: next.clone(),
            email: form.email.clone(),
            error: error.to_owned(),
            notice: String::new(),
        };
        login_response(status, &headers, &state, page)
    };
    if cookie_csrf.is_empty() || !auth::tokens_match(cookie_csrf, &form.csrf) {
        return Ok(again(StatusCode::FORBIDDEN, "The sign-in form expired. Please try again."));
    }
    let (secret, _) = match crate::app::access::sign_in(&state, &form.email, &form.password).await? {
        Ok(session) => session,
        Err(refusal) => return Ok(again(refusal.status(), &refusal.to_string())),
    };
    let secure = auth::is_https(&headers, &state);
    let mut res = Redirect::to(&next).into_response();
    let cookies = [
        auth::set_cookie(auth::SESSION_COOKIE, &secret, state.config.session_ttl.num_seconds(), secure),
        auth::set_cookie(auth::LOGIN_CSRF_COOKIE, "", 0, secure),
    ];
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

fn clear_session(headers: &HeaderMap, state: &AppState, to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(auth::SESSION_COOKIE, "", 0, auth::is_https(headers, state)))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    if let Credential::Session { secret_hash, .. } = &p.credential {
        state.store.delete_session(secret_hash, &p.actor()).await?;
    }
    Ok(clear_session(&headers, &state, "/login"))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    role: String,
    error: String,
}

async fn account_page(WebPrincipal(p): WebPrincipal) -> Response {
    let page = AccountPage {
        chrome: Chrome::for_user(&p, "account"),
        email: p.user.email.to_string(),
        role: p.user.role.to_string(),
        error: String::new(),
    };
    render(&page)
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Submitted(p, form): Submitted<PasswordForm>,
) -> WebResult<Response> {
    let again = async |error: String| {
        let page = AccountPage {
            chrome: Chrome::for_user(&p, "account"),
            email: p.user.email.to_string(),
            role: p.user.role.to_string(),
            error,
        };
        Ok(render(&page))
    };
    let outcome = if form.new_password != form.confirm_password {
        Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "The new passwords do not match."))
    } else {
        crate::app::access::change_password(&state, &p.user, &p.actor(), &form.current_password, &form.new_password)
            .await
    };
    answer(outcome, async |()| Ok(clear_session(&headers, &state, "/login?changed=1")), again).await
}
