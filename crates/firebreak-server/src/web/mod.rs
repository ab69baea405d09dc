//! The server-rendered web UI: sign-in, incidents (list, declare, work, live timeline),
//! services and their integrations, heartbeats, webhook mappings and checks, alerts,
//! classification rules and maintenance windows, on-call schedules (who is on call, shifts,
//! overrides, my on-call, and the form that creates and edits them), escalation policies (list,
//! page, form, the plan), the profile (contact methods, notification rules, calendar
//! feeds), account, and the admin pages for users and tokens. Pages work without JavaScript; a
//! small script adds live timeline updates over Server-Sent Events and confirmations before
//! destructive buttons. Every form carries a CSRF token bound to the session.

mod account;
mod admin;
mod catalog;
mod form;
pub(crate) mod incidents;
mod investigation;

mod monitoring;
mod oncall;
mod policies;
mod procedure_files;
mod procedures;
mod profile;
pub(crate) mod respond;
mod review;
mod schedule_form;
mod status_admin;
mod status_feeds;
mod status_pages;
mod status_publish;
pub use status_pages::custom_domains as status_custom_domains;
mod status_subscribe;
mod triage;

use crate::AppState;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use firebreak_domain::Timestamp;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .merge(account::router())
        .merge(incidents::router())
        .merge(admin::router())
        .merge(catalog::router())
        .merge(triage::router())
        .merge(monitoring::router())
        .merge(oncall::router())
        .merge(schedule_form::router())
        .merge(policies::router())
        .merge(procedures::router())
        .merge(investigation::router())
        .merge(procedure_files::router())
        .merge(profile::router())
        .merge(status_pages::router())
        .merge(status_publish::router())
        .merge(status_subscribe::router())
        .merge(status_admin::router())
        .merge(review::router())
        .fallback(|| async { WebError::new(StatusCode::NOT_FOUND, "There is no page at this address.") })
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../static/app.js"),
    )
        .into_response()
}

/// What every page's frame shows: who is signed in, and the CSRF token for its forms.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub user_name: String,
    pub is_admin: bool,
    pub can_respond: bool,
    pub csrf: String,
    pub signed_in: bool,
    /// Which nav entry is current.
    pub section: &'static str,
}

impl Chrome {
    pub fn for_user(p: &Principal, section: &'static str) -> Self {
        let csrf = match &p.credential {
            auth::Credential::Session { csrf, .. } => csrf.clone(),
            auth::Credential::Token(_) => String::new(),
        };
        Chrome {
            user_name: p.user.name.clone(),
            is_admin: p.user.role.can_administer(),
            can_respond: p.user.role.can_respond(),
            csrf,
            signed_in: true,
            section,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    message: String,
}

/// Why a page could not be shown: not signed in (go sign in), or an error to show.
#[derive(Debug)]
pub enum WebError {
    SignIn { next: String },
    Page { status: StatusCode, message: String },
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        WebError::Page { status, message: message.into() }
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Page { status: e.status, message: e.message }
    }
}

impl From<firebreak_store::StoreError> for WebError {
    fn from(e: firebreak_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<firebreak_domain::DomainError> for WebError {
    fn from(e: firebreak_domain::DomainError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next } => {
                let next = if next.starts_with('/') && !next.starts_with("//") { next } else { "/incidents".into() };
                Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
            }
            WebError::Page { status, message } => {
                let page = ErrorPage { chrome: Chrome::default(), status: status.as_u16(), message };
                (status, render(&page)).into_response()
            }
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;

pub use form::{
    ChoiceGroup, CsrfOnly, Fields, FormHead, PickRow, Problem, Submitted, WebForm, answer, answer_at, blank_rows,
    form_error, move_up, people_choices, pick_rows, see, unless_missing,
};

/// Renders a template; a template failure is a server error (logged by the middleware).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page with a secret, an address or live state on it is not to be kept by caches.
pub fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    res
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A time as pages show it.
pub fn show_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `operations lead` → `Operations lead`: labels are in sentence case.
pub fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A duration as lists show an age: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h` (negative
/// durations, from clocks apart, count as none).
pub fn show_age(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// The signed-in user of a page; signed-out visitors are sent to the sign-in page.
pub struct WebPrincipal(pub Principal);

impl FromRequestParts<AppState> for WebPrincipal {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match auth::session_principal(&parts.headers, state).await? {
            Some(p) => Ok(WebPrincipal(p)),
            None => {
                let next = if parts.method == axum::http::Method::GET {
                    parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default()
                } else {
                    "/incidents".into()
                };
                Err(WebError::SignIn { next })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::show_age;
    use chrono::TimeDelta;

    #[test]
    fn labels_are_in_sentence_case() {
        assert_eq!(super::sentence("operations lead"), "Operations lead");
        assert_eq!(super::sentence("élan"), "Élan");
        assert_eq!(super::sentence(""), "");
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(show_age(TimeDelta::seconds(45)), "45 s");
        assert_eq!(show_age(TimeDelta::seconds(12 * 60 + 59)), "12 min");
        assert_eq!(show_age(TimeDelta::minutes(3 * 60 + 5)), "3 h 5 min");
        assert_eq!(show_age(TimeDelta::hours(52)), "2 d 4 h");
        assert_eq!(show_age(TimeDelta::seconds(-30)), "0 s", "a clock ahead counts as none");
    }
}
