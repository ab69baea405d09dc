//! Status pages as customers read them: the status of each component, derived from a
//! person's choice, the open incidents of the services it is linked to and maintenance, and
//! the page-wide indicator. The words are Atlassian Statuspage's, so its clients read them.

use crate::{DomainError, Severity};
use serde::{Deserialize, Serialize};

/// What customers are told about one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    /// From least to most severe.
    pub const ALL: &'static [ComponentStatus] = &[
        ComponentStatus::Operational,
        ComponentStatus::UnderMaintenance,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// How a page writes it: `Degraded performance`.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }

    /// How bad it is, for "the worst wins" (an outage outranks maintenance).
    pub fn rank(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// The status an open incident of this severity shows on its services' components when
    /// the procedures do not say otherwise.
    pub fn for_severity(severity: Severity) -> ComponentStatus {
        match severity {
            Severity::Critical => ComponentStatus::MajorOutage,
            Severity::High => ComponentStatus::PartialOutage,
            Severity::Medium | Severity::Low => ComponentStatus::DegradedPerformance,
        }
    }
}

impl std::fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ComponentStatus {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ComponentStatus::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = ComponentStatus::ALL.iter().map(|c| c.as_str()).collect();
            DomainError::invalid("status", format!("unknown component status; use one of {}", known.join(", ")))
        })
    }
}

/// What decides a component's status at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drivers {
    /// Set by a person: it stands until they clear it, whatever the incidents say.
    pub manual: Option<ComponentStatus>,
    /// The statuses the open incidents of its linked services map to (their severities
    /// through the procedures' mapping). Restricted incidents are never among them.
    pub incidents: Vec<ComponentStatus>,
    /// A maintenance that affects it is in progress.
    pub maintenance: bool,
}

impl Drivers {
    /// The status shown: a person's choice; else the worst of the open incidents and the
    /// maintenance in progress; else operational.
    pub fn status(&self) -> ComponentStatus {
        if let Some(manual) = self.manual {
            return manual;
        }
        let maintenance = self.maintenance.then_some(ComponentStatus::UnderMaintenance);
        self.incidents
            .iter()
            .copied()
            .chain(maintenance)
            .max_by_key(|s| s.rank())
            .unwrap_or(ComponentStatus::Operational)
    }
}

/// The page-wide status as Statuspage clients read it (`status.indicator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    /// The indicator of a page whose components show `statuses`: the worst of them.
    pub fn of(statuses: impl IntoIterator<Item = ComponentStatus>) -> (Indicator, &'static str) {
        let worst = statuses.into_iter().max_by_key(|s| s.rank()).unwrap_or(ComponentStatus::Operational);
        match worst {
            ComponentStatus::Operational => (Indicator::None, "All Systems Operational"),
            ComponentStatus::UnderMaintenance => (Indicator::None, "Service Under Maintenance"),
            ComponentStatus::DegradedPerformance => (Indicator::Minor, "Minor Service Outage"),
            ComponentStatus::PartialOutage => (Indicator::Major, "Partial System Outage"),
            ComponentStatus::MajorOutage => (Indicator::Critical, "Major System Outage"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }
}

/// A page's address part (`/status/{slug}`): 1 to 63 lower-case letters, digits and inner
/// hyphens.
pub fn parse_slug(raw: &str) -> Result<String, DomainError> {
    let slug = raw.trim();
    let ok = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(slug.to_owned())
    } else {
        Err(DomainError::invalid("slug", "1 to 63 lower-case letters, digits and hyphens (not first or last)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn a_hand_set_status_stands_whatever_the_incidents_say() {
        let d = Drivers { manual: Some(Operational), incidents: vec![MajorOutage], maintenance: true };
        assert_eq!(d.status(), Operational);
        let d = Drivers { manual: Some(PartialOutage), ..Default::default() };
        assert_eq!(d.status(), PartialOutage);
    }

    #[test]
    fn overlapping_incidents_show_the_worst_and_outrank_maintenance() {
        let d = Drivers { incidents: vec![DegradedPerformance, MajorOutage, PartialOutage], ..Default::default() };
        assert_eq!(d.status(), MajorOutage);
        let d = Drivers { incidents: vec![DegradedPerformance], maintenance: true, ..Default::default() };
        assert_eq!(d.status(), DegradedPerformance, "an incident during maintenance is still shown");
        let d = Drivers { maintenance: true, ..Default::default() };
        assert_eq!(d.status(), UnderMaintenance);
        assert_eq!(Drivers::default().status(), Operational, "back to operational when nothing is open");
    }

    #[test]
    fn severities_map_to_statuses_and_the_page_indicator_follows_the_worst() {
        assert_eq!(ComponentStatus::for_severity(Severity::Critical), MajorOutage);
        assert_eq!(ComponentStatus::for_severity(Severity::High), PartialOutage);
        assert_eq!(ComponentStatus::for_severity(Severity::Low), DegradedPerformance);
        assert_eq!(Indicator::of([]), (Indicator::None, "All Systems Operational"));
        assert_eq!(Indicator::of([Operational, UnderMaintenance]).0, Indicator::None);
        assert_eq!(Indicator::of([Operational, DegradedPerformance]).0, Indicator::Minor);
        assert_eq!(Indicator::of([PartialOutage, DegradedPerformance]).0, Indicator::Major);
        assert_eq!(Indicator::of([MajorOutage, UnderMaintenance]).0, Indicator::Critical);
    }

    #[test]
    fn statuses_and_slugs_parse_strictly() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<ComponentStatus>(), Ok(*s));
        }
        assert!("down".parse::<ComponentStatus>().is_err());
        assert_eq!(parse_slug(" public "), Ok("public".into()));
        for bad in ["", "-a", "a-", "Public", "a b", "a/b", "<script>", &"a".repeat(64)] {
            assert!(parse_slug(bad).is_err(), "{bad:?}");
        }
    }
}
