//! The SQL of status pages: pages and their components (with the services that drive each
//! and the status a person set by hand). Expanded by [`impl_sql_store!`] inside its module.

/// Implements `StatusPageStore`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_status_pages {
    ($store:ident) => {
        use $crate::{MessageFor, NewNotice, PageSettings, StatusComponent, StatusNotice, StatusPage, StatusPageStore, StatusSubscriber, StatusUpdate, SubscriberMessage};
        use firebreak_domain::status_page::{check_label, ComponentStatus, NoticeKind, NoticeStatus};

        const PAGE_COLS: &str = "id, slug, name, public, branding, custom_domain, token_hash, created_at, updated_at";
        const NOTICE_COLS: &str = "id, page_id, kind, incident_id, title, impact, status, component_ids, scheduled_for, scheduled_until, created_at, updated_at, resolved_at";
        const UPDATE_COLS: &str = "id, notice_id, status, body, created_at, created_by, published_at";
        const SUBSCRIBER_COLS: &str = "id, page_id, kind, address, component_ids, secret, confirmed_at, created_at";
        const COMPONENT_COLS: &str = "id, page_id, name, group_name, position, service_ids, manual_status, created_at, updated_at";

        fn page_from_row(row: &DbRow) -> StoreResult<StatusPage> {
            Ok($crate::sql_from_row!(row => StatusPage { id, slug, name, public, branding: json, custom_domain, token_hash, created_at, updated_at }))
        }

        fn notice_from_row(row: &DbRow) -> StoreResult<StatusNotice> {
            Ok($crate::sql_from_row!(row => StatusNotice {
                id, page_id, kind: word, incident_id: Option<IncidentId>, title, impact: word, status: word,
                component_ids: json, scheduled_for, scheduled_until, created_at, updated_at, resolved_at,
                updates = Vec::new(),
            }))
        }

        fn update_from_row(row: &DbRow) -> StoreResult<StatusUpdate> {
            Ok($crate::sql_from_row!(row => StatusUpdate { id, notice_id, status: word, body, created_at, created_by, published_at }))
        }

        fn subscriber_from_row(row: &DbRow) -> StoreResult<StatusSubscriber> {
            Ok($crate::sql_from_row!(row => StatusSubscriber { id, page_id, kind, address, component_ids: json, secret, confirmed_at, created_at }))
        }

        /// Commits a change to what pages show, telling every replica's page cache.
        async fn commit_page_change(store: &$store, mut tx: Tx) -> StoreResult<()> {
            $store::notify_in_tx(&mut *tx, &ChangeNotice::StatusPage).await.map_err(db_err)?;
            commit(store, tx).await?;
            store.notify_after_commit(ChangeNotice::StatusPage);
            Ok(())
        }

        async fn notice_in_tx(tx: &mut Tx, page: uuid::Uuid, id: uuid::Uuid) -> StoreResult<StatusNotice> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {NOTICE_COLS} FROM status_notices WHERE id = $1 AND page_id = $2")))
                .bind(id)
                .bind(page);
            let mut notice = fetch_found_as(&mut **tx, q, "status notice", notice_from_row).await?;
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {UPDATE_COLS} FROM status_updates WHERE notice_id = $1 ORDER BY created_at, id")))
                .bind(id);
            notice.updates = fetch_all_as(&mut **tx, q, update_from_row).await?;
            Ok(notice)
        }

        async fn insert_update(tx: &mut Tx, notice: uuid::Uuid, status: NoticeStatus, body: &str, by: &str, publish: bool, at: Timestamp) -> StoreResult<uuid::Uuid> {
            let id = uuid::Uuid::now_v7();
            sqlx::query(
                "INSERT INTO status_updates (id, notice_id, status, body, created_at, created_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(notice)
            .bind(status.as_str())
            .bind(body.to_owned())
            .bind(at)
            .bind(by.to_owned())
            .bind(publish.then_some(at))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(id)
        }

        /// Publishes `update` of `notice` inside `tx`: the notice takes its status, and each
        /// confirmed subscriber who wants it gets a message in the outbox.
        async fn publish_in_tx(tx: &mut Tx, notice: uuid::Uuid, page: uuid::Uuid, update: uuid::Uuid, message: MessageFor<'_>, at: Timestamp) -> StoreResult<StatusNotice> {
            sqlx::query("UPDATE status_updates SET published_at = $1 WHERE id = $2").bind(at).bind(update).execute(&mut **tx).await.map_err(db_err)?;
            let status: String = sqlx::query_scalar("SELECT status FROM status_updates WHERE id = $1").bind(update).fetch_one(&mut **tx).await.map_err(db_err)?;
            let status: NoticeStatus = status.parse()?;
            sqlx::query("UPDATE status_notices SET status = $1, updated_at = $2, resolved_at = $3 WHERE id = $4")
                .bind(status.as_str())
                .bind(at)
                .bind(status.is_final().then_some(at))
                .bind(notice)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            let notice = notice_in_tx(tx, page, notice).await?;
            let Some(published) = notice.updates.iter().find(|u| u.id == update) else {
                return Err(StoreError::NotFound("status update"));
            };
            let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {SUBSCRIBER_COLS} FROM status_subscribers WHERE page_id = $1 AND confirmed_at IS NOT NULL ORDER BY created_at"
            )))
            .bind(page);
            let subscribers = fetch_all_as(&mut **tx, q, subscriber_from_row).await?;
            for s in subscribers.iter().filter(|s| s.wants(&notice.component_ids)) {
                if let Some(m) = message(&notice, published, s) {
                    queue_subscriber(tx, s, m, at).await?;
                }
            }
            Ok(notice)
        }

        async fn queue_subscriber(tx: &mut Tx, s: &StatusSubscriber, m: SubscriberMessage, at: Timestamp) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO stakeholder_messages (id, incident_id, address, subject, body, status, attempts, due_at, created_at, channel, secret, unsubscribe_url, subscriber_id) \
                 VALUES ($1, NULL, $2, $3, $4, 'pending', 0, $5, $6, $7, $8, $9, $10)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(s.address.clone())
            .bind(m.subject)
            .bind(m.body)
            .bind(at)
            .bind(at)
            .bind(s.kind.clone())
            .bind(s.secret.clone())
            .bind(m.unsubscribe_url)
            .bind(s.id)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        fn component_from_row(row: &DbRow) -> StoreResult<StatusComponent> {
            let manual: Option<String> = get(row, "manual_status")?;
            let manual_status = match manual {
                Some(word) => Some(word.parse::<ComponentStatus>().map_err(|e| StoreError::Backend(e.to_string()))?),
                None => None,
            };
            Ok($crate::sql_from_row!(row => StatusComponent {
                id, page_id, name, group_name, position,
                service_ids = get::<Json<Vec<uuid::Uuid>>>(row, "service_ids")?.0.into_iter().map(ServiceId).collect(),
                manual_status = manual_status,
                created_at, updated_at,
            }))
        }

        #[async_trait::async_trait]
        impl StatusPageStore for $store {
            async fn create_status_page(&self, slug: &str, name: &str, public: bool, actor: &Actor) -> StoreResult<StatusPage> {
                let slug = firebreak_domain::status_page::parse_slug(slug)?;
                let name = check_label("name", name, 1, 100)?;
                let at = firebreak_domain::time::now();
                let page = StatusPage {
                    id: uuid::Uuid::now_v7(),
                    slug,
                    name,
                    public,
                    branding: Default::default(),
                    custom_domain: None,
                    token_hash: None,
                    created_at: at,
                    updated_at: at,
                };
                let mut tx = self.begin_write().await.map_err(db_err)?;
                sqlx::query("INSERT INTO status_pages (id, slug, name, public, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(page.id)
                    .bind(page.slug.clone())
                    .bind(page.name.clone())
                    .bind(page.public)
                    .bind(at)
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::Conflict(format!("a status page already has the address {:?}", page.slug)),
                        other => other,
                    })?;
                let details = serde_json::json!({ "slug": page.slug, "name": page.name, "public": public });
                audit_in_tx(&mut tx, actor, "status_page.create", &format!("status_page:{}", page.id), details, at).await?;
                commit(self, tx).await?;
                Ok(page)
            }

            async fn list_status_pages(&self) -> StoreResult<Vec<StatusPage>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PAGE_COLS} FROM status_pages ORDER BY slug")));
                fetch_all_as(&self.pool, q, page_from_row).await
            }

            async fn status_page(&self, slug: &str) -> StoreResult<StatusPage> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PAGE_COLS} FROM status_pages WHERE slug = $1"))).bind(slug.to_owned());
                fetch_found_as(&self.pool, q, "status page", page_from_row).await
            }

            async fn add_status_component(
                &self,
                page: uuid::Uuid,
                name: &str,
                group: &str,
                services: &[ServiceId],
                actor: &Actor,
            ) -> StoreResult<StatusComponent> {
                let (name, group) = (check_label("name", name, 1, 100)?, check_label("group", group, 0, 100)?);
                if services.len() > 20 {
                    return Err(DomainError::invalid("services", "at most 20 services per component").into());
                }
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM status_components WHERE page_id = $1")
                    .bind(page)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let component = StatusComponent {
                    id: uuid::Uuid::now_v7(),
                    page_id: page,
                    name,
                    group_name: group,
                    position,
                    service_ids: services.to_vec(),
                    manual_status: None,
                    created_at: at,
                    updated_at: at,
                };
                let ids: Vec<uuid::Uuid> = services.iter().map(|s| s.0).collect();
                sqlx::query(
                    "INSERT INTO status_components (id, page_id, name, group_name, position, service_ids, manual_status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
                )
                .bind(component.id)
                .bind(page)
                .bind(component.name.clone())
                .bind(component.group_name.clone())
                .bind(position)
                .bind(Json(ids))
                .bind(at)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let details = serde_json::json!({ "page_id": page, "name": component.name, "group": component.group_name, "service_ids": services });
                audit_in_tx(&mut tx, actor, "status_component.create", &format!("status_component:{}", component.id), details, at).await?;
                commit_page_change(self, tx).await?;
                Ok(component)
            }

            async fn list_status_components(&self, page: uuid::Uuid) -> StoreResult<Vec<StatusComponent>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COMPONENT_COLS} FROM status_components WHERE page_id = $1 ORDER BY position")))
                    .bind(page);
                fetch_all_as(&self.pool, q, component_from_row).await
            }

            async fn set_component_status(
                &self,
                page: uuid::Uuid,
                component: uuid::Uuid,
                status: Option<ComponentStatus>,
                actor: &Actor,
            ) -> StoreResult<StatusComponent> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let done = sqlx::query("UPDATE status_components SET manual_status = $1, updated_at = $2 WHERE id = $3 AND page_id = $4")
                    .bind(status.map(|s| s.as_str()))
                    .bind(at)
                    .bind(component)
                    .bind(page)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("status component"));
                }
                let details = serde_json::json!({ "page_id": page, "status": status });
                audit_in_tx(&mut tx, actor, "status_component.set_status", &format!("status_component:{component}"), details, at).await?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COMPONENT_COLS} FROM status_components WHERE id = $1"))).bind(component);
                let row = fetch_found_as(&mut *tx, q, "status component", component_from_row).await?;
                commit_page_change(self, tx).await?;
                Ok(row)
            }
            async fn update_status_page(&self, page: uuid::Uuid, settings: PageSettings, actor: &Actor) -> StoreResult<StatusPage> {
                let name = settings.name.as_deref().map(|n| check_label("name", n, 1, 100)).transpose()?;
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PAGE_COLS} FROM status_pages WHERE id = $1"))).bind(page);
                let mut current = fetch_found_as(&mut *tx, q, "status page", page_from_row).await?;
                if let Some(name) = name {
                    current.name = name;
                }
                if let Some(public) = settings.public {
                    current.public = public;
                }
                if let Some(branding) = settings.branding.clone() {
                    current.branding = branding;
                }
                if let Some(domain) = settings.custom_domain.clone() {
                    current.custom_domain = domain;
                }
                if let Some(token) = settings.token_hash.clone() {
                    current.token_hash = token;
                }
                current.updated_at = at;
                sqlx::query("UPDATE status_pages SET name = $1, public = $2, branding = $3, custom_domain = $4, token_hash = $5, updated_at = $6 WHERE id = $7")
                    .bind(current.name.clone())
                    .bind(current.public)
                    .bind(Json(current.branding.clone()))
                    .bind(current.custom_domain.clone())
                    .bind(current.token_hash.clone())
                    .bind(at)
                    .bind(page)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match db_err(e) {
                        StoreError::Conflict(_) => StoreError::Conflict("another status page has this custom domain".into()),
                        other => other,
                    })?;
                let details = serde_json::json!({
                    "name": current.name,
                    "public": current.public,
                    "branding": current.branding,
                    "custom_domain": current.custom_domain,
                    // Whether the token changed, never the token.
                    "token": settings.token_hash.as_ref().map(|t| if t.is_some() { "issued" } else { "withdrawn" }),
                });
                audit_in_tx(&mut tx, actor, "status_page.update", &format!("status_page:{page}"), details, at).await?;
                commit_page_change(self, tx).await?;
                Ok(current)
            }

            async fn status_page_by_domain(&self, host: &str) -> StoreResult<StatusPage> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PAGE_COLS} FROM status_pages WHERE custom_domain = $1")))
                    .bind(host.to_ascii_lowercase());
                fetch_found_as(&self.pool, q, "status page", page_from_row).await
            }

            async fn post_status_update(
                &self,
                new: NewNotice,
                status: NoticeStatus,
                body: &str,
                publish: bool,
                message: MessageFor<'_>,
                actor: &Actor,
            ) -> StoreResult<(StatusNotice, uuid::Uuid)> {
                let title = check_label("title", &new.title, 1, 200)?;
                if !status.fits(new.kind) {
                    return Err(NoticeStatus::parse_for(status.as_str(), new.kind).unwrap_err().into());
                }
                if body.trim().is_empty() || body.chars().count() > 10_000 || body.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                    return Err(DomainError::invalid("body", "1 to 10000 characters, no control characters but line breaks and tabs").into());
                }
                if new.component_ids.len() > 100 {
                    return Err(DomainError::invalid("components", "at most 100 components").into());
                }
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let known: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM status_components WHERE page_id = $1")
                    .bind(new.page_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(c) = new.component_ids.iter().find(|c| !known.contains(c)) {
                    return Err(DomainError::invalid("components", format!("the page has no component {c}")).into());
                }
                let existing: Option<uuid::Uuid> = match (new.notice_id, new.incident_id) {
                    (Some(id), _) => Some(
                        sqlx::query_scalar("SELECT id FROM status_notices WHERE id = $1 AND page_id = $2 AND kind = $3")
                            .bind(id)
                            .bind(new.page_id)
                            .bind(new.kind.as_str())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db_err)?
                            .ok_or(StoreError::NotFound("status notice"))?,
                    ),
                    (None, Some(incident)) => sqlx::query_scalar("SELECT id FROM status_notices WHERE page_id = $1 AND incident_id = $2")
                        .bind(new.page_id)
                        .bind(incident.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?,
                    (None, None) => None,
                };
                let notice_id = match existing {
                    Some(id) => {
                        // What readers already see changes only with a published update: a
                        // draft's title waits (its words are in the draft until published).
                        let seen: Option<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM status_updates WHERE notice_id = $1 AND published_at IS NOT NULL LIMIT 1")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        let (title, impact, components) = if publish || seen.is_none() {
                            (title.clone(), new.impact.as_str().to_owned(), new.component_ids.clone())
                        } else {
                            let row = sqlx::query("SELECT title, impact, component_ids FROM status_notices WHERE id = $1")
                                .bind(id)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(db_err)?;
                            (get(&row, "title")?, get(&row, "impact")?, get::<Json<Vec<uuid::Uuid>>>(&row, "component_ids")?.0)
                        };
                        sqlx::query("UPDATE status_notices SET title = $1, impact = $2, component_ids = $3, updated_at = $4 WHERE id = $5")
                            .bind(title)
                            .bind(impact)
                            .bind(Json(components))
                            .bind(at)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                        id
                    }
                    None => {
                        let id = uuid::Uuid::now_v7();
                        // A draft does not move the notice yet: it starts where its first update says.
                        sqlx::query(
                            "INSERT INTO status_notices (id, page_id, kind, incident_id, title, impact, status, component_ids, scheduled_for, scheduled_until, created_at, updated_at, resolved_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
                        )
                        .bind(id)
                        .bind(new.page_id)
                        .bind(new.kind.as_str())
                        .bind(new.incident_id.map(|i| i.0))
                        .bind(title.clone())
                        .bind(new.impact.as_str())
                        .bind(status.as_str())
                        .bind(Json(new.component_ids.clone()))
                        .bind(new.scheduled_for)
                        .bind(new.scheduled_until)
                        .bind(at)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                        id
                    }
                };
                let update = insert_update(&mut tx, notice_id, status, body, &actor.name, false, at).await?;
                let notice = if publish {
                    publish_in_tx(&mut tx, notice_id, new.page_id, update, message, at).await?
                } else {
                    notice_in_tx(&mut tx, new.page_id, notice_id).await?
                };
                let details = serde_json::json!({
                    "page_id": new.page_id, "kind": new.kind.as_str(), "title": title, "status": status.as_str(),
                    "published": publish, "incident_id": new.incident_id.map(|i| i.0),
                });
                let action = if publish { "status_update.publish" } else { "status_update.draft" };
                audit_in_tx(&mut tx, actor, action, &format!("status_notice:{notice_id}"), details, at).await?;
                commit_page_change(self, tx).await?;
                Ok((notice, update))
            }

            async fn publish_status_update(&self, page: uuid::Uuid, update: uuid::Uuid, message: MessageFor<'_>, actor: &Actor) -> StoreResult<StatusNotice> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let row = sqlx::query(
                    "SELECT u.notice_id, u.published_at FROM status_updates u JOIN status_notices n ON n.id = u.notice_id WHERE u.id = $1 AND n.page_id = $2",
                )
                .bind(update)
                .bind(page)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("status update"))?;
                let notice: uuid::Uuid = get(&row, "notice_id")?;
                if get::<Option<Timestamp>>(&row, "published_at")?.is_some() {
                    return Err(StoreError::Conflict("this update is published already".into()));
                }
                let published = publish_in_tx(&mut tx, notice, page, update, message, at).await?;
                let details = serde_json::json!({ "page_id": page, "update_id": update, "status": published.status.as_str() });
                audit_in_tx(&mut tx, actor, "status_update.publish", &format!("status_notice:{notice}"), details, at).await?;
                commit_page_change(self, tx).await?;
                Ok(published)
            }

            async fn list_status_notices(&self, page: uuid::Uuid, limit: u32) -> StoreResult<Vec<StatusNotice>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTICE_COLS} FROM status_notices WHERE page_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
                )))
                .bind(page)
                .bind(i64::from(limit.clamp(1, 1000)));
                let mut notices = fetch_all_as(&self.pool, q, notice_from_row).await?;
                if notices.is_empty() {
                    return Ok(notices);
                }
                let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT u.id, u.notice_id, u.status, u.body, u.created_at, u.created_by, u.published_at FROM status_updates u \
                     JOIN status_notices n ON n.id = u.notice_id WHERE n.page_id = $1 ORDER BY u.created_at, u.id"
                )))
                .bind(page);
                let updates = fetch_all_as(&self.pool, q, update_from_row).await?;
                for u in updates {
                    if let Some(n) = notices.iter_mut().find(|n| n.id == u.notice_id) {
                        n.updates.push(u);
                    }
                }
                Ok(notices)
            }

            async fn status_notice(&self, page: uuid::Uuid, notice: uuid::Uuid) -> StoreResult<StatusNotice> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let n = notice_in_tx(&mut tx, page, notice).await?;
                commit(self, tx).await?;
                Ok(n)
            }

            async fn advance_maintenance(&self, now: Timestamp, message: MessageFor<'_>) -> StoreResult<Vec<StatusNotice>> {
                let probe = sqlx::query(
                    "SELECT CAST(1 AS BIGINT) FROM status_notices WHERE kind = 'maintenance' AND resolved_at IS NULL \
                     AND ((status = 'scheduled' AND scheduled_for <= $1) OR scheduled_until <= $1) LIMIT 1",
                )
                .bind(now);
                if !found(self, probe).await? {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTICE_COLS} FROM status_notices WHERE kind = 'maintenance' AND resolved_at IS NULL \
                     AND ((status = 'scheduled' AND scheduled_for <= $1) OR scheduled_until <= $1) ORDER BY scheduled_for LIMIT 100"
                )))
                .bind(now);
                let due = fetch_all_as(&mut *tx, q, notice_from_row).await?;
                let actor = Actor::system("status pages", Via::System);
                let mut moved = Vec::new();
                for n in due {
                    let (Some(starts), Some(ends)) = (n.scheduled_for, n.scheduled_until) else { continue };
                    let next = firebreak_domain::status_page::maintenance_phase(now, starts, ends);
                    if next == n.status {
                        continue;
                    }
                    let body = match next {
                        NoticeStatus::InProgress => "The scheduled maintenance is in progress.",
                        _ => "The scheduled maintenance is completed.",
                    };
                    let update = insert_update(&mut tx, n.id, next, body, &actor.name, false, now).await?;
                    let notice = publish_in_tx(&mut tx, n.id, n.page_id, update, message, now).await?;
                    let details = serde_json::json!({ "page_id": n.page_id, "status": next.as_str() });
                    audit_in_tx(&mut tx, &actor, "status_maintenance.advance", &format!("status_notice:{}", n.id), details, now).await?;
                    moved.push(notice);
                }
                commit_page_change(self, tx).await?;
                Ok(moved)
            }

            async fn record_component_statuses(&self, statuses: &[(uuid::Uuid, ComponentStatus)], at: Timestamp) -> StoreResult<usize> {
                if statuses.is_empty() {
                    return Ok(0);
                }
                // The newest recorded status of every component, in one read.
                let rows = sqlx::query(
                    "SELECT h.component_id, h.status FROM status_history h \
                     JOIN (SELECT component_id, MAX(at) AS at FROM status_history GROUP BY component_id) last \
                     ON last.component_id = h.component_id AND last.at = h.at",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let mut last = std::collections::HashMap::new();
                for r in &rows {
                    last.insert(get::<uuid::Uuid>(r, "component_id")?, get::<String>(r, "status")?);
                }
                let changed: Vec<_> = statuses
                    .iter()
                    .filter(|(c, s)| last.get(c).map(String::as_str).unwrap_or(ComponentStatus::Operational.as_str()) != s.as_str())
                    .collect();
                if changed.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await.map_err(db_err)?;
                for (component, status) in &changed {
                    sqlx::query("INSERT INTO status_history (id, component_id, at, status) VALUES ($1, $2, $3, $4)")
                        .bind(uuid::Uuid::now_v7())
                        .bind(*component)
                        .bind(at)
                        .bind(status.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                commit_page_change(self, tx).await?;
                Ok(changed.len())
            }

            async fn component_history(&self, page: uuid::Uuid, since: Timestamp) -> StoreResult<Vec<(uuid::Uuid, Timestamp, ComponentStatus)>> {
                // The changes since `since`, and for each component the last one before it.
                let rows = sqlx::query(
                    "SELECT h.component_id, h.at, h.status FROM status_history h JOIN status_components c ON c.id = h.component_id \
                     WHERE c.page_id = $1 AND (h.at >= $2 OR h.at = (SELECT MAX(p.at) FROM status_history p WHERE p.component_id = h.component_id AND p.at < $2)) \
                     ORDER BY h.at, h.id",
                )
                .bind(page)
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(|r| Ok((get(r, "component_id")?, get(r, "at")?, parse_word(r, "status")?))).collect()
            }

            async fn add_status_subscriber(
                &self,
                page: uuid::Uuid,
                kind: &str,
                address: &str,
                components: &[uuid::Uuid],
                secret: Option<&str>,
                confirmed: bool,
                actor: &Actor,
            ) -> StoreResult<StatusSubscriber> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {SUBSCRIBER_COLS} FROM status_subscribers WHERE page_id = $1 AND kind = $2 AND address = $3"
                )))
                .bind(page)
                .bind(kind.to_owned())
                .bind(address.to_owned());
                if let Some(existing) = fetch_optional_as(&mut *tx, q, subscriber_from_row).await? {
                    commit(self, tx).await?;
                    return Ok(existing);
                }
                let known: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM status_components WHERE page_id = $1")
                    .bind(page)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if components.iter().any(|c| !known.contains(c)) {
                    return Err(DomainError::invalid("components", "the page has no such component").into());
                }
                let s = StatusSubscriber {
                    id: uuid::Uuid::now_v7(),
                    page_id: page,
                    kind: kind.to_owned(),
                    address: address.to_owned(),
                    component_ids: components.to_vec(),
                    secret: secret.map(str::to_owned),
                    confirmed_at: confirmed.then_some(at),
                    created_at: at,
                };
                sqlx::query(
                    "INSERT INTO status_subscribers (id, page_id, kind, address, component_ids, secret, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(s.id)
                .bind(page)
                .bind(s.kind.clone())
                .bind(s.address.clone())
                .bind(Json(s.component_ids.clone()))
                .bind(s.secret.clone())
                .bind(s.confirmed_at)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                // The address is personal data: the audit log names the subscriber, not it.
                let details = serde_json::json!({ "page_id": page, "kind": kind, "confirmed": confirmed });
                audit_in_tx(&mut tx, actor, "status_subscriber.create", &format!("status_subscriber:{}", s.id), details, at).await?;
                commit(self, tx).await?;
                Ok(s)
            }

            async fn status_subscriber(&self, id: uuid::Uuid) -> StoreResult<StatusSubscriber> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIBER_COLS} FROM status_subscribers WHERE id = $1"))).bind(id);
                fetch_found_as(&self.pool, q, "subscriber", subscriber_from_row).await
            }

            async fn confirm_status_subscriber(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<StatusSubscriber> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                let done = sqlx::query("UPDATE status_subscribers SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if done.rows_affected() > 0 {
                    audit_in_tx(&mut tx, actor, "status_subscriber.confirm", &format!("status_subscriber:{id}"), serde_json::json!({}), at).await?;
                }
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIBER_COLS} FROM status_subscribers WHERE id = $1"))).bind(id);
                let s = fetch_found_as(&mut *tx, q, "subscriber", subscriber_from_row).await?;
                commit(self, tx).await?;
                Ok(s)
            }

            async fn delete_status_subscriber(&self, id: uuid::Uuid, actor: &Actor) -> StoreResult<()> {
                let at = firebreak_domain::time::now();
                let mut tx = self.begin_write().await.map_err(db_err)?;
                sqlx::query("DELETE FROM stakeholder_messages WHERE subscriber_id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                let done = sqlx::query("DELETE FROM status_subscribers WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("subscriber"));
                }
                audit_in_tx(&mut tx, actor, "status_subscriber.delete", &format!("status_subscriber:{id}"), serde_json::json!({}), at).await?;
                commit(self, tx).await?;
                Ok(())
            }

            async fn list_status_subscribers(&self, page: uuid::Uuid) -> StoreResult<Vec<StatusSubscriber>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIBER_COLS} FROM status_subscribers WHERE page_id = $1 ORDER BY created_at")))
                    .bind(page);
                fetch_all_as(&self.pool, q, subscriber_from_row).await
            }

            async fn queue_subscriber_message(&self, subscriber: &StatusSubscriber, message: SubscriberMessage) -> StoreResult<()> {
                let mut tx = self.begin_write().await.map_err(db_err)?;
                queue_subscriber(&mut tx, subscriber, message, firebreak_domain::time::now()).await?;
                commit(self, tx).await
            }
        }
    };
}
