//! Who may do what: the caller (`/me`), and for admins: users, API tokens and the audit log.

use crate::AppState;
use crate::auth::{self, Principal};
use crate::error::{ApiError, ApiResult};
use crate::views::ListBody;
use axum::http::StatusCode;
use firebreak_domain::user::{check_new_password, parse_name};
use firebreak_domain::{Actor, AuditEntry, DomainError, Email, Timestamp, TokenId, UserId, UserRole, Via};
use firebreak_store::{ApiToken, NewUser, User, UserUpdate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub disabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email.to_string(),
            name: u.name,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    #[schema(value_type = String, format = Uuid)]
    pub id: TokenId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            user_id: t.user_id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Checks that `current` is the user's password (for changes that need it again: the
/// password itself, contact details).
pub async fn confirm_password(state: &AppState, user: &User, current: &str) -> ApiResult<()> {
    let creds = state.store.credentials(&user.email).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let (current, stored) = (current.to_owned(), creds.password_hash.clone());
    let ok =
        tokio::task::spawn_blocking(move || auth::verify_password(&current, stored.as_deref())).await.unwrap_or(false);
    if ok { Ok(()) } else { Err(ApiError::forbidden("the current password is wrong")) }
}

/// Why a sign-in was refused. Wrong email and wrong password read the same, so the form does
/// not tell who has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    WrongCredentials,
    /// Too many failures lately: try again after this many seconds.
    Throttled {
        seconds: i64,
    },
}

impl SignInRefusal {
    pub fn status(self) -> StatusCode {
        match self {
            SignInRefusal::WrongCredentials => StatusCode::UNAUTHORIZED,
            SignInRefusal::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl std::fmt::Display for SignInRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignInRefusal::WrongCredentials => f.write_str("Wrong email or password."),
            SignInRefusal::Throttled { seconds } => {
                write!(f, "Too many failed sign-ins. Try again in {seconds} seconds.")
            }
        }
    }
}

/// Signs a person in with their email and password: a new session's secret (for the cookie;
/// only its hash is stored) and the user, or why not. A wrong password counts towards the
/// throttle; while throttled, not even the right one is tried.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
) -> ApiResult<Result<(String, User), SignInRefusal>> {
    let Ok(email) = email.parse::<Email>() else { return Ok(Err(SignInRefusal::WrongCredentials)) };
    let creds = state.store.credentials(&email).await?;
    let now = state.clock.now();
    if let Some(wait) = creds.as_ref().and_then(|c| auth::throttle_remaining(c, now)) {
        return Ok(Err(SignInRefusal::Throttled { seconds: wait.num_seconds().max(1) }));
    }
    let stored = creds.as_ref().and_then(|c| c.password_hash.clone());
    let password = password.to_owned();
    let ok =
        tokio::task::spawn_blocking(move || auth::verify_password(&password, stored.as_deref())).await.unwrap_or(false);
    let user = match (creds, ok) {
        (Some(c), true) if !c.user.disabled => c.user,
        (Some(c), _) => {
            let actor = Actor::system(format!("sign-in attempt as {}", c.user.email), Via::Web);
            state.store.record_login_failure(c.user.id, now, &actor).await?;
            return Ok(Err(SignInRefusal::WrongCredentials));
        }
        (None, _) => return Ok(Err(SignInRefusal::WrongCredentials)),
    };
    let secret = auth::random_secret();
    let actor = Actor::user(user.id, user.name.clone(), Via::Web);
    state.store.create_session(&auth::secret_hash(&secret), user.id, now + state.config.session_ttl, &actor).await?;
    Ok(Ok((secret, user)))
}

/// Checks the current password, sets the new one, and ends every session of the user.
pub async fn change_password(
    state: &AppState,
    user: &User,
    actor: &firebreak_domain::Actor,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    confirm_password(state, user, current).await?;
    check_new_password(new)?;
    let new = new.to_owned();
    let hash =
        tokio::task::spawn_blocking(move || auth::hash_password(&new)).await.map_err(|_| ApiError::internal())??;
    state.store.set_password(user.id, &hash, actor).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub role: UserRole,
    /// At least 12 characters; omit to have one generated and returned once.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// The generated password, when none was given. Shown only now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

/// Validates and creates an account, hashing the password (generated when absent).
pub async fn create_account(
    store: &firebreak_store::DynStore,
    actor: &firebreak_domain::Actor,
    email: &str,
    name: &str,
    role: UserRole,
    password: Option<String>,
) -> ApiResult<(User, Option<String>)> {
    let email: Email = email.parse()?;
    let name = parse_name(name)?;
    let (password, generated) = match password {
        Some(p) => {
            check_new_password(&p)?;
            (p, None)
        }
        None => {
            let p = auth::generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())??;
    let user = store.create_user(NewUser { email, name, role, password_hash: Some(hash) }, actor).await?;
    Ok((user, generated))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<UserRole>,
    /// Disabling signs the user out everywhere and stops their tokens.
    pub disabled: Option<bool>,
}

/// Applies an admin's change to an account; admins cannot demote or disable themselves, so
/// an installation never loses its last way in by accident.
pub async fn apply_user_update(
    state: &AppState,
    by: &User,
    actor: &firebreak_domain::Actor,
    id: UserId,
    body: UpdateUser,
) -> ApiResult<User> {
    if id == by.id && (body.role.is_some_and(|r| r != UserRole::Admin) || body.disabled == Some(true)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "you cannot demote or disable your own account; ask another admin",
        ));
    }
    let name = body.name.as_deref().map(parse_name).transpose()?;
    Ok(state.store.update_user(id, UserUpdate { name, role: body.role, disabled: body.disabled }, actor).await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// Only this user's tokens.
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. `ci-deploys`.
    pub name: String,
    /// Whose token it is; defaults to the caller.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// The secret, shown only now. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Validates a token name.
pub fn parse_token_name(name: &str) -> Result<String, DomainError> {
    parse_name(name).map_err(|_| DomainError::invalid("name", "must be one line of 1 to 100 characters"))
}

/// Creates a token and returns it with its secret (which is stored only hashed).
pub async fn issue_token(
    store: &firebreak_store::DynStore,
    actor: &firebreak_domain::Actor,
    user_id: UserId,
    name: &str,
) -> ApiResult<(ApiToken, String)> {
    let name = parse_token_name(name)?;
    let secret = auth::new_token_secret();
    let token = store.create_token(user_id, &name, &auth::secret_hash(&secret), actor).await?;
    Ok((token, secret))
}

/// Changes the caller's own password (the current one is required) and ends all their sessions.
pub async fn change_my_password(state: &AppState, p: &Principal, body: PasswordChange) -> ApiResult<()> {
    change_password(state, &p.user, &p.actor(), &body.current_password, &body.new_password).await?;
    Ok(())
}

/// Every user account; admins only.
pub async fn list_users(state: &AppState, p: &Principal) -> ApiResult<Vec<UserView>> {
    p.require_admin()?;
    Ok(state.store.list_users().await?.into_iter().map(Into::into).collect())
}

/// Creates an account, with its generated password shown once when none was given; admins only.
pub async fn create_user(state: &AppState, p: &Principal, body: CreateUser) -> ApiResult<CreatedUser> {
    p.require_admin()?;
    let (user, generated_password) =
        create_account(&state.store, &p.actor(), &body.email, &body.name, body.role, body.password).await?;
    Ok(CreatedUser { user: user.into(), generated_password })
}

/// Renames, changes the role of, or disables the user `id`; admins only. Demoting or disabling
/// oneself is refused (409).
pub async fn update_user(state: &AppState, p: &Principal, id: String, body: UpdateUser) -> ApiResult<UserView> {
    p.require_admin()?;
    let id: UserId = id.parse().map_err(|_| ApiError::not_found("user"))?;
    Ok(apply_user_update(state, &p.user, &p.actor(), id, body).await?.into())
}

/// The API tokens of one user (`user_id`) or of everyone; admins only.
pub async fn list_tokens(state: &AppState, p: &Principal, q: TokenQuery) -> ApiResult<Vec<TokenView>> {
    p.require_admin()?;
    let user = q
        .user_id
        .as_deref()
        .map(|s| s.parse::<UserId>().map_err(|_| ApiError::bad_request("invalid_query", "user_id: not a user id")))
        .transpose()?;
    Ok(state.store.list_tokens(user).await?.into_iter().map(Into::into).collect())
}

/// Issues an API token for the user named (default the caller), its secret shown once; admins only.
pub async fn create_token(state: &AppState, p: &Principal, body: CreateToken) -> ApiResult<CreatedToken> {
    p.require_admin()?;
    let (token, secret) = issue_token(&state.store, &p.actor(), body.user_id.unwrap_or(p.user.id), &body.name).await?;
    Ok(CreatedToken { token: token.into(), secret })
}

/// Revokes the API token `id`, which stops working at once; admins only.
pub async fn revoke_token(state: &AppState, p: &Principal, id: String) -> ApiResult<TokenView> {
    p.require_admin()?;
    let id: TokenId = id.parse().map_err(|_| ApiError::not_found("token"))?;
    Ok(state.store.revoke_token(id, &p.actor()).await?.into())
}

// ---------------------------------------------------------------- the audit log

/// Which page of the audit log to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first; for admins.
pub async fn list_audit(state: &AppState, p: &Principal, q: AuditQuery) -> ApiResult<ListBody<AuditEntry>> {
    p.require_admin()?;
    let before = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<i64>().map_err(|_| ApiError::bad_request("invalid_query", "cursor: not a cursor this API issued"))
        })
        .transpose()?;
    let limit = firebreak_store::page_limit(q.limit.unwrap_or(50));
    let items = state.store.recent_audit(before, limit).await?;
    let next_cursor = match items.last() {
        // A full page has a next one only if something older exists; the last page has no cursor.
        Some(last) if items.len() == limit as usize => {
            let older = state.store.recent_audit(Some(last.content.seq), 1).await?;
            (!older.is_empty()).then(|| last.content.seq.to_string())
        }
        _ => None,
    };
    Ok(ListBody { items, next_cursor })
}
