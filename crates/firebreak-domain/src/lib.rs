//! Firebreak's model and its rules: identifiers, the incident state machine, severities and
//! types, users and their permissions, the timeline vocabulary and the audit hash chain.
//! Pure code: no I/O, no async, no clock (callers pass the time in).

pub mod alert;
pub mod analytics;
pub mod audit;
pub mod contact;
pub mod escalation;
pub mod ids;
pub mod incident;
pub mod procedures;
pub mod review;
pub mod rules;
pub mod schedule;
pub mod status_page;
pub mod time;
pub mod user;

pub use audit::{AuditContent, AuditEntry, AuditVerification, GENESIS_HASH};
pub use ids::{
    AlertId, ContactMethodId, EscalationPolicyId, IncidentId, IntegrationId, NotificationId, NotificationRuleId,
    ScheduleId, ServiceId, TokenId, UserId,
};
pub use incident::{
    ApplyOutcome, Incident, IncidentAction, IncidentChange, IncidentEdit, IncidentRef, IncidentRole, IncidentStatus,
    IncidentType, NewIncident, PagedUser, RoleName, Severity, TimelineEvent, Triage,
};
pub use time::Timestamp;
pub use user::{Actor, Email, UserRole, Via};

/// A value a client sent that breaks a rule of the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field is missing, malformed or out of range.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// An action that the incident's current status does not allow.
    #[error("cannot {action} an incident that is {from}")]
    InvalidTransition { action: IncidentAction, from: IncidentStatus },
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
}

/// A [`DomainError`] with where it is in the input: a path such as `layers[1].members` when the
/// problem is in one entry of a list, else the error's own field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub path: String,
    pub error: DomainError,
}

impl Fault {
    /// A problem in entry `index` of the list the error's field names, in its `part`
    /// (`layers[1].members`).
    pub fn in_entry(list: &str, index: usize, part: &str, error: DomainError) -> Self {
        Fault { path: format!("{list}[{index}].{part}"), error }
    }
}

impl From<DomainError> for Fault {
    fn from(error: DomainError) -> Self {
        let path = match &error {
            DomainError::Invalid { field, .. } => (*field).to_owned(),
            DomainError::InvalidTransition { .. } => String::new(),
        };
        Fault { path, error }
    }
}
