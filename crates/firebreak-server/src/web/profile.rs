//! The profile page: how the signed-in person is paged. Their contact methods (added and
//! deleted with the current password, verified with the code sent to them, tested), their
//! notification rules, the hand-off setting, their personal calendar feeds and the
//! notifications recently sent to them.
//!
//! The forms call the paging and calendar API handlers with the signed-in user, so the UI and
//! the API cannot disagree about what is valid.

use super::catalog::SelectOption;
use super::{Chrome, CsrfOnly, Submitted, WebPrincipal, WebResult, answer, no_store, render, show_time};
use crate::AppState;
use crate::app::paging::{CodeBody, PasswordBody, RuleBody};
use crate::auth::Principal;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::contact::{ContactKind, ContactMethod, MAX_RULE_DELAY_MINUTES};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(profile_page))
        .route("/profile/contact-methods", post(create_contact_method))
        .route("/profile/contact-methods/{id}/verify", post(verify_contact_method))
        .route("/profile/contact-methods/{id}/resend", post(resend_code))
        .route("/profile/contact-methods/{id}/test", post(send_test))
        .route("/profile/contact-methods/{id}/delete", post(delete_contact_method))
        .route("/profile/notification-rules", post(create_rule))
        .route("/profile/notification-rules/{id}/delete", post(delete_rule))
        .route("/profile/handoff", post(set_handoff))
        .route("/profile/calendar-feeds", post(create_feed))
        .route("/profile/calendar-feeds/{id}/delete", post(delete_feed))
}

/// What a redirect back to the profile says happened (`?done=…`).
fn notice_for(done: &str) -> &'static str {
    match done {
        "verified" => "The contact method is verified: pages can reach you there now.",
        "resent" => "A new code is on its way.",
        "tested" => "A test notification is on its way.",
        "deleted" => "The contact method was deleted, with its notification rules.",
        "rule-added" => "The notification rule was added.",
        "rule-deleted" => "The notification rule was deleted.",
        "handoff" => "Your hand-off setting was saved.",
        "feed-deleted" => "The calendar feed was deleted; its address no longer works.",
        _ => "",
    }
}

fn back(done: &str) -> Response {
    Redirect::to(&format!("/profile?done={done}")).into_response()
}

/// A contact method as the profile lists it.
pub struct MethodRow {
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub address: String,
    pub verified: bool,
    pub verified_at: String,
}

/// A kind offered by the add form, with what its address looks like.
pub struct KindOption {
    pub value: &'static str,
    pub hint: &'static str,
    pub selected: bool,
}

/// A notification rule as the profile lists it.
pub struct RuleRow {
    pub id: String,
    pub method: String,
    pub delay_minutes: u32,
}

/// A personal calendar feed (its address is shown only when created).
pub struct FeedRow {
    pub id: String,
    pub created: String,
}

/// A notification sent (or to be sent) to the person.
pub struct NotificationRow {
    pub kind: String,
    pub status: String,
    pub channel: &'static str,
    pub attempts: i64,
    pub last_error: String,
    pub created: String,
}

/// A webhook method's signing secret, shown on the answer to the form that created it only.
pub struct RevealedSecret {
    pub label: String,
    pub secret: String,
}

/// What the add form shows in its fields.
#[derive(Default)]
pub struct AddValues {
    pub kind: String,
    pub label: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    chrome: Chrome,
    methods: Vec<MethodRow>,
    kinds: Vec<KindOption>,
    /// The channels this server cannot send yet, with the configuration an admin adds.
    unavailable: Vec<(&'static str, &'static str)>,
    add: AddValues,
    rules: Vec<RuleRow>,
    verified_methods: Vec<SelectOption>,
    max_delay: u32,
    handoff: bool,
    feeds: Vec<FeedRow>,
    notifications: Vec<NotificationRow>,
    error: String,
    notice: String,
    secret: Option<RevealedSecret>,
    feed_url: String,
}

fn describe_method(m: &ContactMethod) -> String {
    if m.label.is_empty() { format!("{} {}", m.kind, m.address) } else { format!("{} ({})", m.label, m.kind) }
}

async fn profile_view(state: &AppState, p: &Principal) -> WebResult<ProfilePage> {
    let me = p.user.id;
    let methods = state.store.list_contact_methods(me).await?;
    let rules = state.store.list_notification_rules(me).await?;
    let feeds = state.store.list_calendar_feeds(Some(me)).await?;
    let notifications = state.store.list_notifications(None, Some(me), 20).await?;
    let handoff = state.store.handoff_notifications(me).await?;
    let rules = rules
        .into_iter()
        .map(|r| RuleRow {
            id: r.id.to_string(),
            method: methods
                .iter()
                .find(|m| m.id == r.contact_method_id)
                .map(describe_method)
                .unwrap_or_else(|| "(deleted)".into()),
            delay_minutes: r.delay_minutes,
        })
        .collect();
    let verified_methods = methods
        .iter()
        .filter(|m| m.verified_at.is_some())
        .map(|m| SelectOption { value: m.id.to_string(), label: describe_method(m), selected: false })
        .collect();
    let kinds = ContactKind::ALL
        .iter()
        .copied()
        .filter(|k| state.notifier.supports(*k))
        .map(|k| KindOption { value: k.as_str(), hint: k.address_hint(), selected: false })
        .collect();
    let unavailable = ContactKind::ALL
        .iter()
        .filter(|k| !state.notifier.supports(**k))
        .filter_map(|k| crate::notify::config::enable_hint(*k).map(|how| (k.as_str(), how)))
        .collect();
    Ok(ProfilePage {
        unavailable,
        chrome: Chrome::for_user(p, "profile"),
        methods: methods
            .into_iter()
            .map(|m| MethodRow {
                id: m.id.to_string(),
                kind: m.kind.as_str(),
                verified: m.verified_at.is_some(),
                verified_at: m.verified_at.map(|t| show_time(&t)).unwrap_or_default(),
                label: m.label,
                address: m.address,
            })
            .collect(),
        kinds,
        add: AddValues::default(),
        rules,
        verified_methods,
        max_delay: MAX_RULE_DELAY_MINUTES,
        handoff,
        feeds: feeds
            .into_iter()
            .filter(|f| f.user_id == Some(me))
            .map(|f| FeedRow { id: f.id.to_string(), created: show_time(&f.created_at) })
            .collect(),
        notifications: notifications
            .into_iter()
            .map(|n| NotificationRow {
                kind: n.kind,
                status: n.status,
                channel: n.channel.as_str(),
                attempts: n.attempts,
                last_error: n.last_error.unwrap_or_default(),
                created: show_time(&n.created_at),
            })
            .collect(),
        error: String::new(),
        notice: String::new(),
        secret: None,
        feed_url: String::new(),
    })
}

#[derive(Deserialize)]
struct ProfileQuery {
    done: Option<String>,
}

async fn profile_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<ProfileQuery>,
) -> WebResult<Response> {
    let mut page = profile_view(&state, &p).await?;
    page.notice = notice_for(q.done.as_deref().unwrap_or_default()).to_owned();
    Ok(no_store(render(&page)))
}

/// The profile again, with a form's error on it (and, for the add form, what was typed).
async fn again(state: &AppState, p: &Principal, error: String, add: Option<AddValues>) -> WebResult<Response> {
    let mut page = profile_view(state, p).await?;
    page.error = error;
    if let Some(add) = add {
        for k in &mut page.kinds {
            k.selected = k.value == add.kind;
        }
        page.add = add;
    }
    Ok(no_store(render(&page)))
}

/// Answers a profile form that goes back to the profile with the notice `done`.
async fn back_or_again<T>(
    state: &AppState,
    p: &Principal,
    outcome: Result<T, ApiError>,
    done: &str,
) -> WebResult<Response> {
    answer(outcome, async |_| Ok(back(done)), async |error| again(state, p, error, None).await).await
}

// ---------------------------------------------------------------- contact methods

#[derive(Deserialize)]
struct AddMethodForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    current_password: String,
}

async fn create_contact_method(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<AddMethodForm>,
) -> WebResult<Response> {
    let AddMethodForm { kind, label, address, current_password } = form;
    let outcome = async {
        let kind = kind.parse::<ContactKind>()?;
        crate::app::paging::add_contact_method(&state, &p, kind, &address, &label, &current_password).await
    }
    .await;
    let add = AddValues { kind, label, address };
    let done = async |created: crate::app::paging::CreatedContactMethod| {
        let mut page = profile_view(&state, &p).await?;
        page.notice = format!(
            "Added. A code is on its way to {}: enter it below to start receiving pages there.",
            created.method.address
        );
        page.secret = created.secret.map(|secret| RevealedSecret { label: describe_method(&created.method), secret });
        Ok(no_store(render(&page)))
    };
    answer(outcome, done, async |error| again(&state, &p, error, Some(add)).await).await
}

#[derive(Deserialize)]
struct VerifyForm {
    #[serde(default)]
    code: String,
}

async fn verify_contact_method(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<VerifyForm>,
) -> WebResult<Response> {
    let body = CodeBody { code: form.code };
    let outcome = crate::app::paging::verify_contact_method(&state, &p, id, body).await;
    back_or_again(&state, &p, outcome, "verified").await
}

async fn resend_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let outcome = crate::app::paging::resend_code(&state, &p, id).await;
    back_or_again(&state, &p, outcome, "resent").await
}

async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let outcome = crate::app::paging::send_test(&state, &p, id).await;
    back_or_again(&state, &p, outcome, "tested").await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
}

async fn delete_contact_method(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<PasswordForm>,
) -> WebResult<Response> {
    let body = PasswordBody { current_password: form.current_password };
    let outcome = crate::app::paging::delete_contact_method(&state, &p, id, body).await;
    back_or_again(&state, &p, outcome, "deleted").await
}

// ---------------------------------------------------------------- rules and hand-off

#[derive(Deserialize)]
struct RuleForm {
    #[serde(default)]
    contact_method_id: String,
    #[serde(default)]
    delay_minutes: String,
}

impl RuleForm {
    fn body(&self) -> Result<RuleBody, firebreak_domain::DomainError> {
        use firebreak_domain::DomainError;
        let contact_method_id =
            self.contact_method_id.trim().parse().map_err(|_| {
                DomainError::invalid("contact_method_id", "choose one of your verified contact methods")
            })?;
        let delay_minutes = self
            .delay_minutes
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("delay_minutes", format!("0 to {MAX_RULE_DELAY_MINUTES} minutes")))?;
        Ok(RuleBody { contact_method_id, delay_minutes })
    }
}

async fn create_rule(State(state): State<AppState>, Submitted(p, form): Submitted<RuleForm>) -> WebResult<Response> {
    let outcome = async { crate::app::paging::create_notification_rule(&state, &p, form.body()?).await }.await;
    back_or_again(&state, &p, outcome, "rule-added").await
}

async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let outcome = crate::app::paging::delete_notification_rule(&state, &p, id).await;
    back_or_again(&state, &p, outcome, "rule-deleted").await
}

#[derive(Deserialize)]
struct HandoffForm {
    /// A checkbox: present when ticked.
    enabled: Option<String>,
}

async fn set_handoff(State(state): State<AppState>, Submitted(p, form): Submitted<HandoffForm>) -> WebResult<Response> {
    state.store.set_handoff_notifications(p.user.id, form.enabled.is_some(), &p.actor()).await?;
    Ok(back("handoff"))
}

// ---------------------------------------------------------------- calendar feeds

async fn create_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let base = crate::app::catalog::public_base(&state, &headers);
    let outcome = crate::app::calendar::create_my_feed(&state, &p, &base).await;
    let done = async |created: crate::app::calendar::CreatedFeed| {
        let mut page = profile_view(&state, &p).await?;
        page.notice = "Your calendar feed was created. Copy its address now: it is not shown again.".into();
        page.feed_url = created.url;
        Ok(no_store(render(&page)))
    };
    answer(outcome, done, async |error| again(&state, &p, error, None).await).await
}

async fn delete_feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    // Only one's own feeds, here (admins delete others' through the API).
    let own = state.store.list_calendar_feeds(Some(p.user.id)).await?;
    let outcome = if own.iter().any(|f| f.id.to_string() == id) {
        crate::app::calendar::delete_feed(&state, &p, &id).await
    } else {
        Err(ApiError::not_found("calendar feed"))
    };
    back_or_again(&state, &p, outcome, "feed-deleted").await
}

#[cfg(test)]
mod tests {
    use super::notice_for;

    #[test]
    fn unknown_notices_are_empty() {
        assert_eq!(notice_for("nope"), "");
        assert!(!notice_for("verified").is_empty());
    }
}
