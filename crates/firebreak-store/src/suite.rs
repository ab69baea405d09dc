//! The behaviour every backend must show. Each backend's `tests/suite.rs` invokes
//! [`store_suite!`](crate::store_suite) with a function that makes a fresh, migrated, empty
//! store (or `None` to skip, e.g. when no PostgreSQL URL is configured).

use crate::{DynStore, IncidentFilter, NewUser, StoreError, UserUpdate};
use firebreak_domain::alert::{AlertAction, AlertEvent, AlertSeverity, AlertStatus, DedupKey, IntegrationKind};
use firebreak_domain::{
    Actor, AuditVerification, DomainError, Email, IncidentAction, IncidentChange, IncidentEdit, IncidentRef,
    IncidentRole, IncidentStatus, IncidentType, NewIncident, Severity, TimelineEvent, UserRole, Via,
};
use std::future::Future;
use std::pin::Pin;

mod review;
pub use review::*;

/// Runs one raw SQL statement under the store, to tamper with rows.
pub type RawSql = Box<dyn Fn(&'static str) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

fn actor() -> Actor {
    Actor::system("suite", Via::System)
}

fn new_incident(title: &str, severity: Severity, kind: IncidentType) -> NewIncident {
    NewIncident::parse(title, None, severity, kind, &["checkout".into()], &["payments".into()])
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn user(store: &DynStore, email: &str, role: UserRole) -> crate::User {
    store
        .create_user(
            NewUser {
                email: email.parse::<Email>().unwrap_or_else(|e| panic!("{e}")),
                name: email.into(),
                role,
                password_hash: Some("hash".into()),
            },
            &actor(),
        )
        .await
        .unwrap_or_else(|e| panic!("create user: {e}"))
}

async fn audit_count(store: &DynStore) -> usize {
    store.list_audit(0, 10_000).await.unwrap_or_else(|e| panic!("{e}")).len()
}

pub async fn incidents_are_numbered_in_order_and_found_by_id_or_number(store: DynStore) {
    let a = store
        .create_incident(new_incident("A", Severity::High, IncidentType::Outage), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = store
        .create_incident(new_incident("B", Severity::Low, IncidentType::Other), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((a.number, b.number), (1, 2));
    assert_eq!(a.status, IncidentStatus::Triggered);
    assert_eq!(store.get_incident(IncidentRef::Id(b.id)).await.unwrap_or_else(|e| panic!("{e}")), b);
    assert_eq!(store.get_incident(IncidentRef::Number(1)).await.unwrap_or_else(|e| panic!("{e}")), a);
    assert!(matches!(store.get_incident(IncidentRef::Number(99)).await, Err(StoreError::NotFound(_))));
    assert_eq!(a.services, vec!["checkout".to_string()]);
    assert_eq!(a.tags, vec!["payments".to_string()]);
}

pub async fn concurrent_declarations_get_distinct_numbers(store: DynStore) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_incident(new_incident(&format!("n{i}"), Severity::Medium, IncidentType::Degradation), &actor())
                .await
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}")).number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
    assert_eq!(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}")), AuditVerification::Intact { entries: 20 });
}

pub async fn lists_filter_and_paginate(store: DynStore) {
    for i in 0..7 {
        let sev = if i % 2 == 0 { Severity::Critical } else { Severity::Low };
        store
            .create_incident(new_incident(&format!("i{i}"), sev, IncidentType::Outage), &actor())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store
        .change_incident(IncidentRef::Number(3), IncidentChange::Transition(IncidentAction::Resolve), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let page = store
        .list_incidents(&IncidentFilter { limit: 3, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.iter().map(|i| i.number).collect::<Vec<_>>(), vec![7, 6, 5]);
    assert_eq!(page.next_before, Some(5));
    let page2 = store
        .list_incidents(&IncidentFilter { limit: 3, before_number: page.next_before, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page2.items.iter().map(|i| i.number).collect::<Vec<_>>(), vec![4, 3, 2]);
    let page3 = store
        .list_incidents(&IncidentFilter { limit: 3, before_number: page2.next_before, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page3.items.iter().map(|i| i.number).collect::<Vec<_>>(), vec![1]);
    assert_eq!(page3.next_before, None);

    let critical = store
        .list_incidents(&IncidentFilter { severities: vec![Severity::Critical], limit: 50, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(critical.items.iter().map(|i| i.number).collect::<Vec<_>>(), vec![7, 5, 3, 1]);
    let resolved = store
        .list_incidents(&IncidentFilter { statuses: vec![IncidentStatus::Resolved], limit: 50, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resolved.items.iter().map(|i| i.number).collect::<Vec<_>>(), vec![3]);
    let none = store
        .list_incidents(&IncidentFilter { kinds: vec![IncidentType::Security], limit: 50, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.items.is_empty());

    let counts = store.count_incidents_by_status().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(counts.contains(&(IncidentStatus::Triggered, 6)));
    assert!(counts.contains(&(IncidentStatus::Resolved, 1)));
    assert!(counts.contains(&(IncidentStatus::Closed, 0)));
}

pub async fn lifecycle_is_recorded_on_the_timeline(store: DynStore) {
    let commander = user(&store, "ic@example.com", UserRole::Responder).await;
    let i = store
        .create_incident(new_incident("Checkout down", Severity::High, IncidentType::Outage), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = IncidentRef::Id(i.id);
    let by = Actor::user(commander.id, "IC", Via::Api);
    let acked = store
        .change_incident(r, IncidentChange::Transition(IncidentAction::Acknowledge), &by)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(acked.status, IncidentStatus::Acknowledged);
    assert!(acked.acknowledged_at.is_some());
    store
        .change_incident(
            r,
            IncidentChange::AssignRole { role: IncidentRole::Commander.into(), user: Some(commander.id) },
            &by,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .change_incident(r, IncidentChange::Note { body: "Rolled back deploy 42".into() }, &by)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .change_incident(
            r,
            IncidentChange::Edit(IncidentEdit { severity: Some(Severity::Critical), ..Default::default() }),
            &by,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let resolved = store
        .change_incident(r, IncidentChange::Transition(IncidentAction::Resolve), &by)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (resolved.status, resolved.severity, resolved.commander),
        (IncidentStatus::Resolved, Severity::Critical, Some(commander.id))
    );

    let timeline = store.timeline(i.id).await.unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = timeline.iter().map(|e| e.event.kind()).collect();
    assert_eq!(
        kinds,
        vec!["created", "status_changed", "role_assigned", "note_added", "severity_changed", "status_changed"]
    );
    assert!(timeline.windows(2).all(|w| w[0].seq < w[1].seq && w[0].at <= w[1].at));
    assert_eq!(timeline[3].event, TimelineEvent::NoteAdded { body: "Rolled back deploy 42".into() });
    assert_eq!(
        (timeline[3].actor_id, timeline[3].actor_name.as_str(), timeline[3].via),
        (Some(commander.id), "IC", Via::Api)
    );
    assert_eq!(store.get_incident(r).await.unwrap_or_else(|e| panic!("{e}")), resolved);
}

pub async fn refused_changes_change_nothing(store: DynStore) {
    let i = store
        .create_incident(new_incident("X", Severity::High, IncidentType::Outage), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let r = IncidentRef::Id(i.id);
    let before_audit = audit_count(&store).await;
    let err = store.change_incident(r, IncidentChange::Transition(IncidentAction::Reopen), &actor()).await;
    assert!(matches!(err, Err(StoreError::Domain(DomainError::InvalidTransition { .. }))), "{err:?}");
    let err = store.change_incident(r, IncidentChange::Note { body: "   ".into() }, &actor()).await;
    assert!(matches!(err, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{err:?}");
    let ghost = firebreak_domain::UserId::new();
    let err = store
        .change_incident(
            r,
            IncidentChange::AssignRole { role: IncidentRole::Scribe.into(), user: Some(ghost) },
            &actor(),
        )
        .await;
    assert!(matches!(err, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{err:?}");
    let missing = store
        .change_incident(IncidentRef::Number(404), IncidentChange::Transition(IncidentAction::Acknowledge), &actor())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    assert_eq!(store.get_incident(r).await.unwrap_or_else(|e| panic!("{e}")), i);
    assert_eq!(store.timeline(i.id).await.unwrap_or_else(|e| panic!("{e}")).len(), 1);
    assert_eq!(audit_count(&store).await, before_audit);
}

pub async fn users_sessions_and_tokens(store: DynStore) {
    let ada = user(&store, "ada@example.com", UserRole::Admin).await;
    let dup = store
        .create_user(
            NewUser {
                email: "ADA@example.com".parse().unwrap_or_else(|e| panic!("{e}")),
                name: "x".into(),
                role: UserRole::Viewer,
                password_hash: None,
            },
            &actor(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(store.count_users().await.unwrap_or_else(|e| panic!("{e}")), 1);

    let creds =
        store.credentials(&ada.email).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("credentials"));
    assert_eq!((creds.password_hash.as_deref(), creds.failed_logins), (Some("hash"), 0));
    let now = firebreak_domain::time::now();
    store.record_login_failure(ada.id, now, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    let creds =
        store.credentials(&ada.email).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("credentials"));
    assert_eq!((creds.failed_logins, creds.last_failed_login_at), (1, Some(now)));

    let hour = chrono::TimeDelta::hours(1);
    store.create_session("s1", ada.id, now + hour, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store.create_session("s2", ada.id, now - hour, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.session_user("s1", now).await.unwrap_or_else(|e| panic!("{e}")).map(|u| u.id), Some(ada.id));
    assert_eq!(store.session_user("s2", now).await.unwrap_or_else(|e| panic!("{e}")), None, "expired");
    assert_eq!(store.session_user("nope", now).await.unwrap_or_else(|e| panic!("{e}")), None);
    let creds =
        store.credentials(&ada.email).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("credentials"));
    assert_eq!(creds.failed_logins, 0, "a sign-in clears failures");
    store.delete_session("s1", &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.session_user("s1", now).await.unwrap_or_else(|e| panic!("{e}")), None);

    store.create_session("s3", ada.id, now + hour, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store.set_password(ada.id, "newhash", &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.session_user("s3", now).await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "password change ends sessions"
    );

    let token = store.create_token(ada.id, "ci", "th1", &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.last_used_at, None);
    let (u, tid) =
        store.token_user("th1", now).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("token user"));
    assert_eq!((u.id, tid), (ada.id, token.id));
    assert_eq!(store.get_token(token.id).await.unwrap_or_else(|e| panic!("{e}")).last_used_at, Some(now));
    assert_eq!(store.list_tokens(Some(ada.id)).await.unwrap_or_else(|e| panic!("{e}")).len(), 1);
    let revoked = store.revoke_token(token.id, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(revoked.revoked_at.is_some());
    assert_eq!(store.token_user("th1", now).await.unwrap_or_else(|e| panic!("{e}")), None);
    assert!(matches!(
        store.revoke_token(firebreak_domain::TokenId::new(), &actor()).await,
        Err(StoreError::NotFound(_))
    ));

    let bob = user(&store, "bob@example.com", UserRole::Responder).await;
    store.create_token(bob.id, "bob", "th2", &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store.create_session("s4", bob.id, now + hour, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    let bob2 = store
        .update_user(
            bob.id,
            UserUpdate { disabled: Some(true), role: Some(UserRole::Viewer), ..Default::default() },
            &actor(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(bob2.disabled && bob2.role == UserRole::Viewer);
    let audited = audit_count(&store).await;
    let same = store
        .update_user(bob.id, UserUpdate { role: Some(UserRole::Viewer), ..Default::default() }, &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(same, bob2);
    assert_eq!(audit_count(&store).await, audited, "a change that changes nothing is not audited");
    assert_eq!(
        store.session_user("s4", now).await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "disabled users lose sessions"
    );
    assert_eq!(
        store.token_user("th2", now).await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "disabled users' tokens stop working"
    );
    assert_eq!(store.list_users().await.unwrap_or_else(|e| panic!("{e}")).len(), 2);
}

pub async fn every_mutation_is_audited_and_chained(store: DynStore) {
    let ada = user(&store, "ada@example.com", UserRole::Admin).await;
    let i = store
        .create_incident(new_incident("Y", Severity::Low, IncidentType::Other), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .change_incident(IncidentRef::Id(i.id), IncidentChange::Transition(IncidentAction::Acknowledge), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.create_token(ada.id, "t", "h", &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store
        .append_audit(&actor(), "test.custom", "x:1", serde_json::json!({"z": 1, "a": {"k": [1, 2.5, "s"]}}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let entries = store.list_audit(0, 100).await.unwrap_or_else(|e| panic!("{e}"));
    let actions: Vec<&str> = entries.iter().map(|e| e.content.action.as_str()).collect();
    assert_eq!(actions, vec!["user.create", "incident.create", "incident.acknowledge", "token.create", "test.custom"]);
    assert_eq!(entries[1].content.target, format!("incident:{}", i.id));
    let recent = store.recent_audit(None, 2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(recent.iter().map(|e| e.content.seq).collect::<Vec<_>>(), vec![5, 4]);
    assert_eq!(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}")), AuditVerification::Intact { entries: 5 });
}

async fn three_entries(store: &DynStore) {
    for t in ["a", "b", "c"] {
        store.append_audit(&actor(), "test", t, serde_json::json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}")), AuditVerification::Intact { entries: 3 });
}

fn broken_at(v: AuditVerification) -> i64 {
    match v {
        AuditVerification::Broken { seq, .. } => seq,
        AuditVerification::Intact { .. } => panic!("tampering went unnoticed"),
    }
}

pub async fn audit_tampering_by_update_is_detected(store: DynStore, raw: RawSql) {
    three_entries(&store).await;
    raw("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2").await;
    assert_eq!(broken_at(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}"))), 2);
}

pub async fn audit_tampering_by_delete_is_detected(store: DynStore, raw: RawSql) {
    three_entries(&store).await;
    raw("DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!(broken_at(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}"))), 2);
}

pub async fn audit_tampering_by_deleting_the_newest_is_detected(store: DynStore, raw: RawSql) {
    three_entries(&store).await;
    raw("DELETE FROM audit_log WHERE seq = 3").await;
    assert_eq!(broken_at(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}"))), 3);
}

pub async fn audit_tampering_by_insert_is_detected(store: DynStore, raw: RawSql) {
    three_entries(&store).await;
    raw("INSERT INTO audit_log (seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash) \
         VALUES (4, '2026-01-01T00:00:00Z', NULL, 'mallory', 'api', 'user.create', 'user:x', '{}', 'x', 'y')")
    .await;
    assert_eq!(broken_at(store.verify_audit().await.unwrap_or_else(|e| panic!("{e}"))), 4);
}

pub async fn changes_are_announced(store: DynStore) {
    let mut rx = store.subscribe();
    let i = store
        .create_incident(new_incident("Z", Severity::Low, IncidentType::Other), &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
    assert!(matches!(got, Ok(Ok(crate::ChangeNotice::Incident(id))) if id == i.id), "{got:?}");
}

/// Declares one `#[tokio::test]` per suite case. `$make` is an async fn returning
/// `Option<(DynStore, RawSql)>`; `None` skips (after printing why).
#[macro_export]
macro_rules! store_suite {
    ($make:path) => {
        $crate::store_suite!(@plain $make;
            incidents_are_numbered_in_order_and_found_by_id_or_number,
            concurrent_declarations_get_distinct_numbers,
            lists_filter_and_paginate,
            lifecycle_is_recorded_on_the_timeline,
            refused_changes_change_nothing,
            users_sessions_and_tokens,
            every_mutation_is_audited_and_chained,
            changes_are_announced,
            a_batch_of_events_acts_as_the_same_events_one_by_one,
            auto_resolve_takes_effect_within_a_batch,
            suppressed_alerts_are_counted_per_window,
            schedules_are_stored_and_overrides_accumulate,
            escalation_policies_are_stored_and_kept_while_in_use,
            merging_moves_alerts_and_copies_the_timeline,
            alerts_move_between_incidents_and_stand_alone,
            status_pages_and_components_are_stored,
            postmortems_are_revised_reviewed_signed_and_published,
            key_events_are_starred_on_the_incident_only,
            action_items_are_filtered_closed_and_sent_to_trackers,
            late_postmortems_and_overdue_action_items_are_reminded_once,
            analytics_facts_keep_the_first_response_cycle,
            analytics_facts_follow_alerts_as_they_join_move_and_merge
        );
        $crate::store_suite!(@raw $make;
            audit_tampering_by_update_is_detected,
            audit_tampering_by_delete_is_detected,
            audit_tampering_by_deleting_the_newest_is_detected,
            audit_tampering_by_insert_is_detected
        );
    };
    (@plain $make:path; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, _raw)) = $make().await else { return };
                $crate::suite::$name(store).await;
            }
        )+
    };
    (@raw $make:path; $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, raw)) = $make().await else { return };
                $crate::suite::$name(store, raw).await;
            }
        )+
    };
}

/// A service with one PagerDuty integration whose key hash is `key_hash`.
async fn service_with_key(store: &DynStore, name: &str, key_hash: &str, auto_resolve: bool) -> crate::Service {
    let fields =
        crate::ServiceFields { name: Some(name.into()), auto_resolve: Some(auto_resolve), ..Default::default() };
    let service = store.create_service(fields, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store
        .create_integration(service.id, IntegrationKind::Pagerduty, "pd", key_hash, &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    service
}

fn item(key_hash: &str, action: AlertAction, key: &str, summary: &str) -> crate::IngestItem {
    crate::IngestItem {
        key_hash: key_hash.into(),
        kind: IntegrationKind::Pagerduty,
        event: AlertEvent {
            action,
            dedup_key: Some(DedupKey::parse(key).unwrap_or_else(|e| panic!("{e}"))),
            summary: summary.into(),
            source: "suite".into(),
            severity: AlertSeverity::Error,
            details: serde_json::json!({ "summary": summary }),
            occurred_at: None,
        },
    }
}

async fn alerts_of(store: &DynStore, service: &crate::Service) -> Vec<firebreak_domain::alert::Alert> {
    let filter = crate::AlertFilter { service_id: Some(service.id), limit: 200, ..Default::default() };
    let mut alerts = store.list_alerts(&filter).await.unwrap_or_else(|e| panic!("{e}")).items;
    alerts.reverse(); // oldest first
    alerts
}

/// One batch gives the same alerts as the same events one by one: duplicates folded, an
/// acknowledgement and a resolve acting on the live alert, the key opening a new alert after
/// its resolve, a resolve of an unknown key changing nothing, an unknown integration key
/// refused. The batch's duplicates of one alert become one timeline entry with the final count.
pub async fn a_batch_of_events_acts_as_the_same_events_one_by_one(store: DynStore) {
    use AlertAction::{Acknowledge, Resolve, Trigger};
    let script = [
        (Trigger, "k1", "disk full"),
        (Trigger, "k1", "disk full again"),
        (Trigger, "k1", "disk still full"),
        (Trigger, "k2", "cpu hot"),
        (Acknowledge, "k1", ""),
        (Resolve, "k1", ""),
        (Trigger, "k1", "disk full once more"),
        (Trigger, "k1", "and again"),
        (Resolve, "k3", ""),
        (Acknowledge, "k1", ""),
        (Acknowledge, "k1", ""),
    ];
    let batched = service_with_key(&store, "batched", "hash-batched", false).await;
    let single = service_with_key(&store, "single", "hash-single", false).await;
    let mut batch: Vec<crate::IngestItem> = script.iter().map(|(a, k, s)| item("hash-batched", *a, k, s)).collect();
    batch.insert(3, item("hash-nobody", Trigger, "k1", "stray"));
    let outcomes = store.ingest(&batch, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes.len(), batch.len());
    assert_eq!(outcomes[3], crate::IngestOutcome::UnknownKey);
    for (a, k, s) in &script {
        store.ingest(&[item("hash-single", *a, k, s)], None).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let (got, want) = (alerts_of(&store, &batched).await, alerts_of(&store, &single).await);
    let shape = |alerts: &[firebreak_domain::alert::Alert]| -> Vec<(String, AlertStatus, i64, String, bool)> {
        alerts
            .iter()
            .map(|a| {
                (a.dedup_key.as_str().to_owned(), a.status, a.count, a.summary.clone(), a.acknowledged_at.is_some())
            })
            .collect()
    };
    assert_eq!(shape(&got), shape(&want));
    assert_eq!(
        shape(&got),
        vec![
            ("k1".into(), AlertStatus::Resolved, 5, "disk still full".into(), true),
            ("k2".into(), AlertStatus::Open, 1, "cpu hot".into(), false),
            ("k1".into(), AlertStatus::Open, 3, "and again".into(), true),
        ]
    );
    let incident = got[0].incident_id.unwrap_or_else(|| panic!("the first alert opened an incident"));
    assert!(got.iter().all(|a| a.incident_id == Some(incident)), "all join the service's open incident");
    let Some(crate::IngestOutcome::Accepted { alert_id: Some(first), .. }) = outcomes.first() else {
        panic!("{outcomes:?}")
    };
    assert_eq!(*first, got[0].id);
    assert!(matches!(&outcomes[9], crate::IngestOutcome::Accepted { alert_id: None, .. }), "resolve of k3: nothing");
    let changes: Vec<(String, i64)> = store
        .timeline(incident)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter_map(|e| match e.event {
            TimelineEvent::Alert { change, count, .. } => Some((change.to_string(), count)),
            _ => None,
        })
        .collect();
    let expect: Vec<(String, i64)> = [
        ("opened", 1),
        ("repeated", 3),
        ("opened", 1),
        ("acknowledged", 4),
        ("resolved", 5),
        ("opened", 1),
        ("repeated", 2),
        ("acknowledged", 3),
    ]
    .iter()
    .map(|(c, n)| ((*c).to_owned(), *n))
    .collect();
    assert_eq!(changes, expect);
}

/// With auto-resolve, an incident resolves at the event that resolves its last alert, even
/// mid-batch, and a later alert in the same batch opens a new incident.
pub async fn auto_resolve_takes_effect_within_a_batch(store: DynStore) {
    use AlertAction::{Resolve, Trigger};
    let service = service_with_key(&store, "auto", "hash-auto", true).await;
    let batch = [
        item("hash-auto", Trigger, "a", "a down"),
        item("hash-auto", Trigger, "b", "b down"),
        item("hash-auto", Resolve, "a", ""),
        item("hash-auto", Resolve, "b", ""),
        item("hash-auto", Trigger, "c", "c down"),
    ];
    store.ingest(&batch, None).await.unwrap_or_else(|e| panic!("{e}"));
    let alerts = alerts_of(&store, &service).await;
    let (first, second) = (alerts[0].incident_id, alerts[2].incident_id);
    assert_eq!(alerts[1].incident_id, first);
    assert_ne!(first, second, "c came after the incident resolved");
    let get = |id: Option<firebreak_domain::IncidentId>| {
        let store = store.clone();
        async move {
            let id = id.unwrap_or_else(|| panic!("an incident"));
            store.get_incident(IncidentRef::Id(id)).await.unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(get(first).await.status, IncidentStatus::Resolved);
    assert_eq!(get(second).await.status, IncidentStatus::Triggered);
}

/// Alerts a maintenance window keeps suppressed are counted per window; a resolved one no
/// longer counts, and alerts outside any window are not counted at all.
pub async fn suppressed_alerts_are_counted_per_window(store: DynStore) {
    use AlertAction::{Resolve, Trigger};
    let service = service_with_key(&store, "quiet", "hash-quiet", true).await;
    let window = firebreak_domain::rules::MaintenanceWindow {
        id: uuid::Uuid::new_v4(),
        name: "upgrade".into(),
        service_id: Some(service.id),
        conditions: vec![],
        starts_at: firebreak_domain::time::now() - chrono::TimeDelta::hours(1),
        ends_at: firebreak_domain::time::now() + chrono::TimeDelta::hours(1),
        recurrence: firebreak_domain::rules::Recurrence::Once,
    };
    store.create_window(&window, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    let batch = [
        item("hash-quiet", Trigger, "a", "a down"),
        item("hash-quiet", Trigger, "b", "b down"),
        item("hash-quiet", Trigger, "b", "b still down"),
        item("hash-quiet", Trigger, "c", "c down"),
        item("hash-quiet", Resolve, "c", ""),
    ];
    store.ingest(&batch, None).await.unwrap_or_else(|e| panic!("{e}"));
    let counts = store.count_suppressed_by_window().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counts, vec![(window.id, 2)]);
    let alerts = alerts_of(&store, &service).await;
    assert!(alerts.iter().all(|a| a.incident_id.is_none()), "suppressed alerts open no incident");
}

/// Schedules: created (names unique), read, replaced, overridden (overrides added at the same
/// moment are all kept, long-past ones dropped), deleted, every change audited.
pub async fn schedules_are_stored_and_overrides_accumulate(store: DynStore) {
    use firebreak_domain::schedule::{LayerDefinition, Override, RotationUnit, ScheduleDefinition};
    let people = [
        user(&store, "ann@example.com", UserRole::Responder).await.id,
        user(&store, "bo@example.com", UserRole::Responder).await.id,
    ];
    let definition = ScheduleDefinition {
        time_zone: "Europe/Berlin".into(),
        layers: vec![LayerDefinition {
            name: "primary".into(),
            members: people.to_vec(),
            rotation_length: 1,
            rotation_unit: RotationUnit::Weeks,
            starts_at: "2026-03-02T09:00".parse().unwrap_or_else(|e| panic!("{e}")),
            restrictions: vec![],
        }],
        overrides: vec![],
        fallback: None,
    };
    let audited = audit_count(&store).await;
    let s = store.create_schedule(" storage ", "", &definition, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "storage");
    assert!(matches!(store.create_schedule("storage", "", &definition, &actor()).await, Err(StoreError::Conflict(_))));
    let mut broken = definition.clone();
    broken.time_zone = "Nowhere/Atlantis".into();
    assert!(matches!(store.create_schedule("other", "", &broken, &actor()).await, Err(StoreError::Domain(_))));
    assert_eq!(store.get_schedule(s.id).await.unwrap_or_else(|e| panic!("{e}")), s);

    let mut changed = definition.clone();
    changed.layers[0].members.reverse();
    let updated = store
        .update_schedule(s.id, "storage", "disks", &changed, crate::Overrides::Replace, &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((updated.description.as_str(), &updated.definition), ("disks", &changed));

    let now = firebreak_domain::time::now();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let o = Override {
                user: people[i % 2],
                replaces: None,
                start: now + chrono::Duration::hours(i as i64),
                end: now + chrono::Duration::hours(i as i64 + 1),
            };
            tokio::spawn(async move { store.add_schedule_override(s.id, &o, now, &actor()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let s2 = store.get_schedule(s.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s2.definition.overrides.len(), 8, "overrides added at the same moment are all kept");
    let later = now + chrono::Duration::days(crate::OVERRIDE_RETENTION_DAYS + 2);
    let fresh = Override { user: people[0], replaces: None, start: later, end: later + chrono::Duration::hours(1) };
    let s3 = store.add_schedule_override(s.id, &fresh, later, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s3.definition.overrides, [fresh], "overrides long over are dropped");
    let backwards = Override { user: people[0], replaces: None, start: later, end: later };
    assert!(store.add_schedule_override(s.id, &backwards, later, &actor()).await.is_err());

    // A person opens the edit form; someone adds an override; the form is saved: with `Keep`
    // the override added meanwhile stays; with `Replace` the definition's overrides win.
    let read = s3.definition.clone();
    let meanwhile = Override { user: people[1], replaces: None, start: later, end: later + chrono::Duration::hours(2) };
    store.add_schedule_override(s.id, &meanwhile, later, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    let kept = store
        .update_schedule(s.id, "storage", "renamed", &read, crate::Overrides::Keep, &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (kept.description.as_str(), kept.definition.overrides.len()),
        ("renamed", 2),
        "nothing acknowledged is lost"
    );
    let replaced = store
        .update_schedule(s.id, "storage", "renamed", &read, crate::Overrides::Replace, &actor())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(replaced.definition.overrides, read.overrides);

    assert_eq!(store.list_schedules().await.unwrap_or_else(|e| panic!("{e}")).len(), 1);
    store.delete_schedule(s.id, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(store.get_schedule(s.id).await, Err(StoreError::NotFound("schedule"))));
    assert!(matches!(store.delete_schedule(s.id, &actor()).await, Err(StoreError::NotFound("schedule"))));
    // create, update, 8 + 1 + 1 overrides, 2 more updates, delete
    assert_eq!(audit_count(&store).await, audited + 15);
}

/// Escalation policies: created (names unique, definitions checked), replaced, pointed to by a
/// service (which keeps them from being deleted), deleted, audited.
pub async fn escalation_policies_are_stored_and_kept_while_in_use(store: DynStore) {
    use firebreak_domain::escalation::{EscalationLevel, EscalationPolicyDefinition, EscalationTarget};
    let ann = user(&store, "ann@example.com", UserRole::Responder).await.id;
    let definition = EscalationPolicyDefinition {
        levels: vec![EscalationLevel {
            targets: vec![EscalationTarget::User(ann)],
            round_robin: false,
            delay_minutes: 5,
        }],
        repeat: 2,
    };
    let audited = audit_count(&store).await;
    let p = store.create_policy("db", "", &definition, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(store.create_policy("db", "", &definition, &actor()).await, Err(StoreError::Conflict(_))));
    let broken = EscalationPolicyDefinition { levels: vec![], repeat: 0 };
    assert!(matches!(store.create_policy("empty", "", &broken, &actor()).await, Err(StoreError::Domain(_))));
    assert_eq!(store.get_policy(p.id).await.unwrap_or_else(|e| panic!("{e}")), p);
    let changed = EscalationPolicyDefinition { repeat: 0, ..definition.clone() };
    let p2 = store.update_policy(p.id, "db", "nights", &changed, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p2.definition.repeat, p2.description.as_str(), p2.created_at), (0, "nights", p.created_at));

    let fields =
        crate::ServiceFields { name: Some("db".into()), escalation_policy_id: Some(Some(p.id)), ..Default::default() };
    let service = store.create_service(fields, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.get_service(service.id).await.map(|s| s.escalation_policy_id).ok(), Some(Some(p.id)));
    assert!(matches!(store.delete_policy(p.id, &actor()).await, Err(StoreError::Conflict(_))), "in use");
    let unset = crate::ServiceFields { escalation_policy_id: Some(None), ..Default::default() };
    store.update_service(service.id, unset, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    store.delete_policy(p.id, &actor()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(store.get_policy(p.id).await, Err(StoreError::NotFound("escalation policy"))));
    assert_eq!(store.list_policies().await.unwrap_or_else(|e| panic!("{e}")).len(), 0);
    // create, update, service create, service update, delete
    assert_eq!(audit_count(&store).await, audited + 5);
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

async fn audit_actions(store: &DynStore) -> Vec<(String, String)> {
    ok(store.list_audit(0, 10_000).await).into_iter().map(|e| (e.content.action, e.content.target)).collect()
}

/// Merging: the merged incident is resolved and marked, cannot be reopened or merged again;
/// its alerts move; its timeline is copied (in time order, marked with its number) ahead of
/// the entry saying it was merged in; both incidents are audited. Merging into itself, into a
/// resolved incident or from a closed one is refused and changes nothing.
pub async fn merging_moves_alerts_and_copies_the_timeline(store: DynStore) {
    use AlertAction::Trigger;
    let service = service_with_key(&store, "checkout", "hash-merge", false).await;
    ok(store.ingest(&[item("hash-merge", Trigger, "cpu", "CPU high")], None).await);
    let alert = alerts_of(&store, &service).await.remove(0);
    let from_id = alert.incident_id.unwrap_or_else(|| panic!("the alert opened an incident"));
    let from = ok(store.get_incident(IncidentRef::Id(from_id)).await);
    ok(store
        .change_incident(IncidentRef::Id(from_id), IncidentChange::Note { body: "looking".into() }, &actor())
        .await);
    let into =
        ok(store.create_incident(new_incident("Checkout slow", Severity::High, IncidentType::Outage), &actor()).await);
    let before_from = ok(store.timeline(from_id).await);
    let before_into = ok(store.timeline(into.id).await);

    let merged = ok(store.merge_incidents(from_id, into.id, &actor()).await);
    assert_eq!((merged.alerts, merged.entries as usize), (1, before_from.len()));
    assert_eq!(merged.from.status, IncidentStatus::Resolved);
    assert_eq!(merged.from.merged_into, Some(into.id));
    assert!(merged.from.resolved_at.is_some());
    let stored = ok(store.get_incident(IncidentRef::Id(from_id)).await);
    assert_eq!((stored.status, stored.merged_into), (IncidentStatus::Resolved, Some(into.id)));
    assert_eq!(ok(store.get_alert(alert.id).await).incident_id, Some(into.id), "the alert moved");

    let timeline = ok(store.timeline(into.id).await);
    assert_eq!(timeline.len(), before_into.len() + before_from.len() + 1);
    let copied: Vec<_> = timeline.iter().filter(|e| e.from_number == Some(from.number)).collect();
    assert_eq!(copied.len(), before_from.len(), "every entry of the merged incident is copied and marked");
    for (copy, original) in copied.iter().zip(&before_from) {
        assert_eq!((copy.at, &copy.event, &copy.actor_name), (original.at, &original.event, &original.actor_name));
    }
    assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at), "the timeline is in time order");
    assert!(matches!(
        &timeline.last().map(|e| &e.event),
        Some(TimelineEvent::MergedFrom { number, alerts: 1, .. }) if *number == from.number
    ));
    let source_timeline = ok(store.timeline(from_id).await);
    assert!(source_timeline.iter().all(|e| e.from_number.is_none()));
    assert!(matches!(
        &source_timeline.last().map(|e| &e.event),
        Some(TimelineEvent::MergedInto { number, .. }) if *number == into.number
    ));
    let audit = audit_actions(&store).await;
    assert!(audit.contains(&("incident.merge".into(), format!("incident:{from_id}"))));
    assert!(audit.contains(&("incident.merge_in".into(), format!("incident:{}", into.id))));

    // Refusals change nothing.
    let audited = audit.len();
    let reopen = store
        .change_incident(IncidentRef::Id(from_id), IncidentChange::Transition(IncidentAction::Reopen), &actor())
        .await;
    assert!(matches!(reopen, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{reopen:?}");
    let again = store.merge_incidents(from_id, into.id, &actor()).await;
    assert!(matches!(again, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{again:?}");
    let itself = store.merge_incidents(into.id, into.id, &actor()).await;
    assert!(matches!(itself, Err(StoreError::Domain(DomainError::Invalid { field: "into", .. }))), "{itself:?}");
    let third = ok(store.create_incident(new_incident("Third", Severity::Low, IncidentType::Other), &actor()).await);
    let into_resolved = store.merge_incidents(third.id, from_id, &actor()).await;
    assert!(matches!(into_resolved, Err(StoreError::Domain(DomainError::Invalid { field: "into", .. }))));
    ok(store
        .change_incident(IncidentRef::Id(third.id), IncidentChange::Transition(IncidentAction::Close), &actor())
        .await);
    let closed = store.merge_incidents(third.id, into.id, &actor()).await;
    assert!(matches!(closed, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{closed:?}");
    assert_eq!(ok(store.timeline(into.id).await).len(), timeline.len(), "refused merges add nothing");
    assert_eq!(audit_count(&store).await, audited + 2, "only the declaration and the close of the third");
    let missing = store.merge_incidents(firebreak_domain::IncidentId::new(), into.id, &actor()).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

/// An alert moves to another open incident (both timelines say so, audited), then off any
/// incident: its later events stay with it and open no incident. A resolved incident takes
/// no alerts; moving to where it already is changes nothing.
pub async fn alerts_move_between_incidents_and_stand_alone(store: DynStore) {
    use AlertAction::Trigger;
    let service = service_with_key(&store, "search", "hash-move", false).await;
    ok(store.ingest(&[item("hash-move", Trigger, "disk", "Disk full")], None).await);
    let alert = alerts_of(&store, &service).await.remove(0);
    let first = alert.incident_id.unwrap_or_else(|| panic!("an incident"));
    let first_number = ok(store.get_incident(IncidentRef::Id(first)).await).number;
    let other =
        ok(store.create_incident(new_incident("Search down", Severity::High, IncidentType::Outage), &actor()).await);

    let moved = ok(store.move_alert(alert.id, Some(other.id), &actor()).await);
    assert_eq!(moved.incident_id, Some(other.id));
    let last = |t: Vec<crate::TimelineEntry>| t.last().map(|e| e.event.clone());
    assert!(matches!(
        last(ok(store.timeline(first).await)),
        Some(TimelineEvent::AlertDetached { moved_to: Some(n), .. }) if n == other.number
    ));
    assert!(matches!(
        last(ok(store.timeline(other.id).await)),
        Some(TimelineEvent::AlertAttached { moved_from: Some(n), .. }) if n == first_number
    ));
    assert!(audit_actions(&store).await.contains(&("alert.attach".into(), format!("alert:{}", alert.id))));
    let entries = ok(store.timeline(other.id).await).len();
    let same = ok(store.move_alert(alert.id, Some(other.id), &actor()).await);
    assert_eq!(same.incident_id, Some(other.id));
    assert_eq!(ok(store.timeline(other.id).await).len(), entries, "moving to where it is changes nothing");

    let alone = ok(store.move_alert(alert.id, None, &actor()).await);
    assert_eq!(alone.incident_id, None);
    assert!(matches!(
        last(ok(store.timeline(other.id).await)),
        Some(TimelineEvent::AlertDetached { moved_to: None, .. })
    ));
    assert!(audit_actions(&store).await.contains(&("alert.detach".into(), format!("alert:{}", alert.id))));
    let incidents = ok(store.list_incidents(&IncidentFilter { limit: 200, ..Default::default() }).await).items.len();
    ok(store.ingest(&[item("hash-move", Trigger, "disk", "Disk full")], None).await);
    let again = ok(store.get_alert(alert.id).await);
    assert_eq!((again.count, again.incident_id), (2, None), "the repeat folds into the detached alert");
    assert_eq!(
        ok(store.list_incidents(&IncidentFilter { limit: 200, ..Default::default() }).await).items.len(),
        incidents
    );

    ok(store
        .change_incident(IncidentRef::Id(other.id), IncidentChange::Transition(IncidentAction::Resolve), &actor())
        .await);
    let refused = store.move_alert(alert.id, Some(other.id), &actor()).await;
    assert!(matches!(refused, Err(StoreError::Domain(DomainError::Invalid { .. }))), "{refused:?}");
    assert_eq!(ok(store.get_alert(alert.id).await).incident_id, None, "a refused move changes nothing");
    let unknown = store.move_alert(firebreak_domain::AlertId::new(), Some(first), &actor()).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
}

/// Status pages: unique, well-formed addresses; components kept in order with their services;
/// a status set by hand stands until cleared; every change audited; refusals change nothing.
pub async fn status_pages_and_components_are_stored(store: DynStore) {
    use firebreak_domain::status_page::ComponentStatus;
    let audited = audit_count(&store).await;
    let page = ok(store.create_status_page(" public ", "Acme status", true, &actor()).await);
    assert_eq!((page.slug.as_str(), page.public), ("public", true));
    let taken = store.create_status_page("public", "Again", false, &actor()).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    for (slug, name) in [("Bad Slug", "x"), ("ok", ""), ("ok", "bell\u{7}"), ("<script>", "x")] {
        let r = store.create_status_page(slug, name, true, &actor()).await;
        assert!(matches!(r, Err(StoreError::Domain(_))), "{slug:?} {name:?}: {r:?}");
    }
    let checkout = service_with_key(&store, "checkout", "hash-status", true).await;
    let api = ok(store.add_status_component(page.id, "API", "", &[], &actor()).await);
    let web = ok(store.add_status_component(page.id, "Checkout", "Shop", &[checkout.id], &actor()).await);
    assert_eq!((api.position, web.position), (1, 2));
    let listed = ok(store.list_status_components(page.id).await);
    assert_eq!(listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["API", "Checkout"]);
    assert_eq!(listed[1].service_ids, vec![checkout.id]);
    assert_eq!(listed[1].group_name, "Shop");
    let set = ok(store.set_component_status(page.id, web.id, Some(ComponentStatus::PartialOutage), &actor()).await);
    assert_eq!(set.manual_status, Some(ComponentStatus::PartialOutage));
    assert_eq!(ok(store.list_status_components(page.id).await)[1].manual_status, Some(ComponentStatus::PartialOutage));
    let cleared = ok(store.set_component_status(page.id, web.id, None, &actor()).await);
    assert_eq!(cleared.manual_status, None);
    let other = ok(store.create_status_page("internal", "Internal", false, &actor()).await);
    let wrong_page = store.set_component_status(other.id, web.id, Some(ComponentStatus::MajorOutage), &actor()).await;
    assert!(matches!(wrong_page, Err(StoreError::NotFound(_))), "{wrong_page:?}");
    let unknown = store.set_component_status(page.id, uuid::Uuid::now_v7(), None, &actor()).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
    assert_eq!(
        ok(store.list_status_pages().await).iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(),
        ["internal", "public"]
    );
    assert_eq!(ok(store.status_page("public").await).id, page.id);
    assert!(matches!(store.status_page("nowhere").await, Err(StoreError::NotFound(_))));
    // two pages, the service and its integration, two components, two status changes
    assert_eq!(audit_count(&store).await, audited + 8);
}
