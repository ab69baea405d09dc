//! The service catalog and its integrations. Integration keys are shown once, when created
//! or rotated, with the URL to send alerts to.

use crate::AppState;
use crate::app::mapping::Mapping;
use crate::auth::{self, Principal};
use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, StatusCode};
use firebreak_domain::alert::IntegrationKind;
use firebreak_domain::incident::{parse_labels, parse_summary};
use firebreak_domain::user::parse_name;
use firebreak_domain::{DomainError, EscalationPolicyId, IntegrationId, ServiceId, Timestamp};
use firebreak_store::{Integration, Service, ServiceFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    #[schema(value_type = String, format = Uuid)]
    pub id: ServiceId,
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub runbook_url: String,
    pub tags: Vec<String>,
    /// Resolve the service's incident when all its alerts have resolved.
    pub auto_resolve: bool,
    pub grouping: firebreak_domain::rules::Grouping,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The escalation policy that pages for the service's incidents (`null`: nobody is paged).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub escalation_policy_id: Option<EscalationPolicyId>,
}

impl From<Service> for ServiceView {
    fn from(s: Service) -> Self {
        ServiceView {
            id: s.id,
            name: s.name,
            description: s.description,
            owner_team: s.owner_team,
            runbook_url: s.runbook_url,
            tags: s.tags,
            auto_resolve: s.auto_resolve,
            grouping: s.grouping,
            created_at: s.created_at,
            updated_at: s.updated_at,
            escalation_policy_id: s.escalation_policy_id,
        }
    }
}

/// Reads a field that may be omitted (`None`), `null` (`Some(None)`) or a value.
pub fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A new service, or changes to one (omitted fields stay as they are).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_team: Option<String>,
    /// An http(s) URL, or empty.
    pub runbook_url: Option<String>,
    pub tags: Option<Vec<String>>,
    pub auto_resolve: Option<bool>,
    /// `{"by":"service"}` (default) or `{"by":"labels","labels":[…],"window_secs":N}`.
    pub grouping: Option<firebreak_domain::rules::Grouping>,
    /// The escalation policy that pages for its incidents; `null` unsets it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub escalation_policy_id: Option<Option<EscalationPolicyId>>,
}

/// Validates a runbook URL: empty, or http(s) of at most 2000 characters.
pub fn parse_url(value: &str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let lower = v.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://"))
        || v.len() > 2000
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DomainError::invalid(
            "runbook_url",
            "must be an http:// or https:// URL of at most 2000 characters",
        ));
    }
    Ok(v.to_owned())
}

impl ServiceBody {
    fn fields(self) -> Result<ServiceFields, DomainError> {
        Ok(ServiceFields {
            name: self.name.as_deref().map(parse_name).transpose()?,
            description: self.description.as_deref().map(parse_summary).transpose()?,
            owner_team: self
                .owner_team
                .as_deref()
                .map(|t| {
                    if t.trim().is_empty() {
                        Ok(String::new())
                    } else {
                        parse_name(t).map_err(|_| {
                            DomainError::invalid("owner_team", "must be one line of at most 100 characters")
                        })
                    }
                })
                .transpose()?,
            runbook_url: self.runbook_url.as_deref().map(parse_url).transpose()?,
            tags: self.tags.as_deref().map(|t| parse_labels("tags", t)).transpose()?,
            auto_resolve: self.auto_resolve,
            grouping: match self.grouping {
                Some(g) => {
                    g.validate()?;
                    Some(g)
                }
                None => None,
            },
            escalation_policy_id: self.escalation_policy_id,
        })
    }
}

/// A policy a service is pointed to must exist.
pub async fn check_policy(state: &AppState, fields: &ServiceFields) -> ApiResult<()> {
    if let Some(Some(id)) = fields.escalation_policy_id {
        state.store.get_policy(id).await.map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "escalation_policy_id: no such policy")
        })?;
    }
    Ok(())
}

/// Parses a service id path segment (a malformed one is not found).
pub fn service_id(raw: &str) -> ApiResult<ServiceId> {
    raw.parse().map_err(|_| ApiError::not_found("service"))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: IntegrationId,
    #[schema(value_type = String, format = Uuid)]
    pub service_id: ServiceId,
    #[serde(rename = "type")]
    pub kind: IntegrationKind,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub key_rotated_at: Option<Timestamp>,
}

impl From<Integration> for IntegrationView {
    fn from(i: Integration) -> Self {
        IntegrationView {
            id: i.id,
            service_id: i.service_id,
            kind: i.kind,
            name: i.name,
            created_at: i.created_at,
            key_rotated_at: i.key_rotated_at,
        }
    }
}

/// An integration with its secret key and where to send alerts; shown only once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationWithKey {
    #[serde(flatten)]
    pub integration: IntegrationView,
    /// The integration key. Stored only as a hash: copy it now.
    pub key: String,
    /// Where the monitoring tool sends alerts.
    pub url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    #[serde(rename = "type")]
    pub kind: IntegrationKind,
    pub name: String,
}

/// The base URL people and tools reach this server at.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1:8080");
    let scheme = if auth::is_https(headers, state) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Where an integration of `kind` with `key` receives alerts.
pub fn integration_url(base: &str, kind: IntegrationKind, key: &str) -> String {
    match kind {
        IntegrationKind::Pagerduty => format!("{base}/v2/enqueue"),
        IntegrationKind::Opsgenie => format!("{base}/v2/alerts"),
        other => format!("{base}/ingest/{key}/{other}"),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeartbeatView {
    #[schema(value_type = String, format = Uuid)]
    pub integration_id: IntegrationId,
    pub interval_seconds: i64,
    pub grace_seconds: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_beat_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// The deadline passed and the missed-heartbeat alert is open.
    pub missed: bool,
}

impl From<firebreak_store::Heartbeat> for HeartbeatView {
    fn from(h: firebreak_store::Heartbeat) -> Self {
        HeartbeatView {
            integration_id: h.integration_id,
            interval_seconds: h.interval_secs,
            grace_seconds: h.grace_secs,
            last_beat_at: h.last_beat_at,
            due_at: h.due_at,
            missed: h.missed,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatSettings {
    /// Expected time between beats: 10 s to 30 days.
    pub interval_seconds: i64,
    /// Extra time allowed before the beat counts as missed: 0 to 1 day.
    #[serde(default)]
    pub grace_seconds: i64,
}

/// Parses an integration id path segment (a malformed one is not found).
pub fn integration_id(raw: &str) -> ApiResult<IntegrationId> {
    raw.parse().map_err(|_| ApiError::not_found("integration"))
}

/// The integration `raw`, which must be a generic webhook, the only kind with a mapping (else 409).
pub async fn generic_integration(state: &AppState, raw: &str) -> ApiResult<Integration> {
    let integration = state.store.get_integration(integration_id(raw)?).await?;
    if integration.kind != IntegrationKind::Generic {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "only generic webhook integrations have a mapping",
        ));
    }
    Ok(integration)
}

/// The payload mapping saved on an integration, or the default one.
pub fn mapping_of(integration: &Integration) -> Mapping {
    integration.config.get("mapping").cloned().and_then(|m| serde_json::from_value(m).ok()).unwrap_or_default()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingTest {
    /// A payload as the tool would send it.
    #[schema(value_type = Object)]
    pub sample: serde_json::Value,
    /// A mapping to try instead of the saved one.
    pub mapping: Option<Mapping>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MappedEvent {
    pub action: String,
    pub dedup_key: Option<String>,
    pub summary: String,
    pub source: String,
    pub severity: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Adds a service to the catalog (`name` required, its escalation policy must exist); responders only.
pub async fn create_service(state: &AppState, p: &Principal, body: ServiceBody) -> ApiResult<ServiceView> {
    p.require_responder()?;
    if body.name.is_none() {
        return Err(DomainError::invalid("name", "is required").into());
    }
    let fields = body.fields()?;
    check_policy(state, &fields).await?;
    let service = state.store.create_service(fields, &p.actor()).await?;
    Ok(service.into())
}

/// Every service in the catalog.
pub async fn list_services(state: &AppState) -> ApiResult<Vec<ServiceView>> {
    Ok(state.store.list_services().await?.into_iter().map(Into::into).collect())
}

/// The service `id`.
pub async fn get_service(state: &AppState, id: String) -> ApiResult<ServiceView> {
    Ok(state.store.get_service(service_id(&id)?).await?.into())
}

/// Changes the service `id` (omitted fields stay; a policy named must exist); responders only.
pub async fn update_service(state: &AppState, p: &Principal, id: String, body: ServiceBody) -> ApiResult<ServiceView> {
    p.require_responder()?;
    let id = service_id(&id)?;
    let fields = body.fields()?;
    check_policy(state, &fields).await?;
    Ok(state.store.update_service(id, fields, &p.actor()).await?.into())
}

/// The heartbeat of the integration `id`: interval, grace, last beat and next deadline.
pub async fn get_heartbeat(state: &AppState, id: String) -> ApiResult<HeartbeatView> {
    Ok(state.store.get_heartbeat(integration_id(&id)?).await?.into())
}

/// Sets the heartbeat interval (10 s to 30 days) and grace (up to a day) of the integration `id`;
/// the next deadline counts from now. Responders only.
pub async fn configure_heartbeat(
    state: &AppState,
    p: &Principal,
    id: String,
    body: HeartbeatSettings,
) -> ApiResult<HeartbeatView> {
    p.require_responder()?;
    if !(10..=30 * 86_400).contains(&body.interval_seconds) {
        return Err(DomainError::invalid("interval_seconds", "must be between 10 seconds and 30 days").into());
    }
    if !(0..=86_400).contains(&body.grace_seconds) {
        return Err(DomainError::invalid("grace_seconds", "must be between 0 and 1 day").into());
    }
    let hb = state
        .store
        .configure_heartbeat(
            integration_id(&id)?,
            body.interval_seconds,
            body.grace_seconds,
            state.clock.now(),
            &p.actor(),
        )
        .await?;
    Ok(hb.into())
}

/// The payload mapping of the generic webhook integration `id`.
pub async fn get_mapping(state: &AppState, id: String) -> ApiResult<Mapping> {
    Ok(mapping_of(&generic_integration(state, &id).await?))
}

/// Validates and saves the payload mapping of the generic webhook integration `id`; responders only.
pub async fn set_mapping(state: &AppState, p: &Principal, id: String, mapping: Mapping) -> ApiResult<Mapping> {
    p.require_responder()?;
    let integration = generic_integration(state, &id).await?;
    mapping.validate().map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))?;
    let config = serde_json::json!({ "mapping": mapping });
    let updated = state.store.set_integration_config(integration.id, config, &p.actor()).await?;
    Ok(mapping_of(&updated))
}

/// Adds an integration to a service; its key is shown once, here (only its hash is kept).
pub async fn create_integration(
    state: &AppState,
    p: &Principal,
    base: &str,
    id: &str,
    body: CreateIntegration,
) -> ApiResult<IntegrationWithKey> {
    p.require_responder()?;
    let service = service_id(id)?;
    let name = parse_name(&body.name)?;
    let key = auth::new_integration_key();
    let integration =
        state.store.create_integration(service, body.kind, &name, &auth::secret_hash(&key), &p.actor()).await?;
    let url = integration_url(base, integration.kind, &key);
    Ok(IntegrationWithKey { integration: integration.into(), key, url })
}

/// A service's integrations.
pub async fn list_integrations(state: &AppState, id: &str) -> ApiResult<Vec<IntegrationView>> {
    let service = state.store.get_service(service_id(id)?).await?;
    Ok(state.store.list_integrations(service.id).await?.into_iter().map(Into::into).collect())
}

/// Gives an integration a new key (the old one stops working at once), shown once.
pub async fn rotate_integration_key(
    state: &AppState,
    p: &Principal,
    base: &str,
    id: &str,
) -> ApiResult<IntegrationWithKey> {
    p.require_responder()?;
    let id: IntegrationId = id.parse().map_err(|_| ApiError::not_found("integration"))?;
    let key = auth::new_integration_key();
    let integration = state.store.rotate_integration_key(id, &auth::secret_hash(&key), &p.actor()).await?;
    let url = integration_url(base, integration.kind, &key);
    Ok(IntegrationWithKey { integration: integration.into(), key, url })
}

/// What a webhook mapping (the one given, or the integration's own) makes of a sample body.
pub async fn test_mapping(state: &AppState, id: &str, body: MappingTest) -> ApiResult<MappedEvent> {
    let integration = generic_integration(state, id).await?;
    let mapping = body.mapping.unwrap_or_else(|| mapping_of(&integration));
    mapping.validate().map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))?;
    let event = mapping
        .apply(&body.sample)
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "mapping_failed", m))?;
    Ok(MappedEvent {
        action: event.action.to_string(),
        dedup_key: event.dedup_key.map(|k| k.as_str().to_owned()),
        summary: event.summary,
        source: event.source,
        severity: event.severity.to_string(),
        details: event.details,
    })
}
