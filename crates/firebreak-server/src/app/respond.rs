//! Acting on an incident from a message, whatever carried it: a signed one-click link, an SMS
//! reply, a Slack or Telegram button. The person is the one the message was sent to (or whose
//! verified number or chat account replied); the transports check the link or the provider's
//! signature before calling here.

use crate::AppState;
use crate::app::links::LinkAction;
use crate::error::ApiError;
use firebreak_domain::{Actor, Incident, IncidentAction, IncidentChange, IncidentRef, UserId, Via};

/// `ACK 42`, `res 42 43`, `A 42`: the action and incident numbers in an SMS reply.
pub fn parse_reply(text: &str) -> Option<(LinkAction, Vec<i64>)> {
    let mut words = text.split_whitespace();
    let action = match words.next()?.to_ascii_lowercase().as_str() {
        "ack" | "a" | "acknowledge" => LinkAction::Acknowledge,
        "res" | "r" | "resolve" => LinkAction::Resolve,
        _ => return None,
    };
    let numbers: Option<Vec<i64>> = words
        .map(|w| w.trim_start_matches(['#']).trim_start_matches("INC-").trim_start_matches("inc-").parse().ok())
        .collect();
    numbers.filter(|n| !n.is_empty() && n.len() <= 20).map(|n| (action, n))
}

/// Acts on each incident for the person and says how it went, one line each.
pub async fn act_on_numbers(state: &AppState, user: UserId, action: LinkAction, numbers: &[i64], via: Via) -> String {
    let mut lines = Vec::new();
    for n in numbers {
        let line = match act_as(state, user, IncidentRef::Number(*n), action, via).await {
            Ok(i) => format!("INC-{} is {}.", i.number, i.status),
            Err(e) => format!("INC-{n}: {}", e.message),
        };
        lines.push(line);
    }
    lines.join(" ")
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
