//! `firebreak rule …`, `firebreak window …`, `firebreak check …` and `firebreak service
//! heartbeat|mapping …` against a real server: a rule added from the command line classifies
//! a PagerDuty event, a window suppresses one, checks probe real local TCP and HTTP servers
//! started here, a generic mapping set from a file maps a real payload; bad input fails
//! before anything is created; tables, `--json`, help and errors.

mod common;

use common::{Backend, Cli, Database, Server, assert_success, field, stdout};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Instant;

fn count(v: &Value) -> usize {
    v["items"].as_array().map(Vec::len).unwrap_or(usize::MAX)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key:?} in {v}"))
}

async fn send_event(server: &Server, key: &str, dedup: &str, summary: &str, source: &str, severity: &str, env: &str) {
    let event = json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": summary, "source": source, "severity": severity, "custom_details": {"env": env}},
    });
    let res = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.url))
        .json(&event)
        .send()
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"));
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn rules_and_windows_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token: token.clone() };
    let api = common::Api::new(&server, &token);

    assert_eq!(cli.ok(&["rule", "list"]).trim(), "no rules (add one with `firebreak rule add`)");
    cli.ok(&["service", "create", "checkout"]);
    cli.ok(&["service", "create", "search"]);
    let key =
        str_of(&cli.json(&["service", "add-integration", "checkout", "--type", "pagerduty", "--name", "pd"]), "key")
            .to_owned();

    // Rules: a service's own, and a global one that drops.
    let out = cli.ok(&[
        "rule",
        "add",
        "disk is critical",
        "--service",
        "checkout",
        "--match",
        "summary~=(?i)disk (full|low)",
        "--match",
        "source=db-1",
        "--match",
        "severity in warning, error",
        "--match",
        "details.custom_details.env?",
        "--set-severity",
        "critical",
        "--set-type",
        "degradation",
        "--tag",
        "disk",
        "--tag",
        "storage",
    ]);
    assert_eq!(field(&out, "rule"), "disk is critical");
    assert_eq!(field(&out, "scope:"), "checkout");
    assert_eq!(field(&out, "position:"), "100");
    assert_eq!(
        field(&out, "conditions:"),
        "summary~=(?i)disk (full|low) and source=db-1 and severity in warning,error and details.custom_details.env?"
    );
    assert_eq!(field(&out, "actions:"), "severity critical; type degradation; tags disk, storage");
    let disk_id = field(&out, "id:");
    let dropper = cli.json(&[
        "rule",
        "add",
        "drop staging",
        "--match",
        "details.custom_details.env=staging",
        "--drop",
        "--position",
        "5",
    ]);
    assert_eq!(dropper["actions"]["drop"], true, "{dropper}");
    assert_eq!(dropper["service_id"], Value::Null, "{dropper}");
    assert_eq!(
        dropper["conditions"][0],
        json!({"field": "details.custom_details.env", "op": "equals", "value": "staging"})
    );

    let table = cli.ok(&["rule", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for col in ["POS", "NAME", "SCOPE", "CONDITIONS", "ACTIONS", "ID"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].starts_with("5 ") && lines[1].contains("drop staging") && lines[1].contains("all services"));
    assert!(lines[1].contains("details.custom_details.env=staging") && lines[1].contains(" drop "), "{table}");
    assert!(lines[2].starts_with("100") && lines[2].contains("checkout") && lines[2].ends_with(&disk_id), "{table}");
    assert!(lines[2].contains("severity critical; type degradation; tags disk, storage"), "{table}");
    assert_eq!(count(&cli.json(&["rule", "list"])), 2);

    // The round trip: the rule classifies an alert sent to /v2/enqueue; the other is dropped.
    send_event(&server, &key, "db-1/disk", "Disk full on db-1", "db-1", "warning", "prod").await;
    send_event(&server, &key, "web/cpu", "CPU high", "web-1", "warning", "staging").await;
    let (status, incidents) = api.get("/incidents").await;
    assert_eq!(status, 200, "{incidents}");
    assert_eq!(count(&incidents), 1, "{incidents}");
    let incident = &incidents["items"][0];
    assert_eq!(incident["severity"], "critical", "set by the rule: {incident}");
    assert_eq!(incident["type"], "degradation", "{incident}");
    assert_eq!(incident["tags"], json!(["disk", "storage"]), "{incident}");
    let alerts = cli.json(&["alert", "list"]);
    assert_eq!(count(&alerts), 1, "the staging alert was dropped: {alerts}");
    assert_eq!(alerts["items"][0]["details"]["matched_rule"]["name"], "disk is critical", "{alerts}");

    // Bad conditions fail on the command line (exit 2) and create nothing.
    for (bad, needle) in [
        ("labels.team", "FIELD=VALUE"),
        ("summary~=(unclosed", "not a valid regular expression"),
        ("colour=red", "unknown field \"colour\""),
        ("severity in ", "no values"),
        ("summary!=x", "not supported"),
    ] {
        let err = cli.fails(2, &["rule", "add", "bad", "--match", bad, "--set-severity", "low"]);
        assert!(err.contains("--match") && err.contains(needle), "{bad}: {err}");
    }
    let err = cli.fails(2, &["rule", "add", "no action", "--match", "source=x"]);
    assert!(err.contains("--set-severity") && err.contains("--drop"), "{err}");
    let err = cli.fails(2, &["rule", "add", "x", "--set-severity", "urgent"]);
    assert!(err.contains("critical, high, medium, low"), "{err}");
    let err = cli.fails(2, &["rule", "add", "x", "--drop", "--tag", "t"]);
    assert!(err.contains("cannot be used with"), "{err}");
    // What only the server knows: exit 1 with its message and a hint.
    let long = "n".repeat(101);
    let err = cli.fails(1, &["rule", "add", &long, "--set-severity", "low"]);
    assert!(err.contains("name: must be one line") && err.contains("HTTP 422"), "{err}");
    assert!(err.contains("hint: see `firebreak rule add --help`"), "{err}");
    let err = cli.fails(1, &["rule", "add", "x", "--service", "nowhere", "--set-severity", "low"]);
    assert!(err.contains("no service named \"nowhere\""), "{err}");
    assert_eq!(count(&cli.json(&["rule", "list"])), 2, "nothing was created");

    // Delete by name and by id.
    assert!(cli.ok(&["rule", "delete", "drop staging"]).starts_with("deleted rule "));
    let deleted = cli.json(&["rule", "delete", &disk_id]);
    assert_eq!(deleted, json!({"id": disk_id, "deleted": true}));
    let err = cli.fails(1, &["rule", "delete", &disk_id]);
    assert!(err.contains("HTTP 404") && err.contains("hint: see `firebreak rule list`"), "{err}");
    let err = cli.fails(1, &["rule", "delete", "drop staging"]);
    assert!(err.contains("no rule with the id or name \"drop staging\""), "{err}");
    assert!(cli.ok(&["rule", "list"]).starts_with("no rules"));

    // Maintenance windows.
    assert!(cli.ok(&["window", "list"]).starts_with("no maintenance windows"));
    let now = chrono::Utc::now();
    let from = rfc3339(now - chrono::TimeDelta::hours(1));
    let until = rfc3339(now + chrono::TimeDelta::hours(1));
    let out = cli.ok(&[
        "window",
        "add",
        "db upgrade",
        "--service",
        "checkout",
        "--from",
        &from,
        "--until",
        &until,
        "--match",
        "source=db-9",
    ]);
    assert_eq!(field(&out, "window"), "db upgrade");
    assert_eq!(field(&out, "scope:"), "checkout");
    assert_eq!(field(&out, "starts:"), format!("{} UTC", from.replace('T', " ").trim_end_matches('Z')));
    assert_eq!(field(&out, "repeats:"), "once");
    assert_eq!(field(&out, "active now:"), "yes");
    assert_eq!(field(&out, "conditions:"), "source=db-9");
    let upgrade_id = field(&out, "id:");
    let nightly = cli.json(&[
        "window",
        "add",
        "nightly backup",
        "--from",
        "2030-01-01T03:00:00+01:00",
        "--for",
        "90m",
        "--repeat",
        "daily",
        "--match",
        "summary~=(?i)backup",
    ]);
    assert_eq!(nightly["starts_at"], "2030-01-01T02:00:00Z", "{nightly}");
    assert_eq!(nightly["ends_at"], "2030-01-01T03:30:00Z", "{nightly}");
    assert_eq!(nightly["recurrence"], "daily");
    assert_eq!(nightly["active"], false);

    // The window suppresses a matching alert.
    send_event(&server, &key, "db-9/x", "Replica lag", "db-9", "error", "prod").await;
    let suppressed = cli.json(&["alert", "list", "--status", "suppressed"]);
    assert_eq!(count(&suppressed), 1, "{suppressed}");
    assert_eq!(suppressed["items"][0]["details"]["suppressed_by"]["name"], "db upgrade", "{suppressed}");

    let table = cli.ok(&["window", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for col in ["NAME", "SCOPE", "STARTS (UTC)", "ENDS (UTC)", "REPEATS", "ACTIVE", "CONDITIONS", "ID"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].starts_with("db upgrade") && lines[1].contains(" yes ") && lines[1].contains("source=db-9"));
    assert!(
        lines[2].starts_with("nightly backup") && lines[2].contains("all services") && lines[2].contains(" daily ")
    );
    assert!(lines[2].contains("2030-01-01 02:00:00") && lines[2].contains(" no "), "{table}");

    // Bad windows: the command line refuses what it can check, the server the rest.
    let err = cli.fails(2, &["window", "add", "w", "--from", "tomorrow", "--for", "1h"]);
    assert!(err.contains("RFC 3339"), "{err}");
    let err = cli.fails(2, &["window", "add", "w", "--from", &from]);
    assert!(err.contains("--until"), "{err}");
    let err = cli.fails(2, &["window", "add", "w", "--for", "1h", "--match", "summary~=[", "--repeat", "daily"]);
    assert!(err.contains("not a valid regular expression"), "{err}");
    let err = cli.fails(2, &["window", "add", "w", "--for", "1h", "--repeat", "monthly"]);
    assert!(err.contains("once, daily, weekly"), "{err}");
    let err = cli.fails(1, &["window", "add", "w", "--from", &until, "--until", &from]);
    assert!(err.contains("ends_at: must be after starts_at") && err.contains("hint:"), "{err}");
    let err = cli.fails(1, &["window", "add", "w", "--for", "25h", "--repeat", "daily"]);
    assert!(err.contains("shorter than its period"), "{err}");
    assert_eq!(count(&cli.json(&["window", "list"])), 2, "nothing was created");

    assert!(cli.ok(&["window", "delete", "nightly backup"]).starts_with("deleted maintenance window "));
    assert_eq!(cli.json(&["window", "delete", &upgrade_id])["deleted"], true);
    let err = cli.fails(1, &["window", "delete", &upgrade_id]);
    assert!(err.contains("HTTP 404") && err.contains("firebreak window list"), "{err}");
    assert!(cli.ok(&["window", "list"]).starts_with("no maintenance windows"));

    // Viewers read but change nothing; the hint says why.
    let out = db.admin(
        &["create-user", "--email", "viewer@example.com", "--name", "Vi", "--role", "viewer", "--password-stdin"],
        Some(&format!("{}\n", common::PASSWORD)),
    );
    assert_success(&out, "create viewer");
    let viewer = Cli { url: server.url.clone(), token: db.token_for("viewer@example.com") };
    assert!(viewer.ok(&["rule", "list"]).starts_with("no rules"));
    let err = viewer.fails(1, &["rule", "add", "mine", "--set-severity", "low"]);
    assert!(err.contains("HTTP 403") && err.contains("responder"), "{err}");
    let bad_token = Cli { url: server.url.clone(), token: "fbk_nope".into() };
    let err = bad_token.fails(1, &["window", "list"]);
    assert!(err.contains("HTTP 401") && err.contains("FIREBREAK_TOKEN"), "{err}");
    assert!(!err.contains("fbk_nope"), "the token is not echoed: {err}");

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn rules_and_windows_from_the_command_line_on_sqlite() {
    rules_and_windows_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn rules_and_windows_from_the_command_line_on_postgres() {
    rules_and_windows_from_the_command_line(Backend::Postgres).await;
}

/// A tiny HTTP server on a free local port answering every request with 200 and `body`.
fn http_server(body: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

/// Waits until the check has at least one result (the server runs due checks every second).
async fn first_result(api: &common::Api, check_id: &str) {
    let deadline = Instant::now() + common::DEADLINE;
    loop {
        let (status, history) = api.get(&format!("/checks/{check_id}/history")).await;
        assert_eq!(status, 200, "{history}");
        if count(&history) > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "check {check_id} did not run within {:?}", common::DEADLINE);
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn checks_from_the_command_line() {
    let Some(db) = Database::fresh(Backend::Sqlite).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token: token.clone() };
    let api = common::Api::new(&server, &token);
    cli.ok(&["service", "create", "checkout"]);
    cli.ok(&["service", "create", "db"]);
    assert!(cli.ok(&["check", "list"]).starts_with("no checks"));

    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let tcp_addr = tcp.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).to_string();
    let closed_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        l.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).to_string()
    };
    let http_url = format!("http://127.0.0.1:{}/health", http_server("all ok\n"));

    let out = cli.ok(&[
        "check",
        "add",
        "checkout",
        "--http",
        &http_url,
        "--method",
        "get",
        "--keyword",
        "all ok",
        "--expect-status",
        "200",
        "--interval",
        "30s",
        "--timeout",
        "2500ms",
        "--failures",
        "2",
    ]);
    assert_eq!(field(&out, "check"), http_url);
    assert_eq!(field(&out, "service:"), "checkout");
    assert_eq!(field(&out, "target:"), format!("GET {http_url} → 200 containing \"all ok\""));
    assert_eq!(field(&out, "every:"), "30 s");
    assert_eq!(field(&out, "timeout:"), "2500 ms");
    assert_eq!(field(&out, "alert after:"), "2 failures in a row");
    let http_id = field(&out, "id:");
    let tls = cli.json(&["check", "add", "checkout", "--http", "https://tls.invalid/", "--cert-warn-days", "30"]);
    assert_eq!(tls["probe"]["cert_warn_days"], 30, "{tls}");
    let port_check = cli.json(&["check", "add", "db", "--tcp", &tcp_addr, "--name", "postgres port"]);
    assert_eq!(port_check["probe"], json!({"kind": "tcp", "address": tcp_addr}), "{port_check}");
    assert_eq!(port_check["interval_secs"], 60, "server default: {port_check}");
    let port_id = str_of(&port_check, "id").to_owned();
    let closed = cli.json(&["check", "add", "db", "--tcp", &closed_addr, "--name", "closed port", "--interval", "10"]);
    let closed_id = str_of(&closed, "id").to_owned();

    // Bad checks: the command line refuses what it can check, the server the rest.
    let err = cli.fails(2, &["check", "add", "db", "--tcp", &tcp_addr, "--http", &http_url]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = cli.fails(2, &["check", "add", "db"]);
    assert!(err.contains("--http") && err.contains("--tcp"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--http", &http_url, "--expect-status", "99"]);
    assert!(err.contains("--expect-status"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--http", &http_url, "--method", "TRACE"]);
    assert!(err.contains("GET, HEAD, POST, PUT, OPTIONS"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--tcp", &tcp_addr, "--keyword", "x"]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--http", &http_url, "--cert-warn-days", "400"]);
    assert!(err.contains("--cert-warn-days"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--tcp", &tcp_addr, "--cert-warn-days", "7"]);
    assert!(err.contains("cannot be used with"), "{err}");
    let err = cli.fails(2, &["check", "add", "db", "--tcp", &tcp_addr, "--interval", "soon"]);
    assert!(err.contains("length of time"), "{err}");
    let err = cli.fails(1, &["check", "add", "db", "--tcp", "no-port"]);
    assert!(
        err.contains("address: must be host:port") && err.contains("hint: see `firebreak check add --help`"),
        "{err}"
    );
    let err = cli.fails(1, &["check", "add", "db", "--http", "file:///etc/passwd"]);
    assert!(err.contains("url: must be an http:// or https:// URL"), "{err}");
    let err = cli.fails(1, &["check", "add", "db", "--tcp", &tcp_addr, "--interval", "5"]);
    assert!(err.contains("interval_secs"), "{err}");
    assert_eq!(count(&cli.json(&["check", "list"])), 4, "nothing more was created");

    for id in [&http_id, &port_id, &closed_id] {
        first_result(&api, id).await;
    }
    let table = cli.ok(&["check", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    for col in ["NAME", "SERVICE", "TARGET", "EVERY", "STATE", "LAST CHECK", "LAST ERROR", "ID"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].contains("checkout") && lines[1].contains(" up ") && lines[1].ends_with(&http_id), "{table}");
    assert!(lines[2].starts_with("https://tls.invalid/") && lines[2].contains("GET https://tls.invalid/ → 200"));
    assert!(lines[3].starts_with("postgres port") && lines[3].contains(&format!("tcp {tcp_addr}")), "{table}");
    assert!(
        lines[4].starts_with("closed port") && lines[4].contains("failing (") && lines[4].contains("/3)"),
        "{table}"
    );
    assert!(lines[4].contains("cannot connect"), "{table}");
    assert_eq!(count(&cli.json(&["check", "list", "--service", "db"])), 2);

    let history = cli.ok(&["check", "history", "postgres port"]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(lines[0].starts_with("check postgres port  tcp "), "{history}");
    assert!(lines[1].contains("AT (UTC)") && lines[1].contains("RESULT") && lines[1].contains("DETAIL"));
    assert!(lines[2].contains(" ok ") && lines[2].ends_with(&format!("connected to {tcp_addr}")), "{history}");
    let history = cli.ok(&["check", "history", &http_id]);
    assert!(history.lines().nth(2).is_some_and(|l| l.contains(" ok ") && l.ends_with("HTTP 200")), "{history}");
    let history = cli.ok(&["check", "history", "closed port"]);
    assert!(history.contains(" FAIL ") && history.contains("cannot connect"), "{history}");
    let history = cli.json(&["check", "history", &closed_id, "--limit", "1"]);
    assert_eq!(history["items"][0]["ok"], false, "{history}");
    let err = cli.fails(1, &["check", "history", "nothing"]);
    assert!(err.contains("no check with the id or name \"nothing\"") && err.contains("firebreak check list"));
    drop(tcp);

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn heartbeat_and_mapping_from_the_command_line() {
    let Some(db) = Database::fresh(Backend::Sqlite).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token };
    cli.ok(&["service", "create", "backups"]);
    let beat = cli.json(&["service", "add-integration", "backups", "--type", "heartbeat", "--name", "nightly"]);
    let beat_id = str_of(&beat, "id").to_owned();
    let beat_key = str_of(&beat, "key").to_owned();
    let hook = cli.json(&["service", "add-integration", "backups", "--type", "generic", "--name", "hook"]);
    let hook_id = str_of(&hook, "id").to_owned();
    let hook_key = str_of(&hook, "key").to_owned();

    // Heartbeat: show, then change one setting at a time.
    let out = cli.ok(&["service", "heartbeat", &beat_id]);
    assert_eq!(field(&out, "heartbeat"), beat_id);
    assert_eq!(field(&out, "interval:"), "300 s");
    assert_eq!(field(&out, "grace:"), "60 s");
    assert_eq!(field(&out, "last beat:"), "never");
    assert_eq!(field(&out, "state:"), "ok");
    assert!(!out.contains(&beat_key), "no key is printed: {out}");
    let out = cli.ok(&["service", "heartbeat", &beat_id, "--interval", "1h"]);
    assert_eq!(field(&out, "interval:"), "3600 s");
    assert_eq!(field(&out, "grace:"), "60 s", "grace is kept");
    let hb = cli.json(&["service", "heartbeat", &beat_id, "--grace", "2m"]);
    assert_eq!((hb["interval_seconds"].as_i64(), hb["grace_seconds"].as_i64()), (Some(3600), Some(120)), "{hb}");
    let err = cli.fails(1, &["service", "heartbeat", &beat_id, "--interval", "5"]);
    assert!(err.contains("interval_seconds") && err.contains("hint: --interval is 10s to 30d"), "{err}");
    let err = cli.fails(2, &["service", "heartbeat", &beat_id, "--grace", "a while"]);
    assert!(err.contains("length of time"), "{err}");
    let err = cli.fails(1, &["service", "heartbeat", &hook_id]);
    assert!(err.contains("HTTP 404") && err.contains("is it a heartbeat integration?"), "{err}");
    assert_eq!(cli.json(&["service", "heartbeat", &beat_id])["interval_seconds"], 3600);

    // Mapping: show the default, set one from a file, test samples.
    let out = cli.ok(&["service", "mapping", &hook_id]);
    assert!(field(&out, "summary:").contains("summary or title"), "{out}");
    assert_eq!(field(&out, "details:"), "(the whole payload)");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |name: &str, content: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, content.to_string()).unwrap_or_else(|e| panic!("write {name}: {e}"));
        path.display().to_string()
    };
    let mapping = write(
        "mapping.json",
        &json!({"summary": "{{ host }}: {{ check }} failed", "dedup_key": "/id", "severity": "/level", "source": "/host"}),
    );
    let sample = write("sample.json", &json!({"host": "db-1", "check": "backup", "id": "bk-7", "level": "critical"}));
    let out = cli.ok(&["service", "mapping", &hook_id, "--set", &mapping]);
    assert!(out.starts_with("mapping saved:"), "{out}");
    assert_eq!(field(&out, "summary:"), "{{ host }}: {{ check }} failed");
    assert_eq!(field(&out, "dedup_key:"), "/id");
    let out = cli.ok(&["service", "mapping", &hook_id, "--test", &sample]);
    assert!(out.starts_with("mapped event:"), "{out}");
    assert_eq!(field(&out, "summary:"), "db-1: backup failed");
    assert_eq!(field(&out, "severity:"), "critical");
    assert_eq!(field(&out, "dedup key:"), "bk-7");
    assert_eq!(field(&out, "action:"), "trigger");
    assert!(out.contains("\"host\": \"db-1\""), "details: {out}");
    let event = cli.json(&["service", "mapping", &hook_id, "--test", &sample]);
    assert_eq!(event["summary"], "db-1: backup failed", "{event}");

    // A mapping that cannot map the sample is not saved; the server's reason is shown.
    let bad = write("bad.json", &json!({"summary": "/nothing/here"}));
    let err = cli.fails(1, &["service", "mapping", &hook_id, "--set", &bad, "--test", &sample]);
    assert!(err.contains("empty summary") && err.contains("HTTP 422") && err.contains("not saved"), "{err}");
    assert_eq!(cli.json(&["service", "mapping", &hook_id])["summary"], "{{ host }}: {{ check }} failed");
    let broken = write("broken.json", &json!({"summary": "{{ unclosed"}));
    let err = cli.fails(1, &["service", "mapping", &hook_id, "--set", &broken]);
    assert!(err.contains("summary:") && err.contains("hint: fix the mapping"), "{err}");
    let unknown = write("unknown.json", &json!({"summary": "x", "colour": "red"}));
    let err = cli.fails(1, &["service", "mapping", &hook_id, "--set", &unknown]);
    assert!(err.contains("colour") && err.contains("HTTP 4"), "{err}");
    let err = cli.fails(1, &["service", "mapping", &hook_id, "--test", "/nonexistent/sample.json"]);
    assert!(err.contains("cannot read the sample /nonexistent/sample.json"), "{err}");
    let not_json = dir.path().join("not.json");
    std::fs::write(&not_json, "summary: yaml").unwrap_or_else(|e| panic!("write: {e}"));
    let err = cli.fails(1, &["service", "mapping", &hook_id, "--set", &not_json.display().to_string()]);
    assert!(err.contains("is not valid JSON"), "{err}");
    let err = cli.fails(1, &["service", "mapping", &beat_id]);
    assert!(err.contains("HTTP 409") && err.contains("only generic webhook integrations"), "{err}");
    assert_eq!(cli.json(&["service", "mapping", &hook_id])["dedup_key"], "/id", "unchanged");

    // The saved mapping is the one real payloads go through.
    let payload = std::fs::read_to_string(&sample).unwrap_or_default();
    let res = reqwest::Client::new()
        .post(format!("{}/ingest/{hook_key}/generic", server.url))
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap_or_else(|e| panic!("generic ingest: {e}"));
    assert!(res.status().is_success(), "{}", res.text().await.unwrap_or_default());
    let alerts = cli.json(&["alert", "list"]);
    assert_eq!(alerts["items"][0]["summary"], "db-1: backup failed", "{alerts}");
    assert_eq!(alerts["items"][0]["dedup_key"], "bk-7", "{alerts}");

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[test]
fn help_of_the_triage_commands_shows_examples() {
    let help = |args: &[&str]| {
        let mut cmd = common::firebreak();
        cmd.args(args).arg("--help").env("FIREBREAK_TOKEN", "fbk_secret_in_env");
        let out = common::run_with(&mut cmd, None);
        assert_success(&out, &format!("{args:?} --help"));
        let text = stdout(&out);
        assert!(!text.contains("fbk_secret_in_env"), "the token is not echoed: {text}");
        text
    };
    let top = help(&[]);
    for cmd in ["rule", "window", "check"] {
        assert!(top.contains(cmd), "top --help lacks {cmd}:\n{top}");
    }
    for (group, cmds) in [
        ("rule", &["list", "add", "delete"]),
        ("window", &["list", "add", "delete"]),
        ("check", &["list", "add", "history"]),
    ] {
        let text = help(&[group]);
        for cmd in cmds {
            assert!(text.contains(cmd), "{group} --help lacks {cmd}:\n{text}");
            let sub = help(&[group, cmd]);
            assert!(sub.contains("Example") && sub.contains(&format!("firebreak {group} {cmd}")), "{sub}");
            assert!(sub.contains("--json") && sub.contains("--token"), "{sub}");
        }
    }
    let service = help(&["service"]);
    assert!(service.contains("heartbeat") && service.contains("mapping"), "{service}");
    for cmd in ["heartbeat", "mapping"] {
        let sub = help(&["service", cmd]);
        assert!(sub.contains("Example") && sub.contains(&format!("firebreak service {cmd} ")), "{sub}");
    }
    let add = help(&["rule", "add"]);
    for needle in [
        "FIELD=VALUE",
        "FIELD~=REGEX",
        "FIELD?",
        "FIELD in A,B,C",
        "labels.NAME",
        "--set-type",
        "--set-severity",
        "--tag",
        "--drop",
    ] {
        assert!(add.contains(needle), "rule add --help lacks {needle}:\n{add}");
    }
    let add = help(&["window", "add"]);
    for needle in ["FIELD~=REGEX", "--from", "--until", "--for", "--repeat", "daily", "weekly", "RFC 3339"] {
        assert!(add.contains(needle), "window add --help lacks {needle}:\n{add}");
    }
    let add = help(&["check", "add"]);
    for needle in [
        "--http",
        "--tcp",
        "--method",
        "--expect-status",
        "--keyword",
        "--cert-warn-days",
        "--timeout",
        "--interval",
        "--failures",
    ] {
        assert!(add.contains(needle), "check add --help lacks {needle}:\n{add}");
    }
    let mapping = help(&["service", "mapping"]);
    assert!(mapping.contains("--set") && mapping.contains("--test") && mapping.contains("saved only if"), "{mapping}");
    let heartbeat = help(&["service", "heartbeat"]);
    assert!(heartbeat.contains("--interval") && heartbeat.contains("--grace"), "{heartbeat}");
}
