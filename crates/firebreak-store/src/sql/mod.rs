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
//! reading and decoding rows (`sql_from_row!`), the incident row, and multi-row statements.

mod access;
mod alerts;
mod catalog;
mod incidents;
mod paging;
mod procedures;
mod review;
mod status_pages;

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
                Actor, DomainError, EscalationPolicyId, Incident, IncidentChange, IncidentId, IncidentRef, IncidentStatus,
                IntegrationId, ServiceId, TimelineEvent, Timestamp, UserId, Via,
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
            $crate::impl_sql_status_pages!($store);
            $crate::impl_sql_review!($store, $for_update);

            const INCIDENT_COLS: &str = "id, number, title, summary, severity, kind, status, services, tags, \
                commander_id, communications_id, scribe_id, created_by, detected_at, acknowledged_at, \
                contained_at, resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles, merged_into";

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

            /// Decodes every row `q` selects.
            async fn fetch_all_as<'c, 'q, E: sqlx::Executor<'c, Database = Db>, T>(
                conn: E,
                q: Query<'q>,
                decode: impl Fn(&DbRow) -> StoreResult<T>,
            ) -> StoreResult<Vec<T>> {
                q.fetch_all(conn).await.map_err(db_err)?.iter().map(decode).collect()
            }

            /// Decodes the row `q` selects, if there is one.
            async fn fetch_optional_as<'c, 'q, E: sqlx::Executor<'c, Database = Db>, T>(
                conn: E,
                q: Query<'q>,
                decode: impl Fn(&DbRow) -> StoreResult<T>,
            ) -> StoreResult<Option<T>> {
                q.fetch_optional(conn).await.map_err(db_err)?.as_ref().map(decode).transpose()
            }

            /// Decodes the row `q` selects, or fails with `NotFound(what)`.
            async fn fetch_found_as<'c, 'q, E: sqlx::Executor<'c, Database = Db>, T>(
                conn: E,
                q: Query<'q>,
                what: &'static str,
                decode: impl Fn(&DbRow) -> StoreResult<T>,
            ) -> StoreResult<T> {
                fetch_optional_as(conn, q, decode).await?.ok_or(StoreError::NotFound(what))
            }

            /// Runs `q` inside `tx`; fails with `NotFound(what)` when it changes no row.
            async fn execute_found(tx: &mut Tx, q: Query<'_>, what: &'static str) -> StoreResult<()> {
                let n = q.execute(&mut **tx).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(what));
                }
                Ok(())
            }

            /// Whether `probe` (a `SELECT CAST(1 AS BIGINT) …`) finds a row, read outside any write
            /// transaction (due-work rounds that find nothing need not take the writer).
            async fn found(store: &$store, probe: Query<'_>) -> StoreResult<bool> {
                Ok(probe.fetch_optional(&store.pool).await.map_err(db_err)?.is_some())
            }

            /// A page of at most `limit` of `items`, which were asked for one more than that to
            /// learn whether there are more; `cursor` says where the next page continues.
            fn page_of<T, C>(mut items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> C) -> Page<T, C> {
                let next_before = if items.len() > limit as usize {
                    items.truncate(limit as usize);
                    items.last().map(cursor)
                } else {
                    None
                };
                Page { items, next_before }
            }

            fn incident_from_row(row: &DbRow) -> StoreResult<Incident> {
                let user = |col: &str| -> StoreResult<Option<UserId>> { Ok(get::<Option<uuid::Uuid>>(row, col)?.map(UserId)) };
                Ok($crate::sql_from_row!(row => Incident {
                    id: IncidentId,
                    number,
                    title,
                    summary,
                    severity: word,
                    kind: word,
                    status: word,
                    services: json,
                    tags: json,
                    commander = user("commander_id")?,
                    communications = user("communications_id")?,
                    scribe = user("scribe_id")?,
                    other_roles: json,
                    restricted,
                    created_by: Option<UserId>,
                    detected_at,
                    acknowledged_at,
                    contained_at,
                    resolved_at,
                    closed_at,
                    updated_at,
                    service_id: Option<ServiceId>,
                    group_key,
                    merged_into: Option<IncidentId>,
                }))
            }

            /// The incident `r` names; with `lock`, its row is locked for the rest of the transaction.
            async fn load_incident<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, r: IncidentRef, lock: bool) -> StoreResult<Incident> {
                let lock = if lock { $for_update } else { "" };
                let q = match r {
                    IncidentRef::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1{lock}"))).bind(id.0),
                    IncidentRef::Number(n) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE number = $1{lock}"))).bind(n),
                };
                fetch_found_as(conn, q, "incident", incident_from_row).await
            }

            const OPEN_STATUSES: &str = "('triggered', 'acknowledged', 'contained')";

            /// Rows per multi-row statement. Every size is prepared once and kept in the
            /// connection's statement cache (the backends size it for two such families of 64:
            /// re-parsing a 20-row statement for every batch cost more than running it).
            const ROWS_PER_STATEMENT: usize = 64;

            type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

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
                bind: impl Fn(Query<'static>, &T) -> Query<'static>,
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
            /// them in process (SQLite delivers through the second only; PostgreSQL through both, so
            /// this process hears at once and other replicas through LISTEN).
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

/// Builds a `$ty` from the columns of `$row` named like its fields: `field` reads its column as
/// it is, `field: word` parses it, `field: json` unwraps JSON, `field: Id` wraps an id and
/// `field: Option<Id>` a nullable one; `field = value` computes it. For the decoders of
/// [`impl_sql_store!`], whose `get` and `parse_word` it calls.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_from_row {
    ($row:ident => $ty:ident { $($field:ident $(: $how:ident $(<$inner:ident>)?)? $(= $value:expr)?),* $(,)? }) => {
        $ty { $($field: $crate::sql_from_row!(@column $row, $field $(: $how $(<$inner>)?)? $(= $value)?)),* }
    };
    (@column $row:ident, $field:ident) => { get($row, stringify!($field))? };
    (@column $row:ident, $field:ident : word) => { parse_word($row, stringify!($field))? };
    (@column $row:ident, $field:ident : json) => { get::<Json<_>>($row, stringify!($field))?.0 };
    (@column $row:ident, $field:ident : Option<$id:ident>) => { get::<Option<uuid::Uuid>>($row, stringify!($field))?.map($id) };
    (@column $row:ident, $field:ident : $id:ident) => { $id(get($row, stringify!($field))?) };
    (@column $row:ident, $field:ident = $value:expr) => { $value };
}
