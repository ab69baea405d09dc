//! The SQL of what alerts come in through, shared by every backend: services, integrations and
//! their keys, heartbeats, checks, changes (deploys), routing rules and maintenance windows.
//! Expanded by [`impl_sql_store!`] inside its module.

/// Implements the catalog half of `AlertStore`: it hands those methods to
/// [`impl_sql_alerts!`], whose one `impl AlertStore` holds both halves.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_catalog {
    ($store:ident, $for_update:literal) => {
        use $crate::{Change, CheckResult, CheckStatus, Heartbeat, Integration, Service, ServiceFields};
        use firebreak_domain::alert::IntegrationKind;

        const SERVICE_COLS: &str = "id, name, description, owner_team, runbook_url, tags, auto_resolve, grouping, created_at, updated_at, escalation_policy_id";
        const INTEGRATION_COLS: &str = "id, service_id, kind, name, created_at, key_rotated_at, config";

        fn service_from_row(row: &DbRow) -> StoreResult<Service> {
            Ok($crate::sql_from_row!(row => Service {
                id: ServiceId,
                name,
                description,
                owner_team,
                runbook_url,
                tags: json,
                auto_resolve,
                grouping: json,
                created_at,
                updated_at,
                escalation_policy_id: Option<EscalationPolicyId>,
            }))
        }

        fn integration_from_row(row: &DbRow) -> StoreResult<Integration> {
            Ok($crate::sql_from_row!(row => Integration {
                id: IntegrationId,
                service_id: ServiceId,
                kind: word,
                name,
                created_at,
                key_rotated_at,
                config: json,
            }))
        }

        async fn load_service<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: ServiceId) -> StoreResult<Service> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SERVICE_COLS} FROM services WHERE id = $1"))).bind(id.0);
            fetch_found_as(conn, q, "service", service_from_row).await
        }

        async fn load_integration<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: IntegrationId) -> StoreResult<Integration> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE id = $1"))).bind(id.0);
            fetch_found_as(conn, q, "integration", integration_from_row).await
        }

        /// The integration whose key hashes to `key_hash`, if any.
        async fn integration_with_key<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, key_hash: &str) -> StoreResult<Option<Integration>> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE key_hash = $1")))
                .bind(key_hash.to_owned());
            fetch_optional_as(conn, q, integration_from_row).await
        }

        /// Writes a new integration; only the hash of its key is stored.
        async fn insert_integration(tx: &mut Tx, i: &Integration, key_hash: String) -> StoreResult<()> {
            sqlx::query("INSERT INTO integrations (id, service_id, kind, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(i.id.0)
                .bind(i.service_id.0)
                .bind(i.kind.as_str())
                .bind(i.name.clone())
                .bind(key_hash)
                .bind(i.created_at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            Ok(())
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

        /// The integration a key belongs to.
        async fn key_owner(tx: &mut Tx, key_hash: &str) -> StoreResult<Option<KeyOwner>> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("{OWNER_SELECT} WHERE i.key_hash = $1"))).bind(key_hash.to_owned());
            fetch_optional_as(&mut **tx, q, owner_from_row).await
        }

        async fn load_triage(tx: &mut Tx) -> StoreResult<Triage> {
            Ok(Triage { rules: fetch_definitions(&mut **tx, RULES).await?, windows: fetch_definitions(&mut **tx, WINDOWS).await? })
        }

        const RULES: &str = "SELECT definition FROM rules ORDER BY position, created_at";
        const WINDOWS: &str = "SELECT definition FROM maintenance_windows ORDER BY created_at";

        /// The JSON definitions (rules, maintenance windows) `sql` selects.
        async fn fetch_definitions<'c, E, T>(conn: E, sql: &'static str) -> StoreResult<Vec<T>>
        where
            E: sqlx::Executor<'c, Database = Db>,
            T: serde::de::DeserializeOwned + Send + Unpin + 'static,
        {
            let rows = sqlx::query_scalar::<_, Json<T>>(sql).fetch_all(conn).await.map_err(db_err)?;
            Ok(rows.into_iter().map(|j| j.0).collect())
        }

        const HEARTBEAT_COLS: &str = "integration_id, interval_secs, grace_secs, last_beat_at, due_at, missed";

        fn heartbeat_from_row(row: &DbRow) -> StoreResult<Heartbeat> {
            Ok($crate::sql_from_row!(row => Heartbeat { integration_id: IntegrationId, interval_secs, grace_secs, last_beat_at, due_at, missed }))
        }

        /// An integration's heartbeat; with `lock`, its row is locked for the rest of the transaction.
        async fn load_heartbeat<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: IntegrationId, lock: bool) -> StoreResult<Heartbeat> {
            let lock = if lock { $for_update } else { "" };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {HEARTBEAT_COLS} FROM heartbeats WHERE integration_id = $1{lock}"))).bind(id.0);
            fetch_found_as(conn, q, "heartbeat", heartbeat_from_row).await
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

        const CHECK_COLS: &str = "definition, integration_id, consecutive_failures, down, due_at, last_checked_at, last_error";

        fn check_from_row(row: &DbRow) -> StoreResult<CheckStatus> {
            Ok($crate::sql_from_row!(row => CheckStatus {
                definition: json,
                integration_id: IntegrationId,
                consecutive_failures,
                down,
                due_at,
                last_checked_at,
                last_error,
            }))
        }

        /// Writes one rule or maintenance window (`insert` binds all but its last value, the time
        /// it is created), audited as `{kind}.create` on `{kind}:{id}` with `details`.
        async fn create_config(store: &$store, insert: Query<'_>, kind: &str, id: uuid::Uuid, details: serde_json::Value, actor: &Actor) -> StoreResult<()> {
            let at = firebreak_domain::time::now();
            let mut tx = store.begin_write().await.map_err(db_err)?;
            insert.bind(at).execute(&mut *tx).await.map_err(db_err)?;
            audit_in_tx(&mut tx, actor, &format!("{kind}.create"), &format!("{kind}:{id}"), details, at).await?;
            commit_config(store, tx).await
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
            execute_found(&mut tx, sqlx::query(delete).bind(id), what).await?;
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

        $crate::impl_sql_alerts!($store, $for_update, catalog_methods = {
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SERVICE_COLS} FROM services ORDER BY name")));
                fetch_all_as(&self.pool, q, service_from_row).await
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
                insert_integration(&mut tx, &integration, key_hash.to_owned()).await?;
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INTEGRATION_COLS} FROM integrations WHERE service_id = $1 ORDER BY created_at")))
                    .bind(service_id.0);
                fetch_all_as(&self.pool, q, integration_from_row).await
            }

            async fn get_integration(&self, id: IntegrationId) -> StoreResult<Integration> {
                load_integration(&self.pool, id).await
            }

            async fn rotate_integration_key(&self, id: IntegrationId, key_hash: &str, actor: &Actor) -> StoreResult<Integration> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("UPDATE integrations SET key_hash = $1, key_rotated_at = $2 WHERE id = $3")
                    .bind(key_hash.to_owned())
                    .bind(at)
                    .bind(id.0);
                execute_found(&mut tx, q, "integration").await?;
                audit_in_tx(&mut tx, actor, "integration.rotate_key", &format!("integration:{id}"), serde_json::json!({}), at).await?;
                let integration = load_integration(&mut *tx, id).await?;
                commit_config(self, tx).await?;
                Ok(integration)
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
                let Some(integration) = integration_with_key(&mut *tx, key_hash).await? else { return Ok(None) };
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
                fetch_all_as(&self.pool, qb.build(), |row| {
                    Ok($crate::sql_from_row!(row => Change {
                        id,
                        service_id: ServiceId,
                        integration_id: IntegrationId,
                        summary,
                        source,
                        details: json,
                        occurred_at,
                        received_at,
                    }))
                })
                .await
            }

            async fn integration_by_key(&self, key_hash: &str) -> StoreResult<Option<Integration>> {
                integration_with_key(&self.pool, key_hash).await
            }

            async fn set_integration_config(&self, id: IntegrationId, config: serde_json::Value, actor: &Actor) -> StoreResult<Integration> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("UPDATE integrations SET config = $1 WHERE id = $2").bind(Json(config.clone())).bind(id.0);
                execute_found(&mut tx, q, "integration").await?;
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
                let integration = Integration {
                    id: IntegrationId::new(),
                    service_id: check.service_id,
                    kind: IntegrationKind::Generic,
                    name: format!("check: {}", check.name),
                    created_at: at,
                    key_rotated_at: None,
                    config: serde_json::json!({}),
                };
                let integration_id = integration.id;
                insert_integration(&mut tx, &integration, format!("check-{}", uuid::Uuid::new_v4())).await?;
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
                let q = match service_id {
                    Some(s) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE service_id = $1 ORDER BY created_at"))).bind(s.0),
                    None => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks ORDER BY created_at"))),
                };
                fetch_all_as(&self.pool, q, check_from_row).await
            }

            async fn get_check(&self, id: uuid::Uuid) -> StoreResult<CheckStatus> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECK_COLS} FROM checks WHERE id = $1"))).bind(id);
                fetch_found_as(&self.pool, q, "check", check_from_row).await
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
                rows.iter().map(|r| Ok($crate::sql_from_row!(r => CheckResult { at, ok, latency_ms, detail, cert_expires_at = None }))).collect()
            }

            async fn create_rule(&self, rule: &firebreak_domain::rules::Rule, actor: &Actor) -> StoreResult<()> {
                let insert = sqlx::query("INSERT INTO rules (id, service_id, position, definition, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(rule.id)
                    .bind(rule.service_id.map(|s| s.0))
                    .bind(rule.position)
                    .bind(Json(rule));
                create_config(self, insert, "rule", rule.id, serde_json::json!({ "rule": rule }), actor).await
            }

            async fn list_rules(&self) -> StoreResult<Vec<firebreak_domain::rules::Rule>> {
                fetch_definitions(&self.pool, RULES).await
            }

            async fn delete_rule(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                delete_config(self, "DELETE FROM rules WHERE id = $1", id, "rule", "rule", actor).await
            }

            async fn create_window(&self, window: &firebreak_domain::rules::MaintenanceWindow, actor: &Actor) -> StoreResult<()> {
                let insert = sqlx::query("INSERT INTO maintenance_windows (id, service_id, definition, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(window.id)
                    .bind(window.service_id.map(|s| s.0))
                    .bind(Json(window));
                create_config(self, insert, "maintenance_window", window.id, serde_json::json!({ "window": window }), actor).await
            }

            async fn list_windows(&self) -> StoreResult<Vec<firebreak_domain::rules::MaintenanceWindow>> {
                fetch_definitions(&self.pool, WINDOWS).await
            }

            async fn delete_window(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                delete_config(self, "DELETE FROM maintenance_windows WHERE id = $1", id, "maintenance window", "maintenance_window", actor).await
            }

            async fn get_heartbeat(&self, integration_id: IntegrationId) -> StoreResult<Heartbeat> {
                load_heartbeat(&self.pool, integration_id, false).await
            }

            async fn configure_heartbeat(&self, integration_id: IntegrationId, interval_secs: i64, grace_secs: i64, now: Timestamp, actor: &Actor) -> StoreResult<Heartbeat> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("UPDATE heartbeats SET interval_secs = $1, grace_secs = $2, due_at = $3 WHERE integration_id = $4")
                    .bind(interval_secs)
                    .bind(grace_secs)
                    .bind(now + chrono::TimeDelta::seconds(interval_secs + grace_secs))
                    .bind(integration_id.0);
                execute_found(&mut tx, q, "heartbeat").await?;
                let details = serde_json::json!({ "interval_secs": interval_secs, "grace_secs": grace_secs });
                audit_in_tx(&mut tx, actor, "heartbeat.configure", &format!("integration:{integration_id}"), details, at).await?;
                let hb = load_heartbeat(&mut *tx, integration_id, false).await?;
                commit(self, tx).await?;
                Ok(hb)
            }

            async fn beat(&self, key_hash: &str, now: Timestamp) -> StoreResult<Option<Heartbeat>> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let Some(owner) = key_owner(&mut tx, key_hash).await? else { return Ok(None) };
                if owner.integration.kind != IntegrationKind::Heartbeat {
                    return Ok(None);
                }
                let mut hb = load_heartbeat(&mut *tx, owner.integration.id, true).await?;
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
                    let hb = load_heartbeat(&mut *tx, IntegrationId(*id), false).await?;
                    let event = missed_heartbeat_event(&owner.integration, &hb, firebreak_domain::alert::AlertAction::Trigger);
                    let triage = load_triage(&mut tx).await?;
                    apply_events(&mut tx, &[(&owner, &event)], at, &triage, &mut touched).await?;
                }
                commit_announcing(self, tx, touched, None).await?;
                Ok(claimed.len())
            }
        });
    };
}
