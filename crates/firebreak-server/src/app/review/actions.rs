//! Action items: added from a postmortem or an incident, changed, and listed across
//! incidents (mine, overdue, by service or status). Each create and change is posted, signed,
//! to the tracker webhook the procedures name (`review.action_webhook`), through the outbox.

use crate::AppState;
use crate::app::incidents;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use chrono::NaiveDate;
use firebreak_domain::review::{self as rules, ActionKind, ActionPriority, ActionStatus};
use firebreak_domain::{DomainError, IncidentId, IncidentRef, ServiceId, UserId};
use firebreak_store::Page;
use firebreak_store::review::{ActionFilter, ActionItem, ActionItemFields, TrackerHook};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A new action item.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActionItem {
    pub title: String,
    /// `task` (default) or `procedure_change`.
    #[serde(default)]
    pub kind: Option<ActionKind>,
    /// The owner: a user id or email.
    #[serde(default)]
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
    /// `urgent`, `high`, `medium` (default) or `low`.
    #[serde(default)]
    pub priority: Option<ActionPriority>,
    /// `open` (default), `in_progress`, `done` or `wont_do`.
    #[serde(default)]
    pub status: Option<ActionStatus>,
    /// The item in an external tracker (http or https).
    #[serde(default)]
    pub link: Option<String>,
    /// Of a procedure change: the procedures file it changes, e.g. `playbooks/db.yaml`.
    #[serde(default)]
    pub procedure_file: Option<String>,
    /// Added while writing the postmortem.
    #[serde(default)]
    pub from_postmortem: bool,
}

/// Changes to an action item; omitted fields stay as they are (`""` clears owner, due day,
/// link and procedures file).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemChange {
    pub title: Option<String>,
    pub kind: Option<ActionKind>,
    pub owner: Option<String>,
    pub due_on: Option<String>,
    pub priority: Option<ActionPriority>,
    pub status: Option<ActionStatus>,
    pub link: Option<String>,
    pub procedure_file: Option<String>,
}

/// Parses `YYYY-MM-DD` (empty: none).
pub fn parse_day(field: &'static str, raw: &str) -> ApiResult<Option<NaiveDate>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| DomainError::invalid(field, "a day such as 2026-12-31").into())
}

async fn owner(state: &AppState, raw: &str) -> ApiResult<Option<UserId>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<uuid::Uuid>() {
        Ok(id) => Ok(Some(UserId(id))),
        Err(_) => incidents::role_holder(&state.store, None, Some(raw)).await.map_err(|e| e.at("owner")),
    }
}

/// Checks a procedure change's file: it must be a file of the procedures directory in force.
fn procedure_file(state: &AppState, kind: ActionKind, raw: Option<&str>) -> ApiResult<Option<String>> {
    let file = rules::parse_procedure_file(raw.unwrap_or(""))?;
    match (kind, &file) {
        (ActionKind::ProcedureChange, None) => {
            Err(DomainError::invalid("procedure_file", "a procedure change names the procedures file it changes")
                .into())
        }
        (ActionKind::ProcedureChange, Some(path)) => {
            let files = match state.config.procedures_dir.as_deref() {
                Some(dir) => crate::app::procedures::files::list(dir).unwrap_or_default(),
                None => Vec::new(),
            };
            if !files.iter().any(|f| f.path == *path) {
                return Err(DomainError::invalid(
                    "procedure_file",
                    format!("{path:?} is not a file of the procedures directory (e.g. playbooks/db.yaml)"),
                )
                .into());
            }
            Ok(file)
        }
        (ActionKind::Task, _) => Ok(file),
    }
}

/// The tracker webhook the procedures name, with its secret from the server's `[secrets]`.
pub fn tracker_hook(state: &AppState) -> Option<TrackerHook> {
    let review = state.procedures.current().review.clone();
    let url = review.action_webhook?;
    let secret =
        review.action_webhook_secret.and_then(|name| state.config.action_secrets.get(&name).map(|s| s.0.clone()));
    Some(TrackerHook { url, secret })
}

/// Adds an action item to an incident (responders only).
pub async fn create(state: &AppState, p: &Principal, id: &str, body: NewActionItem) -> ApiResult<ActionItem> {
    p.require_responder()?;
    let incident = incidents::get(state, id).await?;
    let kind = body.kind.unwrap_or(ActionKind::Task);
    let fields = ActionItemFields {
        title: rules::parse_action_title(&body.title)?,
        kind,
        owner_id: owner(state, body.owner.as_deref().unwrap_or("")).await?,
        due_on: parse_day("due_on", body.due_on.as_deref().unwrap_or(""))?,
        priority: body.priority.unwrap_or(ActionPriority::Medium),
        status: body.status.unwrap_or(ActionStatus::Open),
        link: rules::parse_link(body.link.as_deref().unwrap_or(""))?,
        procedure_file: procedure_file(state, kind, body.procedure_file.as_deref())?,
    };
    let hook = tracker_hook(state);
    Ok(state.store.create_action_item(incident.id, body.from_postmortem, fields, hook.as_ref(), &p.actor()).await?)
}

/// Parses `AI-12` or `12`.
pub fn parse_number(raw: &str) -> ApiResult<i64> {
    let raw = raw.trim();
    let digits = raw.strip_prefix("AI-").or_else(|| raw.strip_prefix("ai-")).unwrap_or(raw);
    digits.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| ApiError::not_found("action item"))
}

/// The action item (`AI-12` or `12`), if the caller may see its incident.
pub async fn get(state: &AppState, p: &Principal, raw: &str) -> ApiResult<ActionItem> {
    let item = state.store.action_item(parse_number(raw)?).await?;
    let incident = state.store.get_incident(IncidentRef::Id(item.incident_id)).await?;
    if !crate::app::visibility::can_see(state, p, &incident).await? {
        return Err(ApiError::not_found("action item"));
    }
    Ok(item)
}

/// Changes an action item (responders only).
pub async fn update(state: &AppState, p: &Principal, raw: &str, change: ActionItemChange) -> ApiResult<ActionItem> {
    p.require_responder()?;
    let item = get(state, p, raw).await?;
    let kind = change.kind.unwrap_or(item.kind);
    let fields = ActionItemFields {
        title: match &change.title {
            Some(t) => rules::parse_action_title(t)?,
            None => item.title.clone(),
        },
        kind,
        owner_id: match &change.owner {
            Some(o) => owner(state, o).await?,
            None => item.owner_id,
        },
        due_on: match &change.due_on {
            Some(d) => parse_day("due_on", d)?,
            None => item.due_on,
        },
        priority: change.priority.unwrap_or(item.priority),
        status: change.status.unwrap_or(item.status),
        link: match &change.link {
            Some(l) => rules::parse_link(l)?,
            None => item.link.clone(),
        },
        procedure_file: match (&change.procedure_file, change.kind) {
            (Some(f), _) => procedure_file(state, kind, Some(f))?,
            (None, Some(_)) => procedure_file(state, kind, item.procedure_file.as_deref())?,
            (None, None) => item.procedure_file.clone(),
        },
    };
    let hook = tracker_hook(state);
    Ok(state.store.update_action_item(item.number, fields, hook.as_ref(), &p.actor()).await?)
}

/// Which action items to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionQuery {
    /// `mine`: owned by the caller.
    pub owner: Option<String>,
    /// `true`: open or in progress and past their due day.
    pub overdue: Option<bool>,
    /// A catalog service's id: items of its incidents.
    pub service: Option<String>,
    /// Comma-separated statuses, or `open` for open and in progress.
    pub status: Option<String>,
    /// An incident (number, `INC-number` or id).
    pub incident: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The filter a query asks for, as this caller may see it.
pub async fn filter(state: &AppState, p: &Principal, q: &ActionQuery) -> ApiResult<ActionFilter> {
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let owner = match q.owner.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some("mine" | "me") => Some(p.user.id),
        Some(other) => Some(UserId(other.parse().map_err(|_| bad("owner: `mine` or a user id".into()))?)),
    };
    let mut statuses = Vec::new();
    for word in q.status.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        if word == "open" {
            statuses.extend([ActionStatus::Open, ActionStatus::InProgress]);
        } else {
            statuses.push(word.parse::<ActionStatus>().map_err(|e| bad(e.to_string()))?);
        }
    }
    let service = match q.service.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ServiceId(s.parse().map_err(|_| bad("service: a service id".into()))?)),
    };
    let incident: Option<IncidentId> = match q.incident.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(incidents::named_in_body(state, p, "incident", raw).await?.id),
    };
    let before_number = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| bad("cursor: not a cursor this API issued".into()))?),
        None => None,
    };
    Ok(ActionFilter {
        incident,
        owner,
        service,
        statuses,
        overdue_on: q.overdue.unwrap_or(false).then(|| crate::app::review::analytics::today(state)),
        before_number,
        limit: q.limit.unwrap_or(50),
        viewer: crate::app::visibility::viewer(state, p),
    })
}

/// One page of action items across incidents, newest first.
pub async fn list(state: &AppState, p: &Principal, q: &ActionQuery) -> ApiResult<Page<ActionItem>> {
    let f = filter(state, p, q).await?;
    Ok(state.store.list_action_items(&f).await?)
}

/// Every action item of one incident, oldest first.
pub async fn of_incident(state: &AppState, incident: IncidentId) -> ApiResult<Vec<ActionItem>> {
    let f = ActionFilter { incident: Some(incident), limit: 200, ..Default::default() };
    let mut items = state.store.list_action_items(&f).await?.items;
    items.reverse();
    Ok(items)
}
