//! Acknowledge or resolve from anywhere: the signed one-click links in every message (a page
//! that asks once, so link scanners that fetch it change nothing), and the shared act-as-user
//! step that SMS replies and chat buttons use too.

use crate::AppState;
use crate::error::ApiError;
use crate::links::{self, LinkAction, LinkError};
use crate::web::{Chrome, WebError, WebResult, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use firebreak_domain::{Actor, Incident, IncidentAction, IncidentChange, IncidentRef, UserId, Via};

pub fn router() -> Router<AppState> {
    Router::new().route("/a/{token}", get(show_link).post(use_link))
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

/// Acknowledges or resolves an incident as `user`, who must be an enabled responder.
/// Acting on an incident already past that point changes nothing and says so.
pub async fn act_as(
    state: &AppState,
    user: UserId,
    incident: IncidentRef,
    action: LinkAction,
    via: Via,
) -> Result<Incident, ApiError> {
    let person = state.store.get_user(user).await?;
    if person.disabled || !person.role.can_respond() {
        return Err(ApiError::forbidden("only enabled responders can act on incidents"));
    }
    let act = match action {
        LinkAction::Acknowledge => IncidentAction::Acknowledge,
        LinkAction::Resolve => IncidentAction::Resolve,
    };
    let actor = Actor::user(person.id, person.name.clone(), via);
    let incident = state.store.change_incident(incident, IncidentChange::Transition(act), &actor).await?;
    state.paging_wake.notify_one();
    Ok(incident)
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
