//! The SQL of users and access, shared by every backend: accounts, sessions, API tokens, and
//! the hash-chained audit log every mutating call appends to. Expanded by
//! [`impl_sql_store!`] inside its module.

/// Implements `UserStore` and `AuditStore`, and `audit_in_tx`, which every write calls.
#[macro_export]
#[doc(hidden)]
macro_rules! impl_sql_access {
    ($store:ident) => {
        use $crate::{ApiToken, AuditStore, Credentials, NewUser, UserStore, UserUpdate};
        use firebreak_domain::audit::ChainVerifier;
        use firebreak_domain::{AuditContent, AuditEntry, AuditVerification, Email, TokenId, UserRole, GENESIS_HASH};

        const USER_COLS: &str = "id, email, name, role, disabled, created_at";
        const TOKEN_COLS: &str = "id, user_id, name, created_at, last_used_at, revoked_at";
        const AUDIT_COLS: &str = "seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash";

        fn user_from_row(row: &DbRow) -> StoreResult<User> {
            let email: String = get(row, "email")?;
            let email = email.parse::<Email>().map_err(|e| corrupt("email", e))?;
            Ok($crate::sql_from_row!(row => User { id: UserId, email = email, name, role: word, disabled, created_at }))
        }

        fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
            Ok($crate::sql_from_row!(row => ApiToken { id: TokenId, user_id: UserId, name, created_at, last_used_at, revoked_at }))
        }

        fn audit_from_row(row: &DbRow) -> StoreResult<AuditEntry> {
            let details: String = get(row, "details")?;
            let details = serde_json::from_str(&details).map_err(|e| corrupt("audit details", e))?;
            Ok(AuditEntry {
                content: $crate::sql_from_row!(row => AuditContent { seq, at, actor_id, actor_name, via, action, target, details = details }),
                prev_hash: get(row, "prev_hash")?,
                hash: get(row, "hash")?,
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

        async fn load_user<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: UserId) -> StoreResult<User> {
            let q = sqlx::query("SELECT id, email, name, role, disabled, created_at FROM users WHERE id = $1").bind(id.0);
            fetch_found_as(conn, q, "user", user_from_row).await
        }

        async fn load_token<'c, E: sqlx::Executor<'c, Database = Db>>(conn: E, id: TokenId) -> StoreResult<ApiToken> {
            let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"))).bind(id.0);
            fetch_found_as(conn, q, "token", token_from_row).await
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users ORDER BY email")));
                fetch_all_as(&self.pool, q, user_from_row).await
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLS}, password_hash, failed_logins, last_failed_login_at FROM users WHERE email = $1"
                )))
                .bind(email.as_str().to_owned());
                fetch_optional_as(&self.pool, q, |row| {
                    Ok($crate::sql_from_row!(row => Credentials {
                        user = user_from_row(row)?,
                        password_hash,
                        failed_logins,
                        last_failed_login_at,
                    }))
                })
                .await
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
                load_token(&self.pool, id).await
            }

            async fn list_tokens(&self, user_id: Option<UserId>) -> StoreResult<Vec<ApiToken>> {
                let q = match user_id {
                    Some(u) => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")))
                        .bind(u.0),
                    None => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at DESC"))),
                };
                fetch_all_as(&self.pool, q, token_from_row).await
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
                let token = load_token(&mut *tx, id).await?;
                commit(self, tx).await?;
                Ok(token)
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
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")))
                    .bind(after_seq)
                    .bind(i64::from(limit));
                fetch_all_as(&self.pool, q, audit_from_row).await
            }

            async fn recent_audit(&self, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>> {
                let q = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {AUDIT_COLS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2")))
                    .bind(before_seq.unwrap_or(i64::MAX))
                    .bind(i64::from($crate::page_limit(limit)));
                fetch_all_as(&self.pool, q, audit_from_row).await
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
    };
}
