//! The paging engine: fires escalation steps when they are due and delivers the notification
//! outbox. Both are rows in the database (see `PagingStore`), so any replica can do the work,
//! a restart carries on where the last run stopped, and after downtime an incident pages only
//! its current step.

use crate::AppState;
use crate::app::links::{self, ActionLink, LinkAction};
use crate::notify::{IncidentNotice, Message, MessageKind, Recipient};
use firebreak_domain::Timestamp;
use firebreak_store::{ClaimedNotification, DeliveryOutcome};
use futures_util::StreamExt;
use std::time::Duration;

/// How often due work is looked for when nothing wakes the engine earlier.
pub const TICK: Duration = Duration::from_millis(200);
/// A late playbook step escalates this long after it reminded its owner.
pub const LATE_STEP_ESCALATION_MINUTES: i64 = 15;
/// Escalations fired and notifications claimed per database round.
const BATCH: u32 = 200;
/// Messages sent at once.
const SENDERS: usize = 32;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub steps: usize,
    pub messages: usize,
}

/// One round at the state's clock: fires every due escalation step, then sends every due
/// notification.
pub async fn run_once(state: &AppState) -> Round {
    let now = state.clock.now();
    let mut round = Round::default();
    // Communication first: an escalation policy the procedures give a new incident takes over
    // before the service's own pages anyone.
    round.steps += super::comms::run_once(state, now).await;
    loop {
        match state.store.run_due_escalations(now, BATCH).await {
            Ok(0) => break,
            Ok(n) => round.steps += n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot run due escalations; retrying");
                break;
            }
        }
    }
    match state.store.process_late_steps(now, chrono::TimeDelta::minutes(LATE_STEP_ESCALATION_MINUTES)).await {
        Ok(n) => round.steps += n,
        Err(e) => tracing::warn!(error = %e, "cannot check late playbook steps; retrying"),
    }
    loop {
        let claimed = match state
            .store
            .claim_notifications(now, state.config.paging.bundle, state.config.paging.lease, BATCH)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim notifications; retrying");
                break;
            }
        };
        if claimed.is_empty() {
            break;
        }
        round.messages += deliver(state, claimed, now).await;
    }
    round
}

/// Runs rounds until nothing is due at the state's clock (for tests and the CLI).
pub async fn drain(state: &AppState) -> Round {
    let mut total = Round::default();
    loop {
        let r = run_once(state).await;
        if r == Round::default() {
            return total;
        }
        total.steps += r.steps;
        total.messages += r.messages;
    }
}

/// Sends claimed notifications (pages to one contact method as one message) and records how
/// each went. Returns how many messages were sent.
async fn deliver(state: &AppState, claimed: Vec<ClaimedNotification>, now: Timestamp) -> usize {
    let secret = match state.link_secret().await {
        Ok(s) => s.to_owned(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the link secret; notifications wait");
            return 0;
        }
    };
    // With a bundling window, pages to the same contact method claimed together travel as one
    // message; without one, every page is its own message (and keeps its own id).
    let bundling = state.config.paging.bundle > chrono::TimeDelta::zero();
    let mut batches: Vec<Vec<ClaimedNotification>> = Vec::new();
    for n in claimed {
        let joins = bundling && n.kind == "page";
        match batches.iter_mut().find(|b| joins && b[0].kind == "page" && b[0].method.id == n.method.id) {
            Some(b) => b.push(n),
            None => batches.push(vec![n]),
        }
    }
    let sent = futures_util::stream::iter(batches.into_iter().map(|batch| {
        let secret = secret.clone();
        async move {
            let message = compose(state, &batch, &secret, now);
            let to = Recipient {
                kind: batch[0].method.kind,
                address: batch[0].method.address.clone(),
                secret: batch[0].secret.clone(),
            };
            let result = state.notifier.send(&to, &message).await;
            let attempts = batch.iter().map(|n| n.attempts).max().unwrap_or(1);
            let outcome = match result {
                Ok(provider) => DeliveryOutcome::Sent { provider: provider.to_owned() },
                Err(e) if e.retryable && attempts < i64::from(state.config.paging.max_attempts) => {
                    DeliveryOutcome::Retry { error: e.reason, at: now + backoff(attempts) }
                }
                Err(e) => DeliveryOutcome::Failed { error: e.reason },
            };
            if let DeliveryOutcome::Retry { error, .. } | DeliveryOutcome::Failed { error } = &outcome {
                tracing::warn!(channel = %to.kind, attempts, error = %error, "a notification was not delivered");
            }
            let sent = usize::from(matches!(outcome, DeliveryOutcome::Sent { .. }));
            let results: Vec<_> = batch.into_iter().map(|n| (n.id, outcome.clone())).collect();
            // Recorded as soon as this message is done, not when the whole round is: a crash
            // repeats only the messages truly in flight.
            if let Err(e) = state.store.finish_notifications(&results, state.clock.now()).await {
                // The rows stay leased and are sent again when the lease ends.
                tracing::warn!(error = %e, "cannot record notification results");
            }
            sent
        }
    }))
    .buffer_unordered(SENDERS)
    .collect::<Vec<usize>>()
    .await;
    sent.into_iter().sum()
}

/// Waits before attempt `attempts + 1`: 5 s, 10 s, 20 s, … at most 10 minutes.
pub fn backoff(attempts: i64) -> chrono::TimeDelta {
    let exp = attempts.clamp(1, 8) - 1;
    chrono::TimeDelta::seconds((5_i64 << exp).min(600))
}

/// The message for one batch: a page (one or several incidents) or a single other message
/// whose subject and text the outbox row carries.
fn compose(state: &AppState, batch: &[ClaimedNotification], secret: &str, now: Timestamp) -> Message {
    let first = &batch[0];
    let kind = match first.kind.as_str() {
        "page" => MessageKind::Page,
        "verification" => MessageKind::Verification,
        "handoff" => MessageKind::Handoff,
        "reminder" => MessageKind::Reminder,
        "update" => MessageKind::Update,
        "update_reminder" => MessageKind::UpdateReminder,
        _ => MessageKind::Test,
    };
    let created_at = now;
    if kind != MessageKind::Page {
        let field = |k: &str| first.payload.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        return Message {
            id: first.id,
            kind,
            subject: field("subject"),
            text: field("text"),
            incidents: Vec::new(),
            created_at,
            unsubscribe: None,
        };
    }
    let base = state.public_base();
    let expires_at = now + state.config.paging.link_ttl;
    let incidents: Vec<IncidentNotice> = batch
        .iter()
        .filter_map(|n| n.incident.as_ref().map(|i| (n, i)))
        .map(|(n, i)| {
            let link = |action| {
                let token = links::sign(secret, &ActionLink { action, incident: i.id, user: n.user_id, expires_at });
                format!("{base}/a/{token}")
            };
            IncidentNotice {
                number: i.number,
                title: i.title.clone(),
                severity: i.severity,
                status: i.status.to_string(),
                service: n.service_name.clone(),
                open_url: format!("{base}/incidents/{}", i.number),
                ack_url: link(LinkAction::Acknowledge),
                resolve_url: link(LinkAction::Resolve),
            }
        })
        .collect();
    let subject = match incidents.as_slice() {
        [one] => format!("[Firebreak] INC-{} {}: {}", one.number, one.severity, one.title),
        many => format!("[Firebreak] {} incidents need you", many.len()),
    };
    let mut text = String::new();
    for i in &incidents {
        let service = i.service.as_deref().map(|s| format!(" on {s}")).unwrap_or_default();
        text.push_str(&format!(
            "INC-{} ({}, {}){service}: {}\nAcknowledge: {}\nResolve: {}\nOpen: {}\n\n",
            i.number, i.severity, i.status, i.title, i.ack_url, i.resolve_url, i.open_url
        ));
    }
    text.push_str(&format!("You were paged as {} because you are on call.", first.user_name));
    // The outbox row id of the first page stands for the whole message (and its retries).
    Message { id: first.id, kind, subject, text, incidents, created_at, unsubscribe: None }
}

/// How often schedules are checked for a new person on call (hand-off notifications).
pub const HANDOFF_EVERY: Duration = Duration::from_secs(30);

/// Records who is on call on every schedule now; people who asked for it hear when their
/// shift starts (queued to their verified methods with an immediate rule). Returns how many
/// schedules changed hands.
pub async fn check_handoffs(state: &AppState) -> usize {
    let now = state.clock.now();
    let schedules = match state.store.list_schedules().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list schedules for hand-offs; retrying");
            return 0;
        }
    };
    let mut changed = 0;
    for schedule in schedules {
        let Ok(on_call) = schedule.on_call() else { continue };
        let who = on_call.on_call_at(now).map(|o| o.user);
        let until = who.and_then(|u| {
            on_call
                .shifts(now, now + chrono::TimeDelta::days(35))
                .ok()?
                .into_iter()
                .find(|s| s.on_call.as_ref().is_some_and(|o| o.user == u))
                .map(|s| s.end)
        });
        let until = until.map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
        let payload = serde_json::json!({
            "subject": format!("You are on call now: {}", schedule.name),
            "text": format!(
                "Your shift on the schedule \"{}\" has started{until}. Pages for it now come to you.",
                schedule.name
            ),
        });
        match state.store.record_handoff(schedule.id, who, payload, now).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, schedule = %schedule.id, "cannot record a hand-off"),
        }
    }
    if changed > 0 {
        state.paging_wake.notify_one();
    }
    changed
}

/// Runs the engine until the server shuts down: a round every [`TICK`], and at once when an
/// incident changes (a new incident pages within milliseconds) or a handler asks.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut notices = state.store.subscribe();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut handoffs_due = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = state.paging_wake.notified() => {}
                n = notices.recv() => {
                    if matches!(n, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        break;
                    }
                    // One round serves every notice that arrived meanwhile.
                    while notices.try_recv().is_ok() {}
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
            if std::time::Instant::now() >= handoffs_due {
                check_handoffs(&state).await;
                handoffs_due = std::time::Instant::now() + HANDOFF_EVERY;
            }
            run_once(&state).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let secs: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
    }
}
