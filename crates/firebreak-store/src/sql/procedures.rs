//! The SQL of incident procedures, shared by every backend: playbooks run on incidents (their
//! checklists, late steps) and stakeholder communication (updates and their cadence, group
//! notices, emails to stakeholders). Expanded by [`impl_sql_store!`] inside its module.

/// Implements `ChecklistStore` and `UpdateStore`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_procedures {
    ($store:ident, $for_update:literal) => {
        use $crate::{AttachedPlaybook, ChecklistEntry, ChecklistStore};
        use $crate::{GroupNotice, StakeholderMessage, UpdateCadence, UpdateStore};
        use firebreak_domain::Severity;

        const CHECKLIST_COLS: &str = "position, phase, title, kind, role, due_at, state, done_by, done_at";

        fn checklist_from_row(row: &DbRow) -> StoreResult<ChecklistEntry> {
            Ok($crate::sql_from_row!(row => ChecklistEntry {
                position = get::<i64>(row, "position")?.clamp(0, i64::from(u32::MAX)) as u32,
                phase,
                title,
                kind: json,
                role,
                due_at,
                state,
                done_by: Option<UserId>,
                done_at,
            }))
        }

        async fn load_checklist(
            conn: &sqlx::Pool<Db>,
            incident: IncidentId,
        ) -> StoreResult<Option<(AttachedPlaybook, Vec<ChecklistEntry>)>> {
            let q = sqlx::query("SELECT name, title, version, attached_at FROM incident_playbooks WHERE incident_id = $1").bind(incident.0);
            let decode = |row: &DbRow| Ok($crate::sql_from_row!(row => AttachedPlaybook { name, title, version, attached_at }));
            let Some(attached) = fetch_optional_as(conn, q, decode).await? else {
                return Ok(None);
            };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CHECKLIST_COLS} FROM checklist_items WHERE incident_id = $1 ORDER BY position")))
                .bind(incident.0);
            Ok(Some((attached, fetch_all_as(conn, q, checklist_from_row).await?)))
        }

        /// One checklist item, locked for the rest of the transaction.
        async fn lock_item(tx: &mut Tx, incident: IncidentId, position: u32) -> StoreResult<ChecklistEntry> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {CHECKLIST_COLS} FROM checklist_items WHERE incident_id = $1 AND position = $2{}",
                $for_update
            )))
            .bind(incident.0)
            .bind(i64::from(position));
            fetch_found_as(&mut **tx, q, "checklist item", checklist_from_row).await
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
                    if let Some(esc) = load_escalation(&mut **tx, incident.id, true).await?
                        && step_escalation(tx, &esc, now, Some(actor)).await?
                    {
                        to.push("the next escalation level".to_owned());
                    }
                }
            }
            Ok(to)
        }


        #[async_trait::async_trait]
        impl ChecklistStore for $store {
            async fn process_late_steps(&self, now: Timestamp, escalate_after: chrono::TimeDelta) -> StoreResult<usize> {
                const LATE: &str = "state = 'open' AND due_at IS NOT NULL AND due_at <= $1 \
                    AND (reminded_at IS NULL OR (escalated_at IS NULL AND reminded_at <= $2))";
                let probe = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT CAST(1 AS BIGINT) FROM checklist_items WHERE {LATE} LIMIT 1")))
                    .bind(now)
                    .bind(now - escalate_after);
                if !found(self, probe).await? {
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
                    let incident = load_incident(&mut *tx, IncidentRef::Id(incident_id), false).await?;
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
                let i = load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
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

        /// Queues an email to each address.
        async fn queue_emails(tx: &mut Tx, incident: IncidentId, addresses: &[String], subject: &str, body: &str, now: Timestamp) -> StoreResult<()> {
            for address in addresses {
                sqlx::query(
                    "INSERT INTO stakeholder_messages (id, incident_id, address, subject, body, status, attempts, due_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(incident.0)
                .bind(address)
                .bind(subject)
                .bind(body)
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            }
            Ok(())
        }

        /// Whether the one-off notice `key` was given for the incident already (a read before
        /// any write transaction, so repeated checks cost no write).
        async fn notice_given(store: &$store, incident: IncidentId, key: &str) -> StoreResult<bool> {
            let probe = sqlx::query("SELECT CAST(1 AS BIGINT) FROM incident_notices WHERE incident_id = $1 AND notice = $2")
                .bind(incident.0)
                .bind(key);
            found(store, probe).await
        }

        /// Records that the one-off notice `key` is given for the incident; false when it was
        /// already (another replica, or a round that raced this one).
        async fn give_notice(tx: &mut Tx, incident: IncidentId, key: &str, at: Timestamp) -> StoreResult<bool> {
            let fresh = sqlx::query("INSERT INTO incident_notices (incident_id, notice, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(incident.0)
                .bind(key)
                .bind(at)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            Ok(fresh > 0)
        }

        #[async_trait::async_trait]
        impl UpdateStore for $store {
            async fn record_update(
                &self,
                incident: IncidentId,
                event: TimelineEvent,
                subject: &str,
                body: &str,
                addresses: &[String],
                next_due: Option<Timestamp>,
                actor: &Actor,
            ) -> StoreResult<()> {
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let i = load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
                if i.status == IncidentStatus::Closed {
                    return Err(StoreError::Conflict(format!("INC-{} is closed", i.number)));
                }
                insert_timeline(&mut tx, incident, actor, now, std::slice::from_ref(&event)).await?;
                queue_emails(&mut tx, incident, addresses, subject, body, now).await?;
                // Without a next due time the cadence stays as it is (the engine ends it for
                // incidents that resolved or whose severity has none).
                if let Some(due) = next_due {
                    sqlx::query(
                        "INSERT INTO update_cadence (incident_id, due_at, reminded_at, escalated_at) VALUES ($1, $2, NULL, NULL) \
                         ON CONFLICT (incident_id) DO UPDATE SET due_at = excluded.due_at, reminded_at = NULL, escalated_at = NULL",
                    )
                    .bind(incident.0)
                    .bind(due)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                let details = serde_json::json!({ "number": i.number, "update": event, "emails": addresses.len() });
                audit_in_tx(&mut tx, actor, "incident.update_sent", &incident_target(incident), details, now).await?;
                commit_announcing(self, tx, vec![incident], None).await
            }

            async fn update_cadence(&self, incident: IncidentId) -> StoreResult<Option<UpdateCadence>> {
                let row = sqlx::query("SELECT due_at, reminded_at, escalated_at FROM update_cadence WHERE incident_id = $1")
                    .bind(incident.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.map(|r| Ok(UpdateCadence { due_at: get(&r, "due_at")?, reminded_at: get(&r, "reminded_at")?, escalated_at: get(&r, "escalated_at")? }))
                    .transpose()
            }

            async fn process_update_cadence(
                &self,
                now: Timestamp,
                every: &[(Severity, u32)],
                escalate_after: chrono::TimeDelta,
            ) -> StoreResult<usize> {
                let minutes = |s: Severity| every.iter().find(|(sev, _)| *sev == s).map(|(_, m)| i64::from(*m));
                // Open incidents whose severity has a cadence and that have none yet.
                let mut unstarted = Vec::new();
                if !every.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
                        "SELECT id, severity, detected_at FROM incidents i WHERE status IN {OPEN_STATUSES} AND severity IN ("
                    ));
                    let mut sep = qb.separated(", ");
                    for (s, _) in every {
                        sep.push_bind(s.as_str());
                    }
                    qb.push(") AND NOT EXISTS (SELECT 1 FROM update_cadence c WHERE c.incident_id = i.id) LIMIT 500");
                    for r in qb.build().fetch_all(&self.pool).await.map_err(db_err)? {
                        let severity: Severity = parse_word(&r, "severity")?;
                        let detected: Timestamp = get(&r, "detected_at")?;
                        if let Some(m) = minutes(severity) {
                            unstarted.push((IncidentId(get(&r, "id")?), detected + chrono::TimeDelta::minutes(m)));
                        }
                    }
                }
                const LATE: &str = "due_at <= $1 AND (reminded_at IS NULL OR (escalated_at IS NULL AND reminded_at <= $2))";
                let probe = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT CAST(1 AS BIGINT) FROM update_cadence WHERE {LATE} LIMIT 1")))
                    .bind(now)
                    .bind(now - escalate_after);
                if unstarted.is_empty() && !found(self, probe).await? {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                for (id, due) in &unstarted {
                    sqlx::query("INSERT INTO update_cadence (incident_id, due_at) VALUES ($1, $2) ON CONFLICT (incident_id) DO NOTHING")
                        .bind(id.0)
                        .bind(*due)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT incident_id, due_at, reminded_at FROM update_cadence WHERE {LATE} ORDER BY due_at LIMIT 100{SKIP_LOCKED}"
                )))
                .bind(now)
                .bind(now - escalate_after)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let actor = Actor::system("updates", Via::System);
                let mut touched = Vec::new();
                for row in &rows {
                    let id = IncidentId(get(row, "incident_id")?);
                    let due: Timestamp = get(row, "due_at")?;
                    let reminded: Option<Timestamp> = get(row, "reminded_at")?;
                    let incident = load_incident(&mut *tx, IncidentRef::Id(id), true).await?;
                    if !incident.status.is_open() || minutes(incident.severity).is_none() {
                        sqlx::query("DELETE FROM update_cadence WHERE incident_id = $1").bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
                        continue;
                    }
                    let escalated = reminded.is_some();
                    let column = if escalated { "escalated_at" } else { "reminded_at" };
                    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE update_cadence SET {column} = $1 WHERE incident_id = $2")))
                        .bind(now)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let owner = incident.communications.or(incident.commander);
                    let whose = if escalated { "is still overdue" } else { "is due" };
                    let payload = serde_json::json!({
                        "subject": format!("[Firebreak] INC-{}: a stakeholder update {whose}", incident.number),
                        "text": format!(
                            "A stakeholder update for INC-{} ({}) was due at {}. Send one from the incident's Updates page.",
                            incident.number,
                            incident.title,
                            firebreak_domain::time::canonical(due)
                        ),
                    });
                    let key = format!("update:{id}:{}:{column}", firebreak_domain::time::canonical(due));
                    let to = remind_or_escalate(&mut tx, "update_reminder", &incident, owner, escalated, &key, payload, now, &actor).await?;
                    insert_timeline(&mut tx, id, &actor, now, &[TimelineEvent::UpdateLate { escalated, to }]).await?;
                    touched.push(id);
                }
                let n = touched.len() + unstarted.len();
                commit_announcing(self, tx, touched, None).await?;
                Ok(n)
            }

            async fn notify_group(&self, incident: IncidentId, notice: &GroupNotice<'_>, actor: &Actor) -> StoreResult<Option<Vec<String>>> {
                if notice_given(self, incident, notice.key).await? {
                    return Ok(None);
                }
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
                if !give_notice(&mut tx, incident, notice.key, notice.at).await? {
                    return Ok(None);
                }
                let payload = serde_json::json!({ "subject": notice.subject, "text": notice.text });
                let mut to = Vec::new();
                for user in notice.users {
                    let key = format!("{}:{incident}:{user}", notice.key);
                    to.extend(notify_user(&mut tx, "update", *user, &key, payload.clone(), now).await?);
                }
                queue_emails(&mut tx, incident, notice.addresses, notice.subject, notice.text, now).await?;
                to.extend(notice.addresses.iter().cloned());
                let event = TimelineEvent::StakeholdersNotified { group: notice.group.to_owned(), reason: notice.reason.to_owned(), to: to.clone() };
                insert_timeline(&mut tx, incident, actor, now, &[event]).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(Some(to))
            }

            async fn escalate_with(
                &self,
                incident: IncidentId,
                policy: firebreak_domain::EscalationPolicyId,
                policy_name: &str,
                reason: &str,
                key: &str,
            ) -> StoreResult<bool> {
                if notice_given(self, incident, key).await? {
                    return Ok(false);
                }
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let i = load_incident(&mut *tx, IncidentRef::Id(incident), true).await?;
                let fresh = give_notice(&mut tx, incident, key, now).await?;
                let current: Option<uuid::Uuid> = sqlx::query_scalar("SELECT policy_id FROM escalations WHERE incident_id = $1")
                    .bind(incident.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // Once acknowledged, nobody needs paging; on the policy already, nothing changes.
                if !fresh || i.status != IncidentStatus::Triggered || current == Some(policy.0) {
                    commit(self, tx).await?;
                    return Ok(false);
                }
                start_escalation(&mut tx, incident, policy.0, now).await?;
                let actor = Actor::system("procedures", Via::System);
                let event = TimelineEvent::EscalationPolicyChosen { policy: policy_name.to_owned(), reason: reason.to_owned() };
                insert_timeline(&mut tx, incident, &actor, now, &[event]).await?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(true)
            }

            async fn unacknowledged_group_notices(&self, before: Timestamp) -> StoreResult<Vec<(Incident, String, Timestamp)>> {
                let cols: String = INCIDENT_COLS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ");
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols}, n.notice AS notice_key, n.at AS notice_at FROM incident_notices n JOIN incidents i ON i.id = n.incident_id \
                     WHERE i.status = 'triggered' AND n.notice LIKE '%group:%' AND n.at <= $1 ORDER BY n.at LIMIT 1000"
                )))
                .bind(before)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(|r| Ok((incident_from_row(r)?, get(r, "notice_key")?, get(r, "notice_at")?))).collect()
            }

            async fn open_incidents_changed_since(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<Incident>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {INCIDENT_COLS} FROM incidents WHERE updated_at >= $1 AND status IN {OPEN_STATUSES} ORDER BY updated_at LIMIT $2"
                )))
                .bind(since)
                .bind(i64::from(limit.max(1)))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(incident_from_row).collect()
            }

            async fn claim_stakeholder_messages(
                &self,
                now: Timestamp,
                lease: chrono::TimeDelta,
                limit: u32,
            ) -> StoreResult<Vec<StakeholderMessage>> {
                let probe = sqlx::query("SELECT CAST(1 AS BIGINT) FROM stakeholder_messages WHERE status = 'pending' AND due_at <= $1 LIMIT 1").bind(now);
                if !found(self, probe).await? {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT id, incident_id, channel, kind, address, secret, unsubscribe_url, subject, body, attempts FROM stakeholder_messages \
                     WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at LIMIT $2{SKIP_LOCKED}"
                )))
                .bind(now)
                .bind(i64::from(limit.max(1)))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id: uuid::Uuid = get(r, "id")?;
                    sqlx::query("UPDATE stakeholder_messages SET due_at = $1, attempts = attempts + 1 WHERE id = $2")
                        .bind(now + lease)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    out.push(StakeholderMessage {
                        id,
                        incident_id: get::<Option<uuid::Uuid>>(r, "incident_id")?.map(IncidentId),
                        channel: get(r, "channel")?,
                        kind: get(r, "kind")?,
                        address: get(r, "address")?,
                        secret: get(r, "secret")?,
                        unsubscribe_url: get(r, "unsubscribe_url")?,
                        subject: get(r, "subject")?,
                        body: get(r, "body")?,
                        attempts: get::<i64>(r, "attempts")? + 1,
                    });
                }
                commit(self, tx).await?;
                Ok(out)
            }

            async fn finish_stakeholder_messages(&self, results: &[(uuid::Uuid, $crate::DeliveryOutcome)], now: Timestamp) -> StoreResult<()> {
                if results.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let actor = Actor::system("updates", Via::System);
                let mut touched = Vec::new();
                for (id, outcome) in results {
                    match outcome {
                        $crate::DeliveryOutcome::Sent { .. } => {
                            sqlx::query("UPDATE stakeholder_messages SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                                .bind(now)
                                .bind(*id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        $crate::DeliveryOutcome::Retry { error, at } => {
                            sqlx::query("UPDATE stakeholder_messages SET due_at = $1, last_error = $2 WHERE id = $3")
                                .bind(*at)
                                .bind(error)
                                .bind(*id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        $crate::DeliveryOutcome::Failed { error } => {
                            let row = sqlx::query(
                                "UPDATE stakeholder_messages SET status = 'failed', last_error = $1 WHERE id = $2 AND status = 'pending' \
                                 RETURNING incident_id, address, subject",
                            )
                            .bind(error)
                            .bind(*id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db_err)?;
                            // A subscriber's message belongs to no incident: its failure stays on its row.
                            if let Some((r, incident)) = row.and_then(|r| match get::<Option<uuid::Uuid>>(&r, "incident_id") {
                                Ok(Some(id)) => Some((r, IncidentId(id))),
                                _ => None,
                            }) {
                                let event = TimelineEvent::StakeholderMessageFailed {
                                    address: get(&r, "address")?,
                                    subject: get(&r, "subject")?,
                                    reason: error.clone(),
                                };
                                insert_timeline(&mut tx, incident, &actor, now, &[event]).await?;
                                if !touched.contains(&incident) {
                                    touched.push(incident);
                                }
                            }
                        }
                    }
                }
                commit_announcing(self, tx, touched, None).await
            }
        }
    };
}
