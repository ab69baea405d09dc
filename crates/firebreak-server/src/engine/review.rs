//! Post-incident review without a request: the commander is reminded once when an incident's
//! postmortem is late (its severity's `postmortem_due` after resolution, not published), and
//! an action item's owner once a day while it is past its due day. Both go through the
//! notification rules; each reminder is claimed by one replica (see the store).

use crate::AppState;
use firebreak_domain::Timestamp;

/// How often late postmortems and overdue action items are looked for.
const CHECK_EVERY_SECONDS: i64 = 30;

/// One round at `now` (at most every [`CHECK_EVERY_SECONDS`]); returns how many reminders
/// went out.
pub async fn run_once(state: &AppState, now: Timestamp) -> usize {
    let due = {
        let mut last = state.review_checked.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| now < t || now - t >= chrono::TimeDelta::seconds(CHECK_EVERY_SECONDS));
        if due {
            *last = Some(now);
        }
        due
    };
    if !due {
        return 0;
    }
    let procedures = state.procedures.current();
    let late_after: Vec<(firebreak_domain::Severity, u32)> =
        procedures.severities.iter().filter_map(|(s, l)| l.postmortem_due_minutes.map(|m| (*s, m))).collect();
    match state.store.process_review_reminders(now, &late_after, now.date_naive()).await {
        Ok(r) => {
            if r.postmortems + r.action_items > 0 {
                state.paging_wake.notify_one();
            }
            r.postmortems + r.action_items
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for late postmortems and action items; retrying");
            0
        }
    }
}
