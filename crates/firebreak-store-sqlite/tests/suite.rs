//! The shared store suite on SQLite (always runs).

use firebreak_store::suite::RawSql;
use firebreak_store::DynStore;
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
