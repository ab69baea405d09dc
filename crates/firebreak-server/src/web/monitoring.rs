//! How a service is watched, on its page: heartbeat settings (interval and grace, last beat,
//! deadline), the generic webhook's mapping (edit it, or try it on a sample payload without
//! saving), and built-in HTTP/TCP checks (list, create, each one's recent history).
//!
//! As elsewhere in the UI, the forms call the API handlers with the signed-in user; testing a
//! mapping changes nothing, so viewers may do it, as the API lets them.

use super::catalog::{or_missing, service_view};
use super::{
    Chrome, Submitted, WebError, WebPrincipal, WebResult, answer, form_error, render, see, show_time, unless_missing,
};
use crate::AppState;
use crate::app::catalog::{HeartbeatSettings, MappedEvent, MappingTest};
use crate::app::checks::NewCheck;
use crate::app::mapping::Mapping;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use firebreak_domain::alert::IntegrationKind;
use firebreak_domain::rules::Probe;
use firebreak_domain::{DomainError, IntegrationId, ServiceId};
use firebreak_store::{CheckStatus, Integration};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations/{id}/heartbeat", post(configure_heartbeat))
        .route("/integrations/{id}/mapping", post(save_mapping))
        .route("/integrations/{id}/mapping/test", post(test_mapping))
        .route("/services/{id}/checks", post(create_check))
        .route("/checks/{id}", get(check_page))
}

/// How many results a check's page shows.
const HISTORY_LIMIT: u32 = 100;

fn no_such_integration() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "There is no such integration.")
}

fn no_such_check() -> WebError {
    WebError::new(StatusCode::NOT_FOUND, "There is no such check.")
}

/// A span of seconds as people read it: `90` → `1 min 30 s`.
fn human_secs(secs: i64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() { "0 s".into() } else { parts.join(" ") }
}

fn whole_number(field: &'static str, raw: &str) -> Result<i64, DomainError> {
    raw.trim().parse().map_err(|_| DomainError::invalid(field, "must be a whole number"))
}

/// A heartbeat integration with its schedule, and its settings form.
pub struct HeartbeatRow {
    pub id: String,
    pub name: String,
    /// Its schedule; `None` when the store has none for it.
    pub schedule: Option<HeartbeatSchedule>,
    pub form_interval: String,
    pub form_grace: String,
    pub error: String,
}

pub struct HeartbeatSchedule {
    pub interval: String,
    pub grace: String,
    pub last_beat: String,
    pub due: String,
    pub missed: bool,
}

/// A generic webhook integration's mapping editor and tester.
pub struct MappingEditor {
    pub id: String,
    pub name: String,
    /// The mapping as JSON (the saved one, or what was posted).
    pub mapping: String,
    pub sample: String,
    pub error: String,
    pub test_error: String,
    pub result: Option<MappedResult>,
}

/// What the mapping made of the sample.
pub struct MappedResult {
    pub summary: String,
    pub dedup_key: String,
    pub severity: String,
    pub action: String,
    pub source: String,
    pub details: String,
}

impl From<MappedEvent> for MappedResult {
    fn from(e: MappedEvent) -> Self {
        MappedResult {
            summary: e.summary,
            dedup_key: e.dedup_key.unwrap_or_default(),
            severity: e.severity,
            action: e.action,
            source: e.source,
            details: serde_json::to_string_pretty(&e.details).unwrap_or_default(),
        }
    }
}

/// One built-in check of the service.
pub struct CheckRow {
    pub id: String,
    pub name: String,
    pub target: String,
    pub interval: String,
    /// `up`, `down`, `failing` or `not run yet`.
    pub state: &'static str,
    pub state_class: &'static str,
    pub failures: i64,
    pub threshold: i64,
    pub last_checked: String,
    pub last_error: String,
}

impl From<&CheckStatus> for CheckRow {
    fn from(c: &CheckStatus) -> Self {
        let d = &c.definition;
        let (state, state_class) = if c.down {
            ("down", "status-open")
        } else if c.last_checked_at.is_none() {
            ("not run yet", "")
        } else if c.consecutive_failures > 0 {
            ("failing", "status-acknowledged")
        } else {
            ("up", "status-resolved")
        };
        CheckRow {
            id: d.id.to_string(),
            name: d.name.clone(),
            target: match &d.probe {
                Probe::Http { url, method, expected_status, keyword, cert_warn_days } => {
                    let mut t = format!("{method} {url} → {expected_status}");
                    if let Some(k) = keyword {
                        t.push_str(&format!(", body contains “{k}”"));
                    }
                    if *cert_warn_days > 0 && url.to_ascii_lowercase().starts_with("https://") {
                        t.push_str(&format!(", warns {cert_warn_days} days before the certificate expires"));
                    }
                    t
                }
                Probe::Tcp { address } => format!("TCP {address}"),
            },
            interval: human_secs(d.interval_secs),
            state,
            state_class,
            failures: c.consecutive_failures,
            threshold: d.failure_threshold,
            last_checked: c.last_checked_at.as_ref().map(show_time).unwrap_or_default(),
            last_error: c.last_error.clone().unwrap_or_default(),
        }
    }
}

/// What the create-check form shows in its fields.
pub struct CheckFormValues {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub method: String,
    pub expected_status: String,
    pub keyword: String,
    pub cert_warn_days: String,
    pub address: String,
    pub timeout_seconds: String,
    pub interval_secs: String,
    pub failure_threshold: String,
    pub error: String,
}

impl Default for CheckFormValues {
    fn default() -> Self {
        CheckFormValues {
            name: String::new(),
            kind: "http".into(),
            url: String::new(),
            method: "GET".into(),
            expected_status: "200".into(),
            keyword: String::new(),
            cert_warn_days: "14".into(),
            address: String::new(),
            timeout_seconds: "10".into(),
            interval_secs: "60".into(),
            failure_threshold: "3".into(),
            error: String::new(),
        }
    }
}

/// The service page's sections about how the service is watched.
#[derive(Default)]
pub struct Monitoring {
    pub heartbeats: Vec<HeartbeatRow>,
    pub mappings: Vec<MappingEditor>,
    pub checks: Vec<CheckRow>,
    pub check_form: CheckFormValues,
    pub methods: &'static [&'static str],
}

/// The sections for a service with these integrations.
pub(super) async fn sections(
    state: &AppState,
    service: ServiceId,
    integrations: &[Integration],
) -> WebResult<Monitoring> {
    let checks = state.store.list_checks(Some(service)).await?;
    let mut heartbeats = Vec::new();
    let mut mappings = Vec::new();
    for i in integrations {
        match i.kind {
            IntegrationKind::Heartbeat => {
                let schedule = match state.store.get_heartbeat(i.id).await {
                    Ok(h) => Some(h),
                    Err(firebreak_store::StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
                heartbeats.push(HeartbeatRow {
                    id: i.id.to_string(),
                    name: i.name.clone(),
                    form_interval: schedule.as_ref().map(|h| h.interval_secs.to_string()).unwrap_or_default(),
                    form_grace: schedule.as_ref().map(|h| h.grace_secs.to_string()).unwrap_or_default(),
                    schedule: schedule.map(|h| HeartbeatSchedule {
                        interval: human_secs(h.interval_secs),
                        grace: human_secs(h.grace_secs),
                        last_beat: h.last_beat_at.as_ref().map(show_time).unwrap_or_else(|| "never".into()),
                        due: show_time(&h.due_at),
                        missed: h.missed,
                    }),
                    error: String::new(),
                });
            }
            // A check reports through a generic integration of its own, with no mapping to edit.
            IntegrationKind::Generic if !checks.iter().any(|c| c.integration_id == i.id) => {
                mappings.push(MappingEditor {
                    id: i.id.to_string(),
                    name: i.name.clone(),
                    mapping: saved_mapping(i),
                    sample: String::new(),
                    error: String::new(),
                    test_error: String::new(),
                    result: None,
                });
            }
            _ => {}
        }
    }
    Ok(Monitoring {
        heartbeats,
        mappings,
        checks: checks.iter().map(CheckRow::from).collect(),
        check_form: CheckFormValues::default(),
        methods: &["GET", "HEAD", "POST", "PUT", "OPTIONS"],
    })
}

/// The saved mapping as pretty JSON (the default one when none was saved).
fn saved_mapping(i: &Integration) -> String {
    let mapping: Mapping =
        i.config.get("mapping").cloned().and_then(|m| serde_json::from_value(m).ok()).unwrap_or_default();
    serde_json::to_string_pretty(&mapping).unwrap_or_default()
}

async fn integration_of(state: &AppState, raw: &str) -> WebResult<Integration> {
    let id: IntegrationId = raw.parse().map_err(|_| no_such_integration())?;
    state.store.get_integration(id).await.map_err(|e| or_missing(e.into(), no_such_integration))
}

// ---------------------------------------------------------------- heartbeats

#[derive(Deserialize)]
struct HeartbeatForm {
    #[serde(default)]
    interval_seconds: String,
    #[serde(default)]
    grace_seconds: String,
}

async fn configure_heartbeat(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<HeartbeatForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let integration = integration_of(&state, &id).await?;
    if integration.kind != IntegrationKind::Heartbeat {
        return Err(WebError::new(StatusCode::NOT_FOUND, "This integration is not a heartbeat."));
    }
    let outcome = async {
        let interval_seconds = whole_number("interval_seconds", &form.interval_seconds)?;
        let grace_seconds = whole_number("grace_seconds", &form.grace_seconds)?;
        crate::app::catalog::configure_heartbeat(
            &state,
            &p,
            id.clone(),
            HeartbeatSettings { interval_seconds, grace_seconds },
        )
        .await
    }
    .await;
    let outcome = unless_missing(outcome, "This heartbeat has no schedule.")?;
    let service = integration.service_id.to_string();
    let done = format!("/services/{service}#heartbeat-{}", integration.id);
    answer(
        outcome,
        async |_| Ok(see(&done)),
        async |error| {
            let mut page = service_view(&state, &p, &headers, &service).await?;
            if let Some(row) = page.monitoring.heartbeats.iter_mut().find(|h| h.id == integration.id.to_string()) {
                (row.error, row.form_interval, row.form_grace) = (error, form.interval_seconds, form.grace_seconds);
            }
            Ok(render(&page))
        },
    )
    .await
}

// ---------------------------------------------------------------- webhook mappings

/// The mapping editor: one form, two buttons (save, test).
#[derive(Deserialize)]
struct MappingForm {
    #[serde(default)]
    mapping: String,
    #[serde(default)]
    sample: String,
}

fn parse_mapping(raw: &str) -> Result<Mapping, ApiError> {
    serde_json::from_str(raw).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("The mapping is not a valid JSON mapping: {e}"),
        )
    })
}

fn generic_only(integration: &Integration) -> WebResult<()> {
    if integration.kind == IntegrationKind::Generic {
        Ok(())
    } else {
        Err(WebError::new(StatusCode::CONFLICT, "Only generic webhook integrations have a mapping."))
    }
}

/// The service page with `edit` applied to the editor of `integration`, answered with `status`.
async fn editor_page(
    state: &AppState,
    p: &crate::auth::Principal,
    headers: &HeaderMap,
    integration: &Integration,
    status: StatusCode,
    edit: impl FnOnce(&mut MappingEditor),
) -> WebResult<Response> {
    let mut page = service_view(state, p, headers, &integration.service_id.to_string()).await?;
    if let Some(editor) = page.monitoring.mappings.iter_mut().find(|m| m.id == integration.id.to_string()) {
        edit(editor);
    }
    Ok((status, render(&page)).into_response())
}

async fn save_mapping(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<MappingForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let integration = integration_of(&state, &id).await?;
    generic_only(&integration)?;
    let outcome =
        async { crate::app::catalog::set_mapping(&state, &p, id.clone(), parse_mapping(&form.mapping)?).await }.await;
    let done = format!("/services/{}#mapping-{}", integration.service_id, integration.id);
    answer(
        outcome,
        async |_| Ok(see(&done)),
        async |error| {
            editor_page(&state, &p, &headers, &integration, StatusCode::OK, |m| {
                (m.error, m.mapping, m.sample) = (error, form.mapping, form.sample);
            })
            .await
        },
    )
    .await
}

async fn test_mapping(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<MappingForm>,
) -> WebResult<Response> {
    let integration = integration_of(&state, &id).await?;
    generic_only(&integration)?;
    let tested = async {
        let sample: serde_json::Value = serde_json::from_str(&form.sample).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("The sample payload is not valid JSON: {e}"),
            )
        })?;
        // An empty editor tests the saved mapping.
        let mapping = if form.mapping.trim().is_empty() { None } else { Some(parse_mapping(&form.mapping)?) };
        crate::app::catalog::test_mapping(&state, &id, MappingTest { sample, mapping }).await
    }
    .await;
    let (status, outcome) = match tested {
        Ok(event) => (StatusCode::OK, Ok(MappedResult::from(event))),
        Err(e) => {
            let e = form_error(e)?;
            (e.status, Err(e.message))
        }
    };
    editor_page(&state, &p, &headers, &integration, status, |m| {
        if !form.mapping.trim().is_empty() {
            m.mapping = form.mapping;
        }
        m.sample = form.sample;
        match outcome {
            Ok(result) => m.result = Some(result),
            Err(message) => m.test_error = message,
        }
    })
    .await
}

// ---------------------------------------------------------------- checks

#[derive(Deserialize)]
struct CheckForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    expected_status: String,
    #[serde(default)]
    keyword: String,
    #[serde(default)]
    cert_warn_days: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    timeout_seconds: String,
    #[serde(default)]
    interval_secs: String,
    #[serde(default)]
    failure_threshold: String,
}

impl CheckForm {
    fn check(&self) -> Result<NewCheck, DomainError> {
        // Built through serde so every field the form does not ask for takes its default.
        let probe = match self.kind.as_str() {
            "http" => {
                let expected_status: u16 = match self.expected_status.trim() {
                    "" => 200,
                    s => s
                        .parse()
                        .map_err(|_| DomainError::invalid("expected_status", "must be an HTTP status (100 to 599)"))?,
                };
                let mut probe = serde_json::json!({
                    "kind": "http",
                    "url": self.url.trim(),
                    "method": if self.method.is_empty() { "GET" } else { self.method.as_str() },
                    "expected_status": expected_status,
                });
                if !self.keyword.trim().is_empty() {
                    probe["keyword"] = self.keyword.trim().into();
                }
                if !self.cert_warn_days.trim().is_empty() {
                    let days: u32 = self.cert_warn_days.trim().parse().map_err(|_| {
                        DomainError::invalid("cert_warn_days", "must be a whole number of days (0 turns it off)")
                    })?;
                    probe["cert_warn_days"] = days.into();
                }
                serde_json::from_value::<Probe>(probe)
                    .map_err(|e| DomainError::invalid("probe", format!("not a valid HTTP check: {e}")))?
            }
            "tcp" => Probe::Tcp { address: self.address.trim().to_owned() },
            _ => return Err(DomainError::invalid("kind", "must be HTTP or TCP")),
        };
        let optional = |field: &'static str, raw: &str| {
            if raw.trim().is_empty() { Ok(None) } else { whole_number(field, raw).map(Some) }
        };
        let timeout_ms = match self.timeout_seconds.trim() {
            "" => None,
            s => {
                let secs: f64 =
                    s.parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 3600.0).ok_or_else(|| {
                        DomainError::invalid("timeout", "must be a number of seconds, such as 10 or 0.5")
                    })?;
                // Bounded above, so the cast cannot overflow.
                #[allow(clippy::cast_possible_truncation)]
                Some((secs * 1000.0).round() as i64)
            }
        };
        Ok(NewCheck {
            name: self.name.clone(),
            probe,
            interval_secs: optional("interval_secs", &self.interval_secs)?,
            timeout_ms,
            failure_threshold: optional("failure_threshold", &self.failure_threshold)?,
        })
    }

    fn values(self, error: String) -> CheckFormValues {
        CheckFormValues {
            name: self.name,
            kind: self.kind,
            url: self.url,
            method: self.method,
            expected_status: self.expected_status,
            keyword: self.keyword,
            cert_warn_days: self.cert_warn_days,
            address: self.address,
            timeout_seconds: self.timeout_seconds,
            interval_secs: self.interval_secs,
            failure_threshold: self.failure_threshold,
            error,
        }
    }
}

async fn create_check(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Submitted(p, form): Submitted<CheckForm>,
) -> WebResult<Response> {
    p.require_responder()?;
    let outcome = async { crate::app::checks::create_check(&state, &p, id.clone(), form.check()?).await }.await;
    let outcome = unless_missing(outcome, "There is no such service.")?;
    answer(
        outcome,
        async |_| Ok(see(&format!("/services/{id}#checks"))),
        async |error| {
            let mut page = service_view(&state, &p, &headers, &id).await?;
            page.monitoring.check_form = form.values(error);
            Ok(render(&page))
        },
    )
    .await
}

/// One probe outcome as the history lists it.
pub struct ResultRow {
    pub at: String,
    pub ok: bool,
    pub latency_ms: i64,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    chrome: Chrome,
    check: CheckRow,
    service_id: String,
    service: String,
    timeout: String,
    next_run: String,
    results: Vec<ResultRow>,
    history_limit: u32,
}

async fn check_page(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id: uuid::Uuid = id.parse().map_err(|_| no_such_check())?;
    let status = match state.store.get_check(id).await {
        Err(firebreak_store::StoreError::NotFound(_)) => return Err(no_such_check()),
        other => other?,
    };
    let service = state.store.get_service(status.definition.service_id).await.map(|s| s.name).unwrap_or_default();
    let results = state
        .store
        .check_history(id, HISTORY_LIMIT)
        .await?
        .into_iter()
        .map(|r| ResultRow { at: show_time(&r.at), ok: r.ok, latency_ms: r.latency_ms, detail: r.detail })
        .collect();
    let page = CheckPage {
        chrome: Chrome::for_user(&p, "services"),
        check: CheckRow::from(&status),
        service_id: status.definition.service_id.to_string(),
        service,
        timeout: format!("{} ms", status.definition.timeout_ms),
        next_run: show_time(&status.due_at),
        results,
        history_limit: HISTORY_LIMIT,
    };
    Ok(render(&page))
}
