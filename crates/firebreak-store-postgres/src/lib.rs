//! The PostgreSQL backend, for several replicas: audit appends serialise on an advisory
//! lock, read-modify-write selects lock their row, and change notices travel between
//! replicas over LISTEN/NOTIFY.

use firebreak_domain::IncidentId;
use firebreak_store::{ChangeNotice, Store, StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::broadcast;

/// Migrations embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The NOTIFY channel for change notices.
const CHANNEL: &str = "firebreak_changes";
/// Advisory lock key that serialises audit appends (arbitrary, fixed).
const AUDIT_LOCK: i64 = 0x000F_1EB4_EA0A_0D17;

/// A Firebreak store on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
    notices: broadcast::Sender<ChangeNotice>,
    ingest_cache: std::sync::Arc<firebreak_store::IngestCache>,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) without migrating.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?
            // Room for every size of the generated multi-row statements (see sql/mod.rs).
            .statement_cache_capacity(400);
        Self::open_with(options).await
    }

    /// Connects with explicit options (tests use them to pick a schema).
    pub async fn open_with(options: PgConnectOptions) -> StoreResult<Self> {
        // JIT compiling is for long analytical queries; here it only ever added time (360 ms of
        // a 780 ms analytics read, every time: bench/README.md, "Response analytics").
        let options = options.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        let (notices, _) = broadcast::channel(256);
        let store = PgStore { pool, notices, ingest_cache: Default::default() };
        store.spawn_listener();
        Ok(store)
    }

    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Backend(format!("migration failed: {e}")))
    }

    /// The pool, for tests that need to reach under the store (tampering checks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Forwards NOTIFY messages from every replica to local subscribers; reconnects on error.
    fn spawn_listener(&self) {
        let pool = self.pool.clone();
        let tx = self.notices.clone();
        let cache = self.ingest_cache.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        handle.spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        if pool.is_closed() {
                            return;
                        }
                        tracing::warn!(error = %e, "cannot listen for change notices; retrying");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                loop {
                    match listener.recv().await {
                        Ok(n) => {
                            match parse_notice(n.payload()) {
                                // Another replica (or this one) changed what ingestion caches.
                                Some(ChangeNotice::IngestConfig) => cache.clear(),
                                Some(notice) => {
                                    let _ = tx.send(notice);
                                }
                                None => {}
                            }
                        }
                        Err(e) => {
                            if pool.is_closed() {
                                return;
                            }
                            tracing::warn!(error = %e, "change notice listener lost its connection");
                            break;
                        }
                    }
                }
            }
        });
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// PostgreSQL's own commit is durable (and grouped by the server).
    async fn sync_committed(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn lock_audit(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(conn).await.map(|_| ())
    }

    async fn notify_in_tx(conn: &mut PgConnection, notice: &ChangeNotice) -> Result<(), sqlx::Error> {
        let payload = match notice {
            ChangeNotice::Incident(id) => format!("incident:{id}"),
            ChangeNotice::IngestConfig => "config".to_owned(),
            ChangeNotice::StatusPage => "status".to_owned(),
        };
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(conn).await.map(|_| ())
    }

    fn notify_after_commit(&self, notice: ChangeNotice) {
        // Told here at once, so this process's next request sees its own change (the status
        // page cache relies on it); the listener delivers it again a moment later, as it does
        // other replicas' notices — subscribers take a notice twice as they take one.
        if !matches!(notice, ChangeNotice::IngestConfig) {
            let _ = self.notices.send(notice);
        }
    }
}

fn parse_notice(payload: &str) -> Option<ChangeNotice> {
    if payload == "config" {
        return Some(ChangeNotice::IngestConfig);
    }
    if payload == "status" {
        return Some(ChangeNotice::StatusPage);
    }
    let id = payload.strip_prefix("incident:")?;
    id.parse::<IncidentId>().ok().map(ChangeNotice::Incident)
}

firebreak_store::impl_sql_store!(PgStore, sqlx::Postgres, tx = sqlx::Transaction<'static, sqlx::Postgres>, for_update = " FOR UPDATE");

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(sql_common::db_err)
    }

    fn subscribe(&self) -> broadcast::Receiver<ChangeNotice> {
        self.notices.subscribe()
    }

    async fn backup_to(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Conflict("PostgreSQL databases are backed up with pg_dump (see docs/backup.md)".into()))
    }
}

/// Helpers for tests that run against a real PostgreSQL server.
pub mod testing {
    use super::PgStore;

    /// The environment variable naming the test server.
    pub const ENV: &str = "FIREBREAK_TEST_POSTGRES_URL";

    /// A URL for a new, empty schema on the test server, or `None` (after saying so) when
    /// `FIREBREAK_TEST_POSTGRES_URL` is unset.
    pub async fn fresh_schema_url() -> Option<String> {
        let Ok(base) = std::env::var(ENV) else {
            eprintln!("skipped: PostgreSQL tests need {ENV} (e.g. postgres://postgres@127.0.0.1:5432/test)");
            return None;
        };
        let schema = format!("fb_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| panic!("cannot connect to {ENV}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("create schema: {e}"));
        pool.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(format!("{base}{sep}options[search_path]={schema}"))
    }

    /// A migrated store on a new, empty schema, or `None` when no test server is configured.
    pub async fn fresh_store() -> Option<PgStore> {
        let url = fresh_schema_url().await?;
        Some(PgStore::connect(&url).await.unwrap_or_else(|e| panic!("{e}")))
    }
}
