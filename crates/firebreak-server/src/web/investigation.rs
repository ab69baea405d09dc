//! The incident page's investigation and communication parts: recent changes of the affected
//! services, the linked alerts, participants and the restricted mark, evidence links, and the
//! stakeholder update composer (`/incidents/{id}/updates`: preview, then send).

use super::incidents::Person;
use super::{Chrome, Submitted, WebError, WebPrincipal, WebResult, render, show_time};
use crate::AppState;
use crate::app::incidents::{Directory, incident_ref};
use crate::app::procedures::updates::{ComposeBody, ComposedUpdate, UpdatesView, compose, send, updates_view};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::{Incident, IncidentChange, IncidentRef, UserId};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/participants", post(add_participant))
        .route("/incidents/{id}/restricted", post(set_restricted))
        .route("/incidents/{id}/evidence", post(add_evidence))
        .route("/incidents/{id}/updates", get(updates_page).post(compose_update))
}

/// A change of an affected service, as the incident page lists it.
pub struct ChangeRow {
    pub at: String,
    pub summary: String,
    pub source: String,
    /// Before detection (a suspect), or during the incident.
    pub before: bool,
}

/// An alert the incident collects.
pub struct AlertRow {
    pub id: String,
    pub summary: String,
    pub status: String,
    pub severity: String,
    pub count: i64,
    pub last_seen: String,
}

/// What the incident page shows to investigate and who takes part.
pub struct Investigation {
    pub changes: Vec<ChangeRow>,
    pub alerts: Vec<AlertRow>,
    pub participants: Vec<String>,
    /// Enabled users who do not take part yet.
    pub addable: Vec<Person>,
    /// Restricted by its type: the mark cannot lift it.
    pub restricted_by_type: bool,
}

impl Investigation {
    pub async fn load(state: &AppState, incident: &Incident, dir: &Directory) -> WebResult<Investigation> {
        let changes =
            crate::app::investigation::changes_for(state, incident, crate::app::investigation::CHANGES_BEFORE_MINUTES)
                .await?
                .into_iter()
                .map(|c| ChangeRow {
                    at: show_time(&c.occurred_at),
                    before: c.occurred_at <= incident.detected_at,
                    summary: c.summary,
                    source: c.source,
                })
                .collect();
        let alerts = state
            .store
            .list_alerts(&firebreak_store::AlertFilter {
                incident_id: Some(incident.id),
                limit: 50,
                ..Default::default()
            })
            .await?
            .items
            .into_iter()
            .map(|a| AlertRow {
                id: a.id.to_string(),
                summary: a.summary,
                status: a.status.to_string(),
                severity: a.severity.to_string(),
                count: a.count,
                last_seen: show_time(&a.last_seen_at),
            })
            .collect();
        let taking_part = state.store.participants(incident.id).await?;
        let mut addable: Vec<Person> = dir
            .users()
            .filter(|u| !u.disabled && !taking_part.iter().any(|t| t.user_id == u.id))
            .map(|u| Person { id: u.id.to_string(), name: u.name.clone(), selected: false })
            .collect();
        addable.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Investigation {
            changes,
            alerts,
            participants: taking_part.into_iter().map(|t| t.name).collect(),
            addable,
            restricted_by_type: crate::app::visibility::kind_is_restricted(state, incident.kind),
        })
    }
}

#[derive(Deserialize)]
struct ParticipantForm {
    #[serde(default)]
    user_id: String,
}

#[derive(Deserialize)]
struct RestrictedForm {
    #[serde(default)]
    restricted: String,
}

#[derive(Deserialize)]
struct EvidenceForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
}

/// Applies a change from a form of the incident page and goes back to it.
async fn change(state: &AppState, p: &crate::auth::Principal, id: &str, change: IncidentChange) -> WebResult<Response> {
    p.require_responder()?;
    let incident = state.store.change_incident(incident_ref(id)?, change, &p.actor()).await?;
    Ok(Redirect::to(&format!("/incidents/{}", incident.label())).into_response())
}

async fn add_participant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<ParticipantForm>,
) -> WebResult<Response> {
    let user = form
        .user_id
        .trim()
        .parse::<UserId>()
        .map_err(|_| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Pick a person from the list."))?;
    change(&state, &p, &id, IncidentChange::AddParticipant { user }).await
}

async fn set_restricted(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<RestrictedForm>,
) -> WebResult<Response> {
    let restricted = match form.restricted.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(WebError::new(StatusCode::UNPROCESSABLE_ENTITY, "Choose whether to restrict the incident.")),
    };
    change(&state, &p, &id, IncidentChange::SetRestricted(restricted)).await
}

async fn add_evidence(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<EvidenceForm>,
) -> WebResult<Response> {
    change(&state, &p, &id, IncidentChange::AddEvidence { url: form.url, title: form.title }).await
}

/// A contact list offered in the composer.
pub struct ListChoice {
    pub name: String,
    pub checked: bool,
}

/// A template offered in the composer.
pub struct TemplateOption {
    pub name: String,
    pub audience: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "updates.html")]
struct UpdatesPage {
    chrome: Chrome,
    label: String,
    title: String,
    restricted: bool,
    view: UpdatesView,
    templates: Vec<TemplateOption>,
    lists: Vec<ListChoice>,
    /// The template the list choices were made for (a different template resets them).
    lists_for: String,
    message: String,
    step: String,
    preview: Option<ComposedUpdate>,
    error: String,
    notice: String,
}

#[derive(Deserialize)]
struct ComposerQuery {
    #[serde(default)]
    template: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    sent: String,
}

async fn find(state: &AppState, id: &str) -> WebResult<Incident> {
    let r = incident_ref(id).map_err(|_| WebError::new(StatusCode::NOT_FOUND, "There is no such incident."))?;
    state.store.get_incident(r).await.map_err(|e| match e {
        firebreak_store::StoreError::NotFound(_) => WebError::new(StatusCode::NOT_FOUND, "There is no such incident."),
        other => other.into(),
    })
}

/// The composer for `template` with `to` chosen (the template's own lists when `None`).
async fn composer(
    state: &AppState,
    p: &crate::auth::Principal,
    incident: &Incident,
    template: &str,
    to: Option<Vec<String>>,
    message: String,
    step: String,
) -> WebResult<UpdatesPage> {
    let view = updates_view(state, incident).await?;
    let template = if view.templates.iter().any(|t| t.name == template) {
        template.to_owned()
    } else {
        view.templates.first().map(|t| t.name.clone()).unwrap_or_default()
    };
    let defaults = view.templates.iter().find(|t| t.name == template).map(|t| t.to.clone()).unwrap_or_default();
    let chosen = to.unwrap_or(defaults);
    Ok(UpdatesPage {
        chrome: Chrome::for_user(p, "incidents"),
        label: incident.label(),
        title: incident.title.clone(),
        restricted: crate::app::visibility::is_restricted(state, incident),
        templates: view
            .templates
            .iter()
            .map(|t| TemplateOption {
                name: t.name.clone(),
                audience: t.audience.to_string(),
                selected: t.name == template,
            })
            .collect(),
        lists: view.lists.iter().map(|l| ListChoice { name: l.clone(), checked: chosen.contains(l) }).collect(),
        lists_for: template,
        view,
        message,
        step,
        preview: None,
        error: String::new(),
        notice: String::new(),
    })
}

async fn updates_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
    Query(q): Query<ComposerQuery>,
) -> WebResult<Response> {
    let incident = find(&state, &id).await?;
    let mut page = composer(&state, &p, &incident, q.template.trim(), None, String::new(), q.step).await?;
    if !q.sent.is_empty()
        && let Some(last) = page.view.sent.first()
    {
        page.notice = if last.to.is_empty() {
            format!("Recorded the {} update as a draft: publish it by hand.", last.audience)
        } else {
            format!("Sent the {} update to {}.", last.audience, last.to.join(", "))
        };
    }
    Ok(render(&page))
}

/// The composer's form, read as pairs (the lists are repeated `to` fields).
struct ComposerForm {
    template: String,
    lists_for: String,
    message: String,
    to: Vec<String>,
    step: String,
    send: bool,
}

impl ComposerForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> ComposerForm {
        let mut f = ComposerForm {
            template: String::new(),
            lists_for: String::new(),
            message: String::new(),
            to: Vec::new(),
            step: String::new(),
            send: false,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "template" => f.template = v,
                "lists_for" => f.lists_for = v,
                "message" => f.message = v,
                "to" if !f.to.contains(&v) && f.to.len() < 50 => f.to.push(v),
                "step" => f.step = v,
                "action" => f.send = v == "send",
                _ => {}
            }
        }
        f
    }
}

async fn compose_update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, pairs): Submitted<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = ComposerForm::from_pairs(pairs);
    let incident = find(&state, &id).await?;
    // Another template was picked: show its own lists first, send nothing yet.
    let switched = form.template != form.lists_for;
    let to = if switched { None } else { Some(form.to.clone()) };
    let mut page =
        composer(&state, &p, &incident, form.template.trim(), to, form.message.clone(), form.step.clone()).await?;
    if page.lists_for != form.template.trim() {
        page.error = format!("There is no update template named “{}”: pick one from the list.", form.template.trim());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    let body = ComposeBody {
        template: page.lists_for.clone(),
        message: form.message.clone(),
        to: Some(page.lists.iter().filter(|l| l.checked).map(|l| l.name.clone()).collect()),
        step: None,
    };
    let composed = match compose(&state, &incident, &body).await {
        Ok(c) => c,
        Err(e) if e.status.is_client_error() => {
            page.error = e.message;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    if !form.send || switched {
        page.preview = Some(composed);
        return Ok(render(&page));
    }
    send_composed(&state, &p, &incident, page, composed, &form.step).await
}

/// Sends a composed update (a responder's), then, when it came from a playbook step, checks
/// that step off; a refused send shows the composer again with the preview.
async fn send_composed(
    state: &AppState,
    p: &crate::auth::Principal,
    incident: &Incident,
    mut page: UpdatesPage,
    composed: ComposedUpdate,
    step: &str,
) -> WebResult<Response> {
    p.require_responder()?;
    if let Err(e) = send(state, incident, &composed, &p.actor()).await {
        if !e.status.is_client_error() {
            return Err(e.into());
        }
        page.error = e.message;
        page.preview = Some(composed);
        return Ok((StatusCode::CONFLICT, render(&page)).into_response());
    }
    if let Ok(position) = step.trim().parse::<u32>()
        && let Err(e) = crate::app::procedures::updates::finish_step(state, incident, position, &p.actor()).await
    {
        tracing::warn!(error = %e.message, "an update was sent but its playbook step could not be checked off");
    }
    let label = state.store.get_incident(IncidentRef::Id(incident.id)).await?.label();
    Ok(Redirect::to(&format!("/incidents/{label}/updates?sent=1")).into_response())
}
