//! The shared store suite on SQLite (always runs).

use firebreak_store::suite::RawSql;
use firebreak_store::{AuditStore, DynStore, IncidentStore};
use firebreak_store_sqlite::SqliteStore;
use std::sync::Arc;

async fn fresh() -> Option<(DynStore, RawSql)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}/nested/firebreak.db", dir.path().display());
    let store = Arc::new(SqliteStore::connect(&url).await.unwrap_or_else(|e| panic!("{e}")));
    let pool = store.pool().clone();
    // Keep the folder for the whole test.
    std::mem::forget(dir);
    let raw: RawSql = Box::new(move |sql| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    });
    Some((store, raw))
}

firebreak_store::store_suite!(fresh);

/// An online backup is a complete, openable database with the same audit chain.
#[tokio::test]
async fn online_backup_is_a_complete_copy() {
    use firebreak_domain::{Actor, AuditVerification, IncidentType, NewIncident, Severity, Via};
    let Some((store, _)) = fresh().await else { return };
    let actor = Actor::system("t", Via::System);
    let new = NewIncident::parse("backed up", None, Severity::Low, IncidentType::Other, &[], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    store.create_incident(new, &actor).await.unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("copy.db");
    store.backup_to(&path).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(store.backup_to(&path).await.is_err(), "never overwrites");
    let copy = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap_or_else(|e| panic!("{e}"));
    let incident = copy.get_incident(firebreak_domain::IncidentRef::Number(1)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(incident.title, "backed up");
    assert_eq!(copy.verify_audit().await.unwrap_or_else(|e| panic!("{e}")), AuditVerification::Intact { entries: 1 });
}

/// The dedup lookup must be an index seek, not a scan of every alert (a regression once cut
/// unique-key ingestion tenfold).
#[tokio::test]
async fn the_dedup_lookup_uses_the_live_key_index() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::connect(&format!("sqlite://{}/plan.db", dir.path().display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = sqlx::query(
        "EXPLAIN QUERY PLAN SELECT id FROM alerts WHERE integration_id = x'00' AND status <> 'resolved' \
         AND dedup_key IN ('a', 'b', 'c', 'd')",
    )
    .fetch_all(store.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let plan: Vec<String> =
        rows.iter().map(|r| sqlx::Row::try_get::<String, _>(r, "detail").unwrap_or_default()).collect();
    assert!(plan.iter().any(|d| d.contains("alerts_live_key") || d.contains("alerts_key_lookup")), "{plan:?}");
    assert!(!plan.iter().any(|d| d.contains("alerts_status")), "{plan:?}");
}
