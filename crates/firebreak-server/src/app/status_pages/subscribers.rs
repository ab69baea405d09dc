//! Status page subscribers: email addresses (double opt-in by a signed link) and webhooks,
//! and the messages they get when an update is published, sent through the stakeholder outbox.
//! Links are signed with a key derived from the server's link secret (one per purpose:
//! `confirm`, `unsubscribe`); they do not expire, and an unsubscribe link stops working only
//! when the subscriber is gone. Addresses are personal data: only admins see them.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use firebreak_domain::contact::ContactKind;
use firebreak_domain::{Actor, DomainError, Timestamp, Via};
use firebreak_store::{StatusNotice, StatusPage, StatusSubscriber, StatusUpdate, SubscriberMessage};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use utoipa::ToSchema;

/// What a signed link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
}

impl Purpose {
    fn word(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// The subscribers' signing key: HMAC-SHA256 of a fixed label under the server's link secret,
/// so these links and the incident one-click links never sign each other's text.
fn derive_key(link_secret: &str) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(link_secret.as_bytes()).expect("HMAC takes keys of any length");
    m.update(b"firebreak-status-subscribers-v1");
    m.finalize().into_bytes().to_vec()
}

fn mac(key: &[u8], purpose: Purpose, id: uuid::Uuid) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(format!("{}:{id}", purpose.word()).as_bytes());
    m
}

/// The token of a link: base64url (no padding) of HMAC-SHA256(key, `{purpose}:{id}`).
pub fn token(key: &[u8], purpose: Purpose, id: uuid::Uuid) -> String {
    B64URL.encode(mac(key, purpose, id).finalize().into_bytes())
}

/// Whether `token` signs `id` for `purpose` (in constant time).
pub fn token_matches(key: &[u8], purpose: Purpose, id: uuid::Uuid, token: &str) -> bool {
    let Ok(sig) = B64URL.decode(token.as_bytes()) else { return false };
    mac(key, purpose, id).verify_slice(&sig).is_ok()
}

/// Loads the server's link secret (once per process), so that [`message_for`] can sign
/// unsubscribe links. Call it before publishing; the engine and the subscribe routes do.
pub async fn ready(state: &AppState) -> ApiResult<()> {
    state.link_secret().await.map(|_| ()).map_err(ApiError::from)
}

async fn key(state: &AppState) -> ApiResult<Vec<u8>> {
    Ok(derive_key(state.link_secret().await?))
}

/// The page address readers are sent to from a message (it redirects to `/status/{slug}`,
/// which the notice does not carry).
pub fn page_link(base: &str, page: uuid::Uuid) -> String {
    format!("{base}/status/pages/{page}")
}

/// The signed one-click unsubscribe link of a subscriber.
pub fn unsubscribe_link(base: &str, key: &[u8], subscriber: uuid::Uuid) -> String {
    format!("{base}/status/unsubscribe/{subscriber}/{}", token(key, Purpose::Unsubscribe, subscriber))
}

/// The signed link that confirms an email subscription.
pub fn confirm_link(base: &str, key: &[u8], slug: &str, subscriber: uuid::Uuid) -> String {
    format!("{base}/status/{slug}/subscribe/confirm/{subscriber}/{}", token(key, Purpose::Confirm, subscriber))
}

/// Writes what a subscriber gets when `update` of `notice` is published: the subject is the
/// notice's title and status, the body the update with a link to the page, and for email a
/// signed unsubscribe link (also sent as `List-Unsubscribe`). The key must be loaded
/// ([`ready`]); should it not be yet, emails go without an unsubscribe link (and a warning).
pub fn message_for(
    state: &AppState,
) -> impl Fn(&StatusNotice, &StatusUpdate, &StatusSubscriber) -> Option<SubscriberMessage> + Send + Sync + use<> {
    let base = state.public_base().trim_end_matches('/').to_owned();
    let secret = Arc::clone(&state.link_secret);
    move |notice, update, subscriber| {
        let key = secret.get().map(|s| derive_key(s));
        let unsubscribe_url = match (&key, subscriber.kind.as_str()) {
            (Some(k), "email") => Some(unsubscribe_link(&base, k, subscriber.id)),
            (None, "email") => {
                tracing::warn!("the link secret is not loaded; a subscriber's email goes without an unsubscribe link");
                None
            }
            _ => None,
        };
        let title = one_line(&notice.title);
        let mut body = format!(
            "{}\n\n{}: {}\n\nThe status page: {}\n",
            update.body.trim_end(),
            title,
            update.status.label(),
            page_link(&base, notice.page_id)
        );
        if let Some(url) = &unsubscribe_url {
            body.push_str(&format!("\nYou get this because you subscribed to this status page. Unsubscribe: {url}\n"));
        }
        Some(SubscriberMessage { subject: format!("{title}: {}", update.status.label()), body, unsubscribe_url })
    }
}

fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Who signs up from a page: a signed-in user, or an anonymous reader.
fn reader_actor(reader: Option<&Principal>) -> Actor {
    reader.map(Principal::actor).unwrap_or_else(|| Actor::system("status page reader", Via::Web))
}

fn parse_components(raw: &[String]) -> ApiResult<Vec<uuid::Uuid>> {
    let mut out = Vec::new();
    for r in raw.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let id: uuid::Uuid =
            r.parse().map_err(|_| DomainError::invalid("components", "the page has no such component"))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Signs `email` up for updates of page `slug` (about `components`, or all when none): the
/// page must be readable by `reader` (a private page needs a signed-in reader: 401). A new or
/// still unconfirmed address gets a confirmation email with a signed link; a confirmed one
/// gets nothing. The answer is the same either way, so nobody learns who is subscribed.
pub async fn subscribe(
    state: &AppState,
    reader: Option<&Principal>,
    slug: &str,
    email: &str,
    components: &[String],
) -> ApiResult<StatusPage> {
    let page = state.store.status_page(slug).await?;
    // As `status_pages::read`: anyone for a public page, signed-in users for a private one.
    if !page.public && reader.is_none() {
        return Err(ApiError::unauthorized());
    }
    let email = ContactKind::Email
        .parse_address(email)
        .map_err(|_| ApiError::invalid_at("email", "expected an email address like name@example.com"))?;
    let components = parse_components(components)?;
    let key = key(state).await?;
    let s = state
        .store
        .add_status_subscriber(page.id, "email", &email, &components, None, false, &reader_actor(reader))
        .await?;
    if s.confirmed_at.is_none() {
        state.store.queue_subscriber_message(&s, confirmation(state, &key, &page, &s)).await?;
    }
    Ok(page)
}

fn confirmation(state: &AppState, key: &[u8], page: &StatusPage, s: &StatusSubscriber) -> SubscriberMessage {
    let base = state.public_base().trim_end_matches('/');
    let name = one_line(&page.name);
    SubscriberMessage {
        subject: format!("Confirm your subscription to {name}"),
        body: format!(
            "Someone, hopefully you, asked for updates of the status page {name} to be sent to {}.\n\n\
             Confirm the subscription: {}\n\n\
             If it was not you, ignore this message: nothing more will be sent.\n",
            s.address,
            confirm_link(base, key, &page.slug, s.id)
        ),
        unsubscribe_url: None,
    }
}

fn parse_id(id: &str) -> ApiResult<uuid::Uuid> {
    id.parse().map_err(|_| ApiError::not_found("subscriber"))
}

/// Confirms an email subscription by its signed link; a wrong token, or a link of another
/// page, is a 404 and changes nothing.
pub async fn confirm(state: &AppState, slug: &str, id: &str, token: &str) -> ApiResult<(StatusPage, StatusSubscriber)> {
    let id = parse_id(id)?;
    if !token_matches(&key(state).await?, Purpose::Confirm, id, token) {
        return Err(ApiError::not_found("subscriber"));
    }
    let page = state.store.status_page(slug).await?;
    let s = state.store.status_subscriber(id).await?;
    if s.page_id != page.id {
        return Err(ApiError::not_found("subscriber"));
    }
    let s = state.store.confirm_status_subscriber(id, &Actor::system("subscriber", Via::Link)).await?;
    Ok((page, s))
}

/// Checks an unsubscribe link: 404 for a wrong token; `None` when the subscriber is gone
/// already (unsubscribing twice is no error), else the subscriber and its page.
pub async fn check_unsubscribe(
    state: &AppState,
    id: &str,
    token: &str,
) -> ApiResult<Option<(StatusSubscriber, StatusPage)>> {
    let id = parse_id(id)?;
    if !token_matches(&key(state).await?, Purpose::Unsubscribe, id, token) {
        return Err(ApiError::not_found("subscriber"));
    }
    let s = match state.store.status_subscriber(id).await {
        Ok(s) => s,
        Err(firebreak_store::StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let page = page_by_id(state, s.page_id).await?;
    Ok(Some((s, page)))
}

/// Unsubscribes by the signed link: the subscriber and the messages still queued for them
/// are deleted. Returns the page they were subscribed to (`None`: gone already).
pub async fn unsubscribe(state: &AppState, id: &str, token: &str) -> ApiResult<Option<StatusPage>> {
    let Some((s, page)) = check_unsubscribe(state, id, token).await? else { return Ok(None) };
    match state.store.delete_status_subscriber(s.id, &Actor::system("subscriber", Via::Link)).await {
        Ok(()) | Err(firebreak_store::StoreError::NotFound(_)) => Ok(Some(page)),
        Err(e) => Err(e.into()),
    }
}

/// A page by its id.
pub async fn page_by_id(state: &AppState, id: uuid::Uuid) -> ApiResult<StatusPage> {
    state
        .store
        .list_status_pages()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found("status page"))
}

// ---------------------------------------------------------------- administration

/// A subscriber as admins see it (the address is personal data; the secret is never shown
/// again after creation).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubscriberView {
    pub id: uuid::Uuid,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    /// The components they hear about; empty: all.
    pub components: Vec<uuid::Uuid>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<StatusSubscriber> for SubscriberView {
    fn from(s: StatusSubscriber) -> Self {
        SubscriberView {
            id: s.id,
            kind: s.kind,
            address: s.address,
            components: s.component_ids,
            confirmed_at: s.confirmed_at,
            created_at: s.created_at,
        }
    }
}

/// A subscriber an admin adds: a webhook (confirmed at once; its signing secret is in the
/// answer, once) or an email address (sent the same confirmation as a reader's sign-up).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewSubscriber {
    Webhook {
        /// An `http(s)` URL that receives signed JSON.
        url: String,
        #[serde(default)]
        components: Vec<String>,
    },
    Email {
        email: String,
        #[serde(default)]
        components: Vec<String>,
    },
}

/// The answer to adding a subscriber.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSubscriber {
    pub subscriber: SubscriberView,
    /// A webhook's signing secret (`whsec_…`): shown only now.
    pub secret: Option<String>,
}

/// The page's subscribers; admins only.
pub async fn list(state: &AppState, p: &Principal, slug: &str) -> ApiResult<Vec<SubscriberView>> {
    p.require_admin()?;
    let page = state.store.status_page(slug).await?;
    Ok(state.store.list_status_subscribers(page.id).await?.into_iter().map(SubscriberView::from).collect())
}

/// Adds a subscriber; admins only. A webhook URL is checked as webhook contact methods' are,
/// and by the outbound guard (no internal IP literals unless the server allows them).
pub async fn add(state: &AppState, p: &Principal, slug: &str, new: NewSubscriber) -> ApiResult<CreatedSubscriber> {
    p.require_admin()?;
    let page = state.store.status_page(slug).await?;
    match new {
        NewSubscriber::Webhook { url, components } => {
            let url = ContactKind::Webhook
                .parse_address(&url)
                .map_err(|_| ApiError::invalid_at("url", ContactKind::Webhook.address_hint()))?;
            crate::notify::guard::check_url(&url, state.config.notify.allow_private_addresses)
                .map_err(|e| ApiError::invalid_at("url", e.reason))?;
            let components = parse_components(&components)?;
            let secret = crate::notify::webhook::new_secret();
            let existing = state.store.list_status_subscribers(page.id).await?;
            if existing.iter().any(|s| s.kind == "webhook" && s.address == url) {
                return Err(firebreak_store::StoreError::Conflict("this webhook is subscribed already".into()).into());
            }
            let s = state
                .store
                .add_status_subscriber(page.id, "webhook", &url, &components, Some(&secret), true, &p.actor())
                .await?;
            Ok(CreatedSubscriber { subscriber: s.into(), secret: Some(secret) })
        }
        NewSubscriber::Email { email, components } => {
            let email = ContactKind::Email
                .parse_address(&email)
                .map_err(|_| ApiError::invalid_at("email", "expected an email address like name@example.com"))?;
            let components = parse_components(&components)?;
            let key = key(state).await?;
            let s = state
                .store
                .add_status_subscriber(page.id, "email", &email, &components, None, false, &p.actor())
                .await?;
            if s.confirmed_at.is_none() {
                state.store.queue_subscriber_message(&s, confirmation(state, &key, &page, &s)).await?;
            }
            Ok(CreatedSubscriber { subscriber: s.into(), secret: None })
        }
    }
}

/// Removes a subscriber of the page (and their queued messages); admins only.
pub async fn remove(state: &AppState, p: &Principal, slug: &str, id: &str) -> ApiResult<()> {
    p.require_admin()?;
    let page = state.store.status_page(slug).await?;
    let id = parse_id(id)?;
    let s = state.store.status_subscriber(id).await?;
    if s.page_id != page.id {
        return Err(ApiError::not_found("subscriber"));
    }
    state.store.delete_status_subscriber(id, &p.actor()).await?;
    Ok(())
}
