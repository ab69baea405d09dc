//! The SQL of post-incident review: postmortems, revisions, reviewers, key events, action
//! items (and their tracker events in the outbox), review reminders and the facts analytics
//! read. Expanded by [`impl_sql_store!`] inside its module.

/// Implements `ReviewStore`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_review {
    ($store:ident, $for_update:literal) => {
        use $crate::review::{
            ActionFilter, ActionItem, ActionItemFields, AnalyticsScope, Postmortem, PostmortemEdit, PostmortemRevision,
            Reminded, ReviewStore, Reviewer, TrackerHook,
        };
        use firebreak_domain::review::{ActionStatus, PostmortemState, SignOff};

        const POSTMORTEM_COLS: &str = "id, incident_id, template, title, body, state, revision, revision_hash, \
            impact_started_at, created_by, created_at, updated_at, published_at";
        const ACTION_SELECT: &str = "SELECT a.id, a.number, a.incident_id, i.number AS incident_number, i.title AS incident_title, \
            a.from_postmortem, a.title, a.kind, a.owner_id, u.name AS owner_name, a.due_on, a.priority, a.status, a.link, \
            a.procedure_file, i.service_id, a.created_by, a.created_at, a.updated_at, a.closed_at \
            FROM action_items a JOIN incidents i ON i.id = a.incident_id LEFT JOIN users u ON u.id = a.owner_id";

        fn postmortem_from_row(row: &DbRow) -> StoreResult<Postmortem> {
            Ok($crate::sql_from_row!(row => Postmortem {
                id, incident_id: IncidentId, template, title, body, state: word, revision, revision_hash,
                impact_started_at, created_by: Option<UserId>, created_at, updated_at, published_at,
                reviewers = Vec::new(),
            }))
        }

        fn revision_from_row(row: &DbRow) -> StoreResult<PostmortemRevision> {
            Ok($crate::sql_from_row!(row => PostmortemRevision { number, hash, title, body, author_id: Option<UserId>, author_name, created_at }))
        }

        fn action_from_row(row: &DbRow) -> StoreResult<ActionItem> {
            Ok($crate::sql_from_row!(row => ActionItem {
                id, number, incident_id: IncidentId, incident_number, incident_title, from_postmortem, title, kind: word,
                owner_id: Option<UserId>, owner_name, due_on, priority: word, status: word, link, procedure_file,
                service_id: Option<ServiceId>, created_by: Option<UserId>, created_at, updated_at, closed_at,
            }))
        }

        /// The incident's postmortem with its reviewers; `lock` locks its row.
        async fn postmortem_in(conn: &mut <Db as sqlx::Database>::Connection, incident: IncidentId, lock: bool) -> StoreResult<Postmortem> {
            let lock = if lock { $for_update } else { "" };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {POSTMORTEM_COLS} FROM postmortems WHERE incident_id = $1{lock}")))
                .bind(incident.0);
            let mut pm = fetch_found_as(&mut *conn, q, "postmortem", postmortem_from_row).await?;
            pm.reviewers = reviewers_in(&mut *conn, &[pm.id]).await?.into_iter().map(|(_, r)| r).collect();
            Ok(pm)
        }

        /// `5d`, `4h`, `90m`.
        fn show_minutes(m: u32) -> String {
            if m % (24 * 60) == 0 { format!("{}d", m / (24 * 60)) } else if m % 60 == 0 { format!("{}h", m / 60) } else { format!("{m}m") }
        }

        async fn reviewers_in<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, postmortems: &[uuid::Uuid]) -> StoreResult<Vec<(uuid::Uuid, Reviewer)>> {
            if postmortems.is_empty() {
                return Ok(Vec::new());
            }
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "SELECT r.postmortem_id, r.user_id, u.name, r.signed_off_at, r.signed_revision, r.signed_hash \
                 FROM postmortem_reviewers r JOIN users u ON u.id = r.user_id WHERE r.postmortem_id IN (",
            );
            let mut sep = qb.separated(", ");
            for id in postmortems {
                sep.push_bind(*id);
            }
            qb.push(") ORDER BY u.name, r.user_id");
            fetch_all_as(conn, qb.build(), |row| {
                Ok((get(row, "postmortem_id")?, $crate::sql_from_row!(row => Reviewer { user_id: UserId, name, signed_off_at, signed_revision, signed_hash })))
            })
            .await
        }

        /// Writes what a postmortem change did: the timeline entry, the audit entry and the
        /// live notice, then commits.
        #[allow(clippy::too_many_arguments)]
        async fn finish_postmortem_change(
            store: &$store,
            mut tx: Tx,
            incident: IncidentId,
            change: &str,
            revision: Option<i64>,
            detail: String,
            audit: serde_json::Value,
            actor: &Actor,
            at: Timestamp,
        ) -> StoreResult<Postmortem> {
            let event = TimelineEvent::PostmortemChanged { change: change.to_owned(), revision, detail };
            insert_timeline(&mut tx, incident, actor, at, &[event]).await?;
            audit_in_tx(&mut tx, actor, &format!("postmortem.{change}"), &format!("incident:{incident}"), audit, at).await?;
            let pm = postmortem_in(&mut *tx, incident, false).await?;
            commit_announcing(store, tx, vec![incident], None).await?;
            Ok(pm)
        }

        async fn insert_revision(tx: &mut Tx, pm: uuid::Uuid, number: i64, title: &str, body: &str, actor: &Actor, at: Timestamp) -> StoreResult<String> {
            let hash = firebreak_domain::review::revision_hash(title, body);
            sqlx::query(
                "INSERT INTO postmortem_revisions (postmortem_id, number, hash, title, body, author_id, author_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(pm)
            .bind(number)
            .bind(hash.clone())
            .bind(title.to_owned())
            .bind(body.to_owned())
            .bind(actor.user_id.map(|u| u.0))
            .bind(actor.name.clone())
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(hash)
        }

        async fn action_in<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, number: i64) -> StoreResult<ActionItem> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("{ACTION_SELECT} WHERE a.number = $1"))).bind(number);
            fetch_found_as(conn, q, "action item", action_from_row).await
        }

        /// An owner must be an enabled user.
        async fn check_owner(tx: &mut Tx, owner: Option<UserId>) -> StoreResult<()> {
            if let Some(owner) = owner {
                match load_user(&mut **tx, owner).await {
                    Ok(u) if !u.disabled => {}
                    Ok(_) => return Err(DomainError::invalid("owner_id", "that user is disabled").into()),
                    Err(StoreError::NotFound(_)) => return Err(DomainError::invalid("owner_id", "no such user").into()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }

        /// Queues the tracker event for `item` in the outbox.
        async fn queue_tracker_event(tx: &mut Tx, hook: &TrackerHook, event: &str, item: &ActionItem, at: Timestamp) -> StoreResult<()> {
            let body = serde_json::json!({ "event": event, "action_item": item });
            sqlx::query(
                "INSERT INTO stakeholder_messages (id, incident_id, address, subject, body, status, attempts, due_at, created_at, channel, secret, kind) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, 'webhook', $8, 'action_item')",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(item.incident_id.0)
            .bind(hook.url.clone())
            .bind(event.to_owned())
            .bind(body.to_string())
            .bind(at)
            .bind(at)
            .bind(hook.secret.clone())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Appends the action item filters of `f` (the statement joins `action_items a` and `incidents i`).
        fn push_action_filter(qb: &mut sqlx::QueryBuilder<Db>, f: &ActionFilter) {
            if let Some(i) = f.incident {
                qb.push(" AND a.incident_id = ").push_bind(i.0);
            }
            if let Some(o) = f.owner {
                qb.push(" AND a.owner_id = ").push_bind(o.0);
            }
            if let Some(s) = f.service {
                qb.push(" AND i.service_id = ").push_bind(s.0);
            }
            if !f.statuses.is_empty() {
                qb.push(" AND a.status IN (");
                let mut sep = qb.separated(", ");
                for s in &f.statuses {
                    sep.push_bind(s.as_str());
                }
                qb.push(")");
            }
            if let Some(day) = f.overdue_on {
                qb.push(" AND a.status IN ('open', 'in_progress') AND a.due_on IS NOT NULL AND a.due_on < ").push_bind(day);
            }
            if let Some(v) = &f.viewer {
                qb.push(" AND ");
                push_visible(qb, "i", v);
            }
            if let Some(before) = f.before_number {
                qb.push(" AND a.number < ").push_bind(before);
            }
        }

        /// Appends the incident filters of an analytics scope (`i` incidents, `s` services).
        fn push_scope(qb: &mut sqlx::QueryBuilder<Db>, scope: &AnalyticsScope) {
            if let Some(s) = scope.service {
                qb.push(" AND i.service_id = ").push_bind(s.0);
            }
            if let Some(t) = &scope.team {
                qb.push(" AND i.service_id IN (SELECT id FROM services WHERE owner_team = ").push_bind(t.clone()).push(")");
            }
            for (col, words) in [
                ("i.severity", scope.severities.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
                ("i.kind", scope.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
            ] {
                if words.is_empty() {
                    continue;
                }
                qb.push(format!(" AND {col} IN ("));
                let mut sep = qb.separated(", ");
                for w in words {
                    sep.push_bind(w);
                }
                qb.push(")");
            }
        }

        /// Whether this backend is SQLite (its write transactions need no row locks).
        const SQLITE: bool = $for_update.is_empty();

        /// How a large analytics read carries an instant. SQLite: milliseconds since the Unix
        /// epoch as an integer its date functions compute, since parsing instants from text
        /// (and moving each row out of SQLite one by one) is most of such a read's cost; the
        /// reads come out as one JSON array (see [`read_rows`]). PostgreSQL: the column, which
        /// its binary protocol carries as an integer already.
        fn instant(col: &str) -> String {
            if SQLITE { format!("CAST(unixepoch({col}, 'subsec') * 1000 AS INTEGER)") } else { col.to_owned() }
        }

        /// A value [`instant`] selected, read back (milliseconds on SQLite).
        fn ms(v: Option<i64>) -> Option<Timestamp> {
            v.and_then(chrono::DateTime::from_timestamp_millis)
        }

        /// Runs `SELECT cols FROM rest` (`bind` pushes the rest's condition and binds) and
        /// returns its rows as `T`. SQLite builds one JSON array of the rows in the database,
        /// read into `T` in one pass (one value crosses into Rust, not a row at a time);
        /// PostgreSQL reads rows, `decode` making a `T` of each.
        async fn read_rows<T: serde::de::DeserializeOwned>(
            pool: &sqlx::Pool<Db>,
            cols: &[String],
            rest: &str,
            bind: impl FnOnce(&mut sqlx::QueryBuilder<Db>),
            decode: impl Fn(&DbRow) -> StoreResult<T>,
        ) -> StoreResult<Vec<T>> {
            if SQLITE {
                let aliased: Vec<String> = cols.iter().enumerate().map(|(n, c)| format!("{c} AS c{n}")).collect();
                let names: Vec<String> = (0..cols.len()).map(|n| format!("c{n}")).collect();
                let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
                    "SELECT json_group_array(json_array({})) FROM (SELECT {} FROM {rest}",
                    names.join(", "),
                    aliased.join(", ")
                ));
                bind(&mut qb);
                qb.push(")");
                let text: Option<String> = qb.build_query_scalar().fetch_one(pool).await.map_err(db_err)?;
                return serde_json::from_str(text.as_deref().unwrap_or("[]")).map_err(|e| corrupt("analytics rows", e));
            }
            let mut qb = sqlx::QueryBuilder::<Db>::new(format!("SELECT {} FROM {rest}", cols.join(", ")));
            bind(&mut qb);
            fetch_all_as(pool, qb.build(), decode).await
        }

        /// Runs `read` as a task of its own, so that the Rust side of large reads (decoding rows,
        /// parsing SQLite's JSON) uses more than one core too.
        async fn on_own_task<T: Send + 'static>(read: impl std::future::Future<Output = StoreResult<T>> + Send + 'static) -> StoreResult<T> {
            tokio::spawn(read).await.map_err(|e| StoreError::Backend(format!("an analytics read failed: {e}")))?
        }

        /// Runs `read` over the two halves of `[from, to)` at once and puts the rows together.
        async fn in_halves<T, F, Fut>(from: Timestamp, to: Timestamp, read: F) -> StoreResult<Vec<T>>
        where
            F: Fn(Timestamp, Timestamp) -> Fut,
            Fut: std::future::Future<Output = StoreResult<Vec<T>>>,
        {
            let middle = from + (to - from) / 2;
            let (mut early, late) = tokio::try_join!(read(from, middle), read(middle, to))?;
            early.extend(late);
            Ok(early)
        }

        /// Column `n` of a [`read_rows`] row on PostgreSQL: an instant as milliseconds.
        fn ms_at(row: &DbRow, n: usize) -> StoreResult<Option<i64>> {
            Ok(col::<Option<Timestamp>>(row, n)?.map(|t| t.timestamp_millis()))
        }

        /// Column `n` of a [`read_rows`] row on PostgreSQL (by position: no name to look up).
        fn col<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r DbRow, n: usize) -> StoreResult<T> {
            sqlx::Row::try_get(row, n).map_err(db_err)
        }

        /// A UUID column as [`read_rows`] carries it on SQLite (hex text; `hex(NULL)` is '', so
        /// a missing one stays null), PostgreSQL as is.
        fn id_col(col: &str) -> String {
            if SQLITE { format!("nullif(hex({col}), '')") } else { col.to_owned() }
        }

        /// "The incident is a drill", as the partial index `incidents_drill` says it (a bound
        /// value would not let the planner use that index).
        const DRILL: &str = if SQLITE { "drill = 1" } else { "drill" };

        /// Whether the scope filters incidents by more than their period.
        fn filters_incidents(scope: &AnalyticsScope) -> bool {
            scope.service.is_some() || scope.team.is_some() || !scope.severities.is_empty() || !scope.kinds.is_empty()
        }

        /// Appends "the incident `col` names is not a drill, and matches the scope's filters".
        fn push_incident_in_scope(qb: &mut sqlx::QueryBuilder<Db>, col: &str, scope: &AnalyticsScope) {
            qb.push(format!(" AND {col} NOT IN (SELECT id FROM incidents WHERE {DRILL})"));
            if filters_incidents(scope) {
                qb.push(format!(" AND {col} IN (SELECT i.id FROM incidents i WHERE 1 = 1"));
                push_scope(qb, scope);
                qb.push(")");
            }
        }

        /// Appends the alert filters of an analytics scope (`a` alerts): the period by first
        /// seen, the service, the team.
        fn push_alert_scope(qb: &mut sqlx::QueryBuilder<Db>, scope: &AnalyticsScope) {
            qb.push(" AND a.first_seen_at >= ").push_bind(scope.from).push(" AND a.first_seen_at < ").push_bind(scope.to);
            if let Some(s) = scope.service {
                qb.push(" AND a.service_id = ").push_bind(s.0);
            }
            if let Some(t) = &scope.team {
                qb.push(" AND a.service_id IN (SELECT id FROM services WHERE owner_team = ").push_bind(t.clone()).push(")");
            }
        }

        /// What the noise counts select per integration and dedup key (then `FROM …`).
        const PER_KEY: &str = "SELECT a.integration_id, a.dedup_key, COUNT(*) AS alerts, CAST(SUM(a.count) AS BIGINT) AS events";

        /// Runs a [`PER_KEY`] query (the scope's alert filters and the grouping appended):
        /// `(integration, key, alerts, events)` rows.
        async fn fetch_per_key(
            store: &$store,
            mut qb: sqlx::QueryBuilder<Db>,
            scope: &AnalyticsScope,
        ) -> StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
            push_alert_scope(&mut qb, scope);
            qb.push(" GROUP BY a.integration_id, a.dedup_key");
            fetch_all_as(&store.pool, qb.build(), |row| {
                Ok((get(row, "integration_id")?, get(row, "dedup_key")?, get(row, "alerts")?, get(row, "events")?))
            })
            .await
        }

        /// The scope's alerts counted per integration and dedup key: `(integration, key, alerts,
        /// events)` (a key may come twice; the counts add up).
        async fn alerts_per_key(
            store: &$store,
            scope: &AnalyticsScope,
        ) -> StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
            let grouped = |access: &str, status: &str| {
                let qb = sqlx::QueryBuilder::<Db>::new(format!("{PER_KEY} FROM alerts a{access} WHERE 1 = 1{status}"));
                fetch_per_key(store, qb, scope)
            };
            if !SQLITE {
                return grouped("", "").await;
            }
            // SQLite, without statistics, would walk the key index and look every alert's row up
            // to skip the grouping's sort. A short period (a small share of the alerts, which
            // `alerts_first_seen` counts in a few milliseconds) is read through that index, a
            // row lookup per alert of the period. Otherwise the resolved alerts, whose counts no
            // longer change, come from the covering index `alerts_resolved_noise` in key order
            // (no row read, no sort), and the few others through `alerts_status`.
            let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*) FROM alerts a INDEXED BY alerts_first_seen WHERE 1 = 1");
            qb.push(" AND a.first_seen_at >= ").push_bind(scope.from).push(" AND a.first_seen_at < ").push_bind(scope.to);
            let (in_period, all): (i64, i64) = tokio::try_join!(
                async { qb.build_query_scalar::<i64>().fetch_one(&store.pool).await.map_err(db_err) },
                async {
                    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(rowid) FROM alerts")
                        .fetch_one(&store.pool)
                        .await
                        .map(|n| n.unwrap_or(0))
                        .map_err(db_err)
                },
            )?;
            if in_period.saturating_mul(6) <= all {
                return grouped(" INDEXED BY alerts_first_seen", "").await;
            }
            let (mut resolved, others) = tokio::try_join!(
                grouped(" INDEXED BY alerts_resolved_noise", " AND a.status = 'resolved'"),
                grouped(" INDEXED BY alerts_status", " AND a.status IN ('open', 'suppressed')"),
            )?;
            resolved.extend(others);
            Ok(resolved)
        }

        /// The scope's alerts on incidents the report leaves out (drills; incidents the viewer
        /// may not see), counted as [`alerts_per_key`] counts them: few, read from the incidents
        /// (SQLite keeps a CROSS JOIN's order; it would otherwise walk the period's alerts).
        async fn left_out_alerts_per_key(
            store: &$store,
            scope: &AnalyticsScope,
        ) -> StoreResult<Vec<(uuid::Uuid, String, i64, i64)>> {
            let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
                "{PER_KEY} FROM incidents i CROSS JOIN alerts a WHERE a.incident_id = i.id AND (i."
            ));
            qb.push(DRILL);
            if let Some(v) = &scope.viewer {
                qb.push(" OR NOT ");
                push_visible(&mut qb, "i", v);
            }
            qb.push(")");
            fetch_per_key(store, qb, scope).await
        }

        /// The noisiest integrations and dedup keys in the scope: the period's alerts grouped
        /// by both in one pass, less those of the incidents left out, ranked here.
        async fn noisiest(
            store: &$store,
            scope: &AnalyticsScope,
        ) -> StoreResult<(Vec<firebreak_domain::analytics::AlertNoise>, Vec<firebreak_domain::analytics::AlertNoise>)> {
            use firebreak_domain::analytics::AlertNoise;
            let (all, left_out) = tokio::try_join!(alerts_per_key(store, scope), left_out_alerts_per_key(store, scope))?;
            let mut per_key: std::collections::HashMap<(uuid::Uuid, String), (i64, i64)> = std::collections::HashMap::new();
            for (integration, key, alerts, events) in all {
                let n = per_key.entry((integration, key)).or_default();
                *n = (n.0 + alerts, n.1 + events);
            }
            for (integration, key, alerts, events) in left_out {
                if let Some(n) = per_key.get_mut(&(integration, key)) {
                    *n = (n.0 - alerts, n.1 - events);
                }
            }
            let rows: Vec<(IntegrationId, String, i64, i64)> = per_key
                .into_iter()
                .filter(|(_, (alerts, _))| *alerts > 0)
                .map(|((integration, key), (alerts, events))| (IntegrationId(integration), key, alerts, events))
                .collect();
            let names: std::collections::HashMap<uuid::Uuid, String> = sqlx::query("SELECT id, name FROM integrations")
                .fetch_all(&store.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| Ok((get(r, "id")?, get(r, "name")?)))
                .collect::<StoreResult<_>>()?;
            let mut sources: std::collections::HashMap<String, (i64, i64)> = std::collections::HashMap::new();
            let mut keys: std::collections::HashMap<String, (i64, i64)> = std::collections::HashMap::new();
            for (integration, key, alerts, events) in rows {
                let name = names.get(&integration.0).cloned().unwrap_or_else(|| "(deleted integration)".to_owned());
                let s = sources.entry(name).or_default();
                *s = (s.0 + alerts, s.1 + events);
                let k = keys.entry(key).or_default();
                *k = (k.0 + alerts, k.1 + events);
            }
            let top = |m: std::collections::HashMap<String, (i64, i64)>| {
                let mut v: Vec<AlertNoise> = m.into_iter().map(|(name, (alerts, events))| AlertNoise { name, alerts, events }).collect();
                v.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.name.cmp(&b.name)));
                v.truncate(scope.top.clamp(1, 100) as usize);
                v
            };
            Ok((top(sources), top(keys)))
        }

        #[async_trait::async_trait]
        impl ReviewStore for $store {
            async fn create_postmortem(&self, incident: IncidentId, template: &str, title: &str, body: &str, actor: &Actor) -> StoreResult<Postmortem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
                let id = uuid::Uuid::now_v7();
                let hash = firebreak_domain::review::revision_hash(title, body);
                sqlx::query(
                    "INSERT INTO postmortems (id, incident_id, template, title, body, state, revision, revision_hash, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'draft', 1, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(incident.0)
                .bind(template.to_owned())
                .bind(title.to_owned())
                .bind(body.to_owned())
                .bind(hash.clone())
                .bind(actor.user_id.map(|u| u.0))
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("the incident already has a postmortem".into()),
                    other => other,
                })?;
                insert_revision(&mut tx, id, 1, title, body, actor, at).await?;
                let audit = serde_json::json!({ "template": template, "revision": 1, "hash": hash });
                finish_postmortem_change(self, tx, incident, "drafted", Some(1), format!("from the {template} template"), audit, actor, at).await
            }

            async fn postmortem(&self, incident: IncidentId) -> StoreResult<Postmortem> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                postmortem_in(&mut conn, incident, false).await
            }

            async fn postmortems_of(&self, incidents: &[IncidentId]) -> StoreResult<Vec<Postmortem>> {
                let mut out = Vec::new();
                for chunk in incidents.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new(format!("SELECT {POSTMORTEM_COLS} FROM postmortems WHERE incident_id IN ("));
                    let mut sep = qb.separated(", ");
                    for i in chunk {
                        sep.push_bind(i.0);
                    }
                    qb.push(")");
                    let mut found = fetch_all_as(&self.pool, qb.build(), postmortem_from_row).await?;
                    let ids: Vec<uuid::Uuid> = found.iter().map(|p| p.id).collect();
                    for (pm, r) in reviewers_in(&self.pool, &ids).await? {
                        if let Some(p) = found.iter_mut().find(|p| p.id == pm) {
                            p.reviewers.push(r);
                        }
                    }
                    out.extend(found);
                }
                Ok(out)
            }

            async fn save_postmortem(&self, incident: IncidentId, edit: PostmortemEdit, actor: &Actor) -> StoreResult<Postmortem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let pm = postmortem_in(&mut *tx, incident, true).await?;
                if edit.base != pm.revision {
                    return Err(StoreError::Conflict(format!(
                        "the postmortem is at revision {} now (you edited revision {}); reload it and apply your change again",
                        pm.revision, edit.base
                    )));
                }
                let hash = firebreak_domain::review::revision_hash(&edit.title, &edit.body);
                if hash == pm.revision_hash {
                    if edit.impact_started_at == pm.impact_started_at {
                        return Ok(pm);
                    }
                    sqlx::query("UPDATE postmortems SET impact_started_at = $1, updated_at = $2 WHERE id = $3")
                        .bind(edit.impact_started_at)
                        .bind(at)
                        .bind(pm.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let audit = serde_json::json!({ "impact_started_at": edit.impact_started_at });
                    audit_in_tx(&mut tx, actor, "postmortem.impact_start", &format!("incident:{incident}"), audit, at).await?;
                    let pm = postmortem_in(&mut *tx, incident, false).await?;
                    commit(self, tx).await?;
                    return Ok(pm);
                }
                let revision = pm.revision + 1;
                insert_revision(&mut tx, pm.id, revision, &edit.title, &edit.body, actor, at).await?;
                // A new revision of a published postmortem reopens its review.
                let state = if pm.state == PostmortemState::Published { PostmortemState::InReview } else { pm.state };
                sqlx::query(
                    "UPDATE postmortems SET title = $1, body = $2, revision = $3, revision_hash = $4, impact_started_at = $5, \
                     state = $6, updated_at = $7, published_at = NULL WHERE id = $8",
                )
                .bind(edit.title.clone())
                .bind(edit.body.clone())
                .bind(revision)
                .bind(hash.clone())
                .bind(edit.impact_started_at)
                .bind(state.as_str())
                .bind(at)
                .bind(pm.id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let detail = if pm.state == PostmortemState::Published { "review reopened".to_owned() } else { String::new() };
                let audit = serde_json::json!({ "revision": revision, "hash": hash, "state": state });
                finish_postmortem_change(self, tx, incident, "revised", Some(revision), detail, audit, actor, at).await
            }

            async fn postmortem_revisions(&self, incident: IncidentId) -> StoreResult<Vec<PostmortemRevision>> {
                let pm = self.postmortem(incident).await?;
                let q = sqlx::query(
                    "SELECT number, hash, title, body, author_id, author_name, created_at FROM postmortem_revisions \
                     WHERE postmortem_id = $1 ORDER BY number",
                )
                .bind(pm.id);
                fetch_all_as(&self.pool, q, revision_from_row).await
            }

            async fn request_postmortem_review(&self, incident: IncidentId, reviewers: &[UserId], actor: &Actor) -> StoreResult<Postmortem> {
                let at = firebreak_domain::time::now();
                let mut wanted: Vec<UserId> = Vec::new();
                for r in reviewers {
                    if !wanted.contains(r) {
                        wanted.push(*r);
                    }
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let pm = postmortem_in(&mut *tx, incident, true).await?;
                firebreak_domain::review::check_request_review(pm.state, wanted.len())?;
                let mut names = Vec::new();
                for r in &wanted {
                    match load_user(&mut *tx, *r).await {
                        Ok(u) if !u.disabled => names.push(u.name),
                        Ok(_) => return Err(DomainError::invalid("reviewers", "a reviewer's account is disabled").into()),
                        Err(StoreError::NotFound(_)) => return Err(DomainError::invalid("reviewers", "no such user").into()),
                        Err(e) => return Err(e),
                    }
                }
                for old in &pm.reviewers {
                    if !wanted.contains(&old.user_id) {
                        sqlx::query("DELETE FROM postmortem_reviewers WHERE postmortem_id = $1 AND user_id = $2")
                            .bind(pm.id)
                            .bind(old.user_id.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                for r in &wanted {
                    sqlx::query("INSERT INTO postmortem_reviewers (postmortem_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(pm.id)
                        .bind(r.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query("UPDATE postmortems SET state = 'in_review', updated_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(pm.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let audit = serde_json::json!({ "revision": pm.revision, "reviewers": wanted });
                let detail = format!("reviewers: {}", names.join(", "));
                finish_postmortem_change(self, tx, incident, "review_requested", Some(pm.revision), detail, audit, actor, at).await
            }

            async fn sign_off_postmortem(&self, incident: IncidentId, reviewer: UserId, hash: &str, actor: &Actor) -> StoreResult<Postmortem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let pm = postmortem_in(&mut *tx, incident, true).await?;
                if pm.state != PostmortemState::InReview {
                    return Err(DomainError::invalid("state", format!("only a postmortem in review is signed off; this one is {}", pm.state)).into());
                }
                if !pm.reviewers.iter().any(|r| r.user_id == reviewer) {
                    return Err(DomainError::invalid("reviewer", "you are not a named reviewer of this postmortem").into());
                }
                if hash != pm.revision_hash {
                    return Err(StoreError::Conflict(format!(
                        "you reviewed an older revision; revision {} is current, read it and sign off again",
                        pm.revision
                    )));
                }
                sqlx::query(
                    "UPDATE postmortem_reviewers SET signed_off_at = $1, signed_revision = $2, signed_hash = $3 WHERE postmortem_id = $4 AND user_id = $5",
                )
                .bind(at)
                .bind(pm.revision)
                .bind(pm.revision_hash.clone())
                .bind(pm.id)
                .bind(reviewer.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let audit = serde_json::json!({ "reviewer": reviewer, "revision": pm.revision, "hash": pm.revision_hash });
                finish_postmortem_change(self, tx, incident, "signed_off", Some(pm.revision), String::new(), audit, actor, at).await
            }

            async fn publish_postmortem(&self, incident: IncidentId, actor: &Actor) -> StoreResult<Postmortem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let pm = postmortem_in(&mut *tx, incident, true).await?;
                let signs: Vec<SignOff> =
                    pm.reviewers.iter().map(|r| SignOff { reviewer: r.name.clone(), signed_hash: r.signed_hash.clone() }).collect();
                firebreak_domain::review::check_publish(pm.state, &pm.revision_hash, &signs)?;
                sqlx::query("UPDATE postmortems SET state = 'published', published_at = $1, updated_at = $2 WHERE id = $3")
                    .bind(at)
                    .bind(at)
                    .bind(pm.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let audit = serde_json::json!({ "revision": pm.revision, "hash": pm.revision_hash });
                finish_postmortem_change(self, tx, incident, "published", Some(pm.revision), String::new(), audit, actor, at).await
            }

            async fn star_timeline_entry(&self, incident: IncidentId, seq: i64, starred: bool, actor: &Actor) -> StoreResult<()> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("SELECT CAST(1 AS BIGINT) FROM timeline_entries WHERE seq = $1 AND incident_id = $2").bind(seq).bind(incident.0);
                if q.fetch_optional(&mut *tx).await.map_err(db_err)?.is_none() {
                    return Err(StoreError::NotFound("timeline entry"));
                }
                let changed = if starred {
                    sqlx::query("INSERT INTO key_events (seq, incident_id, starred_by, starred_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                        .bind(seq)
                        .bind(incident.0)
                        .bind(actor.user_id.map(|u| u.0))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                } else {
                    sqlx::query("DELETE FROM key_events WHERE seq = $1").bind(seq).execute(&mut *tx).await
                }
                .map_err(db_err)?
                .rows_affected();
                if changed == 0 {
                    return Ok(());
                }
                let action = if starred { "incident.key_event" } else { "incident.key_event_removed" };
                audit_in_tx(&mut tx, actor, action, &format!("incident:{incident}"), serde_json::json!({ "seq": seq }), at).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(())
            }

            async fn key_events(&self, incident: IncidentId) -> StoreResult<Vec<i64>> {
                sqlx::query_scalar("SELECT seq FROM key_events WHERE incident_id = $1 ORDER BY seq")
                    .bind(incident.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)
            }

            async fn create_action_item(
                &self,
                incident: IncidentId,
                from_postmortem: bool,
                f: ActionItemFields,
                hook: Option<&TrackerHook>,
                actor: &Actor,
            ) -> StoreResult<ActionItem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
                check_owner(&mut tx, f.owner_id).await?;
                let number: i64 = sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'action_item_number' RETURNING value")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO action_items (id, number, incident_id, from_postmortem, title, kind, owner_id, due_on, priority, status, link, \
                     procedure_file, created_by, created_at, updated_at, closed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(number)
                .bind(incident.0)
                .bind(from_postmortem)
                .bind(f.title.clone())
                .bind(f.kind.as_str())
                .bind(f.owner_id.map(|u| u.0))
                .bind(f.due_on)
                .bind(f.priority.as_str())
                .bind(f.status.as_str())
                .bind(f.link.clone())
                .bind(f.procedure_file.clone())
                .bind(actor.user_id.map(|u| u.0))
                .bind(at)
                .bind(at)
                .bind(f.status.is_closed().then_some(at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let item = action_in(&mut *tx, number).await?;
                let event = TimelineEvent::ActionItemChanged { number, title: item.title.clone(), change: "added".into(), status: item.status };
                insert_timeline(&mut tx, incident, actor, at, &[event]).await?;
                audit_in_tx(&mut tx, actor, "action_item.create", &format!("action_item:{number}"), serde_json::to_value(&item).unwrap_or_default(), at).await?;
                if let Some(hook) = hook {
                    queue_tracker_event(&mut tx, hook, "action_item.created", &item, at).await?;
                }
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(item)
            }

            async fn update_action_item(&self, number: i64, f: ActionItemFields, hook: Option<&TrackerHook>, actor: &Actor) -> StoreResult<ActionItem> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let lock = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id FROM action_items WHERE number = $1{}", $for_update))).bind(number);
                if lock.fetch_optional(&mut *tx).await.map_err(db_err)?.is_none() {
                    return Err(StoreError::NotFound("action item"));
                }
                let before = action_in(&mut *tx, number).await?;
                let same = before.title == f.title
                    && before.kind == f.kind
                    && before.owner_id == f.owner_id
                    && before.due_on == f.due_on
                    && before.priority == f.priority
                    && before.status == f.status
                    && before.link == f.link
                    && before.procedure_file == f.procedure_file;
                if same {
                    return Ok(before);
                }
                check_owner(&mut tx, f.owner_id).await?;
                let closed_at = match (before.status.is_closed(), f.status.is_closed()) {
                    (false, true) => Some(at),
                    (true, true) => before.closed_at,
                    _ => None,
                };
                sqlx::query(
                    "UPDATE action_items SET title = $1, kind = $2, owner_id = $3, due_on = $4, priority = $5, status = $6, link = $7, \
                     procedure_file = $8, updated_at = $9, closed_at = $10, reminded_on = NULL WHERE number = $11",
                )
                .bind(f.title.clone())
                .bind(f.kind.as_str())
                .bind(f.owner_id.map(|u| u.0))
                .bind(f.due_on)
                .bind(f.priority.as_str())
                .bind(f.status.as_str())
                .bind(f.link.clone())
                .bind(f.procedure_file.clone())
                .bind(at)
                .bind(closed_at)
                .bind(number)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let item = action_in(&mut *tx, number).await?;
                let event = TimelineEvent::ActionItemChanged { number, title: item.title.clone(), change: "updated".into(), status: item.status };
                insert_timeline(&mut tx, item.incident_id, actor, at, &[event]).await?;
                let audit = serde_json::json!({ "before": before, "after": item });
                audit_in_tx(&mut tx, actor, "action_item.update", &format!("action_item:{number}"), audit, at).await?;
                if let Some(hook) = hook {
                    queue_tracker_event(&mut tx, hook, "action_item.updated", &item, at).await?;
                }
                commit_announcing(self, tx, vec![item.incident_id], None).await?;
                Ok(item)
            }

            async fn action_item(&self, number: i64) -> StoreResult<ActionItem> {
                action_in(&self.pool, number).await
            }

            async fn list_action_items(&self, filter: &ActionFilter) -> StoreResult<Page<ActionItem>> {
                let limit = $crate::page_limit(filter.limit);
                let mut qb = sqlx::QueryBuilder::<Db>::new(format!("{ACTION_SELECT} WHERE 1 = 1"));
                push_action_filter(&mut qb, filter);
                qb.push(" ORDER BY a.number DESC LIMIT ").push_bind(i64::from(limit) + 1);
                let items = fetch_all_as(&self.pool, qb.build(), action_from_row).await?;
                Ok(page_of(items, limit, |a| a.number))
            }

            async fn process_review_reminders(&self, now: Timestamp, due: &[(Severity, u32)], today: chrono::NaiveDate) -> StoreResult<Reminded> {
                let mut done = Reminded::default();
                let actor = Actor::system("review", Via::System);
                for (severity, minutes) in due {
                    let cutoff = now - chrono::TimeDelta::minutes(i64::from(*minutes));
                    // Incidents resolved long before (e.g. before an upgrade) are not chased.
                    let horizon = cutoff - chrono::TimeDelta::days(30);
                    let late = "FROM incidents i WHERE i.severity = $1 AND i.resolved_at IS NOT NULL AND i.resolved_at <= $2 AND i.resolved_at > $3 \
                        AND i.merged_into IS NULL AND i.drill = $4 \
                        AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = i.id AND p.state = 'published') \
                        AND NOT EXISTS (SELECT 1 FROM postmortem_reminders r WHERE r.incident_id = i.id)";
                    let probe = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT CAST(1 AS BIGINT) {late} LIMIT 1")))
                        .bind(severity.as_str())
                        .bind(cutoff)
                        .bind(horizon)
                        .bind(false);
                    if !found(self, probe).await? {
                        continue;
                    }
                    let mut tx = self.begin_write().await.map_err(db_err)?;
                    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT i.id {late} ORDER BY i.resolved_at LIMIT 100")))
                        .bind(severity.as_str())
                        .bind(cutoff)
                        .bind(horizon)
                        .bind(false)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let mut touched = Vec::new();
                    for id in ids {
                        let claimed = sqlx::query("INSERT INTO postmortem_reminders (incident_id, reminded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?
                            .rows_affected();
                        if claimed == 0 {
                            continue;
                        }
                        let incident = load_incident(&mut *tx, IncidentRef::Id(IncidentId(id)), false).await?;
                        let payload = serde_json::json!({
                            "subject": format!("[Firebreak] {}: the postmortem is late", incident.label()),
                            "text": format!(
                                "The postmortem of {} ({}) was due {} after resolution and is not published. Write it, or send it to review, from the incident page.",
                                incident.label(), incident.title, show_minutes(*minutes)
                            ),
                        });
                        let mut to = Vec::new();
                        if let Some(user) = incident.commander.or(incident.created_by) {
                            to.extend(notify_user(&mut tx, "reminder", user, &format!("postmortem-late:{id}"), payload, now).await?);
                        }
                        let detail = if to.is_empty() { "nobody to remind (no commander)".to_owned() } else { format!("reminded {}", to.join(", ")) };
                        let event = TimelineEvent::PostmortemChanged { change: "late".into(), revision: None, detail };
                        insert_timeline(&mut tx, incident.id, &actor, now, &[event]).await?;
                        touched.push(incident.id);
                        done.postmortems += 1;
                    }
                    commit_announcing(self, tx, touched, None).await?;
                }
                let late = "FROM action_items a WHERE a.status IN ('open', 'in_progress') AND a.due_on IS NOT NULL AND a.due_on < $1 \
                    AND (a.reminded_on IS NULL OR a.reminded_on < $2)";
                let probe = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT CAST(1 AS BIGINT) {late} LIMIT 1"))).bind(today).bind(today);
                if !found(self, probe).await? {
                    return Ok(done);
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let numbers: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT a.number {late} ORDER BY a.due_on LIMIT 100")))
                    .bind(today)
                    .bind(today)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut touched = Vec::new();
                for number in numbers {
                    let claimed = sqlx::query(
                        "UPDATE action_items SET reminded_on = $1 WHERE number = $2 AND (reminded_on IS NULL OR reminded_on < $3)",
                    )
                    .bind(today)
                    .bind(number)
                    .bind(today)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                    if claimed == 0 {
                        continue;
                    }
                    let item = action_in(&mut *tx, number).await?;
                    let incident = load_incident(&mut *tx, IncidentRef::Id(item.incident_id), false).await?;
                    let due = item.due_on.map(|d| d.to_string()).unwrap_or_default();
                    let payload = serde_json::json!({
                        "subject": format!("[Firebreak] AI-{number} is overdue: {}", item.title),
                        "text": format!(
                            "The action item AI-{number} \"{}\" from {} was due on {due} and is {}. Update it on the action items page.",
                            item.title, incident.label(), item.status
                        ),
                    });
                    if let Some(user) = item.owner_id.or(incident.commander) {
                        notify_user(&mut tx, "reminder", user, &format!("action-late:{}:{today}", item.id), payload, now).await?;
                    }
                    let event = TimelineEvent::ActionItemChanged { number, title: item.title.clone(), change: "late".into(), status: item.status };
                    insert_timeline(&mut tx, item.incident_id, &actor, now, &[event]).await?;
                    touched.push(item.incident_id);
                    done.action_items += 1;
                }
                commit_announcing(self, tx, touched, None).await?;
                Ok(done)
            }

            async fn analytics_facts(&self, scope: &AnalyticsScope) -> StoreResult<firebreak_domain::analytics::AnalyticsInput> {
                use firebreak_domain::analytics::{ActionFacts, AnalyticsInput, IncidentFacts, PageFacts};
                // The reads run at once on the pool (the large ones on tasks of their own); each
                // carries instants as integers.
                // number, severity, kind, drill, detected, first acknowledged, first contained,
                // first resolved, resolved, closed (ms), reopens, service, first alert (ms).
                // Words and UUIDs are read straight into their types (SQLite's JSON carries a UUID as hex).
                type IncidentRow = (i64, Severity, firebreak_domain::IncidentType, i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64, Option<uuid::Uuid>, Option<i64>);
                // Read in two halves of the period at once (each on a connection and a task).
                let incidents_between = |from: Timestamp, to: Timestamp| {
                    let (pool, scope) = (self.pool.clone(), scope.clone());
                    on_own_task(async move {
                        let cols = [
                            "i.number".to_owned(),
                            "i.severity".to_owned(),
                            "i.kind".to_owned(),
                            "CAST(i.drill AS INTEGER)".to_owned(),
                            instant("i.detected_at"),
                            instant("i.first_acknowledged_at"),
                            instant("i.first_contained_at"),
                            instant("i.first_resolved_at"),
                            instant("i.resolved_at"),
                            instant("i.closed_at"),
                            "i.reopen_count".to_owned(),
                            id_col("i.service_id"),
                            instant("i.first_alert_at"),
                        ];
                        read_rows::<IncidentRow>(
                            &pool,
                            &cols,
                            "incidents i WHERE i.detected_at >= ",
                            |qb| {
                                qb.push_bind(from).push(" AND i.detected_at < ").push_bind(to).push(" AND i.merged_into IS NULL");
                                push_scope(qb, &scope);
                            },
                            |row| {
                                Ok((
                                    col(row, 0)?, col::<&str>(row, 1)?.parse()?, col::<&str>(row, 2)?.parse()?, col::<i32>(row, 3)?.into(),
                                    ms_at(row, 4)?, ms_at(row, 5)?, ms_at(row, 6)?, ms_at(row, 7)?, ms_at(row, 8)?, ms_at(row, 9)?,
                                    col(row, 10)?, col(row, 11)?, ms_at(row, 12)?,
                                ))
                            },
                        )
                        .await
                    })
                };
                let incidents = in_halves(scope.from, scope.to, incidents_between);
                // The period's postmortems (a few), joined to their incidents here: from the
                // postmortems (SQLite keeps a CROSS JOIN's order) rather than from the period's
                // incidents.
                let postmortems = async {
                    read_rows::<(i64, String, Option<i64>)>(
                        &self.pool,
                        &["i.number".to_owned(), "p.state".to_owned(), instant("p.impact_started_at")],
                        "postmortems p CROSS JOIN incidents i WHERE i.id = p.incident_id AND i.detected_at >= ",
                        |qb| {
                            qb.push_bind(scope.from).push(" AND i.detected_at < ").push_bind(scope.to);
                        },
                        |row| Ok((col(row, 0)?, col(row, 1)?, ms_at(row, 2)?)),
                    )
                    .await
                };
                // Also in two halves of the period: the largest read after the incidents.
                let pages_between = |from: Timestamp, to: Timestamp| {
                    let (pool, scope) = (self.pool.clone(), scope.clone());
                    on_own_task(async move {
                        read_rows::<(Option<uuid::Uuid>, Option<i64>)>(
                            &pool,
                            &[id_col("n.user_id"), instant("n.created_at")],
                            "notifications n WHERE n.kind = 'page' AND n.created_at >= ",
                            |qb| {
                                qb.push_bind(from).push(" AND n.created_at < ").push_bind(to);
                                push_incident_in_scope(qb, "n.incident_id", &scope);
                                // A page to several of a person's contact methods is one row per
                                // method, queued at one instant: one page (and a third fewer rows).
                                qb.push(" GROUP BY n.created_at, n.user_id");
                            },
                            |row| Ok((col(row, 0)?, ms_at(row, 1)?)),
                        )
                        .await
                    })
                };
                let pages = in_halves(scope.from, scope.to, pages_between);
                let actions = async {
                    read_rows::<(Option<i64>, Option<chrono::NaiveDate>, Option<i64>)>(
                        &self.pool,
                        &[instant("a.created_at"), "a.due_on".to_owned(), instant("a.closed_at")],
                        "action_items a WHERE a.created_at >= ",
                        |qb| {
                            qb.push_bind(scope.from).push(" AND a.created_at < ").push_bind(scope.to);
                            push_incident_in_scope(qb, "a.incident_id", scope);
                        },
                        |row| Ok((ms_at(row, 0)?, col(row, 1)?, ms_at(row, 2)?)),
                    )
                    .await
                };
                let services = async {
                    sqlx::query("SELECT id, name, owner_team FROM services").fetch_all(&self.pool).await.map_err(db_err)
                };
                let users = async { sqlx::query("SELECT id, name FROM users").fetch_all(&self.pool).await.map_err(db_err) };
                let (incidents, postmortems, pages, actions, (noisy_sources, noisy_fingerprints), services, users) =
                    tokio::try_join!(incidents, postmortems, pages, actions, noisiest(self, scope), services, users)?;

                let mut by_service: std::collections::HashMap<uuid::Uuid, (String, Option<String>)> = std::collections::HashMap::new();
                for r in &services {
                    let team: String = get(r, "owner_team")?;
                    by_service.insert(get(r, "id")?, (get(r, "name")?, Some(team).filter(|t| !t.is_empty())));
                }
                let postmortems: std::collections::HashMap<i64, (String, Option<Timestamp>)> =
                    postmortems.into_iter().map(|(number, state, impact)| (number, (state, ms(impact)))).collect();
                let incidents = incidents
                    .into_iter()
                    .map(|(number, severity, kind, drill, detected, ack, contained, first_resolved, resolved, closed, reopens, service, first_alert)| {
                        let pm = postmortems.get(&number);
                        let (service, team) = match service.and_then(|s| by_service.get(&s)) {
                            Some((name, team)) => (Some(name.clone()), team.clone()),
                            None => (None, None),
                        };
                        Ok(IncidentFacts {
                            number,
                            severity,
                            kind,
                            service,
                            team,
                            drill: drill != 0,
                            detected_at: ms(detected).ok_or_else(|| corrupt("detected_at", "missing"))?,
                            first_alert_at: ms(first_alert),
                            impact_started_at: pm.and_then(|(_, at)| *at),
                            first_acknowledged_at: ms(ack),
                            first_contained_at: ms(contained),
                            first_resolved_at: ms(first_resolved),
                            resolved_at: ms(resolved),
                            closed_at: ms(closed),
                            reopened: u32::try_from(reopens.max(0)).unwrap_or(u32::MAX),
                            has_postmortem: pm.is_some(),
                            postmortem_published: pm.is_some_and(|(state, _)| state == "published"),
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                let names: std::collections::HashMap<uuid::Uuid, String> =
                    users.iter().map(|r| Ok((get(r, "id")?, get(r, "name")?))).collect::<StoreResult<_>>()?;
                // One page to several of a person's contact methods is queued at one instant: one page.
                let mut seen = std::collections::HashSet::with_capacity(pages.len());
                let pages = pages
                    .into_iter()
                    .filter_map(|(user, at)| {
                        let (user, at) = (user?, ms(at)?);
                        seen.insert((user, at)).then(|| PageFacts {
                            user_id: UserId(user),
                            user_name: names.get(&user).cloned().unwrap_or_else(|| "(deleted user)".to_owned()),
                            at,
                        })
                    })
                    .collect();
                let actions = actions
                    .into_iter()
                    .filter_map(|(created, due, closed)| {
                        Some(ActionFacts {
                            created_at: ms(created)?,
                            due_on: due,
                            closed_at: ms(closed),
                        })
                    })
                    .collect();
                Ok(AnalyticsInput { incidents, pages, actions, noisy_sources, noisy_fingerprints })
            }
        }
    };
}
