//! `firebreak policy …`, `firebreak service set-policy` and `firebreak incident
//! escalate|reassign|paging` against a real server, on SQLite and (when
//! `FIREBREAK_TEST_POSTGRES_URL` is set) PostgreSQL: a policy created from a file naming a
//! schedule by name and people by email and `me`; list, show and plan tables (fixed start);
//! deleting a policy in use refused with the services named; an incident of a service with the
//! policy escalated by hand and its state shown; reassigning; `--json`; help with examples.

mod common;

use common::{Backend, Cli, Database, PASSWORD, Server, assert_success, field, stdout};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lines of a table with runs of spaces made one, so rows compare as words.
fn rows(table: &str) -> Vec<String> {
    table.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// The lines of `text` after the line `heading`, up to the next blank line.
fn section(text: &str, heading: &str) -> Vec<String> {
    let (_, after) = text.split_once(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no {heading:?} in:\n{text}"));
    rows(after.split("\n\n").next().unwrap_or_default())
}

fn write(dir: &Path, name: &str, content: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content.to_string()).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn user_id(users: &Value, email: &str) -> String {
    users["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == email))
        .and_then(|u| u["id"].as_str())
        .unwrap_or_else(|| panic!("no user {email} in {users}"))
        .to_owned()
}

async fn send_alert(server: &Server, key: &str) {
    let event = json!({
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "replica-lag",
        "payload": {"summary": "replica lag over 30s", "source": "db-2", "severity": "critical"},
    });
    let res = reqwest::Client::new()
        .post(format!("{}/v2/enqueue", server.url))
        .json(&event)
        .send()
        .await
        .expect("send the alert");
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
}

/// `incident paging ID --json` once the paging engine has fired the first step (it runs in
/// the server on the real clock; the first step is due when the incident opens).
async fn first_step_fired(cli: &Cli, incident: &str) -> Value {
    let deadline = Instant::now() + common::DEADLINE;
    loop {
        let paging = cli.json(&["incident", "paging", incident]);
        if paging["escalation"]["last_step"] == 0 {
            return paging;
        }
        assert!(Instant::now() < deadline, "the first step did not fire within {:?}: {paging}", common::DEADLINE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const ADA: &str = "Ada Admin <admin@example.com>";
const RITA: &str = "Rita Responder <rita@example.com>";

async fn policies_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    let out = db.admin(
        &[
            "create-user",
            "--email",
            "rita@example.com",
            "--name",
            "Rita Responder",
            "--role",
            "responder",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_success(&out, "create user");
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token: token.clone() };
    let (status, users) = common::Api::new(&server, &token).get("/users").await;
    assert_eq!(status, 200, "{users}");
    let (ada, rita) = (user_id(&users, "admin@example.com"), user_id(&users, "rita@example.com"));
    let dir = tempfile::tempdir().expect("tempdir");

    // Rita is always on call on `databases`.
    let schedule = write(
        dir.path(),
        "databases.json",
        &json!({"time_zone": "UTC", "layers": [{"name": "solo", "members": ["rita@example.com"],
            "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2020-01-01T00:00"}]}),
    );
    let schedule_id = field(&cli.ok(&["schedule", "create", "databases", "--file", text(&schedule)]), "id:");

    assert_eq!(
        cli.ok(&["policy", "list"]).trim(),
        "no escalation policies (create one with `firebreak policy create`)"
    );

    // The schedule by name, people by email and as `me`; the name from the file.
    let policy = write(
        dir.path(),
        "policy.json",
        &json!({
            "name": "db-pager",
            "description": "database escalation",
            "levels": [
                {"targets": [{"schedule": "databases"}], "delay_minutes": 5},
                {"targets": ["Rita@example.com", {"type": "user", "id": "me"}], "round_robin": true, "delay_minutes": 15}
            ],
            "repeat": 1
        }),
    );
    let out = cli.ok(&["policy", "create", "--file", text(&policy)]);
    assert_eq!(field(&out, "policy"), "db-pager");
    assert_eq!(field(&out, "description:"), "database escalation");
    assert_eq!(field(&out, "repeat:"), "once more after the last level");
    let levels = [
        "LEVEL PAGES THEN WAITS TARGETS".to_owned(),
        "1 all 5 min schedule databases".to_owned(),
        format!("2 one in turn 15 min {RITA}, {ADA}"),
    ];
    assert_eq!(section(&out, "levels:"), levels);
    let policy_id = field(&out, "id:");

    // Files that cannot be right are refused before anything is sent, saying where.
    let bad =
        write(dir.path(), "bad.json", &json!({"levels": [{"targets": [{"schedule": "nowhere"}], "delay_minutes": 5}]}));
    let err = cli.refused(&["policy", "create", "other", "--file", text(&bad)]);
    assert!(err.contains("levels[0].targets[0]") && err.contains("no schedule named \"nowhere\""), "{err}");
    assert!(err.contains("firebreak policy create --help"), "{err}");
    let twice = write(dir.path(), "twice.json", &json!({"levels": [{"targets": ["me", ada], "delay_minutes": 5}]}));
    let err = cli.refused(&["policy", "create", "twice", "--file", text(&twice)]);
    assert!(err.contains("level 1 names a target twice"), "{err}");
    let err = cli.refused(&["policy", "create", "other-name", "--file", text(&policy)]);
    assert!(err.contains("remove \"name\" from the file"), "{err}");

    let list = rows(&cli.ok(&["policy", "list"]));
    assert_eq!(list, ["NAME LEVELS REPEAT SERVICES ID".to_owned(), format!("db-pager 2 1 - {policy_id}")]);
    let shown = cli.json(&["policy", "show", "db-pager"]);
    assert_eq!(shown["id"], policy_id.as_str());
    assert_eq!(shown["levels"][0]["targets"], json!([{"type": "schedule", "id": schedule_id}]), "names became ids");
    assert_eq!(
        shown["levels"][1]["targets"],
        json!([{"type": "user", "id": rita}, {"type": "user", "id": ada}]),
        "emails and `me` became ids"
    );
    assert_eq!(section(&cli.ok(&["policy", "show", &policy_id]), "levels:"), levels, "by id as by name");

    // The plan from a fixed start: two passes through the two levels.
    let plan = rows(&cli.ok(&["policy", "plan", "db-pager", "--start", "2026-03-09T13:00:00Z"]));
    assert_eq!(
        plan,
        [
            "escalation plan of policy db-pager".to_owned(),
            "STEP LEVEL DUE AT (UTC) AFTER PAGES".to_owned(),
            format!("1 1 2026-03-09 13:00:00 +0m {RITA} (via schedule databases)"),
            format!("2 2 2026-03-09 13:05:00 +5m one in turn of: {RITA}, {ADA}"),
            format!("3 1 2026-03-09 13:20:00 +20m {RITA} (via schedule databases)"),
            format!("4 2 2026-03-09 13:25:00 +25m one in turn of: {RITA}, {ADA}"),
        ]
    );
    let planned = cli.json(&["policy", "plan", "db-pager", "--start", "2026-03-09T09:00:00-04:00"]);
    assert_eq!(planned["items"].as_array().map(Vec::len), Some(4), "{planned}");
    assert_eq!(planned["items"][1]["due_at"], "2026-03-09T13:05:00Z");
    assert_eq!(planned["items"][0]["pages"][0]["user_id"], rita.as_str());
    let err = cli.refused(&["policy", "plan", "no-such-policy"]);
    assert!(err.contains("no escalation policy with the id or name") && err.contains("firebreak policy list"), "{err}");

    // A service pages with it; the policy cannot be deleted while it does.
    cli.ok(&["service", "create", "checkout"]);
    let key = cli.json(&["service", "add-integration", "checkout", "--type", "pagerduty", "--name", "prom"])["key"]
        .as_str()
        .expect("an integration key")
        .to_owned();
    let out = cli.ok(&["service", "set-policy", "checkout", "db-pager"]);
    assert_eq!(out.trim(), "service checkout now escalates with policy db-pager");
    assert_eq!(cli.json(&["service", "show", "checkout"])["service"]["escalation_policy_id"], policy_id.as_str());
    assert_eq!(rows(&cli.ok(&["policy", "list"]))[1], format!("db-pager 2 1 checkout {policy_id}"));
    assert_eq!(field(&cli.ok(&["policy", "show", "db-pager"]), "services:"), "checkout");
    let err = cli.fails(1, &["policy", "delete", "db-pager"]);
    assert!(err.contains("policy db-pager is in use by the service checkout"), "{err}");
    assert!(err.contains("`firebreak service set-policy checkout none`"), "{err}");
    let err = cli.refused(&["service", "set-policy", "checkout", "no-such-policy"]);
    assert!(err.contains("no escalation policy with the id or name"), "{err}");

    // An alert opens INC-1 on the service; it escalates through the policy.
    send_alert(&server, &key).await;
    let paging = first_step_fired(&cli, "INC-1").await;
    assert_eq!(paging["escalation"]["policy_id"], policy_id.as_str());
    assert_eq!(paging["escalation"]["state"], "active");
    let out = cli.ok(&["incident", "escalate", "INC-1"]);
    assert_eq!(out.lines().next(), Some("escalated INC-1: the next level was paged"));
    assert!(field(&out, "last step:").starts_with("2 (level 2), due "), "{out}");
    let out = cli.ok(&["incident", "paging", "INC-1"]);
    assert_eq!(field(&out, "escalation of"), "INC-1");
    assert_eq!(field(&out, "policy:"), format!("db-pager ({policy_id})"));
    assert_eq!(field(&out, "state:"), "active");
    assert!(field(&out, "last step:").starts_with("2 (level 2), due "), "{out}");
    assert!(field(&out, "next step:").starts_with("due "), "{out}");
    assert!(out.contains("\nnotifications:\n"), "{out}");
    let paging = cli.json(&["incident", "paging", "INC-1"]);
    assert_eq!(paging["escalation"]["last_step"], 1, "{paging}");
    assert!(paging["notifications"].is_array(), "{paging}");
    let escalated = cli.json(&["incident", "escalate", "1"]);
    assert_eq!(escalated["last_step"], 2, "{escalated}");

    let out = cli.ok(&["incident", "reassign", "INC-1", "--to", "rita@example.com"]);
    assert_eq!(out.trim(), format!("reassigned INC-1: paged {RITA}"));
    let reassigned = cli.json(&["incident", "reassign", "INC-1", "--to", "me"]);
    assert_eq!(reassigned["user_id"], ada.as_str());
    let err = cli.refused(&["incident", "reassign", "INC-1", "--to", "nobody@example.com"]);
    assert!(err.contains("--to: no user has the email address nobody@example.com"), "{err}");

    // A declared incident has no service, so no policy: escalating says what to do.
    cli.ok(&["incident", "declare", "Search is slow"]);
    let err = cli.fails(1, &["incident", "escalate", "INC-2"]);
    assert!(err.contains("has no escalation policy") && err.contains("firebreak service set-policy"), "{err}");
    let out = cli.ok(&["incident", "paging", "INC-2"]);
    assert!(out.starts_with("INC-2 has no escalation"), "{out}");

    // Unset, then delete.
    let out = cli.ok(&["service", "set-policy", "checkout", "none"]);
    assert_eq!(out.trim(), "service checkout has no escalation policy: its new incidents page nobody");
    assert!(cli.json(&["service", "show", "checkout"])["service"]["escalation_policy_id"].is_null());
    assert_eq!(
        cli.ok(&["policy", "delete", "db-pager"]).trim(),
        format!("deleted escalation policy db-pager ({policy_id})")
    );
    assert_eq!(cli.json(&["policy", "list"])["items"], json!([]));
}

#[tokio::test]
async fn policies_from_the_command_line_on_sqlite() {
    policies_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn policies_from_the_command_line_on_postgres() {
    policies_from_the_command_line(Backend::Postgres).await;
}

#[test]
fn help_of_the_policy_commands_gives_examples() {
    let help = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--help");
        let out = common::run(&all, None);
        assert_success(&out, &format!("{args:?} --help"));
        stdout(&out)
    };
    let policy = help(&["policy"]);
    for cmd in ["list", "show", "create", "plan", "delete"] {
        assert!(policy.contains(cmd), "policy --help lacks {cmd}:\n{policy}");
        let sub = help(&["policy", cmd]);
        assert!(sub.contains(&format!("Examples:\n  firebreak policy {cmd}")), "policy {cmd} --help:\n{sub}");
    }
    let create = help(&["policy", "create"]);
    for word in ["--file", "{\"schedule\"", "delay_minutes", "round_robin", "repeat", "`me`", "email"] {
        assert!(create.contains(word), "policy create --help lacks {word}:\n{create}");
    }
    assert!(help(&["policy", "plan"]).contains("--start"));
    let set = help(&["service", "set-policy"]);
    assert!(set.contains("firebreak service set-policy checkout none"), "{set}");
    for (cmd, example) in [
        ("escalate", "firebreak incident escalate INC-42"),
        ("reassign", "firebreak incident reassign INC-42 --to"),
        ("paging", "firebreak incident paging INC-42"),
    ] {
        let sub = help(&["incident", cmd]);
        assert!(sub.contains(example), "incident {cmd} --help:\n{sub}");
    }
}
