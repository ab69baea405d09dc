//! Stakeholder updates of one incident: the templates to write them from, the cadence, a
//! preview that changes nothing, and sending (recorded on the timeline; emails queued to the
//! contact lists; customer-facing updates are drafts, recorded but not sent).

use crate::AppState;
use crate::app::incidents::Directory;
use crate::app::procedures::render::{Rendered, UpdateContext, parse_message, recipients, render};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::procedures::template::{Audience, UpdateTemplate};
use firebreak_domain::{DomainError, Incident, TimelineEvent, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A template as the composer offers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateChoice {
    pub name: String,
    pub audience: Audience,
    pub description: String,
    /// Contact lists it goes to unless the sender picks others.
    pub to: Vec<String>,
    /// Customer-facing: recorded as a draft to publish by hand, not sent.
    pub draft: bool,
}

/// When the next update is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct CadenceView {
    pub every_minutes: u32,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub late: bool,
    /// The communications lead was reminded / it was escalated.
    pub reminded: bool,
    pub escalated: bool,
}

/// An update already sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentUpdate {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub by: String,
    pub audience: String,
    pub template: String,
    pub subject: String,
    pub body: String,
    pub to: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatesView {
    pub templates: Vec<TemplateChoice>,
    /// Contact lists that can be picked.
    pub lists: Vec<String>,
    pub cadence: Option<CadenceView>,
    pub sent: Vec<SentUpdate>,
}

/// What the composer sends.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeBody {
    pub template: String,
    /// The sender's words (Markdown), given to the template as `message`.
    #[serde(default)]
    pub message: String,
    /// Contact lists to send to; the template's own when absent.
    #[serde(default)]
    pub to: Option<Vec<String>>,
    /// The playbook `update` step this update fulfils: checked off once it is sent.
    #[serde(default)]
    pub step: Option<u32>,
}

/// An update rendered for this incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComposedUpdate {
    pub template: String,
    pub audience: Audience,
    pub draft: bool,
    pub subject: String,
    pub body: String,
    /// The body as the page shows it (Markdown rendered safely).
    pub html: String,
    pub to: Vec<String>,
    /// The addresses it goes to (none for a draft).
    pub recipients: Vec<String>,
    /// When the next update is due after this one (none without a cadence).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_due: Option<Timestamp>,
}

fn choice(t: &UpdateTemplate) -> TemplateChoice {
    TemplateChoice {
        name: t.name.clone(),
        audience: t.audience,
        description: t.description.clone(),
        to: t.to.clone(),
        draft: t.is_draft(),
    }
}

/// The cadence of an incident's severity, in minutes.
pub fn cadence_minutes(state: &AppState, incident: &Incident) -> Option<u32> {
    if !incident.status.is_open() {
        return None;
    }
    state.procedures.current().severities.get(&incident.severity).and_then(|l| l.update_every_minutes)
}

/// Everything the updates page and `GET …/updates` show.
pub async fn updates_view(state: &AppState, incident: &Incident) -> ApiResult<UpdatesView> {
    let procedures = state.procedures.current();
    let now = state.clock.now();
    let cadence = match (cadence_minutes(state, incident), state.store.update_cadence(incident.id).await?) {
        (Some(every), stored) => {
            let due_at = stored
                .as_ref()
                .map(|c| c.due_at)
                .unwrap_or_else(|| incident.detected_at + chrono::TimeDelta::minutes(i64::from(every)));
            Some(CadenceView {
                every_minutes: every,
                due_at,
                late: due_at <= now,
                reminded: stored.as_ref().is_some_and(|c| c.reminded_at.is_some()),
                escalated: stored.as_ref().is_some_and(|c| c.escalated_at.is_some()),
            })
        }
        (None, _) => None,
    };
    let sent = state
        .store
        .timeline(incident.id)
        .await?
        .into_iter()
        .rev()
        .filter_map(|e| match e.event {
            TimelineEvent::UpdateSent { audience, template, subject, body, to } => {
                Some(SentUpdate { at: e.at, by: e.actor_name, audience, template, subject, body, to })
            }
            _ => None,
        })
        .collect();
    Ok(UpdatesView {
        templates: procedures.templates.values().map(choice).collect(),
        lists: procedures.contact_lists.keys().cloned().collect(),
        cadence,
        sent,
    })
}

/// Renders what the composer asks for, without sending.
pub async fn compose(state: &AppState, incident: &Incident, body: &ComposeBody) -> ApiResult<ComposedUpdate> {
    let procedures = state.procedures.current();
    let template = procedures.templates.get(body.template.trim()).ok_or_else(|| {
        ApiError::from(DomainError::invalid(
            "template",
            format!(
                "no update template is named {:?}; the templates are in the procedures' templates/ folder",
                body.template
            ),
        ))
    })?;
    let message = parse_message(&body.message)?;
    let to: Vec<String> = match &body.to {
        Some(lists) => lists.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect(),
        None => template.to.clone(),
    };
    if to.len() > 20 {
        return Err(DomainError::invalid("to", "at most 20 contact lists").into());
    }
    let addresses = recipients(state, &to).await?;
    let now = state.clock.now();
    let next_due = cadence_minutes(state, incident).map(|m| now + chrono::TimeDelta::minutes(i64::from(m)));
    let dir = Directory::load(&state.store).await?;
    let names = |u| dir.user_ref(u).map(|r| r.name).unwrap_or_default();
    let ctx = UpdateContext::new(incident, state.public_base(), names, &message, next_due, now);
    let Rendered { subject, body } = render(template, &ctx).map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "template_failed", format!("the template does not render: {e}"))
    })?;
    let draft = template.is_draft();
    Ok(ComposedUpdate {
        template: template.name.clone(),
        audience: template.audience,
        draft,
        html: crate::views::markdown::render(&body),
        subject,
        body,
        recipients: if draft { Vec::new() } else { addresses },
        to: if draft { Vec::new() } else { to },
        next_due,
    })
}

/// Sends a composed update: on the timeline, emails queued, the cadence restarted.
pub async fn send(
    state: &AppState,
    incident: &Incident,
    update: &ComposedUpdate,
    actor: &firebreak_domain::Actor,
) -> ApiResult<()> {
    let mut reached = update.to.clone();
    if reached.is_empty() && !update.draft {
        reached.push("the timeline".into());
    }
    let event = TimelineEvent::UpdateSent {
        audience: update.audience.to_string(),
        template: update.template.clone(),
        subject: update.subject.clone(),
        body: update.body.clone(),
        to: if update.draft { Vec::new() } else { reached },
    };
    state
        .store
        // A customer-facing draft is not an update anyone received yet: the cadence runs on.
        .record_update(
            incident.id,
            event,
            &update.subject,
            &update.body,
            &update.recipients,
            if update.draft { None } else { update.next_due },
            actor,
        )
        .await?;
    state.paging_wake.notify_one();
    Ok(())
}

/// Checks off the playbook step an update was sent for (one done already stays done).
pub async fn finish_step(
    state: &AppState,
    incident: &Incident,
    position: u32,
    actor: &firebreak_domain::Actor,
) -> ApiResult<()> {
    match state.store.set_checklist_item(incident.id, position, "done", actor).await {
        Ok(_) | Err(firebreak_store::StoreError::Conflict(_)) => Ok(()),
        Err(firebreak_store::StoreError::NotFound(_)) => {
            Err(DomainError::invalid("step", "the update was sent, but the incident has no such playbook step").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Composes and sends an update as this caller, checking off the playbook step it fulfils
/// (`step`) when one is named: the step is checked before anything is sent.
pub async fn send_update(state: &AppState, p: &Principal, id: &str, body: &ComposeBody) -> ApiResult<ComposedUpdate> {
    p.require_responder()?;
    let incident = crate::app::incidents::get(state, id).await?;
    let update = compose(state, &incident, body).await?;
    if let Some(position) = body.step {
        let items = state.store.incident_checklist(incident.id).await?.map(|(_, items)| items).unwrap_or_default();
        if !items.iter().any(|i| i.position == position) {
            return Err(DomainError::invalid("step", "the incident has no such playbook step; nothing was sent").into());
        }
    }
    send(state, &incident, &update, &p.actor()).await?;
    if let Some(position) = body.step {
        finish_step(state, &incident, position, &p.actor()).await?;
    }
    Ok(update)
}
