//! The SQL of playbooks run on incidents, shared by every backend; expanded by
//! [`impl_sql_store!`] inside its module.

/// Implements `ChecklistStore`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_checklists {
    ($store:ident, $for_update:literal) => {
        use $crate::{AttachedPlaybook, ChecklistEntry, ChecklistStore};

        const CHECKLIST_COLS: &str = "position, phase, title, kind, role, due_at, state, done_by, done_at";

        fn checklist_from_row(row: &DbRow) -> StoreResult<ChecklistEntry> {
            Ok(ChecklistEntry {
                position: get::<i64>(row, "position")?.clamp(0, i64::from(u32::MAX)) as u32,
                phase: get(row, "phase")?,
                title: get(row, "title")?,
                kind: get::<Json<firebreak_domain::procedures::playbook::StepKind>>(row, "kind")?.0,
                role: get(row, "role")?,
                due_at: get(row, "due_at")?,
                state: get(row, "state")?,
                done_by: get::<Option<uuid::Uuid>>(row, "done_by")?.map(UserId),
                done_at: get(row, "done_at")?,
            })
        }

        async fn load_checklist(
            conn: &sqlx::Pool<Db>,
            incident: IncidentId,
        ) -> StoreResult<Option<(AttachedPlaybook, Vec<ChecklistEntry>)>> {
            let Some(row) = sqlx::query("SELECT name, title, version, attached_at FROM incident_playbooks WHERE incident_id = $1")
                .bind(incident.0)
                .fetch_optional(conn)
                .await
                .map_err(db_err)?
            else {
                return Ok(None);
            };
            let attached = AttachedPlaybook {
                name: get(&row, "name")?,
                title: get(&row, "title")?,
                version: get(&row, "version")?,
                attached_at: get(&row, "attached_at")?,
            };
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {CHECKLIST_COLS} FROM checklist_items WHERE incident_id = $1 ORDER BY position"
            )))
            .bind(incident.0)
            .fetch_all(conn)
            .await
            .map_err(db_err)?;
            Ok(Some((attached, rows.iter().map(checklist_from_row).collect::<StoreResult<Vec<_>>>()?)))
        }

        /// One checklist item, locked for the rest of the transaction.
        async fn lock_item(tx: &mut Tx, incident: IncidentId, position: u32) -> StoreResult<ChecklistEntry> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {CHECKLIST_COLS} FROM checklist_items WHERE incident_id = $1 AND position = $2{}",
                $for_update
            )))
            .bind(incident.0)
            .bind(i64::from(position))
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("checklist item"))?;
            checklist_from_row(&row)
        }

        /// Tells the owner of late work (`escalated` false), or escalates it: to the commander
        /// when they are not the owner, else to the next level of the incident's escalation
        /// policy. Returns who heard.
        #[allow(clippy::too_many_arguments)]
        async fn remind_or_escalate(
            tx: &mut Tx,
            kind: &str,
            incident: &Incident,
            owner: Option<UserId>,
            escalated: bool,
            key: &str,
            payload: serde_json::Value,
            now: Timestamp,
            actor: &Actor,
        ) -> StoreResult<Vec<String>> {
            let mut to = Vec::new();
            if !escalated {
                if let Some(owner) = owner {
                    to.extend(notify_user(tx, kind, owner, key, payload, now).await?);
                }
                return Ok(to);
            }
            match incident.commander.filter(|c| Some(*c) != owner) {
                Some(commander) => to.extend(notify_user(tx, kind, commander, key, payload, now).await?),
                None => {
                    if let Some(esc) = load_escalation(tx, incident.id).await?
                        && step_escalation(tx, &esc, now, Some(actor)).await?
                    {
                        to.push("the next escalation level".to_owned());
                    }
                }
            }
            Ok(to)
        }

        /// Queues a message to `user`'s verified methods that have an immediate rule; returns
        /// the user's name when they exist and are enabled.
        async fn notify_user(tx: &mut Tx, kind: &str, user: UserId, key: &str, payload: serde_json::Value, now: Timestamp) -> StoreResult<Option<String>> {
            let person = match load_user(&mut **tx, user).await {
                Ok(u) if !u.disabled => u,
                Ok(_) | Err(StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let methods = sqlx::query(
                "SELECT DISTINCT r.contact_method_id FROM notification_rules r JOIN contact_methods c ON c.id = r.contact_method_id \
                 WHERE r.user_id = $1 AND r.delay_minutes = 0 AND c.verified_at IS NOT NULL",
            )
            .bind(user.0)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
            for m in &methods {
                let method = ContactMethodId(get(m, "contact_method_id")?);
                let dedupe = format!("{key}:{method}");
                enqueue(tx, Outgoing { kind, dedupe_key: &dedupe, user_id: user, method, incident: None, payload: payload.clone(), due_at: now }, now).await?;
            }
            Ok(Some(person.name))
        }

        #[async_trait::async_trait]
        impl ChecklistStore for $store {
            async fn process_late_steps(&self, now: Timestamp, escalate_after: chrono::TimeDelta) -> StoreResult<usize> {
                const LATE: &str = "state = 'open' AND due_at IS NOT NULL AND due_at <= $1 \
                    AND (reminded_at IS NULL OR (escalated_at IS NULL AND reminded_at <= $2))";
                let any: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT CAST(1 AS BIGINT) FROM checklist_items WHERE {LATE} LIMIT 1")))
                    .bind(now)
                    .bind(now - escalate_after)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                if any.is_none() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT incident_id, position, title, role, reminded_at FROM checklist_items WHERE {LATE} ORDER BY due_at LIMIT 100{SKIP_LOCKED}"
                )))
                .bind(now)
                .bind(now - escalate_after)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let actor = Actor::system("checklist", Via::System);
                let mut touched = Vec::new();
                for row in &rows {
                    let incident_id = IncidentId(get(row, "incident_id")?);
                    let position: i64 = get(row, "position")?;
                    let title: String = get(row, "title")?;
                    let role: Option<String> = get(row, "role")?;
                    let reminded: Option<Timestamp> = get(row, "reminded_at")?;
                    let irow = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1")))
                        .bind(incident_id.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let incident = incident_from_row(&irow)?;
                    let column = if reminded.is_none() { "reminded_at" } else { "escalated_at" };
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE checklist_items SET {column} = $1 WHERE incident_id = $2 AND position = $3"
                    )))
                    .bind(now)
                    .bind(incident_id.0)
                    .bind(position)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    if !incident.status.is_open() {
                        continue;
                    }
                    let owner = role.as_deref().and_then(|r| incident.role_holder(r)).or(incident.commander);
                    let payload = |escalated: bool| {
                        let whose = if escalated { "still not done" } else { "late" };
                        serde_json::json!({
                            "subject": format!("[Firebreak] INC-{}: \"{}\" is {whose}", incident.number, title),
                            "text": format!(
                                "The playbook step \"{title}\" of INC-{} ({}) was due and is {whose}. Check it off or skip it on the incident page.",
                                incident.number, incident.title
                            ),
                        })
                    };
                    let key = format!("late:{incident_id}:{position}:{column}");
                    let escalated = reminded.is_some();
                    let to = remind_or_escalate(&mut tx, "reminder", &incident, owner, escalated, &key, payload(escalated), now, &actor).await?;
                    let event = TimelineEvent::ChecklistItemLate {
                        position: position.clamp(0, i64::from(u32::MAX)) as u32,
                        title,
                        escalated,
                        to,
                    };
                    insert_timeline(&mut tx, incident_id, &actor, now, &[event]).await?;
                    if !touched.contains(&incident_id) {
                        touched.push(incident_id);
                    }
                }
                commit_announcing(self, tx, touched, None).await?;
                Ok(rows.len())
            }

            async fn attach_playbook(
                &self,
                incident: IncidentId,
                playbook: &firebreak_domain::procedures::playbook::Playbook,
                actor: &Actor,
            ) -> StoreResult<(AttachedPlaybook, Vec<ChecklistEntry>)> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {INCIDENT_COLS} FROM incidents WHERE id = $1{}", $for_update)))
                    .bind(incident.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("incident"))?;
                let i = incident_from_row(&row)?;
                if i.status == IncidentStatus::Closed {
                    return Err(StoreError::Conflict(format!("INC-{} is closed", i.number)));
                }
                let existing: Option<String> = sqlx::query_scalar("SELECT name FROM incident_playbooks WHERE incident_id = $1")
                    .bind(incident.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(name) = existing {
                    return Err(StoreError::Conflict(format!("INC-{} already runs the playbook {name:?}", i.number)));
                }
                sqlx::query("INSERT INTO incident_playbooks (incident_id, name, title, version, attached_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(incident.0)
                    .bind(&playbook.name)
                    .bind(&playbook.title)
                    .bind(&playbook.content_hash)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let mut entries = Vec::new();
                for item in playbook.checklist(i.detected_at) {
                    sqlx::query(
                        "INSERT INTO checklist_items (incident_id, position, phase, title, kind, role, due_at, state) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
                    )
                    .bind(incident.0)
                    .bind(i64::from(item.position))
                    .bind(&item.phase)
                    .bind(&item.title)
                    .bind(Json(&item.kind))
                    .bind(&item.role)
                    .bind(item.due_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    entries.push(ChecklistEntry {
                        position: item.position,
                        phase: item.phase,
                        title: item.title,
                        kind: item.kind,
                        role: item.role,
                        due_at: item.due_at,
                        state: "open".into(),
                        done_by: None,
                        done_at: None,
                    });
                }
                let event = TimelineEvent::PlaybookAttached {
                    name: playbook.name.clone(),
                    title: playbook.title.clone(),
                    version: playbook.content_hash.clone(),
                    steps: playbook.steps.len() as u32,
                };
                insert_timeline(&mut tx, incident, actor, at, &[event]).await?;
                let details = serde_json::json!({ "number": i.number, "playbook": playbook.name, "version": playbook.content_hash });
                audit_in_tx(&mut tx, actor, "incident.attach_playbook", &incident_target(incident), details, at).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                let attached = AttachedPlaybook {
                    name: playbook.name.clone(),
                    title: playbook.title.clone(),
                    version: playbook.content_hash.clone(),
                    attached_at: at,
                };
                Ok((attached, entries))
            }

            async fn incident_checklist(&self, incident: IncidentId) -> StoreResult<Option<(AttachedPlaybook, Vec<ChecklistEntry>)>> {
                load_checklist(&self.pool, incident).await
            }

            async fn record_action(&self, incident: IncidentId, position: u32, event: TimelineEvent, succeeded: bool, actor: &Actor) -> StoreResult<ChecklistEntry> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let mut item = lock_item(&mut tx, incident, position).await?;
                let mut events = vec![event];
                if succeeded && item.state != "done" {
                    sqlx::query("UPDATE checklist_items SET state = 'done', done_by = $1, done_at = $2 WHERE incident_id = $3 AND position = $4")
                        .bind(actor.user_id.map(|u| u.0))
                        .bind(at)
                        .bind(incident.0)
                        .bind(i64::from(position))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    events.push(TimelineEvent::ChecklistItemChanged { position, title: item.title.clone(), state: "done".into() });
                    item = ChecklistEntry { state: "done".into(), done_by: actor.user_id, done_at: Some(at), ..item };
                }
                insert_timeline(&mut tx, incident, actor, at, &events).await?;
                let details = serde_json::json!({ "position": position, "succeeded": succeeded });
                audit_in_tx(&mut tx, actor, "incident.run_action", &incident_target(incident), details, at).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(item)
            }

            async fn set_checklist_item(&self, incident: IncidentId, position: u32, state: &str, actor: &Actor) -> StoreResult<ChecklistEntry> {
                if !["open", "done", "skipped"].contains(&state) {
                    return Err(DomainError::invalid("state", "open, done or skipped").into());
                }
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let item = lock_item(&mut tx, incident, position).await?;
                if item.state == state {
                    return Ok(item);
                }
                let (by, when) = if state == "open" { (None, None) } else { (actor.user_id.map(|u| u.0), Some(at)) };
                sqlx::query("UPDATE checklist_items SET state = $1, done_by = $2, done_at = $3 WHERE incident_id = $4 AND position = $5")
                    .bind(state)
                    .bind(by)
                    .bind(when)
                    .bind(incident.0)
                    .bind(i64::from(position))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let event = TimelineEvent::ChecklistItemChanged { position, title: item.title.clone(), state: state.to_owned() };
                insert_timeline(&mut tx, incident, actor, at, &[event]).await?;
                let details = serde_json::json!({ "position": position, "state": state });
                audit_in_tx(&mut tx, actor, "incident.checklist", &incident_target(incident), details, at).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(ChecklistEntry { state: state.to_owned(), done_by: by.map(UserId), done_at: when, ..item })
            }
        }
    };
}
