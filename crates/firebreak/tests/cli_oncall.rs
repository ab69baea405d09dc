//! `firebreak oncall` and `firebreak schedule …` against a real server, on SQLite and (when
//! `FIREBREAK_TEST_POSTGRES_URL` is set) PostgreSQL: schedules created from definition files
//! naming people by email, id and `me`; who is on call at fixed instants (across the New York
//! DST change), shifts in the schedule's zone, overrides (fixed and relative), deletion; tables,
//! `--json`, and errors that say what to do.

mod common;

use common::{Backend, Cli, Database, PASSWORD, assert_success, field, stderr, stdout};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The lines of a table with runs of spaces made one, so rows compare as words.
fn rows(table: &str) -> Vec<String> {
    table.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

/// The lines of `text` after the line `heading`, up to the next blank line.
fn section(text: &str, heading: &str) -> Vec<String> {
    let after = text.split_once(&format!("\n{heading}\n")).map(|(_, rest)| rest).unwrap_or_else(|| {
        panic!("no {heading:?} section in:\n{text}");
    });
    rows(after.split("\n\n").next().unwrap_or_default())
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

fn user_id(users: &Value, email: &str) -> String {
    users["items"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == email))
        .and_then(|u| u["id"].as_str())
        .unwrap_or_else(|| panic!("no user {email} in {users}"))
        .to_owned()
}

/// `oncall` rows for schedules named `databases` and `edge` at `at`.
fn on_call_at(cli: &Cli, at: &str) -> Vec<String> {
    rows(&cli.ok(&["oncall", "--at", at]))
}

const ADA: &str = "Ada Admin <admin@example.com>";
const RITA: &str = "Rita Responder <rita@example.com>";
const VIC: &str = "Vic Viewer <vic@example.com>";

async fn schedules_from_the_command_line(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let token = db.bootstrap_admin();
    for (email, name, role) in
        [("rita@example.com", "Rita Responder", "responder"), ("vic@example.com", "Vic Viewer", "viewer")]
    {
        let out = db.admin(
            &["create-user", "--email", email, "--name", name, "--role", role, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_success(&out, "create user");
    }
    let server = common::Server::start(&db.url).await;
    let cli = Cli { url: server.url.clone(), token: token.clone() };
    let (status, users) = common::Api::new(&server, &token).get("/users").await;
    assert_eq!(status, 200, "{users}");
    let (ada, rita, vic) =
        (user_id(&users, "admin@example.com"), user_id(&users, "rita@example.com"), user_id(&users, "vic@example.com"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));

    assert_eq!(cli.ok(&["schedule", "list"]).trim(), "no schedules (create one with `firebreak schedule create`)");

    // A weekly rotation of Rita and Vic in New York handing off Mondays at 09:00, a noon desk
    // on top, Ada as the fallback. People by email, by id and as `me`.
    let databases = write(
        dir.path(),
        "databases.json",
        &json!({
            "description": "database on-call",
            "time_zone": "America/New_York",
            "layers": [
                {"name": "primary", "members": ["Rita@example.com", vic],
                 "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2026-03-02T09:00"},
                {"name": "noon desk", "members": ["me"],
                 "rotation_length": 1, "rotation_unit": "days", "starts_at": "2026-03-02T00:00",
                 "restrictions": [{"kind": "daily", "start": "12:00", "end": "13:00"}]}
            ],
            "fallback": "admin@example.com"
        })
        .to_string(),
    );
    let databases = databases.to_str().unwrap_or_default();
    let out = cli.ok(&["schedule", "create", "databases", "--file", databases]);
    assert_eq!(field(&out, "schedule"), "databases");
    assert_eq!(field(&out, "description:"), "database on-call");
    assert_eq!(field(&out, "time zone:"), "America/New_York");
    assert_eq!(field(&out, "fallback:"), ADA);
    let layers = section(&out, "layers (the highest covering an instant decides):");
    assert_eq!(
        layers,
        [
            "LAYER NAME ROTATION FIRST HAND-OFF COVERS MEMBERS".to_owned(),
            format!("0 primary every week 2026-03-02 09:00 always {RITA}, {VIC}"),
            format!("1 noon desk every day 2026-03-02 00:00 daily 12:00–13:00 {ADA}"),
        ]
    );
    let databases_id = field(&out, "id:");
    let stored = cli.json(&["schedule", "show", "databases"]);
    assert_eq!(stored["schedule"]["id"], databases_id.as_str());
    assert_eq!(stored["schedule"]["layers"][0]["members"], json!([rita, vic]), "emails became ids");
    assert_eq!(stored["schedule"]["layers"][1]["members"], json!([ada]), "`me` is the token's user");
    assert_eq!(stored["schedule"]["fallback"], ada.as_str());

    // A round-the-clock layer of Vic alone since 2020, in UTC, with no fallback.
    let edge = write(
        dir.path(),
        "edge.json",
        &json!({"name": "edge", "time_zone": "UTC", "layers": [{"name": "solo", "members": [vic],
            "rotation_length": 12, "rotation_unit": "hours", "starts_at": "2020-01-01T00:00"}]})
        .to_string(),
    );
    let created = cli.json(&[
        "schedule",
        "create",
        "edge",
        "--file",
        edge.to_str().unwrap_or_default(),
        "--description",
        "CDN and DNS",
    ]);
    assert_eq!((created["name"].as_str(), created["description"].as_str()), (Some("edge"), Some("CDN and DNS")));
    assert_eq!(created["on_call_now"]["user_id"], vic.as_str(), "{created}");
    assert_eq!(created["fallback"], Value::Null);

    // list
    let table = rows(&cli.ok(&["schedule", "list"]));
    assert_eq!(table.len(), 3, "{table:?}");
    assert_eq!(table[0], "NAME TIME ZONE LAYERS ON CALL NOW ID");
    assert!(table[1].starts_with("databases America/New_York 2 ") && table[1].ends_with(&databases_id), "{table:?}");
    assert_eq!(table[2], format!("edge UTC 1 {VIC} {}", created["id"].as_str().unwrap_or_default()));
    assert_eq!(cli.json(&["schedule", "list"])["items"].as_array().map(Vec::len), Some(2));

    // show: the definition, who is on call now, the next 7 days (one merged shift here).
    let out = cli.ok(&["schedule", "show", "edge"]);
    assert_eq!(field(&out, "description:"), "CDN and DNS");
    assert_eq!(field(&out, "fallback:"), "none (gaps have nobody on call)");
    assert_eq!(field(&out, "on call now:"), format!("{VIC} (layer 1)"));
    let week = section(&out, "next 7 days:");
    assert_eq!(week.len(), 2, "{out}");
    assert_eq!(week[0], "FROM (UTC) TO (UTC) ON CALL WHY");
    assert!(week[1].ends_with(&format!("{VIC} layer 1")), "{out}");
    let out = cli.ok(&["schedule", "show", &databases_id]);
    assert_eq!(section(&out, "next 7 days:")[0], "FROM (America/New_York) TO (America/New_York) ON CALL WHY");
    assert!(!out.contains("overrides"), "no overrides yet: {out}");

    // Who is on call at fixed instants. 09:00 EDT on Monday 9 March (after the change) is 13:00 UTC.
    assert_eq!(
        on_call_at(&cli, "2026-03-09T09:00:00-04:00"),
        ["SCHEDULE ON CALL WHY".to_owned(), format!("databases {VIC} layer 1"), format!("edge {VIC} layer 1")]
    );
    assert_eq!(on_call_at(&cli, "2026-03-09T12:59:59Z")[1], format!("databases {RITA} layer 1"));
    assert_eq!(on_call_at(&cli, "2026-03-03T17:30:00Z")[1], format!("databases {ADA} layer 2"), "the noon desk");
    assert_eq!(
        on_call_at(&cli, "2019-06-01T00:00:00Z")[1..],
        [format!("databases {ADA} fallback"), "edge nobody -".into()]
    );
    let answer = cli.json(&["oncall", "--at", "2026-03-09T12:59:59Z"]);
    let item = answer["items"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["schedule_name"] == "databases"))
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(item["schedule_id"], databases_id.as_str());
    assert_eq!(item["on_call"]["user_id"], rita.as_str());
    assert_eq!(item["on_call"]["source"], json!({"kind": "layer", "index": 0}));

    // Shifts over a range, in New York time across the DST change.
    let shifts = rows(&cli.ok(&[
        "schedule",
        "shifts",
        "databases",
        "--from",
        "2026-03-07T00:00:00Z",
        "--to",
        "2026-03-10T00:00:00Z",
    ]));
    let expected = [
        "FROM (America/New_York) TO (America/New_York) ON CALL WHY".to_owned(),
        format!("Fri 2026-03-06 19:00 Sat 2026-03-07 12:00 {RITA} layer 1"),
        format!("Sat 2026-03-07 12:00 Sat 2026-03-07 13:00 {ADA} layer 2"),
        format!("Sat 2026-03-07 13:00 Sun 2026-03-08 12:00 {RITA} layer 1"),
        format!("Sun 2026-03-08 12:00 Sun 2026-03-08 13:00 {ADA} layer 2"),
        format!("Sun 2026-03-08 13:00 Mon 2026-03-09 09:00 {RITA} layer 1"),
        format!("Mon 2026-03-09 09:00 Mon 2026-03-09 12:00 {VIC} layer 1"),
        format!("Mon 2026-03-09 12:00 Mon 2026-03-09 13:00 {ADA} layer 2"),
        format!("Mon 2026-03-09 13:00 Mon 2026-03-09 20:00 {VIC} layer 1"),
    ];
    assert_eq!(shifts, expected);
    let listed = cli.json(&[
        "schedule",
        "shifts",
        &databases_id,
        "--from",
        "2026-03-09T13:00:00Z",
        "--to",
        "2026-03-09T16:00:00Z",
    ]);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["items"][0]["start"], "2026-03-09T13:00:00Z");
    assert_eq!(listed["items"][0]["on_call"]["user_id"], vic.as_str());

    // An override of Rita alone, on a Wednesday of her week a year on (EST again).
    let out = cli.ok(&[
        "schedule",
        "override",
        "databases",
        "--user",
        "vic@example.com",
        "--replaces",
        &rita,
        "--start",
        "2027-03-03T18:00:00Z",
        "--end",
        "2027-03-03T22:00:00Z",
    ]);
    assert_eq!(field(&out, "override added to schedule"), "databases");
    assert_eq!(field(&out, "on call:"), VIC);
    assert_eq!(field(&out, "replaces:"), RITA);
    assert_eq!(field(&out, "from:"), "Wed 2027-03-03 13:00 (America/New_York)");
    assert_eq!(field(&out, "to:"), "Wed 2027-03-03 17:00 (America/New_York)");
    assert_eq!(on_call_at(&cli, "2027-03-03T19:00:00Z")[1], format!("databases {VIC} override"));
    assert_eq!(on_call_at(&cli, "2027-03-03T17:30:00Z")[1], format!("databases {ADA} layer 2"), "not Rita's hour");
    assert_eq!(on_call_at(&cli, "2027-03-03T22:00:00Z")[1], format!("databases {RITA} layer 1"), "it has ended");
    let out = cli.ok(&["schedule", "show", "databases"]);
    assert_eq!(
        section(&out, "overrides (the one added last wins):"),
        [
            "FROM (America/New_York) TO (America/New_York) ON CALL REPLACES".to_owned(),
            format!("Wed 2027-03-03 13:00 Wed 2027-03-03 17:00 {VIC} {RITA}")
        ]
    );

    // A relative override from now, by a responder naming themself.
    let responder = Cli { url: server.url.clone(), token: db.token_for("rita@example.com") };
    let changed = responder.json(&["schedule", "override", "edge", "--user", "me", "--for", "2h"]);
    assert_eq!(changed["overrides"][0]["user"], rita.as_str(), "{changed}");
    assert_eq!(changed["on_call_now"]["user_id"], rita.as_str(), "{changed}");
    assert_eq!(rows(&cli.ok(&["oncall"]))[2], format!("edge {RITA} override"));
    // Nobody here has a contact method: `oncall` warns of whoever is on call soon, on stderr.
    let out = cli.run(&["oncall"]);
    assert_success(&out, "oncall");
    let err = stderr(&out);
    assert!(err.contains(&format!("warning: {RITA} is on call from")), "{err}");
    assert!(err.contains("no verified contact method and no notification rule") && err.contains("edge)"), "{err}");
    assert!(!stdout(&out).contains("warning"), "the table stays clean: {}", stdout(&out));
    assert_eq!(on_call_at(&cli, "+3h")[2], format!("edge {VIC} layer 1"), "the override is over by then");
    assert_eq!(on_call_at(&cli, "-1h")[2], format!("edge {VIC} layer 1"), "it had not begun");
    let err = responder.fails(1, &["schedule", "override", "edge", "--user", "admin@example.com", "--for", "1h"]);
    assert!(err.contains("cannot look up admin@example.com") && err.contains("give the user's id"), "{err}");

    // Errors say what to do, and change nothing.
    let err = cli.fails(1, &["schedule", "show", "nowhere"]);
    assert!(err.contains("no schedule with the id or name \"nowhere\""), "{err}");
    assert!(err.contains("hint: see `firebreak schedule list`"), "{err}");
    let unknown = uuid::Uuid::now_v7().to_string();
    let err = cli.fails(1, &["schedule", "shifts", &unknown]);
    assert!(err.contains("HTTP 404") && err.contains("firebreak schedule list"), "{err}");
    let err = cli.fails(1, &["schedule", "create", "databases", "--file", databases]);
    assert!(err.contains("HTTP 409") && err.contains("a schedule named \"databases\" already exists"), "{err}");
    let bad_files = [
        ("missing.json", None, "cannot read the file"),
        (
            "truncated.json",
            Some("{\"time_zone\": \"UTC\",\n \"layers\": ["),
            "not JSON: EOF while parsing a list at line 2",
        ),
        ("list.json", Some("[]"), "not a JSON object"),
        ("surprise.json", Some(r#"{"time_zone": "UTC", "surprise": 1}"#), "unknown key \"surprise\""),
        ("renamed.json", Some(r#"{"name": "other", "time_zone": "UTC"}"#), "names the schedule \"other\""),
        (
            "fortnights.json",
            Some(
                r#"{"time_zone": "UTC", "layers": [{"name": "primary", "members": ["me"], "rotation_length": 1, "rotation_unit": "fortnights", "starts_at": "2026-01-01T00:00"}]}"#,
            ),
            "layers[0] (\"primary\"): unknown variant `fortnights`",
        ),
        (
            "mars.json",
            Some(r#"{"time_zone": "Mars/Olympus_Mons", "fallback": "me"}"#),
            "time_zone: \"Mars/Olympus_Mons\" is not an IANA time zone",
        ),
        (
            "stranger.json",
            Some(
                r#"{"time_zone": "UTC", "layers": [{"name": "x", "members": ["me", "nobody@example.com"], "rotation_length": 1, "rotation_unit": "days", "starts_at": "2026-01-01T00:00"}]}"#,
            ),
            "layers[0].members[1]: no user has the email address nobody@example.com",
        ),
        ("empty.json", Some(r#"{"time_zone": "UTC"}"#), "layers: a schedule needs at least one layer or a fallback"),
    ];
    for (name, content, needle) in bad_files {
        let path = match content {
            Some(text) => write(dir.path(), name, text),
            None => dir.path().join(name),
        };
        let err = cli.fails(1, &["schedule", "create", "new", "--file", path.to_str().unwrap_or_default()]);
        assert!(err.contains(&format!("{}: ", path.display())) && err.contains(needle), "{name}: {err}");
        assert!(err.contains("hint: see `firebreak schedule create --help`"), "{name}: {err}");
    }
    let err = responder.fails(1, &["schedule", "create", "new", "--file", databases]);
    // Her own address she may use; others only an admin's token can look up.
    assert!(err.contains("fallback: cannot look up admin@example.com"), "{err}");
    for args in [
        ["oncall", "--at", "yesterday"].as_slice(),
        &["schedule", "shifts", "databases", "--from", "2026-03-07"],
        &["schedule", "override", "databases", "--user", "me", "--start", "soon", "--for", "1h"],
        &["schedule", "override", "databases", "--user", "me", "--for", "2 fortnights"],
    ] {
        let err = cli.fails(2, args);
        assert!(err.contains("RFC 3339") || err.contains("unknown unit"), "{args:?}: {err}");
    }
    let err = cli.fails(2, &["schedule", "override", "databases", "--user", "me"]);
    assert!(err.contains("--end") && err.contains("--for"), "{err}");
    let err = cli.fails(1, &["schedule", "override", "databases", "--user", "me", "--start", "+2h", "--end", "+1h"]);
    assert!(err.contains("HTTP 422") && err.contains("hint: see `firebreak schedule override --help`"), "{err}");
    let err = cli.fails(1, &["schedule", "shifts", "databases", "--from", "+2d", "--to", "+1d"]);
    assert!(err.contains("HTTP 422") && err.contains("--to must come after --from"), "{err}");
    assert_eq!(cli.json(&["schedule", "list"])["items"].as_array().map(Vec::len), Some(2), "nothing was created");

    // delete, by name and by id.
    assert_eq!(
        cli.ok(&["schedule", "delete", "edge"]).trim(),
        format!("deleted schedule edge ({})", created["id"].as_str().unwrap_or_default())
    );
    assert_eq!(cli.json(&["schedule", "delete", &databases_id]), json!({"id": databases_id, "deleted": true}));
    let err = cli.fails(1, &["schedule", "delete", &databases_id]);
    assert!(err.contains("HTTP 404") && err.contains("firebreak schedule list"), "{err}");
    assert!(cli.ok(&["schedule", "list"]).starts_with("no schedules"));
    assert!(cli.ok(&["oncall"]).starts_with("no schedules"));

    let exit = server.terminate();
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn schedules_from_the_command_line_on_sqlite() {
    schedules_from_the_command_line(Backend::Sqlite).await;
}

#[tokio::test]
async fn schedules_from_the_command_line_on_postgres() {
    schedules_from_the_command_line(Backend::Postgres).await;
}

#[test]
fn help_explains_definitions_people_and_instants() {
    for (args, needles) in [
        (["oncall", "--help"].as_slice(), ["--at", "RFC 3339", "+2h", "layer N", "firebreak oncall --at"].as_slice()),
        (&["schedule", "create", "--help"], &["--file", "rotation_unit", "starts_at", "restrictions", "admin's token"]),
        (&["schedule", "override", "--help"], &["--user", "--replaces", "--start", "--end", "--for", "`me`"]),
        (&["schedule", "--help"], &["list", "show", "create", "shifts", "override", "delete"]),
    ] {
        let out = common::run(args, None);
        assert_success(&out, &format!("{args:?}"));
        for needle in needles {
            assert!(stdout(&out).contains(needle), "{args:?} help lacks {needle:?}:\n{}", stdout(&out));
        }
    }
}
