//! Who is calling: password hashing (argon2id), API tokens and session secrets (random,
//! stored only as SHA-256), sign-in throttling, CSRF tokens, and the extractors that turn a
//! request into an authenticated [`Principal`].

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use chrono::TimeDelta;
use firebreak_domain::{Actor, Timestamp, TokenId, UserRole, Via};
use firebreak_store::{Credentials, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "fb_session";
/// Name of the pre-sign-in CSRF cookie (double submit on the sign-in form).
pub const LOGIN_CSRF_COOKIE: &str = "fb_login_csrf";
/// Prefix of API token secrets, so they are recognisable in secret scanners.
pub const TOKEN_PREFIX: &str = "fbk_";
/// Failed sign-ins allowed before throttling starts.
pub const FREE_FAILURES: i64 = 5;

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| ApiError::internal())
}

/// Checks a password against a stored hash; `None` (no password set) never matches but
/// costs the same time, as does an unknown account.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    // A hash of a random string, so unknown users take as long as known ones.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password(&random_secret()).unwrap_or_default());
    let target = stored.unwrap_or(dummy);
    let Ok(parsed) = PasswordHash::new(target) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && stored.is_some()
}

/// A new random secret: 32 bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token secret.
pub fn new_token_secret() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

/// A readable generated password.
pub fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How secrets (tokens, session ids) are stored: SHA-256, hex. They are high-entropy, so a
/// slow hash adds nothing.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from the session secret, which only the browser has.
pub fn csrf_for_session(session_secret: &str) -> String {
    hex::encode(Sha256::digest(format!("csrf:{session_secret}").as_bytes()))
}

/// Constant-time comparison of two tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// How long an account must wait after `failed` failures, the last at `last`.
pub fn throttle_remaining(creds: &Credentials, now: Timestamp) -> Option<TimeDelta> {
    let over = creds.failed_logins - FREE_FAILURES;
    if over < 0 {
        return None;
    }
    let last = creds.last_failed_login_at?;
    let wait_secs = (30i64 << over.min(5)).min(15 * 60);
    let until = last + TimeDelta::seconds(wait_secs);
    (until > now).then(|| until - now)
}

/// The value of a cookie in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the client reached us over HTTPS (directly or through a proxy that says so).
pub fn is_https(headers: &HeaderMap, state: &AppState) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value with the attributes every Firebreak cookie carries.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub via: Via,
    pub credential: Credential,
}

#[derive(Debug, Clone)]
pub enum Credential {
    Token(TokenId),
    /// A browser session; carries its secret's hash and its CSRF token.
    Session {
        secret_hash: String,
        csrf: String,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.id, self.user.name.clone(), self.via)
    }

    pub fn role(&self) -> UserRole {
        self.user.role
    }

    /// Refuses viewers.
    pub fn require_responder(&self) -> Result<(), ApiError> {
        if self.user.role.can_respond() {
            Ok(())
        } else {
            Err(ApiError::forbidden("viewers have read-only access; ask an admin for the responder role"))
        }
    }

    /// Refuses everyone but admins.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role.can_administer() { Ok(()) } else { Err(ApiError::forbidden("only admins may do this")) }
    }
}

/// The caller of a JSON API route, authenticated by `Authorization: Bearer <token>`.
pub struct ApiPrincipal(pub Principal);

impl FromRequestParts<AppState> for ApiPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthorized)?;
        // The scheme name is case-insensitive (RFC 9110, section 11.1).
        let secret = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret.trim())
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or_else(ApiError::unauthorized)?;
        let found = state.store.token_user(&secret_hash(secret), state.clock.now()).await?;
        let (user, token_id) = found.ok_or_else(ApiError::unauthorized)?;
        let cli = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("firebreak-cli/"));
        let via = if cli { Via::Cli } else { Via::Api };
        Ok(ApiPrincipal(Principal { user, via, credential: Credential::Token(token_id) }))
    }
}

/// The signed-in user of a web page, from the session cookie; `None` when signed out.
pub async fn session_principal(headers: &HeaderMap, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE).filter(|s| !s.is_empty() && s.len() <= 128) else {
        return Ok(None);
    };
    let hash = secret_hash(secret);
    let user = state.store.session_user(&hash, state.clock.now()).await?;
    Ok(user.map(|user| Principal {
        user,
        via: Via::Web,
        credential: Credential::Session { secret_hash: hash, csrf: csrf_for_session(secret) },
    }))
}

/// A new integration key: 32 lowercase hex characters (128 random bits), the shape
/// PagerDuty routing keys have, which some clients check.
pub fn new_integration_key() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
