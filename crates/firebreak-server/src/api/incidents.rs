//! Incident routes: declare, list, read, edit, act (acknowledge, contain, resolve, close,
//! reopen), notes, roles and the timeline.

use crate::AppState;
use crate::api::{ItemsBody, ListBody};
use crate::auth::ApiPrincipal;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use firebreak_domain::{
    DomainError, Incident, IncidentAction, IncidentChange, IncidentEdit, IncidentRef, IncidentRole, IncidentStatus,
    IncidentType, NewIncident, RoleName, Severity, TimelineEvent, Timestamp, UserId, Via,
};
use firebreak_store::{DynStore, IncidentFilter, TimelineEntry, User};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", post(create_incident).get(list_incidents))
        .route("/incidents/{id}", get(get_incident).patch(update_incident))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/timeline", get(get_timeline))
        .route("/incidents/{id}/timeline/export", get(export_timeline))
        .route("/incidents/{id}/roles/{role}", put(assign_role))
        .route("/incidents/{id}/{action}", post(act_on_incident))
}

/// A user as shown next to the things they did or hold.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserRef {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub id: Option<UserId>,
    pub name: String,
}

/// Who holds each response role.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RolesView {
    pub commander: Option<UserRef>,
    pub communications: Option<UserRef>,
    pub scribe: Option<UserRef>,
    pub operations_lead: Option<UserRef>,
    /// The team's own roles (declared in the procedures' config.yaml), by name.
    pub other: std::collections::BTreeMap<String, UserRef>,
}

impl RolesView {
    /// The holder of a role, by name.
    pub fn holder(&self, role: &str) -> Option<&UserRef> {
        match role {
            "commander" => self.commander.as_ref(),
            "communications" => self.communications.as_ref(),
            "scribe" => self.scribe.as_ref(),
            "operations_lead" => self.operations_lead.as_ref(),
            other => self.other.get(other),
        }
    }
}

/// An incident as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentView {
    #[schema(value_type = String, format = Uuid)]
    pub id: firebreak_domain::IncidentId,
    pub number: i64,
    /// `INC-<number>`.
    pub label: String,
    pub title: String,
    pub summary: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    #[serde(rename = "type")]
    pub kind: IncidentType,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub roles: RolesView,
    /// Visible only to its participants and admins: marked restricted, or of a restricted
    /// type (security by default).
    pub restricted: bool,
    /// Marked restricted by a person (a restricted type stays restricted without the mark).
    pub marked_restricted: bool,
    pub created_by: Option<UserRef>,
    #[schema(value_type = String, format = DateTime)]
    pub detected_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub acknowledged_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub contained_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The status actions allowed now.
    pub allowed_actions: Vec<IncidentAction>,
}

/// Names of users, for rendering references.
pub struct Directory(HashMap<UserId, User>);

impl Directory {
    pub async fn load(store: &DynStore) -> ApiResult<Self> {
        Ok(Directory(store.list_users().await?.into_iter().map(|u| (u.id, u)).collect()))
    }

    pub fn user_ref(&self, id: Option<UserId>) -> Option<UserRef> {
        id.map(|id| UserRef {
            id: Some(id),
            name: self.0.get(&id).map(|u| u.name.clone()).unwrap_or_else(|| "(deleted user)".into()),
        })
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.0.values()
    }
}

impl IncidentView {
    /// The view of an incident; `restricted` is whether it is restricted in effect (see
    /// [`crate::visibility::is_restricted`]).
    pub fn new(i: Incident, dir: &Directory, restricted: bool) -> Self {
        let lead = IncidentRole::OperationsLead.as_str();
        IncidentView {
            id: i.id,
            number: i.number,
            label: i.label(),
            roles: RolesView {
                commander: dir.user_ref(i.commander),
                communications: dir.user_ref(i.communications),
                scribe: dir.user_ref(i.scribe),
                operations_lead: dir.user_ref(i.other_roles.get(lead).copied()),
                other: i
                    .other_roles
                    .iter()
                    .filter(|(name, _)| name.as_str() != lead)
                    .filter_map(|(name, u)| dir.user_ref(Some(*u)).map(|r| (name.clone(), r)))
                    .collect(),
            },
            restricted,
            marked_restricted: i.restricted,
            created_by: dir.user_ref(i.created_by),
            allowed_actions: i.status.allowed_actions(),
            title: i.title,
            summary: i.summary,
            status: i.status,
            severity: i.severity,
            kind: i.kind,
            services: i.services,
            tags: i.tags,
            detected_at: i.detected_at,
            acknowledged_at: i.acknowledged_at,
            contained_at: i.contained_at,
            resolved_at: i.resolved_at,
            closed_at: i.closed_at,
            updated_at: i.updated_at,
        }
    }
}

/// One timeline entry: when, who, through what, and the event's own fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntryView {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: UserRef,
    pub via: Via,
    #[serde(flatten)]
    pub event: TimelineEvent,
}

impl From<TimelineEntry> for TimelineEntryView {
    fn from(e: TimelineEntry) -> Self {
        TimelineEntryView {
            seq: e.seq,
            at: e.at,
            actor: UserRef { id: e.actor_id, name: e.actor_name },
            via: e.via,
            event: e.event,
        }
    }
}

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

pub(crate) async fn view(state: &AppState, incident: Incident) -> ApiResult<Json<IncidentView>> {
    let dir = Directory::load(&state.store).await?;
    let restricted = crate::visibility::is_restricted(state, &incident);
    Ok(Json(IncidentView::new(incident, &dir, restricted)))
}

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, body = IncidentView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<CreateIncident>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    p.require_responder()?;
    let mut new =
        NewIncident::parse(&body.title, body.summary.as_deref(), body.severity, body.kind, &body.services, &body.tags)?;
    if let Some(service) = body.service_id {
        match state.store.get_service(service).await {
            Ok(_) => new.service_id = Some(service),
            Err(firebreak_store::StoreError::NotFound(_)) => {
                return Err(firebreak_domain::DomainError::invalid("service_id", "no such service").into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let incident = state.store.create_incident(new, &p.actor()).await?;
    state.paging_wake.notify_one();
    Ok((StatusCode::CREATED, view(&state, incident).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListQuery),
    responses((status = 200, body = ListBody<IncidentView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ListBody<IncidentView>>> {
    let filter = IncidentFilter { viewer: crate::visibility::viewer(&state, &p), ..q.filter()? };
    let page = state.store.list_incidents(&filter).await?;
    let dir = Directory::load(&state.store).await?;
    Ok(Json(ListBody {
        items: page
            .items
            .into_iter()
            .map(|i| {
                let restricted = crate::visibility::is_restricted(&state, &i);
                IncidentView::new(i, &dir, restricted)
            })
            .collect(),
        next_cursor: page.next_before.map(|n| n.to_string()),
    }))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IncidentView>> {
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    view(&state, incident).await
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = UpdateIncident,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateIncident>,
) -> ApiResult<Json<IncidentView>> {
    p.require_responder()?;
    let r = incident_ref(&id)?;
    let incident = state.store.change_incident(r, IncidentChange::Edit(body.into()), &p.actor()).await?;
    view(&state, incident).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/{action}", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"),
           ("action" = IncidentAction, Path, description = "acknowledge, contain, resolve, close or reopen")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 409, description = "invalid_transition", body = ErrorBody)))]
pub async fn act_on_incident(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath((id, action)): ApiPath<(String, String)>,
) -> ApiResult<Json<IncidentView>> {
    let action: IncidentAction = action.parse().map_err(|_| ApiError::not_found("route"))?;
    p.require_responder()?;
    let incident =
        state.store.change_incident(incident_ref(&id)?, IncidentChange::Transition(action), &p.actor()).await?;
    view(&state, incident).await
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", request_body = NoteBody,
    params(("id" = String, Path, description = "UUID, number or INC-number")),
    responses((status = 201, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_note(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoteBody>,
) -> ApiResult<(StatusCode, Json<IncidentView>)> {
    p.require_responder()?;
    let incident =
        state.store.change_incident(incident_ref(&id)?, IncidentChange::Note { body: body.body }, &p.actor()).await?;
    Ok((StatusCode::CREATED, view(&state, incident).await?))
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

#[utoipa::path(put, path = "/api/v1/incidents/{id}/roles/{role}", tag = "incidents", request_body = RoleAssignment,
    params(("id" = String, Path, description = "UUID, number or INC-number"),
           ("role" = String, Path, description = "commander, communications, scribe, operations_lead or a role declared in the procedures")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_role(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath((id, role)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleAssignment>,
) -> ApiResult<Json<IncidentView>> {
    p.require_responder()?;
    // An unknown incident is a 404 whoever the role was meant for.
    let r = IncidentRef::Id(state.store.get_incident(incident_ref(&id)?).await?.id);
    let user = role_holder(&state.store, body.user_id, body.email.as_deref()).await?;
    let role = known_role(&state, &role, user.is_some())?;
    let incident = state.store.change_incident(r, IncidentChange::AssignRole { role, user }, &p.actor()).await?;
    view(&state, incident).await
}

/// Which timeline entries to show.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Comma-separated entry kinds (`note_added`, `alert`, `paged`, …); all when absent.
    pub kind: Option<String>,
}

/// The kinds a `kind` filter names, checked against the kinds there are.
pub fn timeline_kinds(raw: Option<&str>) -> ApiResult<Vec<String>> {
    let mut kinds = Vec::new();
    for k in raw.unwrap_or("").split(',').map(str::trim).filter(|k| !k.is_empty()) {
        if !TIMELINE_KINDS.contains(&k) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("kind: unknown timeline entry kind {k:?}; known: {}", TIMELINE_KINDS.join(", ")),
            ));
        }
        kinds.push(k.to_owned());
    }
    Ok(kinds)
}

/// Every timeline entry kind, grouped as people filter them.
pub const TIMELINE_KINDS: &[&str] = &[
    "created",
    "status_changed",
    "severity_changed",
    "type_changed",
    "title_changed",
    "summary_changed",
    "services_changed",
    "tags_changed",
    "role_assigned",
    "note_added",
    "evidence_added",
    "alert",
    "triaged",
    "playbook_attached",
    "checklist_item_changed",
    "checklist_item_late",
    "action_run",
    "update_sent",
    "update_late",
    "stakeholders_notified",
    "stakeholder_message_failed",
    "escalation_policy_chosen",
    "paged",
    "escalation_stopped",
    "notification_sent",
    "notification_failed",
    "restriction_changed",
    "participant_added",
];

#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"), TimelineQuery),
    responses((status = 200, body = ItemsBody<TimelineEntryView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_timeline(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> ApiResult<Json<ItemsBody<TimelineEntryView>>> {
    let kinds = timeline_kinds(q.kind.as_deref())?;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let entries = state.store.timeline(incident.id).await?;
    Ok(Json(ItemsBody {
        items: entries
            .into_iter()
            .filter(|e| kinds.is_empty() || kinds.iter().any(|k| k == e.event.kind()))
            .map(Into::into)
            .collect(),
    }))
}

use crate::error::ErrorBody;

/// Which form an exported timeline takes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `markdown` (default) or `json`.
    #[serde(default)]
    pub format: Option<String>,
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// The timeline as a document to keep (postmortems, evidence): Markdown with the incident's
/// summary and one table row per entry (notes and triage answers quoted below), or JSON with
/// the incident and every entry.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline/export", tag = "incidents",
    params(("id" = String, Path, description = "UUID, number or INC-number"), ExportQuery),
    responses((status = 200, description = "text/markdown or application/json, as an attachment"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export_timeline(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    crate::error::ApiQuery(q): crate::error::ApiQuery<ExportQuery>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let incident = state.store.get_incident(incident_ref(&id)?).await?;
    let entries = state.store.timeline(incident.id).await?;
    let label = format!("INC-{}", incident.number);
    let attachment = |ext: &str| format!("attachment; filename=\"{label}-timeline.{ext}\"");
    match q.format.as_deref().unwrap_or("markdown") {
        "json" => {
            let Json(view) = view(&state, incident).await?;
            let items: Vec<TimelineEntryView> = entries.into_iter().map(Into::into).collect();
            let body = serde_json::json!({ "incident": view, "timeline": items });
            Ok(([(axum::http::header::CONTENT_DISPOSITION, attachment("json"))], Json(body)).into_response())
        }
        "markdown" | "md" => {
            let dir = Directory::load(&state.store).await?;
            let mut md = format!("# {label}: {}\n\n", cell(&incident.title));
            md.push_str(&format!(
                "- Severity: {}\n- Type: {}\n- Status: {}\n- Detected: {}\n",
                incident.severity,
                incident.kind,
                incident.status,
                firebreak_domain::time::canonical(incident.detected_at)
            ));
            if !incident.summary.is_empty() {
                md.push_str(&format!(
                    "\n{}\n",
                    incident.summary.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
                ));
            }
            md.push_str("\n## Timeline\n\n| time (UTC) | who | via | what |\n|---|---|---|---|\n");
            let mut quotes = Vec::new();
            for e in &entries {
                md.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    firebreak_domain::time::canonical(e.at),
                    cell(&e.actor_name),
                    e.via.as_str(),
                    cell(&crate::web::incidents::describe(&e.event, &dir))
                ));
                let quoted = match &e.event {
                    TimelineEvent::NoteAdded { body } => Some(body.clone()),
                    TimelineEvent::Triaged { steps, .. } => Some(
                        steps.iter().map(|s| format!("{} → {}", s.question, s.answer)).collect::<Vec<_>>().join("\n"),
                    ),
                    _ => None,
                };
                if let Some(text) = quoted {
                    quotes.push((firebreak_domain::time::canonical(e.at), e.event.kind(), text));
                }
            }
            if !quotes.is_empty() {
                md.push_str("\n## Notes and answers\n");
                for (at, kind, text) in quotes {
                    md.push_str(&format!("\n**{at}** ({kind}):\n\n"));
                    md.push_str(&text.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n"));
                    md.push('\n');
                }
            }
            let headers = [
                (axum::http::header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()),
                (axum::http::header::CONTENT_DISPOSITION, attachment("md")),
            ];
            Ok((headers, md).into_response())
        }
        other => {
            Err(ApiError::bad_request("invalid_format", format!("unknown format {other:?}: use markdown or json")))
        }
    }
}
