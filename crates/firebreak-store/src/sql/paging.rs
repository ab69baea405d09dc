//! The SQL of paging, shared by every backend: on-call schedules and escalation policies,
//! contact methods and notification rules, each incident's escalation (due work), the
//! notification outbox, and the small tables around them (hand-offs, callback nonces,
//! server secrets, calendar feeds). Expanded by [`impl_sql_store!`] inside its module.

/// Implements `ScheduleStore`, `EscalationPolicyStore`, `PagingStore` and the helpers incident
/// writes call to start and stop paging. Claims add `SKIP LOCKED` where there are locks.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_paging {
    ($store:ident, $for_update:literal) => {
        use $crate::{
            CalendarFeed, ClaimedNotification, DeliveryOutcome, EscalationPolicyStore, EscalationState, Named,
            NewContactMethod, NotificationRecord, PagingStore, Schedule, ScheduleStore, VerificationCode, MAX_CODE_ATTEMPTS,
        };
        use firebreak_domain::contact::{ContactKind, ContactMethod, NotificationRule};
        use firebreak_domain::escalation::{
            EscalationDecision, EscalationPolicy, EscalationPolicyDefinition, EscalationProgress, EscalationTarget,
        };
        use firebreak_domain::schedule::{OnCallSchedule, Override, ScheduleDefinition};
        use firebreak_domain::{ContactMethodId, NotificationId, NotificationRuleId, PagedUser, ScheduleId};

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
            Ok($crate::sql_from_row!(row => Named { id = I::from(get(row, "id")?), name, description, definition: json, created_at, updated_at }))
        }

        async fn load_named<'c, E, I, D>(conn: E, t: &NamedTable, id: uuid::Uuid, lock: bool) -> StoreResult<$crate::Named<I, D>>
        where
            E: sqlx::Executor<'c, Database = Db>,
            I: From<uuid::Uuid>,
            D: serde::de::DeserializeOwned,
        {
            let sql = format!("SELECT {NAMED_COLS} FROM {} WHERE id = $1{}", t.table, if lock { $for_update } else { "" });
            fetch_found_as(conn, sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id), t.what, named_from_row).await
        }

        async fn list_named<I: From<uuid::Uuid>, D: serde::de::DeserializeOwned>(store: &$store, t: &NamedTable) -> StoreResult<Vec<$crate::Named<I, D>>> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {NAMED_COLS} FROM {} ORDER BY name", t.table)));
            fetch_all_as(&store.pool, q, named_from_row).await
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
        /// Creates (`id` none) or replaces a schedule or policy; on a replace, `carry` may take
        /// what it must keep from the stored definition (locked) into the new one.
        async fn save_named<I, D>(
            store: &$store,
            t: &NamedTable,
            id: Option<I>,
            (name, description): (&str, &str),
            definition: &D,
            carry: impl Fn(&D, &mut D) -> StoreResult<()> + Send + Sync,
            actor: &Actor,
        ) -> StoreResult<$crate::Named<I, D>>
        where
            I: Copy + Into<uuid::Uuid> + From<uuid::Uuid> + Default + std::fmt::Display,
            D: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync,
        {
            check_named(name, description)?;
            let at = firebreak_domain::time::now();
            let mut tx = store.begin_write().await.map_err(db_err)?;
            let (named, verb) = match id {
                None => ($crate::Named { id: I::default(), name: String::new(), description: String::new(), definition: definition.clone(), created_at: at, updated_at: at }, "create"),
                Some(id) => (load_named(&mut *tx, t, id.into(), true).await?, "update"),
            };
            let mut definition = definition.clone();
            if verb == "update" {
                carry(&named.definition, &mut definition)?;
            }
            let named = $crate::Named { name: name.trim().to_owned(), description: description.trim().to_owned(), definition, updated_at: at, ..named };
            write_named(&mut tx, t, &named, verb == "create").await?;
            let details = serde_json::json!({ "name": named.name, "definition": named.definition });
            audit_in_tx(&mut tx, actor, &format!("{}.{verb}", t.audit), &format!("{}:{}", t.audit, named.id), details, at).await?;
            commit(store, tx).await?;
            Ok(named)
        }

        async fn delete_named(store: &$store, t: &NamedTable, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
            let at = firebreak_domain::time::now();
            let mut tx = store.begin_write().await.map_err(db_err)?;
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {} WHERE id = $1", t.table))).bind(id);
            execute_found(&mut tx, q, t.what).await.map_err(|e| match e {
                StoreError::Domain(_) => StoreError::Conflict(format!("the {} is still in use; point its users elsewhere first", t.what)),
                other => other,
            })?;
            audit_in_tx(&mut tx, actor, &format!("{}.delete", t.audit), &format!("{}:{id}", t.audit), serde_json::json!({}), at).await?;
            commit(store, tx).await
        }

        #[async_trait::async_trait]
        impl ScheduleStore for $store {
            async fn create_schedule(&self, name: &str, description: &str, definition: &ScheduleDefinition, actor: &Actor) -> StoreResult<Schedule> {
                OnCallSchedule::parse(definition.clone())?;
                save_named(self, &SCHEDULES, None, (name, description), definition, |_, _| Ok(()), actor).await
            }

            async fn update_schedule(&self, id: ScheduleId, name: &str, description: &str, definition: &ScheduleDefinition, overrides: $crate::Overrides, actor: &Actor) -> StoreResult<Schedule> {
                OnCallSchedule::parse(definition.clone())?;
                let keep = |stored: &ScheduleDefinition, new: &mut ScheduleDefinition| {
                    if overrides == $crate::Overrides::Keep {
                        new.overrides = stored.overrides.clone();
                        OnCallSchedule::parse(new.clone())?;
                    }
                    Ok(())
                };
                save_named(self, &SCHEDULES, Some(id), (name, description), definition, keep, actor).await
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
                save_named(self, &POLICIES, None, (name, description), definition, |_, _| Ok(()), actor).await
            }

            async fn update_policy(&self, id: EscalationPolicyId, name: &str, description: &str, definition: &EscalationPolicyDefinition, actor: &Actor) -> StoreResult<$crate::EscalationPolicyRecord> {
                EscalationPolicy::parse(definition.clone())?;
                save_named(self, &POLICIES, Some(id), (name, description), definition, |_, _| Ok(()), actor).await
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



        /// Claims skip rows another replica holds (PostgreSQL); SQLite's writer is exclusive.
        const SKIP_LOCKED: &str = if $for_update.is_empty() { "" } else { " FOR UPDATE SKIP LOCKED" };
        const METHOD_COLS: &str = "id, user_id, kind, label, address, verified_at, created_at";
        const ESCALATION_COLS: &str = "incident_id, policy_id, generation, started_at, last_step, last_due_at, due_at, state";
        const NOTIFICATION_COLS: &str = "n.id, n.kind, n.user_id, n.contact_method_id, c.kind AS channel, n.incident_id, \
            n.status, n.attempts, n.due_at, n.sent_at, n.provider, n.last_error, n.created_at";

        fn engine_actor() -> Actor {
            Actor::system("escalation", Via::System)
        }

        fn method_from_row(row: &DbRow) -> StoreResult<ContactMethod> {
            Ok($crate::sql_from_row!(row => ContactMethod {
                id: ContactMethodId,
                user_id: UserId,
                kind: word,
                label,
                address,
                verified_at,
                created_at,
            }))
        }

        fn escalation_from_row(row: &DbRow) -> StoreResult<EscalationState> {
            Ok($crate::sql_from_row!(row => EscalationState {
                incident_id: IncidentId,
                policy_id: EscalationPolicyId,
                generation,
                started_at,
                last_step,
                last_due_at,
                due_at,
                state,
            }))
        }

        fn notification_from_row(row: &DbRow) -> StoreResult<NotificationRecord> {
            Ok($crate::sql_from_row!(row => NotificationRecord {
                id: NotificationId,
                kind,
                user_id: UserId,
                contact_method_id: ContactMethodId,
                channel: word,
                incident_id: Option<IncidentId>,
                status,
                attempts,
                due_at,
                sent_at,
                provider,
                last_error,
                created_at,
            }))
        }

        fn feed_from_row(row: &DbRow) -> StoreResult<CalendarFeed> {
            Ok($crate::sql_from_row!(row => CalendarFeed { id, schedule_id: Option<ScheduleId>, user_id: Option<UserId>, created_by: UserId, created_at }))
        }

        async fn load_method<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: ContactMethodId) -> StoreResult<ContactMethod> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {METHOD_COLS} FROM contact_methods WHERE id = $1"))).bind(id.0);
            fetch_found_as(conn, q, "contact method", method_from_row).await
        }

        /// One outbox row before it is written.
        struct Outgoing<'a> {
            kind: &'a str,
            dedupe_key: &'a str,
            user_id: UserId,
            method: ContactMethodId,
            incident: Option<IncidentId>,
            payload: serde_json::Value,
            due_at: Timestamp,
        }

        /// Writes one outbox row; a row with the same `dedupe_key` already there wins
        /// (idempotent).
        async fn enqueue(tx: &mut Tx, o: Outgoing<'_>, now: Timestamp) -> StoreResult<NotificationId> {
            let Outgoing { kind, dedupe_key, user_id, method, incident, payload, due_at } = o;
            let id = NotificationId::new();
            sqlx::query(
                "INSERT INTO notifications (id, kind, dedupe_key, user_id, contact_method_id, incident_id, payload, status, \
                 due_at, attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, 0, $9) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(id.0)
            .bind(kind)
            .bind(dedupe_key)
            .bind(user_id.0)
            .bind(method.0)
            .bind(incident.map(|i| i.0))
            .bind(Json(payload))
            .bind(due_at)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(id)
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

        fn audit_method(m: &ContactMethod) -> serde_json::Value {
            // The address is personal data: the audit log names the kind and label only.
            serde_json::json!({ "user_id": m.user_id, "kind": m.kind, "label": m.label })
        }

        /// Starts, stops or restarts paging after an incident is written: a new incident of a
        /// service with a policy starts escalating now; acknowledging stops escalation and the
        /// pages still waiting; resolving or closing stops everything; reopening starts over.
        async fn follow_incident(tx: &mut Tx, before: Option<&Incident>, after: &Incident, actor: &Actor, at: Timestamp) -> StoreResult<()> {
            use IncidentStatus as S;
            let reopened = before.is_some_and(|b| !b.status.is_open()) && after.status.is_open();
            if before.is_none() || reopened {
                let Some(service) = after.service_id else { return Ok(()) };
                let policy: Option<uuid::Uuid> = sqlx::query_scalar("SELECT escalation_policy_id FROM services WHERE id = $1")
                    .bind(service.0)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_err)?
                    .flatten();
                let Some(policy) = policy else { return Ok(()) };
                return start_escalation(tx, after.id, policy, at).await;
            }
            let Some(before) = before else { return Ok(()) };
            if before.status == after.status {
                return Ok(());
            }
            let reason = match after.status {
                S::Acknowledged | S::Contained if before.status == S::Triggered => "acknowledged",
                S::Resolved | S::Closed => "resolved",
                _ => return Ok(()),
            };
            stop_escalation(tx, after.id, reason, actor, at).await
        }

        /// Starts (or starts over) an incident's escalation on `policy`: its first step is due at
        /// `at`.
        async fn start_escalation(tx: &mut Tx, incident: IncidentId, policy: uuid::Uuid, at: Timestamp) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO escalations (incident_id, policy_id, generation, started_at, last_step, last_due_at, due_at, state, updated_at) \
                 VALUES ($1, $2, 0, $3, NULL, NULL, $3, 'active', $3) \
                 ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, \
                 generation = escalations.generation + 1, started_at = excluded.started_at, last_step = NULL, \
                 last_due_at = NULL, due_at = excluded.due_at, state = 'active', updated_at = excluded.updated_at",
            )
            .bind(incident.0)
            .bind(policy)
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Ends an incident's escalation and drops its pages still waiting (`reason` goes on
        /// the timeline when an escalation was running).
        async fn stop_escalation(tx: &mut Tx, incident: IncidentId, reason: &str, actor: &Actor, at: Timestamp) -> StoreResult<()> {
            let stopped = sqlx::query("UPDATE escalations SET due_at = NULL, state = $1, updated_at = $2 WHERE incident_id = $3 AND state = 'active'")
                .bind(reason)
                .bind(at)
                .bind(incident.0)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            let cancelled = sqlx::query(
                "UPDATE notifications SET status = 'cancelled', last_error = $1 WHERE incident_id = $2 AND status = 'pending' AND attempts = 0",
            )
            .bind(format!("incident {reason}"))
            .bind(incident.0)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if stopped > 0 || cancelled > 0 {
                let event = TimelineEvent::EscalationStopped { reason: reason.to_owned() };
                insert_timeline(tx, incident, actor, at, &[event]).await?;
            }
            Ok(())
        }

        /// Queues a page for each of `user`'s rules on verified methods. Returns who was paged
        /// and how many rules reach them.
        async fn page_user(tx: &mut Tx, incident: IncidentId, key: &str, user: UserId, now: Timestamp) -> StoreResult<Option<PagedUser>> {
            let person = match load_user(&mut **tx, user).await {
                Ok(u) if !u.disabled => u,
                Ok(_) | Err(StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let rules = sqlx::query(
                "SELECT r.id, r.delay_minutes, r.contact_method_id FROM notification_rules r \
                 JOIN contact_methods c ON c.id = r.contact_method_id WHERE r.user_id = $1 AND c.verified_at IS NOT NULL",
            )
            .bind(user.0)
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
            for r in &rules {
                let rule: uuid::Uuid = get(r, "id")?;
                let delay: i64 = get(r, "delay_minutes")?;
                let method = ContactMethodId(get(r, "contact_method_id")?);
                let due = now + chrono::TimeDelta::minutes(delay);
                let dedupe = format!("page:{incident}:{key}:{rule}");
                enqueue(tx, Outgoing { kind: "page", dedupe_key: &dedupe, user_id: user, method, incident: Some(incident), payload: serde_json::json!({}), due_at: due }, now).await?;
            }
            Ok(Some(PagedUser { id: user, name: person.name, rules: rules.len() as u32 }))
        }

        /// Whom a target means now: the user, or whoever is on call on the schedule.
        async fn resolve_target(tx: &mut Tx, target: &EscalationTarget, now: Timestamp) -> StoreResult<Option<UserId>> {
            match target {
                EscalationTarget::User(u) => Ok(Some(*u)),
                EscalationTarget::Schedule(s) => {
                    let schedule: Schedule = match load_named(&mut **tx, &SCHEDULES, s.0, false).await {
                        Ok(s) => s,
                        Err(StoreError::NotFound(_)) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    Ok(schedule.on_call().ok().and_then(|s| s.on_call_at(now)).map(|o| o.user))
                }
            }
        }

        /// Fires the due (or, with `now_step`, the next) step of one escalation, records it and
        /// schedules the one after. Returns whether a step fired.
        async fn step_escalation(tx: &mut Tx, esc: &EscalationState, now: Timestamp, by_hand: Option<&Actor>) -> StoreResult<bool> {
            let record: $crate::EscalationPolicyRecord = match load_named(&mut **tx, &POLICIES, esc.policy_id.0, false).await {
                Ok(p) => p,
                Err(StoreError::NotFound(_)) => {
                    stop_escalation(tx, esc.incident_id, "no_policy", &engine_actor(), now).await?;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            let policy = record.policy()?;
            let progress = EscalationProgress {
                started_at: esc.started_at,
                last: esc.last_step.zip(esc.last_due_at).map(|(s, at)| (s.clamp(0, i64::from(u32::MAX)) as u32, at)),
            };
            let (step, skipped) = match by_hand {
                Some(_) => match policy.escalate_now(&progress, now) {
                    Some(step) => (step, 0),
                    None => return Ok(false),
                },
                None => match policy.decide(&progress, now) {
                    EscalationDecision::Fire { step, skipped } => (step, skipped),
                    EscalationDecision::WaitUntil(t) => {
                        sqlx::query("UPDATE escalations SET due_at = $1, updated_at = $2 WHERE incident_id = $3")
                            .bind(t)
                            .bind(now)
                            .bind(esc.incident_id.0)
                            .execute(&mut **tx)
                            .await
                            .map_err(db_err)?;
                        return Ok(false);
                    }
                    EscalationDecision::Finished => {
                        stop_escalation(tx, esc.incident_id, "exhausted", &engine_actor(), now).await?;
                        return Ok(false);
                    }
                },
            };
            let level = &policy.definition().levels[step.level];
            let turns = if level.round_robin {
                let name = format!("turn:{}:{}", esc.policy_id, step.level);
                let value: i64 = sqlx::query_scalar(
                    "INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
                )
                .bind(name)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                (value - 1).max(0) as u64
            } else {
                0
            };
            let mut users = Vec::new();
            for target in policy.targets(&step, turns) {
                if let Some(u) = resolve_target(tx, &target, now).await? {
                    if !users.contains(&u) {
                        users.push(u);
                    }
                }
            }
            let key = format!("{}:{}", esc.generation, step.number);
            let mut paged = Vec::new();
            for u in users {
                if let Some(p) = page_user(tx, esc.incident_id, &key, u, now).await? {
                    paged.push(p);
                }
            }
            let event = TimelineEvent::Paged {
                step: step.number,
                level: step.level as u32 + 1,
                cycle: step.cycle + 1,
                skipped,
                reason: if by_hand.is_some() { "escalate_now" } else if esc.generation > 0 && step.number == 0 { "restart" } else { "escalation" }.to_owned(),
                users: paged,
            };
            insert_timeline(tx, esc.incident_id, by_hand.unwrap_or(&engine_actor()), now, &[event]).await?;
            let fired = EscalationProgress { started_at: esc.started_at, last: Some((step.number, step.due_at)) };
            let (due, state) = match policy.decide(&fired, now) {
                EscalationDecision::WaitUntil(t) => (Some(t), "active"),
                EscalationDecision::Fire { step: next, .. } => (Some(next.due_at), "active"),
                EscalationDecision::Finished => (None, "exhausted"),
            };
            sqlx::query(
                "UPDATE escalations SET last_step = $1, last_due_at = $2, due_at = $3, state = $4, updated_at = $5 WHERE incident_id = $6",
            )
            .bind(i64::from(step.number))
            .bind(step.due_at)
            .bind(due)
            .bind(state)
            .bind(now)
            .bind(esc.incident_id.0)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(true)
        }

        /// An incident's escalation, if it has one; with `lock`, its row is locked for the rest of
        /// the transaction.
        async fn load_escalation<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, incident: IncidentId, lock: bool) -> StoreResult<Option<EscalationState>> {
            let lock = if lock { $for_update } else { "" };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ESCALATION_COLS} FROM escalations WHERE incident_id = $1{lock}")))
                .bind(incident.0);
            fetch_optional_as(conn, q, escalation_from_row).await
        }

        async fn open_incident(tx: &mut Tx, incident: IncidentId) -> StoreResult<Incident> {
            let i = load_incident(&mut **tx, IncidentRef::Id(incident), false).await?;
            if !i.status.is_open() {
                return Err(StoreError::Conflict(format!("INC-{} is {}; only open incidents page", i.number, i.status)));
            }
            Ok(i)
        }

        /// The code of a new verification: replaces the old one and queues its message.
        async fn queue_code(tx: &mut Tx, m: &ContactMethod, code: VerificationCode, now: Timestamp) -> StoreResult<()> {
            sqlx::query("UPDATE contact_methods SET code_hash = $1, code_expires_at = $2, code_attempts = 0 WHERE id = $3")
                .bind(&code.hash)
                .bind(code.expires_at)
                .bind(m.id.0)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            // A new code makes the old message pointless.
            sqlx::query("UPDATE notifications SET status = 'cancelled' WHERE contact_method_id = $1 AND kind = 'verification' AND status = 'pending'")
                .bind(m.id.0)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            let key = format!("verification:{}:{}", m.id, uuid::Uuid::now_v7());
            enqueue(tx, Outgoing { kind: "verification", dedupe_key: &key, user_id: m.user_id, method: m.id, incident: None, payload: code.payload, due_at: now }, now).await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl PagingStore for $store {
            async fn create_contact_method(&self, new: NewContactMethod, code: VerificationCode, now: Timestamp, actor: &Actor) -> StoreResult<ContactMethod> {
                let label = firebreak_domain::contact::parse_label(&new.label)?;
                let address = new.kind.parse_address(&new.address)?;
                let mut tx = self.begin_write().await.map_err(db_err)?;
                load_user(&mut *tx, new.user_id).await?;
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contact_methods WHERE user_id = $1")
                    .bind(new.user_id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if count >= 20 {
                    return Err(DomainError::invalid("kind", "a person has at most 20 contact methods").into());
                }
                let m = ContactMethod {
                    id: ContactMethodId::new(),
                    user_id: new.user_id,
                    kind: new.kind,
                    label,
                    address,
                    verified_at: None,
                    created_at: now,
                };
                sqlx::query(
                    "INSERT INTO contact_methods (id, user_id, kind, label, address, secret, verified_at, code_attempts, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, $7)",
                )
                .bind(m.id.0)
                .bind(m.user_id.0)
                .bind(m.kind.as_str())
                .bind(&m.label)
                .bind(&m.address)
                .bind(new.secret)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("you already have this {} address", m.kind)),
                    other => other,
                })?;
                queue_code(&mut tx, &m, code, now).await?;
                audit_in_tx(&mut tx, actor, "contact_method.create", &format!("contact_method:{}", m.id), audit_method(&m), now).await?;
                commit(self, tx).await?;
                Ok(m)
            }

            async fn get_contact_method(&self, id: ContactMethodId) -> StoreResult<ContactMethod> {
                load_method(&self.pool, id).await
            }

            async fn list_contact_methods(&self, user_id: UserId) -> StoreResult<Vec<ContactMethod>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {METHOD_COLS} FROM contact_methods WHERE user_id = $1 ORDER BY created_at, id")))
                    .bind(user_id.0);
                fetch_all_as(&self.pool, q, method_from_row).await
            }

            async fn delete_contact_method(&self, id: ContactMethodId, actor: &Actor) -> StoreResult<()> {
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let m = load_method(&mut *tx, id).await?;
                for sql in [
                    "DELETE FROM notification_rules WHERE contact_method_id = $1",
                    "DELETE FROM notifications WHERE contact_method_id = $1",
                    "DELETE FROM contact_methods WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id.0).execute(&mut *tx).await.map_err(db_err)?;
                }
                audit_in_tx(&mut tx, actor, "contact_method.delete", &format!("contact_method:{id}"), audit_method(&m), now).await?;
                commit(self, tx).await
            }

            async fn resend_verification(&self, id: ContactMethodId, code: VerificationCode, now: Timestamp, actor: &Actor) -> StoreResult<()> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let m = load_method(&mut *tx, id).await?;
                if m.verified_at.is_some() {
                    return Err(StoreError::Conflict("this contact method is already verified".into()));
                }
                queue_code(&mut tx, &m, code, now).await?;
                audit_in_tx(&mut tx, actor, "contact_method.resend_code", &format!("contact_method:{id}"), audit_method(&m), now).await?;
                commit(self, tx).await
            }

            async fn verify_contact_method(&self, id: ContactMethodId, code_hash: &str, now: Timestamp, actor: &Actor) -> StoreResult<ContactMethod> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT code_hash, code_expires_at, code_attempts, verified_at FROM contact_methods WHERE id = $1{}",
                    $for_update
                )))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("contact method"))?;
                let verified: Option<Timestamp> = get(&row, "verified_at")?;
                if verified.is_some() {
                    return load_method(&mut *tx, id).await;
                }
                let attempts: i64 = get(&row, "code_attempts")?;
                if attempts >= MAX_CODE_ATTEMPTS {
                    return Err(StoreError::Conflict("too many wrong codes: send a new code".into()));
                }
                let stored: Option<String> = get(&row, "code_hash")?;
                let expires: Option<Timestamp> = get(&row, "code_expires_at")?;
                // Compared without an early exit, so timing says nothing about the stored hash.
                let matches = stored.as_deref().is_some_and(|s| {
                    s.len() == code_hash.len() && s.bytes().zip(code_hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
                });
                if !matches || expires.is_none_or(|e| e < now) {
                    sqlx::query("UPDATE contact_methods SET code_attempts = code_attempts + 1 WHERE id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    commit(self, tx).await?;
                    let why = if matches { "the code has expired: send a new one" } else { "wrong code" };
                    return Err(DomainError::invalid("code", why).into());
                }
                sqlx::query("UPDATE contact_methods SET verified_at = $1, code_hash = NULL, code_expires_at = NULL, code_attempts = 0 WHERE id = $2")
                    .bind(now)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let m = load_method(&mut *tx, id).await?;
                audit_in_tx(&mut tx, actor, "contact_method.verify", &format!("contact_method:{id}"), audit_method(&m), now).await?;
                commit(self, tx).await?;
                Ok(m)
            }

            async fn queue_test_notification(&self, id: ContactMethodId, payload: serde_json::Value, now: Timestamp, actor: &Actor) -> StoreResult<NotificationId> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let m = load_method(&mut *tx, id).await?;
                if m.verified_at.is_none() {
                    return Err(StoreError::Conflict("verify this contact method first".into()));
                }
                let key = format!("test:{}:{}", m.id, uuid::Uuid::now_v7());
                let nid = enqueue(&mut tx, Outgoing { kind: "test", dedupe_key: &key, user_id: m.user_id, method: m.id, incident: None, payload, due_at: now }, now).await?;
                audit_in_tx(&mut tx, actor, "contact_method.test", &format!("contact_method:{id}"), audit_method(&m), now).await?;
                commit(self, tx).await?;
                Ok(nid)
            }

            async fn contact_owner(&self, kind: ContactKind, address: &str) -> StoreResult<Option<User>> {
                let id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT user_id FROM contact_methods WHERE kind = $1 AND address = $2 AND verified_at IS NOT NULL ORDER BY created_at LIMIT 1",
                )
                .bind(kind.as_str())
                .bind(address)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                match id {
                    Some(id) => load_user(&self.pool, UserId(id)).await.map(Some),
                    None => Ok(None),
                }
            }

            async fn create_notification_rule(&self, user_id: UserId, method: ContactMethodId, delay_minutes: u32, actor: &Actor) -> StoreResult<NotificationRule> {
                let delay = firebreak_domain::contact::parse_rule_delay(i64::from(delay_minutes))?;
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let m = match load_method(&mut *tx, method).await {
                    Ok(m) if m.user_id == user_id => m,
                    Ok(_) | Err(StoreError::NotFound(_)) => {
                        return Err(DomainError::invalid("contact_method_id", "not one of your contact methods").into());
                    }
                    Err(e) => return Err(e),
                };
                let rule = NotificationRule { id: NotificationRuleId::new(), contact_method_id: m.id, delay_minutes: delay };
                sqlx::query("INSERT INTO notification_rules (id, user_id, contact_method_id, delay_minutes, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(rule.id.0)
                    .bind(user_id.0)
                    .bind(m.id.0)
                    .bind(i64::from(delay))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::Conflict("that rule already exists".into()),
                        other => other,
                    })?;
                let details = serde_json::json!({ "user_id": user_id, "contact_method_id": m.id, "delay_minutes": delay });
                audit_in_tx(&mut tx, actor, "notification_rule.create", &format!("notification_rule:{}", rule.id), details, now).await?;
                commit(self, tx).await?;
                Ok(rule)
            }

            async fn list_notification_rules(&self, user_id: UserId) -> StoreResult<Vec<NotificationRule>> {
                let rows = sqlx::query("SELECT id, contact_method_id, delay_minutes FROM notification_rules WHERE user_id = $1 ORDER BY delay_minutes, created_at")
                    .bind(user_id.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        Ok(NotificationRule {
                            id: NotificationRuleId(get(r, "id")?),
                            contact_method_id: ContactMethodId(get(r, "contact_method_id")?),
                            delay_minutes: get::<i64>(r, "delay_minutes")?.clamp(0, i64::from(u32::MAX)) as u32,
                        })
                    })
                    .collect()
            }

            async fn delete_notification_rule(&self, user_id: UserId, id: NotificationRuleId, actor: &Actor) -> StoreResult<()> {
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("DELETE FROM notification_rules WHERE id = $1 AND user_id = $2").bind(id.0).bind(user_id.0);
                execute_found(&mut tx, q, "notification rule").await?;
                audit_in_tx(&mut tx, actor, "notification_rule.delete", &format!("notification_rule:{id}"), serde_json::json!({ "user_id": user_id }), now).await?;
                commit(self, tx).await
            }

            async fn handoff_notifications(&self, user_id: UserId) -> StoreResult<bool> {
                sqlx::query_scalar("SELECT handoff_notifications FROM users WHERE id = $1")
                    .bind(user_id.0)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("user"))
            }

            async fn set_handoff_notifications(&self, user_id: UserId, on: bool, actor: &Actor) -> StoreResult<()> {
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query("UPDATE users SET handoff_notifications = $1 WHERE id = $2").bind(on).bind(user_id.0);
                execute_found(&mut tx, q, "user").await?;
                audit_in_tx(&mut tx, actor, "user.handoff_notifications", &format!("user:{user_id}"), serde_json::json!({ "on": on }), now).await?;
                commit(self, tx).await
            }

            async fn run_due_escalations(&self, now: Timestamp, limit: u32) -> StoreResult<usize> {
                let probe = sqlx::query("SELECT CAST(1 AS BIGINT) FROM escalations WHERE due_at IS NOT NULL AND due_at <= $1 LIMIT 1").bind(now);
                if !found(self, probe).await? {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ESCALATION_COLS} FROM escalations WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2{SKIP_LOCKED}"
                )))
                .bind(now)
                .bind(i64::from(limit.max(1)))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let mut fired = 0;
                let mut touched = Vec::with_capacity(rows.len());
                for row in &rows {
                    let esc = escalation_from_row(row)?;
                    if step_escalation(&mut tx, &esc, now, None).await? {
                        fired += 1;
                    }
                    touched.push(esc.incident_id);
                }
                commit_announcing(self, tx, touched, None).await?;
                Ok(fired)
            }

            async fn escalate_now(&self, incident: IncidentId, now: Timestamp, actor: &Actor) -> StoreResult<EscalationState> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let i = open_incident(&mut tx, incident).await?;
                let esc = load_escalation(&mut *tx, incident, true)
                    .await?
                    .ok_or_else(|| StoreError::Conflict(format!("INC-{} has no escalation policy", i.number)))?;
                if esc.state != "active" {
                    // Escalating an acknowledged incident by hand pages again from where it stopped.
                    sqlx::query("UPDATE escalations SET state = 'active', updated_at = $1 WHERE incident_id = $2")
                        .bind(now)
                        .bind(incident.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                if !step_escalation(&mut tx, &esc, now, Some(actor)).await? {
                    return Err(StoreError::Conflict(format!("INC-{}: every level has been paged already", i.number)));
                }
                audit_in_tx(&mut tx, actor, "incident.escalate", &incident_target(incident), serde_json::json!({ "number": i.number }), now).await?;
                let state = load_escalation(&mut *tx, incident, true).await?.ok_or(StoreError::NotFound("escalation"))?;
                commit_announcing(self, tx, vec![incident], None).await?;
                Ok(state)
            }

            async fn reassign(&self, incident: IncidentId, user: UserId, now: Timestamp, actor: &Actor) -> StoreResult<()> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let i = open_incident(&mut tx, incident).await?;
                let key = format!("reassign:{}", uuid::Uuid::now_v7());
                let paged = page_user(&mut tx, incident, &key, user, now)
                    .await?
                    .ok_or_else(|| StoreError::Domain(DomainError::invalid("user_id", "no such enabled user")))?;
                let event = TimelineEvent::Paged { step: 0, level: 0, cycle: 0, skipped: 0, reason: "reassign".into(), users: vec![paged] };
                insert_timeline(&mut tx, incident, actor, now, &[event]).await?;
                let details = serde_json::json!({ "number": i.number, "user_id": user });
                audit_in_tx(&mut tx, actor, "incident.reassign", &incident_target(incident), details, now).await?;
                commit_announcing(self, tx, vec![incident], None).await
            }

            async fn get_escalation(&self, incident: IncidentId) -> StoreResult<Option<EscalationState>> {
                load_escalation(&self.pool, incident, false).await
            }

            async fn claim_notifications(&self, now: Timestamp, bundle: chrono::TimeDelta, lease: chrono::TimeDelta, limit: u32) -> StoreResult<Vec<ClaimedNotification>> {
                let probe = sqlx::query("SELECT CAST(1 AS BIGINT) FROM notifications WHERE status = 'pending' AND due_at <= $1 LIMIT 1").bind(now);
                if !found(self, probe).await? {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT n.id, n.kind, n.contact_method_id, c.last_sent_at FROM notifications n \
                     JOIN contact_methods c ON c.id = n.contact_method_id \
                     WHERE n.status = 'pending' AND n.due_at <= $1 ORDER BY n.due_at LIMIT $2{SKIP_LOCKED}"
                )))
                .bind(now)
                .bind(i64::from(limit.max(1)))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let mut claimed = Vec::new();
                let mut sent_to = std::collections::HashSet::new();
                for r in &rows {
                    let id: uuid::Uuid = get(r, "id")?;
                    let kind: String = get(r, "kind")?;
                    let method: uuid::Uuid = get(r, "contact_method_id")?;
                    let last: Option<Timestamp> = get(r, "last_sent_at")?;
                    let bundles = (kind == "page" || kind == "handoff") && bundle > chrono::TimeDelta::zero();
                    let wait_until = last.map(|l| l + bundle).filter(|until| bundles && *until > now && !sent_to.contains(&method));
                    if let Some(until) = wait_until {
                        sqlx::query("UPDATE notifications SET due_at = $1 WHERE id = $2")
                            .bind(until)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        continue;
                    }
                    sqlx::query("UPDATE notifications SET due_at = $1, attempts = attempts + 1 WHERE id = $2")
                        .bind(now + lease)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if bundles {
                        sent_to.insert(method);
                    }
                    claimed.push(id);
                }
                for method in &sent_to {
                    sqlx::query("UPDATE contact_methods SET last_sent_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(*method)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                let mut out = Vec::with_capacity(claimed.len());
                for id in claimed {
                    let row = sqlx::query(
                        "SELECT n.id, n.kind, n.user_id, n.incident_id, n.payload, n.attempts, c.secret, \
                         c.id AS m_id, c.user_id AS m_user_id, c.kind AS m_kind, c.label AS m_label, c.address AS m_address, \
                         c.verified_at AS m_verified_at, c.created_at AS m_created_at, u.name AS user_name \
                         FROM notifications n JOIN contact_methods c ON c.id = n.contact_method_id JOIN users u ON u.id = n.user_id \
                         WHERE n.id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let incident_id: Option<uuid::Uuid> = get(&row, "incident_id")?;
                    let (incident, service_name) = match incident_id {
                        Some(iid) => {
                            let incident = load_incident(&mut *tx, IncidentRef::Id(IncidentId(iid)), false).await?;
                            let service: Option<String> = match incident.service_id {
                                Some(s) => sqlx::query_scalar("SELECT name FROM services WHERE id = $1")
                                    .bind(s.0)
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(db_err)?,
                                None => None,
                            };
                            (Some(incident), service)
                        }
                        None => (None, None),
                    };
                    out.push(ClaimedNotification {
                        id: NotificationId(id),
                        kind: get(&row, "kind")?,
                        user_id: UserId(get(&row, "user_id")?),
                        user_name: get(&row, "user_name")?,
                        method: ContactMethod {
                            id: ContactMethodId(get(&row, "m_id")?),
                            user_id: UserId(get(&row, "m_user_id")?),
                            kind: parse_word(&row, "m_kind")?,
                            label: get(&row, "m_label")?,
                            address: get(&row, "m_address")?,
                            verified_at: get(&row, "m_verified_at")?,
                            created_at: get(&row, "m_created_at")?,
                        },
                        secret: get(&row, "secret")?,
                        incident,
                        service_name,
                        payload: get::<Json<serde_json::Value>>(&row, "payload")?.0,
                        attempts: get(&row, "attempts")?,
                    });
                }
                commit(self, tx).await?;
                Ok(out)
            }

            async fn finish_notifications(&self, results: &[(NotificationId, DeliveryOutcome)], now: Timestamp) -> StoreResult<()> {
                if results.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                // Pages sent together to one contact method were one (bundled) message.
                let mut infos = Vec::with_capacity(results.len());
                for (id, _) in results {
                    let row = sqlx::query(
                        "SELECT n.kind, n.incident_id, n.user_id, n.contact_method_id, c.kind AS channel, u.name AS user_name \
                         FROM notifications n JOIN contact_methods c ON c.id = n.contact_method_id JOIN users u ON u.id = n.user_id WHERE n.id = $1",
                    )
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    infos.push(row);
                }
                let mut bundle_sizes: std::collections::HashMap<uuid::Uuid, u32> = std::collections::HashMap::new();
                for ((_, outcome), info) in results.iter().zip(&infos) {
                    if let (DeliveryOutcome::Sent { .. }, Some(row)) = (outcome, info) {
                        if get::<String>(row, "kind")? == "page" {
                            *bundle_sizes.entry(get(row, "contact_method_id")?).or_default() += 1;
                        }
                    }
                }
                let mut touched = Vec::new();
                let mut events = Vec::new();
                for ((id, outcome), info) in results.iter().zip(&infos) {
                    let Some(row) = info else { continue };
                    match outcome {
                        DeliveryOutcome::Sent { provider } => {
                            sqlx::query(
                                "UPDATE notifications SET status = 'sent', sent_at = $1, provider = $2, last_error = NULL, \
                                 payload = CASE WHEN kind = 'verification' THEN $3 ELSE payload END WHERE id = $4",
                            )
                            .bind(now)
                            .bind(provider)
                            .bind(Json(serde_json::json!({})))
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        }
                        DeliveryOutcome::Retry { error, at } => {
                            sqlx::query("UPDATE notifications SET due_at = $1, last_error = $2 WHERE id = $3 AND status = 'pending'")
                                .bind(*at)
                                .bind(error)
                                .bind(id.0)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                        DeliveryOutcome::Failed { error } => {
                            sqlx::query("UPDATE notifications SET status = 'failed', last_error = $1 WHERE id = $2")
                                .bind(error)
                                .bind(id.0)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_err)?;
                        }
                    }
                    let incident: Option<uuid::Uuid> = get(row, "incident_id")?;
                    let (Some(incident), true) = (incident, get::<String>(row, "kind")? == "page") else { continue };
                    let incident = IncidentId(incident);
                    let user_id = UserId(get(row, "user_id")?);
                    let user_name: String = get(row, "user_name")?;
                    let channel: ContactKind = parse_word(row, "channel")?;
                    let event = match outcome {
                        DeliveryOutcome::Sent { provider } => TimelineEvent::NotificationSent {
                            user_id,
                            user_name,
                            channel,
                            provider: provider.clone(),
                            bundled: bundle_sizes.get(&get::<uuid::Uuid>(row, "contact_method_id")?).copied().unwrap_or(1),
                        },
                        DeliveryOutcome::Failed { error } => TimelineEvent::NotificationFailed { user_id, user_name, channel, reason: error.clone() },
                        DeliveryOutcome::Retry { .. } => continue,
                    };
                    events.push((incident, event));
                    if !touched.contains(&incident) {
                        touched.push(incident);
                    }
                }
                let actor = Actor::system("notifications", Via::System);
                let rows: Vec<(IncidentId, &Actor, &TimelineEvent)> = events.iter().map(|(i, e)| (*i, &actor, e)).collect();
                if !rows.is_empty() {
                    insert_timeline_rows(&mut tx, now, &rows).await?;
                }
                commit_announcing(self, tx, touched, None).await
            }

            async fn list_notifications(&self, incident: Option<IncidentId>, user: Option<UserId>, limit: u32) -> StoreResult<Vec<NotificationRecord>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
                    "SELECT {NOTIFICATION_COLS} FROM notifications n JOIN contact_methods c ON c.id = n.contact_method_id WHERE 1 = 1"
                ));
                if let Some(i) = incident {
                    qb.push(" AND n.incident_id = ").push_bind(i.0);
                }
                if let Some(u) = user {
                    qb.push(" AND n.user_id = ").push_bind(u.0);
                }
                qb.push(" ORDER BY n.created_at DESC, n.id DESC LIMIT ").push_bind(i64::from($crate::page_limit(limit)));
                let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(notification_from_row).collect()
            }

            async fn next_due(&self) -> StoreResult<Option<Timestamp>> {
                let a: Option<Timestamp> = sqlx::query_scalar("SELECT MIN(due_at) FROM escalations WHERE due_at IS NOT NULL")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                let b: Option<Timestamp> = sqlx::query_scalar("SELECT MIN(due_at) FROM notifications WHERE status = 'pending'")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                })
            }

            async fn record_handoff(&self, schedule: ScheduleId, user: Option<UserId>, payload: serde_json::Value, now: Timestamp) -> StoreResult<bool> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let current = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT user_id FROM oncall_handoffs WHERE schedule_id = $1{}",
                    $for_update
                )))
                .bind(schedule.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let first = current.is_none();
                let before: Option<uuid::Uuid> = match &current {
                    Some(row) => get(row, "user_id")?,
                    None => None,
                };
                if !first && before == user.map(|u| u.0) {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO oncall_handoffs (schedule_id, user_id, changed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (schedule_id) DO UPDATE SET user_id = excluded.user_id, changed_at = excluded.changed_at",
                )
                .bind(schedule.0)
                .bind(user.map(|u| u.0))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                // The first record of a schedule is its starting point, not a hand-off.
                if let (Some(u), false) = (user, first) {
                    let wants: Option<bool> = sqlx::query_scalar("SELECT handoff_notifications FROM users WHERE id = $1 AND disabled = $2")
                        .bind(u.0)
                        .bind(false)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if wants == Some(true) {
                        let key = format!("handoff:{schedule}:{}", now.timestamp());
                        notify_user(&mut tx, "handoff", u, &key, payload, now).await?;
                    }
                }
                commit(self, tx).await?;
                Ok(true)
            }

            async fn remember_nonce(&self, nonce: &str, now: Timestamp) -> StoreResult<bool> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                sqlx::query("DELETE FROM callback_nonces WHERE seen_at < $1")
                    .bind(now - chrono::TimeDelta::days(2))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let n = sqlx::query("INSERT INTO callback_nonces (nonce, seen_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
                    .bind(nonce)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                commit(self, tx).await?;
                Ok(n == 1)
            }

            async fn server_secret(&self, name: &str) -> StoreResult<String> {
                if let Some(v) = sqlx::query_scalar::<_, String>("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?
                {
                    return Ok(v);
                }
                // Two random (v4) UUIDs: 244 random bits from the OS.
                let fresh = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
                let mut tx = self.begin_write().await.map_err(db_err)?;
                sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(&fresh)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let v: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                commit(self, tx).await?;
                Ok(v)
            }

            async fn create_calendar_feed(&self, schedule: Option<ScheduleId>, user: Option<UserId>, token_hash: &str, actor: &Actor) -> StoreResult<CalendarFeed> {
                let created_by = actor.user_id.ok_or_else(|| StoreError::Conflict("calendar feeds belong to a person".into()))?;
                if schedule.is_some() == user.is_some() {
                    return Err(DomainError::invalid("feed", "a feed is of one schedule or of one person").into());
                }
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                if let Some(s) = schedule {
                    let _: Schedule = load_named(&mut *tx, &SCHEDULES, s.0, false).await?;
                }
                if let Some(u) = user {
                    load_user(&mut *tx, u).await?;
                }
                let feed = CalendarFeed { id: uuid::Uuid::now_v7(), schedule_id: schedule, user_id: user, created_by, created_at: now };
                sqlx::query("INSERT INTO calendar_feeds (id, token_hash, schedule_id, user_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(feed.id)
                    .bind(token_hash)
                    .bind(schedule.map(|s| s.0))
                    .bind(user.map(|u| u.0))
                    .bind(created_by.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let details = serde_json::json!({ "schedule_id": schedule, "user_id": user });
                audit_in_tx(&mut tx, actor, "calendar_feed.create", &format!("calendar_feed:{}", feed.id), details, now).await?;
                commit(self, tx).await?;
                Ok(feed)
            }

            async fn calendar_feed(&self, token_hash: &str) -> StoreResult<Option<CalendarFeed>> {
                let q = sqlx::query("SELECT id, schedule_id, user_id, created_by, created_at FROM calendar_feeds WHERE token_hash = $1").bind(token_hash);
                fetch_optional_as(&self.pool, q, feed_from_row).await
            }

            async fn list_calendar_feeds(&self, created_by: Option<UserId>) -> StoreResult<Vec<CalendarFeed>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT id, schedule_id, user_id, created_by, created_at FROM calendar_feeds WHERE 1 = 1");
                if let Some(u) = created_by {
                    qb.push(" AND created_by = ").push_bind(u.0);
                }
                qb.push(" ORDER BY created_at");
                fetch_all_as(&self.pool, qb.build(), feed_from_row).await
            }

            async fn delete_calendar_feed(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                let now = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                execute_found(&mut tx, sqlx::query("DELETE FROM calendar_feeds WHERE id = $1").bind(id), "calendar feed").await?;
                audit_in_tx(&mut tx, actor, "calendar_feed.delete", &format!("calendar_feed:{id}"), serde_json::json!({}), now).await?;
                commit(self, tx).await
            }
        }
    };
}
