//! The one HTTP error type of the JSON API, rendered as the documented envelope
//! `{"error":{"code":"…","message":"…"}}`, and extractor wrappers that turn malformed input
//! into that same envelope.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_domain::{DomainError, Fault};
use firebreak_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An API error: a status, a stable snake_case code and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Where in the input the problem is, when it is one field: its name (`time_zone`) or a
    /// path (`layers[1].members`). Not in the JSON envelope (the message says it); the web
    /// forms show the error at that field.
    pub field: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `not_found`, `invalid_transition`, `validation_failed`, …
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None }
    }

    /// A 422 `validation_failed` about the input at `field` (a name or a path such as
    /// `layers[1].members`), which the message names first.
    pub fn invalid_at(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", format!("{field}: {message}")).at(field)
    }

    /// The same error, about the input at `field`.
    pub fn at(self, field: impl Into<String>) -> Self {
        ApiError { field: Some(field.into()), ..self }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid credentials: send `Authorization: Bearer <token>` (create one with `firebreak admin create-token`)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the server log has details")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidTransition { .. } => {
                Self::new(StatusCode::CONFLICT, "invalid_transition", e.to_string())
            }
            DomainError::Invalid { field, .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", e.to_string()).at(field)
            }
        }
    }
}

impl From<Fault> for ApiError {
    fn from(f: Fault) -> Self {
        let e = ApiError::from(f.error);
        if f.path.is_empty() { e } else { e.at(f.path) }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Domain(d) => d.into(),
            StoreError::Backend(m) => {
                // Logged once, by the request-logging middleware, with the request span.
                tracing::error!(error = %m, "store failure");
                Self::internal()
            }
        }
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`).
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence
        .split_once('/')
        .is_some_and(|(kind, subtype)| kind == "application" && (subtype == "json" || subtype.ends_with("+json")))
}

/// `axum::Json`, but bad bodies answer with the API error envelope: 415 without a JSON content
/// type, 413 over [`crate::BODY_LIMIT`], 400 `malformed_json` when the body is not JSON, and 422
/// `invalid_body` when it is JSON but not the expected object.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body is larger than the 1 MiB limit",
            ),
            _ => ApiError::bad_request("malformed_json", r.body_text()),
        })?;
        // Syntax is judged on its own first: serde_json reports some type errors (a number
        // where an enum word belongs) as syntax errors, and a typed parse stops at the first
        // unknown field before it would see that the rest is not JSON at all.
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the body must be a JSON object",
            ));
        }
        axum::Json::<T>::from_bytes(&bytes)
            .map(|j| ApiJson(j.0))
            .map_err(|r| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", r.body_text()))
    }
}

/// An optional JSON body: a request without a `Content-Type` has none; one with a body is
/// read as [`ApiJson`] reads it.
impl<S, T> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if req.headers().get(axum::http::header::CONTENT_TYPE).is_none() {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state).await.map(Some)
    }
}

/// `axum::extract::Path`, but a segment that cannot be read (not UTF-8) answers 404 with the
/// API error envelope, like any other id that names nothing.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(ApiPath(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("nothing at this address: {}", e.body_text()),
            )),
            Err(e) => {
                // A route whose pattern does not match its extractor: a bug here, not bad input.
                tracing::error!(error = %e.body_text(), "path extraction failed");
                Err(ApiError::internal())
            }
        }
    }
}

/// `axum::extract::Query`, but bad query strings answer with the API error envelope.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r: QueryRejection| ApiError::bad_request("invalid_query", r.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
