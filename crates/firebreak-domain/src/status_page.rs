//! Status pages as customers read them: the status of each component, derived from a
//! person's choice, the open incidents of the services it is linked to and maintenance, and
//! the page-wide indicator. The words are Atlassian Statuspage's, so its clients read them.

use crate::{DomainError, Severity, Timestamp};
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
        && !slug.ends_with('-')
        // Taken by the pages' own addresses (`/status/pages/{id}`, `/status/unsubscribe/…`).
        && !matches!(slug, "pages" | "unsubscribe");
    if ok {
        Ok(slug.to_owned())
    } else {
        Err(DomainError::invalid("slug", "1 to 63 lower-case letters, digits and hyphens (not first or last)"))
    }
}

/// What a notice on a page is: a public incident, or scheduled maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Incident,
    Maintenance,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Incident => "incident",
            NoticeKind::Maintenance => "maintenance",
        }
    }
}

impl std::str::FromStr for NoticeKind {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "incident" => Ok(NoticeKind::Incident),
            "maintenance" => Ok(NoticeKind::Maintenance),
            _ => Err(DomainError::invalid("kind", "incident or maintenance")),
        }
    }
}

/// Where a public incident or a maintenance stands, in Statuspage's words: an incident is
/// investigating → identified → monitoring → resolved; a maintenance is scheduled →
/// in_progress → verifying → completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl NoticeStatus {
    pub const ALL: &'static [NoticeStatus] = &[
        NoticeStatus::Investigating,
        NoticeStatus::Identified,
        NoticeStatus::Monitoring,
        NoticeStatus::Resolved,
        NoticeStatus::Scheduled,
        NoticeStatus::InProgress,
        NoticeStatus::Verifying,
        NoticeStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Investigating => "investigating",
            NoticeStatus::Identified => "identified",
            NoticeStatus::Monitoring => "monitoring",
            NoticeStatus::Resolved => "resolved",
            NoticeStatus::Scheduled => "scheduled",
            NoticeStatus::InProgress => "in_progress",
            NoticeStatus::Verifying => "verifying",
            NoticeStatus::Completed => "completed",
        }
    }

    /// How a page writes it.
    pub fn label(self) -> &'static str {
        match self {
            NoticeStatus::Investigating => "Investigating",
            NoticeStatus::Identified => "Identified",
            NoticeStatus::Monitoring => "Monitoring",
            NoticeStatus::Resolved => "Resolved",
            NoticeStatus::Scheduled => "Scheduled",
            NoticeStatus::InProgress => "In progress",
            NoticeStatus::Verifying => "Verifying",
            NoticeStatus::Completed => "Completed",
        }
    }

    /// The statuses a notice of `kind` may take.
    pub fn fits(self, kind: NoticeKind) -> bool {
        let maintenance = matches!(
            self,
            NoticeStatus::Scheduled | NoticeStatus::InProgress | NoticeStatus::Verifying | NoticeStatus::Completed
        );
        maintenance == (kind == NoticeKind::Maintenance)
    }

    /// Over: the notice leaves the page's "now" and goes to its history.
    pub fn is_final(self) -> bool {
        matches!(self, NoticeStatus::Resolved | NoticeStatus::Completed)
    }

    /// Parses a status for a notice of `kind`.
    pub fn parse_for(raw: &str, kind: NoticeKind) -> Result<NoticeStatus, DomainError> {
        let words: Vec<&str> = NoticeStatus::ALL.iter().filter(|s| s.fits(kind)).map(|s| s.as_str()).collect();
        NoticeStatus::ALL.iter().copied().find(|s| s.as_str() == raw.trim() && s.fits(kind)).ok_or_else(|| {
            DomainError::invalid("status", format!("for a {} use one of {}", kind.as_str(), words.join(", ")))
        })
    }
}

impl std::str::FromStr for NoticeStatus {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoticeStatus::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| DomainError::invalid("status", "unknown notice status"))
    }
}

/// How bad a notice is, as Statuspage clients read `impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
    Maintenance,
}

impl Impact {
    pub const ALL: &'static [Impact] =
        &[Impact::None, Impact::Minor, Impact::Major, Impact::Critical, Impact::Maintenance];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
            Impact::Maintenance => "maintenance",
        }
    }

    /// The impact of an incident of this severity on its readers.
    pub fn for_severity(severity: Severity) -> Impact {
        match severity {
            Severity::Critical => Impact::Critical,
            Severity::High => Impact::Major,
            Severity::Medium | Severity::Low => Impact::Minor,
        }
    }
}

impl std::str::FromStr for Impact {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Impact::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| DomainError::invalid("impact", "none, minor, major, critical or maintenance"))
    }
}

/// Where a maintenance scheduled from `starts` to `ends` stands at `now`, when it is not
/// already over: the engine moves it along these by itself.
pub fn maintenance_phase(now: Timestamp, starts: Timestamp, ends: Timestamp) -> NoticeStatus {
    if now >= ends {
        NoticeStatus::Completed
    } else if now >= starts {
        NoticeStatus::InProgress
    } else {
        NoticeStatus::Scheduled
    }
}

/// A short text a person typed (a name, a title): trimmed, `min` to `max` characters, no
/// control characters.
pub fn check_label(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let value = raw.trim();
    let n = value.chars().count();
    if n < min || n > max || value.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, format!("{min} to {max} characters, no control characters")));
    }
    Ok(value.to_owned())
}

/// Minutes in each status over one span, from a component's status changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayMinutes {
    pub operational: i64,
    pub maintenance: i64,
    pub degraded: i64,
    pub partial: i64,
    pub major: i64,
}

impl DayMinutes {
    fn add(&mut self, status: ComponentStatus, minutes: i64) {
        match status {
            ComponentStatus::Operational => self.operational += minutes,
            ComponentStatus::UnderMaintenance => self.maintenance += minutes,
            ComponentStatus::DegradedPerformance => self.degraded += minutes,
            ComponentStatus::PartialOutage => self.partial += minutes,
            ComponentStatus::MajorOutage => self.major += minutes,
        }
    }

    pub fn total(&self) -> i64 {
        self.operational + self.maintenance + self.degraded + self.partial + self.major
    }

    /// The share of the span that counts as up, Statuspage's way: a major outage counts
    /// fully as down, a partial outage for 30 %, everything else as up. `None` for an empty span.
    pub fn uptime(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| 1.0 - (self.major as f64 + 0.3 * self.partial as f64) / total as f64)
    }

    /// The worst status held for any time in the span (for the colour of its bar).
    pub fn worst(&self) -> ComponentStatus {
        [
            (self.major, ComponentStatus::MajorOutage),
            (self.partial, ComponentStatus::PartialOutage),
            (self.degraded, ComponentStatus::DegradedPerformance),
            (self.maintenance, ComponentStatus::UnderMaintenance),
        ]
        .into_iter()
        .find(|(m, _)| *m > 0)
        .map(|(_, s)| s)
        .unwrap_or(ComponentStatus::Operational)
    }

    /// Merges another span.
    pub fn plus(&mut self, other: &DayMinutes) {
        self.operational += other.operational;
        self.maintenance += other.maintenance;
        self.degraded += other.degraded;
        self.partial += other.partial;
        self.major += other.major;
    }
}

/// Minutes in each status between `from` and `to`, from `changes` (time, new status) in time
/// order. Before its first change a component was operational; time before `since` (when it
/// was made) and after `now` does not count.
pub fn minutes_between(
    changes: &[(Timestamp, ComponentStatus)],
    since: Timestamp,
    from: Timestamp,
    to: Timestamp,
) -> DayMinutes {
    let mut out = DayMinutes::default();
    let start = from.max(since);
    if start >= to {
        return out;
    }
    let mut status = ComponentStatus::Operational;
    let mut cursor = start;
    for (at, next) in changes {
        if *at <= start {
            status = *next;
            continue;
        }
        if *at >= to {
            break;
        }
        out.add(status, (*at - cursor).num_seconds());
        cursor = *at;
        status = *next;
    }
    out.add(status, (to - cursor).num_seconds());
    // Seconds were summed to keep short spans exact; report minutes.
    DayMinutes {
        operational: out.operational / 60,
        maintenance: out.maintenance / 60,
        degraded: out.degraded / 60,
        partial: out.partial / 60,
        major: out.major / 60,
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
        for bad in ["", "-a", "a-", "Public", "a b", "a/b", "<script>", "pages", "unsubscribe", &"a".repeat(64)] {
            assert!(parse_slug(bad).is_err(), "{bad:?}");
        }
    }

    fn at(minutes: i64) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").map(|t| t.to_utc()).unwrap_or_default()
            + chrono::TimeDelta::minutes(minutes)
    }

    #[test]
    fn maintenance_moves_from_scheduled_to_in_progress_to_completed() {
        let (starts, ends) = (at(60), at(120));
        assert_eq!(maintenance_phase(at(0), starts, ends), NoticeStatus::Scheduled);
        assert_eq!(maintenance_phase(at(60), starts, ends), NoticeStatus::InProgress);
        assert_eq!(maintenance_phase(at(119), starts, ends), NoticeStatus::InProgress);
        assert_eq!(maintenance_phase(at(120), starts, ends), NoticeStatus::Completed);
    }

    #[test]
    fn notice_statuses_fit_their_kind() {
        assert!(NoticeStatus::parse_for("investigating", NoticeKind::Incident).is_ok());
        assert!(NoticeStatus::parse_for("in_progress", NoticeKind::Incident).is_err());
        assert!(NoticeStatus::parse_for("scheduled", NoticeKind::Maintenance).is_ok());
        assert!(NoticeStatus::parse_for("resolved", NoticeKind::Maintenance).is_err());
        assert!(NoticeStatus::Resolved.is_final() && NoticeStatus::Completed.is_final());
        assert!(!NoticeStatus::Monitoring.is_final());
    }

    #[test]
    fn minutes_in_each_status_come_from_the_changes() {
        let changes = [(at(-30), PartialOutage), (at(60), Operational), (at(600), MajorOutage), (at(630), Operational)];
        let day = minutes_between(&changes, at(-1000), at(0), at(1440));
        assert_eq!(day.partial, 60, "the outage that began before the day counts from midnight");
        assert_eq!(day.major, 30);
        assert_eq!(day.total(), 1440);
        assert_eq!(day.worst(), MajorOutage);
        let up = day.uptime().unwrap_or_default();
        assert!((up - (1.0 - (30.0 + 0.3 * 60.0) / 1440.0)).abs() < 1e-9, "{up}");
        // A component made at noon counts from noon; an empty span has no uptime.
        assert_eq!(minutes_between(&[], at(720), at(0), at(1440)).total(), 720);
        assert_eq!(minutes_between(&[], at(2000), at(0), at(1440)).uptime(), None);
        assert_eq!(minutes_between(&[], at(-10), at(0), at(1440)).worst(), Operational);
    }

    #[test]
    fn labels_are_checked_in_one_place() {
        assert_eq!(check_label("name", "  API ", 1, 100), Ok("API".into()));
        assert!(check_label("name", "", 1, 100).is_err());
        assert!(check_label("name", "a\u{7}b", 1, 100).is_err());
        assert!(check_label("name", &"x".repeat(101), 1, 100).is_err());
        assert_eq!(check_label("group", "", 0, 100), Ok(String::new()));
    }
}
