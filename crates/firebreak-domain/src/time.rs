//! Timestamps as stored and compared everywhere: UTC, truncated to microseconds so that a
//! value written to either database reads back identical (audit hashes depend on it).

use chrono::{DateTime, SubsecRound, Utc};

/// A UTC instant with microsecond precision.
pub type Timestamp = DateTime<Utc>;

/// Truncates an instant to the precision the stores keep.
pub fn truncate(at: Timestamp) -> Timestamp {
    at.trunc_subsecs(6)
}

/// The current instant, truncated to the stored precision.
pub fn now() -> Timestamp {
    truncate(Utc::now())
}

/// The canonical text form used in audit hashes: RFC 3339, UTC, six fractional digits.
pub fn canonical(at: Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn canonical_form_is_fixed_width_utc() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 5).single().unwrap_or_default();
        assert_eq!(canonical(at), "2026-03-01T12:00:05.000000Z");
    }

    #[test]
    fn truncation_drops_nanoseconds() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).single().unwrap_or_default();
        assert_eq!(truncate(at).timestamp_subsec_nanos(), 123_456_000);
    }
}
