//! The SQL of incidents and their timelines, shared by every backend: declaring and changing
//! incidents, timeline entries and participants, and whom a restricted incident is visible
//! to. Expanded by [`impl_sql_store!`] inside its module.

/// Implements `IncidentStore` and the incident and timeline writes the other aggregates call.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_incidents {
    ($store:ident, $for_update:literal) => {
        use $crate::{IncidentFilter, IncidentStore, Participant, TimelineEntry};
        use firebreak_domain::NewIncident;

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

        fn timeline_from_row(row: &DbRow) -> StoreResult<TimelineEntry> {
            let via: String = get(row, "via")?;
            Ok($crate::sql_from_row!(row => TimelineEntry {
                seq,
                incident_id: IncidentId,
                at,
                actor_id: Option<UserId>,
                actor_name,
                via = via_of(&via),
                event = get::<Json<TimelineEvent>>(row, "data")?.0,
                from_number,
            }))
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

        async fn write_incident(tx: &mut Tx, i: &Incident, insert: bool) -> StoreResult<()> {
            let sql = if insert {
                "INSERT INTO incidents (id, number, title, summary, severity, kind, status, services, tags, \
                 commander_id, communications_id, scribe_id, created_by, detected_at, acknowledged_at, \
                 contained_at, resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles, merged_into, \
                 first_acknowledged_at, first_contained_at, first_resolved_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $15, $16, $17)"
            } else {
                "UPDATE incidents SET number = $2, title = $3, summary = $4, severity = $5, kind = $6, \
                 status = $7, services = $8, tags = $9, commander_id = $10, communications_id = $11, \
                 scribe_id = $12, created_by = $13, detected_at = $14, acknowledged_at = $15, \
                 contained_at = $16, resolved_at = $17, closed_at = $18, updated_at = $19, service_id = $20, group_key = $21, \
                 restricted = $22, other_roles = $23, merged_into = $24, \
                 first_acknowledged_at = COALESCE(first_acknowledged_at, $15), first_contained_at = COALESCE(first_contained_at, $16), \
                 first_resolved_at = COALESCE(first_resolved_at, $17), \
                 reopen_count = reopen_count + CASE WHEN $7 = 'triggered' AND status <> 'triggered' THEN 1 ELSE 0 END WHERE id = $1"
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
                .bind(i.merged_into.map(|m| m.0))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            Ok(())
        }

        fn incident_target(id: IncidentId) -> String {
            format!("incident:{id}")
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
                let drill = new.drill;
                let out = Incident::declare(IncidentId::new(), number, new, actor.user_id, at);
                write_incident(&mut tx, &out.incident, true).await?;
                if drill {
                    sqlx::query("UPDATE incidents SET drill = $1 WHERE id = $2").bind(true).bind(out.incident.id.0).execute(&mut *tx).await.map_err(db_err)?;
                }
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
                load_incident(&self.pool, r, false).await
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
                let items = fetch_all_as(&self.pool, qb.build(), incident_from_row).await?;
                Ok(page_of(items, limit, |i| i.number))
            }

            async fn change_incident(&self, r: IncidentRef, change: IncidentChange, actor: &Actor) -> StoreResult<Incident> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let current = load_incident(&mut *tx, r, true).await?;
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

            async fn merge_incidents(&self, from: IncidentId, into: IncidentId, actor: &Actor) -> StoreResult<$crate::Merged> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                // Lock in id order, so two merges crossing each other cannot deadlock.
                let (first, second) = if from.0 <= into.0 { (from, into) } else { (into, from) };
                let a = load_incident(&mut *tx, IncidentRef::Id(first), true).await?;
                let b = if first == second { a.clone() } else { load_incident(&mut *tx, IncidentRef::Id(second), true).await? };
                let (source, target) = if a.id == from { (a, b) } else { (b, a) };
                let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE incident_id = $1")
                    .bind(source.id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timeline_entries WHERE incident_id = $1")
                    .bind(source.id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
                let (out, absorbed) = source.merge_into(&target, count(alerts), count(entries), at)?;
                // The merged incident's history, as it was, joins the target's (marked with
                // where it came from); entries already copied in from elsewhere keep their mark.
                sqlx::query(
                    "INSERT INTO timeline_entries (incident_id, at, actor_id, actor_name, via, kind, data, from_number) \
                     SELECT $1, at, actor_id, actor_name, via, kind, data, COALESCE(from_number, $2) FROM timeline_entries \
                     WHERE incident_id = $3 ORDER BY seq",
                )
                .bind(target.id.0)
                .bind(source.number)
                .bind(source.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE alerts SET incident_id = $1 WHERE incident_id = $2")
                    .bind(target.id.0)
                    .bind(source.id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                recount_first_alert(&mut tx, &[source.id, target.id]).await?;
                // Whoever worked the merged incident may see and work the one it went into.
                sqlx::query(
                    "INSERT INTO incident_participants (incident_id, user_id, since) \
                     SELECT $1, user_id, since FROM incident_participants WHERE incident_id = $2 ON CONFLICT DO NOTHING",
                )
                .bind(target.id.0)
                .bind(source.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                write_incident(&mut tx, &out.incident, false).await?;
                insert_timeline(&mut tx, source.id, actor, at, &out.events).await?;
                follow_incident(&mut tx, Some(&source), &out.incident, actor, at).await?;
                let mut merged_target = target.clone();
                merged_target.updated_at = at;
                write_incident(&mut tx, &merged_target, false).await?;
                insert_timeline(&mut tx, target.id, actor, at, std::slice::from_ref(&absorbed)).await?;
                let details = serde_json::json!({
                    "number": source.number, "into": target.number, "alerts": alerts, "entries": entries,
                });
                audit_in_tx(&mut tx, actor, "incident.merge", &incident_target(source.id), details, at).await?;
                let details = serde_json::json!({
                    "number": target.number, "from": source.number, "alerts": alerts, "entries": entries,
                });
                audit_in_tx(&mut tx, actor, "incident.merge_in", &incident_target(target.id), details, at).await?;
                for id in [source.id, target.id] {
                    $store::notify_in_tx(&mut *tx, &ChangeNotice::Incident(id)).await.map_err(db_err)?;
                }
                commit(self, tx).await?;
                self.notify_after_commit(ChangeNotice::Incident(source.id));
                self.notify_after_commit(ChangeNotice::Incident(target.id));
                Ok($crate::Merged { from: out.incident, into: merged_target, alerts: count(alerts), entries: count(entries) })
            }

            async fn timeline(&self, id: IncidentId) -> StoreResult<Vec<TimelineEntry>> {
                let q = sqlx::query(
                    "SELECT seq, incident_id, at, actor_id, actor_name, via, data, from_number FROM timeline_entries \
                     WHERE incident_id = $1 ORDER BY at, seq",
                )
                .bind(id.0);
                fetch_all_as(&self.pool, q, timeline_from_row).await
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

            async fn participants(&self, id: IncidentId) -> StoreResult<Vec<Participant>> {
                let q = sqlx::query(
                    "SELECT p.user_id, u.name, p.since FROM incident_participants p JOIN users u ON u.id = p.user_id \
                     WHERE p.incident_id = $1 ORDER BY p.since, u.name",
                )
                .bind(id.0);
                fetch_all_as(&self.pool, q, |r| Ok($crate::sql_from_row!(r => Participant { user_id: UserId, name, since }))).await
            }

            async fn is_participant(&self, id: IncidentId, user: UserId) -> StoreResult<bool> {
                let probe = sqlx::query("SELECT CAST(1 AS BIGINT) FROM incident_participants WHERE incident_id = $1 AND user_id = $2")
                    .bind(id.0)
                    .bind(user.0);
                found(self, probe).await
            }
        }
    };
}
