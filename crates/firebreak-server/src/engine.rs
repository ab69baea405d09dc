//! Due work that runs without a request: for now, heartbeat deadlines. The deadlines are
//! rows in the database (`due_at`), so a restart or another replica carries on where this
//! one stopped; claiming a miss flips it in the same statement, so each miss fires once.

use crate::AppState;
use std::time::Duration;

/// How often due work is looked for.
pub const TICK: Duration = Duration::from_secs(1);

/// Runs one round of due work at the state's clock; returns how many things fired.
pub async fn tick(state: &AppState) -> usize {
    match state.store.fire_missed_heartbeats(state.clock.now()).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(missed = n, "heartbeats missed their deadline");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot check heartbeat deadlines; retrying");
            0
        }
    }
}

/// Runs `tick` every [`TICK`] until the server shuts down.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => { tick(&state).await; }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
    })
}
