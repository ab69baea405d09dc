//! The service catalog and its integrations. Integration keys are shown once, when created
//! or rotated, with the URL to send alerts to.

use crate::AppState;
use crate::api::ItemsBody;
use crate::auth::{self, ApiPrincipal};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorBody};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use firebreak_domain::alert::IntegrationKind;
use firebreak_domain::incident::{parse_labels, parse_summary};
use firebreak_domain::user::parse_name;
use firebreak_domain::{DomainError, EscalationPolicyId, IntegrationId, ServiceId, Timestamp};
use firebreak_store::{Integration, Service, ServiceFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", post(create_service).get(list_services))
        .route("/services/{id}", get(get_service).patch(update_service))
        .route("/services/{id}/integrations", post(create_integration).get(list_integrations))
        .route("/integrations/{id}/rotate-key", post(rotate_integration_key))
        .route("/integrations/{id}/heartbeat", get(get_heartbeat).put(configure_heartbeat))
        .route("/integrations/{id}/mapping", get(get_mapping).put(set_mapping))
        .route("/integrations/{id}/mapping/test", post(test_mapping))
}

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
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
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

fn parse_url(value: &str) -> Result<String, DomainError> {
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
async fn check_policy(state: &AppState, fields: &ServiceFields) -> ApiResult<()> {
    if let Some(Some(id)) = fields.escalation_policy_id {
        state.store.get_policy(id).await.map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "escalation_policy_id: no such policy")
        })?;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceBody,
    responses((status = 201, body = ServiceView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_service(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceView>)> {
    p.require_responder()?;
    if body.name.is_none() {
        return Err(DomainError::invalid("name", "is required").into());
    }
    let fields = body.fields()?;
    check_policy(&state, &fields).await?;
    let service = state.store.create_service(fields, &p.actor()).await?;
    Ok((StatusCode::CREATED, Json(service.into())))
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services", responses((status = 200, body = ItemsBody<ServiceView>)))]
pub async fn list_services(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
) -> ApiResult<Json<ItemsBody<ServiceView>>> {
    Ok(Json(ItemsBody { items: state.store.list_services().await?.into_iter().map(Into::into).collect() }))
}

fn service_id(raw: &str) -> ApiResult<ServiceId> {
    raw.parse().map_err(|_| ApiError::not_found("service"))
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody)))]
pub async fn get_service(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ServiceView>> {
    Ok(Json(state.store.get_service(service_id(&id)?).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "services", request_body = ServiceBody, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ServiceView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<Json<ServiceView>> {
    p.require_responder()?;
    let id = service_id(&id)?;
    let fields = body.fields()?;
    check_policy(&state, &fields).await?;
    Ok(Json(state.store.update_service(id, fields, &p.actor()).await?.into()))
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

#[utoipa::path(post, path = "/api/v1/services/{id}/integrations", tag = "services", request_body = CreateIntegration,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 201, body = IntegrationWithKey), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_integration(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> ApiResult<(StatusCode, Json<IntegrationWithKey>)> {
    p.require_responder()?;
    let service = service_id(&id)?;
    let name = parse_name(&body.name)?;
    let key = auth::new_integration_key();
    let integration =
        state.store.create_integration(service, body.kind, &name, &auth::secret_hash(&key), &p.actor()).await?;
    let url = integration_url(&public_base(&state, &headers), integration.kind, &key);
    Ok((StatusCode::CREATED, Json(IntegrationWithKey { integration: integration.into(), key, url })))
}

#[utoipa::path(get, path = "/api/v1/services/{id}/integrations", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ItemsBody<IntegrationView>), (status = 404, body = ErrorBody)))]
pub async fn list_integrations(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemsBody<IntegrationView>>> {
    let service = state.store.get_service(service_id(&id)?).await?;
    Ok(Json(ItemsBody {
        items: state.store.list_integrations(service.id).await?.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/rotate-key", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = IntegrationWithKey), (status = 404, body = ErrorBody)))]
pub async fn rotate_integration_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IntegrationWithKey>> {
    p.require_responder()?;
    let id: IntegrationId = id.parse().map_err(|_| ApiError::not_found("integration"))?;
    let key = auth::new_integration_key();
    let integration = state.store.rotate_integration_key(id, &auth::secret_hash(&key), &p.actor()).await?;
    let url = integration_url(&public_base(&state, &headers), integration.kind, &key);
    Ok(Json(IntegrationWithKey { integration: integration.into(), key, url }))
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

fn integration_id(raw: &str) -> ApiResult<IntegrationId> {
    raw.parse().map_err(|_| ApiError::not_found("integration"))
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody)))]
pub async fn get_heartbeat(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<HeartbeatView>> {
    Ok(Json(state.store.get_heartbeat(integration_id(&id)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/heartbeat", tag = "services", request_body = HeartbeatSettings,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn configure_heartbeat(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HeartbeatSettings>,
) -> ApiResult<Json<HeartbeatView>> {
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
    Ok(Json(hb.into()))
}

use crate::ingest::generic::Mapping;

async fn generic_integration(state: &AppState, raw: &str) -> ApiResult<Integration> {
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

fn mapping_of(integration: &Integration) -> Mapping {
    integration.config.get("mapping").cloned().and_then(|m| serde_json::from_value(m).ok()).unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/mapping", tag = "services", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_mapping(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Mapping>> {
    Ok(Json(mapping_of(&generic_integration(&state, &id).await?)))
}

#[utoipa::path(put, path = "/api/v1/integrations/{id}/mapping", tag = "services", request_body = Mapping, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Mapping), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_mapping(
    State(state): State<AppState>,
    ApiPrincipal(p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> ApiResult<Json<Mapping>> {
    p.require_responder()?;
    let integration = generic_integration(&state, &id).await?;
    mapping.validate().map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))?;
    let config = serde_json::json!({ "mapping": mapping });
    let updated = state.store.set_integration_config(integration.id, config, &p.actor()).await?;
    Ok(Json(mapping_of(&updated)))
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

#[utoipa::path(post, path = "/api/v1/integrations/{id}/mapping/test", tag = "services", request_body = MappingTest, params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MappedEvent), (status = 422, body = ErrorBody)))]
pub async fn test_mapping(
    State(state): State<AppState>,
    ApiPrincipal(_p): ApiPrincipal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MappingTest>,
) -> ApiResult<Json<MappedEvent>> {
    let integration = generic_integration(&state, &id).await?;
    let mapping = body.mapping.unwrap_or_else(|| mapping_of(&integration));
    mapping.validate().map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m))?;
    let event = mapping
        .apply(&body.sample)
        .map_err(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "mapping_failed", m))?;
    Ok(Json(MappedEvent {
        action: event.action.to_string(),
        dedup_key: event.dedup_key.map(|k| k.as_str().to_owned()),
        summary: event.summary,
        source: event.source,
        severity: event.severity.to_string(),
        details: event.details,
    }))
}
