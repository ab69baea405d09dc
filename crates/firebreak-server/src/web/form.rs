//! What every form of the web UI shares: reading a submitted form (signed in, with the session's
//! CSRF token), and answering it — on to the next page when the operation worked, or the same
//! page again with the error and the values that were typed.

use super::{WebError, WebPrincipal, WebResult};
use crate::AppState;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// `axum::Form`, with bad bodies shown as an error page. For the forms read before anyone is
/// signed in (sign-in); every other form is a [`Submitted`].
pub struct WebForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| WebForm(f.0))
            .map_err(|r| WebError::new(r.status(), format!("The form could not be read: {}", r.body_text())))
    }
}

/// A form posted by the signed-in user: signed-out visitors are sent to sign in, a form whose
/// `csrf` field does not match the session's token is refused (403) before anything in it is
/// read, and a body that does not fit `T` is an error page (422).
pub struct Submitted<T>(pub Principal, pub T);

/// The token every form carries; the other fields are `T`'s.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form with nothing but its CSRF token (plain buttons).
#[derive(Deserialize)]
pub struct CsrfOnly {}

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let WebPrincipal(p) = WebPrincipal::from_request_parts(&mut parts, state).await?;
        let RawForm(bytes) = RawForm::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|r| WebError::new(r.status(), format!("The form could not be read: {}", r.body_text())))?;
        let token = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|f| f.csrf).unwrap_or_default();
        let ok = match &p.credential {
            auth::Credential::Session { csrf, .. } => auth::tokens_match(csrf, &token),
            auth::Credential::Token(_) => false,
        };
        if !ok {
            return Err(WebError::new(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from Firebreak. Go back, reload the page and try again.",
            ));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("The form could not be read: {e}")))?;
        Ok(Submitted(p, form))
    }
}

/// A client error is shown on the form's own page, with what was typed; anything else
/// becomes an error page.
pub fn form_error(e: ApiError) -> Result<ApiError, WebError> {
    if e.status.is_client_error() { Ok(e) } else { Err(e.into()) }
}

/// A "not found" from a form's operation is an error page saying `message` (the thing the
/// form is about is gone), not an error to show on the form.
pub fn unless_missing<T>(outcome: Result<T, ApiError>, message: &str) -> WebResult<Result<T, ApiError>> {
    match outcome {
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(WebError::new(StatusCode::NOT_FOUND, message)),
        other => Ok(other),
    }
}

/// The browser goes on to `to` (303 See Other, so a reload does not post again).
pub fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Answers a submitted form from what its operation came to: `done` makes the answer of a
/// success (usually to [`see`] the next page); a client error shows the page `again` renders
/// with the error's message (it fills in what was typed), under the error's status; any other
/// error is an error page.
pub async fn answer<T, R: IntoResponse>(
    outcome: Result<T, ApiError>,
    done: impl AsyncFnOnce(T) -> WebResult<Response>,
    again: impl AsyncFnOnce(String) -> WebResult<R>,
) -> WebResult<Response> {
    match outcome {
        Ok(v) => done(v).await,
        Err(e) => {
            let e = form_error(e)?;
            Ok((e.status, again(e.message).await?).into_response())
        }
    }
}
