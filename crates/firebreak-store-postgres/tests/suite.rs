//! The shared store suite on PostgreSQL, when `FIREBREAK_TEST_POSTGRES_URL` is set. Each test
//! gets a schema of its own.

use firebreak_store::DynStore;
use firebreak_store::suite::RawSql;
use firebreak_store_postgres::PgStore;
use std::sync::Arc;

async fn fresh() -> Option<(DynStore, RawSql)> {
    let store = Arc::new(firebreak_store_postgres::testing::fresh_store().await?);
    let pool = store.pool().clone();
    let raw: RawSql = Box::new(move |sql| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(sql).execute(&pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    });
    let _: &PgStore = &store;
    Some((store, raw))
}

firebreak_store::store_suite!(fresh);
