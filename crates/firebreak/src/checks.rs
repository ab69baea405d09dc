//! `firebreak check …`: the server's built-in HTTP(S) and TCP checks of a service, their
//! state and their recent results, through a running server's API.

use crate::client::{
    Api, ClientArgs, Hints, ServiceNames, clean_id, one_line, parse_duration, print_json, print_rows, printable, s,
    when,
};
use anyhow::bail;
use clap::builder::PossibleValuesParser;
use clap::{ArgGroup, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand)]
pub enum CheckCommand {
    /// List checks with their state: up, failing (failures in a row), down (an alert is open)
    /// or pending (not run yet).
    #[command(after_help = "Examples:\n  firebreak check list\n  firebreak check list --service checkout --json")]
    List {
        /// Only checks of this service (id or name)
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a check to a service: an HTTP(S) request (--http URL) or a TCP connection (--tcp) that
    /// the server makes every --interval. After --failures failures in a row an alert opens
    /// on the service; the first success resolves it.
    #[command(
        group(ArgGroup::new("target").required(true).args(["http", "tcp"])),
        after_help = "Durations are a number of seconds or a number with a unit: 500ms, 30s, 5m, 1h.\n\n\
                      Examples:\n  \
                      firebreak check add checkout --http https://checkout.example.com/health --keyword ok --cert-warn-days 30\n  \
                      firebreak check add checkout --http https://checkout.example.com/ --method HEAD --expect-status 204 --interval 30s --timeout 5s\n  \
                      firebreak check add db --tcp db-1.internal:5432 --name 'postgres port' --failures 5"
    )]
    Add {
        /// The service (id or name)
        service: String,
        /// Request this http:// or https:// URL (`--url` is the Firebreak server's own URL)
        #[arg(long, value_name = "URL")]
        http: Option<String>,
        /// Connect to HOST:PORT over TCP
        #[arg(long, value_name = "HOST:PORT")]
        tcp: Option<String>,
        /// A name for the check (default: the URL or address)
        #[arg(long)]
        name: Option<String>,
        /// HTTP method
        #[arg(long, conflicts_with = "tcp", ignore_case = true,
              value_parser = PossibleValuesParser::new(["GET", "HEAD", "POST", "PUT", "OPTIONS"]))]
        method: Option<String>,
        /// The HTTP status that counts as up (default 200)
        #[arg(long, value_name = "STATUS", conflicts_with = "tcp", value_parser = clap::value_parser!(u16).range(100..=599))]
        expect_status: Option<u16>,
        /// Text the response body must contain to count as up
        #[arg(long, conflicts_with = "tcp")]
        keyword: Option<String>,
        /// How long to wait for an answer, below the interval (default 10s, or half the
        /// interval when that is shorter)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// For https: warn (a separate alert) when the certificate expires within this many
        /// days; 0 turns it off (server default 14)
        #[arg(long, value_name = "DAYS", conflicts_with = "tcp", value_parser = clap::value_parser!(u32).range(0..=365))]
        cert_warn_days: Option<u32>,
        /// Time between runs, 10s to 1d (server default 60s)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        interval: Option<Duration>,
        /// Failures in a row before an alert opens, 1 to 100 (server default 3)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..=100))]
        failures: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a check's recent results, newest first.
    #[command(
        after_help = "Examples:\n  firebreak check history 'postgres port'\n  firebreak check history 0196…-uuid --limit 5"
    )]
    History {
        /// The check's id or its exact name (see `firebreak check list`)
        check: String,
        /// How many results to show (the server keeps the latest 100)
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
}

const HINTS: Hints = Hints {
    not_found: "see `firebreak service list` for services and `firebreak check list` for checks",
    invalid: "see `firebreak check add --help` for the accepted values",
    conflict: "see `firebreak check list`",
};

/// What a check probes, in one line.
fn target(c: &Value) -> String {
    let p = &c["probe"];
    match s(p, "kind") {
        "tcp" => format!("tcp {}", s(p, "address")),
        "http" => {
            let mut t =
                format!("{} {} → {}", s(p, "method"), s(p, "url"), p["expected_status"].as_u64().unwrap_or(200));
            if let Some(k) = p["keyword"].as_str() {
                t.push_str(&format!(" containing {k:?}"));
            }
            t
        }
        other => other.to_owned(),
    }
}

fn state(c: &Value) -> String {
    let failures = c["consecutive_failures"].as_i64().unwrap_or(0);
    if c["down"].as_bool() == Some(true) {
        "down".into()
    } else if failures > 0 {
        format!("failing ({failures}/{})", c["failure_threshold"].as_i64().unwrap_or(0))
    } else if c["last_checked_at"].is_string() {
        "up".into()
    } else {
        "pending".into()
    }
}

fn print_check(c: &Value, service: &str) {
    println!("check {}", printable(s(c, "name")));
    println!("  id:          {}", printable(s(c, "id")));
    println!("  service:     {}", printable(service));
    println!("  target:      {}", printable(&target(c)));
    if s(&c["probe"], "url").to_ascii_lowercase().starts_with("https://") {
        match c["probe"]["cert_warn_days"].as_u64() {
            Some(0) => println!("  certificate: no expiry warning"),
            Some(days) => println!("  certificate: warn {days} days before it expires"),
            None => {}
        }
    }
    println!("  every:       {} s", c["interval_secs"].as_i64().unwrap_or(0));
    println!("  timeout:     {} ms", c["timeout_ms"].as_i64().unwrap_or(0));
    println!("  alert after: {} failures in a row", c["failure_threshold"].as_i64().unwrap_or(0));
    println!("  state:       {}", state(c));
    println!("  next run:    {} UTC", when(c, "next_run_at"));
}

pub async fn run_check(cmd: CheckCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CheckCommand::List { service, client } => {
            let api = Api::new(&client)?;
            let mut path = "/checks".to_owned();
            if let Some(service) = &service {
                path.push_str(&format!("?service_id={}", clean_id(&api.service_id(service).await?)));
            }
            let value = api.request(Method::GET, &path, None, &HINTS).await?;
            let none = "no checks (add one with `firebreak check add`)";
            let Some(items) = api.table_items(&value, none)? else { return Ok(ExitCode::SUCCESS) };
            let names = ServiceNames::of_listing(&api.request(Method::GET, "/services", None, &HINTS).await?);
            let headers = ["NAME", "SERVICE", "TARGET", "EVERY", "STATE", "LAST CHECK", "LAST ERROR", "ID"];
            print_rows(&headers, &items, |c| {
                let last = if c["last_checked_at"].is_string() { when(c, "last_checked_at") } else { "never".into() };
                vec![
                    s(c, "name").into(),
                    names.of(s(c, "service_id")),
                    target(c),
                    format!("{}s", c["interval_secs"].as_i64().unwrap_or(0)),
                    state(c),
                    last,
                    one_line(s(c, "last_error"), 60),
                    s(c, "id").into(),
                ]
            });
        }
        CheckCommand::Add {
            service,
            http,
            tcp,
            name,
            method,
            expect_status,
            keyword,
            cert_warn_days,
            timeout,
            interval,
            failures,
            client,
        } => {
            let api = Api::new(&client)?;
            let probe = match (&http, &tcp) {
                (Some(url), _) => {
                    let mut probe = json!({
                        "kind": "http",
                        "url": url,
                        "method": method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase(),
                        "expected_status": expect_status.unwrap_or(200),
                        "keyword": keyword,
                    });
                    if let Some(days) = cert_warn_days {
                        probe["cert_warn_days"] = json!(days);
                    }
                    probe
                }
                (None, Some(address)) => json!({"kind": "tcp", "address": address}),
                (None, None) => bail!("give --http URL or --tcp HOST:PORT"),
            };
            let name = name.or(http).or(tcp).unwrap_or_default().chars().take(100).collect::<String>();
            let service_id = clean_id(&api.service_id(&service).await.map_err(|e| HINTS.apply(e))?);
            let body = json!({
                "name": name,
                "probe": probe,
                "interval_secs": interval.map(|d| d.as_secs()),
                "timeout_ms": timeout.or(interval.map(|i| (i / 2).min(Duration::from_secs(10)))).map(|d| d.as_millis() as u64),
                "failure_threshold": failures,
            });
            let path = format!("/services/{service_id}/checks");
            let created = api.request(Method::POST, &path, Some(body), &HINTS).await?;
            api.print(&created, |v| print_check(v, &service))?;
        }
        CheckCommand::History { check, limit, client } => {
            let api = Api::new(&client)?;
            // The history of an unknown id is simply empty, so find the check first.
            let all = api.request(Method::GET, "/checks", None, &HINTS).await?;
            let items = all["items"].as_array().cloned().unwrap_or_default();
            let by_id: Vec<&Value> = items.iter().filter(|c| s(c, "id") == check.trim()).collect();
            let found: Vec<&Value> =
                if by_id.is_empty() { items.iter().filter(|c| s(c, "name") == check).collect() } else { by_id };
            let definition = match found.as_slice() {
                [one] => *one,
                [] => bail!("no check with the id or name {:?}\nhint: see `firebreak check list`", printable(&check)),
                _ => bail!(
                    "several checks are named {:?}: give the id\nhint: see `firebreak check list`",
                    printable(&check)
                ),
            };
            let id = clean_id(s(definition, "id"));
            let value = api.request(Method::GET, &format!("/checks/{id}/history"), None, &HINTS).await?;
            if api.json {
                print_json(&value)?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "check {}  {}  {}",
                printable(s(definition, "name")),
                printable(&target(definition)),
                state(definition)
            );
            let results = value["items"].as_array().cloned().unwrap_or_default();
            if results.is_empty() {
                println!("no results yet (it runs every {} s)", definition["interval_secs"].as_i64().unwrap_or(0));
                return Ok(ExitCode::SUCCESS);
            }
            let latest = &results[..results.len().min(limit)];
            print_rows(&["AT (UTC)", "RESULT", "LATENCY", "DETAIL"], latest, |r| {
                vec![
                    when(r, "at"),
                    if r["ok"].as_bool() == Some(true) { "ok" } else { "FAIL" }.into(),
                    format!("{} ms", r["latency_ms"].as_i64().unwrap_or(0)),
                    one_line(s(r, "detail"), 100),
                ]
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
