//! `firebreak admin verify-audit` on a real database: exit 0 on an intact chain; after a row
//! is changed, deleted or inserted out of band (straight SQL, under the server), a non-zero
//! exit naming the first bad entry. SQLite and PostgreSQL.

mod common;

use common::{Api, Backend, Database, Server, assert_failure, assert_success, stdout};
use firebreak_domain::{AuditContent, Timestamp};

/// A database with a few audit entries: the admin, their token, incidents and transitions.
/// Returns it with the number of audit entries written.
async fn audited_database(backend: Backend) -> Option<(Database, i64)> {
    let db = Database::fresh(backend).await?;
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    api.declare("Payments failing", "critical").await;
    api.declare("Login slow", "low").await;
    let (status, _) = api.post("/incidents/1/resolve", serde_json::Value::Null).await;
    assert_eq!(status, 200);
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");

    let out = db.verify_audit();
    assert_success(&out, "verify-audit on an intact chain");
    // user.create, token.create, 2 × incident.create, incident.resolve
    let entries = 5;
    assert!(stdout(&out).contains(&format!("intact: {entries} entries")), "{}", stdout(&out));
    Some((db, entries))
}

/// Runs one statement straight against the database, as someone with file or SQL access would.
async fn tamper(db: &Database, sql: &str) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap_or_else(|e| panic!("open sqlite: {e}"));
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(done.rows_affected(), 1, "{sql}");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap_or_else(|e| panic!("open postgres: {e}"));
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(done.rows_affected(), 1, "{sql}");
            pool.close().await;
        }
    }
}

/// Appends a well-formed, correctly chained entry after the last one without going through
/// Firebreak (so the recorded chain head is not moved).
async fn forge_entry(db: &Database, seq: i64) {
    let select = "SELECT hash FROM audit_log WHERE seq = $1";
    let insert = "INSERT INTO audit_log (seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash) \
                  VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9)";
    let at: Timestamp = firebreak_domain::time::now();
    let content = |prev: &str| {
        AuditContent {
            seq,
            at,
            actor_id: None,
            actor_name: "mallory".into(),
            via: "admin".into(),
            action: "user.create".into(),
            target: "user:backdoor".into(),
            details: serde_json::json!({"role": "admin"}),
        }
        .seal(prev)
    };
    macro_rules! forge {
        ($pool:expr) => {{
            let pool = $pool.await.unwrap_or_else(|e| panic!("open: {e}"));
            let prev: String =
                sqlx::query_scalar(select).bind(seq - 1).fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}"));
            let e = content(&prev);
            sqlx::query(insert)
                .bind(e.content.seq)
                .bind(e.content.at)
                .bind(&e.content.actor_name)
                .bind(&e.content.via)
                .bind(&e.content.action)
                .bind(&e.content.target)
                .bind(e.content.details.to_string())
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("forge: {e}"));
            pool.close().await;
        }};
    }
    match db.backend {
        Backend::Sqlite => forge!(sqlx::SqlitePool::connect(&db.url)),
        Backend::Postgres => forge!(sqlx::PgPool::connect(&db.url)),
    }
}

/// verify-audit must fail and name `entry {seq}` as the first bad one.
fn assert_broken_at(db: &Database, seq: i64, what: &str) {
    let out = db.verify_audit();
    assert_failure(&out, what);
    let text = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(
        text.contains(&format!("BROKEN at entry {seq}:")),
        "{what}: verify-audit should name entry {seq} as the first bad one, said:\n{text}"
    );
}

async fn changed_row_is_detected(backend: Backend) {
    let Some((db, _)) = audited_database(backend).await else { return };
    tamper(&db, "UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 3").await;
    assert_broken_at(&db, 3, "a changed row");
}

async fn changed_details_are_detected(backend: Backend) {
    let Some((db, _)) = audited_database(backend).await else { return };
    tamper(&db, r#"UPDATE audit_log SET details = '{"role":"viewer"}' WHERE seq = 1"#).await;
    assert_broken_at(&db, 1, "changed details");
}

async fn unreadable_row_is_detected(backend: Backend) {
    let Some((db, _)) = audited_database(backend).await else { return };
    tamper(&db, "UPDATE audit_log SET details = 'not json at all' WHERE seq = 2").await;
    assert_broken_at(&db, 2, "a row whose details are no longer JSON");
}

async fn deleted_row_is_detected(backend: Backend) {
    let Some((db, _)) = audited_database(backend).await else { return };
    tamper(&db, "DELETE FROM audit_log WHERE seq = 2").await;
    assert_broken_at(&db, 2, "a deleted row");
}

async fn deleted_newest_row_is_detected(backend: Backend) {
    let Some((db, entries)) = audited_database(backend).await else { return };
    tamper(&db, &format!("DELETE FROM audit_log WHERE seq = {entries}")).await;
    assert_broken_at(&db, entries, "the newest row deleted");
}

async fn inserted_row_is_detected(backend: Backend) {
    let Some((db, entries)) = audited_database(backend).await else { return };
    forge_entry(&db, entries + 1).await;
    assert_broken_at(&db, entries + 1, "a correctly chained row inserted out of band");
}

async fn garbage_row_is_detected(backend: Backend) {
    let Some((db, entries)) = audited_database(backend).await else { return };
    let seq = entries + 1;
    tamper(
        &db,
        &format!(
            "INSERT INTO audit_log (seq, at, actor_id, actor_name, via, action, target, details, prev_hash, hash) \
             SELECT {seq}, at, actor_id, actor_name, via, action, target, details, hash, hash FROM audit_log WHERE seq = {entries}"
        ),
    )
    .await;
    assert_broken_at(&db, seq, "a copied row inserted out of band");
}

macro_rules! on_both_backends {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { super::$case(super::Backend::Sqlite).await; })+
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { super::$case(super::Backend::Postgres).await; })+
        }
    };
}

on_both_backends!(
    changed_row_is_detected,
    changed_details_are_detected,
    unreadable_row_is_detected,
    deleted_row_is_detected,
    deleted_newest_row_is_detected,
    inserted_row_is_detected,
    garbage_row_is_detected,
);
