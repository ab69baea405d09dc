//! What a status page tells its readers beyond component statuses: public incidents and
//! scheduled maintenance. A public incident is written from an internal one through the
//! procedures' customer update templates (the stakeholder updates' draft flow: compose,
//! preview, record a draft) and reaches readers only when someone publishes it; or it is
//! posted by hand. Restricted incidents never reach a page: drafting from one is refused, and
//! what was published from one before it became restricted disappears from the page.
//! Maintenance is posted with its start and end; the engine moves it along.

use crate::AppState;
use crate::app::procedures::updates::{self, ComposeBody};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use firebreak_domain::procedures::template::Audience;
use firebreak_domain::status_page::{Impact, NoticeKind, NoticeStatus, maintenance_phase};
use firebreak_domain::{DomainError, Incident, Timestamp};
use firebreak_store::{NewNotice, StatusNotice, StatusPage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A public incident posted by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostNotice {
    pub title: String,
    /// investigating (default), identified, monitoring or resolved.
    #[serde(default)]
    pub status: Option<String>,
    /// What readers are told (Markdown).
    pub body: String,
    /// none, minor (default), major or critical.
    #[serde(default)]
    pub impact: Option<String>,
    /// Ids of the page's components it is about.
    #[serde(default)]
    pub components: Vec<String>,
    /// Publish at once (default); `false` keeps it a draft.
    #[serde(default = "yes")]
    pub publish: bool,
}

/// A further update of a notice.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUpdate {
    pub status: String,
    pub body: String,
    /// Publish at once (default); `false` keeps it a draft.
    #[serde(default = "yes")]
    pub publish: bool,
}

/// Scheduled maintenance: announced to subscribers when posted, in progress at its start,
/// completed at its end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleMaintenance {
    pub title: String,
    pub body: String,
    /// ISO 8601 with an offset.
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub components: Vec<String>,
}

/// A public update written from an incident with a customer template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromIncident {
    /// The page's slug.
    pub page: String,
    /// An update template with `audience: customer`.
    pub template: String,
    /// The writer's words, given to the template as `message`.
    #[serde(default)]
    pub message: String,
    /// investigating (default), identified, monitoring or resolved.
    #[serde(default)]
    pub status: Option<String>,
    /// The public title; the template's subject when left out (check it: it may name
    /// internal things).
    #[serde(default)]
    pub title: Option<String>,
    /// Ids of the page's components; those linked to the incident's service when left out.
    #[serde(default)]
    pub components: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// One update as the people who write them see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpdateView {
    pub id: uuid::Uuid,
    pub status: NoticeStatus,
    pub body: String,
    /// The body as pages show it (Markdown rendered safely).
    pub html: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    /// `null` while it is a draft.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<Timestamp>,
}

/// A notice as the people who write them see it, drafts included.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: uuid::Uuid,
    pub kind: NoticeKind,
    pub title: String,
    pub impact: Impact,
    pub status: NoticeStatus,
    /// The internal incident it was written from.
    pub incident_number: Option<i64>,
    pub components: Vec<uuid::Uuid>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_until: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    /// Readers see it (one of its updates is published).
    pub published: bool,
    /// Oldest first.
    pub updates: Vec<UpdateView>,
}

/// What a preview shows: the public title and text, nothing stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub page: String,
    pub title: String,
    pub status: NoticeStatus,
    pub impact: Impact,
    pub body: String,
    pub html: String,
    pub components: Vec<uuid::Uuid>,
}

/// A draft written from an incident: the notice and the update to publish.
#[derive(Debug, Serialize, ToSchema)]
pub struct Drafted {
    pub notice: NoticeView,
    pub update_id: uuid::Uuid,
}

/// The page's notices, drafts included, newest first; responders and admins. Notices of
/// incidents this caller may not see are left out.
pub async fn list(state: &AppState, p: &Principal, slug: &str) -> ApiResult<Vec<NoticeView>> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let mut out = Vec::new();
    for n in state.store.list_status_notices(page.id, super::NOTICES_SHOWN).await? {
        if let Some(number) = visible_incident(state, p, &n).await? {
            out.push(view(n, number));
        }
    }
    Ok(out)
}

/// The notices written from one incident, on every page: (page slug, notice).
pub async fn for_incident(
    state: &AppState,
    p: &Principal,
    incident: &Incident,
) -> ApiResult<Vec<(String, NoticeView)>> {
    if !crate::app::visibility::can_see(state, p, incident).await? {
        return Err(ApiError::not_found("incident"));
    }
    let mut out = Vec::new();
    for page in state.store.list_status_pages().await? {
        for n in state.store.list_status_notices(page.id, super::NOTICES_SHOWN).await? {
            if n.incident_id == Some(incident.id) {
                out.push((page.slug.clone(), view(n, Some(incident.number))));
            }
        }
    }
    Ok(out)
}

/// Posts a public incident by hand (published at once unless `publish` is false).
pub async fn post(state: &AppState, p: &Principal, slug: &str, body: PostNotice) -> ApiResult<NoticeView> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let status = incident_status(body.status.as_deref())?;
    let impact = body.impact.as_deref().map(str::parse::<Impact>).transpose()?.unwrap_or(Impact::Minor);
    if impact == Impact::Maintenance {
        return Err(DomainError::invalid(
            "impact",
            "maintenance is scheduled as maintenance, not posted as an incident",
        )
        .into());
    }
    let new = NewNotice {
        page_id: page.id,
        notice_id: None,
        kind: NoticeKind::Incident,
        incident_id: None,
        title: body.title,
        impact,
        component_ids: component_ids(&body.components)?,
        scheduled_for: None,
        scheduled_until: None,
    };
    let (notice, _) = store_update(state, p, new, status, &body.body, body.publish).await?;
    Ok(view(notice, None))
}

/// Adds an update to a notice of the page.
pub async fn add_update(
    state: &AppState,
    p: &Principal,
    slug: &str,
    notice: &str,
    body: AddUpdate,
) -> ApiResult<NoticeView> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let current = state.store.status_notice(page.id, notice_id(notice)?).await?;
    let number = visible_incident(state, p, &current).await?.ok_or_else(|| ApiError::not_found("status notice"))?;
    refuse_restricted(state, &current).await?;
    let status = NoticeStatus::parse_for(&body.status, current.kind)?;
    let new = NewNotice { notice_id: Some(current.id), ..same_notice(&current) };
    let (notice, _) = store_update(state, p, new, status, &body.body, body.publish).await?;
    Ok(view(notice, number))
}

/// Publishes a draft update: readers see it, subscribers are told.
pub async fn publish(state: &AppState, p: &Principal, slug: &str, update: &str) -> ApiResult<NoticeView> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let update: uuid::Uuid = update.parse().map_err(|_| ApiError::not_found("status update"))?;
    let drafts = state.store.list_status_notices(page.id, 1000).await?;
    let owner = drafts.iter().find(|n| n.updates.iter().any(|u| u.id == update));
    if let Some(n) = owner {
        visible_incident(state, p, n).await?.ok_or_else(|| ApiError::not_found("status update"))?;
        refuse_restricted(state, n).await?;
    }
    super::subscribers::ready(state).await?;
    let message = super::subscribers::message_for(state);
    let notice = state.store.publish_status_update(page.id, update, &message, &p.actor()).await?;
    state.status_cache.invalidate();
    let number = visible_incident(state, p, &notice).await?.flatten();
    Ok(view(notice, number))
}

/// Schedules maintenance, announced to subscribers at once.
pub async fn schedule(state: &AppState, p: &Principal, slug: &str, body: ScheduleMaintenance) -> ApiResult<NoticeView> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let starts = parse_instant("starts_at", &body.starts_at)?;
    let ends = parse_instant("ends_at", &body.ends_at)?;
    if ends <= starts {
        return Err(DomainError::invalid("ends_at", "the end comes after the start").into());
    }
    if ends - starts > chrono::TimeDelta::days(31) {
        return Err(DomainError::invalid("ends_at", "a maintenance lasts at most 31 days").into());
    }
    let now = state.clock.now();
    if ends <= now {
        return Err(DomainError::invalid("ends_at", "the maintenance would be over already").into());
    }
    let new = NewNotice {
        page_id: page.id,
        notice_id: None,
        kind: NoticeKind::Maintenance,
        incident_id: None,
        title: body.title,
        impact: Impact::Maintenance,
        component_ids: component_ids(&body.components)?,
        scheduled_for: Some(starts),
        scheduled_until: Some(ends),
    };
    // Announced as scheduled; a start in the past goes straight to in progress.
    let (notice, _) = store_update(state, p, new, NoticeStatus::Scheduled, &body.body, true).await?;
    let notice = match maintenance_phase(now, starts, ends) {
        NoticeStatus::Scheduled => notice,
        _ => {
            super::subscribers::ready(state).await?;
            let message = super::subscribers::message_for(state);
            let moved = state.store.advance_maintenance(now, &message).await?;
            moved.into_iter().find(|n| n.id == notice.id).unwrap_or(notice)
        }
    };
    state.status_cache.invalidate();
    Ok(view(notice, None))
}

/// Renders a public update from an incident without storing anything.
pub async fn preview(state: &AppState, p: &Principal, incident: &str, body: &FromIncident) -> ApiResult<Preview> {
    let (page, incident) = source(state, p, incident, &body.page).await?;
    compose(state, &page, &incident, body).await
}

/// Writes a draft public update from an incident (recorded on its timeline like every
/// customer draft); nothing reaches readers until someone publishes it.
pub async fn draft(state: &AppState, p: &Principal, incident: &str, body: &FromIncident) -> ApiResult<Drafted> {
    let (page, incident) = source(state, p, incident, &body.page).await?;
    let preview = compose(state, &page, &incident, body).await?;
    let composed = updates::compose(state, &incident, &compose_body(body)).await?;
    updates::send(state, &incident, &composed, &p.actor()).await?;
    let new = NewNotice {
        page_id: page.id,
        notice_id: None,
        kind: NoticeKind::Incident,
        incident_id: Some(incident.id),
        title: preview.title,
        impact: preview.impact,
        component_ids: preview.components,
        scheduled_for: None,
        scheduled_until: None,
    };
    let (notice, update_id) = store_update(state, p, new, preview.status, &preview.body, false).await?;
    Ok(Drafted { notice: view(notice, Some(incident.number)), update_id })
}

/// The page and the incident a public update is written from: responders and admins who
/// may see the incident; never a restricted one.
async fn source(state: &AppState, p: &Principal, incident: &str, slug: &str) -> ApiResult<(StatusPage, Incident)> {
    p.require_responder()?;
    let incident = crate::app::incidents::get(state, incident).await?;
    if !crate::app::visibility::can_see(state, p, &incident).await? {
        return Err(ApiError::not_found("incident"));
    }
    if crate::app::visibility::is_restricted(state, &incident) {
        return Err(restricted());
    }
    let page = state.store.status_page(slug.trim()).await?;
    Ok((page, incident))
}

fn restricted() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "restricted_incident",
        "this incident is restricted: nothing of it goes to a status page; post a public incident by hand instead",
    )
}

async fn refuse_restricted(state: &AppState, n: &StatusNotice) -> ApiResult<()> {
    if let Some(id) = n.incident_id {
        let incident = state.store.get_incident(firebreak_domain::IncidentRef::Id(id)).await?;
        if crate::app::visibility::is_restricted(state, &incident) {
            return Err(restricted());
        }
    }
    Ok(())
}

fn compose_body(body: &FromIncident) -> ComposeBody {
    ComposeBody { template: body.template.clone(), message: body.message.clone(), to: None, step: None }
}

async fn compose(state: &AppState, page: &StatusPage, incident: &Incident, body: &FromIncident) -> ApiResult<Preview> {
    let composed = updates::compose(state, incident, &compose_body(body)).await?;
    if composed.audience != Audience::Customer {
        return Err(DomainError::invalid(
            "template",
            "a status page update is written from a template with `audience: customer`",
        )
        .into());
    }
    let status = incident_status(body.status.as_deref())?;
    let title = body.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or(composed.subject);
    let components = match &body.components {
        Some(ids) => component_ids(ids)?,
        None => state
            .store
            .list_status_components(page.id)
            .await?
            .into_iter()
            .filter(|c| incident.service_id.is_some_and(|s| c.service_ids.contains(&s)))
            .map(|c| c.id)
            .collect(),
    };
    Ok(Preview {
        page: page.slug.clone(),
        title: firebreak_domain::status_page::check_label("title", &title, 1, 200)?,
        status,
        impact: Impact::for_severity(incident.severity),
        html: crate::views::markdown::render(&composed.body),
        body: composed.body,
        components,
    })
}

async fn store_update(
    state: &AppState,
    p: &Principal,
    new: NewNotice,
    status: NoticeStatus,
    body: &str,
    publish: bool,
) -> ApiResult<(StatusNotice, uuid::Uuid)> {
    super::subscribers::ready(state).await?;
    let message = super::subscribers::message_for(state);
    let out = state.store.post_status_update(new, status, body, publish, &message, &p.actor()).await?;
    state.status_cache.invalidate();
    Ok(out)
}

/// The incident number of a notice this caller may see: `Some(None)` for a notice posted by
/// hand, `None` when it comes from an incident hidden from them.
async fn visible_incident(state: &AppState, p: &Principal, n: &StatusNotice) -> ApiResult<Option<Option<i64>>> {
    let Some(id) = n.incident_id else { return Ok(Some(None)) };
    match state.store.get_incident(firebreak_domain::IncidentRef::Id(id)).await {
        Ok(i) if crate::app::visibility::can_see(state, p, &i).await? => Ok(Some(Some(i.number))),
        Ok(_) | Err(firebreak_store::StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn same_notice(n: &StatusNotice) -> NewNotice {
    NewNotice {
        page_id: n.page_id,
        notice_id: Some(n.id),
        kind: n.kind,
        incident_id: n.incident_id,
        title: n.title.clone(),
        impact: n.impact,
        component_ids: n.component_ids.clone(),
        scheduled_for: n.scheduled_for,
        scheduled_until: n.scheduled_until,
    }
}

fn incident_status(raw: Option<&str>) -> ApiResult<NoticeStatus> {
    Ok(match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => NoticeStatus::parse_for(s, NoticeKind::Incident)?,
        None => NoticeStatus::Investigating,
    })
}

fn notice_id(raw: &str) -> ApiResult<uuid::Uuid> {
    raw.parse().map_err(|_| ApiError::not_found("status notice"))
}

fn component_ids(raw: &[String]) -> ApiResult<Vec<uuid::Uuid>> {
    let mut out = Vec::new();
    for r in raw {
        let id: uuid::Uuid = r.trim().parse().map_err(|_| {
            DomainError::invalid("components", "component ids, as the page's components list gives them")
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn parse_instant(field: &'static str, raw: &str) -> ApiResult<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.to_utc())
        .map_err(|_| DomainError::invalid(field, "an ISO 8601 time with an offset, e.g. 2026-12-24T22:00:00Z").into())
}

fn view(n: StatusNotice, incident_number: Option<i64>) -> NoticeView {
    NoticeView {
        id: n.id,
        kind: n.kind,
        published: n.published(),
        title: n.title,
        impact: n.impact,
        status: n.status,
        incident_number,
        components: n.component_ids,
        scheduled_for: n.scheduled_for,
        scheduled_until: n.scheduled_until,
        created_at: n.created_at,
        resolved_at: n.resolved_at,
        updates: n
            .updates
            .into_iter()
            .map(|u| UpdateView {
                id: u.id,
                status: u.status,
                html: crate::views::markdown::render(&u.body),
                body: u.body,
                created_at: u.created_at,
                created_by: u.created_by,
                published_at: u.published_at,
            })
            .collect(),
    }
}
