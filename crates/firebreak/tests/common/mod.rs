//! Harness for tests of the real `firebreak` binary: a fresh database (a temporary SQLite
//! file, or a fresh PostgreSQL schema when `FIREBREAK_TEST_POSTGRES_URL` is set), the admin
//! commands run as child processes, and `firebreak serve` spawned on a free port (port 0; the
//! address is read from its "ready on http://ADDR" log line, then `/readyz` is polled).

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to start or stop (debug build, PostgreSQL migrations).
pub const DEADLINE: Duration = Duration::from_secs(60);

pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of the test's own.
pub struct Database {
    pub backend: Backend,
    pub url: String,
    pub dir: Option<tempfile::TempDir>,
}

impl Database {
    /// A new empty database, or `None` (after saying so) for PostgreSQL without a test server.
    pub async fn fresh(backend: Backend) -> Option<Database> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
                let url = format!("sqlite://{}/firebreak.db", dir.path().display());
                Some(Database { backend, url, dir: Some(dir) })
            }
            Backend::Postgres => {
                let url = firebreak_store_postgres::testing::fresh_schema_url().await?;
                Some(Database { backend, url, dir: None })
            }
        }
    }

    /// Runs `firebreak admin ARGS --database URL`, feeding `stdin` when given.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut all: Vec<&str> = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database", &self.url]);
        run(&all, stdin)
    }

    /// Creates an admin with `--password-stdin` and returns a fresh API token for them.
    pub fn bootstrap_admin(&self) -> String {
        let out = self.admin(
            &[
                "create-user",
                "--create",
                "--email",
                ADMIN_EMAIL,
                "--name",
                "Ada Admin",
                "--role",
                "admin",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
        assert_success(&out, "admin create-user");
        assert!(
            stdout(&out).trim().is_empty(),
            "no generated password is printed with --password-stdin: {}",
            stdout(&out)
        );
        self.token_for(ADMIN_EMAIL)
    }

    /// `firebreak admin create-token` for `email`: its stdout is exactly the token.
    pub fn token_for(&self, email: &str) -> String {
        let out = self.admin(&["create-token", "--email", email], None);
        assert_success(&out, "admin create-token");
        let token = stdout(&out).trim().to_owned();
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "create-token prints only the token: {token:?}"
        );
        token
    }

    /// Runs `firebreak admin verify-audit` on this database.
    pub fn verify_audit(&self) -> Output {
        self.admin(&["verify-audit"], None)
    }
}

/// A `firebreak` command with no `FIREBREAK_*` variables inherited from the test's
/// environment (so only what the test passes counts) and no colours in its logs.
pub fn firebreak() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firebreak"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FIREBREAK_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// Runs `firebreak ARGS` to completion, feeding `stdin` when given.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    run_with(firebreak().args(args), stdin)
}

/// Runs `cmd` to completion; a command still running after [`DEADLINE`] (a `serve` that
/// should have refused to start, say) is killed and fails the test.
pub fn run_with(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn firebreak: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap_or_else(|| panic!("stdin is piped"));
        pipe.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("write stdin: {e}"));
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.unwrap_or_else(|e| panic!("wait firebreak: {e}")),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            let out = rx.recv().ok().and_then(Result::ok);
            let (o, e) = out.map(|o| (stdout(&o), stderr(&o))).unwrap_or_default();
            panic!("{cmd:?} still running after {DEADLINE:?}; killed.\nstdout: {o}\nstderr: {e}")
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_success(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed ({}):\nstdout: {}\nstderr: {}", out.status, stdout(out), stderr(out));
}

pub fn assert_failure(out: &Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what} should have failed but exited 0:\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// Removes ANSI escape sequences (in case a log line is coloured after all).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A running `firebreak serve`.
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `firebreak serve --listen 127.0.0.1:0 --database URL`, ready to take requests.
    pub async fn start(database_url: &str) -> Server {
        let mut cmd = firebreak();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", database_url]);
        Server::spawn(cmd).await
    }

    /// Spawns `cmd` (a `serve` command), waits for its ready line and for `/readyz` to
    /// answer 200. Panics with the server's log when it exits or takes too long.
    pub async fn spawn(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn firebreak serve: {e}"));
        let pid = child.id();
        let pipe = child.stderr.take().unwrap_or_else(|| panic!("stderr is piped"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let line = strip_ansi(&line);
                if let Ok(mut l) = sink.lock() {
                    l.push(line.clone());
                }
                let _ = lines_tx.send(line);
            }
        });
        let mut server = Server { child: Some(child), pid, url: String::new(), logs };
        let deadline = Instant::now() + DEADLINE;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("ready on http://").nth(1) {
                        // Text or JSON logs: the address ends at a space or a quote.
                        break rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
                            .collect::<String>();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("server not ready within {DEADLINE:?}; log:\n{}", server.logs())
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.as_mut().and_then(|c| c.wait().ok());
                    panic!("server exited before it was ready ({status:?}); log:\n{}", server.logs())
                }
            }
        };
        server.url = format!("http://{addr}");
        let http = reqwest::Client::new();
        loop {
            match http.get(format!("{}/readyz", server.url)).send().await {
                Ok(r) if r.status() == 200 => break,
                _ if Instant::now() > deadline => {
                    panic!("/readyz did not answer 200 within {DEADLINE:?}; log:\n{}", server.logs())
                }
                _ => tokio::task::yield_now().await,
            }
        }
        server
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its status.
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        assert!(matches!(sent, Ok(s) if s.success()), "kill -TERM {}: {sent:?}", self.pid);
        let child = self.child.take().unwrap_or_else(|| panic!("server already stopped"));
        let logs = self.logs.clone();
        let status = wait_bounded(child, DEADLINE);
        status.unwrap_or_else(|| {
            panic!(
                "server did not exit within {DEADLINE:?} of SIGTERM; log:\n{}",
                logs.lock().map(|l| l.join("\n")).unwrap_or_default()
            )
        })
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill9(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}"));
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `child` to exit for at most `limit`; on timeout kills it and returns `None`.
fn wait_bounded(mut child: Child, limit: Duration) -> Option<ExitStatus> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait().ok());
    });
    match rx.recv_timeout(limit) {
        Ok(status) => status,
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            None
        }
    }
}

/// A JSON API client with a bearer token.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &Server, token: &str) -> Api {
        Api { http: reqwest::Client::new(), base: server.url.clone(), token: token.to_owned() }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("request {path}: {e}"));
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Declares an incident and returns it (asserting 201).
    pub async fn declare(&self, title: &str, severity: &str) -> Value {
        let (status, body) =
            self.post("/incidents", serde_json::json!({"title": title, "severity": severity, "type": "outage"})).await;
        assert_eq!(status, 201, "declare {title}: {body}");
        body
    }
}

/// The client commands of one user: `firebreak …` with the server URL and token in the
/// environment.
pub struct Cli {
    pub url: String,
    pub token: String,
}

impl Cli {
    /// `firebreak ARGS` with the URL and token in the environment.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = firebreak();
        cmd.args(args).env("FIREBREAK_URL", &self.url).env("FIREBREAK_TOKEN", &self.token);
        run_with(&mut cmd, None)
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, &format!("firebreak {}", args.join(" ")));
        stdout(&out)
    }

    /// Runs a command with `--json` that must succeed; returns its output parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("--json output of {args:?} is not JSON ({e}):\n{text}"))
    }

    /// Runs a command that must fail with exit code `code`; returns its stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_failure(&out, &format!("firebreak {}", args.join(" ")));
        assert_eq!(out.status.code(), Some(code), "exit code of {args:?}; stderr: {}", stderr(&out));
        stderr(&out)
    }

    /// Runs a command that must fail (any exit code); returns its stderr.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_failure(&out, &format!("firebreak {}", args.join(" ")));
        stderr(&out)
    }
}

/// The value after `label` at the start of a line of `text`.
pub fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
}
