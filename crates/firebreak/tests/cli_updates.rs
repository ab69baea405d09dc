//! `firebreak incident update|updates|restrict|participants|evidence|changes|alerts` and
//! `incident show --kind` against a real server reading the example procedures directory, on
//! SQLite and (when `FIREBREAK_TEST_POSTGRES_URL` is set) PostgreSQL: previews change nothing,
//! sends and drafts are recorded, restricted incidents hide from a viewer until they take
//! part, evidence reaches the timeline; help, `--json` and the server's error messages.
//! No SMTP server is configured: sent updates are recorded and their emails fail later, in
//! the background.

mod common;

use common::{Api, Backend, Cli, Database, PASSWORD, Server, assert_success, firebreak, run, stdout};
use serde_json::{Value, json};
use std::path::Path;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example").display().to_string()
}

/// A server reading the example procedures, and the admin's command line and API client.
async fn start(db: &Database) -> (Server, Cli, Api) {
    let token = db.bootstrap_admin();
    let mut cmd = firebreak();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url, "--procedures", &example()]);
    let server = Server::spawn(cmd).await;
    let api = Api::new(&server, &token);
    let cli = Cli { url: server.url.clone(), token };
    (server, cli, api)
}

/// The timeline entries of an incident, of the given kinds (all when empty).
fn timeline(cli: &Cli, incident: &str, kinds: &str) -> Vec<Value> {
    let mut args = vec!["incident", "show", incident];
    if !kinds.is_empty() {
        args.extend(["--kind", kinds]);
    }
    cli.json(&args)["timeline"].as_array().cloned().unwrap_or_default()
}

async fn stakeholder_updates_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let (server, cli, api) = start(&db).await;
    // High: no stakeholder groups are told in the background, so the timeline only changes
    // by what the commands do.
    let n = api.declare("Checkout is down", "high").await["number"].to_string();

    // A preview shows subject, recipients and body, and changes nothing.
    let before = timeline(&cli, &n, "");
    let out = cli.ok(&[
        "incident",
        "update",
        &n,
        "--template",
        "executive",
        "--message",
        "Card payments fail in the EU",
        "--preview",
    ]);
    assert!(out.contains("nothing was sent"), "{out}");
    assert!(out.contains(&format!("subject:     [high] INC-{n}: Checkout is down")), "{out}");
    assert!(out.contains("to:          executives"), "{out}");
    assert!(out.contains("recipients:  cto@example.com, leadership@example.com"), "{out}");
    assert!(out.contains("Impact and next steps: Card payments fail in the EU"), "{out}");
    let preview = cli.json(&["incident", "update", &n, "-t", "executive", "--preview"]);
    assert_eq!((preview["draft"].as_bool(), preview["to"].clone()), (Some(false), json!(["executives"])), "{preview}");
    assert_eq!(timeline(&cli, &n, ""), before, "a preview changes nothing");
    assert_eq!(cli.json(&["incident", "updates", &n])["sent"], json!([]));

    // Sending records it on the timeline.
    let out =
        cli.ok(&["incident", "update", &n, "--template", "executive", "--message", "Card payments fail in the EU"]);
    assert!(out.contains("sent the executive update to executives (2 addresses)"), "{out}");
    assert!(out.contains("next update due by "), "high incidents have a cadence: {out}");
    let sent = timeline(&cli, &n, "update_sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!((sent[0]["template"].as_str(), sent[0]["to"].clone()), (Some("executive"), json!(["executives"])));
    let shown = cli.ok(&["incident", "show", &n, "--kind", "update_sent,note_added"]);
    assert!(shown.contains("timeline (update_sent, note_added):"), "{shown}");
    assert!(shown.contains("executive update sent to executives: [high]"), "{shown}");
    assert!(!shown.contains("declared"), "only the kinds asked for: {shown}");

    // The message from a file, to another list.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("impact.md");
    std::fs::write(&file, "Contained: the **bad deploy** was rolled back.\n").expect("write message");
    let file = file.to_str().expect("utf-8 path");
    let sent = cli.json(&["incident", "update", &n, "-t", "internal", "--to", "security-team", "--message-file", file]);
    assert_eq!(sent["recipients"], json!(["ciso@example.com", "security@example.com"]), "{sent}");
    assert!(sent["body"].as_str().is_some_and(|b| b.contains("the **bad deploy** was rolled back")), "{sent}");
    let out = cli.ok(&["incident", "update", &n, "-t", "internal", "--message", "Still watching"]);
    assert!(out.contains("sent the internal update to the timeline only (no contact lists)"), "{out}");

    // A customer-facing update is a draft: recorded, not sent.
    let out = cli.ok(&["incident", "update", &n, "--template", "customer-initial"]);
    assert!(out.starts_with("recorded a customer-facing draft (publish it by hand)"), "{out}");
    assert!(out.contains("subject: Investigating: Checkout is down"), "{out}");
    let updates = cli.json(&["incident", "updates", &n]);
    let sent = updates["sent"].as_array().cloned().unwrap_or_default();
    assert_eq!(sent.len(), 4, "{updates}");
    assert_eq!((sent[0]["template"].as_str(), sent[0]["to"].clone()), (Some("customer-initial"), json!([])));
    assert_eq!(updates["cadence"]["every_minutes"], 60, "{updates}");

    let out = cli.ok(&["incident", "updates", &n]);
    assert!(out.contains("cadence:  every 60 minutes; next update due "), "{out}");
    for line in [
        "customer-initial  customer   (draft, not sent)",
        "executive         executive  executives",
        "contact lists: executives, security-team",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(out.lines().any(|l| l.contains("Ada Admin") && l.contains("customer-initial") && l.contains("(draft)")));

    // Errors carry the server's message; nothing is recorded.
    let err = cli.fails(1, &["incident", "update", &n, "--template", "nope", "--message", "x"]);
    assert!(err.contains("no update template is named \"nope\"") && err.contains("HTTP 422"), "{err}");
    assert!(err.contains("hint: see `firebreak incident updates ID`"), "{err}");
    let err = cli.refused(&["incident", "update", &n, "-t", "executive", "--to", "board", "--preview"]);
    assert!(err.contains("no contact list is named \"board\""), "{err}");
    let err = cli.refused(&["incident", "update", "999", "-t", "executive"]);
    assert!(err.contains("HTTP 404"), "{err}");
    let err = cli.refused(&["incident", "update", &n, "-t", "internal", "--message", "x", "--message-file", file]);
    assert!(err.contains("cannot be used with"), "{err}");
    assert_eq!(timeline(&cli, &n, "update_sent").len(), 4);

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

async fn restricted_incidents_participants_and_evidence(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let (server, cli, api) = start(&db).await;
    let out = db.admin(
        &["create-user", "--email", "vic@example.com", "--name", "Vic Viewer", "--role", "viewer", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_success(&out, "create viewer");
    let viewer = Cli { url: server.url.clone(), token: db.token_for("vic@example.com") };
    let n = api.declare("Suspicious logins", "high").await["number"].to_string();
    assert!(viewer.ok(&["incident", "list"]).contains("Suspicious logins"));

    // Restricted: gone from the viewer's list and pages, until they take part.
    let out = cli.ok(&["incident", "restrict", &n]);
    assert!(out.starts_with(&format!("INC-{n} is restricted: only its participants and admins see it")), "{out}");
    assert!(!viewer.ok(&["incident", "list"]).contains("Suspicious logins"));
    let err = viewer.refused(&["incident", "alerts", &n]);
    assert!(err.contains("HTTP 404") && err.contains("restricted incident"), "{err}");
    let err = viewer.refused(&["incident", "restrict", &n, "--off"]);
    assert!(err.contains("HTTP 40"), "a viewer cannot lift it: {err}");

    let out = cli.ok(&["incident", "participants", &n, "--add", "vic@example.com"]);
    assert!(out.starts_with(&format!("added vic@example.com to INC-{n}")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("Vic Viewer")), "{out}");
    assert!(viewer.ok(&["incident", "list"]).contains("Suspicious logins"));
    let listed = viewer.json(&["incident", "participants", &n]);
    assert!(listed["items"].as_array().is_some_and(|a| a.iter().any(|p| p["name"] == "Vic Viewer")), "{listed}");
    let err = cli.refused(&["incident", "participants", &n, "--add", "nobody@example.com"]);
    assert!(err.contains("HTTP 4"), "{err}");

    let off = cli.json(&["incident", "restrict", &n, "--off"]);
    assert_eq!((off["restricted"].as_bool(), off["marked_restricted"].as_bool()), (Some(false), Some(false)));
    // A security incident stays restricted without the mark.
    let security = cli.json(&["incident", "declare", "Leaked deploy key", "--type", "security"]);
    let s = security["number"].to_string();
    let out = cli.ok(&["incident", "restrict", &s, "--off"]);
    assert!(out.contains("is no longer marked restricted, but stays restricted: incidents of type security"), "{out}");
    assert!(!viewer.ok(&["incident", "list"]).contains("Leaked deploy key"));

    // Evidence on the timeline.
    let out = cli.ok(&[
        "incident",
        "evidence",
        &n,
        "https://grafana.example.com/d/logins",
        "--title",
        "Failed logins by country",
    ]);
    assert_eq!(
        out.trim(),
        format!("linked evidence to INC-{n}: https://grafana.example.com/d/logins (Failed logins by country)")
    );
    let shown = cli.ok(&["incident", "show", &n]);
    assert!(shown.contains("evidence: Failed logins by country <https://grafana.example.com/d/logins>"), "{shown}");
    cli.json(&["incident", "evidence", &n, "https://logs.example.com/q?id=7"]);
    let entries = timeline(&cli, &n, "evidence_added");
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1]["url"], "https://logs.example.com/q?id=7");
    let err = cli.refused(&["incident", "evidence", &n, "javascript:alert(1)"]);
    assert!(err.contains("HTTP 422") && err.contains("hint:"), "{err}");
    assert_eq!(timeline(&cli, &n, "evidence_added").len(), 2);
    let err = cli.refused(&["incident", "show", &n, "--kind", "gossip"]);
    assert!(err.contains("unknown timeline entry kind \"gossip\"") && err.contains("evidence_added"), "{err}");

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

async fn changes_and_alerts_of_an_incident(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let (server, cli, api) = start(&db).await;
    cli.ok(&["service", "create", "checkout"]);
    let integration = cli.json(&["service", "add-integration", "checkout", "--type", "pagerduty", "--name", "pd"]);
    let key = integration["key"].as_str().expect("a key").to_owned();
    let http = reqwest::Client::new();
    let change = json!({"routing_key": key, "payload": {"summary": "Deploy checkout v42", "source": "ci"}});
    let res = http.post(format!("{}/v2/change/enqueue", server.url)).json(&change).send().await.expect("change");
    assert_eq!(res.status(), 202);
    let event = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "5xx",
        "payload": {"summary": "Checkout 5xx above 5%", "source": "prometheus", "severity": "critical"}});
    let res = http.post(format!("{}/v2/enqueue", server.url)).json(&event).send().await.expect("alert");
    assert_eq!(res.status(), 202);
    let alerts = cli.json(&["alert", "list"]);
    let incident = alerts["items"][0]["incident_id"].as_str().expect("the alert opened an incident").to_owned();

    let out = cli.ok(&["incident", "alerts", &incident]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("SERVICE"), "{out}");
    assert!(lines[1].contains("checkout") && lines[1].ends_with("Checkout 5xx above 5%"), "{out}");
    assert_eq!(cli.json(&["incident", "alerts", &incident])["items"][0]["dedup_key"], "5xx");

    let out = cli.ok(&["incident", "changes", &incident]);
    assert!(out.lines().any(|l| l.contains("checkout") && l.contains("ci") && l.ends_with("Deploy checkout v42")));
    let changes = cli.json(&["incident", "changes", &incident, "--before-minutes", "60"]);
    assert_eq!(changes["items"][0]["summary"], "Deploy checkout v42", "{changes}");
    let err = cli.refused(&["incident", "changes", &incident, "--before-minutes", "0"]);
    assert!(err.contains("before_minutes: from 1 to 10080") && err.contains("HTTP 400"), "{err}");

    // An incident without services or alerts.
    let n = api.declare("Slow search", "low").await["number"].to_string();
    assert_eq!(cli.ok(&["incident", "alerts", &n]).trim(), format!("no alerts linked to INC-{n}"));
    assert!(cli.ok(&["incident", "changes", &n]).starts_with("no changes recorded"));

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

/// Roles are given and handed over, and action/notify steps run only with --confirm.
async fn roles_and_running_steps(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let (server, cli, api) = start(&db).await;
    let n = api.declare("Search is down", "high").await["number"].to_string();
    let out = cli.ok(&["incident", "role", &n, "operations_lead", "admin@example.com"]);
    assert!(out.trim_end().ends_with("Ada Admin is operations lead"), "{out}");
    let v = cli.json(&["incident", "role", &n, "operations_lead", "--clear"]);
    assert!(v["roles"]["operations_lead"].is_null(), "{v}");
    let err = cli.refused(&["incident", "role", &n, "stenographer", "admin@example.com"]);
    assert!(err.contains("unknown role \"stenographer\""), "{err}");
    let roles = timeline(&cli, &n, "role_assigned");
    assert_eq!(roles.len(), 2, "{roles:?}");

    cli.ok(&["incident", "playbook", &n, "major-outage"]);
    let list = cli.json(&["incident", "checklist", &n]);
    let notify = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .position(|i| i["title"] == "Notify executives")
        .map(|p| p + 1)
        .unwrap_or(0);
    let item = notify.to_string();
    let err = cli.refused(&["incident", "run", &n, &item]);
    assert!(err.contains("add --confirm"), "{err}");
    assert!(timeline(&cli, &n, "stakeholders_notified").is_empty(), "nothing ran without --confirm");
    let out = cli.ok(&["incident", "run", &n, &item, "--confirm"]);
    assert!(
        out.contains("done: Notify executives") && out.contains("told cto@example.com, leadership@example.com"),
        "{out}"
    );
    assert_eq!(timeline(&cli, &n, "stakeholders_notified").len(), 1);
    let err = cli.refused(&["incident", "run", &n, "1", "--confirm"]);
    assert!(err.contains("only action and notify steps run"), "{err}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_running_steps_on_sqlite() {
    roles_and_running_steps(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_running_steps_on_postgres() {
    roles_and_running_steps(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stakeholder_updates_from_the_command_line_on_sqlite() {
    stakeholder_updates_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stakeholder_updates_from_the_command_line_on_postgres() {
    stakeholder_updates_from_the_command_line(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_incidents_participants_and_evidence_on_sqlite() {
    restricted_incidents_participants_and_evidence(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restricted_incidents_participants_and_evidence_on_postgres() {
    restricted_incidents_participants_and_evidence(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_alerts_of_an_incident_on_sqlite() {
    changes_and_alerts_of_an_incident(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_alerts_of_an_incident_on_postgres() {
    changes_and_alerts_of_an_incident(Backend::Postgres).await;
}

#[test]
fn each_new_command_explains_its_options() {
    for (command, words) in [
        (
            "update",
            &["--template", "--message", "--message-file", "--to", "--preview", "--step", "--json", "draft"][..],
        ),
        ("updates", &["cadence", "late", "--json"][..]),
        ("restrict", &["--off", "participants", "security", "--json"][..]),
        ("participants", &["--add", "EMAIL", "restricted", "--json"][..]),
        ("evidence", &["URL", "--title", "timeline", "--json"][..]),
        ("changes", &["--before-minutes", "10080", "--json"][..]),
        ("alerts", &["alerts linked", "--json"][..]),
        ("show", &["--kind", "note_added", "--json"][..]),
        ("role", &["--clear", "operations_lead", "hands it over"][..]),
        ("run", &["--confirm", "notify"][..]),
    ] {
        let out = run(&["incident", command, "--help"], None);
        assert_success(&out, &format!("incident {command} --help"));
        let help = stdout(&out);
        for word in words {
            assert!(help.contains(word), "`incident {command} --help` does not mention {word:?}:\n{help}");
        }
    }
}
