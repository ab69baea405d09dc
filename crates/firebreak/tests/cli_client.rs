//! `firebreak incident …` against a real server: the whole lifecycle from the command line,
//! tables and `--json`, and the errors a person sees when something is wrong.

mod common;

use common::{Backend, Database, Server, assert_failure, assert_success, stderr, stdout};
use serde_json::Value;
use std::process::Output;

struct Cli {
    url: String,
    token: String,
}

impl Cli {
    /// `firebreak incident ARGS` with the URL and token in the environment.
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = common::firebreak();
        cmd.arg("incident").args(args).env("FIREBREAK_URL", &self.url).env("FIREBREAK_TOKEN", &self.token);
        common::run_with(&mut cmd, None)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, &format!("firebreak incident {}", args.join(" ")));
        stdout(&out)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("--json output of {args:?} is not JSON ({e}):\n{text}"))
    }
}

#[tokio::test]
async fn incident_lifecycle_from_the_command_line() {
    let Some(db) = Database::fresh(Backend::Sqlite).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token };

    let out = cli.ok(&[
        "declare",
        "Checkout returns 500s",
        "--severity",
        "critical",
        "--type",
        "degradation",
        "--summary",
        "EU only",
        "--service",
        "checkout",
        "--service",
        "payments",
        "--tag",
        "eu",
    ]);
    assert!(out.starts_with("INC-1  Checkout returns 500s"), "{out}");
    assert!(out.contains("status:    triggered"), "{out}");
    assert!(out.contains("severity:  critical"), "{out}");
    assert!(out.contains("type:      degradation"), "{out}");
    assert!(out.contains("summary:   EU only"), "{out}");
    assert!(out.contains("services:  checkout, payments"), "{out}");
    assert!(out.contains("tags:      eu"), "{out}");

    let second = cli.json(&["declare", "Search is slow", "-s", "low"]);
    assert_eq!(second["label"], "INC-2", "{second}");
    assert_eq!(second["severity"], "low");
    assert_eq!(second["type"], "outage", "the default type");

    // The table: a header, newest first, aligned columns.
    let table = cli.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for col in ["ID", "STATUS", "SEVERITY", "TYPE", "DETECTED", "TITLE"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert!(
        lines[1].starts_with("INC-2") && lines[1].contains("triggered") && lines[1].ends_with("Search is slow"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("INC-1") && lines[2].contains("critical") && lines[2].ends_with("Checkout returns 500s"),
        "{table}"
    );
    let title_col = lines[0].find("TITLE").unwrap_or_default();
    assert_eq!(lines[1].find("Search"), Some(title_col), "columns line up:\n{table}");

    let list = cli.json(&["list"]);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        items.iter().map(|i| i["label"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["INC-2", "INC-1"],
        "{list}"
    );
    let filtered = cli.json(&["list", "--severity", "critical"]);
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1), "{filtered}");

    // Every transition, by label, number and UUID.
    let uuid = items[1]["id"].as_str().unwrap_or_default().to_owned();
    let out = cli.ok(&["ack", "INC-1"]);
    assert!(out.contains("status:    acknowledged") && out.contains("acked"), "{out}");
    let out = cli.ok(&["contain", "1"]);
    assert!(out.contains("status:    contained"), "{out}");
    let out = cli.ok(&["note", &uuid, "Rolled back deploy 1234"]);
    assert!(out.starts_with("INC-1"), "{out}");
    let resolved = cli.json(&["resolve", "INC-1"]);
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    let out = cli.ok(&["reopen", "INC-1"]);
    assert!(out.contains("status:    triggered"), "{out}");
    cli.ok(&["resolve", "INC-1"]);
    let out = cli.ok(&["close", "INC-1"]);
    assert!(out.contains("status:    closed") && out.contains("closed"), "{out}");

    let shown = cli.ok(&["show", "INC-1"]);
    assert!(shown.starts_with("INC-1  Checkout returns 500s"), "{shown}");
    assert!(shown.contains("timeline:"), "{shown}");
    for line in [
        "declared \"Checkout returns 500s\" (critical, degradation)",
        "status triggered → acknowledged",
        "status acknowledged → contained",
        "note: Rolled back deploy 1234",
        "status contained → resolved",
        "status resolved → triggered",
        "status resolved → closed",
    ] {
        assert!(shown.contains(line), "show lacks {line:?}:\n{shown}");
    }
    assert!(shown.contains("Ada Admin"), "the timeline says who: {shown}");

    let shown = cli.json(&["show", "1"]);
    assert_eq!(shown["incident"]["status"], "closed", "{shown}");
    assert_eq!(shown["timeline"].as_array().map(Vec::len), Some(8), "{shown}");

    // A transition the state machine refuses: the API's message, a non-zero exit.
    let out = cli.run(&["reopen", "INC-1"]);
    assert_failure(&out, "reopening a closed incident");
    let err = stderr(&out);
    assert!(err.contains("reopen") && err.contains("closed") && err.contains("HTTP 409"), "{err}");
    let out = cli.run(&["contain", "INC-2", "--json"]);
    assert_success(&out, "skipping ahead is allowed");
    let out = cli.run(&["ack", "INC-2"]);
    assert_failure(&out, "acknowledging a contained incident");
    assert!(stderr(&out).contains("HTTP 409"), "{}", stderr(&out));

    // Not found and bad input: clear messages, non-zero.
    let out = cli.run(&["show", "INC-999"]);
    assert_failure(&out, "show a missing incident");
    assert!(stderr(&out).contains("HTTP 404"), "{}", stderr(&out));
    let out = cli.run(&["declare", "x", "--severity", "apocalyptic"]);
    assert_failure(&out, "declare with a bad severity");
    assert!(stderr(&out).contains("apocalyptic") || stderr(&out).contains("severity"), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 422") || stderr(&out).contains("HTTP 400"), "{}", stderr(&out));

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn auth_and_connection_errors_are_helpful() {
    let Some(db) = Database::fresh(Backend::Sqlite).await else { return };
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;

    // No token at all: say how to get one, without calling the server.
    let mut cmd = common::firebreak();
    cmd.args(["incident", "list", "--url", &server.url]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "list without a token");
    let err = stderr(&out);
    assert!(err.contains("no API token"), "{err}");
    assert!(err.contains("--token") && err.contains("FIREBREAK_TOKEN"), "{err}");
    assert!(err.contains("firebreak admin create-token"), "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));

    // A wrong token: the server's 401 message.
    let mut cmd = common::firebreak();
    cmd.args(["incident", "list", "--url", &server.url, "--token", "fbk_not_a_real_token"]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "list with a wrong token");
    assert!(stderr(&out).contains("HTTP 401"), "{}", stderr(&out));

    // The flag works as well as the env var.
    let mut cmd = common::firebreak();
    cmd.args(["incident", "list", "--url", &server.url, "--token", &token]);
    let out = common::run_with(&mut cmd, None);
    assert_success(&out, "list with --token");
    assert_eq!(stdout(&out).trim(), "no incidents");

    let url = server.url.clone();
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");

    // Nobody listening any more.
    let mut cmd = common::firebreak();
    cmd.args(["incident", "list", "--url", &url, "--token", &token]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "list with the server gone");
    let err = stderr(&out);
    assert!(err.contains("cannot reach Firebreak") && err.contains("--url"), "{err}");
}
