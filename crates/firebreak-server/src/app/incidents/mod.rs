//! Incidents: declare, list, read, edit, move through the lifecycle, notes, roles, the
//! timeline and its export. Every transport does these through the functions here.

mod export;
mod view;

pub use export::timeline_markdown;
pub use view::{
    Directory, IncidentView, RolesView, TIMELINE_KINDS, TimelineEntryView, UserRef, describe, timeline_kinds, view,
    views,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::{
    DomainError, Incident, IncidentChange, IncidentEdit, IncidentRef, IncidentType, NewIncident, RoleName, Severity,
    UserId,
};
use firebreak_store::{DynStore, IncidentFilter, Page, TimelineEntry};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Declares an incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncident {
    pub title: String,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    #[serde(default)]
    pub summary: Option<String>,
    /// Affected services (free text).
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The catalog service it belongs to: its escalation policy pages for the incident.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<firebreak_domain::ServiceId>,
}

/// Fields to change; omitted fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIncident {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    #[serde(rename = "type")]
    pub kind: Option<IncidentType>,
    pub services: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
}

impl From<UpdateIncident> for IncidentEdit {
    fn from(u: UpdateIncident) -> Self {
        IncidentEdit {
            title: u.title,
            summary: u.summary,
            severity: u.severity,
            kind: u.kind,
            services: u.services,
            tags: u.tags,
            service_id: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Markdown text.
    pub body: String,
}

/// Who gets a role: a user id, an email, or `{"user_id": null}` to clear it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    #[schema(value_type = Option<String>, format = Uuid)]
    #[serde(default)]
    pub user_id: Option<UserId>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Comma-separated severities.
    pub severity: Option<String>,
    /// Comma-separated types.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

fn parse_list<T: std::str::FromStr<Err = DomainError>>(value: Option<&str>) -> Result<Vec<T>, ApiError> {
    value
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(|e| ApiError::bad_request("invalid_query", e.to_string())))
        .collect()
}

impl ListQuery {
    pub fn filter(&self) -> ApiResult<IncidentFilter> {
        let before_number = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| ApiError::bad_request("invalid_query", "cursor: not a cursor this API issued"))?,
            ),
            None => None,
        };
        Ok(IncidentFilter {
            statuses: parse_list(self.status.as_deref())?,
            severities: parse_list(self.severity.as_deref())?,
            kinds: parse_list(self.kind.as_deref())?,
            before_number,
            limit: self.limit.unwrap_or(50),
            viewer: None,
        })
    }
}

/// Parses an `{id}` path segment: UUID, number or `INC-number`.
pub fn incident_ref(raw: &str) -> ApiResult<IncidentRef> {
    raw.parse::<IncidentRef>().map_err(|_| ApiError::not_found("incident"))
}

/// Declares an incident and wakes the engine (its paging starts now).
pub async fn declare(state: &AppState, p: &Principal, body: CreateIncident) -> ApiResult<Incident> {
    p.require_responder()?;
    let mut new =
        NewIncident::parse(&body.title, body.summary.as_deref(), body.severity, body.kind, &body.services, &body.tags)?;
    if let Some(service) = body.service_id {
        match state.store.get_service(service).await {
            Ok(_) => new.service_id = Some(service),
            Err(firebreak_store::StoreError::NotFound(_)) => {
                return Err(DomainError::invalid("service_id", "no such service").into());
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        // A service typed by its catalog name is that service: its alerts join this incident
        // (by the service's grouping) and its escalation policy pages for it.
        new.service_id = catalog_service(state, &new.services).await?;
    }
    let incident = state.store.create_incident(new, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(incident)
}

/// The first of `typed` that names a catalog service (by name, case aside).
async fn catalog_service(state: &AppState, typed: &[String]) -> ApiResult<Option<firebreak_domain::ServiceId>> {
    if typed.is_empty() {
        return Ok(None);
    }
    let catalog = state.store.list_services().await?;
    let found = typed.iter().find_map(|name| catalog.iter().find(|s| s.name.eq_ignore_ascii_case(name.trim())));
    Ok(found.map(|s| s.id))
}

/// One page of the incidents this caller may see, newest first.
pub async fn list(state: &AppState, p: &Principal, q: &ListQuery) -> ApiResult<Page<Incident>> {
    let filter = IncidentFilter { viewer: crate::app::visibility::viewer(state, p), ..q.filter()? };
    Ok(state.store.list_incidents(&filter).await?)
}

/// The incident a path names (UUID, number or `INC-number`).
pub async fn get(state: &AppState, id: &str) -> ApiResult<Incident> {
    Ok(state.store.get_incident(incident_ref(id)?).await?)
}

/// Applies one change (an edit, a lifecycle step, a note, a role) as this caller.
pub async fn change(state: &AppState, p: &Principal, id: &str, mut change: IncidentChange) -> ApiResult<Incident> {
    p.require_responder()?;
    // Services typed by their catalog names are those services (see `declare`).
    if let IncidentChange::Edit(edit) = &mut change
        && let Some(services) = &edit.services
    {
        edit.service_id = catalog_service(state, services).await?;
    }
    if let IncidentChange::Transition(firebreak_domain::IncidentAction::Close) = &change {
        crate::app::review::check_close(state, &get(state, id).await?).await?;
    }
    let incident = state.store.change_incident(incident_ref(id)?, change, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(incident)
}

/// A role name people may be given: built-in or declared in the procedures (any well-formed
/// name may be cleared, so a role taken out of the procedures can still be emptied).
pub fn known_role(state: &AppState, name: &str, giving: bool) -> ApiResult<RoleName> {
    let role = RoleName::parse(name)?;
    if giving && role.builtin().is_none() && !state.procedures.current().roles.contains_key(role.as_str()) {
        return Err(DomainError::invalid(
            "role",
            format!("unknown role {:?}; declare it under `roles:` in the procedures' config.yaml", role.as_str()),
        )
        .into());
    }
    Ok(role)
}

/// Finds the user a role assignment names.
pub async fn role_holder(store: &DynStore, user_id: Option<UserId>, email: Option<&str>) -> ApiResult<Option<UserId>> {
    match (user_id, email.map(str::trim).filter(|e| !e.is_empty())) {
        (Some(id), None) => Ok(Some(id)),
        (None, Some(email)) => {
            let email = email.parse().map_err(ApiError::from)?;
            let creds = store.credentials(&email).await?;
            creds.map(|c| Some(c.user.id)).ok_or_else(|| DomainError::invalid("email", "no user has that email").into())
        }
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(DomainError::invalid("user_id", "give user_id or email, not both").into()),
    }
}

/// Gives a role to the user named by id or email, or clears it when neither is given.
pub async fn assign_role(
    state: &AppState,
    p: &Principal,
    id: &str,
    role: &str,
    user_id: Option<UserId>,
    email: Option<&str>,
) -> ApiResult<Incident> {
    p.require_responder()?;
    // An unknown incident is a 404 whoever the role was meant for.
    let r = IncidentRef::Id(get(state, id).await?.id);
    let user = role_holder(&state.store, user_id, email).await?;
    let role = known_role(state, role, user.is_some())?;
    Ok(state.store.change_incident(r, IncidentChange::AssignRole { role, user }, &p.actor()).await?)
}

/// The incident a request body names (`field`), as this caller may see it: one that does
/// not exist, or that is hidden from the caller, is the same invalid field.
pub async fn named_in_body(state: &AppState, p: &Principal, field: &'static str, raw: &str) -> ApiResult<Incident> {
    let missing = || ApiError::from(DomainError::invalid(field, "no such incident (give INC-42, 42 or its id)"));
    let r = raw.trim().parse::<IncidentRef>().map_err(|_| missing())?;
    let incident = match state.store.get_incident(r).await {
        Ok(i) => i,
        Err(firebreak_store::StoreError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if !crate::app::visibility::can_see(state, p, &incident).await? {
        return Err(missing());
    }
    Ok(incident)
}

/// The open incidents this caller may see, newest first (at most 100), leaving out `except`:
/// what a person may move an alert to or merge an incident into.
pub async fn open_choices(
    state: &AppState,
    p: &Principal,
    except: Option<firebreak_domain::IncidentId>,
) -> ApiResult<Vec<Incident>> {
    let filter = IncidentFilter {
        statuses: firebreak_domain::IncidentStatus::ALL.iter().copied().filter(|s| s.is_open()).collect(),
        limit: 100,
        viewer: crate::app::visibility::viewer(state, p),
        ..Default::default()
    };
    let page = state.store.list_incidents(&filter).await?;
    Ok(page.items.into_iter().filter(|i| Some(i.id) != except).collect())
}

/// Merges incident `id` into the incident `into` names (responders only): `id` is resolved
/// and marked merged, its alerts and a copy of its timeline go to `into`. A restricted
/// incident merges only into a restricted one, so its history stays among its participants.
pub async fn merge(state: &AppState, p: &Principal, id: &str, into: &str) -> ApiResult<firebreak_store::Merged> {
    p.require_responder()?;
    let from = get(state, id).await?;
    let target = named_in_body(state, p, "into", into).await?;
    crate::app::visibility::check_carry(state, &from, &target, "into")?;
    let merged = state.store.merge_incidents(from.id, target.id, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok(merged)
}

/// The incident and its timeline, only entries of the given kinds when any are given.
pub async fn timeline(state: &AppState, id: &str, kind: Option<&str>) -> ApiResult<(Incident, Vec<TimelineEntry>)> {
    let kinds = timeline_kinds(kind)?;
    let incident = get(state, id).await?;
    let entries = state.store.timeline(incident.id).await?;
    let entries =
        entries.into_iter().filter(|e| kinds.is_empty() || kinds.iter().any(|k| k == e.event.kind())).collect();
    Ok((incident, entries))
}
