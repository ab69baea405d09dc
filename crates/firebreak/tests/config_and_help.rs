//! How `firebreak` is configured and how it explains itself: the TOML file (unknown keys
//! rejected by name), `FIREBREAK_*` variables, the layer order, `--help` everywhere, the hint
//! on an empty database, and clear refusals to start.

mod common;

use common::{Api, Backend, Database, Server, assert_failure, assert_success, stderr, stdout};
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

#[test]
fn unknown_key_in_the_config_file_is_refused_by_name() {
    let dir = tempdir();
    let file = dir.path().join("firebreak.toml");
    let db = format!("sqlite://{}/f.db", dir.path().display());
    write(&file, &format!("listen = \"127.0.0.1:0\"\ndatabase_url = \"{db}\"\nsesion_ttl_hours = 4\n"));
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--config"]).arg(&file);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with an unknown config key");
    let err = stderr(&out);
    assert!(err.contains("sesion_ttl_hours"), "names the unknown key: {err}");
    assert!(err.contains("session_ttl_hours"), "lists the valid keys: {err}");
    assert!(!dir.path().join("f.db").exists(), "refused before touching the database");

    // The same through FIREBREAK_CONFIG, and for the admin commands that read the file too.
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["admin", "verify-audit"]).env("FIREBREAK_CONFIG", &file);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "verify-audit with an unknown config key");
    assert!(stderr(&out).contains("sesion_ttl_hours"), "{}", stderr(&out));
}

#[test]
fn bad_values_and_missing_files_are_refused_clearly() {
    let dir = tempdir();
    let file = dir.path().join("firebreak.toml");
    write(&file, "session_ttl_hours = \"twelve\"\n");
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--config"]).arg(&file);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with a bad value");
    assert!(stderr(&out).contains("session_ttl_hours"), "{}", stderr(&out));

    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--config", "nope.toml"]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with a missing config file");
    assert!(stderr(&out).contains("nope.toml") && stderr(&out).contains("does not exist"), "{}", stderr(&out));

    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path())
        .args(["serve", "--listen", "localhost-ish", "--database"])
        .arg(format!("sqlite://{}/f.db", dir.path().display()));
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with a bad listen address");
    assert!(
        stderr(&out).contains("invalid listen address") && stderr(&out).contains("localhost-ish"),
        "{}",
        stderr(&out)
    );

    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--database", "mysql://root@db/fb"]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with an unsupported database");
    assert!(stderr(&out).contains("unsupported database URL"), "{}", stderr(&out));

    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        "sqlite://x.db",
        "--log-level",
        "info,[[[",
    ]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve with a bad log filter");
    assert!(stderr(&out).contains("invalid log level"), "{}", stderr(&out));
}

#[test]
fn a_taken_port_is_refused_with_a_hint() {
    let dir = tempdir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = taken.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path())
        .args(["serve", "--listen", &addr, "--database"])
        .arg(format!("sqlite://{}/f.db", dir.path().display()));
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "serve on a port in use");
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr}")) && err.contains("--listen"), "{err}");
}

#[test]
fn admin_commands_do_not_start_a_new_database_unless_asked() {
    // Run from a folder with no database: the default (firebreak-data/firebreak.db) is not there.
    let dir = tempdir();
    let default_db = dir.path().join("firebreak-data").join("firebreak.db");
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["admin", "create-token", "--email", "ada@example.com"]);
    let out = common::run_with(&mut cmd, None);
    assert_failure(&out, "create-token with no database");
    let err = stderr(&out);
    assert!(err.contains("there is no database at") && err.contains("firebreak.db"), "names the path: {err}");
    assert!(err.contains("--create") && err.contains("--database"), "says what to do: {err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(!default_db.exists(), "nothing was created");

    // With --create it starts one there and says which file it uses.
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path())
        .args(["admin", "create-user", "--create", "--email", "ada@example.com", "--name", "Ada", "--role", "admin"])
        .arg("--password-stdin");
    let out = common::run_with(&mut cmd, Some("a long enough password\n"));
    assert_success(&out, "create-user --create");
    assert!(default_db.exists(), "the database was created");
    let err = stderr(&out);
    assert!(err.contains(&format!("database: {}", default_db.display())), "the absolute path it used: {err}");

    // Now it exists, the next command finds it without --create; stdout is only the token.
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["admin", "create-token", "--email", "ada@example.com"]);
    let out = common::run_with(&mut cmd, None);
    assert_success(&out, "create-token on the existing database");
    assert!(!stdout(&out).trim().is_empty() && !stdout(&out).contains("database:"), "{}", stdout(&out));
}

#[tokio::test]
async fn environment_variables_are_honoured() {
    let dir = tempdir();
    let url = format!("sqlite://{}/from-env.db", dir.path().display());

    // The admin commands read FIREBREAK_DATABASE_URL like serve does.
    let mut cmd = common::firebreak();
    cmd.args([
        "admin",
        "create-user",
        "--create",
        "--email",
        "env@example.com",
        "--name",
        "Env",
        "--role",
        "responder",
        "--password-stdin",
    ])
    .env("FIREBREAK_DATABASE_URL", &url);
    assert_success(&common::run_with(&mut cmd, Some("a long enough password\n")), "create-user via env");
    let mut cmd = common::firebreak();
    cmd.args(["admin", "create-token", "--email", "env@example.com"]).env("FIREBREAK_DATABASE_URL", &url);
    let out = common::run_with(&mut cmd, None);
    assert_success(&out, "create-token via env");
    let token = stdout(&out).trim().to_owned();

    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).arg("serve").env("FIREBREAK_LISTEN", "127.0.0.1:0").env("FIREBREAK_DATABASE_URL", &url);
    let server = Server::spawn(cmd).await;
    assert!(server.logs().contains(&format!("database={url}")), "{}", server.logs());
    assert!(!dir.path().join("firebreak-data").exists(), "the default database was not used");
    let api = Api::new(&server, &token);
    let (status, me) = api.get("/me").await;
    assert_eq!(status, 200, "the token made in the env's database works: {me}");
    assert!(server.terminate().success());

    // Flags beat env beats the file: the file says one database, the env another, the flag
    // a third listen address.
    let file = dir.path().join("firebreak.toml");
    let file_db = format!("sqlite://{}/from-file.db", dir.path().display());
    write(&file, &format!("listen = \"not an address\"\ndatabase_url = \"{file_db}\"\nlog_format = \"json\"\n"));
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("FIREBREAK_CONFIG", &file)
        .env("FIREBREAK_LISTEN", "also not an address")
        .env("FIREBREAK_DATABASE_URL", &url);
    let server = Server::spawn(cmd).await;
    let logs = server.logs();
    assert!(logs.contains("\"database\":\"") && logs.contains(&url), "env database and file log format: {logs}");
    assert!(!dir.path().join("from-file.db").exists());
    assert!(server.terminate().success());

    // Without the env, the file's database is used.
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--config"]).arg(&file);
    let server = Server::spawn(cmd).await;
    assert!(server.logs().contains(&file_db), "{}", server.logs());
    assert!(dir.path().join("from-file.db").exists());
    assert!(server.terminate().success());
}

#[tokio::test]
async fn default_database_is_created_in_the_working_directory() {
    let dir = tempdir();
    let mut cmd = common::firebreak();
    cmd.current_dir(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::spawn(cmd).await;
    assert!(dir.path().join("firebreak-data/firebreak.db").exists());
    let logs = server.logs();
    assert!(logs.contains("firebreak admin create-user"), "{logs}");
    assert!(!logs.contains("--database"), "no --database needed for the default database: {logs}");
    assert!(server.terminate().success());
}

async fn empty_database_explains_the_first_step(backend: Backend) {
    let Some(db) = Database::fresh(backend).await else { return };
    let server = Server::start(&db.url).await;
    let logs = server.logs();
    assert!(logs.contains("no users yet"), "{logs}");
    assert!(logs.contains("firebreak admin create-user") && logs.contains("--role admin"), "{logs}");
    assert!(logs.contains("--database"), "names the non-default database: {logs}");
    assert!(server.terminate().success());

    db.bootstrap_admin();
    let server = Server::start(&db.url).await;
    assert!(!server.logs().contains("no users yet"), "{}", server.logs());
    assert!(server.terminate().success());
}

#[tokio::test]
async fn sqlite_empty_database_explains_the_first_step() {
    empty_database_explains_the_first_step(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_empty_database_explains_the_first_step() {
    empty_database_explains_the_first_step(Backend::Postgres).await;
}

#[tokio::test]
async fn migrate_brings_a_database_up_to_date() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = Database::fresh(backend).await else { continue };
        let out = common::run(&["migrate", "--database", &db.url], None);
        assert_success(&out, "migrate");
        assert!(stdout(&out).contains("is up to date"), "{}", stdout(&out));
        // Twice is fine.
        assert_success(&common::run(&["migrate", "--database", &db.url], None), "migrate again");
        assert_success(&db.verify_audit(), "verify-audit on an empty log");
        assert!(stdout(&db.verify_audit()).contains("intact: 0 entries"));
    }
}

/// `firebreak ARGS --help` exits 0 and mentions each of `needles`.
fn assert_help(args: &[&str], needles: &[&str]) {
    let mut all = args.to_vec();
    all.push("--help");
    let out = common::run(&all, None);
    assert_success(&out, &format!("firebreak {}", all.join(" ")));
    let text = stdout(&out);
    for needle in needles {
        assert!(text.contains(needle), "`firebreak {}` should mention {needle:?}:\n{text}", all.join(" "));
    }
}

#[test]
fn help_is_available_everywhere() {
    assert_help(&[], &["serve", "migrate", "admin", "incident", "Quick start", "firebreak admin create-user"]);
    assert_help(
        &["serve"],
        &[
            "--listen",
            "--database",
            "--config",
            "--secure-cookies",
            "--session-ttl-hours",
            "--log-format",
            "--log-level",
            "FIREBREAK_LISTEN",
            "FIREBREAK_DATABASE_URL",
            "FIREBREAK_CONFIG",
            "127.0.0.1:8080",
            "sqlite://firebreak-data/firebreak.db",
        ],
    );
    assert_help(&["migrate"], &["--database", "--config", "FIREBREAK_DATABASE_URL"]);
    assert_help(&["admin"], &["create-user", "create-token", "verify-audit"]);
    assert_help(
        &["admin", "create-user"],
        &["--email", "--name", "--role", "--password-stdin", "--database", "admin", "responder", "viewer"],
    );
    assert_help(&["admin", "create-token"], &["--email", "--name", "--database"]);
    assert_help(&["admin", "verify-audit"], &["--database", "--config"]);
    assert_help(&["incident"], &["declare", "list", "show", "ack", "contain", "resolve", "close", "reopen", "note"]);
    let client = ["--url", "--token", "--json", "FIREBREAK_URL", "FIREBREAK_TOKEN"];
    let with = |extra: &[&'static str]| client.iter().copied().chain(extra.iter().copied()).collect::<Vec<&str>>();
    assert_help(
        &["incident", "declare"],
        &with(&["--severity", "--type", "--summary", "--service", "--tag", "<TITLE>"]),
    );
    assert_help(&["incident", "list"], &with(&["--status", "--severity", "--type", "--limit"]));
    assert_help(&["incident", "note"], &with(&["<ID>", "<BODY>"]));
    for cmd in ["show", "ack", "contain", "resolve", "close", "reopen"] {
        assert_help(&["incident", cmd], &with(&["<ID>"]));
    }
    // The token is never echoed from the environment into help text.
    let mut cmd = common::firebreak();
    cmd.args(["incident", "list", "--help"]).env("FIREBREAK_TOKEN", "fbk_secret_in_env");
    let out = common::run_with(&mut cmd, None);
    assert!(!stdout(&out).contains("fbk_secret_in_env"), "{}", stdout(&out));

    let out = common::run(&["--version"], None);
    assert_success(&out, "--version");
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));

    let out = common::run(&["frobnicate"], None);
    assert_failure(&out, "an unknown subcommand");
}
