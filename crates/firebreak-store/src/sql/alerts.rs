//! The SQL of alerts, shared by every backend: ingestion (dedup, triage, grouping into
//! incidents, auto-resolve) and what people do with alerts. Expanded by
//! [`impl_sql_store!`] inside its module.

/// Implements `AlertStore`: its alert methods here, its catalog methods as
/// [`impl_sql_catalog!`] passes them.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_alerts {
    ($store:ident, $for_update:literal, catalog_methods = { $($catalog_methods:tt)* }) => {
        use $crate::{AlertFilter, IngestItem, IngestOutcome};
        use firebreak_domain::alert::{decide, Alert, AlertDecision, AlertStatus};
        use firebreak_domain::AlertId;

        const ALERT_COLS: &str = "id, service_id, integration_id, incident_id, dedup_key, status, summary, source, \
            severity, count, details, first_seen_at, last_seen_at, acknowledged_at, resolved_at";

        fn alert_from_row(row: &DbRow) -> StoreResult<Alert> {
            let key: String = get(row, "dedup_key")?;
            Ok($crate::sql_from_row!(row => Alert {
                id: AlertId,
                service_id: ServiceId,
                integration_id: IntegrationId,
                incident_id: Option<IncidentId>,
                dedup_key = DedupKey::parse(&key).map_err(|e| corrupt("dedup_key", e))?,
                status: word,
                summary,
                source,
                severity: word,
                count,
                details: json,
                first_seen_at,
                last_seen_at,
                acknowledged_at,
                resolved_at,
            }))
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

        /// Keeps `incidents.first_alert_at` as an alert first seen at `at` joins `incident`.
        async fn note_first_alert(tx: &mut Tx, incident: IncidentId, at: Timestamp) -> StoreResult<()> {
            sqlx::query("UPDATE incidents SET first_alert_at = $1 WHERE id = $2 AND (first_alert_at IS NULL OR first_alert_at > $1)")
                .bind(at)
                .bind(incident.0)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            Ok(())
        }

        /// Sets `incidents.first_alert_at` of `incidents` again from their alerts (after alerts
        /// left them).
        async fn recount_first_alert(tx: &mut Tx, incidents: &[IncidentId]) -> StoreResult<()> {
            for incident in incidents {
                sqlx::query("UPDATE incidents SET first_alert_at = (SELECT MIN(a.first_seen_at) FROM alerts a WHERE a.incident_id = $1) WHERE id = $1")
                    .bind(incident.0)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        }

        async fn write_alerts(tx: &mut Tx, alerts: &[&Alert]) -> StoreResult<()> {
            write_alerts_as(tx, alerts, false).await
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
                // Alerts that joined an incident (opened on it, or moved to it) may be its first.
                let mut joined: Vec<(IncidentId, Timestamp)> = Vec::new();
                for s in dirty().filter(|s| s.stored.map(|(_, incident)| incident) != Some(s.alert.incident_id)) {
                    let Some(incident) = s.alert.incident_id else { continue };
                    match joined.iter_mut().find(|(i, _)| *i == incident) {
                        Some((_, first)) => *first = (*first).min(s.alert.first_seen_at),
                        None => joined.push((incident, s.alert.first_seen_at)),
                    }
                }
                for (incident, first) in joined {
                    note_first_alert(tx, incident, first).await?;
                }
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
                        // The open incident of this group (within the window), else one a person
                        // declared for the service: it takes every alert of the service.
                        (Some(group), Some(window)) => sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(format!(
                            "SELECT id FROM incidents WHERE service_id = $1 AND status IN {OPEN_STATUSES} \
                             AND ((group_key = $2 AND detected_at >= $3) OR (group_key IS NULL AND created_by IS NOT NULL)) \
                             ORDER BY CASE WHEN group_key = $2 THEN 0 ELSE 1 END, number DESC LIMIT 1"
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
            let incident = load_incident(&mut **tx, IncidentRef::Id(incident_id), true).await?;
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

        #[async_trait::async_trait]
        impl AlertStore for $store {
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1"))).bind(id.0);
                fetch_found_as(&self.pool, q, "alert", alert_from_row).await
            }

            async fn act_on_alert(&self, id: AlertId, action: firebreak_domain::alert::AlertAction, actor: &Actor) -> StoreResult<Alert> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1{}", $for_update))).bind(id.0);
                let mut alert = fetch_found_as(&mut *tx, q, "alert", alert_from_row).await?;
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

            async fn move_alert(&self, id: AlertId, to: Option<IncidentId>, actor: &Actor) -> StoreResult<Alert> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1{}", $for_update))).bind(id.0);
                let mut alert = fetch_found_as(&mut *tx, q, "alert", alert_from_row).await?;
                if alert.incident_id == to {
                    return Ok(alert);
                }
                let from = match alert.incident_id {
                    Some(i) => Some(load_incident(&mut *tx, IncidentRef::Id(i), true).await?),
                    None => None,
                };
                let target = match to {
                    Some(i) => {
                        let target = load_incident(&mut *tx, IncidentRef::Id(i), true).await?;
                        target.accepts_work()?;
                        Some(target)
                    }
                    None => None,
                };
                sqlx::query("UPDATE alerts SET incident_id = $1 WHERE id = $2")
                    .bind(to.map(|i| i.0))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let moved: Vec<IncidentId> = alert.incident_id.into_iter().chain(to).collect();
                recount_first_alert(&mut tx, &moved).await?;
                alert.incident_id = to;
                let (dedup_key, summary) = (alert.dedup_key.as_str().to_owned(), alert.summary.clone());
                if let Some(from) = &from {
                    let event = TimelineEvent::AlertDetached {
                        alert_id: id,
                        dedup_key: dedup_key.clone(),
                        summary: summary.clone(),
                        moved_to: target.as_ref().map(|t| t.number),
                    };
                    insert_timeline(&mut tx, from.id, actor, at, &[event]).await?;
                }
                if let Some(target) = &target {
                    let event = TimelineEvent::AlertAttached {
                        alert_id: id,
                        dedup_key: dedup_key.clone(),
                        summary,
                        moved_from: from.as_ref().map(|f| f.number),
                    };
                    insert_timeline(&mut tx, target.id, actor, at, &[event]).await?;
                }
                let (action, details) = match &target {
                    Some(t) => ("alert.attach", serde_json::json!({ "dedup_key": dedup_key, "incident": t.number, "from": from.as_ref().map(|f| f.number) })),
                    None => ("alert.detach", serde_json::json!({ "dedup_key": dedup_key, "from": from.as_ref().map(|f| f.number) })),
                };
                audit_in_tx(&mut tx, actor, action, &format!("alert:{id}"), details, at).await?;
                let touched: Vec<IncidentId> = from.iter().chain(target.iter()).map(|i| i.id).collect();
                for i in &touched {
                    $store::notify_in_tx(&mut *tx, &ChangeNotice::Incident(*i)).await.map_err(db_err)?;
                }
                commit(self, tx).await?;
                for i in touched {
                    self.notify_after_commit(ChangeNotice::Incident(i));
                }
                Ok(alert)
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
                let items = fetch_all_as(&self.pool, qb.build(), alert_from_row).await?;
                Ok(page_of(items, limit, |a| a.id))
            }

            $($catalog_methods)*
        }
    };
}
