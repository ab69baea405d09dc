//! Newtype identifiers, so an incident id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies an incident.
    IncidentId
);
uuid_id!(
    /// Identifies a user.
    UserId
);
uuid_id!(
    /// Identifies an API token (not the secret itself).
    TokenId
);
uuid_id!(
    /// Identifies a service in the catalog.
    ServiceId
);
uuid_id!(
    /// Identifies an integration (one way alerts come in for a service).
    IntegrationId
);
uuid_id!(
    /// Identifies an alert.
    AlertId
);
uuid_id!(
    /// Identifies an on-call schedule.
    ScheduleId
);
uuid_id!(
    /// Identifies an escalation policy.
    EscalationPolicyId
);
uuid_id!(
    /// Identifies one of a user's contact methods.
    ContactMethodId
);
uuid_id!(
    /// Identifies a notification rule (which contact method, how long after a page).
    NotificationRuleId
);
uuid_id!(
    /// Identifies one notification in the outbox (the same across its retries).
    NotificationId
);
