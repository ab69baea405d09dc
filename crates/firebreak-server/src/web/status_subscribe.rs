//! Status page subscriptions as readers make and end them: the sign-up form's target
//! (`POST /status/{slug}/subscribe`, no sign-in for a public page, so no session CSRF token:
//! a browser's `Origin`/`Referer`, when sent, must be this server), the confirmation link, and
//! the unsubscribe link (a page with a button on `GET`, so link scanners unsubscribe nobody;
//! RFC 8058 one-click on `POST`). Also `/status/pages/{id}`, where messages link to a page.
//! The work is `app::status_pages::subscribers`'s.

use super::{Fields, WebError, WebForm, WebResult, no_store, render};
use crate::AppState;
use crate::app::status_pages::subscribers;
use crate::auth;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/status/{slug}/subscribe", axum::routing::post(create_subscription))
        .route("/status/{slug}/subscribe/confirm/{id}/{token}", get(confirm_subscription))
        .route("/status/unsubscribe/{id}/{token}", get(show_unsubscribe).post(delete_subscription))
        .route("/status/pages/{id}", get(page_by_id))
}

#[derive(Template)]
#[template(path = "status_subscribe.html")]
struct Outcome {
    page_name: String,
    heading: &'static str,
    message: String,
    failed: bool,
    page_url: Option<String>,
    /// Where the unsubscribe button posts.
    button: Option<String>,
}

impl Outcome {
    fn ok(page_name: &str, slug: &str, heading: &'static str, message: impl Into<String>) -> Self {
        Outcome {
            page_name: page_name.to_owned(),
            heading,
            message: message.into(),
            failed: false,
            page_url: Some(format!("/status/{slug}")),
            button: None,
        }
    }

    fn answer(&self, status: StatusCode) -> Response {
        no_store((status, render(self)).into_response())
    }
}

/// A refusal on the reader's side, as a status page (not the app's chrome).
fn refusal(e: ApiError, page_name: &str, slug: Option<&str>) -> Response {
    let heading = match e.status {
        StatusCode::UNAUTHORIZED => "Sign in first",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Refused",
        _ => "That did not work",
    };
    let message = match e.status {
        StatusCode::UNAUTHORIZED => "This status page is private: sign in to subscribe to it.".to_owned(),
        StatusCode::NOT_FOUND => "This link is not valid, or the page does not exist.".to_owned(),
        StatusCode::UNPROCESSABLE_ENTITY => "That is not an email address. Go back and check it.".to_owned(),
        s if s.is_server_error() => "Something went wrong on our side. Try again later.".to_owned(),
        _ => e.message.clone(),
    };
    let page = Outcome {
        page_name: if page_name.is_empty() { "Status".to_owned() } else { page_name.to_owned() },
        heading,
        message,
        failed: true,
        page_url: slug.map(|s| format!("/status/{s}")),
        button: None,
    };
    page.answer(e.status)
}

/// Whether the browser's `Origin` (else `Referer`) names this server: the `Host` the request
/// came to, or the configured public URL. Requests without either (mail clients, curl, some
/// privacy settings) pass; an opaque `null` origin does not.
fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(source) = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)) else {
        return true;
    };
    let Some(url) = source.to_str().ok().and_then(|s| url::Url::parse(s).ok()) else { return false };
    let Some(host) = url.host_str() else { return false };
    let authority = |host: &str, port: Option<u16>| match port {
        Some(p) => format!("{}:{p}", host.to_ascii_lowercase()),
        None => host.to_ascii_lowercase(),
    };
    let claimed = authority(host, url.port());
    let request_host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(|h| {
        let h = h.to_ascii_lowercase();
        let default = if url.scheme() == "https" { ":443" } else { ":80" };
        h.strip_suffix(default).map(str::to_owned).unwrap_or(h)
    });
    let public = state
        .config
        .public_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(|h| authority(h, u.port())));
    request_host.as_deref() == Some(claimed.as_str()) || public.as_deref() == Some(claimed.as_str())
}

/// `POST /status/{slug}/subscribe`: fields `email` and any number of `component` (ids).
async fn create_subscription(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    WebForm(form): WebForm<Fields>,
) -> WebResult<Response> {
    if !same_origin(&headers, &state) {
        return Ok(refusal(
            ApiError::forbidden("This form did not come from this status page. Subscribe on the page itself."),
            "",
            None,
        ));
    }
    let reader = auth::session_principal(&headers, &state).await?;
    match subscribers::subscribe(&state, reader.as_ref(), &slug, &form.one("email"), &form.all("component")).await {
        Ok(page) => Ok(Outcome::ok(
            &page.name,
            &page.slug,
            "Check your inbox",
            "If that address is not subscribed yet, we have sent it a link to confirm the subscription. \
             Nothing is sent until it is confirmed.",
        )
        .answer(StatusCode::OK)),
        Err(e) if e.status.is_client_error() => Ok(refusal(e, "", Some(&slug))),
        Err(e) => Err(WebError::from(e)),
    }
}

/// `GET /status/{slug}/subscribe/confirm/{id}/{token}`: the link of the confirmation email.
async fn confirm_subscription(
    State(state): State<AppState>,
    Path((slug, id, token)): Path<(String, String, String)>,
) -> WebResult<Response> {
    match subscribers::confirm(&state, &slug, &id, &token).await {
        Ok((page, _)) => Ok(Outcome::ok(
            &page.name,
            &page.slug,
            "Subscribed",
            "Your subscription is confirmed: you will get an email when this page posts an update.",
        )
        .answer(StatusCode::OK)),
        Err(e) if e.status.is_client_error() => Ok(refusal(e, "", None)),
        Err(e) => Err(WebError::from(e)),
    }
}

/// `GET /status/unsubscribe/{id}/{token}`: asks before unsubscribing.
async fn show_unsubscribe(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> WebResult<Response> {
    match subscribers::check_unsubscribe(&state, &id, &token).await {
        Ok(Some((_, page))) => Ok(Outcome {
            button: Some(format!("/status/unsubscribe/{id}/{token}")),
            ..Outcome::ok(&page.name, &page.slug, "Unsubscribe?", "You will get no more updates of this page by email.")
        }
        .answer(StatusCode::OK)),
        Ok(None) => Ok(gone()),
        Err(e) if e.status.is_client_error() => Ok(refusal(e, "", None)),
        Err(e) => Err(WebError::from(e)),
    }
}

fn gone() -> Response {
    Outcome {
        page_name: "Status".to_owned(),
        heading: "Unsubscribed",
        message: "This address is not subscribed (any more).".to_owned(),
        failed: false,
        page_url: None,
        button: None,
    }
    .answer(StatusCode::OK)
}

/// `POST /status/unsubscribe/{id}/{token}`: RFC 8058 one-click (`List-Unsubscribe=One-Click`)
/// or the button; the body is not needed, the signed link is the authority.
async fn delete_subscription(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> WebResult<Response> {
    match subscribers::unsubscribe(&state, &id, &token).await {
        Ok(Some(page)) => Ok(Outcome::ok(
            &page.name,
            &page.slug,
            "Unsubscribed",
            "You will get no more updates of this page. You can subscribe again on the page.",
        )
        .answer(StatusCode::OK)),
        Ok(None) => Ok(gone()),
        Err(e) if e.status.is_client_error() => Ok(refusal(e, "", None)),
        Err(e) => Err(WebError::from(e)),
    }
}

/// `GET /status/pages/{id}`: on to the page's own address.
async fn page_by_id(State(state): State<AppState>, Path(id): Path<String>) -> WebResult<Response> {
    let id: uuid::Uuid =
        id.parse().map_err(|_| WebError::new(StatusCode::NOT_FOUND, "There is no such status page."))?;
    match subscribers::page_by_id(&state, id).await {
        Ok(page) => Ok(Redirect::to(&format!("/status/{}", page.slug)).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            Err(WebError::new(StatusCode::NOT_FOUND, "There is no such status page."))
        }
        Err(e) => Err(e.into()),
    }
}
