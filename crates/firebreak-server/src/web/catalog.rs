//! Service catalog and alert pages: services (list, create, edit), their integrations (add
//! one, rotate its key) and alerts (list with filters, detail with the payload, acknowledge
//! and resolve). An integration key is shown once, on the page that answers the form that
//! created or rotated it, with its endpoint and ready-to-paste examples for its type.
//!
//! Validation and key handling are the API handlers' own: the forms call them with the
//! signed-in user, so the UI and the API cannot disagree about what is valid.

use super::{
    Chrome, CsrfOnly, Submitted, WebError, WebPrincipal, WebResult, answer, no_store, render, see, show_time,
    unless_missing, urlencode,
};
use crate::AppState;
use crate::app::alerts::{AlertQuery, AlertView};
use crate::app::catalog::{
    CreateIntegration, IntegrationWithKey, ServiceBody, ServiceView, integration_url, public_base,
};
use crate::auth::Principal;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_domain::alert::Alert;
use firebreak_domain::alert::{AlertAction, AlertStatus, IntegrationKind};
use firebreak_domain::{AlertId, IncidentId, IncidentRef, ServiceId};
use firebreak_store::Service;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list_services).post(create_service))
        .route("/services/{id}", get(service_page))
        .route("/services/{id}/edit", post(update_service))
        .route("/services/{id}/integrations", post(create_integration))
        .route("/integrations/{id}/rotate-key", post(rotate_integration_key))
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(alert_page))
        .route("/alerts/{id}/attach", post(attach_alert))
        .route("/alerts/{id}/detach", post(detach_alert))
        .route("/alerts/{id}/actions/{action}", post(act_on_alert))
}

const NO_SUCH_SERVICE: &str = "There is no such service.";

fn no_such_service() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, NO_SUCH_SERVICE)
}

fn no_such_alert() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "There is no such alert.")
}

/// Store "not found" as this page's own message; everything else as it comes.
pub(super) fn or_missing(e: ApiError, missing: fn() -> WebError) -> WebError {
    if e.status == StatusCode::NOT_FOUND { missing() } else { e.into() }
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// At most `max` characters of `s`, with an ellipsis when cut.
pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

// ---------------------------------------------------------------- services

/// One row of the service list.
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub tags: Vec<String>,
    pub auto_resolve: bool,
}

/// What a service form shows in its fields (blank, the service's, or what was posted).
#[derive(Default)]
pub struct ServiceFormValues {
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub runbook_url: String,
    pub tags: String,
    pub auto_resolve: bool,
    /// The escalation policy's id, or empty for none.
    pub escalation_policy: String,
}

impl From<&ServiceView> for ServiceFormValues {
    fn from(s: &ServiceView) -> Self {
        ServiceFormValues {
            name: s.name.clone(),
            description: s.description.clone(),
            owner_team: s.owner_team.clone(),
            runbook_url: s.runbook_url.clone(),
            tags: s.tags.join(", "),
            auto_resolve: s.auto_resolve,
            escalation_policy: s.escalation_policy_id.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    chrome: Chrome,
    services: Vec<ServiceRow>,
    error: String,
    form: ServiceFormValues,
}

async fn services_view(state: &AppState, p: &Principal) -> WebResult<ServicesPage> {
    let mut services = state.store.list_services().await?;
    services.sort_by_key(|s| s.name.to_lowercase());
    Ok(ServicesPage {
        chrome: Chrome::for_user(p, "services"),
        services: services
            .into_iter()
            .map(|s| ServiceRow {
                id: s.id.to_string(),
                name: s.name,
                description: clip(&s.description, 160),
                owner_team: s.owner_team,
                tags: s.tags,
                auto_resolve: s.auto_resolve,
            })
            .collect(),
        error: String::new(),
        form: ServiceFormValues { auto_resolve: true, ..Default::default() },
    })
}

async fn list_services(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    Ok(render(&services_view(&state, &p).await?))
}

/// The create and edit forms; the edit form has no name.
#[derive(Deserialize)]
struct ServiceForm {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner_team: String,
    #[serde(default)]
    runbook_url: String,
    #[serde(default)]
    tags: String,
    /// A checkbox: present when ticked.
    auto_resolve: Option<String>,
    /// The edit form's policy select: a policy id, or empty for none. Absent (the create
    /// form): kept as it is.
    escalation_policy: Option<String>,
}

impl ServiceForm {
    /// The body of a create (`named`: the name, empty when missing) or an update (the name is
    /// not the edit form's to change).
    fn body(&self, named: bool) -> Result<ServiceBody, ApiError> {
        let escalation_policy_id = match self.escalation_policy.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(id) => Some(Some(id.parse().map_err(|_| {
                ApiError::from(firebreak_domain::DomainError::invalid(
                    "escalation_policy_id",
                    "choose an escalation policy from the list",
                ))
            })?)),
        };
        Ok(ServiceBody {
            name: named.then(|| self.name.clone().unwrap_or_default()),
            description: Some(self.description.clone()),
            owner_team: Some(self.owner_team.clone()),
            runbook_url: Some(self.runbook_url.clone()),
            tags: Some(split_list(&self.tags)),
            auto_resolve: Some(self.auto_resolve.is_some()),
            grouping: None,
            escalation_policy_id,
        })
    }

    fn values(&self) -> ServiceFormValues {
        ServiceFormValues {
            name: self.name.clone().unwrap_or_default(),
            description: self.description.clone(),
            owner_team: self.owner_team.clone(),
            runbook_url: self.runbook_url.clone(),
            tags: self.tags.clone(),
            auto_resolve: self.auto_resolve.is_some(),
            escalation_policy: self.escalation_policy.clone().unwrap_or_default(),
        }
    }
}

async fn create_service(
    State(state): State<AppState>,
    Submitted(p, form): Submitted<ServiceForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async { crate::app::catalog::create_service(&state, &p, form.body(true)?).await }.await;
    answer(
        outcome,
        async |service| Ok(see(&format!("/services/{}", service.id))),
        async |error| Ok(render(&ServicesPage { error, form: form.values(), ..services_view(&state, &p).await? })),
    )
    .await
}

/// One integration of a service, as its page lists it. The key itself is never here.
pub struct IntegrationRow {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    /// Where it receives alerts, with a placeholder where the key goes in the path.
    pub endpoint: String,
    pub created: String,
    pub key_rotated: String,
}

/// One ready-to-paste configuration snippet.
pub struct Example {
    pub title: &'static str,
    pub text: String,
}

/// A key just created or rotated, shown on this one response only.
pub struct RevealedKey {
    pub name: String,
    pub kind: &'static str,
    pub key: String,
    pub url: String,
    pub rotated: bool,
    pub examples: Vec<Example>,
}

/// An escalation policy offered by the service form.
pub struct PolicyOption {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "service.html")]
pub(super) struct ServicePage {
    chrome: Chrome,
    service: ServiceView,
    created: String,
    updated: String,
    integrations: Vec<IntegrationRow>,
    kinds: Vec<&'static str>,
    edit: ServiceFormValues,
    /// Every escalation policy, for the edit form's select.
    policies: Vec<PolicyOption>,
    error: String,
    new_integration_name: String,
    new_integration_kind: String,
    revealed: Option<RevealedKey>,
    /// Heartbeats, webhook mappings and checks.
    pub(super) monitoring: super::monitoring::Monitoring,
}

pub(super) async fn service_view(
    state: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    id: &str,
) -> WebResult<ServicePage> {
    let id: ServiceId = id.parse().map_err(|_| no_such_service())?;
    let service: ServiceView =
        state.store.get_service(id).await.map_err(|e| or_missing(e.into(), no_such_service))?.into();
    let base = public_base(state, headers);
    let integrations = state.store.list_integrations(id).await?;
    let monitoring = super::monitoring::sections(state, id, &integrations).await?;
    let integrations = integrations
        .into_iter()
        .map(|i| IntegrationRow {
            id: i.id.to_string(),
            kind: i.kind.as_str(),
            endpoint: integration_url(&base, i.kind, "<key>"),
            name: i.name,
            created: show_time(&i.created_at),
            key_rotated: i.key_rotated_at.map(|t| show_time(&t)).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let policies = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .map(|p| PolicyOption { id: p.id.to_string(), name: p.name })
        .collect();
    Ok(ServicePage {
        chrome: Chrome::for_user(p, "services"),
        policies,
        created: show_time(&service.created_at),
        updated: show_time(&service.updated_at),
        edit: ServiceFormValues::from(&service),
        service,
        integrations,
        kinds: IntegrationKind::ALL.iter().map(|k| k.as_str()).collect(),
        error: String::new(),
        new_integration_name: String::new(),
        new_integration_kind: IntegrationKind::Pagerduty.as_str().into(),
        revealed: None,
        monitoring,
    })
}

async fn service_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    Ok(render(&service_view(&state, &p, &headers, &id).await?))
}

async fn update_service(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<ServiceForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async { crate::app::catalog::update_service(&state, &p, id.clone(), form.body(false)?).await }.await;
    let outcome = unless_missing(outcome, NO_SUCH_SERVICE)?;
    answer(
        outcome,
        async |service| Ok(see(&format!("/services/{}", service.id))),
        async |error| {
            Ok(render(&ServicePage { error, edit: form.values(), ..service_view(&state, &p, &headers, &id).await? }))
        },
    )
    .await
}

#[derive(Deserialize)]
struct IntegrationForm {
    #[serde(rename = "type")]
    kind: String,
    name: String,
}

fn reveal(created: IntegrationWithKey, base: &str, rotated: bool) -> RevealedKey {
    let kind = created.integration.kind;
    RevealedKey {
        name: created.integration.name,
        kind: kind.as_str(),
        examples: examples(kind, base, &created.key, &created.url),
        key: created.key,
        url: created.url,
        rotated,
    }
}

async fn create_integration(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<IntegrationForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let base = public_base(&state, &headers);
    let outcome = async {
        let body = CreateIntegration { kind: form.kind.parse()?, name: form.name.clone() };
        crate::app::catalog::create_integration(&state, &p, &base, &id, body).await
    }
    .await;
    let outcome = unless_missing(outcome, NO_SUCH_SERVICE)?;
    let done = async |created| {
        let page = service_view(&state, &p, &headers, &id).await?;
        let page = ServicePage { revealed: Some(reveal(created, &base, false)), ..page };
        Ok(no_store((StatusCode::CREATED, render(&page)).into_response()))
    };
    answer(outcome, done, async |error| {
        let page = service_view(&state, &p, &headers, &id).await?;
        Ok(render(&ServicePage { error, new_integration_name: form.name, new_integration_kind: form.kind, ..page }))
    })
    .await
}

async fn rotate_integration_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    p.require_responder()?;
    let rotated = crate::app::catalog::rotate_integration_key(&state, &p, &public_base(&state, &headers), &id)
        .await
        .map_err(|e| or_missing(e, || WebError::new(StatusCode::NOT_FOUND, "There is no such integration.")))?;
    let service_id = rotated.integration.service_id.to_string();
    let mut page = service_view(&state, &p, &headers, &service_id).await?;
    page.revealed = Some(reveal(rotated, &public_base(&state, &headers), true));
    Ok(no_store(render(&page)))
}

/// A shell word: single-quoted unless it needs no quoting.
fn sh(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A YAML double-quoted scalar.
fn yaml(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Ready-to-paste configuration for an integration of `kind` with `key`, reached at `url`.
fn examples(kind: IntegrationKind, base: &str, key: &str, url: &str) -> Vec<Example> {
    let curl_json = |headers: &[String], body: serde_json::Value| {
        let mut lines = vec![format!("curl -sS -X POST {}", sh(url))];
        lines.extend(headers.iter().map(|h| format!("  -H {}", sh(h))));
        lines.push("  -H 'Content-Type: application/json'".into());
        lines.push(format!("  -d {}", sh(&body.to_string())));
        lines.join(" \\\n")
    };
    match kind {
        IntegrationKind::Pagerduty => vec![
            Example {
                title: "Send a test event with curl (PagerDuty Events API v2)",
                text: curl_json(
                    &[],
                    json!({
                        "routing_key": key,
                        "event_action": "trigger",
                        "dedup_key": "disk-full-db-1",
                        "payload": {"summary": "Disk almost full on db-1", "source": "db-1", "severity": "warning"},
                    }),
                ),
            },
            Example {
                title: "Prometheus Alertmanager receiver",
                text: format!(
                    "receivers:\n  - name: firebreak\n    pagerduty_configs:\n      - routing_key: {}\n        url: {}\n        send_resolved: true\n",
                    yaml(key),
                    yaml(url)
                ),
            },
            Example {
                title: "Any other PagerDuty client",
                text: format!("Events API v2 URL:  {url}\nIntegration (routing) key:  {key}\n"),
            },
        ],
        IntegrationKind::Opsgenie => vec![
            Example {
                title: "Send a test alert with curl (Opsgenie Alert API)",
                text: curl_json(
                    &[format!("Authorization: GenieKey {key}")],
                    json!({"message": "Disk almost full on db-1", "alias": "disk-full-db-1", "priority": "P3"}),
                ),
            },
            Example {
                title: "Prometheus Alertmanager receiver",
                text: format!(
                    "receivers:\n  - name: firebreak\n    opsgenie_configs:\n      - api_key: {}\n        api_url: {}\n        send_resolved: true\n",
                    yaml(key),
                    yaml(&format!("{base}/"))
                ),
            },
        ],
        IntegrationKind::Alertmanager => vec![Example {
            title: "Prometheus Alertmanager receiver",
            text: format!(
                "route:\n  receiver: firebreak\nreceivers:\n  - name: firebreak\n    webhook_configs:\n      - url: {}\n        send_resolved: true\n",
                yaml(url)
            ),
        }],
        IntegrationKind::Grafana => vec![
            Example {
                title: "Grafana contact point",
                text: format!(
                    "In Grafana: Alerting → Contact points → Add contact point\n  Integration: Webhook\n  URL: {url}\n  HTTP method: POST\n"
                ),
            },
            Example {
                title: "Grafana contact point (provisioning file)",
                text: format!(
                    "apiVersion: 1\ncontactPoints:\n  - orgId: 1\n    name: firebreak\n    receivers:\n      - uid: firebreak\n        type: webhook\n        settings:\n          url: {}\n          httpMethod: POST\n",
                    yaml(url)
                ),
            },
        ],
        IntegrationKind::Generic => vec![Example {
            title: "Send a test event with curl",
            text: curl_json(
                &[],
                json!({"summary": "Disk almost full on db-1", "dedup_key": "disk-full-db-1", "severity": "warning"}),
            ),
        }],
        IntegrationKind::Heartbeat => vec![
            Example { title: "Send a beat with curl", text: format!("curl -fsS -m 10 -X POST {}\n", sh(url)) },
            Example {
                title: "Beat every 5 minutes from cron (the default interval, with 1 minute of grace)",
                text: format!("*/5 * * * * curl -fsS -m 10 -X POST {} > /dev/null\n", sh(url)),
            },
        ],
    }
}

// ---------------------------------------------------------------- alerts

/// One row of the alert list.
pub struct AlertRow {
    pub id: String,
    pub summary: String,
    pub source: String,
    pub status: &'static str,
    pub acknowledged: bool,
    pub severity: &'static str,
    pub service_id: String,
    pub service: String,
    pub count: i64,
    pub last_seen: String,
    /// The incident it belongs to (`INC-42`), empty when none.
    pub incident: String,
}

/// One option of a select whose value and label differ.
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The service choices of a form: every service, by name; `selected` is the chosen id.
pub(super) fn service_options(services: &[Service], selected: &str) -> Vec<SelectOption> {
    services
        .iter()
        .map(|s| {
            let value = s.id.to_string();
            SelectOption { selected: value == selected, value, label: s.name.clone() }
        })
        .collect()
}

/// Every service, sorted by name as the forms and filters list them.
pub(super) async fn services_by_name(state: &AppState) -> WebResult<Vec<Service>> {
    let mut services = state.store.list_services().await?;
    services.sort_by_key(|s| s.name.to_lowercase());
    Ok(services)
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    rows: Vec<AlertRow>,
    statuses: Vec<SelectOption>,
    services: Vec<SelectOption>,
    next_href: String,
    filtered: bool,
    /// Label and title of the incident the list is limited to.
    incident: Option<(String, String)>,
}

#[derive(Deserialize)]
struct AlertListParams {
    status: Option<String>,
    service: Option<String>,
    incident: Option<String>,
    cursor: Option<String>,
}

/// The incident filter of the alert list, as people type and link it (INC-42, 42 or the id):
/// its id, label and title. A restricted incident an outsider may not see does not exist for
/// them.
async fn incident_filter(state: &AppState, p: &Principal, raw: &str) -> WebResult<(IncidentId, String, String)> {
    let missing = || WebError::new(StatusCode::NOT_FOUND, "There is no such incident.");
    let r = crate::app::incidents::incident_ref(raw).map_err(|_| missing())?;
    let i = state.store.get_incident(r).await.map_err(|e| or_missing(e.into(), missing))?;
    if !crate::app::visibility::can_see(state, p, &i).await? {
        return Err(missing());
    }
    Ok((i.id, i.label(), i.title))
}

/// The labels (`INC-42`) of the incidents these alerts belong to.
async fn incident_labels(state: &AppState, alerts: &[Alert]) -> WebResult<HashMap<IncidentId, String>> {
    let mut labels = HashMap::new();
    for id in alerts.iter().filter_map(|a| a.incident_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = labels.entry(id) {
            match state.store.get_incident(IncidentRef::Id(id)).await {
                Ok(i) => {
                    slot.insert(i.label());
                }
                Err(firebreak_store::StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(labels)
}

fn alert_row(a: Alert, services: &[Service], incidents: &HashMap<IncidentId, String>) -> AlertRow {
    AlertRow {
        incident: a.incident_id.and_then(|i| incidents.get(&i).cloned()).unwrap_or_default(),
        id: a.id.to_string(),
        summary: clip(&a.summary, 200),
        status: a.status.as_str(),
        acknowledged: a.status == AlertStatus::Open && a.acknowledged_at.is_some(),
        severity: a.severity.as_str(),
        service_id: a.service_id.to_string(),
        service: services.iter().find(|s| s.id == a.service_id).map(|s| s.name.clone()).unwrap_or_default(),
        count: a.count,
        last_seen: show_time(&a.last_seen_at),
        source: a.source,
    }
}

async fn list_alerts(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Query(q): Query<AlertListParams>,
) -> WebResult<Response> {
    let keep = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let (status, service) = (keep(&q.status), keep(&q.service));
    let incident = match keep(&q.incident) {
        Some(raw) => Some(incident_filter(&state, &p, &raw).await?),
        None => None,
    };
    let incident_id = incident.as_ref().map(|i| i.0.to_string());
    let query = AlertQuery {
        status: status.clone(),
        service_id: service.clone(),
        incident_id,
        cursor: keep(&q.cursor),
        limit: Some(50),
    };
    let page = crate::app::alerts::list(&state, &p, &query).await?;
    let services = services_by_name(&state).await?;
    let incidents = incident_labels(&state, &page.items).await?;
    let next_href = page.next_before.map(|c| {
        let (st, sv) = (status.as_deref().unwrap_or_default(), service.as_deref().unwrap_or_default());
        let inc = incident.as_ref().map(|(_, label, _)| format!("&incident={}", urlencode(label))).unwrap_or_default();
        format!("/alerts?status={}&service={}{inc}&cursor={}", urlencode(st), urlencode(sv), urlencode(&c.to_string()))
    });
    let statuses = AlertStatus::ALL.iter().map(|st| st.as_str());
    let page = AlertsPage {
        chrome: Chrome::for_user(&p, "alerts"),
        rows: page.items.into_iter().map(|a| alert_row(a, &services, &incidents)).collect(),
        statuses: statuses
            .map(|st| SelectOption { value: st.into(), label: st.into(), selected: status.as_deref() == Some(st) })
            .collect(),
        services: service_options(&services, service.as_deref().unwrap_or_default()),
        next_href: next_href.unwrap_or_default(),
        filtered: status.is_some() || service.is_some() || incident.is_some(),
        incident: incident.map(|(_, label, title)| (label, title)),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    chrome: Chrome,
    alert: AlertView,
    service: String,
    integration: String,
    /// Label and title of the incident the alert belongs to.
    incident: Option<(String, String)>,
    details: String,
    /// Id and name of the classification rule that matched it.
    matched_rule: Option<(String, String)>,
    /// Id and name of the maintenance window that suppressed it.
    suppressed_by: Option<(String, String)>,
    first_seen: String,
    last_seen: String,
    acknowledged: String,
    resolved: String,
    can_acknowledge: bool,
    can_resolve: bool,
    /// Open incidents the alert may move to (label and title), for responders.
    movable_to: Vec<(String, String)>,
    /// The incident label typed or chosen in the move form, kept when it fails.
    move_to: String,
    error: String,
}

async fn alert_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    Ok(render(&alert_view(&state, &p, &id).await?))
}

async fn alert_view(state: &AppState, p: &Principal, id: &str) -> WebResult<AlertPage> {
    let id: AlertId = id.parse().map_err(|_| no_such_alert())?;
    let alert: AlertView = state.store.get_alert(id).await.map_err(|e| or_missing(e.into(), no_such_alert))?.into();
    let service = state.store.get_service(alert.service_id).await.map(|s| s.name).unwrap_or_default();
    let integration = state
        .store
        .get_integration(alert.integration_id)
        .await
        .map(|i| format!("{} ({})", i.name, i.kind))
        .unwrap_or_default();
    let incident = match alert.incident_id {
        Some(i) => state.store.get_incident(IncidentRef::Id(i)).await.ok().map(|i| (i.label(), i.title)),
        None => None,
    };
    let open = alert.status == AlertStatus::Open;
    // Firebreak's own notes in the details: `{"id": …, "name": …}`.
    let note = |key: &str| {
        let v = alert.details.get(key)?;
        let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_owned);
        Some((text("id").unwrap_or_default(), text("name").unwrap_or_default()))
    };
    let (matched_rule, suppressed_by) = (note("matched_rule"), note("suppressed_by"));
    let when = |t: &Option<firebreak_domain::Timestamp>| t.as_ref().map(show_time).unwrap_or_default();
    let page = AlertPage {
        chrome: Chrome::for_user(p, "alerts"),
        service,
        integration,
        incident,
        details: serde_json::to_string_pretty(&alert.details).unwrap_or_default(),
        matched_rule,
        suppressed_by,
        first_seen: show_time(&alert.first_seen_at),
        last_seen: show_time(&alert.last_seen_at),
        acknowledged: when(&alert.acknowledged_at),
        resolved: when(&alert.resolved_at),
        can_acknowledge: open && alert.acknowledged_at.is_none(),
        can_resolve: open,
        movable_to: if p.user.role.can_respond() {
            crate::app::incidents::open_choices(state, p, alert.incident_id)
                .await?
                .into_iter()
                .map(|i| (i.label(), i.title))
                .collect()
        } else {
            Vec::new()
        },
        move_to: String::new(),
        error: String::new(),
        alert,
    };
    Ok(page)
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    incident: String,
}

/// Moves the alert onto the incident chosen, then shows the alert again (or the form with why not).
async fn attach_alert(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<MoveForm>,
) -> WebResult<Response> {
    let outcome = crate::app::alerts::move_alert(&state, &p, id.clone(), Some(&form.incident)).await;
    answer(
        unless_missing(outcome, "There is no such alert.")?,
        async |alert| Ok(see(&format!("/alerts/{}", alert.id))),
        async |error| {
            Ok(render(&AlertPage { error, move_to: form.incident.clone(), ..alert_view(&state, &p, &id).await? }))
        },
    )
    .await
}

#[derive(Deserialize)]
struct DetachForm {
    /// `incident`: go back to the incident page the alert was on (its detach button is there).
    #[serde(default)]
    back: String,
}

/// Takes the alert off its incident, then shows the alert (or that incident's page).
async fn detach_alert(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<DetachForm>,
) -> WebResult<Response> {
    let before = id.parse::<AlertId>().map_err(|_| no_such_alert())?;
    let before = state.store.get_alert(before).await.map_err(|e| or_missing(e.into(), no_such_alert))?;
    let outcome = crate::app::alerts::move_alert(&state, &p, id.clone(), None).await;
    let back = match (form.back.as_str(), before.incident_id) {
        ("incident", Some(i)) => {
            state.store.get_incident(IncidentRef::Id(i)).await.ok().map(|i| format!("/incidents/{}", i.label()))
        }
        _ => None,
    };
    answer(
        unless_missing(outcome, "There is no such alert.")?,
        async |alert| Ok(see(&back.unwrap_or_else(|| format!("/alerts/{}", alert.id)))),
        async |error| Ok(render(&AlertPage { error, ..alert_view(&state, &p, &id).await? })),
    )
    .await
}

async fn act_on_alert(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Submitted(p, _): Submitted<CsrfOnly>,
) -> WebResult<Response> {
    let action = match action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return Err(WebError::new(StatusCode::NOT_FOUND, "There is no such action.")),
    };
    p.require_responder()?;
    let id: AlertId = id.parse().map_err(|_| no_such_alert())?;
    let alert =
        state.store.act_on_alert(id, action, &p.actor()).await.map_err(|e| or_missing(e.into(), no_such_alert))?;
    Ok(Redirect::to(&format!("/alerts/{}", alert.id)).into_response())
}
