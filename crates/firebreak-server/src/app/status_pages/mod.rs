//! Status pages: admins make pages and their components and link components to catalog
//! services; responders set a component's status by hand or give it back to its services;
//! anyone may read a public page, and signed-in users a private one. A component's status is
//! derived when the page is read: a hand-set status stands; otherwise the worst status its
//! services' open incidents map to (each severity's `component_status` in the procedures,
//! else the shipped default; restricted incidents never count), else operational.
//! What a reader sees carries no internal data: no people, no timeline, no incident titles.

pub mod cache;
pub mod history;
pub mod notices;
pub mod settings;
pub mod subscribers;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::IncidentRef;
use firebreak_domain::status_page::{ComponentStatus, Drivers, Indicator};
use firebreak_domain::status_page::{NoticeKind, NoticeStatus};
use firebreak_domain::{DomainError, IncidentStatus, ServiceId, Timestamp};
use firebreak_store::{IncidentFilter, StatusComponent, StatusNotice, StatusPage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new status page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePage {
    /// The address part: `/status/{slug}`; lower-case letters, digits and hyphens.
    pub slug: String,
    pub name: String,
    /// Readable without signing in (default true).
    #[serde(default = "yes")]
    pub public: bool,
}

fn yes() -> bool {
    true
}

/// A new component at the end of a page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComponent {
    pub name: String,
    /// The group it is shown under.
    #[serde(default)]
    pub group: String,
    /// Catalog services (ids or names) whose open incidents drive its status.
    #[serde(default)]
    pub services: Vec<String>,
}

/// A status set by hand, or `null` to let the component's services drive it again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// operational, degraded_performance, partial_outage, major_outage, under_maintenance, or null.
    pub status: Option<String>,
}

/// A component as admins see it: what drives it and what it shows now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComponentView {
    pub id: uuid::Uuid,
    pub name: String,
    pub group: String,
    pub position: i64,
    #[schema(value_type = Vec<String>)]
    pub service_ids: Vec<ServiceId>,
    /// Set by a person; `null` when its services drive it.
    pub manual_status: Option<ComponentStatus>,
    /// What the page shows now.
    pub status: ComponentStatus,
}

impl ComponentView {
    /// The status a person set, as a word; empty when its services drive it.
    pub fn manual_word(&self) -> &'static str {
        self.manual_status.map(ComponentStatus::as_str).unwrap_or("")
    }
}

/// A page as admins see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageView {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub public: bool,
    /// `/status/{slug}`.
    pub url: String,
    pub indicator: Indicator,
    pub description: String,
    pub branding: firebreak_store::PageBranding,
    /// The host name the page is also served at.
    pub custom_domain: Option<String>,
    /// A shared token opens the private page (the token itself is shown once, when issued).
    pub has_token: bool,
    pub components: Vec<ComponentView>,
}

/// A page and its components with the statuses they show at this moment.
pub struct Derived {
    pub page: StatusPage,
    pub components: Vec<(StatusComponent, ComponentStatus)>,
    pub indicator: (Indicator, &'static str),
    /// The latest change among the page, its components and what drives them.
    pub updated_at: Timestamp,
    /// What readers may see of the page's notices, newest first: published ones only, with
    /// their published updates only, none of a restricted incident.
    pub notices: Vec<StatusNotice>,
}

impl Derived {
    /// Public incidents not resolved yet.
    pub fn unresolved(&self) -> impl Iterator<Item = &StatusNotice> {
        self.notices.iter().filter(|n| n.kind == NoticeKind::Incident && !n.status.is_final())
    }

    /// Maintenance not completed yet.
    pub fn upcoming_maintenance(&self) -> impl Iterator<Item = &StatusNotice> {
        self.notices.iter().filter(|n| n.kind == NoticeKind::Maintenance && !n.status.is_final())
    }
}

/// How many notices a page keeps in view (its history and feeds).
pub const NOTICES_SHOWN: u32 = 100;

/// Creates a page; admins only.
pub async fn create_page(state: &AppState, p: &Principal, body: CreatePage) -> ApiResult<PageView> {
    p.require_admin()?;
    let page = state.store.create_status_page(&body.slug, &body.name, body.public, &p.actor()).await?;
    page_view(state, &page.slug).await
}

/// Every page, with what each shows now.
pub async fn list_pages(state: &AppState) -> ApiResult<Vec<PageView>> {
    let mut views = Vec::new();
    for page in state.store.list_status_pages().await? {
        views.push(view_of(derive(state, page).await?));
    }
    Ok(views)
}

/// One page (by slug) as admins see it.
pub async fn page_view(state: &AppState, slug: &str) -> ApiResult<PageView> {
    Ok(view_of(derive(state, state.store.status_page(slug).await?).await?))
}

/// Adds a component; admins only. Services are named by id or catalog name.
pub async fn add_component(state: &AppState, p: &Principal, slug: &str, body: CreateComponent) -> ApiResult<PageView> {
    p.require_admin()?;
    let page = state.store.status_page(slug).await?;
    let catalog = state.store.list_services().await?;
    let mut services = Vec::new();
    for raw in &body.services {
        let raw = raw.trim();
        let found = catalog.iter().find(|s| s.id.to_string() == raw || s.name.eq_ignore_ascii_case(raw));
        let Some(service) = found else {
            return Err(DomainError::invalid("services", "no such service in the catalog (give its id or name)").into());
        };
        if !services.contains(&service.id) {
            services.push(service.id);
        }
    }
    state.store.add_status_component(page.id, &body.name, &body.group, &services, &p.actor()).await?;
    state.status_cache.invalidate();
    page_view(state, slug).await
}

/// Sets a component's status by hand, or clears it; responders and admins.
pub async fn set_status(
    state: &AppState,
    p: &Principal,
    slug: &str,
    component: &str,
    body: SetStatus,
) -> ApiResult<PageView> {
    p.require_responder()?;
    let page = state.store.status_page(slug).await?;
    let component: uuid::Uuid = component.parse().map_err(|_| ApiError::not_found("status component"))?;
    let status = body.status.as_deref().map(str::parse::<ComponentStatus>).transpose()?;
    state.store.set_component_status(page.id, component, status, &p.actor()).await?;
    state.status_cache.invalidate();
    page_view(state, slug).await
}

/// The page `slug` for a reader: public pages for anyone, private ones for signed-in users
/// and holders of the page's shared token. An unknown page and a private page for an
/// anonymous reader differ (404, 401), as a private page's address is no secret.
pub async fn read(state: &AppState, slug: &str, reader: Option<&Principal>, token: Option<&str>) -> ApiResult<Derived> {
    let page = state.store.status_page(slug).await?;
    if !may_read(&page, reader.is_some(), token) {
        return Err(ApiError::unauthorized());
    }
    derive(state, page).await
}

/// Whether a reader may read `page`: anyone a public one; a signed-in user, or someone with
/// its shared token, a private one.
pub fn may_read(page: &StatusPage, signed_in: bool, token: Option<&str>) -> bool {
    page.public
        || signed_in
        || token.zip(page.token_hash.as_deref()).is_some_and(|(t, hash)| settings::token_matches(t, hash))
}

/// Every page with what it shows now.
pub async fn derive_all(state: &AppState) -> ApiResult<Vec<Derived>> {
    let mut out = Vec::new();
    for page in state.store.list_status_pages().await? {
        out.push(derive(state, page).await?);
    }
    Ok(out)
}

/// What each component of `page` shows now.
pub async fn derive(state: &AppState, page: StatusPage) -> ApiResult<Derived> {
    let components = state.store.list_status_components(page.id).await?;
    let notices = readable_notices(state, state.store.list_status_notices(page.id, NOTICES_SHOWN).await?).await?;
    let in_maintenance: Vec<uuid::Uuid> = notices
        .iter()
        .filter(|n| n.kind == NoticeKind::Maintenance && n.status == NoticeStatus::InProgress)
        .flat_map(|n| n.component_ids.iter().copied())
        .collect();
    let filter = IncidentFilter {
        statuses: IncidentStatus::ALL.iter().copied().filter(|s| s.is_open()).collect(),
        limit: 1000,
        ..Default::default()
    };
    let all_open = state.store.list_incidents(&filter).await?.items;
    state.status_cache.remember(state, &all_open.iter().collect::<Vec<_>>());
    let open: Vec<_> = all_open.into_iter().filter(|i| !crate::app::visibility::is_restricted(state, i)).collect();
    let procedures = state.procedures.current();
    let status_of = |severity: firebreak_domain::Severity| {
        procedures
            .severities
            .get(&severity)
            .and_then(|l| l.component_status)
            .unwrap_or_else(|| ComponentStatus::for_severity(severity))
    };
    let mut updated_at = page.updated_at;
    let components: Vec<(StatusComponent, ComponentStatus)> = components
        .into_iter()
        .map(|c| {
            let driving: Vec<_> =
                open.iter().filter(|i| i.service_id.is_some_and(|s| c.service_ids.contains(&s))).collect();
            // When each began driving it (alerts joining it later change nothing shown).
            for i in &driving {
                updated_at = updated_at.max(i.detected_at);
            }
            updated_at = updated_at.max(c.updated_at);
            let drivers = Drivers {
                manual: c.manual_status,
                incidents: driving.iter().map(|i| status_of(i.severity)).collect(),
                maintenance: in_maintenance.contains(&c.id),
            };
            let status = drivers.status();
            (c, status)
        })
        .collect();
    let indicator = Indicator::of(components.iter().map(|(_, s)| *s));
    for n in &notices {
        updated_at = updated_at.max(n.updated_at);
    }
    Ok(Derived { page, components, indicator, updated_at, notices })
}

/// What readers may see of `notices`: the published ones, with their published updates,
/// none written from an incident that is restricted (now: it may have become so later).
pub async fn readable_notices(state: &AppState, notices: Vec<StatusNotice>) -> ApiResult<Vec<StatusNotice>> {
    let mut out = Vec::with_capacity(notices.len());
    for mut n in notices {
        if !n.published() {
            continue;
        }
        if let Some(id) = n.incident_id {
            match state.store.get_incident(IncidentRef::Id(id)).await {
                Ok(i) => {
                    state.status_cache.remember(state, &[&i]);
                    if crate::app::visibility::is_restricted(state, &i) {
                        continue;
                    }
                }
                Err(firebreak_store::StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        n.updates.retain(|u| u.published_at.is_some());
        out.push(n);
    }
    Ok(out)
}

fn view_of(d: Derived) -> PageView {
    PageView {
        id: d.page.id,
        url: format!("/status/{}", d.page.slug),
        slug: d.page.slug,
        name: d.page.name,
        public: d.page.public,
        branding: d.page.branding,
        custom_domain: d.page.custom_domain,
        has_token: d.page.token_hash.is_some(),
        indicator: d.indicator.0,
        description: d.indicator.1.to_owned(),
        components: d
            .components
            .into_iter()
            .map(|(c, status)| ComponentView {
                id: c.id,
                name: c.name,
                group: c.group_name,
                position: c.position,
                service_ids: c.service_ids,
                manual_status: c.manual_status,
                status,
            })
            .collect(),
    }
}
