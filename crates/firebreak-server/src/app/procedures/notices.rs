//! Telling a stakeholder group (a contact list of the procedures) about an incident, once per
//! reason: when a playbook step says so, when its severity or type names the group, when an
//! update is late. Its Firebreak users hear through their notification rules, outside
//! addresses by email.

use crate::AppState;
use crate::error::ApiError;
use firebreak_domain::procedures::directory::{ListMember, Procedures};
use firebreak_domain::{Actor, Incident, UserId};
use firebreak_store::GroupNotice;

/// Tells one contact list about an incident once per `key`: its Firebreak users through their
/// notification rules, its outside addresses by email. A restricted incident's notice says
/// only that there is one (its title and summary are for its participants). `None` when this
/// notice was given before.
pub async fn notify_group(
    state: &AppState,
    procedures: &Procedures,
    incident: &Incident,
    group: &str,
    reason: &str,
    key: &str,
    actor: &Actor,
) -> Result<Option<Vec<String>>, ApiError> {
    let list = procedures.contact_lists.get(group).ok_or_else(|| {
        ApiError::from(firebreak_domain::DomainError::invalid("list", format!("no contact list is named {group:?}")))
    })?;
    let mut users: Vec<UserId> = Vec::new();
    let mut addresses: Vec<String> = Vec::new();
    for m in &list.members {
        match m {
            ListMember::User(email) => {
                let found = match email.parse() {
                    Ok(e) => state.store.credentials(&e).await?.map(|c| c.user),
                    Err(_) => None,
                };
                match found {
                    Some(u) if !u.disabled => users.push(u.id),
                    // Not a Firebreak user (any more): their address still hears.
                    _ => addresses.push(email.clone()),
                }
            }
            ListMember::Email(e) => addresses.push(e.clone()),
        }
    }
    let link = format!("{}/incidents/{}", state.public_base(), incident.number);
    let (subject, text) = if crate::app::visibility::is_restricted(state, incident) {
        (
            format!("[Firebreak] INC-{}: a restricted {} incident", incident.number, incident.severity),
            format!(
                "A restricted incident, INC-{}, needs the {group} group's attention ({reason}). Its details are for its participants: {link}",
                incident.number
            ),
        )
    } else {
        (
            format!("[Firebreak] INC-{} {}: {}", incident.number, incident.severity, incident.title),
            format!(
                "INC-{} ({}, {}, {}): {}\nThe {group} group is told because of its {reason}.\n{link}",
                incident.number, incident.severity, incident.kind, incident.status, incident.title
            ),
        )
    };
    let notice = GroupNotice {
        group,
        reason,
        key,
        users: &users,
        addresses: &addresses,
        subject: &subject,
        text: &text,
        at: state.clock.now(),
    };
    Ok(state.store.notify_group(incident.id, &notice, actor).await?)
}
