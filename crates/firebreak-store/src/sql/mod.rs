//! The SQL that is the same on every backend, written once. A backend crate defines its store
//! struct with a `pool` field and these associated items, then invokes [`impl_sql_store!`]:
//!
//! - `async fn begin_write(&self) -> Result<Tx, sqlx::Error>`, where `Tx` (the macro's `tx`
//!   argument) has `commit` and `rollback` and dereferences to the connection (SQLite: its
//!   one writer connection, `BEGIN IMMEDIATE`; PostgreSQL: a pooled `sqlx::Transaction`);
//! - a field `ingest_cache` holding (or dereferencing to) a [`crate::IngestCache`];
//! - `async fn sync_committed(&self) -> StoreResult<()>`, which returns once every
//!   transaction committed so far is durable (SQLite's group commit; a no-op on PostgreSQL);
//! - `async fn lock_audit(conn: &mut DB::Connection) -> Result<(), sqlx::Error>`, which
//!   serialises audit appends across connections and replicas;
//! - `async fn notify_in_tx(conn, notice)` and `fn notify_after_commit(&self, notice)`, which
//!   deliver live change notices (in process on SQLite, LISTEN/NOTIFY on PostgreSQL).
//!
//! Every statement uses `$n` placeholders in increasing order of first use, which both
//! PostgreSQL and sqlx's SQLite driver bind by number.
//!
//! Each aggregate's SQL is in its own file, as a macro that [`impl_sql_store!`] expands into
//! its one module: [`incidents`] (incidents, timeline), [`access`] (users, sessions, tokens,
//! audit), [`alerts`] (alerts, ingestion), [`catalog`] (services, integrations, heartbeats,
//! checks, changes, rules, maintenance windows), [`paging`] (schedules, escalation policies,
//! contact methods, the escalation and notification outbox) and [`procedures`] (playbook
//! checklists, stakeholder updates). This file holds what they share: the imports, committing,
//! reading columns, the incident row, and multi-row statements.

mod access;
mod alerts;
mod catalog;
mod incidents;
mod paging;
mod procedures;

/// Implements every store trait but `Store` for a backend store type, one aggregate's macro
/// each (they expand into one module, `sql_common`, so each uses the others' helpers).
/// `$for_update` is the row-locking suffix for read-modify-write selects (`" FOR UPDATE"` on
/// PostgreSQL, `""` on SQLite, whose write transactions are already exclusive).
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ident, $db:ty, tx = $tx:ty, for_update = $for_update:literal) => {
        mod sql_common {
            use super::$store;
            use $crate::cache::{KeyOwner, Triage};
            use $crate::{AlertStore, ChangeNotice, Page, StoreError, StoreResult, User};
            use firebreak_domain::alert::DedupKey;
            use firebreak_domain::{
                Actor, DomainError, EscalationPolicyId, Incident, IncidentChange, IncidentId, IncidentStatus, IntegrationId,
                ServiceId, TimelineEvent, Timestamp, UserId, Via,
            };
            use sqlx::types::Json;
            use sqlx::Row;

            type Db = $db;
            type DbRow = <$db as sqlx::Database>::Row;
            type Tx = $tx;

            $crate::impl_sql_incidents!($store, $for_update);
            $crate::impl_sql_access!($store);
            // Alerts and the catalog share `AlertStore`: this expands `impl_sql_alerts!` too.
            $crate::impl_sql_catalog!($store, $for_update);
            $crate::impl_sql_paging!($store, $for_update);
            $crate::impl_sql_procedures!($store, $for_update);

            const INCIDENT_COLS: &str = "id, number, title, summary, severity, kind, status, services, tags, \
                commander_id, communications_id, scribe_id, created_by, detected_at, acknowledged_at, \
                contained_at, resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles";

            pub(super) fn db_err(e: sqlx::Error) -> StoreError {
                match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => {
                        StoreError::Conflict("a record with the same unique value already exists".into())
                    }
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                        StoreError::Domain(DomainError::invalid("reference", "refers to a record that does not exist"))
                    }
                    _ => StoreError::Backend(e.to_string()),
                }
            }

            /// Commits `tx` and returns once it is durable: every write goes through here.
            async fn commit(store: &$store, tx: Tx) -> StoreResult<()> {
                tx.commit().await.map_err(db_err)?;
                store.sync_committed().await
            }

            fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
                StoreError::Backend(format!("stored {what} is unreadable: {e}"))
            }

            fn get<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r DbRow, col: &str) -> StoreResult<T> {
                row.try_get(col).map_err(db_err)
            }

            fn parse_word<T: std::str::FromStr>(row: &DbRow, col: &str) -> StoreResult<T>
            where
                T::Err: std::fmt::Display,
            {
                let s: String = get(row, col)?;
                s.parse().map_err(|e| corrupt(col, e))
            }

            fn incident_from_row(row: &DbRow) -> StoreResult<Incident> {
                let user = |col: &str| -> StoreResult<Option<UserId>> { Ok(get::<Option<uuid::Uuid>>(row, col)?.map(UserId)) };
                Ok(Incident {
                    id: IncidentId(get(row, "id")?),
                    number: get(row, "number")?,
                    title: get(row, "title")?,
                    summary: get(row, "summary")?,
                    severity: parse_word(row, "severity")?,
                    kind: parse_word(row, "kind")?,
                    status: parse_word(row, "status")?,
                    services: get::<Json<Vec<String>>>(row, "services")?.0,
                    tags: get::<Json<Vec<String>>>(row, "tags")?.0,
                    commander: user("commander_id")?,
                    communications: user("communications_id")?,
                    scribe: user("scribe_id")?,
                    other_roles: get::<Json<std::collections::BTreeMap<String, UserId>>>(row, "other_roles")?.0,
                    restricted: get(row, "restricted")?,
                    created_by: user("created_by")?,
                    detected_at: get(row, "detected_at")?,
                    acknowledged_at: get(row, "acknowledged_at")?,
                    contained_at: get(row, "contained_at")?,
                    resolved_at: get(row, "resolved_at")?,
                    closed_at: get(row, "closed_at")?,
                    updated_at: get(row, "updated_at")?,
                    service_id: get::<Option<uuid::Uuid>>(row, "service_id")?.map(ServiceId),
                    group_key: get(row, "group_key")?,
                })
            }

            const OPEN_STATUSES: &str = "('triggered', 'acknowledged', 'contained')";

            /// Rows per multi-row statement. Every size is prepared once and kept in the
            /// connection's statement cache (the backends size it for two such families of 64:
            /// re-parsing a 20-row statement for every batch cost more than running it).
            const ROWS_PER_STATEMENT: usize = 64;

            type Query = sqlx::query::Query<'static, Db, <Db as sqlx::Database>::Arguments>;

            /// Appends `count` placeholders, separated by commas, for the parameters numbered
            /// from `first`. A generated statement may have a thousand parameters: SQLite gets
            /// anonymous `?`s, because sqlx looks up each numbered one by name, and SQLite's
            /// name lookup walks the list of names, which makes binding quadratic.
            fn push_placeholders(sql: &mut String, first: usize, count: usize) {
                use std::fmt::Write as _;
                let anonymous = <Db as sqlx::Database>::NAME == "SQLite";
                for n in first..first + count {
                    let sep = if n == first { "" } else { ", " };
                    let _ = if anonymous { write!(sql, "{sep}?") } else { write!(sql, "{sep}${n}") };
                }
            }

            /// `"{head} VALUES (…), (…){tail}"` for `rows` rows of `columns` placeholders each.
            fn values_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
                let mut sql = String::with_capacity(head.len() + tail.len() + 8 + rows * columns * 6);
                sql.push_str(head);
                sql.push_str(" VALUES ");
                for r in 0..rows {
                    sql.push_str(if r == 0 { "(" } else { ", (" });
                    push_placeholders(&mut sql, r * columns + 1, columns);
                    sql.push(')');
                }
                sql.push_str(tail);
                sql
            }

            /// Writes `rows` with multi-row statements (`bind` binds one row's `columns` values).
            async fn write_rows<T>(
                tx: &mut Tx,
                head: &str,
                columns: usize,
                tail: &str,
                rows: &[T],
                bind: impl Fn(Query, &T) -> Query,
            ) -> StoreResult<()> {
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(values_sql(head, columns, chunk.len(), tail)));
                    for row in chunk {
                        q = bind(q, row);
                    }
                    q.execute(&mut **tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            /// Announces the touched incidents inside the transaction, commits, then announces
            /// them in process (each backend delivers through one of the two).
            async fn commit_announcing(
                store: &$store,
                mut tx: Tx,
                touched: Vec<IncidentId>,
                committed: Option<tokio::sync::oneshot::Sender<()>>,
            ) -> StoreResult<()> {
                for id in &touched {
                    $store::notify_in_tx(&mut *tx, &ChangeNotice::Incident(*id)).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                if let Some(signal) = committed {
                    let _ = signal.send(());
                }
                store.sync_committed().await?;
                for id in touched {
                    store.notify_after_commit(ChangeNotice::Incident(id));
                }
                Ok(())
            }

        }
    };
}
