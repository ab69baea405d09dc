//! The one connection every write goes through, held by one transaction at a time.
//!
//! A pool of one connection would do the same job with more work: sqlx's pool pings a
//! connection when it is handed out and again when it comes back, and on SQLite each ping is
//! a round trip to the connection's worker thread (two thread wake-ups) — on the ingestion
//! path that was two of every batch's seven round trips. Here the connection sits behind an
//! async mutex: [`Writer::begin`] locks it and starts `BEGIN IMMEDIATE`; the transaction
//! commits or rolls back explicitly; one dropped without either (an error returned early, a
//! cancelled request) is rolled back by a task of its own (or, without a runtime, by the next
//! [`Writer::begin`]).

use sqlx::SqliteConnection;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

struct Held {
    conn: SqliteConnection,
    /// A transaction was dropped without commit or rollback: roll back before the next.
    unfinished: bool,
}

impl Held {
    /// Rolls back a transaction left unfinished (when its drop had no runtime to do it).
    async fn finish_dropped(&mut self) {
        if self.unfinished {
            // "no transaction is active" is fine: the statement that failed may have ended it.
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await;
            self.unfinished = false;
        }
    }
}

/// The writer connection.
#[derive(Clone)]
pub struct Writer(Arc<Mutex<Held>>);

impl Writer {
    pub fn new(conn: SqliteConnection) -> Self {
        Writer(Arc::new(Mutex::new(Held { conn, unfinished: false })))
    }

    /// Waits for the connection, then starts a write transaction on it.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let mut held = self.0.clone().lock_owned().await;
        held.finish_dropped().await;
        held.unfinished = true;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut held.conn).await?;
        Ok(WriteTx { held: Some(held) })
    }

    /// Runs `f` on the connection outside any transaction (migrations).
    pub async fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut SqliteConnection) -> T) -> T {
        let mut held = self.0.lock().await;
        held.finish_dropped().await;
        f(&mut held.conn).await
    }
}

/// A write transaction on the writer connection; dereferences to the connection so that
/// statements run with `&mut *tx`. Dropped without `commit` or `rollback`, it rolls back on a
/// task of its own, holding the connection until then: an open transaction would keep the
/// write lock from every other connection to the file.
pub struct WriteTx {
    held: Option<OwnedMutexGuard<Held>>,
}

impl WriteTx {
    fn held(&mut self) -> &mut Held {
        self.held.as_mut().expect("a transaction holds the connection until it ends")
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let held = self.held();
        sqlx::query("COMMIT").execute(&mut held.conn).await?;
        held.unfinished = false;
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let held = self.held();
        sqlx::query("ROLLBACK").execute(&mut held.conn).await?;
        held.unfinished = false;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut held) = self.held.take() else { return };
        if !held.unfinished {
            return;
        }
        // Without a runtime the mark stays, and the next `begin` rolls back first.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if sqlx::raw_sql("ROLLBACK").execute(&mut held.conn).await.is_ok() {
                    held.unfinished = false;
                }
            });
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.held.as_ref().expect("a transaction holds the connection until it ends").conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.held().conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn count(w: &Writer) -> i64 {
        w.with_conn(async |c| sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(c).await.expect("statement")).await
    }

    #[tokio::test]
    async fn a_dropped_transaction_is_rolled_back_before_the_next_one() {
        let w = Writer::new(SqliteConnection::connect("sqlite::memory:").await.expect("in-memory database"));
        w.with_conn(async |c| sqlx::query("CREATE TABLE t (v INTEGER)").execute(c).await.expect("statement")).await;

        let mut tx = w.begin().await.expect("begin");
        sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.expect("statement");
        tx.commit().await.expect("commit");
        assert_eq!(count(&w).await, 1);

        // Dropped halfway, as when a request is cancelled or an error returns early.
        let mut tx = w.begin().await.expect("begin");
        sqlx::query("INSERT INTO t VALUES (2)").execute(&mut *tx).await.expect("statement");
        drop(tx);
        let mut tx = w.begin().await.expect("the next transaction starts after rolling the dropped one back");
        sqlx::query("INSERT INTO t VALUES (3)").execute(&mut *tx).await.expect("statement");
        tx.commit().await.expect("commit");
        let values: Vec<i64> = w
            .with_conn(async |c| {
                sqlx::query_scalar("SELECT v FROM t ORDER BY v").fetch_all(c).await.expect("statement")
            })
            .await;
        assert_eq!(values, [1, 3]);

        let mut tx = w.begin().await.expect("begin");
        sqlx::query("INSERT INTO t VALUES (4)").execute(&mut *tx).await.expect("statement");
        tx.rollback().await.expect("rollback");
        assert_eq!(count(&w).await, 2);
    }

    #[tokio::test]
    async fn a_dropped_transaction_frees_the_write_lock_for_other_connections() {
        use sqlx::sqlite::SqliteConnectOptions;
        let dir = tempfile::tempdir().expect("temporary folder");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("w.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(2));
        let w = Writer::new(SqliteConnection::connect_with(&options).await.expect("writer"));
        w.with_conn(async |c| sqlx::query("CREATE TABLE t (v INTEGER)").execute(c).await.expect("statement")).await;
        let mut other = SqliteConnection::connect_with(&options).await.expect("second connection");

        let mut tx = w.begin().await.expect("begin");
        sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.expect("statement");
        drop(tx);
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut other)
            .await
            .expect("the dropped transaction no longer holds the write lock");
        assert_eq!(count(&w).await, 1);
    }

    #[tokio::test]
    async fn transactions_take_turns() {
        let w = Writer::new(SqliteConnection::connect("sqlite::memory:").await.expect("in-memory database"));
        w.with_conn(async |c| sqlx::query("CREATE TABLE t (v INTEGER)").execute(c).await.expect("statement")).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move {
                    let mut tx = w.begin().await.expect("begin");
                    sqlx::query("INSERT INTO t VALUES ($1)").bind(i).execute(&mut *tx).await.expect("statement");
                    tokio::task::yield_now().await;
                    tx.commit().await.expect("commit");
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(count(&w).await, 20);
    }
}
