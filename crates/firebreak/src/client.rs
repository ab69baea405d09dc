//! `firebreak incident …`: a client for a running server's API, with readable tables by
//! default and the API's JSON with `--json`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Server URL
    #[arg(long, env = "FIREBREAK_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// API token (create one with `firebreak admin create-token`)
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the API's JSON instead of a table
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Declare a new incident.
    Declare {
        /// One-line title, e.g. "Checkout returns 500s"
        title: String,
        /// critical, high, medium or low
        #[arg(long, short, default_value = "high")]
        severity: String,
        /// outage, degradation, security or other
        #[arg(long = "type", short = 't', default_value = "outage")]
        kind: String,
        #[arg(long)]
        summary: Option<String>,
        /// Affected service (repeatable)
        #[arg(long = "service")]
        services: Vec<String>,
        /// Tag (repeatable)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List incidents, newest first.
    List {
        /// Filter by status (comma-separated), e.g. triggered,acknowledged
        #[arg(long)]
        status: Option<String>,
        /// Filter by severity (comma-separated)
        #[arg(long)]
        severity: Option<String>,
        /// Filter by type (comma-separated)
        #[arg(long = "type")]
        kind: Option<String>,
        /// How many to show
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one incident and its timeline.
    Show {
        /// INC-42, 42 or the UUID
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Acknowledge an incident.
    Ack {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Mark an incident contained.
    Contain {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resolve an incident.
    Resolve {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Close a resolved incident.
    Close {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Reopen a resolved incident.
    Reopen {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a note to the timeline.
    Note {
        id: String,
        /// The note (Markdown)
        body: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    json: bool,
}

impl Api {
    fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let Some(token) = args.token.clone().filter(|t| !t.is_empty()) else {
            bail!(
                "no API token: pass --token or set FIREBREAK_TOKEN (an admin creates one with `firebreak admin create-token --email you@example.com`)"
            );
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("firebreak-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Api { http, base: args.url.trim_end_matches('/').to_owned(), token, json: args.json })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("cannot reach Firebreak at {}: is the server running? (set --url)", self.base))?;
        let status = res.status();
        let text = res.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let message = value["error"]["message"].as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
            bail!("{message} (HTTP {})", status.as_u16());
        }
        Ok(value)
    }
}

fn id_path(id: &str) -> String {
    let id: String = id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("/incidents/{id}")
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn print_table(rows: &[Vec<String>]) {
    let Some(first) = rows.first() else { return };
    let widths: Vec<usize> =
        (0..first.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let line: Vec<String> = row.iter().enumerate().map(|(i, cell)| format!("{cell:<w$}", w = widths[i])).collect();
        println!("{}", line.join("  ").trim_end());
    }
}

fn print_incident(v: &Value) {
    println!("{}  {}", s(v, "label"), s(v, "title"));
    println!("  status:    {}", s(v, "status"));
    println!("  severity:  {}", s(v, "severity"));
    println!("  type:      {}", s(v, "type"));
    if !s(v, "summary").is_empty() {
        println!("  summary:   {}", s(v, "summary"));
    }
    let list = |k: &str| {
        v[k].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
    };
    if !list("services").is_empty() {
        println!("  services:  {}", list("services"));
    }
    if !list("tags").is_empty() {
        println!("  tags:      {}", list("tags"));
    }
    for role in ["commander", "communications", "scribe"] {
        if let Some(name) = v["roles"][role]["name"].as_str() {
            println!("  {role:<10} {name}");
        }
    }
    println!("  detected:  {}", s(v, "detected_at"));
    for (k, label) in [
        ("acknowledged_at", "acked"),
        ("contained_at", "contained"),
        ("resolved_at", "resolved"),
        ("closed_at", "closed"),
    ] {
        if let Some(t) = v[k].as_str() {
            println!("  {label:<10} {t}");
        }
    }
}

fn describe(e: &Value) -> String {
    let from_to =
        |what: &str| format!("{what} {} → {}", e["from"].as_str().unwrap_or("-"), e["to"].as_str().unwrap_or("-"));
    match s(e, "kind") {
        "created" => format!("declared \"{}\" ({}, {})", s(e, "title"), s(e, "severity"), s(e, "type")),
        "status_changed" => from_to("status"),
        "severity_changed" => from_to("severity"),
        "type_changed" => from_to("type"),
        "title_changed" => format!("title → \"{}\"", s(e, "to")),
        "summary_changed" => "summary updated".into(),
        "services_changed" => "affected services updated".into(),
        "tags_changed" => "tags updated".into(),
        "role_assigned" => format!("{} role {}", s(e, "role"), if e["to"].is_null() { "cleared" } else { "assigned" }),
        "note_added" => format!("note: {}", s(e, "body")),
        "alert" => format!("alert {}: {}", s(e, "change"), s(e, "summary")),
        other => other.to_owned(),
    }
}

pub async fn run(cmd: IncidentCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let (client, result) = match cmd {
        IncidentCommand::Declare { title, severity, kind, summary, services, tags, client } => {
            let api = Api::new(&client)?;
            let body = json!({"title": title, "severity": severity, "type": kind, "summary": summary, "services": services, "tags": tags});
            (client, api.call(Method::POST, "/incidents", Some(body)).await?)
        }
        IncidentCommand::List { status, severity, kind, limit, client } => {
            let api = Api::new(&client)?;
            let mut q = vec![format!("limit={limit}")];
            for (k, v) in [("status", status), ("severity", severity), ("type", kind)] {
                if let Some(v) = v {
                    let v: String = v.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ',' || *c == '_').collect();
                    q.push(format!("{k}={v}"));
                }
            }
            let value = api.call(Method::GET, &format!("/incidents?{}", q.join("&")), None).await?;
            if !api.json {
                let mut rows = vec![vec![
                    "ID".into(),
                    "STATUS".into(),
                    "SEVERITY".into(),
                    "TYPE".into(),
                    "DETECTED".into(),
                    "TITLE".into(),
                ]];
                for i in value["items"].as_array().into_iter().flatten() {
                    let detected = s(i, "detected_at").get(..16).unwrap_or("").replace('T', " ");
                    rows.push(vec![
                        s(i, "label").into(),
                        s(i, "status").into(),
                        s(i, "severity").into(),
                        s(i, "type").into(),
                        detected,
                        s(i, "title").into(),
                    ]);
                }
                if rows.len() == 1 {
                    println!("no incidents");
                } else {
                    print_table(&rows);
                }
                return Ok(ExitCode::SUCCESS);
            }
            (client, value)
        }
        IncidentCommand::Show { id, client } => {
            let api = Api::new(&client)?;
            let incident = api.call(Method::GET, &id_path(&id), None).await?;
            let timeline = api.call(Method::GET, &format!("{}/timeline", id_path(&id)), None).await?;
            if api.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"incident": incident, "timeline": timeline["items"]}))?
                );
            } else {
                print_incident(&incident);
                println!("\ntimeline:");
                for e in timeline["items"].as_array().into_iter().flatten() {
                    let at = s(e, "at").get(..19).unwrap_or("").replace('T', " ");
                    println!("  {at}  {:<16} {}", e["actor"]["name"].as_str().unwrap_or(""), describe(e));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        IncidentCommand::Ack { id, client } => act(client, &id, "acknowledge").await?,
        IncidentCommand::Contain { id, client } => act(client, &id, "contain").await?,
        IncidentCommand::Resolve { id, client } => act(client, &id, "resolve").await?,
        IncidentCommand::Close { id, client } => act(client, &id, "close").await?,
        IncidentCommand::Reopen { id, client } => act(client, &id, "reopen").await?,
        IncidentCommand::Note { id, body, client } => {
            let api = Api::new(&client)?;
            (client, api.call(Method::POST, &format!("{}/notes", id_path(&id)), Some(json!({"body": body}))).await?)
        }
    };
    if client.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_incident(&result);
    }
    Ok(ExitCode::SUCCESS)
}

async fn act(client: ClientArgs, id: &str, action: &str) -> anyhow::Result<(ClientArgs, Value)> {
    let api = Api::new(&client)?;
    let v = api.call(reqwest::Method::POST, &format!("{}/{action}", id_path(id)), None).await?;
    Ok((client, v))
}
