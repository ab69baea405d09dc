//! Status pages without a request: maintenance moved along by the clock (scheduled → in
//! progress → completed, each step published to readers and subscribers), and the status
//! every component shows recorded into its history when it changes. Both are idempotent: a
//! step taken or a status recorded is not done again, by this replica or another.

use crate::AppState;
use crate::app::status_pages::{history, subscribers};
use firebreak_domain::Timestamp;

/// How often the components' statuses are recorded (the bars count minutes).
const RECORD_EVERY_SECONDS: i64 = 5;

/// One round at `now`: moves due maintenance along, and at most every
/// [`RECORD_EVERY_SECONDS`] records what changed. Returns how many notices moved plus how
/// many statuses were recorded.
pub async fn run_once(state: &AppState, now: Timestamp) -> usize {
    // Subscribers' messages carry signed unsubscribe links: the key is loaded first.
    if let Err(e) = subscribers::ready(state).await {
        tracing::warn!(error = %e.message, "cannot load the link signing key; retrying");
        return 0;
    }
    let mut done = match state.store.advance_maintenance(now, &subscribers::message_for(state)).await {
        Ok(moved) => moved.len(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot move scheduled maintenance along; retrying");
            0
        }
    };
    let record_due = {
        let mut last = state.status_recorded.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| now < t || now - t >= chrono::TimeDelta::seconds(RECORD_EVERY_SECONDS));
        if due {
            *last = Some(now);
        }
        due
    };
    if record_due {
        done += match history::record_all(state, now).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot record the status pages' component history; retrying");
                0
            }
        };
    }
    done
}
