//! Response analytics: the query (period, grouping, filters, time zone), the facts the store
//! reads for it, and the report `firebreak_domain::analytics` computes from them with the
//! procedures' response targets. Drills are left out.

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use firebreak_domain::analytics::{GroupBy, Report, ReportQuery, Targets};
use firebreak_domain::{IncidentType, ServiceId, Severity, Timestamp};
use firebreak_store::review::AnalyticsScope;
use serde::Deserialize;
use utoipa::IntoParams;

/// The longest period one report covers.
pub const MAX_DAYS: i64 = 3 * 366;

/// What to report on.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Start, inclusive: `YYYY-MM-DD` (midnight in `tz`) or RFC 3339. Default: 30 days before `to`.
    pub from: Option<String>,
    /// End, exclusive: `YYYY-MM-DD` (midnight in `tz`) or RFC 3339. Default: now.
    pub to: Option<String>,
    /// `none` (default), `day`, `week`, `month`, `service`, `team`, `severity` or `type`.
    pub group_by: Option<String>,
    /// A catalog service's id.
    pub service: Option<String>,
    /// A services' owner team.
    pub team: Option<String>,
    /// Comma-separated severities.
    pub severity: Option<String>,
    /// Comma-separated types.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// IANA time zone for days, weeks, months and business hours (default UTC).
    pub tz: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_query", message)
}

fn zone(raw: Option<&str>) -> ApiResult<(jiff::tz::TimeZone, String)> {
    let name = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("UTC");
    let tz = jiff::tz::TimeZone::get(name)
        .map_err(|_| bad(format!("tz: unknown time zone {name:?} (an IANA name such as Europe/Berlin)")))?;
    Ok((tz, name.to_owned()))
}

/// An instant from `YYYY-MM-DD` (the start of that day in `tz`) or RFC 3339.
fn instant(field: &str, raw: &str, tz: &jiff::tz::TimeZone) -> ApiResult<Timestamp> {
    let raw = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(firebreak_domain::time::truncate(t.with_timezone(&chrono::Utc)));
    }
    let day: jiff::civil::Date =
        raw.parse().map_err(|_| bad(format!("{field}: a day (2026-11-01) or an instant (2026-11-01T00:00:00Z)")))?;
    let at = day.to_zoned(tz.clone()).map_err(|e| bad(format!("{field}: {e}")))?.timestamp();
    chrono::DateTime::from_timestamp(at.as_second(), 0).ok_or_else(|| bad(format!("{field}: out of range")))
}

fn words<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> ApiResult<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    raw.into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<T>().map_err(|e| bad(format!("{field}: {e}"))))
        .collect()
}

/// The checked query: the store's scope and the report's parameters.
pub fn parse(state: &AppState, q: &ReportParams) -> ApiResult<(AnalyticsScope, ReportQuery)> {
    parse_for(state, None, q)
}

/// As [`parse`], for a caller: restricted incidents' alerts they may not see stay out of the
/// noisiest sources and fingerprints.
pub fn parse_for(
    state: &AppState,
    p: Option<&Principal>,
    q: &ReportParams,
) -> ApiResult<(AnalyticsScope, ReportQuery)> {
    let (tz, time_zone) = zone(q.tz.as_deref())?;
    let now = state.clock.now();
    let to = match q.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => instant("to", raw, &tz)?,
        None => now,
    };
    let from = match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => instant("from", raw, &tz)?,
        None => to - chrono::TimeDelta::days(30),
    };
    if from >= to {
        return Err(bad("from: must be before to"));
    }
    if to - from > chrono::TimeDelta::days(MAX_DAYS) {
        return Err(bad(format!("the period is at most {MAX_DAYS} days")));
    }
    let group_by: GroupBy = match q.group_by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(g) => g.parse().map_err(|e: firebreak_domain::DomainError| bad(e.to_string()))?,
        None => GroupBy::None,
    };
    let service = match q.service.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(ServiceId(s.parse().map_err(|_| bad("service: a service id"))?)),
        None => None,
    };
    let team = q.team.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if team.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(bad("team: at most 200 characters"));
    }
    let scope = AnalyticsScope {
        from,
        to,
        service,
        team,
        severities: words::<Severity>("severity", q.severity.as_deref())?,
        kinds: words::<IncidentType>("type", q.kind.as_deref())?,
        top: 10,
        viewer: p.and_then(|p| crate::app::visibility::viewer(state, p)),
    };
    let query = ReportQuery { from, to, group_by, tz, time_zone, business_start_hour: 8, business_end_hour: 18, now };
    Ok((scope, query))
}

/// The procedures' acknowledge and contain targets per severity.
pub fn targets(state: &AppState) -> Targets {
    let procedures = state.procedures.current();
    let mut t = Targets::default();
    for (severity, level) in &procedures.severities {
        if let Some(m) = level.acknowledge_within_minutes {
            t.acknowledge_within_minutes.insert(*severity, m);
        }
        if let Some(m) = level.contain_within_minutes {
            t.contain_within_minutes.insert(*severity, m);
        }
    }
    t
}

/// The report. Everyone signed in may read it (managers and auditors are often viewers): it
/// counts incidents and names no incident.
pub async fn report(state: &AppState, p: &Principal, q: &ReportParams) -> ApiResult<Report> {
    let (scope, query) = parse_for(state, Some(p), q)?;
    let facts = state.store.analytics_facts(&scope).await?;
    Ok(firebreak_domain::analytics::report(facts, &query, &targets(state)))
}

/// Today's date in UTC (the day action items fall overdue after).
pub fn today(state: &AppState) -> chrono::NaiveDate {
    state.clock.now().date_naive()
}
