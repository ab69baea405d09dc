//! `firebreak postmortem|actions|report` against a real server, on SQLite and (when
//! `FIREBREAK_TEST_POSTGRES_URL` is set) PostgreSQL: a postmortem drafted from the record,
//! edited from a file, reviewed, signed off, published and exported; action items added,
//! listed and changed; the analytics report as a summary and as CSV; the server's error
//! messages with a hint, and help for every command.

mod common;

use common::{Api, Backend, Cli, Database, Server, assert_success, run, stdout};

/// A server on a fresh database, and the admin's command line and API client.
async fn start(db: &Database) -> (Server, Cli, Api) {
    let token = db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    let api = Api::new(&server, &token);
    let cli = Cli { url: server.url.clone(), token };
    (server, cli, api)
}

async fn postmortem_actions_and_report_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let (_server, cli, api) = start(&db).await;
    let n = api.declare("Checkout returns 500s", "high").await["number"].to_string();

    // A draft from the record.
    let out = cli.ok(&["postmortem", "new", &n]);
    assert!(out.contains(&format!("started the postmortem of INC-{n}")), "{out}");
    assert!(out.contains("revision 1, draft"), "{out}");
    assert!(out.contains(&format!("firebreak postmortem edit INC-{n} --file")), "a hint to edit it: {out}");
    let pm = cli.json(&["postmortem", "show", &n]);
    assert_eq!((pm["state"].as_str(), pm["revision"].as_i64()), (Some("draft"), Some(1)), "{pm}");
    assert!(pm["body"].as_str().is_some_and(|b| b.contains("Checkout returns 500s")), "{pm}");
    let err = cli.fails(1, &["postmortem", "new", &n]);
    assert!(err.contains("already has a postmortem") && err.contains("HTTP 409"), "{err}");
    assert!(err.contains("hint: it has one already"), "{err}");

    // A new revision from a file.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pm.md");
    std::fs::write(&file, "# What happened\n\nA bad deploy of **checkout**.\n").expect("write the postmortem");
    let file = file.to_str().expect("utf-8 path");
    let out = cli.ok(&["postmortem", "edit", &n, "--file", file, "--title", "Checkout outage"]);
    assert!(out.contains(&format!("saved revision 2 of INC-{n}'s postmortem (draft)")), "{out}");
    let pm = cli.json(&["postmortem", "show", &n]);
    assert_eq!((pm["revision"].as_i64(), pm["title"].as_str()), (Some(2), Some("Checkout outage")), "{pm}");
    assert_eq!(pm["body"], "# What happened\n\nA bad deploy of **checkout**.\n", "{pm}");
    let err = cli.fails(1, &["postmortem", "edit", &n, "--file", file, "--base-revision", "1"]);
    assert!(err.contains("the postmortem is at revision 2 now (you edited revision 1)"), "{err}");
    assert!(err.contains("hint: someone saved a revision since yours"), "{err}");

    // Review, sign-off and publishing.
    let err = cli.fails(1, &["postmortem", "publish", &n]);
    assert!(err.contains("request a review first") && err.contains("HTTP 422"), "{err}");
    let out = cli.ok(&["postmortem", "review", &n, "--reviewer", common::ADMIN_EMAIL]);
    assert!(out.contains("to review by Ada Admin"), "{out}");
    let shown = cli.ok(&["postmortem", "show", &n]);
    for line in ["state:     in review", "revision:  2 (", "Ada Admin", "not yet", "A bad deploy of **checkout**."] {
        assert!(shown.contains(line), "missing {line:?} in:\n{shown}");
    }
    let out = cli.ok(&["postmortem", "sign-off", &n]);
    assert!(out.contains("every reviewer has signed off"), "{out}");
    let out = cli.ok(&["postmortem", "publish", &n]);
    assert!(out.contains(&format!("published INC-{n}'s postmortem (revision 2)")), "{out}");
    let export = cli.ok(&["postmortem", "export", &n]);
    assert!(export.contains("A bad deploy of **checkout**.") && export.contains("state: published"), "{export}");
    let copy = dir.path().join("export.md");
    cli.ok(&["postmortem", "export", &n, "--out", copy.to_str().expect("utf-8 path")]);
    assert_eq!(std::fs::read_to_string(&copy).expect("read the export"), export);

    // Action items.
    let added = cli.json(&[
        "actions",
        "add",
        &n,
        "--title",
        "Alert on replica lag",
        "--owner",
        common::ADMIN_EMAIL,
        "--due",
        "2099-12-31",
        "--priority",
        "high",
    ]);
    assert_eq!((added["number"].as_i64(), added["kind"].as_str()), (Some(1), Some("task")), "{added}");
    let listing = cli.json(&["actions", "list"]);
    let items = listing["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{listing}");
    assert_eq!(items[0]["title"], "Alert on replica lag", "{listing}");
    let table = cli.ok(&["actions", "list", "--mine"]);
    let row = table.lines().find(|l| l.starts_with("AI-1 ")).unwrap_or_else(|| panic!("no AI-1 row:\n{table}"));
    for cell in [format!("INC-{n}").as_str(), "Alert on replica lag", "Ada Admin", "2099-12-31", "high", "open"] {
        assert!(row.contains(cell), "missing {cell:?} in {row:?}");
    }
    let out = cli.ok(&["actions", "set", "AI-1", "--status", "done"]);
    assert!(out.contains("status:    done"), "{out}");
    assert_eq!(cli.ok(&["actions", "list", "--status", "open"]).trim(), "no action items");
    let err = cli.fails(1, &["actions", "add", &n, "--title", "x", "--due", "someday"]);
    assert!(err.contains("a day such as 2026-12-31") && err.contains("HTTP 422"), "{err}");
    let err = cli.fails(1, &["actions", "set", "AI-99", "--status", "done"]);
    assert!(err.contains("HTTP 404") && err.contains("hint: see `firebreak actions list`"), "{err}");

    // The report.
    let today = chrono::Utc::now().date_naive();
    let yesterday = (today - chrono::TimeDelta::days(1)).to_string();
    let tomorrow = (today + chrono::TimeDelta::days(1)).to_string();
    let csv = cli.ok(&["report", "--from", &yesterday, "--to", &tomorrow, "--csv"]);
    let header = csv.lines().next().unwrap_or_default();
    assert!(header.starts_with("group,incidents"), "{csv}");
    let summary = cli.ok(&["report", "--from", &yesterday, "--to", &tomorrow]);
    let total = summary.lines().find(|l| l.starts_with("total ")).unwrap_or_else(|| panic!("no total:\n{summary}"));
    let counts: Vec<&str> = total.split_whitespace().skip(1).take(2).collect();
    assert_eq!(counts, ["1", "0"], "one incident, not resolved:\n{summary}");
    for line in ["time zone:       UTC", "drills excluded: 0", "1 created, 1 closed (closure rate 100%), 0 overdue"] {
        assert!(summary.contains(line), "missing {line:?} in:\n{summary}");
    }
    let report = cli.json(&["report", "--from", &yesterday, "--to", &tomorrow, "--group-by", "severity"]);
    assert_eq!(report["groups"][0]["key"], "high", "{report}");
    let err = cli.fails(1, &["report", "--from", &tomorrow, "--to", &yesterday]);
    assert!(err.contains("from: must be before to") && err.contains("HTTP 400"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postmortem_actions_and_report_from_the_command_line_on_sqlite() {
    postmortem_actions_and_report_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postmortem_actions_and_report_from_the_command_line_on_postgres() {
    postmortem_actions_and_report_from_the_command_line(Backend::Postgres).await;
}

#[test]
fn each_review_command_explains_its_options() {
    for (command, words) in [
        (&["postmortem"][..], &["Example:", "sign-off", "publish", "export"][..]),
        (&["postmortem", "new"][..], &["--template", "blameless", "--json"][..]),
        (&["postmortem", "show"][..], &["reviewers", "--json"][..]),
        (&["postmortem", "export"][..], &["--out", "Markdown"][..]),
        (&["postmortem", "edit"][..], &["--file", "--title", "--base-revision", "standard input"][..]),
        (&["postmortem", "review"][..], &["--reviewer", "EMAIL"][..]),
        (&["postmortem", "sign-off"][..], &["current revision"][..]),
        (&["postmortem", "publish"][..], &["signed off"][..]),
        (&["actions", "list"][..], &["--mine", "--overdue", "--status", "--service", "--incident", "--limit"][..]),
        (&["actions", "add"][..], &["--title", "--owner", "--due", "--priority", "--link", "--procedure-file"][..]),
        (&["actions", "set"][..], &["--status", "wont_do", "--owner", "--due", "clears"][..]),
        (&["report"][..], &["Example:", "--from", "--to", "--group-by", "--tz", "--csv", "--team", "--type"][..]),
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = run(&args, None);
        assert_success(&out, &args.join(" "));
        let help = stdout(&out);
        for word in words {
            assert!(help.contains(word), "`firebreak {}` does not mention {word:?}:\n{help}", args.join(" "));
        }
    }
}
