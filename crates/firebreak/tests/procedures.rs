//! `firebreak procedures validate|init` on real directories: the documented example passes,
//! `init` writes one that passes, and a broken directory fails with `file:line` messages for
//! each kind of problem.

mod common;

use common::{Api, Backend, Cli, Database, Server, assert_success, firebreak, run, run_with, stderr, stdout};
use std::path::Path;

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/procedures-example").display().to_string()
}

#[test]
fn the_documented_example_is_valid() {
    let out = run(&["procedures", "validate", &example()], None);
    assert_success(&out, "validate the example");
    assert!(
        stdout(&out)
            .contains("1 decision tree, 2 playbooks, 2 contact lists, 3 templates, 1 drill scenario — no problems"),
        "{}",
        stdout(&out)
    );
    let out = run(&["procedures", "validate", "--json", &example()], None);
    assert_success(&out, "validate --json");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["triage_tree"], "severity");
    assert_eq!(v["playbooks"][0]["name"], "major-outage");
    assert_eq!(v["playbooks"][0]["version"].as_str().map(str::len), Some(64), "the content hash");
}

#[test]
fn init_writes_a_directory_that_validates_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("procedures");
    let dir = dir.to_str().expect("utf-8 path");
    assert_success(&run(&["procedures", "init", dir], None), "init");
    assert_success(&run(&["procedures", "validate", dir], None), "validate what init wrote");
    let again = run(&["procedures", "init", dir], None);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("is not empty"), "{}", stderr(&again));
}

#[test]
fn a_broken_directory_fails_with_each_problem_located() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    let d = dir.to_str().expect("utf-8 path");
    assert_success(&run(&["procedures", "init", d], None), "init");
    let write = |rel: &str, text: &str| std::fs::write(dir.join(rel), text).expect("write");
    write(
        "trees/loop.yaml",
        "start: a\nquestions:\n  a:\n    text: A?\n    answers:\n      - answer: again\n        next: b\n  b:\n    text: B?\n    answers:\n      - answer: back\n        next: a\noutcomes: {}\n",
    );
    write("playbooks/broken.md", "---\nname: broken\nsteps:\n  containment:\n    - notify: nobody-we-know\n---\n");
    write(
        "playbooks/leak.md",
        "---\nname: leak\nsteps:\n  containment:\n    - action: Leak a token\n      request:\n        url: https://x.example.com\n        headers: { Authorization: Bearer abc }\n---\n",
    );
    write("templates/bad.md.j2", "Hello {{ incident.title\n");
    write("config.yaml", "severities:\n  critical:\n    stakeholder_groups: [board]\n");
    let out = run(&["procedures", "validate", d], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for want in [
        format!("{d}/config.yaml:3: critical: unknown stakeholder group \"board\" (add contacts/board.yaml)"),
        format!("{d}/playbooks/broken.md:5: unknown contact list \"nobody-we-know\""),
        format!(
            "{d}/playbooks/leak.md:8: header Authorization: write secrets as ${{secret:NAME}} references, never inline"
        ),
        format!("{d}/trees/loop.yaml:8: cycle: a → b → a"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
    // Template syntax is checked once the files themselves are sound.
    std::fs::remove_file(dir.join("trees/loop.yaml")).expect("rm");
    std::fs::remove_file(dir.join("playbooks/broken.md")).expect("rm");
    std::fs::remove_file(dir.join("playbooks/leak.md")).expect("rm");
    write("config.yaml", "triage_tree: severity\n");
    let out = run(&["procedures", "validate", d], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("{d}/templates/bad.md.j2:1:")), "{}", stderr(&out));
    // Postmortem templates too, at the body's line in the file (front matter counted).
    std::fs::remove_file(dir.join("templates/bad.md.j2")).expect("rm");
    write(
        "postmortems/review.md",
        "---\ndescription: ours\n---\n# {{ incident.title }}\n\n{{ incident.no_such_field }}\n",
    );
    let out = run(&["procedures", "validate", d], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("{d}/postmortems/review.md:6:")), "{}", stderr(&out));
    write(
        "postmortems/review.md",
        "---\ndescription: ours\n---\n# {{ incident.title }}\n\n{% for s in checklist.steps %}{{ s.title }}{% endfor %} {{ paging.sent }}\n",
    );
    let out = run(&["procedures", "validate", d], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Drill scenarios, each problem at its line.
    write(
        "drills/broken.yaml",
        "title: Broken drill\nservices: [checkout]\ninjects:\n  - at: later\n    note: x\n  - at: 1m\n    alert:\n      summary: s\n      severity: loud\nexpect:\n  severity: sev0\n",
    );
    let out = run(&["procedures", "validate", d], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for want in [
        format!("{d}/drills/broken.yaml:4: `at` \"later\""),
        format!("{d}/drills/broken.yaml:9: unknown severity \"loud\""),
        format!("{d}/drills/broken.yaml:11: unknown severity \"sev0\""),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
    std::fs::remove_file(dir.join("drills/broken.yaml")).expect("rm");
    let missing = run(&["procedures", "validate", &format!("{d}/nope")], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("not a directory"), "{}", stderr(&missing));
}

/// `firebreak triage` against a server that reads the example directory: answers given as
/// flags, as numbers on standard input, and a wrong answer that changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_from_the_terminal_applies_the_outcome() {
    let Some(db) = Database::fresh(Backend::Sqlite).await else { return };
    let token = db.bootstrap_admin();
    let mut cmd = firebreak();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url, "--procedures", &example()]);
    let server = Server::spawn(cmd).await;
    let api = Api::new(&server, &token);
    let (status, procedures) = api.get("/procedures").await;
    assert_eq!(status, 200, "{procedures}");
    assert_eq!(procedures["playbooks"].as_array().map(Vec::len), Some(2), "{procedures}");
    let cli = Cli { url: server.url.clone(), token: token.clone() };

    let n = api.declare("Checkout is down", "low").await["number"].to_string();
    let out = cli.ok(&[
        "triage",
        &n,
        "--answer",
        "No",
        "--answer",
        "Yes, they cannot use a core feature",
        "--answer",
        "All or most",
    ]);
    assert!(
        out.contains(&format!("INC-{n} triaged: critical-outage (critical outage); playbook major-outage")),
        "{out}"
    );
    let (_, incident) = api.get(&format!("/incidents/{n}")).await;
    assert_eq!((incident["severity"].as_str(), incident["type"].as_str()), (Some("critical"), Some("outage")));

    // The playbook the outcome names is now the incident's checklist.
    let list = cli.ok(&["incident", "checklist", &n]);
    assert!(list.contains("Major outage (major-outage), version "), "{list}");
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().take(3).eq(["1", "open", "containment"]) && l.contains("Confirm the impact")),
        "{list}"
    );
    let done = cli.ok(&["incident", "check", &n, "1"]);
    assert!(done.starts_with("1 done: Confirm the impact"), "{done}");
    let skipped = cli.json(&["incident", "check", &n, "2", "--skip"]);
    assert_eq!(skipped["state"], "skipped");
    let err = cli.refused(&["incident", "check", &n, "0"]);
    assert!(err.contains("numbered from 1"), "{err}");
    let err = cli.refused(&["incident", "playbook", &n, "security-incident"]);
    assert!(err.contains("already runs the playbook"), "{err}");

    // Numbers on standard input, as a script would pipe them: 2 (No), 3 (internal), 2 (Yes).
    let m = api.declare("Internal wiki is slow", "high").await["number"].to_string();
    let mut piped = firebreak();
    piped.args(["triage", &m, "--json"]).env("FIREBREAK_URL", &server.url).env("FIREBREAK_TOKEN", &token);
    let out = run_with(&mut piped, Some("2\n3\n2\n"));
    assert_success(&out, "triage with piped answers");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(v["outcome"]["id"], "low-other");
    assert_eq!(v["path"].as_array().map(Vec::len), Some(3));

    // A wrong answer says what the choices are and changes nothing.
    let k = api.declare("Unclear", "medium").await["number"].to_string();
    let err = cli.refused(&["triage", &k, "--answer", "perhaps"]);
    assert!(err.contains("expected one of: Yes, No") && err.contains("nothing was changed"), "{err}");
    let (_, incident) = api.get(&format!("/incidents/{k}")).await;
    assert_eq!(incident["severity"], "medium");
    let err = cli.refused(&["triage", &k]);
    assert!(err.contains("no answer is left"), "{err}");
}
