//! Nothing acknowledged is lost: incidents declared through the API survive a graceful stop
//! (SIGTERM, exit 0) and a SIGKILL right after the 201, on SQLite and on PostgreSQL.

mod common;

use common::{Api, Backend, Database, Server};
use serde_json::Value;

async fn graceful_restart_keeps_data(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();

    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    let first = api.declare("Checkout returns 500s", "critical").await;
    let second = api.declare("Search is slow", "medium").await;
    let (status, _) =
        api.post(&format!("/incidents/{}/acknowledge", second["id"].as_str().unwrap_or_default()), Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = api.post("/incidents/1/notes", serde_json::json!({"body": "rolled back deploy 42"})).await;
    assert_eq!(status, 201);

    let exit = server.terminate();
    assert!(exit.success(), "SIGTERM must stop the server gracefully with exit 0, got {exit}");

    let server = Server::start(&db.url).await;
    assert!(server.logs().contains("ready on"));
    let api = Api::new(&server, &token);
    let (status, list) = api.get("/incidents").await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["id"], second["id"]);
    assert_eq!(items[0]["status"], "acknowledged");
    assert_eq!(items[1]["id"], first["id"]);
    assert_eq!(items[1]["title"], "Checkout returns 500s");
    assert_eq!(items[1]["severity"], "critical");

    let (status, timeline) = api.get("/incidents/INC-1/timeline").await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> =
        timeline["items"].as_array().into_iter().flatten().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["created", "note_added"], "{timeline}");

    // Numbering carries on after the restart.
    let third = api.declare("Third", "low").await;
    assert_eq!(third["number"], 3, "{third}");

    let exit = server.terminate();
    assert!(exit.success(), "second SIGTERM: {exit}");
    let out = db.verify_audit();
    common::assert_success(&out, "verify-audit after restarts");
}

async fn sigkill_after_201_keeps_the_incident(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();

    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    let incident = api.declare("Database primary down", "critical").await;
    // The 201 is in hand: kill at once, with no chance to flush anything.
    server.kill9();

    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    let id = incident["id"].as_str().unwrap_or_default();
    let (status, found) = api.get(&format!("/incidents/{id}")).await;
    assert_eq!(status, 200, "the acknowledged incident is lost after SIGKILL: {found}");
    assert_eq!(found["title"], "Database primary down");
    assert_eq!(found["status"], "triggered");
    let (status, timeline) = api.get(&format!("/incidents/{id}/timeline")).await;
    assert_eq!(status, 200);
    let items = timeline["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{timeline}");
    assert_eq!(items[0]["kind"], "created");
    assert_eq!(items[0]["actor"]["name"], "Ada Admin");

    // Kill in the middle of a burst too: every 201 received must be there afterwards.
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        let created = api.declare(&format!("burst {n}"), "low").await;
        acknowledged.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    server.kill9();
    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    for id in &acknowledged {
        let (status, body) = api.get(&format!("/incidents/{id}")).await;
        assert_eq!(status, 200, "incident {id} lost: {body}");
    }
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
    common::assert_success(&db.verify_audit(), "verify-audit after SIGKILL");
}

#[tokio::test]
async fn sqlite_graceful_restart_keeps_data() {
    graceful_restart_keeps_data(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_graceful_restart_keeps_data() {
    graceful_restart_keeps_data(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_sigkill_after_201_keeps_the_incident() {
    sigkill_after_201_keeps_the_incident(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_sigkill_after_201_keeps_the_incident() {
    sigkill_after_201_keeps_the_incident(Backend::Postgres).await;
}

/// SIGTERM while requests are in flight: the server finishes them and exits 0, and every
/// incident a client got a 201 for is there after the restart.
async fn sigterm_under_load_loses_nothing(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let base = server.url.clone();

    let (created_tx, mut created_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut clients = Vec::new();
    for worker in 0..4 {
        let (base, token, created) = (base.clone(), token.clone(), created_tx.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for n in 0.. {
                let body =
                    serde_json::json!({"title": format!("load {worker}/{n}"), "severity": "low", "type": "other"});
                let Ok(res) =
                    http.post(format!("{base}/api/v1/incidents")).bearer_auth(&token).json(&body).send().await
                else {
                    break;
                };
                let status = res.status().as_u16();
                let Ok(v) = res.json::<Value>().await else { break };
                assert_eq!(status, 201, "while shutting down, a request is answered properly or not at all: {v}");
                let _ = created.send(v["id"].as_str().unwrap_or_default().to_owned());
            }
        }));
    }
    drop(created_tx);
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 20 {
        let Some(id) = created_rx.recv().await else { break };
        acknowledged.push(id);
    }
    let exit = tokio::task::spawn_blocking(move || server.terminate()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(exit.success(), "SIGTERM under load must still exit 0, got {exit}");
    for client in clients {
        client.await.unwrap_or_else(|e| panic!("client: {e}"));
    }
    while let Some(id) = created_rx.recv().await {
        acknowledged.push(id);
    }

    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    for id in &acknowledged {
        let (status, body) = api.get(&format!("/incidents/{id}")).await;
        assert_eq!(status, 200, "incident {id} answered 201 before SIGTERM is lost: {body}");
    }
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigterm_under_load_loses_nothing() {
    sigterm_under_load_loses_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigterm_under_load_loses_nothing() {
    sigterm_under_load_loses_nothing(Backend::Postgres).await;
}
