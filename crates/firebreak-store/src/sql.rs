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

/// Implements `IncidentStore`, `UserStore` and `AuditStore` for a backend store type.
/// `$for_update` is the row-locking suffix for read-modify-write selects (`" FOR UPDATE"` on
/// PostgreSQL, `""` on SQLite, whose write transactions are already exclusive).
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ident, $db:ty, tx = $tx:ty, for_update = $for_update:literal) => {
        mod sql_common {
            use super::$store;
            use $crate::{
                ApiToken, AuditStore, ChangeNotice, Credentials, IncidentFilter, IncidentStore, NewUser, Page,
                StoreError, StoreResult, TimelineEntry, User, UserStore, UserUpdate,
            };
            use firebreak_domain::audit::ChainVerifier;
            use firebreak_domain::alert::{decide, Alert, AlertDecision, AlertStatus, DedupKey, IntegrationKind};
            use firebreak_domain::{AlertId, IntegrationId, ServiceId};
            use $crate::{EscalationPolicyStore, Schedule, ScheduleStore};
            use firebreak_domain::escalation::{EscalationPolicy, EscalationPolicyDefinition};
            use firebreak_domain::schedule::{OnCallSchedule, Override, ScheduleDefinition};
            use firebreak_domain::{EscalationPolicyId, ScheduleId};
            use $crate::{AlertFilter, AlertStore, Change, CheckResult, CheckStatus, Heartbeat, IngestItem, IngestOutcome, Integration, Service, ServiceFields};
            use firebreak_domain::{
                Actor, AuditContent, AuditEntry, AuditVerification, DomainError, Email, Incident, IncidentChange,
                IncidentId, IncidentRef, IncidentStatus, NewIncident, TimelineEvent, Timestamp, TokenId, UserId,
                UserRole, Via, GENESIS_HASH,
            };
            use sqlx::types::Json;
            use sqlx::Row;

            type Db = $db;
            type DbRow = <$db as sqlx::Database>::Row;
            type Tx = $tx;

            $crate::impl_sql_paging!($store, $for_update);
            $crate::impl_sql_checklists!($store, $for_update);
            $crate::impl_sql_updates!($store, $for_update);

            const INCIDENT_COLS: &str = "id, number, title, summary, severity, kind, status, services, tags, \
                commander_id, communications_id, scribe_id, created_by, detected_at, acknowledged_at, \
                contained_at, resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles";
            const USER_COLS: &str = "id, email, name, role, disabled, created_at";
            const TOKEN_COLS: &str = "id, user_id, name, created_at, last_used_at, revoked_at";
            const AUDIT_COLS: &str = "seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash";

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

            /// Deletes one rule or maintenance window (`delete` binds its id), audited as
            /// `{kind}.delete` on `{kind}:{id}`; `what` names it when it does not exist.
            async fn delete_config(
                store: &$store,
                delete: &'static str,
                id: uuid::Uuid,
                what: &'static str,
                kind: &str,
                actor: &Actor,
            ) -> StoreResult<()> {
                let at = firebreak_domain::time::now();
                let mut tx = store.begin_write().await.map_err(db_err)?;
                let n = sqlx::query(delete).bind(id).execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(what));
                }
                audit_in_tx(&mut tx, actor, &format!("{kind}.delete"), &format!("{kind}:{id}"), serde_json::json!({}), at).await?;
                commit_config(store, tx).await
            }

            /// Commits a change to what ingestion caches (rules, windows, services, integrations)
            /// and clears the cache here and, through a change notice, on other replicas.
            async fn commit_config(store: &$store, mut tx: Tx) -> StoreResult<()> {
                $store::notify_in_tx(&mut *tx, &ChangeNotice::IngestConfig).await.map_err(db_err)?;
                commit(store, tx).await?;
                store.ingest_cache.clear();
                Ok(())
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

            fn via_of(s: &str) -> Via {
                match s {
                    "web" => Via::Web,
                    "cli" => Via::Cli,
                    "admin" => Via::Admin,
                    "system" => Via::System,
                    "link" => Via::Link,
                    "sms" => Via::Sms,
                    "slack" => Via::Slack,
                    "telegram" => Via::Telegram,
                    _ => Via::Api,
                }
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

            fn user_from_row(row: &DbRow) -> StoreResult<User> {
                let email: String = get(row, "email")?;
                Ok(User {
                    id: UserId(get(row, "id")?),
                    email: email.parse::<Email>().map_err(|e| corrupt("email", e))?,
                    name: get(row, "name")?,
                    role: parse_word::<UserRole>(row, "role")?,
                    disabled: get(row, "disabled")?,
                    created_at: get(row, "created_at")?,
                })
            }

            fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
                Ok(ApiToken {
                    id: TokenId(get(row, "id")?),
                    user_id: UserId(get(row, "user_id")?),
                    name: get(row, "name")?,
                    created_at: get(row, "created_at")?,
                    last_used_at: get(row, "last_used_at")?,
                    revoked_at: get(row, "revoked_at")?,
                })
            }

            fn audit_from_row(row: &DbRow) -> StoreResult<AuditEntry> {
                let details: String = get(row, "details")?;
                Ok(AuditEntry {
                    content: AuditContent {
                        seq: get(row, "seq")?,
                        at: get(row, "at")?,
                        actor_id: get(row, "actor_id")?,
                        actor_name: get(row, "actor_name")?,
                        via: get(row, "via")?,
                        action: get(row, "action")?,
                        target: get(row, "target")?,
                        details: serde_json::from_str(&details).map_err(|e| corrupt("audit details", e))?,
                    },
                    prev_hash: get(row, "prev_hash")?,
                    hash: get(row, "hash")?,
                })
            }

            fn timeline_from_row(row: &DbRow) -> StoreResult<TimelineEntry> {
                let via: String = get(row, "via")?;
                Ok(TimelineEntry {
                    seq: get(row, "seq")?,
                    incident_id: IncidentId(get(row, "incident_id")?),
                    at: get(row, "at")?,
                    actor_id: get::<Option<uuid::Uuid>>(row, "actor_id")?.map(UserId),
                    actor_name: get(row, "actor_name")?,
                    via: via_of(&via),
                    event: get::<Json<TimelineEvent>>(row, "data")?.0,
                })
            }

            /// Appends one audit entry inside `tx`, chained after the current head.
            async fn audit_in_tx(
                tx: &mut Tx,
                actor: &Actor,
                action: &str,
                target: &str,
                details: serde_json::Value,
                at: Timestamp,
            ) -> StoreResult<()> {
                $store::lock_audit(&mut **tx).await.map_err(db_err)?;
                let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                let (seq, prev) = match head {
                    Some(row) => (get::<i64>(&row, "seq")? + 1, get::<String>(&row, "hash")?),
                    None => (1, GENESIS_HASH.to_owned()),
                };
                let entry = AuditContent {
                    seq,
                    at,
                    actor_id: actor.user_id.map(|u| u.to_string()),
                    actor_name: actor.name.clone(),
                    via: actor.via.as_str().to_owned(),
                    action: action.to_owned(),
                    target: target.to_owned(),
                    details,
                }
                .seal(&prev);
                let c = &entry.content;
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(c.seq)
                .bind(c.at)
                .bind(c.actor_id.clone())
                .bind(c.actor_name.clone())
                .bind(c.via.clone())
                .bind(c.action.clone())
                .bind(c.target.clone())
                .bind(serde_json::to_string(&c.details).unwrap_or_default())
                .bind(entry.prev_hash.clone())
                .bind(entry.hash.clone())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2) \
                     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                )
                .bind(entry.content.seq)
                .bind(entry.hash.clone())
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_timeline(
                tx: &mut Tx,
                incident: IncidentId,
                actor: &Actor,
                at: Timestamp,
                events: &[TimelineEvent],
            ) -> StoreResult<()> {
                let rows: Vec<(IncidentId, &Actor, &TimelineEvent)> = events.iter().map(|e| (incident, actor, e)).collect();
                insert_timeline_rows(tx, at, &rows).await
            }

            /// Timeline entries of any incidents, all at `at`, in order. Whoever an entry shows
            /// taking part (the person acting, a role's new holder, those paged, a participant
            /// added) becomes a participant of its incident.
            async fn insert_timeline_rows(tx: &mut Tx, at: Timestamp, rows: &[(IncidentId, &Actor, &TimelineEvent)]) -> StoreResult<()> {
                let mut joined: Vec<(IncidentId, UserId)> = Vec::new();
                for (incident, actor, event) in rows {
                    let mut add = |u: UserId| {
                        if !joined.contains(&(*incident, u)) {
                            joined.push((*incident, u));
                        }
                    };
                    if let Some(u) = actor.user_id {
                        add(u);
                    }
                    match event {
                        TimelineEvent::RoleAssigned { to: Some(u), .. } => add(*u),
                        TimelineEvent::ParticipantAdded { user_id } => add(*user_id),
                        TimelineEvent::Paged { users, .. } => users.iter().for_each(|p| add(p.id)),
                        _ => {}
                    }
                }
                if !joined.is_empty() {
                    write_rows(
                        tx,
                        "INSERT INTO incident_participants (incident_id, user_id, since)",
                        3,
                        " ON CONFLICT DO NOTHING",
                        &joined,
                        |q, (incident, user)| q.bind(incident.0).bind(user.0).bind(at),
                    )
                    .await?;
                }
                write_rows(
                    tx,
                    "INSERT INTO timeline_entries (incident_id, at, actor_id, actor_name, via, kind, data)",
                    7,
                    "",
                    rows,
                    |q, (incident, actor, event)| {
                        q.bind(incident.0)
                            .bind(at)
                            .bind(actor.user_id.map(|u| u.0))
                            .bind(actor.name.clone())
                            .bind(actor.via.as_str())
                            .bind(event.kind())
                            .bind(Json((*event).clone()))
                    },
                )
                .await
            }

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

            async fn write_incident(tx: &mut Tx, i: &Incident, insert: bool) -> StoreResult<()> {
                let sql = if insert {
                    "INSERT INTO incidents (id, number, title, summary, severity, kind, status, services, tags, \
                     commander_id, communications_id, scribe_id, created_by, detected_at, acknowledged_at, \
                     contained_at, resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
                } else {
                    "UPDATE incidents SET number = $2, title = $3, summary = $4, severity = $5, kind = $6, \
                     status = $7, services = $8, tags = $9, commander_id = $10, communications_id = $11, \
                     scribe_id = $12, created_by = $13, detected_at = $14, acknowledged_at = $15, \
                     contained_at = $16, resolved_at = $17, closed_at = $18, updated_at = $19, service_id = $20, group_key = $21, \
                     restricted = $22, other_roles = $23 WHERE id = $1"
                };
                sqlx::query(sql)
                    .bind(i.id.0)
                    .bind(i.number)
                    .bind(i.title.clone())
                    .bind(i.summary.clone())
                    .bind(i.severity.as_str())
                    .bind(i.kind.as_str())
                    .bind(i.status.as_str())
                    .bind(Json(i.services.clone()))
                    .bind(Json(i.tags.clone()))
                    .bind(i.commander.map(|u| u.0))
                    .bind(i.communications.map(|u| u.0))
                    .bind(i.scribe.map(|u| u.0))
                    .bind(i.created_by.map(|u| u.0))
                    .bind(i.detected_at)
                    .bind(i.acknowledged_at)
                    .bind(i.contained_at)
                    .bind(i.resolved_at)
                    .bind(i.closed_at)
                    .bind(i.updated_at)
                    .bind(i.service_id.map(|s| s.0))
                    .bind(i.group_key.clone())
                    .bind(i.restricted)
                    .bind(Json(i.other_roles.clone()))
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            fn incident_target(id: IncidentId) -> String {
                format!("incident:{id}")
            }

            async fn load_user<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: UserId) -> StoreResult<User> {
                let row = sqlx::query("SELECT id, email, name, role, disabled, created_at FROM users WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("user"))?;
                user_from_row(&row)
            }

            #[async_trait::async_trait]
            impl IncidentStore for $store {
                async fn create_incident(&self, new: NewIncident, actor: &Actor) -> StoreResult<Incident> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let number: i64 = sqlx::query_scalar(
                        "UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value",
                    )
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let out = Incident::declare(IncidentId::new(), number, new, actor.user_id, at);
                    write_incident(&mut tx, &out.incident, true).await?;
                    insert_timeline(&mut tx, out.incident.id, actor, at, &out.events).await?;
                    follow_incident(&mut tx, None, &out.incident, actor, at).await?;
                    let details = serde_json::json!({
                        "number": number,
                        "title": out.incident.title,
                        "severity": out.incident.severity,
                        "type": out.incident.kind,
                    });
                    audit_in_tx(&mut tx, actor, "incident.create", &incident_target(out.incident.id), details, at).await?;
                    let notice = ChangeNotice::Incident(out.incident.id);
                    $store::notify_in_tx(&mut *tx, &notice).await.map_err(db_err)?;
                    commit(self, tx).await?;
                    self.notify_after_commit(notice);
                    Ok(out.incident)
                }

                async fn get_incident(&self, r: IncidentRef) -> StoreResult<Incident> {
                    let q = match r {
                        IncidentRef::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1"))).bind(id.0),
                        IncidentRef::Number(n) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE number = $1"))).bind(n),
                    };
                    let row = q.fetch_optional(&self.pool).await.map_err(db_err)?.ok_or(StoreError::NotFound("incident"))?;
                    incident_from_row(&row)
                }

                async fn list_incidents(&self, filter: &IncidentFilter) -> StoreResult<Page<Incident>> {
                    let limit = $crate::page_limit(filter.limit);
                    let mut qb = sqlx::QueryBuilder::<Db>::new(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE 1 = 1"));
                    fn any_of<'a>(qb: &mut sqlx::QueryBuilder<Db>, col: &str, words: impl ExactSizeIterator<Item = &'a str>) {
                        if words.len() == 0 {
                            return;
                        }
                        qb.push(format!(" AND {col} IN ("));
                        let mut sep = qb.separated(", ");
                        for w in words {
                            sep.push_bind(w.to_owned());
                        }
                        qb.push(")");
                    }
                    any_of(&mut qb, "status", filter.statuses.iter().map(|s| s.as_str()));
                    any_of(&mut qb, "severity", filter.severities.iter().map(|s| s.as_str()));
                    any_of(&mut qb, "kind", filter.kinds.iter().map(|s| s.as_str()));
                    if let Some(viewer) = &filter.viewer {
                        qb.push(" AND ");
                        push_visible(&mut qb, "incidents", viewer);
                    }
                    if let Some(before) = filter.before_number {
                        qb.push(" AND number < ").push_bind(before);
                    }
                    qb.push(" ORDER BY number DESC LIMIT ").push_bind(i64::from(limit) + 1);
                    let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
                    let mut items = rows.iter().map(incident_from_row).collect::<StoreResult<Vec<_>>>()?;
                    let next_before = if items.len() > limit as usize {
                        items.truncate(limit as usize);
                        items.last().map(|i| i.number)
                    } else {
                        None
                    };
                    Ok(Page { items, next_before })
                }

                async fn change_incident(&self, r: IncidentRef, change: IncidentChange, actor: &Actor) -> StoreResult<Incident> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let q = match r {
                        IncidentRef::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1{}", $for_update))).bind(id.0),
                        IncidentRef::Number(n) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE number = $1{}", $for_update))).bind(n),
                    };
                    let row = q.fetch_optional(&mut *tx).await.map_err(db_err)?.ok_or(StoreError::NotFound("incident"))?;
                    let current = incident_from_row(&row)?;
                    if let IncidentChange::AssignRole { user: Some(user), .. } | IncidentChange::AddParticipant { user } = &change {
                        let holder = match load_user(&mut *tx, *user).await {
                            Ok(u) => u,
                            Err(StoreError::NotFound(_)) => {
                                return Err(DomainError::invalid("user_id", "no such user").into());
                            }
                            Err(e) => return Err(e),
                        };
                        if holder.disabled {
                            return Err(DomainError::invalid("user_id", "that user is disabled").into());
                        }
                    }
                    let out = current.apply(&change, at)?;
                    if out.events.is_empty() {
                        return Ok(out.incident);
                    }
                    write_incident(&mut tx, &out.incident, false).await?;
                    insert_timeline(&mut tx, current.id, actor, at, &out.events).await?;
                    follow_incident(&mut tx, Some(&current), &out.incident, actor, at).await?;
                    let details = serde_json::json!({ "number": current.number, "changes": out.events });
                    audit_in_tx(&mut tx, actor, &change.audit_action(), &incident_target(current.id), details, at).await?;
                    let notice = ChangeNotice::Incident(current.id);
                    $store::notify_in_tx(&mut *tx, &notice).await.map_err(db_err)?;
                    commit(self, tx).await?;
                    self.notify_after_commit(notice);
                    Ok(out.incident)
                }

                async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>> {
                    let rows = sqlx::query(
                        "SELECT seq, incident_id, at, actor_id, actor_name, via, data FROM timeline_entries \
                         WHERE incident_id = $1 ORDER BY seq",
                    )
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(timeline_from_row).collect()
                }

                async fn count_incidents_by_status(&self) -> StoreResult<Vec<(IncidentStatus, i64)>> {
                    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM incidents GROUP BY status")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    let mut counts: Vec<(IncidentStatus, i64)> = IncidentStatus::ALL.iter().map(|s| (*s, 0)).collect();
                    for row in &rows {
                        let status: IncidentStatus = parse_word(row, "status")?;
                        let n: i64 = get(row, "n")?;
                        if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                            slot.1 = n;
                        }
                    }
                    Ok(counts)
                }

                async fn participants(&self, id: IncidentId) -> StoreResult<Vec<$crate::Participant>> {
                    let rows = sqlx::query(
                        "SELECT p.user_id, u.name, p.since FROM incident_participants p JOIN users u ON u.id = p.user_id \
                         WHERE p.incident_id = $1 ORDER BY p.since, u.name",
                    )
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|r| Ok($crate::Participant { user_id: UserId(get(r, "user_id")?), name: get(r, "name")?, since: get(r, "since")? }))
                        .collect()
                }

                async fn is_participant(&self, id: IncidentId, user: UserId) -> StoreResult<bool> {
                    let found: Option<i64> = sqlx::query_scalar(
                        "SELECT CAST(1 AS BIGINT) FROM incident_participants WHERE incident_id = $1 AND user_id = $2",
                    )
                    .bind(id.0)
                    .bind(user.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(found.is_some())
                }
            }

            /// Appends "the incident `table` (an alias of `incidents`) is visible to `viewer`":
            /// not restricted (by mark or type), or the viewer takes part in it.
            fn push_visible(qb: &mut sqlx::QueryBuilder<Db>, table: &str, viewer: &$crate::Viewer) {
                qb.push(format!("(NOT ({table}.restricted"));
                if !viewer.restricted_kinds.is_empty() {
                    qb.push(format!(" OR {table}.kind IN ("));
                    let mut sep = qb.separated(", ");
                    for k in &viewer.restricted_kinds {
                        sep.push_bind(k.as_str());
                    }
                    qb.push(")");
                }
                qb.push(format!(
                    ") OR EXISTS (SELECT 1 FROM incident_participants vp WHERE vp.incident_id = {table}.id AND vp.user_id = "
                ));
                qb.push_bind(viewer.user.0);
                qb.push("))");
            }

            #[async_trait::async_trait]
            impl UserStore for $store {
                async fn create_user(&self, new: NewUser, actor: &Actor) -> StoreResult<User> {
                    let at = firebreak_domain::time::now();
                    let user = User { id: UserId::new(), email: new.email, name: new.name, role: new.role, disabled: false, created_at: at };
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let res = sqlx::query(
                        "INSERT INTO users (id, email, name, role, password_hash, disabled, failed_logins, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
                    )
                    .bind(user.id.0)
                    .bind(user.email.as_str().to_owned())
                    .bind(user.name.clone())
                    .bind(user.role.as_str())
                    .bind(new.password_hash)
                    .bind(false)
                    .bind(at)
                    .execute(&mut *tx)
                    .await;
                    match res {
                        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                            return Err(StoreError::Conflict(format!("a user with email {} already exists", user.email)));
                        }
                        other => other.map_err(db_err)?,
                    };
                    let details = serde_json::json!({ "email": user.email.as_str(), "name": user.name, "role": user.role });
                    audit_in_tx(&mut tx, actor, "user.create", &format!("user:{}", user.id), details, at).await?;
                    commit(self, tx).await?;
                    Ok(user)
                }

                async fn get_user(&self, id: UserId) -> StoreResult<User> {
                    load_user(&self.pool, id).await
                }

                async fn list_users(&self) -> StoreResult<Vec<User>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users ORDER BY email")))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(user_from_row).collect()
                }

                async fn count_users(&self) -> StoreResult<i64> {
                    sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(db_err)
                }

                async fn update_user(&self, id: UserId, update: UserUpdate, actor: &Actor) -> StoreResult<User> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let mut user = load_user(&mut *tx, id).await?;
                    let before = user.clone();
                    if let Some(name) = update.name.clone() {
                        user.name = name;
                    }
                    if let Some(role) = update.role {
                        user.role = role;
                    }
                    if let Some(disabled) = update.disabled {
                        user.disabled = disabled;
                    }
                    if user == before {
                        // Nothing changes: nothing to write or audit.
                        return Ok(user);
                    }
                    sqlx::query("UPDATE users SET name = $1, role = $2, disabled = $3 WHERE id = $4")
                        .bind(user.name.clone())
                        .bind(user.role.as_str())
                        .bind(user.disabled)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if user.disabled {
                        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
                    }
                    let details = serde_json::json!({ "name": update.name, "role": update.role, "disabled": update.disabled });
                    audit_in_tx(&mut tx, actor, "user.update", &format!("user:{id}"), details, at).await?;
                    commit(self, tx).await?;
                    Ok(user)
                }

                async fn credentials(&self, email: &Email) -> StoreResult<Option<Credentials>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {USER_COLS}, password_hash, failed_logins, last_failed_login_at FROM users WHERE email = $1"
                    )))
                    .bind(email.as_str().to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    row.map(|row| {
                        Ok(Credentials {
                            user: user_from_row(&row)?,
                            password_hash: get(&row, "password_hash")?,
                            failed_logins: get(&row, "failed_logins")?,
                            last_failed_login_at: get(&row, "last_failed_login_at")?,
                        })
                    })
                    .transpose()
                }

                async fn record_login_failure(&self, id: UserId, at: Timestamp, actor: &Actor) -> StoreResult<()> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    sqlx::query("UPDATE users SET failed_logins = failed_logins + 1, last_failed_login_at = $1 WHERE id = $2")
                        .bind(at)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "user.login_failed", &format!("user:{id}"), serde_json::json!({}), at).await?;
                    commit(self, tx).await
                }

                async fn set_password(&self, id: UserId, password_hash: &str, actor: &Actor) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("UPDATE users SET password_hash = $1, failed_logins = 0 WHERE id = $2")
                        .bind(password_hash.to_owned())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("user"));
                    }
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "user.set_password", &format!("user:{id}"), serde_json::json!({}), at).await?;
                    commit(self, tx).await
                }

                async fn create_session(&self, token_hash: &str, user_id: UserId, expires_at: Timestamp, actor: &Actor) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    // Sweep expired sessions of this user while we are writing anyway.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2")
                        .bind(user_id.0)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                        .bind(token_hash.to_owned())
                        .bind(user_id.0)
                        .bind(at)
                        .bind(expires_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("UPDATE users SET failed_logins = 0, last_failed_login_at = NULL WHERE id = $1")
                        .bind(user_id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "user.login", &format!("user:{user_id}"), serde_json::json!({}), at).await?;
                    commit(self, tx).await
                }

                async fn session_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<User>> {
                    let row = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.role, u.disabled, u.created_at, s.expires_at \
                         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
                    )
                    .bind(token_hash.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let Some(row) = row else { return Ok(None) };
                    let expires_at: Timestamp = get(&row, "expires_at")?;
                    let user = user_from_row(&row)?;
                    Ok((expires_at > now && !user.disabled).then_some(user))
                }

                async fn delete_session(&self, token_hash: &str, actor: &Actor) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                        .bind(token_hash.to_owned())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n > 0 {
                        let target = actor.user_id.map(|u| format!("user:{u}")).unwrap_or_default();
                        audit_in_tx(&mut tx, actor, "user.logout", &target, serde_json::json!({}), at).await?;
                    }
                    commit(self, tx).await
                }

                async fn create_token(&self, user_id: UserId, name: &str, token_hash: &str, actor: &Actor) -> StoreResult<ApiToken> {
                    let at = firebreak_domain::time::now();
                    let token = ApiToken { id: TokenId::new(), user_id, name: name.to_owned(), created_at: at, last_used_at: None, revoked_at: None };
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    load_user(&mut *tx, user_id).await?;
                    sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(token.id.0)
                        .bind(user_id.0)
                        .bind(token.name.clone())
                        .bind(token_hash.to_owned())
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let details = serde_json::json!({ "user_id": user_id, "name": token.name });
                    audit_in_tx(&mut tx, actor, "token.create", &format!("token:{}", token.id), details, at).await?;
                    commit(self, tx).await?;
                    Ok(token)
                }

                async fn token_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<(User, TokenId)>> {
                    let row = sqlx::query(
                        "SELECT u.id, u.email, u.name, u.role, u.disabled, u.created_at, t.id AS token_id, t.last_used_at, t.revoked_at \
                         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
                    )
                    .bind(token_hash.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                    let Some(row) = row else { return Ok(None) };
                    let revoked: Option<Timestamp> = get(&row, "revoked_at")?;
                    let user = user_from_row(&row)?;
                    if revoked.is_some() || user.disabled {
                        return Ok(None);
                    }
                    let token_id = TokenId(get(&row, "token_id")?);
                    let last_used: Option<Timestamp> = get(&row, "last_used_at")?;
                    if last_used.is_none_or(|t| now - t > chrono::TimeDelta::seconds(60)) {
                        // Usage bookkeeping, not a change by the user: no audit entry.
                        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                            .bind(now)
                            .bind(token_id.0)
                            .execute(&self.pool)
                            .await
                            .map_err(db_err)?;
                    }
                    Ok(Some((user, token_id)))
                }

                async fn get_token(&self, id: TokenId) -> StoreResult<ApiToken> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1")))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("token"))?;
                    token_from_row(&row)
                }

                async fn list_tokens(&self, user_id: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
                    let rows = match user_id {
                        Some(u) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")))
                            .bind(u.0)
                            .fetch_all(&self.pool)
                            .await,
                        None => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC")))
                            .fetch_all(&self.pool)
                            .await,
                    }
                    .map_err(db_err)?;
                    rows.iter().map(token_from_row).collect()
                }

                async fn revoke_token(&self, id: TokenId, actor: &Actor) -> StoreResult<ApiToken> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(at)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n > 0 {
                        audit_in_tx(&mut tx, actor, "token.revoke", &format!("token:{id}"), serde_json::json!({}), at).await?;
                    }
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1")))
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("token"))?;
                    commit(self, tx).await?;
                    token_from_row(&row)
                }
            }

            #[async_trait::async_trait]
            impl AuditStore for $store {
                async fn append_audit(&self, actor: &Actor, action: &str, target: &str, details: serde_json::Value) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, action, target, details, at).await?;
                    commit(self, tx).await
                }

                async fn list_audit(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditEntry>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")))
                        .bind(after_seq)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(audit_from_row).collect()
                }

                async fn recent_audit(&self, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2")))
                        .bind(before_seq.unwrap_or(i64::MAX))
                        .bind(i64::from($crate::page_limit(limit)))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(audit_from_row).collect()
                }

                async fn verify_audit(&self) -> StoreResult<AuditVerification> {
                    // A write transaction holding the audit lock: nothing is appended while we walk.
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    $store::lock_audit(&mut *tx).await.map_err(db_err)?;
                    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .map(|row| Ok::<_, StoreError>((get::<i64>(&row, "seq")?, get::<String>(&row, "hash")?)))
                        .transpose()?;
                    let mut verifier = ChainVerifier::default();
                    let mut after = 0;
                    loop {
                        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000")))
                            .bind(after)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        if rows.is_empty() {
                            break;
                        }
                        for row in &rows {
                            let seq: i64 = get(row, "seq")?;
                            // A row changed into something unreadable is a break at that
                            // entry, not a failure to verify.
                            match audit_from_row(row) {
                                Ok(entry) => verifier.push(&entry),
                                Err(e) => verifier.push_unreadable(seq, &e.to_string()),
                            }
                            after = seq;
                        }
                    }
                    tx.rollback().await.map_err(db_err)?;
                    Ok(verifier.finish(head))
                }
            }

            const SERVICE_COLS: &str = "id, name, description, owner_team, runbook_url, tags, auto_resolve, grouping, created_at, updated_at, escalation_policy_id";
            const INTEGRATION_COLS: &str = "id, service_id, kind, name, created_at, key_rotated_at, config";
            const ALERT_COLS: &str = "id, service_id, integration_id, incident_id, dedup_key, status, summary, source, \
                severity, count, details, first_seen_at, last_seen_at, acknowledged_at, resolved_at";
            const OPEN_STATUSES: &str = "('triggered', 'acknowledged', 'contained')";

            fn service_from_row(row: &DbRow) -> StoreResult<Service> {
                Ok(Service {
                    id: ServiceId(get(row, "id")?),
                    name: get(row, "name")?,
                    description: get(row, "description")?,
                    owner_team: get(row, "owner_team")?,
                    runbook_url: get(row, "runbook_url")?,
                    tags: get::<Json<Vec<String>>>(row, "tags")?.0,
                    auto_resolve: get(row, "auto_resolve")?,
                    grouping: get::<Json<firebreak_domain::rules::Grouping>>(row, "grouping")?.0,
                    created_at: get(row, "created_at")?,
                    updated_at: get(row, "updated_at")?,
                    escalation_policy_id: get::<Option<uuid::Uuid>>(row, "escalation_policy_id")?.map(EscalationPolicyId),
                })
            }

            fn integration_from_row(row: &DbRow) -> StoreResult<Integration> {
                Ok(Integration {
                    id: IntegrationId(get(row, "id")?),
                    service_id: ServiceId(get(row, "service_id")?),
                    kind: parse_word(row, "kind")?,
                    name: get(row, "name")?,
                    created_at: get(row, "created_at")?,
                    key_rotated_at: get(row, "key_rotated_at")?,
                    config: get::<Json<serde_json::Value>>(row, "config")?.0,
                })
            }

            fn alert_from_row(row: &DbRow) -> StoreResult<Alert> {
                let key: String = get(row, "dedup_key")?;
                Ok(Alert {
                    id: AlertId(get(row, "id")?),
                    service_id: ServiceId(get(row, "service_id")?),
                    integration_id: IntegrationId(get(row, "integration_id")?),
                    incident_id: get::<Option<uuid::Uuid>>(row, "incident_id")?.map(IncidentId),
                    dedup_key: DedupKey::parse(&key).map_err(|e| corrupt("dedup_key", e))?,
                    status: parse_word(row, "status")?,
                    summary: get(row, "summary")?,
                    source: get(row, "source")?,
                    severity: parse_word(row, "severity")?,
                    count: get(row, "count")?,
                    details: get::<Json<serde_json::Value>>(row, "details")?.0,
                    first_seen_at: get(row, "first_seen_at")?,
                    last_seen_at: get(row, "last_seen_at")?,
                    acknowledged_at: get(row, "acknowledged_at")?,
                    resolved_at: get(row, "resolved_at")?,
                })
            }

            async fn load_service<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: ServiceId) -> StoreResult<Service> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SERVICE_COLS} FROM services WHERE id = $1")))
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("service"))?;
                service_from_row(&row)
            }

            async fn load_integration<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: IntegrationId) -> StoreResult<Integration> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE id = $1")))
                    .bind(id.0)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("integration"))?;
                integration_from_row(&row)
            }

            async fn write_service(tx: &mut Tx, s: &Service, insert: bool) -> StoreResult<()> {
                let sql = if insert {
                    "INSERT INTO services (id, name, description, owner_team, runbook_url, tags, auto_resolve, created_at, updated_at, grouping, escalation_policy_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                } else {
                    "UPDATE services SET name = $2, description = $3, owner_team = $4, runbook_url = $5, tags = $6, \
                     auto_resolve = $7, created_at = $8, updated_at = $9, grouping = $10, escalation_policy_id = $11 WHERE id = $1"
                };
                let res = sqlx::query(sql)
                    .bind(s.id.0)
                    .bind(s.name.clone())
                    .bind(s.description.clone())
                    .bind(s.owner_team.clone())
                    .bind(s.runbook_url.clone())
                    .bind(Json(s.tags.clone()))
                    .bind(s.auto_resolve)
                    .bind(s.created_at)
                    .bind(s.updated_at)
                    .bind(Json(s.grouping.clone()))
                    .bind(s.escalation_policy_id.map(|p| p.0))
                    .execute(&mut **tx)
                    .await;
                match res {
                    Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                        Err(StoreError::Conflict(format!("a service named {:?} already exists", s.name)))
                    }
                    other => other.map(|_| ()).map_err(db_err),
                }
            }

            /// Inserts new alerts and updates stored ones, in order, with multi-row upserts (a
            /// stored alert that resolves must come before a new alert with its key). With
            /// `same_keys` the rows exist and their status and incident are as stored, so only
            /// columns no index covers are updated (the indexes are left alone: most of a
            /// duplicate's cost otherwise).
            async fn write_alerts_as(tx: &mut Tx, alerts: &[&Alert], same_keys: bool) -> StoreResult<()> {
                let tail = if same_keys {
                    " ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, source = excluded.source, \
                     severity = excluded.severity, count = excluded.count, details = excluded.details, \
                     last_seen_at = excluded.last_seen_at, acknowledged_at = excluded.acknowledged_at, \
                     resolved_at = excluded.resolved_at"
                } else {
                    " ON CONFLICT (id) DO UPDATE SET incident_id = excluded.incident_id, status = excluded.status, \
                     summary = excluded.summary, source = excluded.source, severity = excluded.severity, count = excluded.count, \
                     details = excluded.details, last_seen_at = excluded.last_seen_at, \
                     acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at"
                };
                write_rows(
                    tx,
                    "INSERT INTO alerts (id, service_id, integration_id, incident_id, dedup_key, status, summary, source, \
                     severity, count, details, first_seen_at, last_seen_at, acknowledged_at, resolved_at)",
                    15,
                    tail,
                    alerts,
                    |q, a| {
                        q.bind(a.id.0)
                            .bind(a.service_id.0)
                            .bind(a.integration_id.0)
                            .bind(a.incident_id.map(|i| i.0))
                            .bind(a.dedup_key.as_str().to_owned())
                            .bind(a.status.as_str())
                            .bind(a.summary.clone())
                            .bind(a.source.clone())
                            .bind(a.severity.as_str())
                            .bind(a.count)
                            .bind(Json(a.details.clone()))
                            .bind(a.first_seen_at)
                            .bind(a.last_seen_at)
                            .bind(a.acknowledged_at)
                            .bind(a.resolved_at)
                    },
                )
                .await
            }

            async fn write_alerts(tx: &mut Tx, alerts: &[&Alert]) -> StoreResult<()> {
                write_alerts_as(tx, alerts, false).await
            }

            use $crate::cache::{KeyOwner, Triage};

            /// From a row of `OWNER_SELECT`.
            fn owner_from_row(row: &DbRow) -> StoreResult<KeyOwner> {
                Ok(KeyOwner::new(
                    integration_from_row(row)?,
                    get(row, "auto_resolve")?,
                    get::<Json<firebreak_domain::rules::Grouping>>(row, "grouping")?.0,
                ))
            }

            const OWNER_SELECT: &str = "SELECT i.id, i.service_id, i.kind, i.name, i.created_at, i.key_rotated_at, i.config, \
                s.auto_resolve, s.grouping FROM integrations i JOIN services s ON s.id = i.service_id";


            #[async_trait::async_trait]
            impl AlertStore for $store {
                async fn create_service(&self, f: ServiceFields, actor: &Actor) -> StoreResult<Service> {
                    let at = firebreak_domain::time::now();
                    let service = Service {
                        id: ServiceId::new(),
                        name: f.name.unwrap_or_default(),
                        description: f.description.unwrap_or_default(),
                        owner_team: f.owner_team.unwrap_or_default(),
                        runbook_url: f.runbook_url.unwrap_or_default(),
                        tags: f.tags.unwrap_or_default(),
                        auto_resolve: f.auto_resolve.unwrap_or(true),
                        grouping: f.grouping.unwrap_or_default(),
                        created_at: at,
                        updated_at: at,
                        escalation_policy_id: f.escalation_policy_id.flatten(),
                    };
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    write_service(&mut tx, &service, true).await?;
                    let details = serde_json::json!({ "name": service.name });
                    audit_in_tx(&mut tx, actor, "service.create", &format!("service:{}", service.id), details, at).await?;
                    commit(self, tx).await?;
                    Ok(service)
                }

                async fn update_service(&self, id: ServiceId, f: ServiceFields, actor: &Actor) -> StoreResult<Service> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let before = load_service(&mut *tx, id).await?;
                    let mut s = before.clone();
                    if let Some(v) = f.name { s.name = v; }
                    if let Some(v) = f.description { s.description = v; }
                    if let Some(v) = f.owner_team { s.owner_team = v; }
                    if let Some(v) = f.runbook_url { s.runbook_url = v; }
                    if let Some(v) = f.tags { s.tags = v; }
                    if let Some(v) = f.auto_resolve { s.auto_resolve = v; }
                    if let Some(v) = f.grouping { s.grouping = v; }
                    if let Some(v) = f.escalation_policy_id { s.escalation_policy_id = v; }
                    if s == before {
                        return Ok(s);
                    }
                    s.updated_at = at;
                    write_service(&mut tx, &s, false).await?;
                    let details = serde_json::json!({ "name": s.name, "auto_resolve": s.auto_resolve });
                    audit_in_tx(&mut tx, actor, "service.update", &format!("service:{id}"), details, at).await?;
                    commit_config(self, tx).await?;
                    Ok(s)
                }

                async fn get_service(&self, id: ServiceId) -> StoreResult<Service> {
                    load_service(&self.pool, id).await
                }

                async fn list_services(&self) -> StoreResult<Vec<Service>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SERVICE_COLS} FROM services ORDER BY name")))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(service_from_row).collect()
                }

                async fn create_integration(&self, service_id: ServiceId, kind: IntegrationKind, name: &str, key_hash: &str, actor: &Actor) -> StoreResult<Integration> {
                    let at = firebreak_domain::time::now();
                    let integration = Integration {
                        id: IntegrationId::new(),
                        service_id,
                        kind,
                        name: name.to_owned(),
                        created_at: at,
                        key_rotated_at: None,
                        config: serde_json::json!({}),
                    };
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    load_service(&mut *tx, service_id).await?;
                    sqlx::query("INSERT INTO integrations (id, service_id, kind, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(integration.id.0)
                        .bind(service_id.0)
                        .bind(kind.as_str())
                        .bind(integration.name.clone())
                        .bind(key_hash.to_owned())
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if kind == IntegrationKind::Heartbeat {
                        let (interval, grace) = $crate::HEARTBEAT_DEFAULTS;
                        sqlx::query("INSERT INTO heartbeats (integration_id, interval_secs, grace_secs, due_at, missed) VALUES ($1, $2, $3, $4, $5)")
                            .bind(integration.id.0)
                            .bind(interval)
                            .bind(grace)
                            .bind(at + chrono::TimeDelta::seconds(interval + grace))
                            .bind(false)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    let details = serde_json::json!({ "service_id": service_id, "type": kind, "name": integration.name });
                    audit_in_tx(&mut tx, actor, "integration.create", &format!("integration:{}", integration.id), details, at).await?;
                    commit_config(self, tx).await?;
                    Ok(integration)
                }

                async fn list_integrations(&self, service_id: ServiceId) -> StoreResult<Vec<Integration>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE service_id = $1 ORDER BY created_at")))
                        .bind(service_id.0)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    rows.iter().map(integration_from_row).collect()
                }

                async fn get_integration(&self, id: IntegrationId) -> StoreResult<Integration> {
                    load_integration(&self.pool, id).await
                }

                async fn rotate_integration_key(&self, id: IntegrationId, key_hash: &str, actor: &Actor) -> StoreResult<Integration> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("UPDATE integrations SET key_hash = $1, key_rotated_at = $2 WHERE id = $3")
                        .bind(key_hash.to_owned())
                        .bind(at)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("integration"));
                    }
                    audit_in_tx(&mut tx, actor, "integration.rotate_key", &format!("integration:{id}"), serde_json::json!({}), at).await?;
                    let integration = load_integration(&mut *tx, id).await?;
                    commit_config(self, tx).await?;
                    Ok(integration)
                }

                async fn ingest(&self, batch: &[IngestItem], mut committed: Option<tokio::sync::oneshot::Sender<()>>) -> StoreResult<Vec<IngestOutcome>> {
                    let mut attempt = 0;
                    loop {
                        match ingest_batch(self, batch, &mut committed).await {
                            // Another replica opened an alert with one of these keys at the same
                            // moment; the batch rolled back, and a retry sees that alert as live.
                            Err(StoreError::Conflict(_)) if attempt < 3 => attempt += 1,
                            other => return other,
                        }
                    }
                }

                async fn get_alert(&self, id: AlertId) -> StoreResult<Alert> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1")))
                        .bind(id.0)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("alert"))?;
                    alert_from_row(&row)
                }

                async fn act_on_alert(&self, id: AlertId, action: firebreak_domain::alert::AlertAction, actor: &Actor) -> StoreResult<Alert> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1{}", $for_update)))
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("alert"))?;
                    let mut alert = alert_from_row(&row)?;
                    if alert.status != AlertStatus::Open {
                        return Err(StoreError::Conflict(format!("the alert is {}; only open alerts can be acknowledged or resolved", alert.status)));
                    }
                    let event = firebreak_domain::alert::AlertEvent {
                        action,
                        dedup_key: Some(alert.dedup_key.clone()),
                        summary: alert.summary.clone(),
                        source: alert.source.clone(),
                        severity: alert.severity,
                        details: alert.details.clone(),
                        occurred_at: None,
                    };
                    let decision = decide(Some(&alert), &event);
                    let Some(change) = decision.change() else { return Ok(alert) };
                    alert.apply(&decision, &event, at);
                    write_alerts(&mut tx, &[&alert]).await?;
                    let auto = load_service(&mut *tx, alert.service_id).await?.auto_resolve;
                    if let Some(incident_id) = alert.incident_id {
                        let entry = alert.timeline_event(change, 1);
                        insert_timeline(&mut tx, incident_id, actor, at, &[entry]).await?;
                        if decision == AlertDecision::Resolve && auto {
                            auto_resolve(&mut tx, incident_id, actor, at).await?;
                        }
                        $store::notify_in_tx(&mut *tx, &ChangeNotice::Incident(incident_id)).await.map_err(db_err)?;
                    }
                    audit_in_tx(&mut tx, actor, &format!("alert.{action}"), &format!("alert:{id}"), serde_json::json!({ "dedup_key": alert.dedup_key.as_str() }), at).await?;
                    commit(self, tx).await?;
                    if let Some(incident_id) = alert.incident_id {
                        self.notify_after_commit(ChangeNotice::Incident(incident_id));
                    }
                    Ok(alert)
                }

                async fn record_change(
                    &self,
                    key_hash: &str,
                    kind: IntegrationKind,
                    summary: &str,
                    source: &str,
                    details: serde_json::Value,
                    occurred_at: Option<Timestamp>,
                ) -> StoreResult<Option<Change>> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE key_hash = $1")))
                        .bind(key_hash.to_owned())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let Some(integration) = row.as_ref().map(integration_from_row).transpose()? else { return Ok(None) };
                    if integration.kind != kind {
                        return Ok(None);
                    }
                    let change = Change {
                        id: uuid::Uuid::now_v7(),
                        service_id: integration.service_id,
                        integration_id: integration.id,
                        summary: summary.to_owned(),
                        source: source.to_owned(),
                        details,
                        occurred_at: occurred_at.unwrap_or(at),
                        received_at: at,
                    };
                    sqlx::query(
                        "INSERT INTO changes (id, service_id, integration_id, summary, source, details, occurred_at, received_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(change.id)
                    .bind(change.service_id.0)
                    .bind(change.integration_id.0)
                    .bind(change.summary.clone())
                    .bind(change.source.clone())
                    .bind(Json(change.details.clone()))
                    .bind(change.occurred_at)
                    .bind(change.received_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    commit(self, tx).await?;
                    Ok(Some(change))
                }

                async fn list_changes(
                    &self,
                    service_ids: &[ServiceId],
                    between: Option<(Timestamp, Timestamp)>,
                    limit: u32,
                ) -> StoreResult<Vec<Change>> {
                    let limit = i64::from($crate::page_limit(limit));
                    let mut qb = sqlx::QueryBuilder::<Db>::new(
                        "SELECT id, service_id, integration_id, summary, source, details, occurred_at, received_at FROM changes WHERE 1 = 1",
                    );
                    if !service_ids.is_empty() {
                        qb.push(" AND service_id IN (");
                        let mut sep = qb.separated(", ");
                        for s in service_ids {
                            sep.push_bind(s.0);
                        }
                        qb.push(")");
                    }
                    if let Some((from, to)) = between {
                        qb.push(" AND occurred_at >= ").push_bind(from).push(" AND occurred_at <= ").push_bind(to);
                    }
                    qb.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push_bind(limit);
                    let rows = qb.build().fetch_all(&self.pool).await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|row| {
                            Ok(Change {
                                id: get(row, "id")?,
                                service_id: ServiceId(get(row, "service_id")?),
                                integration_id: IntegrationId(get(row, "integration_id")?),
                                summary: get(row, "summary")?,
                                source: get(row, "source")?,
                                details: get::<Json<serde_json::Value>>(row, "details")?.0,
                                occurred_at: get(row, "occurred_at")?,
                                received_at: get(row, "received_at")?,
                            })
                        })
                        .collect()
                }

                async fn integration_by_key(&self, key_hash: &str) -> StoreResult<Option<Integration>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE key_hash = $1")))
                        .bind(key_hash.to_owned())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                    row.as_ref().map(integration_from_row).transpose()
                }

                async fn set_integration_config(&self, id: IntegrationId, config: serde_json::Value, actor: &Actor) -> StoreResult<Integration> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("UPDATE integrations SET config = $1 WHERE id = $2")
                        .bind(Json(config.clone()))
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("integration"));
                    }
                    audit_in_tx(&mut tx, actor, "integration.configure", &format!("integration:{id}"), serde_json::json!({ "config": config }), at).await?;
                    let integration = load_integration(&mut *tx, id).await?;
                    commit_config(self, tx).await?;
                    Ok(integration)
                }

                async fn create_check(&self, check: &firebreak_domain::rules::CheckDefinition, now: Timestamp, actor: &Actor) -> StoreResult<CheckStatus> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    load_service(&mut *tx, check.service_id).await?;
                    // The check reports through an integration of its own, whose key nobody holds.
                    let integration_id = IntegrationId::new();
                    sqlx::query("INSERT INTO integrations (id, service_id, kind, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(integration_id.0)
                        .bind(check.service_id.0)
                        .bind(IntegrationKind::Generic.as_str())
                        .bind(format!("check: {}", check.name))
                        .bind(format!("check-{}", uuid::Uuid::new_v4()))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("INSERT INTO checks (id, service_id, integration_id, definition, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(check.id)
                        .bind(check.service_id.0)
                        .bind(integration_id.0)
                        .bind(Json(check))
                        .bind(now)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "check.create", &format!("check:{}", check.id), serde_json::json!({ "check": check }), at).await?;
                    commit_config(self, tx).await?;
                    Ok(CheckStatus { definition: check.clone(), integration_id, consecutive_failures: 0, down: false, due_at: now, last_checked_at: None, last_error: None })
                }

                async fn list_checks(&self, service_id: Option<ServiceId>) -> StoreResult<Vec<CheckStatus>> {
                    let rows = match service_id {
                        Some(s) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE service_id = $1 ORDER BY created_at")))
                            .bind(s.0)
                            .fetch_all(&self.pool)
                            .await,
                        None => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks ORDER BY created_at"))).fetch_all(&self.pool).await,
                    }
                    .map_err(db_err)?;
                    rows.iter().map(check_from_row).collect()
                }

                async fn count_suppressed_by_window(&self) -> StoreResult<Vec<(uuid::Uuid, i64)>> {
                    // `->` and `->>` read JSON the same way on SQLite (3.38+) and PostgreSQL.
                    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
                        "SELECT details -> 'suppressed_by' ->> 'id', COUNT(*) FROM alerts WHERE status = 'suppressed' GROUP BY 1",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                    Ok(rows.into_iter().filter_map(|(id, n)| Some((id?.parse().ok()?, n))).collect())
                }

                async fn get_check(&self, id: uuid::Uuid) -> StoreResult<CheckStatus> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE id = $1")))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("check"))?;
                    check_from_row(&row)
                }

                async fn claim_due_checks(&self, now: Timestamp) -> StoreResult<Vec<CheckStatus>> {
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE due_at <= $1 ORDER BY due_at LIMIT 100")))
                        .bind(now)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let mut claimed = Vec::new();
                    for row in &rows {
                        let mut check = check_from_row(row)?;
                        let next = now + chrono::TimeDelta::seconds(check.definition.interval_secs);
                        // Only the replica whose update still sees the old due time runs it.
                        let n = sqlx::query("UPDATE checks SET due_at = $1 WHERE id = $2 AND due_at = $3")
                            .bind(next)
                            .bind(check.definition.id)
                            .bind(check.due_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                            .rows_affected();
                        if n == 1 {
                            check.due_at = next;
                            claimed.push(check);
                        }
                    }
                    commit(self, tx).await?;
                    Ok(claimed)
                }

                async fn record_check_result(&self, check_id: uuid::Uuid, result: &CheckResult) -> StoreResult<CheckStatus> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE id = $1{}", $for_update)))
                        .bind(check_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("check"))?;
                    let mut check = check_from_row(&row)?;
                    sqlx::query("INSERT INTO check_results (check_id, at, ok, latency_ms, detail) VALUES ($1, $2, $3, $4, $5)")
                        .bind(check_id)
                        .bind(result.at)
                        .bind(result.ok)
                        .bind(result.latency_ms)
                        .bind(result.detail.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let was_down = check.down;
                    if result.ok {
                        check.consecutive_failures = 0;
                        check.down = false;
                        check.last_error = None;
                    } else {
                        check.consecutive_failures += 1;
                        check.down = check.consecutive_failures >= check.definition.failure_threshold;
                        check.last_error = Some(result.detail.clone());
                    }
                    check.last_checked_at = Some(result.at);
                    sqlx::query("UPDATE checks SET consecutive_failures = $1, down = $2, last_checked_at = $3, last_error = $4 WHERE id = $5")
                        .bind(check.consecutive_failures)
                        .bind(check.down)
                        .bind(check.last_checked_at)
                        .bind(check.last_error.clone())
                        .bind(check_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let action = match (was_down, check.down) {
                        (false, true) => Some(firebreak_domain::alert::AlertAction::Trigger),
                        (true, false) => Some(firebreak_domain::alert::AlertAction::Resolve),
                        _ => None,
                    };
                    let target = match &check.definition.probe {
                        firebreak_domain::rules::Probe::Http { url, .. } => url.clone(),
                        firebreak_domain::rules::Probe::Tcp { address } => address.clone(),
                    };
                    let mut events = Vec::new();
                    if let Some(action) = action {
                        events.push(firebreak_domain::alert::AlertEvent {
                            action,
                            dedup_key: DedupKey::parse(&format!("check-{check_id}")).ok(),
                            summary: format!("Check \"{}\" failing: {}", check.definition.name, result.detail).chars().take(1024).collect(),
                            source: target.clone(),
                            severity: firebreak_domain::alert::AlertSeverity::Error,
                            details: serde_json::json!({ "check_id": check_id, "failures": check.consecutive_failures, "detail": result.detail }),
                            occurred_at: Some(result.at),
                        });
                    }
                    // A certificate close to expiry is its own alert (a warning), raised on every
                    // run while it lasts and resolved by the first run that sees a renewed one.
                    if let (firebreak_domain::rules::Probe::Http { cert_warn_days, .. }, Some(expires)) = (&check.definition.probe, result.cert_expires_at) {
                        if *cert_warn_days > 0 {
                            let left = expires - result.at;
                            let expiring = left < chrono::TimeDelta::days(i64::from(*cert_warn_days));
                            events.push(firebreak_domain::alert::AlertEvent {
                                action: if expiring { firebreak_domain::alert::AlertAction::Trigger } else { firebreak_domain::alert::AlertAction::Resolve },
                                dedup_key: DedupKey::parse(&format!("check-{check_id}-certificate")).ok(),
                                summary: format!(
                                    "Check \"{}\": the TLS certificate of {target} expires {} (in {} days)",
                                    check.definition.name,
                                    firebreak_domain::time::canonical(expires),
                                    left.num_days()
                                ).chars().take(1024).collect(),
                                source: target.clone(),
                                severity: firebreak_domain::alert::AlertSeverity::Warning,
                                details: serde_json::json!({ "check_id": check_id, "certificate_expires_at": expires, "warn_days": cert_warn_days }),
                                occurred_at: Some(result.at),
                            });
                        }
                    }
                    let mut touched = Vec::new();
                    if !events.is_empty() {
                        let integration = load_integration(&mut *tx, check.integration_id).await?;
                        let service = load_service(&mut *tx, integration.service_id).await?;
                        let owner = KeyOwner::new(integration, service.auto_resolve, service.grouping);
                        let triage = load_triage(&mut tx).await?;
                        let batch: Vec<_> = events.iter().map(|e| (&owner, e)).collect();
                        apply_events(&mut tx, &batch, at, &triage, &mut touched).await?;
                    }
                    commit_announcing(self, tx, touched, None).await?;
                    Ok(check)
                }

                async fn check_history(&self, check_id: uuid::Uuid, limit: u32) -> StoreResult<Vec<CheckResult>> {
                    let rows = sqlx::query("SELECT at, ok, latency_ms, detail FROM check_results WHERE check_id = $1 ORDER BY seq DESC LIMIT $2")
                        .bind(check_id)
                        .bind(i64::from($crate::page_limit(limit)))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                    if rows.is_empty() {
                        self.get_check(check_id).await?;
                    }
                    rows.iter()
                        .map(|r| Ok(CheckResult { at: get(r, "at")?, ok: get(r, "ok")?, latency_ms: get(r, "latency_ms")?, detail: get(r, "detail")?, cert_expires_at: None }))
                        .collect()
                }

                async fn create_rule(&self, rule: &firebreak_domain::rules::Rule, actor: &Actor) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    sqlx::query("INSERT INTO rules (id, service_id, position, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(rule.id)
                        .bind(rule.service_id.map(|s| s.0))
                        .bind(rule.position)
                        .bind(Json(rule))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "rule.create", &format!("rule:{}", rule.id), serde_json::json!({ "rule": rule }), at).await?;
                    commit_config(self, tx).await
                }

                async fn list_rules(&self) -> StoreResult<Vec<firebreak_domain::rules::Rule>> {
                    fetch_rules(&self.pool).await
                }

                async fn delete_rule(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                    delete_config(self, "DELETE FROM rules WHERE id = $1", id, "rule", "rule", actor).await
                }

                async fn create_window(&self, window: &firebreak_domain::rules::MaintenanceWindow, actor: &Actor) -> StoreResult<()> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    sqlx::query("INSERT INTO maintenance_windows (id, service_id, definition, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(window.id)
                        .bind(window.service_id.map(|s| s.0))
                        .bind(Json(window))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    audit_in_tx(&mut tx, actor, "maintenance_window.create", &format!("maintenance_window:{}", window.id), serde_json::json!({ "window": window }), at).await?;
                    commit_config(self, tx).await
                }

                async fn list_windows(&self) -> StoreResult<Vec<firebreak_domain::rules::MaintenanceWindow>> {
                    fetch_windows(&self.pool).await
                }

                async fn delete_window(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                    delete_config(self, "DELETE FROM maintenance_windows WHERE id = $1", id, "maintenance window", "maintenance_window", actor).await
                }

                async fn get_heartbeat(&self, integration_id: IntegrationId) -> StoreResult<Heartbeat> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HEARTBEAT_COLS} FROM heartbeats WHERE integration_id = $1")))
                        .bind(integration_id.0)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound("heartbeat"))?;
                    heartbeat_from_row(&row)
                }

                async fn configure_heartbeat(&self, integration_id: IntegrationId, interval_secs: i64, grace_secs: i64, now: Timestamp, actor: &Actor) -> StoreResult<Heartbeat> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let n = sqlx::query("UPDATE heartbeats SET interval_secs = $1, grace_secs = $2, due_at = $3 WHERE integration_id = $4")
                        .bind(interval_secs)
                        .bind(grace_secs)
                        .bind(now + chrono::TimeDelta::seconds(interval_secs + grace_secs))
                        .bind(integration_id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .rows_affected();
                    if n == 0 {
                        return Err(StoreError::NotFound("heartbeat"));
                    }
                    let details = serde_json::json!({ "interval_secs": interval_secs, "grace_secs": grace_secs });
                    audit_in_tx(&mut tx, actor, "heartbeat.configure", &format!("integration:{integration_id}"), details, at).await?;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HEARTBEAT_COLS} FROM heartbeats WHERE integration_id = $1")))
                        .bind(integration_id.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    commit(self, tx).await?;
                    heartbeat_from_row(&row)
                }

                async fn beat(&self, key_hash: &str, now: Timestamp) -> StoreResult<Option<Heartbeat>> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let Some(owner) = key_owner(&mut tx, key_hash).await? else { return Ok(None) };
                    if owner.integration.kind != IntegrationKind::Heartbeat {
                        return Ok(None);
                    }
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HEARTBEAT_COLS} FROM heartbeats WHERE integration_id = $1{}", $for_update)))
                        .bind(owner.integration.id.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let mut hb = heartbeat_from_row(&row)?;
                    let was_missed = hb.missed;
                    hb.last_beat_at = Some(now);
                    hb.due_at = now + chrono::TimeDelta::seconds(hb.interval_secs + hb.grace_secs);
                    hb.missed = false;
                    sqlx::query("UPDATE heartbeats SET last_beat_at = $1, due_at = $2, missed = $3 WHERE integration_id = $4")
                        .bind(hb.last_beat_at)
                        .bind(hb.due_at)
                        .bind(false)
                        .bind(hb.integration_id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let mut touched = Vec::new();
                    if was_missed {
                        let event = missed_heartbeat_event(&owner.integration, &hb, firebreak_domain::alert::AlertAction::Resolve);
                        let triage = load_triage(&mut tx).await?;
                        apply_events(&mut tx, &[(&owner, &event)], at, &triage, &mut touched).await?;
                    }
                    commit_announcing(self, tx, touched, None).await?;
                    Ok(Some(hb))
                }

                async fn fire_missed_heartbeats(&self, now: Timestamp) -> StoreResult<usize> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    // Claiming by flipping `missed` makes each miss fire once, on one replica.
                    let claimed: Vec<uuid::Uuid> = sqlx::query_scalar(
                        "UPDATE heartbeats SET missed = $1 WHERE missed = $2 AND due_at <= $3 RETURNING integration_id",
                    )
                    .bind(true)
                    .bind(false)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let mut touched = Vec::new();
                    for id in &claimed {
                        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{OWNER_SELECT} WHERE i.id = $1")))
                            .bind(*id)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        let owner = owner_from_row(&row)?;
                        let hb_row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HEARTBEAT_COLS} FROM heartbeats WHERE integration_id = $1")))
                            .bind(*id)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        let hb = heartbeat_from_row(&hb_row)?;
                        let event = missed_heartbeat_event(&owner.integration, &hb, firebreak_domain::alert::AlertAction::Trigger);
                        let triage = load_triage(&mut tx).await?;
                        apply_events(&mut tx, &[(&owner, &event)], at, &triage, &mut touched).await?;
                    }
                    commit_announcing(self, tx, touched, None).await?;
                    Ok(claimed.len())
                }

                async fn list_alerts(&self, filter: &AlertFilter) -> StoreResult<Page<Alert, AlertId>> {
                    let limit = $crate::page_limit(filter.limit);
                    let mut qb = sqlx::QueryBuilder::<Db>::new(format!("SELECT {ALERT_COLS} FROM alerts WHERE 1 = 1"));
                    if !filter.statuses.is_empty() {
                        qb.push(" AND status IN (");
                        let mut sep = qb.separated(", ");
                        for s in &filter.statuses {
                            sep.push_bind(s.as_str());
                        }
                        qb.push(")");
                    }
                    if let Some(s) = filter.service_id {
                        qb.push(" AND service_id = ").push_bind(s.0);
                    }
                    if let Some(i) = filter.incident_id {
                        qb.push(" AND incident_id = ").push_bind(i.0);
                    }
                    if let Some(b) = filter.before {
                        qb.push(" AND id < ").push_bind(b.0);
                    }
                    if let Some(viewer) = &filter.viewer {
                        qb.push(" AND (incident_id IS NULL OR EXISTS (SELECT 1 FROM incidents vi WHERE vi.id = alerts.incident_id AND ");
                        push_visible(&mut qb, "vi", viewer);
                        qb.push("))");
                    }
                    qb.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit) + 1);
                    let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
                    let mut items = rows.iter().map(alert_from_row).collect::<StoreResult<Vec<_>>>()?;
                    let next_before = if items.len() > limit as usize {
                        items.truncate(limit as usize);
                        items.last().map(|a| a.id)
                    } else {
                        None
                    };
                    Ok(Page { items, next_before })
                }
            }

            /// A table of named JSON definitions (schedules, escalation policies): its name, the
            /// word for one row in messages, and the audit prefix of its changes.
            struct NamedTable {
                table: &'static str,
                what: &'static str,
                audit: &'static str,
            }

            const SCHEDULES: NamedTable = NamedTable { table: "schedules", what: "schedule", audit: "schedule" };
            const POLICIES: NamedTable =
                NamedTable { table: "escalation_policies", what: "escalation policy", audit: "escalation_policy" };
            const NAMED_COLS: &str = "id, name, description, definition, created_at, updated_at";

            fn named_from_row<I: From<uuid::Uuid>, D: serde::de::DeserializeOwned>(row: &DbRow) -> StoreResult<$crate::Named<I, D>> {
                Ok($crate::Named {
                    id: I::from(get(row, "id")?),
                    name: get(row, "name")?,
                    description: get(row, "description")?,
                    definition: get::<Json<D>>(row, "definition")?.0,
                    created_at: get(row, "created_at")?,
                    updated_at: get(row, "updated_at")?,
                })
            }

            async fn load_named<'c, E, I, D>(conn: E, t: &NamedTable, id: uuid::Uuid, lock: bool) -> StoreResult<$crate::Named<I, D>>
            where
                E: sqlx::Executor<'c, Database = Db>,
                I: From<uuid::Uuid>,
                D: serde::de::DeserializeOwned,
            {
                let sql = format!("SELECT {NAMED_COLS} FROM {} WHERE id = $1{}", t.table, if lock { $for_update } else { "" });
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(conn)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound(t.what))?;
                named_from_row(&row)
            }

            async fn list_named<I: From<uuid::Uuid>, D: serde::de::DeserializeOwned>(store: &$store, t: &NamedTable) -> StoreResult<Vec<$crate::Named<I, D>>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {NAMED_COLS} FROM {} ORDER BY name", t.table)))
                    .fetch_all(&store.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(named_from_row).collect()
            }

            /// Checks a name and description before they are written.
            fn check_named(name: &str, description: &str) -> StoreResult<()> {
                if name.trim().is_empty() || name.chars().count() > 100 {
                    return Err(DomainError::invalid("name", "must be 1 to 100 characters").into());
                }
                if description.chars().count() > 2000 {
                    return Err(DomainError::invalid("description", "must be at most 2000 characters").into());
                }
                Ok(())
            }

            async fn write_named<I: Copy + Into<uuid::Uuid>, D: serde::Serialize>(tx: &mut Tx, t: &NamedTable, n: &$crate::Named<I, D>, insert: bool) -> StoreResult<()> {
                let sql = if insert {
                    format!("INSERT INTO {} (id, name, description, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)", t.table)
                } else {
                    format!("UPDATE {} SET name = $2, description = $3, definition = $4, created_at = $5, updated_at = $6 WHERE id = $1", t.table)
                };
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(Into::<uuid::Uuid>::into(n.id))
                    .bind(n.name.clone())
                    .bind(n.description.clone())
                    .bind(Json(&n.definition))
                    .bind(n.created_at)
                    .bind(n.updated_at)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::Conflict(format!("a {} named {:?} already exists", t.what, n.name)),
                        other => other,
                    })?;
                Ok(())
            }

            /// Creates (`id` is `None`) or replaces a named definition, audited as
            /// `{audit}.create` / `{audit}.update`.
            async fn save_named<I, D>(store: &$store, t: &NamedTable, id: Option<I>, name: &str, description: &str, definition: &D, actor: &Actor) -> StoreResult<$crate::Named<I, D>>
            where
                I: Copy + Into<uuid::Uuid> + From<uuid::Uuid> + Default + std::fmt::Display,
                D: serde::Serialize + serde::de::DeserializeOwned + Clone,
            {
                check_named(name, description)?;
                let at = firebreak_domain::time::now();
                let mut tx = store.begin_write().await.map_err(db_err)?;
                let (named, verb) = match id {
                    None => ($crate::Named { id: I::default(), name: String::new(), description: String::new(), definition: definition.clone(), created_at: at, updated_at: at }, "create"),
                    Some(id) => (load_named(&mut *tx, t, id.into(), true).await?, "update"),
                };
                let named = $crate::Named { name: name.trim().to_owned(), description: description.trim().to_owned(), definition: definition.clone(), updated_at: at, ..named };
                write_named(&mut tx, t, &named, verb == "create").await?;
                let details = serde_json::json!({ "name": named.name, "definition": named.definition });
                audit_in_tx(&mut tx, actor, &format!("{}.{verb}", t.audit), &format!("{}:{}", t.audit, named.id), details, at).await?;
                commit(store, tx).await?;
                Ok(named)
            }

            async fn delete_named(store: &$store, t: &NamedTable, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                let at = firebreak_domain::time::now();
                let mut tx = store.begin_write().await.map_err(db_err)?;
                let n = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {} WHERE id = $1", t.table)))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Domain(_) => StoreError::Conflict(format!("the {} is still in use; point its users elsewhere first", t.what)),
                        other => other,
                    })?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(t.what));
                }
                audit_in_tx(&mut tx, actor, &format!("{}.delete", t.audit), &format!("{}:{id}", t.audit), serde_json::json!({}), at).await?;
                commit(store, tx).await
            }

            #[async_trait::async_trait]
            impl ScheduleStore for $store {
                async fn create_schedule(&self, name: &str, description: &str, definition: &ScheduleDefinition, actor: &Actor) -> StoreResult<Schedule> {
                    OnCallSchedule::parse(definition.clone())?;
                    save_named(self, &SCHEDULES, None, name, description, definition, actor).await
                }

                async fn update_schedule(&self, id: ScheduleId, name: &str, description: &str, definition: &ScheduleDefinition, actor: &Actor) -> StoreResult<Schedule> {
                    OnCallSchedule::parse(definition.clone())?;
                    save_named(self, &SCHEDULES, Some(id), name, description, definition, actor).await
                }

                async fn get_schedule(&self, id: ScheduleId) -> StoreResult<Schedule> {
                    load_named(&self.pool, &SCHEDULES, id.0, false).await
                }

                async fn list_schedules(&self) -> StoreResult<Vec<Schedule>> {
                    list_named(self, &SCHEDULES).await
                }

                async fn delete_schedule(&self, id: ScheduleId, actor: &Actor) -> StoreResult<()> {
                    delete_named(self, &SCHEDULES, id.0, actor).await
                }

                async fn add_schedule_override(&self, id: ScheduleId, item: &Override, now: Timestamp, actor: &Actor) -> StoreResult<Schedule> {
                    let at = firebreak_domain::time::now();
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let mut schedule: Schedule = load_named(&mut *tx, &SCHEDULES, id.0, true).await?;
                    let horizon = now - chrono::Duration::days($crate::OVERRIDE_RETENTION_DAYS);
                    schedule.definition.overrides.retain(|o| o.end >= horizon);
                    schedule.definition.overrides.push(item.clone());
                    OnCallSchedule::parse(schedule.definition.clone())?;
                    schedule.updated_at = at;
                    write_named(&mut tx, &SCHEDULES, &schedule, false).await?;
                    let details = serde_json::json!({ "override": item });
                    audit_in_tx(&mut tx, actor, "schedule.override", &format!("schedule:{id}"), details, at).await?;
                    commit(self, tx).await?;
                    Ok(schedule)
                }
            }

            #[async_trait::async_trait]
            impl EscalationPolicyStore for $store {
                async fn create_policy(&self, name: &str, description: &str, definition: &EscalationPolicyDefinition, actor: &Actor) -> StoreResult<$crate::EscalationPolicyRecord> {
                    EscalationPolicy::parse(definition.clone())?;
                    save_named(self, &POLICIES, None, name, description, definition, actor).await
                }

                async fn update_policy(&self, id: EscalationPolicyId, name: &str, description: &str, definition: &EscalationPolicyDefinition, actor: &Actor) -> StoreResult<$crate::EscalationPolicyRecord> {
                    EscalationPolicy::parse(definition.clone())?;
                    save_named(self, &POLICIES, Some(id), name, description, definition, actor).await
                }

                async fn get_policy(&self, id: EscalationPolicyId) -> StoreResult<$crate::EscalationPolicyRecord> {
                    load_named(&self.pool, &POLICIES, id.0, false).await
                }

                async fn list_policies(&self) -> StoreResult<Vec<$crate::EscalationPolicyRecord>> {
                    list_named(self, &POLICIES).await
                }

                async fn delete_policy(&self, id: EscalationPolicyId, actor: &Actor) -> StoreResult<()> {
                    delete_named(self, &POLICIES, id.0, actor).await
                }
            }

            /// One transaction applying `batch`: the integrations of its keys, then its events.
            async fn ingest_batch(
                store: &$store,
                batch: &[IngestItem],
                committed: &mut Option<tokio::sync::oneshot::Sender<()>>,
            ) -> StoreResult<Vec<IngestOutcome>> {
                let at = firebreak_domain::time::now();
                let mut tx = store.begin_write().await.map_err(db_err)?;
                let cache = &store.ingest_cache;
                let generation = cache.generation();
                let triage = match cache.triage() {
                    Some(triage) => triage,
                    None => {
                        let triage = std::sync::Arc::new(load_triage(&mut tx).await?);
                        cache.put_triage(generation, triage.clone());
                        triage
                    }
                };
                let mut owners: std::collections::HashMap<&str, Option<std::sync::Arc<KeyOwner>>> = std::collections::HashMap::new();
                for item in batch {
                    if !owners.contains_key(item.key_hash.as_str()) {
                        let owner = match cache.owner(&item.key_hash) {
                            Some(owner) => owner,
                            None => {
                                let owner = key_owner(&mut tx, &item.key_hash).await?.map(std::sync::Arc::new);
                                cache.put_owner(generation, &item.key_hash, owner.clone());
                                owner
                            }
                        };
                        owners.insert(item.key_hash.as_str(), owner);
                    }
                }
                let mut events = Vec::with_capacity(batch.len());
                let positions: Vec<Option<usize>> = batch
                    .iter()
                    .map(|item| match owners.get(item.key_hash.as_str()) {
                        Some(Some(owner)) if owner.integration.kind == item.kind => {
                            events.push((&**owner, &item.event));
                            Some(events.len() - 1)
                        }
                        _ => None,
                    })
                    .collect();
                let mut touched = Vec::new();
                let applied = apply_events(&mut tx, &events, at, &triage, &mut touched).await?;
                commit_announcing(store, tx, touched, committed.take()).await?;
                Ok(positions.into_iter().map(|p| p.map_or(IngestOutcome::UnknownKey, |i| applied[i].clone())).collect())
            }

            /// An alert the batch read or opened, and whether the database holds it as it is.
            struct Slot {
                alert: Alert,
                /// The status and incident the database holds for it (`None`: not written yet).
                stored: Option<(AlertStatus, Option<IncidentId>)>,
                dirty: bool,
            }

            impl Slot {
                /// Whether the row exists with the status and incident it has now.
                fn same_keys(&self) -> bool {
                    self.stored == Some((self.alert.status, self.alert.incident_id))
                }
            }

            /// What a batch of events changed and has not written yet.
            #[derive(Default)]
            struct Work {
                slots: Vec<Slot>,
                /// The live (open or suppressed) alert of each key.
                live: std::collections::HashMap<(IntegrationId, DedupKey), usize>,
                entries: Vec<(IncidentId, Actor, TimelineEvent)>,
                /// Each alert's latest unwritten timeline entry, so that duplicates fold into one.
                last_entry: std::collections::HashMap<AlertId, usize>,
                /// The open incident new alerts of a service (and group) join, once looked up.
                incidents: std::collections::HashMap<(ServiceId, Option<String>), Option<IncidentId>>,
                touched: Vec<IncidentId>,
            }

            impl Work {
                /// Records what happened to the alert in `slot` on its incident's timeline. The
                /// duplicates of one alert in one batch become one entry carrying the final count.
                fn note(&mut self, slot: usize, change: Option<firebreak_domain::alert::AlertChange>, actor: &Actor) {
                    let alert = &self.slots[slot].alert;
                    let (Some(change), Some(incident)) = (change, alert.incident_id) else { return };
                    use firebreak_domain::alert::AlertChange::Repeated;
                    let folded = self.last_entry.get(&alert.id).and_then(|&i| match self.entries[i].2 {
                        TimelineEvent::Alert { change: Repeated, events, .. } if change == Repeated => Some((i, events)),
                        _ => None,
                    });
                    let event = alert.timeline_event(change, folded.map_or(1, |(_, n)| n + 1));
                    if let Some((i, _)) = folded {
                        self.entries[i].2 = event;
                        return;
                    }
                    self.last_entry.insert(alert.id, self.entries.len());
                    self.entries.push((incident, actor.clone(), event));
                    if !self.touched.contains(&incident) {
                        self.touched.push(incident);
                    }
                }

                fn push_new(&mut self, alert: Alert) -> usize {
                    self.live.insert((alert.integration_id, alert.dedup_key.clone()), self.slots.len());
                    self.slots.push(Slot { alert, stored: None, dirty: true });
                    self.slots.len() - 1
                }

                /// Writes the changed alerts (stored ones first, so that a resolved alert leaves
                /// its key free for a new one) and the timeline entries.
                async fn flush(&mut self, tx: &mut Tx, at: Timestamp) -> StoreResult<()> {
                    let dirty = || self.slots.iter().filter(|s| s.dirty);
                    let same: Vec<&Alert> = dirty().filter(|s| s.same_keys()).map(|s| &s.alert).collect();
                    write_alerts_as(tx, &same, true).await?;
                    let rows: Vec<&Alert> = (dirty().filter(|s| s.stored.is_some() && !s.same_keys()))
                        .chain(dirty().filter(|s| s.stored.is_none()))
                        .map(|s| &s.alert)
                        .collect();
                    write_alerts(tx, &rows).await?;
                    for s in &mut self.slots {
                        s.stored = Some((s.alert.status, s.alert.incident_id));
                        s.dirty = false;
                    }
                    let entries: Vec<(IncidentId, &Actor, &TimelineEvent)> = self.entries.iter().map(|(i, a, e)| (*i, a, e)).collect();
                    insert_timeline_rows(tx, at, &entries).await?;
                    self.entries.clear();
                    self.last_entry.clear();
                    Ok(())
                }
            }

            /// Dedup lookups ask for this many keys at most; fewer are padded up to a power of two
            /// (repeating the last key), so a handful of cached statements serve every batch.
            const KEYS_PER_LOOKUP: usize = 256;

            /// Loads the live alerts of `keys` for `integration` into `work`.
            async fn load_live(tx: &mut Tx, integration: IntegrationId, keys: &[&str], work: &mut Work) -> StoreResult<()> {
                for chunk in keys.chunks(KEYS_PER_LOOKUP) {
                    let size = chunk.len().next_power_of_two();
                    let mut sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE status <> 'resolved' AND integration_id = ");
                    push_placeholders(&mut sql, 1, 1);
                    sql.push_str(" AND dedup_key IN (");
                    push_placeholders(&mut sql, 2, size);
                    sql.push(')');
                    sql.push_str($for_update);
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(integration.0);
                    for i in 0..size {
                        q = q.bind(chunk[i.min(chunk.len() - 1)].to_owned());
                    }
                    for row in q.fetch_all(&mut **tx).await.map_err(db_err)? {
                        let alert = alert_from_row(&row)?;
                        work.live.insert((alert.integration_id, alert.dedup_key.clone()), work.slots.len());
                        let stored = Some((alert.status, alert.incident_id));
                        work.slots.push(Slot { alert, stored, dirty: false });
                    }
                }
                Ok(())
            }

            /// Applies `events` (each with the integration it came in for) inside `tx`, with
            /// the outcome of applying them one by one in order, but set-based: one dedup lookup
            /// per integration for the whole batch, duplicates folded in memory, and alerts and
            /// timeline entries written by multi-row statements.
            async fn apply_events(
                tx: &mut Tx,
                events: &[(&KeyOwner, &firebreak_domain::alert::AlertEvent)],
                at: Timestamp,
                triage: &Triage,
                touched: &mut Vec<IncidentId>,
            ) -> StoreResult<Vec<IngestOutcome>> {
                let mut work = Work::default();
                let mut wanted: std::collections::HashMap<IntegrationId, Vec<&str>> = std::collections::HashMap::new();
                let mut seen = std::collections::HashSet::new();
                for (owner, event) in events {
                    if let Some(key) = &event.dedup_key {
                        if seen.insert((owner.integration.id, key.as_str())) {
                            wanted.entry(owner.integration.id).or_default().push(key.as_str());
                        }
                    }
                }
                for (integration, keys) in &wanted {
                    load_live(tx, *integration, keys, &mut work).await?;
                }
                let mut outcomes = Vec::with_capacity(events.len());
                for (owner, event) in events {
                    let key = event.dedup_key.clone().unwrap_or_else(DedupKey::generate);
                    let slot = work.live.get(&(owner.integration.id, key.clone())).copied();
                    let decision = decide(slot.map(|i| &work.slots[i].alert), event);
                    let alert_id = match (decision, slot) {
                        (AlertDecision::Open, _) => open_alert(tx, &mut work, owner, event, key.clone(), at, triage).await?,
                        (AlertDecision::Nothing, _) | (_, None) => None,
                        (decision, Some(i)) => {
                            work.slots[i].alert.apply(&decision, event, at);
                            work.slots[i].dirty = true;
                            work.note(i, decision.change(), &owner.actor);
                            let alert = &work.slots[i].alert;
                            let (alert_id, incident_id) = (alert.id, alert.incident_id);
                            if alert.status == AlertStatus::Resolved {
                                work.live.remove(&(owner.integration.id, key.clone()));
                                if let (Some(incident_id), true) = (incident_id, owner.auto_resolve) {
                                    // The check reads the alerts as written so far.
                                    work.flush(tx, at).await?;
                                    auto_resolve(tx, incident_id, &owner.actor, at).await?;
                                    work.incidents.retain(|_, open| *open != Some(incident_id));
                                }
                            }
                            Some(alert_id)
                        }
                    };
                    outcomes.push(IngestOutcome::Accepted { dedup_key: key, alert_id });
                }
                work.flush(tx, at).await?;
                for id in work.touched {
                    if !touched.contains(&id) {
                        touched.push(id);
                    }
                }
                Ok(outcomes)
            }

            /// A trigger with no live alert: suppressed by a maintenance window, dropped by a
            /// rule, or a new alert joining the service's open incident (or group) or opening one.
            async fn open_alert(
                tx: &mut Tx,
                work: &mut Work,
                owner: &KeyOwner,
                event: &firebreak_domain::alert::AlertEvent,
                key: DedupKey,
                at: Timestamp,
                triage: &Triage,
            ) -> StoreResult<Option<AlertId>> {
                let integration = &owner.integration;
                let mut alert = Alert::open(integration.service_id, integration.id, key, event, at);
                if let Some(window) = triage.windows.iter().find(|w| w.suppresses(integration.service_id, event, at)) {
                    alert.status = AlertStatus::Suppressed;
                    note_in_details(&mut alert.details, "suppressed_by", Some(serde_json::json!({ "id": window.id, "name": window.name })));
                    let id = alert.id;
                    work.push_new(alert);
                    return Ok(Some(id));
                }
                let rule = firebreak_domain::rules::first_match(&triage.rules, integration.service_id, event);
                if rule.is_some_and(|r| r.actions.drop) {
                    return Ok(None);
                }
                note_in_details(&mut alert.details, "matched_rule", rule.map(|r| serde_json::json!({ "id": r.id, "name": r.name })));
                let group_key = owner.grouping.group_key(event);
                let lookup = (integration.service_id, group_key.clone());
                let existing = match work.incidents.get(&lookup) {
                    Some(cached) => *cached,
                    None => {
                        let found = match (&group_key, owner.grouping.window()) {
                            (Some(group), Some(window)) => sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(format!(
                                "SELECT id FROM incidents WHERE service_id = $1 AND status IN {OPEN_STATUSES} AND group_key = $2 \
                                 AND detected_at >= $3 ORDER BY number DESC LIMIT 1"
                            )))
                            .bind(integration.service_id.0)
                            .bind(group.clone())
                            .bind(at - window)
                            .fetch_optional(&mut **tx)
                            .await,
                            _ => sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(format!(
                                "SELECT id FROM incidents WHERE service_id = $1 AND status IN {OPEN_STATUSES} ORDER BY number DESC LIMIT 1"
                            )))
                            .bind(integration.service_id.0)
                            .fetch_optional(&mut **tx)
                            .await,
                        }
                        .map_err(db_err)?
                        .map(IncidentId);
                        work.incidents.insert(lookup.clone(), found);
                        found
                    }
                };
                let incident_id = match existing {
                    Some(id) => id,
                    None => {
                        let number: i64 = sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value")
                            .fetch_one(&mut **tx)
                            .await
                            .map_err(db_err)?;
                        let actions = rule.map(|r| r.actions.clone()).unwrap_or_default();
                        let mut new = firebreak_domain::NewIncident::parse(
                            &alert.incident_title(),
                            None,
                            actions.severity.unwrap_or_else(|| event.severity.incident_severity()),
                            actions.kind.unwrap_or(firebreak_domain::IncidentType::Other),
                            &[],
                            &actions.tags,
                        )?;
                        new.service_id = Some(integration.service_id);
                        new.group_key = group_key;
                        let out = Incident::declare(IncidentId::new(), number, new, None, at);
                        write_incident(tx, &out.incident, true).await?;
                        insert_timeline(tx, out.incident.id, &owner.actor, at, &out.events).await?;
                        follow_incident(tx, None, &out.incident, &owner.actor, at).await?;
                        let details = serde_json::json!({
                            "number": number, "title": out.incident.title,
                            "severity": out.incident.severity, "alert_id": alert.id,
                        });
                        audit_in_tx(tx, &owner.actor, "incident.create", &incident_target(out.incident.id), details, at).await?;
                        work.incidents.insert(lookup, Some(out.incident.id));
                        out.incident.id
                    }
                };
                alert.incident_id = Some(incident_id);
                let id = alert.id;
                let slot = work.push_new(alert);
                work.note(slot, Some(firebreak_domain::alert::AlertChange::Opened), &owner.actor);
                Ok(Some(id))
            }

            const HEARTBEAT_COLS: &str = "integration_id, interval_secs, grace_secs, last_beat_at, due_at, missed";

            fn heartbeat_from_row(row: &DbRow) -> StoreResult<Heartbeat> {
                Ok(Heartbeat {
                    integration_id: IntegrationId(get(row, "integration_id")?),
                    interval_secs: get(row, "interval_secs")?,
                    grace_secs: get(row, "grace_secs")?,
                    last_beat_at: get(row, "last_beat_at")?,
                    due_at: get(row, "due_at")?,
                    missed: get(row, "missed")?,
                })
            }

            /// The alert event a missed (or recovered) heartbeat sends.
            fn missed_heartbeat_event(
                integration: &Integration,
                hb: &Heartbeat,
                action: firebreak_domain::alert::AlertAction,
            ) -> firebreak_domain::alert::AlertEvent {
                let last = hb.last_beat_at.map(firebreak_domain::time::canonical).unwrap_or_else(|| "never".into());
                firebreak_domain::alert::AlertEvent {
                    action,
                    dedup_key: DedupKey::parse("heartbeat-missed").ok(),
                    summary: format!("Heartbeat \"{}\" missed: last beat {last}, expected every {} s", integration.name, hb.interval_secs),
                    source: "firebreak heartbeat".into(),
                    severity: firebreak_domain::alert::AlertSeverity::Error,
                    details: serde_json::json!({ "interval_secs": hb.interval_secs, "grace_secs": hb.grace_secs, "last_beat_at": hb.last_beat_at }),
                    occurred_at: Some(hb.due_at),
                }
            }

            /// The integration a key belongs to.
            async fn key_owner(tx: &mut Tx, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{OWNER_SELECT} WHERE i.key_hash = $1")))
                    .bind(key_hash.to_owned())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(owner_from_row).transpose()
            }

            async fn load_triage(tx: &mut Tx) -> StoreResult<Triage> {
                Ok(Triage { rules: fetch_rules(&mut **tx).await?, windows: fetch_windows(&mut **tx).await? })
            }

            async fn fetch_rules<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E) -> StoreResult<Vec<firebreak_domain::rules::Rule>> {
                let rows = sqlx::query_scalar::<_, Json<firebreak_domain::rules::Rule>>("SELECT definition FROM rules ORDER BY position, created_at")
                    .fetch_all(conn)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(|j| j.0).collect())
            }

            async fn fetch_windows<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E) -> StoreResult<Vec<firebreak_domain::rules::MaintenanceWindow>> {
                let rows = sqlx::query_scalar::<_, Json<firebreak_domain::rules::MaintenanceWindow>>("SELECT definition FROM maintenance_windows ORDER BY created_at")
                    .fetch_all(conn)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(|j| j.0).collect())
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

            /// Records `value` under `key` in an alert's details (which become an object).
            fn note_in_details(details: &mut serde_json::Value, key: &str, value: Option<serde_json::Value>) {
                let Some(value) = value else { return };
                if !details.is_object() {
                    let original = std::mem::take(details);
                    *details = serde_json::json!({ "payload": original });
                }
                if let Some(map) = details.as_object_mut() {
                    map.insert(key.to_owned(), value);
                }
            }

            const CHECK_COLS: &str = "definition, integration_id, consecutive_failures, down, due_at, last_checked_at, last_error";

            fn check_from_row(row: &DbRow) -> StoreResult<CheckStatus> {
                Ok(CheckStatus {
                    definition: get::<Json<firebreak_domain::rules::CheckDefinition>>(row, "definition")?.0,
                    integration_id: IntegrationId(get(row, "integration_id")?),
                    consecutive_failures: get(row, "consecutive_failures")?,
                    down: get(row, "down")?,
                    due_at: get(row, "due_at")?,
                    last_checked_at: get(row, "last_checked_at")?,
                    last_error: get(row, "last_error")?,
                })
            }

            /// Resolves an open incident whose alerts have all resolved.
            async fn auto_resolve(tx: &mut Tx, incident_id: IncidentId, actor: &Actor, at: Timestamp) -> StoreResult<()> {
                let still_open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE incident_id = $1 AND status = 'open'")
                    .bind(incident_id.0)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                if still_open > 0 {
                    return Ok(());
                }
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1{}", $for_update)))
                    .bind(incident_id.0)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                let incident = incident_from_row(&row)?;
                if !incident.status.is_open() {
                    return Ok(());
                }
                let change = IncidentChange::Transition(firebreak_domain::IncidentAction::Resolve);
                let out = incident.apply(&change, at)?;
                write_incident(tx, &out.incident, false).await?;
                insert_timeline(tx, incident_id, actor, at, &out.events).await?;
                follow_incident(tx, Some(&incident), &out.incident, actor, at).await?;
                let details = serde_json::json!({ "number": incident.number, "changes": out.events, "reason": "all alerts resolved" });
                audit_in_tx(tx, actor, "incident.resolve", &incident_target(incident_id), details, at).await
            }
        }
    };
}
