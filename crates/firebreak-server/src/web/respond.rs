//! Acknowledge or resolve from anywhere: the signed one-click links in every message (a page
//! that asks once, so link scanners that fetch it change nothing), SMS replies through the
//! provider's inbound webhook, and Slack and Telegram buttons. Every callback is checked (the
//! provider's signature or secret token) and remembered, so an unsigned or replayed one
//! changes nothing.

use crate::AppState;
use crate::app::links::{self, LinkAction, LinkError};
use crate::app::respond::{act_as, act_on_numbers, parse_reply};
use crate::error::ApiError;
use crate::notify::{chat, twilio};
use crate::web::{Chrome, WebError, WebResult, render};
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use firebreak_domain::contact::ContactKind;
use firebreak_domain::{IncidentRef, Via};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/a/{token}", get(show_link).post(use_link))
        .route("/hooks/twilio/sms", post(twilio_sms))
        .route("/hooks/slack/actions", post(slack_action))
        .route("/hooks/telegram", post(telegram_update))
}

/// Why a callback was refused: said plainly to the caller, nothing changed.
fn refuse(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}

/// The URL a provider called, as it signed it.
fn public_url(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.public_base())
}

/// Twilio's inbound SMS webhook: a reply `ACK 42` or `RES 42` from a verified number.
async fn twilio_sms(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let tokens: Vec<&str> = [&state.config.notify.twilio, &state.config.notify.twilio_fallback]
        .into_iter()
        .flatten()
        .map(|t| t.auth_token.expose())
        .collect();
    if tokens.is_empty() {
        return refuse(StatusCode::NOT_FOUND, "SMS replies are not configured on this server");
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let url = public_url(&state, "/hooks/twilio/sms");
    if !tokens.iter().any(|t| twilio::verify_twilio_signature(t, &url, &params, signature)) {
        return refuse(StatusCode::FORBIDDEN, "bad signature");
    }
    let field = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or_default();
    let (sid, from, text) = (field("MessageSid"), field("From"), field("Body"));
    if sid.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "no MessageSid");
    }
    match state.store.remember_nonce(&format!("twilio:{sid}"), state.clock.now()).await {
        Ok(true) => {}
        Ok(false) => return refuse(StatusCode::CONFLICT, "this message was handled already"),
        Err(e) => return ApiError::from(e).into_response(),
    }
    let reply = match (parse_reply(text), state.store.contact_owner(ContactKind::Sms, from).await) {
        (_, Err(e)) => return ApiError::from(e).into_response(),
        (_, Ok(None)) => "This number is not a verified Firebreak contact.".to_owned(),
        (None, _) => "Reply ACK 42 to acknowledge or RES 42 to resolve incident 42.".to_owned(),
        (Some((action, numbers)), Ok(Some(user))) => act_on_numbers(&state, user.id, action, &numbers, Via::Sms).await,
    };
    let twiml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
        xml_escape(&reply)
    );
    ([(header::CONTENT_TYPE, "text/xml")], twiml).into_response()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// Slack's interactivity callback: an Acknowledge or Resolve button in a page.
async fn slack_action(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.config.notify.slack.signing_secret.as_ref() else {
        return refuse(StatusCode::NOT_FOUND, "Slack buttons are not configured on this server");
    };
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (ts, signature) = (header("x-slack-request-timestamp"), header("x-slack-signature"));
    let now = state.clock.now().timestamp();
    if !chat::verify_slack_signature(secret.expose(), ts, &body, signature, now) {
        return refuse(StatusCode::FORBIDDEN, "bad or stale signature");
    }
    match state.store.remember_nonce(&format!("slack:{signature}"), state.clock.now()).await {
        Ok(true) => {}
        Ok(false) => return refuse(StatusCode::CONFLICT, "this request was handled already"),
        Err(e) => return ApiError::from(e).into_response(),
    }
    let payload = url::form_urlencoded::parse(&body).find(|(k, _)| k == "payload").map(|(_, v)| v.into_owned());
    let Some(payload) = payload.and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "no payload");
    };
    let slack_user = payload["user"]["id"].as_str().unwrap_or_default();
    let Some(act) = payload["actions"].as_array().and_then(|a| a.first()) else {
        return refuse(StatusCode::BAD_REQUEST, "no action");
    };
    let action = match act["action_id"].as_str() {
        Some("ack") => LinkAction::Acknowledge,
        Some("resolve") => LinkAction::Resolve,
        // The Open button is a plain link; Slack still reports the click.
        _ => return axum::Json(serde_json::json!({})).into_response(),
    };
    let Some(number) = act["value"].as_str().and_then(|v| v.parse::<i64>().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "no incident number");
    };
    let text = match state.store.contact_owner(ContactKind::Slack, slack_user).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(None) => "Your Slack account is not a verified Firebreak contact method.".to_owned(),
        Ok(Some(user)) => act_on_numbers(&state, user.id, action, &[number], Via::Slack).await,
    };
    axum::Json(serde_json::json!({ "response_type": "ephemeral", "replace_original": false, "text": text }))
        .into_response()
}

/// Telegram's bot webhook: an inline keyboard button (`ack:42`, `res:42`) in a page.
async fn telegram_update(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.config.notify.telegram.webhook_secret.as_ref() else {
        return refuse(StatusCode::NOT_FOUND, "Telegram buttons are not configured on this server");
    };
    let given = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !crate::auth::tokens_match(given, secret.expose()) {
        return refuse(StatusCode::FORBIDDEN, "bad secret token");
    }
    let Ok(update) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "not JSON");
    };
    let Some(update_id) = update["update_id"].as_i64() else {
        return refuse(StatusCode::BAD_REQUEST, "no update_id");
    };
    match state.store.remember_nonce(&format!("telegram:{update_id}"), state.clock.now()).await {
        Ok(true) => {}
        Ok(false) => return refuse(StatusCode::CONFLICT, "this update was handled already"),
        Err(e) => return ApiError::from(e).into_response(),
    }
    let query = &update["callback_query"];
    let data = query["data"].as_str().unwrap_or_default();
    let from = query["from"]["id"].as_i64().map(|id| id.to_string()).unwrap_or_default();
    let parsed = data.split_once(':').and_then(|(a, n)| {
        let action = match a {
            "ack" => LinkAction::Acknowledge,
            "res" => LinkAction::Resolve,
            _ => return None,
        };
        n.parse::<i64>().ok().map(|n| (action, n))
    });
    // Updates without a button (messages to the bot) are accepted and ignored.
    let Some((action, number)) = parsed else { return axum::Json(serde_json::json!({})).into_response() };
    let text = match state.store.contact_owner(ContactKind::Telegram, &from).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(None) => "This Telegram account is not a verified Firebreak contact method.".to_owned(),
        Ok(Some(user)) => act_on_numbers(&state, user.id, action, &[number], Via::Telegram).await,
    };
    // Answering in the webhook response shows the outcome to the person who pressed.
    axum::Json(serde_json::json!({
        "method": "answerCallbackQuery",
        "callback_query_id": query["id"].as_str().unwrap_or_default(),
        "text": text,
    }))
    .into_response()
}

#[derive(Template)]
#[template(path = "action_link.html")]
struct LinkPage {
    chrome: Chrome,
    token: String,
    verb_title: &'static str,
    number: i64,
    title: String,
    severity: String,
    status: String,
    user_name: String,
    message: String,
    done: bool,
}

async fn page_for(state: &AppState, token: &str) -> WebResult<(links::ActionLink, LinkPage)> {
    let secret = state.link_secret().await?;
    let link = links::verify(secret, token, state.clock.now()).map_err(|e| {
        let status = if e == LinkError::Expired { StatusCode::GONE } else { StatusCode::NOT_FOUND };
        WebError::new(status, e.to_string())
    })?;
    let incident = state.store.get_incident(IncidentRef::Id(link.incident)).await?;
    let user = state.store.get_user(link.user).await?;
    let page = LinkPage {
        chrome: Chrome::default(),
        token: token.to_owned(),
        verb_title: match link.action {
            LinkAction::Acknowledge => "Acknowledge",
            LinkAction::Resolve => "Resolve",
        },
        number: incident.number,
        title: incident.title,
        severity: incident.severity.to_string(),
        status: incident.status.to_string(),
        user_name: user.name,
        message: String::new(),
        done: false,
    };
    Ok((link, page))
}

async fn show_link(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let (_, page) = page_for(&state, &token).await?;
    Ok(render(&page))
}

async fn use_link(State(state): State<AppState>, Path(token): Path<String>) -> WebResult<Response> {
    let (link, mut page) = page_for(&state, &token).await?;
    // Each link acts once; the nonce is the token's hash.
    if !state.store.remember_nonce(&format!("link:{}", crate::auth::secret_hash(&token)), state.clock.now()).await? {
        page.message = "This link was used already.".into();
        page.done = true;
        return Ok(render(&page));
    }
    match act_as(&state, link.user, IncidentRef::Id(link.incident), link.action, Via::Link).await {
        Ok(incident) => {
            page.status = incident.status.to_string();
            page.message = format!("Done: INC-{} is {}.", incident.number, incident.status);
            page.done = true;
        }
        Err(e) if e.status == StatusCode::CONFLICT || e.code == "invalid_transition" => {
            page.message = format!("Nothing to do: {}", e.message);
            page.done = true;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(render(&page))
}
