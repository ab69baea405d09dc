//! `firebreak incident|service|alert …`: a client for a running server's API, with readable
//! tables by default and the API's JSON with `--json`.

use anyhow::{Context, bail};
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Server URL
    #[arg(long, env = "FIREBREAK_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub(crate) url: String,
    /// API token (create one with `firebreak admin create-token`)
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true, global = true)]
    pub(crate) token: Option<String>,
    /// Print the API's JSON instead of a table
    #[arg(long, global = true)]
    pub(crate) json: bool,
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
    #[command(after_help = "Examples:\n  firebreak incident show INC-42\n  \
                            firebreak incident show 42 --kind note_added,evidence_added,update_sent")]
    Show {
        /// INC-42, 42 or the UUID
        id: String,
        /// Only timeline entries of these kinds (comma-separated), e.g. note_added,evidence_added,
        /// update_sent,alert,paged; the server lists the kinds when one is unknown
        #[arg(long, value_name = "KINDS")]
        kind: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Acknowledge an incident.
    Ack(IncidentArg),
    /// Mark an incident contained.
    Contain(IncidentArg),
    /// Resolve an incident.
    Resolve(IncidentArg),
    /// Close a resolved incident.
    Close(IncidentArg),
    /// Reopen a resolved incident.
    Reopen(IncidentArg),
    /// Merge a duplicate incident into the one that goes on.
    ///
    /// The merged incident is resolved and marked merged (its paging stops, it cannot be
    /// reopened); its alerts move to the other and its timeline is copied there, each entry
    /// marked with the number it came from. Both incidents record the merge.
    #[command(after_help = "Example:\n  firebreak incident merge INC-43 --into INC-42")]
    Merge {
        /// The duplicate: INC-43, 43 or the UUID
        id: String,
        /// The incident that goes on
        #[arg(long)]
        into: String,
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
    /// Show the incident's playbook checklist: each step, its state, owner role and due time.
    Checklist(crate::procedures::ChecklistArgs),
    /// Check off a checklist item (or skip it, or open it again).
    Check(crate::procedures::CheckArgs),
    /// Attach a playbook by hand; its steps become the incident's checklist.
    Playbook(crate::procedures::PlaybookArgs),
    /// Run a checklist step that does something (an action's HTTP request, or telling a
    /// notify step's contact list) — only with --confirm.
    Run(crate::procedures::RunArgs),
    /// Give a response role to someone (handing it over from its holder), or clear it.
    Role(crate::procedures::RoleArgs),
    /// Page the next level of the incident's escalation policy now, without waiting.
    Escalate(crate::policies::IncidentRef),
    /// Page someone for the incident now, outside its escalation policy.
    Reassign(crate::policies::ReassignArgs),
    /// Show the incident's escalation (policy, state, last and next step) and the
    /// notifications sent for it.
    Paging(crate::policies::IncidentRef),
    /// Preview or send a stakeholder update written from a template of the procedures.
    ///
    /// With --preview the subject, recipients and body are shown and nothing is sent or
    /// recorded. Otherwise the update goes on the timeline and is emailed to the contact lists
    /// (the template's own, or those given with --to); a customer-facing template's update is
    /// recorded as a draft for you to publish by hand, not sent.
    Update(crate::updates::UpdateArgs),
    /// List the update templates and contact lists, the update cadence (when the next update
    /// is due, and whether it is late), and the updates sent so far.
    Updates(crate::updates::UpdatesArgs),
    /// Restrict an incident to its participants and admins, or take the mark away with --off.
    ///
    /// Nobody else sees a restricted incident: not in lists, pages or feeds. Incidents of a
    /// restricted type (security, by default) stay restricted whatever the mark says.
    #[command(after_help = "Examples:\n  firebreak incident restrict INC-42\n  \
                            firebreak incident restrict INC-42 --off\n  \
                            firebreak incident participants INC-42 --add alice@example.com   # let Alice see it")]
    Restrict {
        /// INC-42, 42 or the UUID
        id: String,
        /// Take the restricted mark away
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List the people taking part in an incident, or add one with --add.
    ///
    /// Participants are who acted on it, holds a role in it, was paged for it or was added;
    /// they (and admins) see it when it is restricted.
    #[command(after_help = "Examples:\n  firebreak incident participants INC-42\n  \
                            firebreak incident participants INC-42 --add alice@example.com")]
    Participants {
        /// INC-42, 42 or the UUID
        id: String,
        /// Add this person (email address or user id)
        #[arg(long, value_name = "EMAIL")]
        add: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Link evidence to an incident: a dashboard, a log search, a capture, a ticket. It shows
    /// on the timeline.
    #[command(after_help = "Examples:\n  \
                            firebreak incident evidence INC-42 https://grafana.example.com/d/abc --title 'Error rate at 14:02'")]
    Evidence {
        /// INC-42, 42 or the UUID
        id: String,
        /// An absolute http(s) address
        #[arg(value_name = "URL")]
        link: String,
        /// What it shows (one line)
        #[arg(long, short = 't')]
        title: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show the recent changes (deploys, config changes) of the services an incident affects,
    /// from some time before it was detected until it resolved (or now), newest first.
    #[command(after_help = "Examples:\n  firebreak incident changes INC-42\n  \
                            firebreak incident changes INC-42 --before-minutes 180")]
    Changes {
        /// INC-42, 42 or the UUID
        id: String,
        /// How far before detection to look, in minutes (1 to 10080; the server's default is
        /// 1440, a day)
        #[arg(long, value_name = "MINUTES")]
        before_minutes: Option<u32>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List the alerts linked to an incident.
    #[command(after_help = "Examples:\n  firebreak incident alerts INC-42\n  firebreak incident alerts 42 --json")]
    Alerts {
        /// INC-42, 42 or the UUID
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// An incident named on the command line, for the commands that change only its status.
#[derive(Args)]
pub struct IncidentArg {
    id: String,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    pub(crate) json: bool,
}

/// An error answer from the API: its status and the message of its error envelope.
#[derive(Debug)]
pub(crate) struct ApiFailure {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {})", self.message, self.status)
    }
}

impl std::error::Error for ApiFailure {}

/// What to do next when a command's request fails, by kind of failure.
pub(crate) struct Hints {
    /// For 404: where to find valid ids.
    pub(crate) not_found: &'static str,
    /// For 400 and 422: where the accepted values are explained.
    pub(crate) invalid: &'static str,
    /// For 409.
    pub(crate) conflict: &'static str,
}

impl Hints {
    /// `e` with a line saying what to do, when it is an error answer from the API.
    pub(crate) fn apply(&self, e: anyhow::Error) -> anyhow::Error {
        let Some(failure) = e.downcast_ref::<ApiFailure>() else { return e };
        let hint = match failure.status {
            400 | 422 => self.invalid,
            401 => {
                "the token was refused: check --token or FIREBREAK_TOKEN (an admin creates one with `firebreak admin create-token`)"
            }
            403 => "your account may only read: ask an admin for the responder or admin role",
            404 => self.not_found,
            409 => self.conflict,
            429 => "the server is busy: try again in a moment",
            500.. => "the server failed: try again, and look at the server's log",
            _ => return e,
        };
        anyhow::anyhow!("{failure}\nhint: {hint}")
    }
}

impl Api {
    pub(crate) fn new(args: &ClientArgs) -> anyhow::Result<Self> {
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

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
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
            return Err(ApiFailure { status: status.as_u16(), message }.into());
        }
        Ok(value)
    }

    /// [`Api::call`], with a line saying what to do next when the API answers with an error.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        hints: &Hints,
    ) -> anyhow::Result<Value> {
        self.call(method, path, body).await.map_err(|e| hints.apply(e))
    }

    /// Prints an answer: its JSON with `--json`, else as `readable` shows it.
    pub(crate) fn print(&self, v: &Value, readable: impl FnOnce(&Value)) -> anyhow::Result<()> {
        if self.json {
            return print_json(v);
        }
        readable(v);
        Ok(())
    }

    /// The items of a listing to show as a table, or `None` when nothing is left to show:
    /// `--json` printed the listing, or it has no items and `none` was printed.
    pub(crate) fn table_items(&self, listing: &Value, none: &str) -> anyhow::Result<Option<Vec<Value>>> {
        if self.json {
            print_json(listing)?;
            return Ok(None);
        }
        let items = listing["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            println!("{none}");
            return Ok(None);
        }
        Ok(Some(items))
    }

    /// What a delete command prints: `{"id": …, "deleted": true}` with `--json`, else
    /// `deleted WHAT`.
    pub(crate) fn print_deleted(&self, id: &str, what: &str) -> anyhow::Result<()> {
        if self.json {
            return print_json(&json!({"id": id, "deleted": true}));
        }
        println!("deleted {what}");
        Ok(())
    }

    /// An item of the collection at `path` given by id or by exact name (names are unique
    /// there), as the API shows it; `what` names its kind in the error.
    pub(crate) async fn find_named(&self, path: &str, given: &str, what: &str, hints: &Hints) -> anyhow::Result<Value> {
        use reqwest::Method;
        if uuid::Uuid::parse_str(given.trim()).is_ok() {
            return self.request(Method::GET, &format!("{path}/{}", clean_id(given.trim())), None, hints).await;
        }
        let all = self.request(Method::GET, path, None, hints).await?;
        match all["items"].as_array().into_iter().flatten().find(|v| s(v, "name") == given) {
            Some(found) => Ok(found.clone()),
            None => bail!("no {what} with the id or name {:?}\nhint: {}", printable(given), hints.not_found),
        }
    }
}

/// An incident as the user named it, in the `INC-42` form when they gave only its number.
fn incident_label(id: &str) -> String {
    let id = id.trim();
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) { format!("INC-{id}") } else { printable(id) }
}

/// The API path of an incident given as `INC-42`, `42` or its id.
pub(crate) fn incident_path(id: &str) -> String {
    format!("/incidents/{}", clean_id(id))
}

pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// `text` with control characters (terminal escape sequences, say) made visible and harmless.
pub(crate) fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Text of several lines, each made printable, the lines after the first indented by `indent`.
pub(crate) fn printable_lines(text: &str, indent: &str) -> String {
    text.lines().map(printable).collect::<Vec<_>>().join(&format!("\n{indent}"))
}

/// A string field, safe to print.
pub(crate) fn shown(v: &Value, key: &str) -> String {
    printable(s(v, key))
}

/// A table: `headers`, then a row for each item.
pub(crate) fn print_rows<T>(headers: &[impl AsRef<str>], items: &[T], row: impl Fn(&T) -> Vec<String>) {
    let mut rows = vec![headers.iter().map(|h| h.as_ref().to_owned()).collect::<Vec<_>>()];
    rows.extend(items.iter().map(row));
    print_table(&rows);
}

pub(crate) fn print_table(rows: &[Vec<String>]) {
    let Some(first) = rows.first() else { return };
    let widths: Vec<usize> =
        (0..first.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let line: Vec<String> =
            row.iter().enumerate().map(|(i, cell)| format!("{:<w$}", printable(cell), w = widths[i])).collect();
        println!("{}", line.join("  ").trim_end());
    }
}

fn print_incident(v: &Value) {
    println!("{}  {}", shown(v, "label"), shown(v, "title"));
    println!("  status:    {}", s(v, "status"));
    println!("  severity:  {}", s(v, "severity"));
    println!("  type:      {}", s(v, "type"));
    if !s(v, "summary").is_empty() {
        println!("  summary:   {}", printable_lines(s(v, "summary"), "             "));
    }
    let list = |k: &str| {
        v[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(printable).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    if !list("services").is_empty() {
        println!("  services:  {}", list("services"));
    }
    if !list("tags").is_empty() {
        println!("  tags:      {}", list("tags"));
    }
    for role in ["commander", "communications", "scribe", "operations_lead"] {
        if let Some(name) = v["roles"][role]["name"].as_str() {
            println!("  {:<14} {}", role.replace('_', " "), printable(name));
        }
    }
    if let Some(other) = v["roles"]["other"].as_object() {
        for (role, holder) in other {
            println!("  {:<14} {}", printable(&role.replace(['_', '-'], " ")), shown(holder, "name"));
        }
    }
    if v["restricted"].as_bool() == Some(true) {
        println!("  restricted:    only its participants and admins see it");
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
        "role_assigned" => {
            let how = match (e["from"].is_null(), e["to"].is_null()) {
                (_, true) => "cleared",
                (false, false) => "handed over",
                (true, false) => "assigned",
            };
            format!("{} role {how}", s(e, "role").replace('_', " "))
        }
        "triaged" => {
            let playbook = match s(e, "playbook") {
                "" => String::new(),
                p => format!("; playbook {p}"),
            };
            let answers = e["steps"].as_array().map(Vec::len).unwrap_or(0);
            format!(
                "triaged with the {} tree in {answers} answers: {} ({}, {}){playbook}",
                s(e, "tree"),
                s(e, "outcome"),
                s(e, "severity"),
                s(e, "type")
            )
        }
        "playbook_attached" => format!("playbook \"{}\" attached ({} steps)", s(e, "title"), e["steps"]),
        "checklist_item_changed" => format!("checklist: \"{}\" {}", s(e, "title"), s(e, "state")),
        "checklist_item_late" => format!("checklist: \"{}\" is late", s(e, "title")),
        "action_run" => format!("ran \"{}\": {} {} → {}", s(e, "title"), s(e, "method"), s(e, "url"), e["status"]),
        "paged" => format!("paged level {}", e["level"]),
        "escalation_policy_chosen" => format!("escalation policy \"{}\" pages ({})", s(e, "policy"), s(e, "reason")),
        "note_added" => format!("note: {}", s(e, "body")),
        "evidence_added" => match s(e, "title") {
            "" => format!("evidence: {}", s(e, "url")),
            title => format!("evidence: {title} <{}>", s(e, "url")),
        },
        "update_sent" => match e["to"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>()) {
            Some(to) if !to.is_empty() => {
                format!("{} update sent to {}: {}", s(e, "audience"), to.join(", "), s(e, "subject"))
            }
            _ => format!("{} update recorded as a draft: {}", s(e, "audience"), s(e, "subject")),
        },
        "update_late" if e["escalated"].as_bool() == Some(true) => "stakeholder update late: escalated".into(),
        "update_late" => "stakeholder update late: the communications lead was reminded".into(),
        "restriction_changed" if e["restricted"].as_bool() == Some(true) => "marked restricted".into(),
        "restriction_changed" => "restricted mark taken away".into(),
        "participant_added" => "participant added".into(),
        "stakeholders_notified" => format!("told {} ({})", s(e, "group"), s(e, "reason")),
        "stakeholder_message_failed" => format!("email to {} failed: {}", s(e, "address"), s(e, "reason")),
        "alert" => match e["events"].as_i64() {
            Some(n) if n > 1 => format!("alert {} {n} times: {}", s(e, "change"), s(e, "summary")),
            _ => format!("alert {}: {}", s(e, "change"), s(e, "summary")),
        },
        "alert_attached" => match e["moved_from"].as_i64() {
            Some(n) => format!("alert moved here from INC-{n}: {}", s(e, "summary")),
            None => format!("alert attached: {}", s(e, "summary")),
        },
        "alert_detached" => match e["moved_to"].as_i64() {
            Some(n) => format!("alert moved to INC-{n}: {}", s(e, "summary")),
            None => format!("alert detached: {}", s(e, "summary")),
        },
        "merged_into" => format!("merged into INC-{} \"{}\"", e["number"], s(e, "title")),
        "merged_from" => format!(
            "INC-{} \"{}\" merged in ({} alerts, {} entries)",
            e["number"],
            s(e, "title"),
            e["alerts"],
            e["entries"]
        ),
        other => other.to_owned(),
    }
}

/// `describe`, with where an entry copied from a merged incident came from.
fn describe_entry(e: &Value) -> String {
    match e["from_number"].as_i64() {
        Some(n) => format!("[INC-{n}] {}", describe(e)),
        None => describe(e),
    }
}

pub async fn run(cmd: IncidentCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let (api, result) = match cmd {
        IncidentCommand::Declare { title, severity, kind, summary, services, tags, client } => {
            let api = Api::new(&client)?;
            let body = json!({"title": title, "severity": severity, "type": kind, "summary": summary, "services": services, "tags": tags});
            let created = api.call(Method::POST, "/incidents", Some(body)).await?;
            (api, created)
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
            if let Some(items) = api.table_items(&value, "no incidents")? {
                print_rows(&["ID", "STATUS", "SEVERITY", "TYPE", "DETECTED", "TITLE"], &items, |i| {
                    vec![
                        s(i, "label").into(),
                        s(i, "status").into(),
                        s(i, "severity").into(),
                        s(i, "type").into(),
                        s(i, "detected_at").get(..16).unwrap_or("").replace('T', " "),
                        s(i, "title").into(),
                    ]
                });
            }
            return Ok(ExitCode::SUCCESS);
        }
        IncidentCommand::Show { id, kind, client } => {
            let api = Api::new(&client)?;
            let incident = api.call(Method::GET, &incident_path(&id), None).await?;
            let kinds: Option<String> = kind
                .map(|k| k.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ',').collect::<String>());
            let query = kinds.as_ref().map(|k| format!("?kind={k}")).unwrap_or_default();
            let path = format!("{}/timeline{query}", incident_path(&id));
            let timeline = api.request(Method::GET, &path, None, &INVESTIGATION_HINTS).await?;
            if api.json {
                print_json(&json!({"incident": incident, "timeline": timeline["items"]}))?;
            } else {
                print_incident(&incident);
                match &kinds {
                    Some(k) => println!("\ntimeline ({}):", k.replace(',', ", ")),
                    None => println!("\ntimeline:"),
                }
                for e in timeline["items"].as_array().into_iter().flatten() {
                    let at = s(e, "at").get(..19).unwrap_or("").replace('T', " ");
                    let who = shown(&e["actor"], "name");
                    println!(
                        "  {at}  {who:<16} {}",
                        printable_lines(&describe_entry(e), "                                         ")
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        IncidentCommand::Ack(args) => act(args, "acknowledge").await?,
        IncidentCommand::Contain(args) => act(args, "contain").await?,
        IncidentCommand::Resolve(args) => act(args, "resolve").await?,
        IncidentCommand::Close(args) => act(args, "close").await?,
        IncidentCommand::Reopen(args) => act(args, "reopen").await?,
        IncidentCommand::Checklist(args) => return crate::procedures::checklist(args).await,
        IncidentCommand::Check(args) => return crate::procedures::check(args).await,
        IncidentCommand::Playbook(args) => return crate::procedures::attach(args).await,
        IncidentCommand::Run(args) => return crate::procedures::run_step(args).await,
        IncidentCommand::Role(args) => return crate::procedures::role(args).await,
        IncidentCommand::Escalate(args) => return crate::policies::escalate(args).await,
        IncidentCommand::Reassign(args) => return crate::policies::reassign(args).await,
        IncidentCommand::Paging(args) => return crate::policies::paging(args).await,
        IncidentCommand::Update(args) => return crate::updates::update(args).await,
        IncidentCommand::Updates(args) => return crate::updates::updates(args).await,
        IncidentCommand::Restrict { id, off, client } => return restrict(&client, &id, off).await,
        IncidentCommand::Participants { id, add, client } => {
            return participants(&client, &id, add.as_deref()).await;
        }
        IncidentCommand::Evidence { id, link, title, client } => {
            return evidence(&client, &id, &link, title.as_deref()).await;
        }
        IncidentCommand::Changes { id, before_minutes, client } => return changes(&client, &id, before_minutes).await,
        IncidentCommand::Alerts { id, client } => return incident_alerts(&client, &id).await,
        IncidentCommand::Merge { id, into, client } => return merge(&client, &id, &into).await,
        IncidentCommand::Note { id, body, client } => {
            let api = Api::new(&client)?;
            let path = format!("{}/notes", incident_path(&id));
            let changed = api.call(Method::POST, &path, Some(json!({"body": body}))).await?;
            (api, changed)
        }
    };
    api.print(&result, print_incident)?;
    Ok(ExitCode::SUCCESS)
}

/// Moves an incident along its lifecycle (`acknowledge`, `resolve`, …).
async fn act(args: IncidentArg, action: &str) -> anyhow::Result<(Api, Value)> {
    let api = Api::new(&args.client)?;
    let v = api.call(reqwest::Method::POST, &format!("{}/{action}", incident_path(&args.id)), None).await?;
    Ok((api, v))
}

/// `firebreak incident merge ID --into OTHER`.
async fn merge(client: &ClientArgs, id: &str, into: &str) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let path = format!("{}/merge", incident_path(id));
    let v = api.request(reqwest::Method::POST, &path, Some(json!({"into": into})), &MERGE_HINTS).await?;
    api.print(&v, |v| {
        println!(
            "merged {} into {}: {} alert(s) moved, {} timeline entries copied; {} is resolved",
            shown(&v["from"], "label"),
            shown(&v["into"], "label"),
            v["alerts"],
            v["entries"],
            shown(&v["from"], "label"),
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

const MERGE_HINTS: Hints = Hints {
    not_found: "see `firebreak incident list` for the incidents (a restricted incident shows only to its participants and admins)",
    invalid: "merge into an open incident you can see (`firebreak incident list --status triggered,acknowledged,contained`)",
    conflict: "see `firebreak incident show ID`",
};

const INVESTIGATION_HINTS: Hints = Hints {
    not_found: "see `firebreak incident list` for the incidents (a restricted incident shows only to its participants and admins)",
    invalid: "see the command's --help for the values it takes",
    conflict: "see `firebreak incident show ID`",
};

/// `firebreak incident restrict ID [--off]`.
async fn restrict(client: &ClientArgs, id: &str, off: bool) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let path = format!("{}/restricted", incident_path(id));
    let v = api.request(reqwest::Method::PUT, &path, Some(json!({"restricted": !off})), &INVESTIGATION_HINTS).await?;
    api.print(&v, |v| {
        let label = shown(v, "label");
        match (v["restricted"].as_bool() == Some(true), off) {
            (true, false) => println!(
                "{label} is restricted: only its participants and admins see it (let someone in with `firebreak incident participants {label} --add EMAIL`)"
            ),
            (true, true) => println!(
                "{label} is no longer marked restricted, but stays restricted: incidents of type {} are restricted whatever the mark says",
                shown(v, "type")
            ),
            (false, _) => println!("{label} is not restricted: everyone who may read incidents sees it"),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_participants(items: &[Value]) {
    if items.is_empty() {
        println!("no participants yet");
        return;
    }
    print_rows(&["NAME", "SINCE", "USER ID"], items, |p| {
        vec![s(p, "name").into(), when(p, "since"), s(p, "user_id").into()]
    });
}

/// `firebreak incident participants ID [--add EMAIL]`.
async fn participants(client: &ClientArgs, id: &str, add: Option<&str>) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let path = format!("{}/participants", incident_path(id));
    let v = match add.map(str::trim) {
        Some(who) => {
            let body = if uuid::Uuid::parse_str(who).is_ok() { json!({"user_id": who}) } else { json!({"email": who}) };
            let hints = Hints { invalid: "name a Firebreak user by email address or user id", ..INVESTIGATION_HINTS };
            api.request(reqwest::Method::POST, &path, Some(body), &hints).await?
        }
        None => api.request(reqwest::Method::GET, &path, None, &INVESTIGATION_HINTS).await?,
    };
    api.print(&v, |v| {
        if let Some(who) = add {
            println!("added {} to {}", printable(who.trim()), incident_label(id));
        }
        print_participants(v["items"].as_array().map(Vec::as_slice).unwrap_or_default());
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `firebreak incident evidence ID URL [--title T]`.
async fn evidence(client: &ClientArgs, id: &str, url: &str, title: Option<&str>) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let body = json!({"url": url, "title": title.unwrap_or_default()});
    let hints = Hints { invalid: "give an absolute http(s) address and a one-line --title", ..INVESTIGATION_HINTS };
    let v = api.request(reqwest::Method::POST, &format!("{}/evidence", incident_path(id)), Some(body), &hints).await?;
    api.print(&v, |v| match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => println!("linked evidence to {}: {} ({})", shown(v, "label"), printable(url), printable(t)),
        None => println!("linked evidence to {}: {}", shown(v, "label"), printable(url)),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The names of the catalog's services by id (ids stand in when the list cannot be read).
async fn service_names(api: &Api) -> ServiceNames {
    ServiceNames::of_listing(&api.call(reqwest::Method::GET, "/services", None).await.unwrap_or(Value::Null))
}

/// Services' names by id, to show services by name.
#[derive(Default)]
pub(crate) struct ServiceNames(std::collections::HashMap<String, String>);

impl ServiceNames {
    /// The names in a listing of services (`{"items": [...]}`).
    pub(crate) fn of_listing(listing: &Value) -> ServiceNames {
        let items = listing["items"].as_array().into_iter().flatten();
        ServiceNames(items.map(|v| (s(v, "id").to_owned(), s(v, "name").to_owned())).collect())
    }

    /// One service, named as the command line gave it.
    pub(crate) fn one(id: String, name: String) -> ServiceNames {
        ServiceNames([(id, name)].into())
    }

    /// The name of service `id`, or the id when its name is not known.
    pub(crate) fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}

/// `firebreak incident changes ID [--before-minutes M]`.
async fn changes(client: &ClientArgs, id: &str, before_minutes: Option<u32>) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let query = before_minutes.map(|m| format!("?before_minutes={m}")).unwrap_or_default();
    let hints = Hints { invalid: "--before-minutes is from 1 to 10080 (a week)", ..INVESTIGATION_HINTS };
    let v = api.request(reqwest::Method::GET, &format!("{}/changes{query}", incident_path(id)), None, &hints).await?;
    let before = before_minutes.map_or_else(|| "a day".to_owned(), |m| format!("{m} minutes"));
    let none = format!(
        "no changes recorded for the services {} affects, from {before} before it was detected",
        incident_label(id)
    );
    let Some(items) = api.table_items(&v, &none)? else { return Ok(ExitCode::SUCCESS) };
    let names = service_names(&api).await;
    print_rows(&["OCCURRED", "SERVICE", "SOURCE", "SUMMARY"], &items, |c| {
        vec![when(c, "occurred_at"), names.of(s(c, "service_id")), s(c, "source").into(), one_line(s(c, "summary"), 80)]
    });
    Ok(ExitCode::SUCCESS)
}

/// `firebreak incident alerts ID`.
async fn incident_alerts(client: &ClientArgs, id: &str) -> anyhow::Result<ExitCode> {
    let api = Api::new(client)?;
    let v =
        api.request(reqwest::Method::GET, &format!("{}/alerts", incident_path(id)), None, &INVESTIGATION_HINTS).await?;
    if let Some(items) = api.table_items(&v, &format!("no alerts linked to {}", incident_label(id)))? {
        print_alerts(&api, &items).await;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum ServiceCommand {
    /// List services.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a service and its integrations.
    Show {
        /// Service id or name
        service: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a service (the catalog entity alerts belong to).
    Create {
        /// Unique name, e.g. checkout-api
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// The team that owns it
        #[arg(long)]
        owner_team: Option<String>,
        /// An http(s) link to its runbook
        #[arg(long)]
        runbook_url: Option<String>,
        /// Tag (repeatable)
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Keep its incident open when all its alerts have resolved
        #[arg(long)]
        no_auto_resolve: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add an integration to a service; prints its key (shown only this once) and the URL
    /// to send alerts to.
    AddIntegration {
        /// Service id or name
        service: String,
        /// How alerts come in
        #[arg(long = "type", value_parser = PossibleValuesParser::new(INTEGRATION_TYPES))]
        kind: String,
        /// A name for it, e.g. prometheus-prod
        #[arg(long)]
        name: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace an integration's key; the old key stops working at once. Prints the new key.
    RotateKey {
        /// Integration id (see `firebreak service show`)
        integration: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a heartbeat integration's settings and state, or change its interval and grace.
    ///
    /// The integration expects a beat (`GET` or `POST` to its URL) every interval; when none
    /// comes within interval + grace, an alert opens on its service.
    #[command(after_help = "Examples:\n  \
                            firebreak service heartbeat 0196…-uuid\n  \
                            firebreak service heartbeat 0196…-uuid --interval 1h --grace 5m")]
    Heartbeat(crate::integrations::HeartbeatArgs),
    /// Show, replace or test a generic webhook integration's mapping from payload to alert.
    ///
    /// The mapping is a JSON object with the fields summary, dedup_key, severity, action, source
    /// and details; each is a JSON pointer (`/alert/title`) or a template (`{{ host }} is down`).
    /// With --test the sample payload is mapped and the resulting event printed (or the
    /// server's reason it cannot be mapped). With --set and --test together, the new mapping
    /// is tried on the sample first and saved only if it maps it.
    #[command(after_help = "Examples:\n  \
                            firebreak service mapping 0196…-uuid\n  \
                            firebreak service mapping 0196…-uuid --test sample.json\n  \
                            firebreak service mapping 0196…-uuid --set mapping.json --test sample.json\n\n\
                            mapping.json:\n  \
                            {\"summary\": \"{{ host }}: {{ check }} failed\", \"dedup_key\": \"/id\", \"severity\": \"/level\", \"action\": \"/state\"}")]
    Mapping(crate::integrations::MappingArgs),
    /// Choose the escalation policy that pages for the service's new incidents, or `none`.
    SetPolicy(crate::policies::SetPolicyArgs),
}

const INTEGRATION_TYPES: [&str; 6] = ["pagerduty", "opsgenie", "alertmanager", "grafana", "generic", "heartbeat"];

#[derive(Subcommand)]
pub enum AlertCommand {
    /// List alerts, newest first.
    List {
        /// Only alerts in this status
        #[arg(long, value_parser = PossibleValuesParser::new(["open", "resolved", "suppressed"]))]
        status: Option<String>,
        /// Only alerts of this service (id or name)
        #[arg(long)]
        service: Option<String>,
        /// How many to show (1 to 200)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after a previous page (its `next_cursor`)
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one alert: its fields, events folded in, incident and details.
    Show(AlertArg),
    /// Acknowledge an open alert.
    Ack(AlertArg),
    /// Resolve an open alert.
    Resolve(AlertArg),
    /// Move an alert onto an incident (from the one it was on, if any).
    #[command(after_help = "Example:\n  firebreak alert attach 0190c0de-… --incident INC-42")]
    Attach {
        /// Alert id
        id: String,
        /// The incident: INC-42, 42 or the UUID
        #[arg(long)]
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Take an alert off its incident: it stands alone (its later events stay with it).
    Detach(AlertArg),
}

/// An alert named on the command line.
#[derive(Args)]
pub struct AlertArg {
    /// Alert id
    id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// A length of time from the command line: a number with an optional unit (`ms`, `s`, `m`,
/// `h`, `d`); a bare number is seconds. `90`, `1.5s`, `500ms`, `10m`, `2h`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a length of time; write e.g. 30, 30s, 500ms, 5m, 2h or 1d"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" | "sec" | "secs" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => return Err(format!("unknown unit {other:?}; use ms, s, m, h or d")),
    };
    let seconds = number * scale;
    if !seconds.is_finite() || seconds > 1e9 {
        return Err(format!("{text:?} is too long"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Keeps only characters an id can have, so input cannot change the request path.
pub(crate) fn clean_id(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

/// A time as tables show it: `2025-01-31 12:34:56`.
pub(crate) fn when(v: &Value, key: &str) -> String {
    s(v, key).get(..19).unwrap_or("").replace('T', " ")
}

/// One line of at most `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max { format!("{}…", line.chars().take(max - 1).collect::<String>()) } else { line }
}

fn list_of(v: &Value, key: &str) -> String {
    v[key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

pub(crate) fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

impl Api {
    /// The id of a service given by id or by name.
    pub(crate) async fn service_id(&self, service: &str) -> anyhow::Result<String> {
        if uuid::Uuid::parse_str(service.trim()).is_ok() {
            return Ok(service.trim().to_owned());
        }
        let all = self.call(reqwest::Method::GET, "/services", None).await?;
        let items = all["items"].as_array().cloned().unwrap_or_default();
        let found = items
            .iter()
            .find(|v| s(v, "name") == service)
            .or_else(|| items.iter().find(|v| s(v, "name").eq_ignore_ascii_case(service.trim())));
        match found {
            Some(v) => Ok(s(v, "id").to_owned()),
            None => bail!("no service named {service:?} (see `firebreak service list`)"),
        }
    }
}

fn print_service(v: &Value) {
    println!("{}  {}", shown(v, "name"), shown(v, "id"));
    let or_dash = |t: &str| if t.is_empty() { "-".to_owned() } else { t.to_owned() };
    if !s(v, "description").is_empty() {
        let lines: Vec<String> = s(v, "description").lines().map(printable).collect();
        println!("  description:   {}", lines.join("\n                 "));
    }
    println!("  owner team:    {}", or_dash(&shown(v, "owner_team")));
    println!("  runbook:       {}", or_dash(&shown(v, "runbook_url")));
    println!("  tags:          {}", or_dash(&printable(&list_of(v, "tags"))));
    println!("  auto-resolve:  {}", if v["auto_resolve"].as_bool() == Some(true) { "yes" } else { "no" });
    println!("  created:       {}", when(v, "created_at"));
}

fn print_integrations(items: &[Value]) {
    if items.is_empty() {
        println!("no integrations (add one with `firebreak service add-integration`)");
        return;
    }
    print_rows(&["NAME", "TYPE", "CREATED", "KEY ROTATED", "ID"], items, |i| {
        let rotated = if i["key_rotated_at"].is_string() { when(i, "key_rotated_at") } else { "never".into() };
        vec![s(i, "name").into(), s(i, "type").into(), when(i, "created_at"), rotated, s(i, "id").into()]
    });
}

/// An integration with its one-time key.
fn print_key(v: &Value, rotated: bool) {
    println!("integration  {} ({})", shown(v, "name"), shown(v, "type"));
    println!("id           {}", shown(v, "id"));
    println!("key          {}", shown(v, "key"));
    println!("url          {}", shown(v, "url"));
    if rotated {
        eprintln!("The previous key has stopped working. Copy this one now: it is not shown again.");
    } else {
        eprintln!("Copy the key now: it is not shown again.");
    }
}

pub async fn run_service(cmd: ServiceCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    match cmd {
        ServiceCommand::List { client } => {
            let api = Api::new(&client)?;
            let value = api.call(Method::GET, "/services", None).await?;
            let Some(mut items) = api.table_items(&value, "no services")? else { return Ok(ExitCode::SUCCESS) };
            items.sort_by_key(|v| s(v, "name").to_lowercase());
            print_rows(&["NAME", "OWNER TEAM", "AUTO-RESOLVE", "ID", "TAGS"], &items, |v| {
                vec![
                    s(v, "name").into(),
                    s(v, "owner_team").into(),
                    if v["auto_resolve"].as_bool() == Some(true) { "yes" } else { "no" }.into(),
                    s(v, "id").into(),
                    list_of(v, "tags"),
                ]
            });
        }
        ServiceCommand::Show { service, client } => {
            let api = Api::new(&client)?;
            let id = clean_id(&api.service_id(&service).await?);
            let service = api.call(Method::GET, &format!("/services/{id}"), None).await?;
            let integrations = api.call(Method::GET, &format!("/services/{id}/integrations"), None).await?;
            if api.json {
                print_json(&json!({"service": service, "integrations": integrations["items"]}))?;
            } else {
                print_service(&service);
                println!("\nintegrations:");
                print_integrations(integrations["items"].as_array().map(Vec::as_slice).unwrap_or_default());
            }
        }
        ServiceCommand::Create { name, description, owner_team, runbook_url, tags, no_auto_resolve, client } => {
            let api = Api::new(&client)?;
            let body = json!({
                "name": name,
                "description": description,
                "owner_team": owner_team,
                "runbook_url": runbook_url,
                "tags": tags,
                "auto_resolve": !no_auto_resolve,
            });
            api.print(&api.call(Method::POST, "/services", Some(body)).await?, print_service)?;
        }
        ServiceCommand::AddIntegration { service, kind, name, client } => {
            let api = Api::new(&client)?;
            let id = clean_id(&api.service_id(&service).await?);
            let body = json!({"type": kind, "name": name});
            let created = api.call(Method::POST, &format!("/services/{id}/integrations"), Some(body)).await?;
            api.print(&created, |v| print_key(v, false))?;
        }
        ServiceCommand::Heartbeat(args) => return crate::integrations::heartbeat(args).await,
        ServiceCommand::Mapping(args) => return crate::integrations::mapping(args).await,
        ServiceCommand::SetPolicy(args) => return crate::policies::set_policy(args).await,
        ServiceCommand::RotateKey { integration, client } => {
            let api = Api::new(&client)?;
            let path = format!("/integrations/{}/rotate-key", clean_id(&integration));
            api.print(&api.call(Method::POST, &path, None).await?, |v| print_key(v, true))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn alert_status(v: &Value) -> String {
    if s(v, "status") == "open" && v["acknowledged_at"].is_string() {
        "open (acked)".into()
    } else {
        s(v, "status").into()
    }
}

async fn print_alert(api: &Api, v: &Value) {
    println!("{}", shown(v, "summary"));
    println!("  id:            {}", shown(v, "id"));
    println!("  status:        {}", alert_status(v));
    println!("  severity:      {}", shown(v, "severity"));
    let service = api.call(reqwest::Method::GET, &format!("/services/{}", clean_id(s(v, "service_id"))), None).await;
    match service {
        Ok(svc) => println!("  service:       {} ({})", shown(&svc, "name"), shown(v, "service_id")),
        Err(_) => println!("  service:       {}", shown(v, "service_id")),
    }
    if let Some(incident) = v["incident_id"].as_str() {
        match api.call(reqwest::Method::GET, &format!("/incidents/{}", clean_id(incident)), None).await {
            Ok(i) => println!("  incident:      {}  {}", shown(&i, "label"), shown(&i, "title")),
            Err(_) => println!("  incident:      {incident}"),
        }
    }
    if !shown(v, "source").is_empty() {
        println!("  source:        {}", shown(v, "source"));
    }
    println!("  dedup key:     {}", shown(v, "dedup_key"));
    println!("  events:        {}", v["count"].as_i64().unwrap_or(0));
    println!("  first seen:    {}", when(v, "first_seen_at"));
    println!("  last seen:     {}", when(v, "last_seen_at"));
    for (key, label) in [("acknowledged_at", "acknowledged:"), ("resolved_at", "resolved:")] {
        if v[key].is_string() {
            println!("  {label:<14} {}", when(v, key));
        }
    }
    let details = &v["details"];
    if details.as_object().is_some_and(|o| !o.is_empty()) {
        println!("\ndetails:");
        let pretty = serde_json::to_string_pretty(details).unwrap_or_default();
        for line in pretty.lines() {
            println!("  {line}");
        }
    }
}

/// A table of alerts, with their services by name.
async fn print_alerts(api: &Api, items: &[Value]) {
    let names = service_names(api).await;
    print_rows(&["ID", "STATUS", "SEVERITY", "EVENTS", "LAST SEEN", "SERVICE", "SUMMARY"], items, |a| {
        vec![
            s(a, "id").into(),
            alert_status(a),
            s(a, "severity").into(),
            a["count"].as_i64().unwrap_or(0).to_string(),
            when(a, "last_seen_at"),
            names.of(s(a, "service_id")),
            one_line(s(a, "summary"), 80),
        ]
    });
}

pub async fn run_alert(cmd: AlertCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let (api, alert) = match cmd {
        AlertCommand::List { status, service, limit, cursor, client } => {
            let api = Api::new(&client)?;
            let mut q = vec![format!("limit={limit}")];
            if let Some(status) = status {
                q.push(format!("status={status}"));
            }
            if let Some(service) = service {
                q.push(format!("service_id={}", clean_id(&api.service_id(&service).await?)));
            }
            if let Some(cursor) = cursor {
                q.push(format!("cursor={}", clean_id(&cursor)));
            }
            let value = api.call(Method::GET, &format!("/alerts?{}", q.join("&")), None).await?;
            let Some(items) = api.table_items(&value, "no alerts")? else { return Ok(ExitCode::SUCCESS) };
            print_alerts(&api, &items).await;
            if let Some(next) = value["next_cursor"].as_str() {
                eprintln!("more alerts: add --cursor {next}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        AlertCommand::Show(args) => alert_call(args, Method::GET, "").await?,
        AlertCommand::Ack(args) => alert_call(args, Method::POST, "/acknowledge").await?,
        AlertCommand::Resolve(args) => alert_call(args, Method::POST, "/resolve").await?,
        AlertCommand::Detach(args) => alert_call(args, Method::POST, "/detach").await?,
        AlertCommand::Attach { id, incident, client } => {
            let api = Api::new(&client)?;
            let path = format!("/alerts/{}/attach", clean_id(&id));
            let alert = api.request(Method::POST, &path, Some(json!({"incident": incident})), &MERGE_HINTS).await?;
            (api, alert)
        }
    };
    if api.json {
        print_json(&alert)?;
    } else {
        print_alert(&api, &alert).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// One alert's answer at `/alerts/ID{action}`.
async fn alert_call(args: AlertArg, method: reqwest::Method, action: &str) -> anyhow::Result<(Api, Value)> {
    let api = Api::new(&args.client)?;
    let alert = api.call(method, &format!("/alerts/{}{action}", clean_id(&args.id)), None).await?;
    Ok((api, alert))
}

#[cfg(test)]
mod tests {
    use super::describe;
    use serde_json::json;

    #[test]
    fn folded_alert_entries_say_how_many_events_they_stand_for() {
        let one = json!({"kind": "alert", "change": "opened", "summary": "disk full", "events": 1});
        let many = json!({"kind": "alert", "change": "repeated", "summary": "disk full", "events": 37});
        let old = json!({"kind": "alert", "change": "repeated", "summary": "disk full"});
        let hostile = json!({"kind": "note_added", "body": "line one\u{1b}[31m red\nline two\u{7}"});
        assert_eq!(
            super::printable_lines(&super::describe(&hostile), "  "),
            "note: line one\u{FFFD}[31m red\n  line two\u{FFFD}",
            "escape sequences are made harmless, lines kept"
        );
        assert_eq!(describe(&one), "alert opened: disk full");
        assert_eq!(describe(&many), "alert repeated 37 times: disk full");
        assert_eq!(describe(&old), "alert repeated: disk full", "entries written before the field");
    }

    #[test]
    fn updates_and_evidence_entries_say_what_happened() {
        let sent = json!({"kind": "update_sent", "audience": "executive", "template": "executive",
            "subject": "[critical] INC-1: down", "body": "…", "to": ["executives"]});
        let draft = json!({"kind": "update_sent", "audience": "customer", "template": "customer-initial",
            "subject": "Investigating", "body": "…", "to": []});
        let evidence = json!({"kind": "evidence_added", "url": "https://g.example.com/x", "title": ""});
        assert_eq!(describe(&sent), "executive update sent to executives: [critical] INC-1: down");
        assert_eq!(describe(&draft), "customer update recorded as a draft: Investigating");
        assert_eq!(describe(&evidence), "evidence: https://g.example.com/x");
        assert_eq!(
            describe(&json!({"kind": "restriction_changed", "restricted": false})),
            "restricted mark taken away"
        );
    }
}
