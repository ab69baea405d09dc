//! Stakeholder communication without a request: the update cadence (reminders and
//! escalations when an update is late), telling the stakeholder groups a severity or type
//! names, and sending the queued stakeholder emails. Each is idempotent rows in the database,
//! so replicas and restarts do each once.

use crate::AppState;
use crate::app::procedures::notices::notify_group;
use crate::engine::paging::{LATE_STEP_ESCALATION_MINUTES, backoff};
use crate::notify::{Message, MessageKind, Recipient};
use firebreak_domain::contact::ContactKind;
use firebreak_domain::procedures::directory::Procedures;
use firebreak_domain::{Actor, Incident, Severity, Timestamp, Via};
use firebreak_store::DeliveryOutcome;

/// Emails claimed per round.
const BATCH: u32 = 100;
/// How long a claimed email stays with this replica.
const LEASE_SECONDS: i64 = 120;
/// Incidents changed this long before the last check are looked at again (transactions that
/// committed late, clocks of other replicas).
const OVERLAP_SECONDS: i64 = 10;

/// How often the update cadence and contact lists' escalation paths are looked at (their
/// times are whole minutes).
const CADENCE_EVERY_SECONDS: i64 = 5;

/// One round at `now`; returns how many things it did.
pub async fn run_once(state: &AppState, now: Timestamp) -> usize {
    let procedures = state.procedures.current();
    let mut done = 0;
    let cadence_due = {
        let mut last = state.cadence_checked.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| now < t || now - t >= chrono::TimeDelta::seconds(CADENCE_EVERY_SECONDS));
        if due {
            *last = Some(now);
        }
        due
    };
    if cadence_due {
        let every: Vec<(Severity, u32)> =
            procedures.severities.iter().filter_map(|(s, l)| l.update_every_minutes.map(|m| (*s, m))).collect();
        done += match state
            .store
            .process_update_cadence(now, &every, chrono::TimeDelta::minutes(LATE_STEP_ESCALATION_MINUTES))
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot check the stakeholder update cadence; retrying");
                0
            }
        };
    }
    // Groups and policies named by the procedures: nothing to look for when none are.
    let configured = procedures
        .severities
        .values()
        .chain(procedures.types.values())
        .any(|l| !l.stakeholder_groups.is_empty() || l.escalation_policy.is_some());
    if configured {
        done += tell_groups(state, &procedures, now).await;
    }
    // Escalation paths are minutes long: looked at with the cadence.
    if cadence_due {
        done += escalate_groups(state, &procedures, now).await;
    }
    done + send_emails(state, now).await
}

/// The groups a severity and type name, each once.
pub fn groups_for(procedures: &Procedures, incident: &Incident) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let by_severity = procedures.severities.get(&incident.severity).map(|l| l.stakeholder_groups.clone());
    let by_type = procedures.types.get(&incident.kind).map(|l| l.stakeholder_groups.clone());
    for (groups, why) in
        [(by_severity, format!("{} severity", incident.severity)), (by_type, format!("{} incident", incident.kind))]
    {
        for g in groups.unwrap_or_default() {
            if !out.iter().any(|(name, _)| *name == g) {
                out.push((g, why.clone()));
            }
        }
    }
    out
}

/// The escalation policy (by name) the procedures give an incident: its type's, else its
/// severity's, with the reason.
pub fn policy_for(procedures: &Procedures, incident: &Incident) -> Option<(String, String)> {
    let by_type = procedures.types.get(&incident.kind).and_then(|l| l.escalation_policy.clone());
    let by_severity = procedures.severities.get(&incident.severity).and_then(|l| l.escalation_policy.clone());
    by_type
        .map(|p| (p, format!("{} incident", incident.kind)))
        .or_else(|| by_severity.map(|p| (p, format!("{} severity", incident.severity))))
}

/// Tells the groups of open incidents changed since the last round (each group once per
/// incident).
async fn tell_groups(state: &AppState, procedures: &Procedures, now: Timestamp) -> usize {
    let since = {
        let guard = state.comms_since.lock().unwrap_or_else(|e| e.into_inner());
        guard.unwrap_or(now - chrono::TimeDelta::days(1))
    };
    let incidents = match state
        .store
        .open_incidents_changed_since(since - chrono::TimeDelta::seconds(OVERLAP_SECONDS), 500)
        .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for incidents to tell stakeholders about; retrying");
            return 0;
        }
    };
    // Continue from the newest change seen (the store's own times), not from this clock.
    let next = incidents.iter().map(|i| i.updated_at).max().unwrap_or(since).max(since);
    let mut told = 0;
    let mut policies: Option<Vec<firebreak_store::EscalationPolicyRecord>> = None;
    for incident in &incidents {
        if let Some((name, reason)) = policy_for(procedures, incident) {
            if policies.is_none() {
                policies = state.store.list_policies().await.ok();
            }
            match policies.as_ref().and_then(|all| all.iter().find(|p| p.name == name)) {
                Some(p) => {
                    let key = format!("policy:{name}");
                    match state.store.escalate_with(incident.id, p.id, &name, &reason, &key).await {
                        Ok(true) => {
                            told += 1;
                            state.paging_wake.notify_one();
                        }
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, policy = %name, "cannot switch the escalation policy; retrying")
                        }
                    }
                }
                None => tracing::warn!(policy = %name, "the procedures name an escalation policy that does not exist"),
            }
        }
        for (group, reason) in groups_for(procedures, incident) {
            match notify_group(
                state,
                procedures,
                incident,
                &group,
                &reason,
                &format!("group:{group}"),
                &Actor::system("updates", Via::System),
            )
            .await
            {
                Ok(Some(_)) => told += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e.message, group = %group, "cannot tell a stakeholder group; retrying")
                }
            }
        }
    }
    *state.comms_since.lock().unwrap_or_else(|e| e.into_inner()) = Some(next);
    told
}

/// Follows contact lists' escalation paths: when a list was told about an incident and nobody
/// acknowledged it within the list's `escalate_after`, its `escalate_to` list is told (once).
async fn escalate_groups(state: &AppState, procedures: &Procedures, now: Timestamp) -> usize {
    if !procedures.contact_lists.values().any(|l| l.escalate_to.is_some() && l.escalate_after_minutes.is_some()) {
        return 0;
    }
    let notices = match state.store.unacknowledged_group_notices(now).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for unacknowledged group notices; retrying");
            return 0;
        }
    };
    let mut told = 0;
    for (incident, key, at) in notices {
        let Some(group) = key.rsplit("group:").next() else { continue };
        let Some(list) = procedures.contact_lists.get(group) else { continue };
        let (Some(to), Some(after)) = (&list.escalate_to, list.escalate_after_minutes) else { continue };
        if at + chrono::TimeDelta::minutes(i64::from(after)) > now {
            continue;
        }
        let reason = format!("{group} did not acknowledge within {after} minutes");
        let actor = Actor::system("updates", Via::System);
        match notify_group(state, procedures, &incident, to, &reason, &format!("escalated:{group}:group:{to}"), &actor)
            .await
        {
            Ok(Some(_)) => told += 1,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e.message, group = %to, "cannot escalate to a stakeholder group; retrying")
            }
        }
    }
    told
}

/// Sends the stakeholder messages that are due: emails, and status page subscribers' emails
/// (with their one-click unsubscribe link) and webhooks (signed with their secret).
async fn send_emails(state: &AppState, now: Timestamp) -> usize {
    // Subscribers' messages are signed with a key derived from the link secret: loading it
    // here, at the first round, means publishing finds it ready.
    if let Err(e) = crate::app::status_pages::subscribers::ready(state).await {
        tracing::warn!(error = %e.message, "cannot read the link secret");
    }
    let claimed =
        match state.store.claim_stakeholder_messages(now, chrono::TimeDelta::seconds(LEASE_SECONDS), BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim stakeholder emails; retrying");
                return 0;
            }
        };
    if claimed.is_empty() {
        return 0;
    }
    let mut results = Vec::with_capacity(claimed.len());
    for m in &claimed {
        let message = Message {
            id: firebreak_domain::NotificationId(m.id),
            kind: if m.kind == "action_item" { MessageKind::ActionItem } else { MessageKind::Update },
            subject: m.subject.clone(),
            text: m.body.clone(),
            incidents: Vec::new(),
            created_at: now,
            unsubscribe: m.unsubscribe_url.clone(),
        };
        let kind = if m.channel == "webhook" { ContactKind::Webhook } else { ContactKind::Email };
        let to = Recipient { kind, address: m.address.clone(), secret: m.secret.clone() };
        let outcome = match state.notifier.send(&to, &message).await {
            Ok(provider) => DeliveryOutcome::Sent { provider: provider.to_owned() },
            Err(e) if e.retryable && m.attempts < i64::from(state.config.paging.max_attempts) => {
                DeliveryOutcome::Retry { error: e.reason, at: now + backoff(m.attempts) }
            }
            Err(e) => DeliveryOutcome::Failed { error: e.reason },
        };
        results.push((m.id, outcome));
    }
    let sent = results.iter().filter(|(_, o)| matches!(o, DeliveryOutcome::Sent { .. })).count();
    if let Err(e) = state.store.finish_stakeholder_messages(&results, state.clock.now()).await {
        tracing::warn!(error = %e, "cannot record stakeholder email results");
    }
    sent
}
