//! The SQL of status pages: pages and their components (with the services that drive each
//! and the status a person set by hand). Expanded by [`impl_sql_store!`] inside its module.

/// Implements `StatusPageStore`.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_status_pages {
    ($store:ident) => {
        use $crate::{StatusComponent, StatusPage, StatusPageStore};
        use firebreak_domain::status_page::ComponentStatus;

        const PAGE_COLS: &str = "id, slug, name, public, created_at, updated_at";
        const COMPONENT_COLS: &str = "id, page_id, name, group_name, position, service_ids, manual_status, created_at, updated_at";

        fn page_from_row(row: &DbRow) -> StoreResult<StatusPage> {
            Ok($crate::sql_from_row!(row => StatusPage { id, slug, name, public, created_at, updated_at }))
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
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                    return Err(DomainError::invalid("name", "1 to 100 characters, no control characters").into());
                }
                let at = firebreak_domain::time::now();
                let page = StatusPage { id: uuid::Uuid::now_v7(), slug, name: name.to_owned(), public, created_at: at, updated_at: at };
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
                let (name, group) = (name.trim(), group.trim());
                for (field, value, min) in [("name", name, 1), ("group", group, 0)] {
                    if value.chars().count() < min || value.chars().count() > 100 || value.chars().any(char::is_control) {
                        return Err(DomainError::invalid(field, format!("{min} to 100 characters, no control characters")).into());
                    }
                }
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
                    name: name.to_owned(),
                    group_name: group.to_owned(),
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
                commit(self, tx).await?;
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
                commit(self, tx).await?;
                Ok(row)
            }
        }
    };
}
