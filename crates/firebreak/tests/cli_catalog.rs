//! `firebreak service …` and `firebreak alert …` against a real server, on SQLite and (when
//! `FIREBREAK_TEST_POSTGRES_URL` is set) PostgreSQL: services and integrations from the
//! command line, keys printed once, alerts sent as PagerDuty events then listed, shown,
//! acknowledged and resolved; tables, `--json`, help and errors.

mod common;

use common::{Backend, Cli, Database, PASSWORD, Server, assert_success, field, stderr, stdout};
use serde_json::{Value, json};

async fn send_event(server: &Server, key: &str, dedup: &str, summary: &str, severity: &str) {
    let event = json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": summary, "source": "db-1", "severity": severity, "custom_details": {"used": "97%"}},
    });
    let res = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.url))
        .json(&event)
        .send()
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"));
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
}

async fn enqueue_status(server: &Server, key: &str) -> u16 {
    let event = json!({"routing_key": key, "event_action": "trigger", "payload": {"summary": "s", "source": "s", "severity": "info"}});
    let res = reqwest::Client::new().post(format!("{}/v2/enqueue", server.url)).json(&event).send().await;
    res.map(|r| r.status().as_u16()).unwrap_or_else(|e| panic!("enqueue: {e}"))
}

async fn services_and_alerts_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token };

    assert_eq!(cli.ok(&["service", "list"]).trim(), "no services");

    // Services.
    let out = cli.ok(&[
        "service",
        "create",
        "checkout",
        "--description",
        "Takes payments",
        "--owner-team",
        "payments",
        "--runbook-url",
        "https://runbooks.example.com/checkout",
        "--tag",
        "tier-1",
        "--tag",
        "eu",
    ]);
    assert!(out.starts_with("checkout  "), "{out}");
    assert_eq!(field(&out, "description:"), "Takes payments");
    assert_eq!(field(&out, "owner team:"), "payments");
    assert_eq!(field(&out, "runbook:"), "https://runbooks.example.com/checkout");
    assert_eq!(field(&out, "tags:"), "tier-1, eu");
    assert_eq!(field(&out, "auto-resolve:"), "yes");
    let search = cli.json(&["service", "create", "search", "--no-auto-resolve"]);
    assert_eq!(search["auto_resolve"], false, "{search}");
    let search_id = search["id"].as_str().unwrap_or_default().to_owned();
    let err = cli.refused(&["service", "create", "bad", "--runbook-url", "javascript:alert(1)"]);
    assert!(err.contains("runbook_url") && err.contains("HTTP 422"), "{err}");

    let table = cli.ok(&["service", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for col in ["NAME", "OWNER TEAM", "AUTO-RESOLVE", "ID", "TAGS"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].starts_with("checkout") && lines[1].contains("payments") && lines[1].ends_with("tier-1, eu"));
    assert!(lines[2].starts_with("search") && lines[2].contains(" no ") && lines[2].contains(&search_id), "{table}");

    // Integrations: the key and URL once, by service name or id.
    let out = cli.run(&["service", "add-integration", "checkout", "--type", "pagerduty", "--name", "prometheus"]);
    assert_success(&out, "add-integration");
    let text = stdout(&out);
    let key = field(&text, "key");
    assert_eq!(key.len(), 32, "{text}");
    assert_eq!(field(&text, "url"), format!("{}/v2/enqueue", server.url));
    assert_eq!(field(&text, "integration"), "prometheus (pagerduty)");
    assert!(stderr(&out).contains("not shown again"), "{}", stderr(&out));
    let am = cli.json(&["service", "add-integration", &search_id, "--type", "alertmanager", "--name", "am"]);
    let am_key = am["key"].as_str().unwrap_or_default();
    assert_eq!(am["url"], format!("{}/ingest/{am_key}/alertmanager", server.url), "{am}");
    let err = cli.refused(&["service", "add-integration", "checkout", "--type", "carrier-pigeon", "--name", "x"]);
    assert!(err.contains("carrier-pigeon") && err.contains("pagerduty"), "{err}");
    let err = cli.refused(&["service", "add-integration", "nowhere", "--type", "grafana", "--name", "x"]);
    assert!(err.contains("no service named \"nowhere\""), "{err}");

    let shown = cli.ok(&["service", "show", "checkout"]);
    assert!(shown.contains("integrations:") && shown.contains("prometheus") && shown.contains("pagerduty"));
    assert!(!shown.contains(&key), "keys are never shown again");
    let shown = cli.json(&["service", "show", "search"]);
    assert_eq!(shown["service"]["name"], "search");
    assert_eq!(shown["integrations"][0]["type"], "alertmanager", "{shown}");
    assert!(shown["integrations"][0].get("key").is_none(), "{shown}");

    // Alerts from PagerDuty events.
    assert_eq!(cli.ok(&["alert", "list"]).trim(), "no alerts");
    send_event(&server, &key, "db-1/disk", "Disk almost full on db-1", "critical").await;
    send_event(&server, &key, "db-1/disk", "Disk almost full on db-1", "critical").await;
    send_event(&server, &key, "db-2/cpu", "CPU\nhigh on db-2", "warning").await;

    let table = cli.ok(&["alert", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for col in ["ID", "STATUS", "SEVERITY", "EVENTS", "LAST SEEN", "SERVICE", "SUMMARY"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(lines[1].ends_with("checkout  CPU high on db-2"), "newest first, one line: {table}");
    let disk = lines[2];
    assert!(disk.contains("open") && disk.contains("critical") && disk.ends_with("Disk almost full on db-1"));
    let events_col = lines[0].find("EVENTS").unwrap_or_default();
    assert_eq!(disk.get(events_col..events_col + 2), Some("2 "), "duplicates fold into one alert: {table}");
    let disk_id = disk.split_whitespace().next().unwrap_or_default().to_owned();

    let list = cli.json(&["alert", "list", "--status", "open", "--service", "checkout"]);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(cli.ok(&["alert", "list", "--service", "search"]).trim(), "no alerts");
    assert_eq!(cli.ok(&["alert", "list", "--status", "resolved"]).trim(), "no alerts");
    let err = cli.refused(&["alert", "list", "--status", "angry"]);
    assert!(err.contains("open") && err.contains("suppressed"), "{err}");

    // Paging.
    let out = cli.run(&["alert", "list", "--limit", "1"]);
    assert_success(&out, "alert list --limit 1");
    assert_eq!(stdout(&out).lines().count(), 2);
    let cursor = stderr(&out).split("--cursor ").nth(1).map(|c| c.trim().to_owned()).unwrap_or_default();
    assert!(!cursor.is_empty(), "{}", stderr(&out));
    let page2 = cli.json(&["alert", "list", "--limit", "1", "--cursor", &cursor]);
    assert_eq!(page2["items"][0]["id"], disk_id, "{page2}");

    let shown = cli.ok(&["alert", "show", &disk_id]);
    assert!(shown.starts_with("Disk almost full on db-1\n"), "{shown}");
    assert_eq!(field(&shown, "status:"), "open");
    assert_eq!(field(&shown, "severity:"), "critical");
    assert_eq!(field(&shown, "events:"), "2");
    assert_eq!(field(&shown, "dedup key:"), "db-1/disk");
    assert_eq!(field(&shown, "source:"), "db-1");
    assert!(field(&shown, "service:").starts_with("checkout ("), "{shown}");
    assert!(field(&shown, "incident:").starts_with("INC-1  "), "{shown}");
    assert!(shown.contains("details:") && shown.contains("\"used\": \"97%\""), "{shown}");

    let out = cli.ok(&["alert", "ack", &disk_id]);
    assert_eq!(field(&out, "status:"), "open (acked)");
    assert!(field(&out, "acknowledged:").len() == 19, "{out}");
    let resolved = cli.json(&["alert", "resolve", &disk_id]);
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    assert!(resolved["resolved_at"].is_string());
    let err = cli.refused(&["alert", "resolve", &disk_id]);
    assert!(err.contains("HTTP 409") && err.contains("resolved"), "{err}");
    let err = cli.refused(&["alert", "show", "00000000-0000-0000-0000-000000000000"]);
    assert!(err.contains("HTTP 404"), "{err}");

    // Rotating a key: printed once; the old key stops working.
    let integration =
        cli.json(&["service", "show", "checkout"])["integrations"][0]["id"].as_str().unwrap_or_default().to_owned();
    let out = cli.run(&["service", "rotate-key", &integration]);
    assert_success(&out, "rotate-key");
    let new_key = field(&stdout(&out), "key");
    assert!(new_key.len() == 32 && new_key != key);
    assert!(stderr(&out).contains("stopped working"));
    assert_eq!(enqueue_status(&server, &key).await, 400);
    assert_eq!(enqueue_status(&server, &new_key).await, 202);

    // Viewers read but change nothing.
    let out = db.admin(
        &["create-user", "--email", "viewer@example.com", "--name", "Vi", "--role", "viewer", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_success(&out, "create viewer");
    let viewer = Cli { url: server.url.clone(), token: db.token_for("viewer@example.com") };
    assert!(viewer.ok(&["alert", "list"]).contains("CPU high on db-2"));
    let cpu_id = lines[1].split_whitespace().next().unwrap_or_default();
    let err = viewer.refused(&["alert", "ack", cpu_id]);
    assert!(err.contains("HTTP 403"), "{err}");
    let err = viewer.refused(&["service", "create", "mine"]);
    assert!(err.contains("HTTP 403"), "{err}");
    let err = viewer.refused(&["service", "add-integration", "checkout", "--type", "generic", "--name", "x"]);
    assert!(err.contains("HTTP 403"), "{err}");
    assert_eq!(cli.json(&["alert", "show", cpu_id])["acknowledged_at"], Value::Null);

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn services_and_alerts_from_the_command_line_on_sqlite() {
    services_and_alerts_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn services_and_alerts_from_the_command_line_on_postgres() {
    services_and_alerts_from_the_command_line(Backend::Postgres).await;
}

/// An alert joins the incident declared for its service; it is moved to another incident and
/// off it; the duplicate incident is merged into the first; the errors say what to do.
async fn alerts_move_and_incidents_merge_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token };
    cli.ok(&["service", "create", "checkout"]);
    let key = field(&cli.ok(&["service", "add-integration", "checkout", "--type", "pagerduty", "--name", "pd"]), "key");
    let first = cli.json(&["incident", "declare", "Checkout errors", "--service", "checkout"]);
    send_event(&server, &key, "web/5xx", "5xx above 2%", "error").await;
    let alerts = cli.json(&["alert", "list"]);
    let alert = alerts["items"][0].clone();
    assert_eq!(alert["incident_id"], first["id"], "the alert joined the incident declared for checkout: {alerts}");
    let alert_id = alert["id"].as_str().unwrap_or_default().to_owned();
    cli.ok(&["incident", "declare", "Payments failing"]);
    cli.ok(&["incident", "note", "INC-2", "card declines up"]);

    let out = cli.ok(&["alert", "attach", &alert_id, "--incident", "INC-2"]);
    assert!(out.contains("INC-2"), "{out}");
    let err = cli.refused(&["alert", "attach", &alert_id, "--incident", "INC-99"]);
    assert!(err.contains("HTTP 422") && err.contains("no such incident"), "{err}");
    let detached = cli.json(&["alert", "detach", &alert_id]);
    assert_eq!(detached["incident_id"], Value::Null, "{detached}");
    cli.ok(&["alert", "attach", &alert_id, "--incident", "2"]);

    let out = cli.ok(&["incident", "merge", "INC-2", "--into", "INC-1"]);
    assert!(out.contains("merged INC-2 into INC-1: 1 alert(s) moved"), "{out}");
    let shown = cli.ok(&["incident", "show", "INC-1"]);
    assert!(shown.contains("[INC-2] note: card declines up"), "the merged timeline is carried over: {shown}");
    assert!(shown.contains("INC-2 \"Payments failing\" merged in (1 alerts"), "{shown}");
    let second = cli.json(&["incident", "show", "INC-2"]);
    assert_eq!(
        (second["incident"]["status"].as_str(), &second["incident"]["merged_into"]),
        (Some("resolved"), &first["id"])
    );
    let err = cli.refused(&["incident", "merge", "INC-2", "--into", "INC-1"]);
    assert!(
        err.contains("HTTP 422") && err.contains("already merged") && err.contains("merge into an open incident"),
        "{err}"
    );
    let help = cli.ok(&["incident", "merge", "--help"]);
    assert!(help.contains("--into") && help.contains("firebreak incident merge INC-43 --into INC-42"), "{help}");
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn alerts_move_and_incidents_merge_from_the_command_line_on_sqlite() {
    alerts_move_and_incidents_merge_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn alerts_move_and_incidents_merge_from_the_command_line_on_postgres() {
    alerts_move_and_incidents_merge_from_the_command_line(Backend::Postgres).await;
}

/// Status pages from the command line: a page and a component linked to a service; a
/// critical incident on the service shows; a status set by hand, then given back.
async fn status_pages_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token };
    assert_eq!(cli.ok(&["status-page", "list"]).trim(), "no status pages");
    cli.ok(&["service", "create", "checkout"]);
    let out = cli.ok(&["status-page", "create", "acme", "--name", "Acme status"]);
    assert!(out.starts_with("acme  Acme status  (/status/acme)") && out.contains("All Systems Operational"), "{out}");
    let err = cli.refused(&["status-page", "create", "acme", "--name", "Again"]);
    assert!(err.contains("HTTP 409") && err.contains("choose another slug"), "{err}");
    let out = cli.ok(&["status-page", "add-component", "acme", "Checkout", "--group", "Shop", "--service", "checkout"]);
    assert!(out.contains("Checkout") && out.contains("operational") && out.contains("its services"), "{out}");
    let err = cli.refused(&["status-page", "add-component", "acme", "Search", "--service", "search"]);
    assert!(err.contains("HTTP 422") && err.contains("no such service"), "{err}");
    cli.ok(&["incident", "declare", "Payments failing", "--severity", "critical", "--service", "checkout"]);
    let shown = cli.ok(&["status-page", "show", "acme"]);
    assert!(shown.contains("Major System Outage") && shown.contains("major_outage"), "{shown}");
    let set = cli.ok(&["status-page", "set", "acme", "checkout", "partial_outage"]);
    assert!(set.contains("partial_outage") && set.contains("hand") && set.contains("Partial System Outage"), "{set}");
    let auto = cli.json(&["status-page", "set", "acme", "Checkout", "auto"]);
    assert_eq!(
        (auto["components"][0]["status"].as_str(), &auto["components"][0]["manual_status"]),
        (Some("major_outage"), &Value::Null)
    );
    let err = cli.refused(&["status-page", "set", "acme", "Billing", "operational"]);
    assert!(err.contains("no component \"Billing\"") && err.contains("firebreak status-page show acme"), "{err}");
    let err = cli.refused(&["status-page", "set", "acme", "Checkout", "fine"]);
    assert!(err.contains("invalid value 'fine'"), "{err}");
    let err = cli.refused(&["status-page", "show", "nowhere"]);
    assert!(err.contains("HTTP 404") && err.contains("firebreak status-page list"), "{err}");
    let list = cli.ok(&["status-page", "list"]);
    assert!(
        list.lines().nth(1).is_some_and(|l| l.starts_with("acme") && l.contains("anyone") && l.ends_with("1")),
        "{list}"
    );

    // Public incidents: a draft, published by hand, then resolved; and maintenance.
    let draft = cli.json(&[
        "status-page",
        "post",
        "acme",
        "--title",
        "Checkout is slow",
        "--body",
        "Looking into it.",
        "--impact",
        "major",
        "--component",
        "checkout",
        "--draft",
    ]);
    assert_eq!(draft["published"], false, "{draft}");
    let update = draft["updates"][0]["id"].as_str().unwrap_or_default().to_owned();
    let notice = draft["id"].as_str().unwrap_or_default().to_owned();
    let listed = cli.ok(&["status-page", "incidents", "acme"]);
    assert!(listed.contains("Checkout is slow") && listed.contains(&update) && listed.contains(" no "), "{listed}");
    let out = cli.ok(&["status-page", "publish", "acme", &update]);
    assert!(out.contains("published") && !out.contains("draft: not"), "{out}");
    let err = cli.refused(&["status-page", "publish", "acme", &update]);
    assert!(err.contains("HTTP 409"), "{err}");
    let out = cli.ok(&["status-page", "update", "acme", &notice, "--status", "resolved", "--body", "Fixed."]);
    assert!(out.contains("(resolved, published)"), "{out}");
    let err = cli.refused(&["status-page", "update", "acme", &notice, "--status", "done", "--body", "x"]);
    assert!(err.contains("invalid value 'done'"), "{err}");
    let starts = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let ends = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let out = cli.ok(&[
        "status-page",
        "maintenance",
        "acme",
        "--title",
        "DB upgrade",
        "--body",
        "Slow.",
        "--starts",
        &starts,
        "--ends",
        &ends,
        "--component",
        "Checkout",
    ]);
    assert!(out.contains("DB upgrade (scheduled, published)") && out.contains("scheduled 20"), "{out}");
    let err = cli.refused(&[
        "status-page",
        "maintenance",
        "acme",
        "--title",
        "x",
        "--body",
        "x",
        "--starts",
        "soon",
        "--ends",
        &ends,
    ]);
    assert!(err.contains("HTTP 422") && err.contains("ISO 8601"), "{err}");
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn status_pages_from_the_command_line_on_sqlite() {
    status_pages_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn status_pages_from_the_command_line_on_postgres() {
    status_pages_from_the_command_line(Backend::Postgres).await;
}

#[test]
fn help_explains_the_catalog_commands() {
    let help = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--help");
        let out = common::run(&all, None);
        assert_success(&out, &format!("{args:?} --help"));
        stdout(&out)
    };
    let top = help(&[]);
    assert!(top.contains("service") && top.contains("alert"), "{top}");
    let service = help(&["service"]);
    for cmd in ["list", "show", "create", "add-integration", "rotate-key"] {
        assert!(service.contains(cmd), "service --help lacks {cmd}:\n{service}");
    }
    let create = help(&["service", "create"]);
    for flag in ["<NAME>", "--description", "--owner-team", "--runbook-url", "--tag", "--no-auto-resolve", "--url"] {
        assert!(create.contains(flag), "service create --help lacks {flag}:\n{create}");
    }
    let add = help(&["service", "add-integration"]);
    assert!(add.contains("<SERVICE>") && add.contains("--type") && add.contains("--name"), "{add}");
    assert!(add.contains("pagerduty") && add.contains("heartbeat") && add.contains("shown only"), "{add}");
    let alert = help(&["alert"]);
    for cmd in ["list", "show", "ack", "resolve"] {
        assert!(alert.contains(cmd), "alert --help lacks {cmd}:\n{alert}");
    }
    let list = help(&["alert", "list"]);
    for flag in ["--status", "open", "resolved", "suppressed", "--service", "--limit", "--cursor", "--json", "--token"]
    {
        assert!(list.contains(flag), "alert list --help lacks {flag}:\n{list}");
    }
    assert!(help(&["alert", "ack"]).contains("<ID>"));
}
