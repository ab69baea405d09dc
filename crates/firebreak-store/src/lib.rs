//! The storage contract: one trait per aggregate (incidents, users and access, audit, alerts,
//! schedules, paging, …), the row types they return, and `suite`, the tests every backend must
//! pass. The SQL itself lives in the backend crates; the part of it that is the same on every
//! backend is written once in [`impl_sql_store!`] (`sql/`, a file per aggregate).

use async_trait::async_trait;
use firebreak_domain::alert::{Alert, AlertEvent, AlertStatus, DedupKey, IntegrationKind};
use firebreak_domain::contact::{ContactKind, ContactMethod, NotificationRule};
use firebreak_domain::escalation::{EscalationPolicy, EscalationPolicyDefinition};
use firebreak_domain::schedule::{OnCallSchedule, Override, ScheduleDefinition};
use firebreak_domain::{
    Actor, AlertId, AuditEntry, AuditVerification, ContactMethodId, DomainError, Email, EscalationPolicyId, Incident,
    IncidentChange, IncidentId, IncidentRef, IncidentStatus, IncidentType, IntegrationId, NewIncident, NotificationId,
    NotificationRuleId, ScheduleId, ServiceId, Severity, TimelineEvent, Timestamp, TokenId, UserId, UserRole, Via,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub mod cache;
pub mod review;
mod sql;
pub mod suite;

pub use cache::IngestCache;
pub use review::ReviewStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user account (never carries the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: UserRole,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// What sign-in needs to know about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub last_failed_login_at: Option<Timestamp>,
}

/// A new account; the password arrives already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: UserRole,
    pub password_hash: Option<String>,
}

/// Changes an admin makes to an account.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<UserRole>,
    pub disabled: Option<bool>,
}

/// An API token's metadata (the secret is shown once and only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Position in the installation-wide order of timeline entries.
    pub seq: i64,
    pub incident_id: IncidentId,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_name: String,
    pub via: Via,
    pub event: TimelineEvent,
    /// Set on an entry copied from an incident merged into this one: that incident's number.
    pub from_number: Option<i64>,
}

/// What a schedule update does with the schedule's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrides {
    /// The definition's overrides replace the stored ones (the API's PUT).
    Replace,
    /// The stored overrides stay (a form that edits the rest).
    Keep,
}

/// Two incidents after a merge, with what moved.
#[derive(Debug, Clone)]
pub struct Merged {
    pub from: Incident,
    pub into: Incident,
    /// Alerts moved from `from` to `into`.
    pub alerts: u32,
    /// Timeline entries copied from `from` to `into`.
    pub entries: u32,
}

/// Which incidents to list. Results are newest first (by number).
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub severities: Vec<Severity>,
    pub kinds: Vec<IncidentType>,
    /// Only incidents numbered below this (the previous page's cursor).
    pub before_number: Option<i64>,
    /// Page size, 1..=200.
    pub limit: u32,
    /// Who is looking: restricted incidents they do not take part in are left out. `None`
    /// (admins, the system) sees everything.
    pub viewer: Option<Viewer>,
}

/// Someone who may see only the restricted incidents they take part in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user: UserId,
    /// Incident types that are restricted whether marked or not (from the procedures'
    /// response levels; security by default).
    pub restricted_kinds: Vec<IncidentType>,
}

/// A person who takes part in an incident: declared it, acted on it, holds a role, was paged
/// or was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub user_id: UserId,
    pub name: String,
    pub since: Timestamp,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T, C = i64> {
    pub items: Vec<T>,
    /// Where to continue (below this incident number, or this alert id), when there are more.
    pub next_before: Option<C>,
}

/// A service in the catalog: what alerts belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub runbook_url: String,
    pub tags: Vec<String>,
    /// Resolve the service's incident when all its alerts have resolved.
    pub auto_resolve: bool,
    /// How new alerts gather into incidents.
    pub grouping: firebreak_domain::rules::Grouping,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The policy that pages for the service's incidents (`None`: nobody is paged).
    pub escalation_policy_id: Option<EscalationPolicyId>,
}

/// Fields of a new service, or changes to one (`None` keeps a field).
#[derive(Debug, Clone, Default)]
pub struct ServiceFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_team: Option<String>,
    pub runbook_url: Option<String>,
    pub tags: Option<Vec<String>>,
    pub auto_resolve: Option<bool>,
    pub grouping: Option<firebreak_domain::rules::Grouping>,
    /// `Some(None)` unsets the policy.
    pub escalation_policy_id: Option<Option<EscalationPolicyId>>,
}

/// One way alerts come in for a service. Its key is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub service_id: ServiceId,
    pub kind: IntegrationKind,
    pub name: String,
    pub created_at: Timestamp,
    pub key_rotated_at: Option<Timestamp>,
    /// Kind-specific settings (the generic webhook's mapping); `{}` when none.
    pub config: serde_json::Value,
}

/// One event to ingest, with the hash of the key it came with.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub key_hash: String,
    /// The kind of endpoint it arrived at; the key must belong to an integration of it.
    pub kind: IntegrationKind,
    pub event: AlertEvent,
}

/// What became of one ingested event.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// Committed; the alert's key (generated when the event had none) and id, if an alert
    /// was touched.
    Accepted { dedup_key: DedupKey, alert_id: Option<AlertId> },
    /// No integration of that kind has this key; nothing stored.
    UnknownKey,
}

/// A change (deploy, config change) recorded against a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub id: uuid::Uuid,
    pub service_id: ServiceId,
    pub integration_id: IntegrationId,
    pub summary: String,
    pub source: String,
    pub details: serde_json::Value,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
}

/// A heartbeat's schedule and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    pub integration_id: IntegrationId,
    pub interval_secs: i64,
    pub grace_secs: i64,
    pub last_beat_at: Option<Timestamp>,
    /// When the next beat is late (interval plus grace after the last one).
    pub due_at: Timestamp,
    /// The deadline passed and an alert is open.
    pub missed: bool,
}

/// A check with its current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckStatus {
    pub definition: firebreak_domain::rules::CheckDefinition,
    pub integration_id: IntegrationId,
    pub consecutive_failures: i64,
    /// Failed `failure_threshold` times in a row; its alert is open.
    pub down: bool,
    pub due_at: Timestamp,
    pub last_checked_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub at: Timestamp,
    pub ok: bool,
    pub latency_ms: i64,
    pub detail: String,
    /// When the https server's certificate expires, if the probe saw one (not kept in the
    /// history; the detail mentions it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_expires_at: Option<Timestamp>,
}

/// Default heartbeat interval and grace, in seconds.
pub const HEARTBEAT_DEFAULTS: (i64, i64) = (300, 60);

/// Which alerts to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub statuses: Vec<AlertStatus>,
    pub service_id: Option<ServiceId>,
    pub incident_id: Option<IncidentId>,
    pub before: Option<AlertId>,
    pub limit: u32,
    /// Alerts of restricted incidents this viewer does not take part in are left out.
    pub viewer: Option<Viewer>,
}

/// A change that live views want to hear about, from this process or (on PostgreSQL) from
/// another replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeNotice {
    Incident(IncidentId),
    /// Rules, windows, services or integrations changed: ingestion caches are stale.
    IngestConfig,
    /// A status page, its components, notices or subscribers changed: what pages show may differ.
    StatusPage,
}

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Declares an incident: allocates its number and writes it, its `created` timeline entry
    /// and an audit entry in one transaction.
    async fn create_incident(&self, new: NewIncident, actor: &Actor) -> StoreResult<Incident>;
    async fn get_incident(&self, r: IncidentRef) -> StoreResult<Incident>;
    async fn list_incidents(&self, filter: &IncidentFilter) -> StoreResult<Page<Incident>>;
    /// Applies one change under the domain rules, atomically with its timeline and audit
    /// entries. Role holders must be existing, enabled users.
    async fn change_incident(&self, r: IncidentRef, change: IncidentChange, actor: &Actor) -> StoreResult<Incident>;
    /// The timeline of one incident, oldest first.
    async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>>;
    /// Merges incident `from` into `into` in one transaction: `from` is resolved and marked
    /// merged (its paging stops), its alerts move to `into`, its timeline is copied there
    /// (each entry marked with `from`'s number), its participants take part in `into`, and
    /// both incidents get a timeline entry and an audit entry.
    async fn merge_incidents(&self, from: IncidentId, into: IncidentId, actor: &Actor) -> StoreResult<Merged>;
    /// How many incidents are in each status.
    async fn count_incidents_by_status(&self) -> StoreResult<Vec<(IncidentStatus, i64)>>;
    /// Who takes part in an incident, in the order they joined.
    async fn participants(&self, id: IncidentId) -> StoreResult<Vec<Participant>>;
    async fn is_participant(&self, id: IncidentId, user: UserId) -> StoreResult<bool>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn create_user(&self, new: NewUser, actor: &Actor) -> StoreResult<User>;
    async fn get_user(&self, id: UserId) -> StoreResult<User>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    async fn update_user(&self, id: UserId, update: UserUpdate, actor: &Actor) -> StoreResult<User>;
    async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>>;
    /// Counts a failed sign-in (and audits it).
    async fn record_login_failure(&self, id: UserId, at: Timestamp, actor: &Actor) -> StoreResult<()>;
    /// Replaces the password hash and ends every session of the user.
    async fn set_password(&self, id: UserId, password_hash: &str, actor: &Actor) -> StoreResult<()>;

    /// Starts a session (a successful sign-in): clears failed sign-ins.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        expires_at: Timestamp,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// The enabled user of an unexpired session.
    async fn session_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<User>>;
    async fn delete_session(&self, token_hash: &str, actor: &Actor) -> StoreResult<()>;

    async fn create_token(&self, user_id: UserId, name: &str, token_hash: &str, actor: &Actor)
    -> StoreResult<ApiToken>;
    /// The enabled user of an unrevoked token; records its use (at most once a minute).
    async fn token_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<(User, TokenId)>>;
    async fn get_token(&self, id: TokenId) -> StoreResult<ApiToken>;
    /// Tokens of one user, or of everyone.
    async fn list_tokens(&self, user_id: Option<UserId>) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, id: TokenId, actor: &Actor) -> StoreResult<ApiToken>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry that goes with no other write.
    async fn append_audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> StoreResult<()>;
    /// Entries after `after_seq` (oldest first), at most `limit`.
    async fn list_audit(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Entries newest first, before `before_seq`, at most `limit`.
    async fn recent_audit(&self, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// Checks the whole chain.
    async fn verify_audit(&self) -> StoreResult<AuditVerification>;
}

#[async_trait]
pub trait AlertStore: Send + Sync {
    async fn create_service(&self, fields: ServiceFields, actor: &Actor) -> StoreResult<Service>;
    async fn update_service(&self, id: ServiceId, fields: ServiceFields, actor: &Actor) -> StoreResult<Service>;
    async fn get_service(&self, id: ServiceId) -> StoreResult<Service>;
    async fn list_services(&self) -> StoreResult<Vec<Service>>;
    async fn create_integration(
        &self,
        service_id: ServiceId,
        kind: IntegrationKind,
        name: &str,
        key_hash: &str,
        actor: &Actor,
    ) -> StoreResult<Integration>;
    async fn list_integrations(&self, service_id: ServiceId) -> StoreResult<Vec<Integration>>;
    async fn get_integration(&self, id: IntegrationId) -> StoreResult<Integration>;
    /// Replaces an integration's key; the old key stops working at once.
    async fn rotate_integration_key(
        &self,
        id: IntegrationId,
        key_hash: &str,
        actor: &Actor,
    ) -> StoreResult<Integration>;
    /// Applies a batch of events in one transaction (one commit for all), in order.
    /// Applies a batch of events in one transaction and returns once it is durable. When
    /// `committed` is given it is told as soon as the transaction has committed (before the
    /// wait for the disk), so a caller can start the next batch then; it is dropped unsent
    /// when the batch fails.
    async fn ingest(
        &self,
        batch: &[IngestItem],
        committed: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> StoreResult<Vec<IngestOutcome>>;
    async fn get_alert(&self, id: AlertId) -> StoreResult<Alert>;
    /// A person acknowledges or resolves an open alert (as its monitoring tool could).
    async fn act_on_alert(
        &self,
        id: AlertId,
        action: firebreak_domain::alert::AlertAction,
        actor: &Actor,
    ) -> StoreResult<Alert>;
    async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<Page<Alert, AlertId>>;
    /// Moves an alert onto incident `to` (which must be open and not merged away), or off
    /// its incident (`None`: it stands alone; later events of the same alert stay with it).
    /// Both incidents get a timeline entry; audited as `alert.attach` / `alert.detach`.
    async fn move_alert(&self, id: AlertId, to: Option<IncidentId>, actor: &Actor) -> StoreResult<Alert>;
    /// Records a change sent with an integration key of `kind`; `None` when no such
    /// integration has the key.
    async fn record_change(
        &self,
        key_hash: &str,
        kind: IntegrationKind,
        summary: &str,
        source: &str,
        details: serde_json::Value,
        occurred_at: Option<Timestamp>,
    ) -> StoreResult<Option<Change>>;
    async fn get_heartbeat(&self, integration_id: IntegrationId) -> StoreResult<Heartbeat>;
    /// Adds a check, due at `now`; it reports through an integration of its own.
    async fn create_check(
        &self,
        check: &firebreak_domain::rules::CheckDefinition,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<CheckStatus>;
    async fn list_checks(&self, service_id: Option<ServiceId>) -> StoreResult<Vec<CheckStatus>>;
    async fn get_check(&self, id: uuid::Uuid) -> StoreResult<CheckStatus>;
    /// How many alerts each maintenance window is suppressing now (by window id).
    async fn count_suppressed_by_window(&self) -> StoreResult<Vec<(uuid::Uuid, i64)>>;
    /// Claims the checks due by `now` and schedules their next run (each due check is claimed
    /// by one replica).
    async fn claim_due_checks(&self, now: Timestamp) -> StoreResult<Vec<CheckStatus>>;
    /// Records a probe's outcome; opens the check's alert after `failure_threshold` failures
    /// in a row and resolves it on the first success after that.
    async fn record_check_result(&self, check_id: uuid::Uuid, result: &CheckResult) -> StoreResult<CheckStatus>;
    /// The newest results of a check.
    async fn check_history(&self, check_id: uuid::Uuid, limit: u32) -> StoreResult<Vec<CheckResult>>;
    async fn create_rule(&self, rule: &firebreak_domain::rules::Rule, actor: &Actor) -> StoreResult<()>;
    async fn list_rules(&self) -> StoreResult<Vec<firebreak_domain::rules::Rule>>;
    async fn delete_rule(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()>;
    async fn create_window(
        &self,
        window: &firebreak_domain::rules::MaintenanceWindow,
        actor: &Actor,
    ) -> StoreResult<()>;
    async fn list_windows(&self) -> StoreResult<Vec<firebreak_domain::rules::MaintenanceWindow>>;
    async fn delete_window(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()>;
    /// The integration that has this key, if any.
    async fn integration_by_key(&self, key_hash: &str) -> StoreResult<Option<Integration>>;
    /// Replaces an integration's settings.
    async fn set_integration_config(
        &self,
        id: IntegrationId,
        config: serde_json::Value,
        actor: &Actor,
    ) -> StoreResult<Integration>;
    /// Sets a heartbeat's interval and grace; the next deadline counts from `now`.
    async fn configure_heartbeat(
        &self,
        integration_id: IntegrationId,
        interval_secs: i64,
        grace_secs: i64,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<Heartbeat>;
    /// Records a beat for the heartbeat integration with this key at `now`; resolves the
    /// missed-heartbeat alert if there is one. `None` when no heartbeat has the key.
    async fn beat(&self, key_hash: &str, now: Timestamp) -> StoreResult<Option<Heartbeat>>;
    /// Opens an alert for every heartbeat whose deadline passed by `now` (once per miss);
    /// returns how many. Safe to run on several replicas at once.
    async fn fire_missed_heartbeats(&self, now: Timestamp) -> StoreResult<usize>;
    /// Changes of a service (or of all), newest first, at most `limit`.
    /// Changes newest first: of these services (all when empty), that occurred in the window
    /// (inclusive) when one is given.
    async fn list_changes(
        &self,
        service_ids: &[ServiceId],
        between: Option<(Timestamp, Timestamp)>,
        limit: u32,
    ) -> StoreResult<Vec<Change>>;
}

/// A named definition as stored: an on-call schedule or an escalation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named<I, D> {
    pub id: I,
    pub name: String,
    pub description: String,
    pub definition: D,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An on-call schedule as stored: its name and its definition (layers, overrides, fallback).
pub type Schedule = Named<ScheduleId, ScheduleDefinition>;

/// An escalation policy as stored.
pub type EscalationPolicyRecord = Named<EscalationPolicyId, EscalationPolicyDefinition>;

impl EscalationPolicyRecord {
    /// The checked policy (stored ones were checked when written).
    pub fn policy(&self) -> Result<EscalationPolicy, DomainError> {
        EscalationPolicy::parse(self.definition.clone())
    }
}

impl Schedule {
    /// The schedule ready to answer who is on call. Stored definitions were checked when
    /// written; one that no longer parses (a time zone dropped from the database) says why.
    pub fn on_call(&self) -> Result<OnCallSchedule, DomainError> {
        OnCallSchedule::parse(self.definition.clone())
    }
}

/// Overrides that ended longer ago than this are dropped when another is added.
pub const OVERRIDE_RETENTION_DAYS: i64 = 90;

/// On-call schedules.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Creates a schedule. The definition is checked (`OnCallSchedule::parse`); a name in
    /// use is a conflict.
    async fn create_schedule(
        &self,
        name: &str,
        description: &str,
        definition: &ScheduleDefinition,
        actor: &Actor,
    ) -> StoreResult<Schedule>;
    /// Replaces a schedule's name, description and definition; its overrides too, or (with
    /// [`Overrides::Keep`]) the overrides stored when the update commits are kept, so one
    /// added while a person edited the rest is not lost.
    async fn update_schedule(
        &self,
        id: ScheduleId,
        name: &str,
        description: &str,
        definition: &ScheduleDefinition,
        overrides: Overrides,
        actor: &Actor,
    ) -> StoreResult<Schedule>;
    async fn get_schedule(&self, id: ScheduleId) -> StoreResult<Schedule>;
    /// Every schedule, by name.
    async fn list_schedules(&self) -> StoreResult<Vec<Schedule>>;
    async fn delete_schedule(&self, id: ScheduleId, actor: &Actor) -> StoreResult<()>;
    /// Adds an override in one transaction with reading the schedule, so that overrides added
    /// at the same moment are all kept; drops those that ended more than
    /// [`OVERRIDE_RETENTION_DAYS`] before `now`.
    async fn add_schedule_override(
        &self,
        id: ScheduleId,
        item: &Override,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<Schedule>;
}

/// Escalation policies.
#[async_trait]
pub trait EscalationPolicyStore: Send + Sync {
    /// Creates a policy (checked by `EscalationPolicy::parse`); a name in use is a conflict.
    async fn create_policy(
        &self,
        name: &str,
        description: &str,
        definition: &EscalationPolicyDefinition,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicyRecord>;
    async fn update_policy(
        &self,
        id: EscalationPolicyId,
        name: &str,
        description: &str,
        definition: &EscalationPolicyDefinition,
        actor: &Actor,
    ) -> StoreResult<EscalationPolicyRecord>;
    async fn get_policy(&self, id: EscalationPolicyId) -> StoreResult<EscalationPolicyRecord>;
    /// Every policy, by name.
    async fn list_policies(&self) -> StoreResult<Vec<EscalationPolicyRecord>>;
    /// Deletes a policy; one that a service still points to is a conflict.
    async fn delete_policy(&self, id: EscalationPolicyId, actor: &Actor) -> StoreResult<()>;
}

/// A new contact method; it is unverified until the code sent to it comes back.
#[derive(Debug, Clone)]
pub struct NewContactMethod {
    pub user_id: UserId,
    pub kind: ContactKind,
    pub label: String,
    pub address: String,
    /// A webhook's signing secret.
    pub secret: Option<String>,
}

/// A verification code as kept: its hash and when it stops working. The plain code travels
/// only in the outbox row that sends it, and is wiped from it once sent.
#[derive(Debug, Clone)]
pub struct VerificationCode {
    pub hash: String,
    pub expires_at: Timestamp,
    /// What the message says (it carries the code).
    pub payload: serde_json::Value,
}

/// Wrong codes allowed before a new one must be sent.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// One notification claimed for sending, with what the message needs.
#[derive(Debug, Clone)]
pub struct ClaimedNotification {
    pub id: NotificationId,
    /// `page`, `test`, `verification` or `handoff`.
    pub kind: String,
    pub user_id: UserId,
    pub user_name: String,
    pub method: ContactMethod,
    pub secret: Option<String>,
    pub incident: Option<Incident>,
    /// The affected service's name (pages).
    pub service_name: Option<String>,
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// How sending a claimed notification went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent {
        provider: String,
    },
    /// Try again at `at`.
    Retry {
        error: String,
        at: Timestamp,
    },
    /// Give up.
    Failed {
        error: String,
    },
}

/// A notification as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub kind: String,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub contact_method_id: ContactMethodId,
    pub channel: ContactKind,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub incident_id: Option<IncidentId>,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: i64,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    pub provider: Option<String>,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Where an incident's escalation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EscalationState {
    #[schema(value_type = String, format = Uuid)]
    pub incident_id: IncidentId,
    #[schema(value_type = String, format = Uuid)]
    pub policy_id: EscalationPolicyId,
    /// Restarts (a reopened incident escalates again from the first level).
    pub generation: i64,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    /// The last step that fired (from 0), if any.
    pub last_step: Option<i64>,
    /// When that step was due (later steps count from it).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_due_at: Option<Timestamp>,
    /// When the next step is due; `None` once stopped.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// `active`, `acknowledged`, `resolved`, `exhausted` or `no_policy`.
    pub state: String,
}

/// A secret calendar feed of a schedule or of one person's shifts (only the token's hash is
/// kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CalendarFeed {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub schedule_id: Option<ScheduleId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
    #[schema(value_type = String, format = Uuid)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// People, how they are reached, and the paging engine's due work and outbox.
#[async_trait]
pub trait PagingStore: Send + Sync {
    /// Adds a contact method and queues the message carrying its code, in one transaction.
    async fn create_contact_method(
        &self,
        new: NewContactMethod,
        code: VerificationCode,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<ContactMethod>;
    async fn get_contact_method(&self, id: ContactMethodId) -> StoreResult<ContactMethod>;
    async fn list_contact_methods(&self, user_id: UserId) -> StoreResult<Vec<ContactMethod>>;
    /// Deletes a contact method with its rules; its pending notifications are dropped.
    async fn delete_contact_method(&self, id: ContactMethodId, actor: &Actor) -> StoreResult<()>;
    /// Replaces the code and queues a new message with it.
    async fn resend_verification(
        &self,
        id: ContactMethodId,
        code: VerificationCode,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// Checks a code (by hash): right and unexpired verifies the method; wrong counts an
    /// attempt. Errors say which: `Invalid` for a wrong or expired code, `Conflict` once
    /// [`MAX_CODE_ATTEMPTS`] wrong codes were tried.
    async fn verify_contact_method(
        &self,
        id: ContactMethodId,
        code_hash: &str,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<ContactMethod>;
    /// Queues a test message to a verified method.
    async fn queue_test_notification(
        &self,
        id: ContactMethodId,
        payload: serde_json::Value,
        now: Timestamp,
        actor: &Actor,
    ) -> StoreResult<NotificationId>;
    /// The user of a verified contact method with this kind and address (SMS replies, chat
    /// buttons).
    async fn contact_owner(&self, kind: ContactKind, address: &str) -> StoreResult<Option<User>>;

    async fn create_notification_rule(
        &self,
        user_id: UserId,
        contact_method_id: ContactMethodId,
        delay_minutes: u32,
        actor: &Actor,
    ) -> StoreResult<NotificationRule>;
    async fn list_notification_rules(&self, user_id: UserId) -> StoreResult<Vec<NotificationRule>>;
    /// Deletes one of `user_id`'s rules.
    async fn delete_notification_rule(&self, user_id: UserId, id: NotificationRuleId, actor: &Actor)
    -> StoreResult<()>;
    async fn handoff_notifications(&self, user_id: UserId) -> StoreResult<bool>;
    async fn set_handoff_notifications(&self, user_id: UserId, on: bool, actor: &Actor) -> StoreResult<()>;

    /// Fires the escalation steps due by `now` (at most `limit` incidents), each claimed by one
    /// replica: pages the step's people through their rules (outbox rows), records the step on
    /// the timeline and schedules the next one. Returns how many steps fired.
    async fn run_due_escalations(&self, now: Timestamp, limit: u32) -> StoreResult<usize>;
    /// "Escalate now": fires the next step at once; the ones after it count from now.
    async fn escalate_now(&self, incident: IncidentId, now: Timestamp, actor: &Actor) -> StoreResult<EscalationState>;
    /// Pages one person now for an incident (escalation goes on as planned).
    async fn reassign(&self, incident: IncidentId, user: UserId, now: Timestamp, actor: &Actor) -> StoreResult<()>;
    async fn get_escalation(&self, incident: IncidentId) -> StoreResult<Option<EscalationState>>;

    /// Claims up to `limit` due notifications, all due ones of a contact method together; a
    /// contact method that was sent to within `bundle` waits until that window ends (its
    /// messages then go out as one). Claimed rows are leased until `now + lease`: if the
    /// process dies, they are sent again after the lease.
    async fn claim_notifications(
        &self,
        now: Timestamp,
        bundle: chrono::TimeDelta,
        lease: chrono::TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedNotification>>;
    /// Records how sending went (timeline entries for pages).
    async fn finish_notifications(
        &self,
        results: &[(NotificationId, DeliveryOutcome)],
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Notifications of one incident or one user, newest first.
    async fn list_notifications(
        &self,
        incident: Option<IncidentId>,
        user: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRecord>>;
    /// When the next pending notification or escalation step is due, if any.
    async fn next_due(&self) -> StoreResult<Option<Timestamp>>;

    /// Records who is on call on a schedule now; when that changed and the new person wants
    /// hand-off notifications, queues one to their verified methods with an immediate rule.
    /// Returns whether it changed. Safe on several replicas (compare-and-set).
    async fn record_handoff(
        &self,
        schedule: ScheduleId,
        user: Option<UserId>,
        payload: serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Remembers a callback's nonce; `false` when it was seen before (a replay).
    async fn remember_nonce(&self, nonce: &str, now: Timestamp) -> StoreResult<bool>;
    /// A per-installation secret by name, created (random) on first use.
    async fn server_secret(&self, name: &str) -> StoreResult<String>;

    async fn create_calendar_feed(
        &self,
        schedule: Option<ScheduleId>,
        user: Option<UserId>,
        token_hash: &str,
        actor: &Actor,
    ) -> StoreResult<CalendarFeed>;
    async fn calendar_feed(&self, token_hash: &str) -> StoreResult<Option<CalendarFeed>>;
    /// Feeds created by one user (or all).
    async fn list_calendar_feeds(&self, created_by: Option<UserId>) -> StoreResult<Vec<CalendarFeed>>;
    async fn delete_calendar_feed(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()>;
}

/// A playbook attached to an incident, with the version (content hash) it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AttachedPlaybook {
    pub name: String,
    pub title: String,
    pub version: String,
    #[schema(value_type = String, format = DateTime)]
    pub attached_at: Timestamp,
}

/// One item of an incident's checklist and its state (`open`, `done` or `skipped`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChecklistEntry {
    pub position: u32,
    pub phase: String,
    pub title: String,
    pub kind: firebreak_domain::procedures::playbook::StepKind,
    pub role: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    pub state: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub done_by: Option<UserId>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<Timestamp>,
}

/// Playbooks run on incidents.
#[async_trait]
pub trait ChecklistStore: Send + Sync {
    /// Makes `playbook` the incident's checklist (due times from its detection), with a
    /// timeline entry and an audit entry; an incident already running one is a conflict.
    async fn attach_playbook(
        &self,
        incident: IncidentId,
        playbook: &firebreak_domain::procedures::playbook::Playbook,
        actor: &Actor,
    ) -> StoreResult<(AttachedPlaybook, Vec<ChecklistEntry>)>;
    async fn incident_checklist(
        &self,
        incident: IncidentId,
    ) -> StoreResult<Option<(AttachedPlaybook, Vec<ChecklistEntry>)>>;
    /// Records an action step that ran (`event` is its `ActionRun` entry); a successful one
    /// marks the item done, in the same transaction.
    async fn record_action(
        &self,
        incident: IncidentId,
        position: u32,
        event: TimelineEvent,
        succeeded: bool,
        actor: &Actor,
    ) -> StoreResult<ChecklistEntry>;
    /// Reminds the owners of open steps past their due time (the holder of the step's role,
    /// else the commander) once, and after `escalate_after` more escalates once (to the
    /// commander, or — when the owner is the commander or there is none — the next level of
    /// the incident's escalation policy). Messages go through the outbox; each reminder and
    /// escalation is on the timeline. Returns how many steps it acted on.
    async fn process_late_steps(&self, now: Timestamp, escalate_after: chrono::TimeDelta) -> StoreResult<usize>;
    /// Marks an item `done`, `skipped` or `open` again.
    async fn set_checklist_item(
        &self,
        incident: IncidentId,
        position: u32,
        state: &str,
        actor: &Actor,
    ) -> StoreResult<ChecklistEntry>;
}

/// When an incident's next stakeholder update is due, and what was done about a late one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateCadence {
    pub due_at: Timestamp,
    pub reminded_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
}

/// An email to a stakeholder, claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakeholderMessage {
    pub id: uuid::Uuid,
    /// The incident it is about; none for status page subscribers' messages.
    pub incident_id: Option<IncidentId>,
    /// `email` or `webhook`.
    pub channel: String,
    /// `update` (a stakeholder or subscriber message) or `action_item` (a tracker event: the
    /// subject is the event type, the body its JSON).
    pub kind: String,
    pub address: String,
    /// A webhook's signing secret.
    pub secret: Option<String>,
    /// The one-click unsubscribe link of a subscriber's message.
    pub unsubscribe_url: Option<String>,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// A group (contact list) told about an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupNotice<'a> {
    /// The list's name.
    pub group: &'a str,
    /// Why: `critical severity`, `playbook step`, ….
    pub reason: &'a str,
    /// Given once per incident: a second notice with the same key does nothing.
    pub key: &'a str,
    /// Firebreak users, told through their notification rules (the paging channels).
    pub users: &'a [UserId],
    /// Addresses outside Firebreak, told by email.
    pub addresses: &'a [String],
    pub subject: &'a str,
    pub text: &'a str,
    /// When it is given (the caller's clock: escalation paths are timed from it).
    pub at: Timestamp,
}

#[async_trait]
pub trait UpdateStore: Send + Sync {
    /// Records a stakeholder update (`event`, an `UpdateSent`) with an audit entry, queues an
    /// email of `subject`/`body` to each address, and sets when the next update is due (`None`
    /// leaves the cadence as it is: a draft, or no cadence applies), in one transaction.
    #[allow(clippy::too_many_arguments)]
    async fn record_update(
        &self,
        incident: IncidentId,
        event: TimelineEvent,
        subject: &str,
        body: &str,
        addresses: &[String],
        next_due: Option<Timestamp>,
        actor: &Actor,
    ) -> StoreResult<()>;
    async fn update_cadence(&self, incident: IncidentId) -> StoreResult<Option<UpdateCadence>>;
    /// Starts the cadence of open incidents whose severity has one (`every`: minutes per
    /// severity; first due that long after detection), then handles updates that are due: the
    /// communications lead (else the commander) is reminded once, and after `escalate_after`
    /// more it escalates once (commander, else the next escalation level). Each is on the
    /// timeline. Incidents that resolved, or whose severity has no cadence now, stop. Returns
    /// how many incidents it acted on.
    async fn process_update_cadence(
        &self,
        now: Timestamp,
        every: &[(Severity, u32)],
        escalate_after: chrono::TimeDelta,
    ) -> StoreResult<usize>;
    /// Tells a group about an incident once per `key`: users through their immediate
    /// notification rules, addresses by email; on the timeline. Returns who was told (names
    /// and addresses), or `None` when this notice was given before.
    async fn notify_group(
        &self,
        incident: IncidentId,
        notice: &GroupNotice<'_>,
        actor: &Actor,
    ) -> StoreResult<Option<Vec<String>>>;
    /// Makes `policy` page for a triggered incident, once per `key`: its escalation starts over
    /// on that policy (unless it runs on it already), with an `EscalationPolicyChosen` entry.
    /// Returns whether it switched.
    async fn escalate_with(
        &self,
        incident: IncidentId,
        policy: firebreak_domain::EscalationPolicyId,
        policy_name: &str,
        reason: &str,
        key: &str,
    ) -> StoreResult<bool>;
    /// Group notices (keys containing `group:NAME`) given at or before `before` about incidents
    /// nobody has acknowledged yet: (the incident, the notice key, when it was given).
    async fn unacknowledged_group_notices(&self, before: Timestamp) -> StoreResult<Vec<(Incident, String, Timestamp)>>;
    /// Open incidents changed at or after `since` (for the engine's group notices).
    async fn open_incidents_changed_since(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<Incident>>;
    /// Claims stakeholder emails due by `now` (each by one replica, for `lease`).
    async fn claim_stakeholder_messages(
        &self,
        now: Timestamp,
        lease: chrono::TimeDelta,
        limit: u32,
    ) -> StoreResult<Vec<StakeholderMessage>>;
    /// Records how sending went; a final failure is on the incident's timeline.
    async fn finish_stakeholder_messages(
        &self,
        results: &[(uuid::Uuid, DeliveryOutcome)],
        now: Timestamp,
    ) -> StoreResult<()>;
}

/// A status page: its address (`/status/{slug}`), name, and whether anyone may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusPage {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    /// Readable without signing in.
    pub public: bool,
    /// Logo, accent colour, footer links, time zone.
    pub branding: PageBranding,
    /// The host name the page is also served at (`status.example.com`).
    pub custom_domain: Option<String>,
    /// SHA-256 (hex) of the shared token that opens a private page without signing in.
    #[serde(skip)]
    pub token_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a page looks: checked when set (`PageBranding::check`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PageBranding {
    /// An `https://` image address.
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    pub accent: Option<String>,
    /// Links at the foot of the page.
    pub footer_links: Vec<FooterLink>,
    /// An IANA time zone the page shows times in (default UTC).
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FooterLink {
    pub label: String,
    /// `https://`, `http://` or `mailto:`.
    pub url: String,
}

/// What a page's settings change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PageSettings {
    pub name: Option<String>,
    pub public: Option<bool>,
    pub branding: Option<PageBranding>,
    /// `Some(None)` removes the custom domain.
    pub custom_domain: Option<Option<String>>,
    /// `Some(None)` withdraws the shared token.
    pub token_hash: Option<Option<String>>,
}

/// A public incident or a scheduled maintenance on one page, with its updates (drafts
/// included: readers see only the published ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusNotice {
    pub id: uuid::Uuid,
    pub page_id: uuid::Uuid,
    pub kind: firebreak_domain::status_page::NoticeKind,
    /// The internal incident it was written from (never shown to readers).
    pub incident_id: Option<IncidentId>,
    pub title: String,
    pub impact: firebreak_domain::status_page::Impact,
    pub status: firebreak_domain::status_page::NoticeStatus,
    /// The components it is about.
    pub component_ids: Vec<uuid::Uuid>,
    pub scheduled_for: Option<Timestamp>,
    pub scheduled_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// Oldest first.
    pub updates: Vec<StatusUpdate>,
}

impl StatusNotice {
    /// Readers see it once one of its updates is published.
    pub fn published(&self) -> bool {
        self.updates.iter().any(|u| u.published_at.is_some())
    }
}

/// One update of a notice: a draft until published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusUpdate {
    pub id: uuid::Uuid,
    pub notice_id: uuid::Uuid,
    pub status: firebreak_domain::status_page::NoticeStatus,
    pub body: String,
    pub created_at: Timestamp,
    /// Who wrote it (internal: not shown to readers).
    pub created_by: String,
    pub published_at: Option<Timestamp>,
}

/// A new notice.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub page_id: uuid::Uuid,
    /// Adds to this notice of the page instead of starting one.
    pub notice_id: Option<uuid::Uuid>,
    pub kind: firebreak_domain::status_page::NoticeKind,
    pub incident_id: Option<IncidentId>,
    pub title: String,
    pub impact: firebreak_domain::status_page::Impact,
    pub component_ids: Vec<uuid::Uuid>,
    pub scheduled_for: Option<Timestamp>,
    pub scheduled_until: Option<Timestamp>,
}

/// Someone who asked to hear about a page: an email address (once confirmed) or a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusSubscriber {
    pub id: uuid::Uuid,
    pub page_id: uuid::Uuid,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    /// The components they want to hear about; empty: all.
    pub component_ids: Vec<uuid::Uuid>,
    /// A webhook's signing secret (`whsec_…`).
    #[serde(skip)]
    pub secret: Option<String>,
    pub confirmed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl StatusSubscriber {
    /// Wants to hear about a notice on these components.
    pub fn wants(&self, components: &[uuid::Uuid]) -> bool {
        self.component_ids.is_empty()
            || components.is_empty()
            || components.iter().any(|c| self.component_ids.contains(c))
    }
}

/// One message for one subscriber, queued in the outbox with the change that caused it.
#[derive(Debug, Clone)]
pub struct SubscriberMessage {
    pub subject: String,
    pub body: String,
    /// The one-click unsubscribe link (`List-Unsubscribe`).
    pub unsubscribe_url: Option<String>,
}

/// Writes the message a subscriber gets about an update of a notice (`None`: none).
pub type MessageFor<'a> =
    &'a (dyn Fn(&StatusNotice, &StatusUpdate, &StatusSubscriber) -> Option<SubscriberMessage> + Send + Sync);

/// A component of a status page: what customers know as one part of the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusComponent {
    pub id: uuid::Uuid,
    pub page_id: uuid::Uuid,
    pub name: String,
    /// The group it is shown under (empty: none).
    pub group_name: String,
    /// Its place on the page, from 1.
    pub position: i64,
    /// The catalog services whose open incidents drive its status.
    pub service_ids: Vec<ServiceId>,
    /// The status a person set by hand; it stands until cleared.
    pub manual_status: Option<firebreak_domain::status_page::ComponentStatus>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Status pages and their components. Every change is audited.
#[async_trait]
pub trait StatusPageStore: Send + Sync {
    /// A new page; 409 when the slug is taken.
    async fn create_status_page(&self, slug: &str, name: &str, public: bool, actor: &Actor) -> StoreResult<StatusPage>;
    async fn list_status_pages(&self) -> StoreResult<Vec<StatusPage>>;
    async fn status_page(&self, slug: &str) -> StoreResult<StatusPage>;
    /// A component at the end of the page, driven by `services`.
    async fn add_status_component(
        &self,
        page: uuid::Uuid,
        name: &str,
        group: &str,
        services: &[ServiceId],
        actor: &Actor,
    ) -> StoreResult<StatusComponent>;
    /// The page's components, in their order.
    async fn list_status_components(&self, page: uuid::Uuid) -> StoreResult<Vec<StatusComponent>>;
    /// Sets a component's status by hand, or (`None`) gives it back to its services.
    async fn set_component_status(
        &self,
        page: uuid::Uuid,
        component: uuid::Uuid,
        status: Option<firebreak_domain::status_page::ComponentStatus>,
        actor: &Actor,
    ) -> StoreResult<StatusComponent>;
    /// Changes a page's name, access and look; 409 when the custom domain is another page's.
    async fn update_status_page(
        &self,
        page: uuid::Uuid,
        settings: PageSettings,
        actor: &Actor,
    ) -> StoreResult<StatusPage>;
    /// The page served at this host name.
    async fn status_page_by_domain(&self, host: &str) -> StoreResult<StatusPage>;
    /// Adds an update to a notice: to `new.notice_id`, or to the page's notice of
    /// `new.incident_id` when it has one (its title, impact and components follow `new`),
    /// else to a new notice. A published update (`publish`)
    /// moves the notice to its status and queues the subscribers' messages in the same
    /// transaction. Returns the notice and the new update's id.
    async fn post_status_update(
        &self,
        new: NewNotice,
        status: firebreak_domain::status_page::NoticeStatus,
        body: &str,
        publish: bool,
        message: MessageFor<'_>,
        actor: &Actor,
    ) -> StoreResult<(StatusNotice, uuid::Uuid)>;
    /// Publishes a draft update: the notice takes its status; subscribers' messages are queued
    /// in the same transaction. 409 when it is published already.
    async fn publish_status_update(
        &self,
        page: uuid::Uuid,
        update: uuid::Uuid,
        message: MessageFor<'_>,
        actor: &Actor,
    ) -> StoreResult<StatusNotice>;
    /// The page's notices, newest first, at most `limit`, with every update.
    async fn list_status_notices(&self, page: uuid::Uuid, limit: u32) -> StoreResult<Vec<StatusNotice>>;
    async fn status_notice(&self, page: uuid::Uuid, notice: uuid::Uuid) -> StoreResult<StatusNotice>;
    /// Moves maintenance along by the clock (scheduled → in progress → completed), each step a
    /// published update with subscribers' messages; returns the notices it moved.
    async fn advance_maintenance(&self, now: Timestamp, message: MessageFor<'_>) -> StoreResult<Vec<StatusNotice>>;
    /// Records the statuses components show at `at` where they differ from the last recorded.
    /// Returns how many changed.
    async fn record_component_statuses(
        &self,
        statuses: &[(uuid::Uuid, firebreak_domain::status_page::ComponentStatus)],
        at: Timestamp,
    ) -> StoreResult<usize>;
    /// Each component's status changes since `since` (and the last one before it), in time order.
    async fn component_history(
        &self,
        page: uuid::Uuid,
        since: Timestamp,
    ) -> StoreResult<Vec<(uuid::Uuid, Timestamp, firebreak_domain::status_page::ComponentStatus)>>;
    /// A subscriber; an address already subscribed to the page is returned as it is (so
    /// signing up twice sends a second confirmation, not a second subscription).
    #[allow(clippy::too_many_arguments)]
    async fn add_status_subscriber(
        &self,
        page: uuid::Uuid,
        kind: &str,
        address: &str,
        components: &[uuid::Uuid],
        secret: Option<&str>,
        confirmed: bool,
        actor: &Actor,
    ) -> StoreResult<StatusSubscriber>;
    async fn status_subscriber(&self, id: uuid::Uuid) -> StoreResult<StatusSubscriber>;
    async fn confirm_status_subscriber(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<StatusSubscriber>;
    /// Removes a subscriber and the messages still queued for them.
    async fn delete_status_subscriber(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()>;
    async fn list_status_subscribers(&self, page: uuid::Uuid) -> StoreResult<Vec<StatusSubscriber>>;
    /// Queues one message for one subscriber (a confirmation request).
    async fn queue_subscriber_message(
        &self,
        subscriber: &StatusSubscriber,
        message: SubscriberMessage,
    ) -> StoreResult<()>;
}

/// Everything a backend provides.
#[async_trait]
pub trait Store:
    IncidentStore
    + UserStore
    + AuditStore
    + AlertStore
    + ScheduleStore
    + EscalationPolicyStore
    + PagingStore
    + ChecklistStore
    + UpdateStore
    + StatusPageStore
    + ReviewStore
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// How many committed ingest batches may wait for the disk at once while the next batch
    /// runs. SQLite: 4 (its group commit syncs after the writer is free); PostgreSQL: 1 (its
    /// commit is already durable when it returns).
    fn ingest_pipeline_depth(&self) -> usize {
        1
    }
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Live change notices. On PostgreSQL this process's own come at once and again through
    /// LISTEN: take a notice twice as once.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChangeNotice>;
    /// Writes a consistent copy of the whole database to a new file at `path`, while the
    /// server keeps running (SQLite's `VACUUM INTO`). PostgreSQL answers that `pg_dump` is
    /// the tool for it.
    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()>;
}

pub type DynStore = Arc<dyn Store>;

/// Clamps a requested page size.
pub fn page_limit(limit: u32) -> u32 {
    limit.clamp(1, 200)
}
