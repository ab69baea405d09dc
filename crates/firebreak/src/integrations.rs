//! `firebreak service heartbeat …` and `firebreak service mapping …`: the settings of one
//! integration (a heartbeat's interval and grace; a generic webhook's payload mapping),
//! through a running server's API. Integration keys are never read or printed here.

use crate::client::{Api, ClientArgs, Hints, clean_id, parse_duration, print_json, printable, s, when};
use anyhow::Context;
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `firebreak service heartbeat`.
#[derive(Args)]
pub struct HeartbeatArgs {
    /// The heartbeat integration's id (see `firebreak service show SERVICE`)
    integration: String,
    /// Expected time between beats, 10s to 30d (e.g. 300, 5m, 1h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    interval: Option<Duration>,
    /// Extra time before a late beat counts as missed, 0 to 1d (e.g. 60, 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    grace: Option<Duration>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `firebreak service mapping`.
#[derive(Args)]
pub struct MappingArgs {
    /// The generic webhook integration's id (see `firebreak service show SERVICE`)
    integration: String,
    /// Replace the mapping with this JSON file (`-` reads stdin)
    #[arg(long, value_name = "FILE")]
    set: Option<PathBuf>,
    /// Map this sample payload (a JSON file, `-` reads stdin) and print the event it gives
    #[arg(long, value_name = "SAMPLE.json")]
    test: Option<PathBuf>,
    #[command(flatten)]
    client: ClientArgs,
}

const HEARTBEAT_HINTS: Hints = Hints {
    not_found: "is it a heartbeat integration? `firebreak service show SERVICE` lists integration ids and types",
    invalid: "--interval is 10s to 30d and --grace 0 to 1d",
    conflict: "see `firebreak service show SERVICE`",
};

const MAPPING_HINTS: Hints = Hints {
    not_found: "`firebreak service show SERVICE` lists integration ids and types",
    invalid: "fix the mapping (--set FILE) or the sample: every field is a JSON pointer (/alert/title) or a template ({{ title }}); see docs/alerts.md",
    conflict: "only generic webhook integrations have a mapping; `firebreak service show SERVICE` shows each integration's type",
};

fn print_heartbeat(v: &Value) {
    println!("heartbeat {}", printable(s(v, "integration_id")));
    println!("  interval:   {} s", v["interval_seconds"].as_i64().unwrap_or(0));
    println!("  grace:      {} s", v["grace_seconds"].as_i64().unwrap_or(0));
    let last = if v["last_beat_at"].is_string() { format!("{} UTC", when(v, "last_beat_at")) } else { "never".into() };
    println!("  last beat:  {last}");
    println!("  due by:     {} UTC", when(v, "due_at"));
    println!("  state:      {}", if v["missed"].as_bool() == Some(true) { "missed (alert open)" } else { "ok" });
}

pub async fn heartbeat(args: HeartbeatArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let path = format!("/integrations/{}/heartbeat", clean_id(&args.integration));
    let mut value = api.request(Method::GET, &path, None, &HEARTBEAT_HINTS).await?;
    if args.interval.is_some() || args.grace.is_some() {
        // A flag left out keeps its current value.
        let interval =
            args.interval.map(|d| d.as_secs() as i64).unwrap_or(value["interval_seconds"].as_i64().unwrap_or(0));
        let grace = args.grace.map(|d| d.as_secs() as i64).unwrap_or(value["grace_seconds"].as_i64().unwrap_or(0));
        let body = json!({"interval_seconds": interval, "grace_seconds": grace});
        value = api.request(Method::PUT, &path, Some(body), &HEARTBEAT_HINTS).await?;
    }
    api.print(&value, print_heartbeat)?;
    Ok(ExitCode::SUCCESS)
}

/// A JSON document from `path`, or from stdin for `-`.
fn read_json(path: &Path, what: &str) -> anyhow::Result<Value> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("the {what} {} is not valid JSON", path.display()))
}

const MAPPING_FIELDS: [&str; 6] = ["summary", "dedup_key", "severity", "action", "source", "details"];

fn print_mapping(m: &Value) {
    for field in MAPPING_FIELDS {
        let expr = s(m, field);
        let shown = if expr.is_empty() {
            match field {
                "details" => "(the whole payload)".to_owned(),
                _ => "(empty)".to_owned(),
            }
        } else {
            printable(expr)
        };
        println!("{:<11} {shown}", format!("{field}:"));
    }
}

fn print_event(e: &Value) {
    println!("mapped event:");
    println!("  action:     {}", printable(s(e, "action")));
    println!("  summary:    {}", printable(s(e, "summary")));
    println!("  source:     {}", printable(s(e, "source")));
    println!("  severity:   {}", printable(s(e, "severity")));
    let key = e["dedup_key"].as_str().map(printable).unwrap_or_else(|| "(none: a new alert each time)".into());
    println!("  dedup key:  {key}");
    println!("  details:");
    let pretty = serde_json::to_string_pretty(&e["details"]).unwrap_or_default();
    for line in pretty.lines() {
        println!("    {}", printable(line));
    }
}

pub async fn mapping(args: MappingArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let path = format!("/integrations/{}/mapping", clean_id(&args.integration));
    let new_mapping = args.set.as_deref().map(|p| read_json(p, "mapping file")).transpose()?;
    let sample = args.test.as_deref().map(|p| read_json(p, "sample")).transpose()?;
    if new_mapping.is_none() && sample.is_none() {
        api.print(&api.request(Method::GET, &path, None, &MAPPING_HINTS).await?, print_mapping)?;
        return Ok(ExitCode::SUCCESS);
    }
    // With both, the new mapping is tried on the sample first and saved only if it maps it.
    let event = match &sample {
        Some(sample) => {
            let body = json!({"sample": sample, "mapping": new_mapping});
            let event = api.call(Method::POST, &format!("{path}/test"), Some(body)).await.map_err(|e| {
                let e = MAPPING_HINTS.apply(e);
                if new_mapping.is_some() { anyhow::anyhow!("{e}\nThe new mapping was not saved.") } else { e }
            })?;
            Some(event)
        }
        None => None,
    };
    let saved = match &new_mapping {
        Some(m) => Some(api.request(Method::PUT, &path, Some(m.clone()), &MAPPING_HINTS).await?),
        None => None,
    };
    if api.json {
        match (&saved, &event) {
            (Some(m), Some(e)) => print_json(&json!({"mapping": m, "event": e}))?,
            (Some(m), None) => print_json(m)?,
            (None, Some(e)) => print_json(e)?,
            (None, None) => {}
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(e) = &event {
        print_event(e);
    }
    if let Some(m) = &saved {
        if event.is_some() {
            println!();
        }
        println!("mapping saved:");
        print_mapping(m);
    }
    Ok(ExitCode::SUCCESS)
}
