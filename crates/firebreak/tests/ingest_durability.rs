//! Nothing acknowledged is lost, for alerts: several clients stream PagerDuty Events v2
//! triggers (each with its own dedup key) at the real `firebreak serve`, the server is killed
//! with SIGKILL in the middle of the stream, and after a restart on the same database every
//! event that was answered 202 is there as an alert — on SQLite and on PostgreSQL.

mod common;

use common::{Api, Backend, Database, Server};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Concurrent senders.
const CLIENTS: usize = 8;
/// Events answered 202 before the kill (the stream goes on until the server dies).
const BEFORE_KILL: usize = 400;

/// A trigger as PagerDuty's documentation shows one.
fn trigger(routing_key: &str, dedup_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": format!("DISK at 99% ({dedup_key})"),
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "source": "prod-datapipe03.example.com",
            "severity": "critical",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
        },
        "links": [{"href": "https://example.com/", "text": "Link text"}],
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com"
    })
}

/// Every alert, by dedup key, following `next_cursor`.
async fn alerts_by_key(api: &Api) -> BTreeMap<String, Vec<Value>> {
    let mut by_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let path = match &cursor {
            Some(c) => format!("/alerts?limit=200&cursor={c}"),
            None => "/alerts?limit=200".to_owned(),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        for a in page["items"].as_array().into_iter().flatten() {
            let key = a["dedup_key"].as_str().unwrap_or_else(|| panic!("alert without dedup_key: {a}")).to_owned();
            by_key.entry(key).or_default().push(a.clone());
        }
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => return by_key,
        }
    }
    panic!("more than 10,000 pages of alerts");
}

async fn sigkill_mid_stream_loses_no_accepted_event(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);

    let (status, service) = api.post("/services", json!({"name": "Checkout"})).await;
    assert_eq!(status, 201, "{service}");
    let service_id = service["id"].as_str().unwrap_or_default().to_owned();
    let (status, integration) = api
        .post(&format!("/services/{service_id}/integrations"), json!({"type": "pagerduty", "name": "Prometheus"}))
        .await;
    assert_eq!(status, 201, "{integration}");
    let key = integration["key"].as_str().unwrap_or_default().to_owned();
    let endpoint = integration["url"].as_str().unwrap_or_default().to_owned();
    assert_eq!(endpoint, format!("{}/v2/enqueue", server.url), "the integration names this server's endpoint");

    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (endpoint, key, accepted) = (endpoint.clone(), key.clone(), accepted_tx.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_else(|e| panic!("http client: {e}"));
            let mut sent = 0usize;
            for n in 0.. {
                let dedup = format!("c{client}-{n}");
                sent += 1;
                // No credentials but the routing key in the body, as PagerDuty clients send.
                let Ok(res) = http.post(&endpoint).json(&trigger(&key, &dedup)).send().await else { break };
                let status = res.status().as_u16();
                // A 202 counts only once its whole body has arrived.
                let Ok(body) = res.json::<Value>().await else { break };
                assert_eq!(status, 202, "until it dies the server takes every event: {body}");
                assert_eq!(body, json!({"status": "success", "message": "Event processed", "dedup_key": dedup}));
                let _ = accepted.send(dedup);
            }
            sent
        }));
    }
    drop(accepted_tx);
    let mut accepted = BTreeSet::new();
    while accepted.len() < BEFORE_KILL {
        let Some(k) = accepted_rx.recv().await else { break };
        accepted.insert(k);
    }
    assert_eq!(accepted.len(), BEFORE_KILL, "the stream ended before the kill; log:\n{}", server.logs());
    // Mid-stream: every client has a request in flight or about to be.
    server.kill9();
    let mut sent = 0;
    for c in clients {
        sent += c.await.unwrap_or_else(|e| panic!("client: {e}"));
    }
    while let Some(k) = accepted_rx.recv().await {
        accepted.insert(k);
    }
    assert!(sent > accepted.len(), "some events were cut off by the kill ({sent} sent, {} accepted)", accepted.len());

    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    let stored = alerts_by_key(&api).await;
    let lost: Vec<&String> = accepted.iter().filter(|k| !stored.contains_key(*k)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} events answered 202 are lost after SIGKILL, among them {:?}",
        lost.len(),
        accepted.len(),
        &lost[..lost.len().min(20)]
    );
    for k in &accepted {
        let alerts = &stored[k];
        assert_eq!(alerts.len(), 1, "{k}: one alert per key: {alerts:?}");
        let a = &alerts[0];
        assert_eq!((a["status"].as_str(), a["count"].as_i64()), (Some("open"), Some(1)), "{a}");
        assert_eq!(a["service_id"], service_id.as_str());
        assert!(a["incident_id"].is_string(), "{a}");
    }
    // Events cut off before their 202 may or may not have been committed; nothing else is there.
    assert!(stored.len() <= sent, "{} alerts from {sent} events", stored.len());
    assert!(stored.values().all(|a| a.len() == 1), "one alert per key");

    // The stream carries on where it stopped: a repeat of an accepted key is a duplicate.
    let first = accepted.iter().next().cloned().unwrap_or_default();
    let res = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.url))
        .json(&trigger(&key, &first))
        .send()
        .await
        .unwrap_or_else(|e| panic!("enqueue after restart: {e}"));
    assert_eq!(res.status().as_u16(), 202);
    let id = stored[&first][0]["id"].as_str().unwrap_or_default().to_owned();
    let (status, a) = api.get(&format!("/alerts/{id}")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["count"], 2, "{a}");
    let (status, incidents) = api.get("/incidents").await;
    assert_eq!(status, 200);
    assert_eq!(incidents["items"].as_array().map(Vec::len), Some(1), "all alerts joined the service's incident");

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
    common::assert_success(&db.verify_audit(), "verify-audit after SIGKILL mid-stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_mid_stream_loses_no_accepted_event() {
    sigkill_mid_stream_loses_no_accepted_event(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_mid_stream_loses_no_accepted_event() {
    sigkill_mid_stream_loses_no_accepted_event(Backend::Postgres).await;
}
