//! Two stores on one PostgreSQL schema behave as replicas of one installation: numbers stay
//! sequential, the audit chain stays one chain, and a change made through one is announced
//! through the other.

use firebreak_domain::{Actor, AuditVerification, IncidentType, NewIncident, Severity, Via};
use firebreak_store::{AuditStore, ChangeNotice, IncidentStore, Store};
use firebreak_store_postgres::{PgStore, testing};
use std::sync::Arc;

fn incident(n: usize) -> NewIncident {
    NewIncident::parse(&format!("replica {n}"), None, Severity::High, IncidentType::Outage, &[], &[])
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_numbers_audit_and_live_updates() {
    let Some(url) = testing::fresh_schema_url().await else { return };
    let a = Arc::new(PgStore::connect(&url).await.unwrap_or_else(|e| panic!("{e}")));
    let b = Arc::new(PgStore::connect(&url).await.unwrap_or_else(|e| panic!("{e}")));
    let actor = Actor::system("replica test", Via::System);

    // Give b's listener a moment to LISTEN, then prove delivery with a bounded wait.
    let mut rx = b.subscribe();
    let mut delivered = None;
    let mut created = Vec::new();
    for attempt in 0..20 {
        created.push(a.create_incident(incident(attempt), &actor).await.unwrap_or_else(|e| panic!("{e}")).id);
        if let Ok(Ok(ChangeNotice::Incident(id))) =
            tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await
        {
            // On a busy machine the notice of an earlier attempt may be the one that arrives.
            assert!(created.contains(&id), "{id} was never created");
            delivered = Some(id);
            break;
        }
    }
    assert!(delivered.is_some(), "a change through replica A never reached replica B");

    let before = a
        .list_incidents(&firebreak_store::IncidentFilter { limit: 200, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .items
        .len();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store: Arc<PgStore> = if i % 2 == 0 { a.clone() } else { b.clone() };
        let actor = actor.clone();
        tasks.push(tokio::spawn(async move { store.create_incident(incident(100 + i), &actor).await }));
    }
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let all = b
        .list_incidents(&firebreak_store::IncidentFilter { limit: 200, ..Default::default() })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .items;
    let mut numbers: Vec<i64> = all.iter().map(|i| i.number).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=(before as i64 + 20)).collect::<Vec<_>>(),
        "numbers are gapless and unique across replicas"
    );
    assert_eq!(
        a.verify_audit().await.unwrap_or_else(|e| panic!("{e}")),
        AuditVerification::Intact { entries: before as u64 + 20 }
    );
}
