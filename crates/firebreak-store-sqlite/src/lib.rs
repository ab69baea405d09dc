//! The SQLite backend, Firebreak's embedded default: one file in WAL mode with foreign keys
//! on and a busy timeout. Writes go through a single connection (`BEGIN IMMEDIATE`), so
//! writers queue in process instead of retrying on `SQLITE_BUSY`; reads use their own pool.
//! Writes are durable before they are reported done, by group commit ([`walsync`]).

mod walsync;
mod writer;

use firebreak_store::{ChangeNotice, Store, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::broadcast;

/// Migrations embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A Firebreak store on one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: writer::Writer,
    notices: broadcast::Sender<ChangeNotice>,
    walsync: walsync::WalSync,
    ingest_cache: firebreak_store::IngestCache,
}

impl SqliteStore {
    /// Opens (creating the file and its folder when missing) the database at `url`
    /// (`sqlite://path/to/file.db`) without migrating it.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            // Readers never commit anything that matters (token bookkeeping at most); FULL
            // keeps even that on disk at once.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Room for every size of the generated multi-row statements (see sql/mod.rs) besides
            // the fixed ones, so none is parsed again for each batch.
            .statement_cache_capacity(400);
        let path = options.get_filename().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create the database folder {}: {e}", dir.display()))
            })?;
        }
        // WAL is a property of the file: the writer sets it once; readers then open without
        // touching the journal mode, so a burst of new reader connections does not queue on
        // the lock that setting it takes.
        // The writer commits with NORMAL and every write then waits for a group fdatasync of
        // the WAL (see `walsync`): a write is on disk before it is reported done, even across
        // power loss, and the next transaction runs while the disk works. The one writer
        // connection is never closed, so the WAL file is never removed behind the syncer.
        let walsync = walsync::WalSync::start(&path)
            .map_err(|e| StoreError::Backend(format!("cannot start the WAL sync thread: {e}")))?;
        let writer = options
            .clone()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .connect()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open SQLite database {}: {e}", path.display())))?;
        let writer = writer::Writer::new(writer);
        // A local file does not hang up: no ping before handing a connection out.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(8)
            .min_connections(2)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot open SQLite database {}: {e}", path.display())))?;
        let (notices, _) = broadcast::channel(256);
        Ok(SqliteStore { pool, writer, notices, walsync, ingest_cache: Default::default() })
    }

    /// Opens and brings the schema up to date.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        (self.writer.with_conn(async |conn| MIGRATOR.run(conn).await).await)
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        self.sync_committed().await
    }

    /// The read pool, for tests that need to reach under the store (tampering checks).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<writer::WriteTx, sqlx::Error> {
        self.writer.begin().await
    }

    /// Returns once every write committed so far is on disk.
    async fn sync_committed(&self) -> StoreResult<()> {
        self.walsync.sync().await.map_err(StoreError::Backend)
    }

    async fn lock_audit(_conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        // The write transaction is already exclusive.
        Ok(())
    }

    async fn notify_in_tx(_conn: &mut SqliteConnection, _notice: &ChangeNotice) -> Result<(), sqlx::Error> {
        Ok(())
    }

    fn notify_after_commit(&self, notice: ChangeNotice) {
        // No receivers is fine: nobody is watching.
        let _ = self.notices.send(notice);
    }
}

firebreak_store::impl_sql_store!(SqliteStore, sqlx::Sqlite, tx = crate::writer::WriteTx, for_update = "");

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn ingest_pipeline_depth(&self) -> usize {
        // Batches waiting for their WAL sync while the next one runs its statements.
        4
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(sql_common::db_err)
    }

    fn subscribe(&self) -> broadcast::Receiver<ChangeNotice> {
        self.notices.subscribe()
    }

    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()> {
        if path.exists() {
            return Err(StoreError::Conflict(format!("{} already exists; choose a new file", path.display())));
        }
        let target = path.to_str().ok_or_else(|| StoreError::Conflict("the backup path must be valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_owned())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Backend(format!("backup to {} failed: {e}", path.display())))
    }
}
