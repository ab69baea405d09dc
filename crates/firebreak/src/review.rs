//! `firebreak postmortem|actions|report`: post-incident review through a running server's
//! API — an incident's postmortem (drafted from its record, edited, sent to review, signed
//! off, published, exported as Markdown), action items across incidents, and response
//! analytics (a readable summary, the JSON, or the CSV).

use crate::client::{
    Api, ClientArgs, Hints, clean_id, incident_path, one_line, print_json, print_rows, printable, s, shown, when,
};
use anyhow::Context;
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The long help of `firebreak postmortem`.
pub const POSTMORTEM_ABOUT: &str = "Postmortems of incidents, through a running server's API.\n\n\
    A postmortem starts as a draft written from the incident's record (its timeline, key events, \
    alerts, pages and checklist) with a template of the procedures. Each save is a new revision; \
    the named reviewers sign off the current revision, and once all of them have, it is published. \
    An incident whose severity requires a postmortem cannot close until its postmortem is published.\n\n\
    Example:\n  \
    firebreak postmortem new INC-42\n  \
    firebreak postmortem show INC-42 --json | jq -r .body > pm.md   # change pm.md, then:\n  \
    firebreak postmortem edit INC-42 --file pm.md\n  \
    firebreak postmortem review INC-42 --reviewer ann@example.com --reviewer bo@example.com\n  \
    firebreak postmortem sign-off INC-42          # each reviewer, after reading it\n  \
    firebreak postmortem publish INC-42\n  \
    firebreak postmortem export INC-42 --out INC-42-postmortem.md";

/// The long help of `firebreak report`.
pub const REPORT_ABOUT: &str = "Response analytics over a period, through a running server's API.\n\n\
    Counts the incidents detected from --from (inclusive) to --to (exclusive), drills left out, and \
    shows for each group: how many resolved; the median and 90th percentile of the time to \
    acknowledge (MTTA), contain (MTTC) and resolve (MTTR), from detection; the share acknowledged \
    within the severity's target; and the share of resolved incidents with a published postmortem. \
    Then who was paged most (and how often outside business hours, 08:00 to 18:00 on weekdays in \
    --tz), the noisiest alert sources and fingerprints, and the follow-through on the action items \
    created in the period. --json prints the whole report; --csv writes one row per group and the total.\n\n\
    Example:\n  \
    firebreak report --from 2026-10-01 --to 2026-11-01 --group-by severity --tz Europe/Berlin\n  \
    firebreak report --from 2026-01-01 --to 2026-04-01 --group-by month --service checkout --csv > q1.csv";

const POSTMORTEM_HINTS: Hints = Hints {
    not_found: "see `firebreak incident list` for the incidents; an incident without a postmortem gets one with `firebreak postmortem new ID`",
    invalid: "see `firebreak postmortem show ID` for its state and reviewers, and the command's --help",
    conflict: "see `firebreak postmortem show ID` for its current revision",
};

const ACTION_HINTS: Hints = Hints {
    not_found: "see `firebreak actions list` for the action items (AI-12 or 12) and `firebreak incident list` for the incidents",
    invalid: "the owner is a user's email address, --due a day such as 2026-12-31, --link an http(s) address; see the command's --help",
    conflict: "see `firebreak actions list`",
};

const REPORT_HINTS: Hints = Hints {
    not_found: "is the server a Firebreak version with analytics? (see `firebreak --version`)",
    invalid: "days are YYYY-MM-DD, --from comes before --to (at most 1098 days apart), --tz is an IANA zone such as Europe/Berlin; see `firebreak report --help`",
    conflict: "see `firebreak report --help`",
};

const PRIORITIES: [&str; 4] = ["urgent", "high", "medium", "low"];
const STATUSES: [&str; 4] = ["open", "in_progress", "done", "wont_do"];
const GROUPS: [&str; 8] = ["none", "day", "week", "month", "service", "team", "severity", "type"];

#[derive(Subcommand)]
pub enum PostmortemCommand {
    /// Start an incident's postmortem: a draft written from its record with a postmortem
    /// template of the procedures.
    #[command(after_help = "Examples:\n  firebreak postmortem new INC-42\n  \
                            firebreak postmortem new 42 --template security")]
    New {
        /// The incident: INC-42, 42 or its id
        incident: String,
        /// The postmortem template's name (default: the one the procedures choose for the
        /// incident's type or severity, else the built-in `blameless`)
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an incident's postmortem: title, state, revision, due time, reviewers and their
    /// sign-offs, then its Markdown text.
    #[command(after_help = "Examples:\n  firebreak postmortem show INC-42\n  \
                            firebreak postmortem show 42 --json | jq -r .body > pm.md")]
    Show {
        /// The incident: INC-42, 42 or its id
        incident: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Write the postmortem as a Markdown document to keep: its text, then its review record
    /// and the incident's action items.
    #[command(after_help = "Examples:\n  firebreak postmortem export INC-42 > INC-42.md\n  \
                            firebreak postmortem export INC-42 --out INC-42.md")]
    Export {
        /// The incident: INC-42, 42 or its id
        incident: String,
        /// Write to this file instead of standard output
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Save a new revision of the postmortem from a Markdown file. Saving a published
    /// postmortem reopens its review.
    #[command(after_help = "Examples:\n  firebreak postmortem edit INC-42 --file pm.md\n  \
                            firebreak postmortem edit INC-42 --file pm.md --title 'Postmortem: checkout outage'\n  \
                            firebreak postmortem edit INC-42 --file pm.md --base-revision 3   # refuse if someone saved since\n  \
                            cat pm.md | firebreak postmortem edit INC-42 --file -")]
    Edit {
        /// The incident: INC-42, 42 or its id
        incident: String,
        /// The new text (Markdown); `-` reads standard input
        #[arg(long, short = 'f', value_name = "FILE")]
        file: PathBuf,
        /// A new title (default: keep the current one)
        #[arg(long, short = 't')]
        title: Option<String>,
        /// The revision your text started from: the save is refused when another was saved
        /// since (default: the current revision, so a change saved meanwhile is replaced)
        #[arg(long, value_name = "N")]
        base_revision: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send the postmortem to review by the people named; each signs off the current revision.
    #[command(after_help = "Example:\n  \
                            firebreak postmortem review INC-42 --reviewer ann@example.com --reviewer bo@example.com")]
    Review {
        /// The incident: INC-42, 42 or its id
        incident: String,
        /// A reviewer: a Firebreak user's email address or user id (repeatable, or
        /// comma-separated)
        #[arg(long = "reviewer", value_name = "EMAIL", required = true, value_delimiter = ',')]
        reviewers: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Sign off the postmortem's current revision as yourself (you must be a named reviewer);
    /// a later revision needs your sign-off again.
    #[command(name = "sign-off", after_help = "Example:\n  firebreak postmortem sign-off INC-42")]
    SignOff(PostmortemArg),
    /// Publish the postmortem once every reviewer has signed off its current revision.
    #[command(after_help = "Example:\n  firebreak postmortem publish INC-42")]
    Publish(PostmortemArg),
}

/// An incident whose postmortem a command acts on.
#[derive(Args)]
pub struct PostmortemArg {
    /// The incident: INC-42, 42 or its id
    incident: String,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand)]
pub enum ActionsCommand {
    /// List action items across incidents, newest first.
    #[command(after_help = "Examples:\n  firebreak actions list --mine\n  \
                            firebreak actions list --overdue --service checkout\n  \
                            firebreak actions list --incident INC-42 --status done,wont_do")]
    List {
        /// Only the items you own
        #[arg(long)]
        mine: bool,
        /// Only the open or in-progress items past their due day
        #[arg(long)]
        overdue: bool,
        /// Only items in these statuses (comma-separated: open, in_progress, done, wont_do;
        /// `open` alone means open or in progress)
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only items of this service's incidents (its name or id)
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// Only items of this incident: INC-42, 42 or its id
        #[arg(long, value_name = "INCIDENT")]
        incident: Option<String>,
        /// How many to show (1 to 200)
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after a previous page (the cursor it printed)
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add an action item to an incident: a task, or with --procedure-file a change to the
    /// procedures.
    #[command(after_help = "Examples:\n  \
                            firebreak actions add INC-42 --title 'Alert on replica lag' --owner ann@example.com --due 2026-12-15 --priority high\n  \
                            firebreak actions add INC-42 --title 'Add a failover step' --procedure-file playbooks/db.yaml")]
    Add {
        /// The incident: INC-42, 42 or its id
        incident: String,
        /// What is to be done (one line)
        #[arg(long, short = 't')]
        title: String,
        /// Who does it: a Firebreak user's email address or user id
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// The day it is due, YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        due: Option<String>,
        /// How soon it matters (the server's default: medium)
        #[arg(long, value_parser = PossibleValuesParser::new(PRIORITIES))]
        priority: Option<String>,
        /// The item in an external tracker (an http(s) address)
        #[arg(long, value_name = "URL")]
        link: Option<String>,
        /// Make it a procedure change of this file of the procedures directory, e.g.
        /// playbooks/db.yaml
        #[arg(long, value_name = "PATH")]
        procedure_file: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change an action item: its status, owner, due day, priority, title or link. `""`
    /// clears the owner, the due day or the link.
    #[command(after_help = "Examples:\n  firebreak actions set AI-7 --status done\n  \
                            firebreak actions set 7 --owner bo@example.com --due 2026-12-31\n  \
                            firebreak actions set AI-7 --due ''   # no due day")]
    Set {
        /// The action item: AI-7 or 7
        item: String,
        #[arg(long, value_parser = PossibleValuesParser::new(STATUSES))]
        status: Option<String>,
        /// Who does it: a Firebreak user's email address or user id
        #[arg(long, value_name = "EMAIL")]
        owner: Option<String>,
        /// The day it is due, YYYY-MM-DD
        #[arg(long, value_name = "YYYY-MM-DD")]
        due: Option<String>,
        #[arg(long, value_parser = PossibleValuesParser::new(PRIORITIES))]
        priority: Option<String>,
        /// What is to be done (one line)
        #[arg(long, short = 't')]
        title: Option<String>,
        /// The item in an external tracker (an http(s) address)
        #[arg(long, value_name = "URL")]
        link: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `firebreak report --from DAY --to DAY …`.
#[derive(Args)]
pub struct ReportArgs {
    /// Start of the period, inclusive: a day (YYYY-MM-DD, from midnight in --tz) or an RFC 3339
    /// instant
    #[arg(long, value_name = "DAY")]
    from: String,
    /// End of the period, exclusive: the day after the last one counted, or an RFC 3339 instant
    #[arg(long, value_name = "DAY")]
    to: String,
    /// Only incidents of this service (its name or id)
    #[arg(long, value_name = "SERVICE")]
    service: Option<String>,
    /// Only incidents of the services this team owns
    #[arg(long, value_name = "TEAM")]
    team: Option<String>,
    /// Only these severities (comma-separated), e.g. critical,high
    #[arg(long, value_name = "SEVERITIES")]
    severity: Option<String>,
    /// Only these types (comma-separated), e.g. outage,security
    #[arg(long = "type", value_name = "TYPES")]
    kind: Option<String>,
    /// Split the incidents into groups
    #[arg(long, value_name = "GROUP", value_parser = PossibleValuesParser::new(GROUPS))]
    group_by: Option<String>,
    /// The IANA time zone days, weeks, months and business hours are read in (the server's
    /// default: UTC)
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Write the report as CSV (one row per group, then the total) to standard output
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// A query string (`?a=1&b=x%2By`) of the pairs that have a value, the values encoded.
fn query(pairs: &[(&str, Option<&str>)]) -> anyhow::Result<String> {
    let given: Vec<(&str, &str)> = pairs.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
    if given.is_empty() {
        return Ok(String::new());
    }
    let mut url = reqwest::Url::parse("http://firebreak.invalid/")?;
    url.query_pairs_mut().extend_pairs(given);
    Ok(format!("?{}", url.query().unwrap_or_default()))
}

/// The text of a `text/markdown` or `text/csv` answer, as [`Api::call`] returns it.
fn text_of(v: Value) -> String {
    match v {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// Writes `text` to standard output as it is; a reader that stops early (`| head`) is no error.
fn write_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write to standard output"),
        _ => Ok(()),
    }
}

/// Reads `path`, or standard input for `-`.
fn read_text(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the postmortem from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read the postmortem from {}", path.display()))
}

fn postmortem_path(incident: &str) -> String {
    format!("{}/postmortem", incident_path(incident))
}

/// A state word as people read it: `in review`.
fn state_words(v: &Value) -> String {
    s(v, "state").replace('_', " ")
}

fn print_postmortem(v: &Value) {
    println!("{}  {}", shown(v, "incident_label"), shown(v, "title"));
    println!("  state:     {}", state_words(v));
    println!("  revision:  {} ({})", v["revision"], shown(v, "revision_hash"));
    println!("  template:  {}", shown(v, "template"));
    match (v["due_at"].is_string(), v["late"].as_bool() == Some(true)) {
        (true, true) => println!("  due:       {} (late)", when(v, "due_at")),
        (true, false) => println!("  due:       {}", when(v, "due_at")),
        (false, _) => println!("  due:       no due time (the incident is open, or its severity sets none)"),
    }
    if v["required_to_close"].as_bool() == Some(true) && s(v, "state") != "published" {
        println!("  closing:   the incident cannot close until this is published");
    }
    if v["published_at"].is_string() {
        println!("  published: {}", when(v, "published_at"));
    }
    let reviewers = v["reviewers"].as_array().cloned().unwrap_or_default();
    if reviewers.is_empty() {
        println!("  reviewers: none yet (name them with `firebreak postmortem review`)");
    } else {
        println!("  reviewers:");
        let current = s(v, "revision_hash");
        print_rows(&["    NAME", "SIGN-OFF"], &reviewers, |r| {
            let sign_off = match (r["signed_off_at"].is_string(), s(r, "signed_hash") == current) {
                (true, true) => format!("signed off {}", when(r, "signed_off_at")),
                (true, false) => format!("signed off revision {} (not the current one)", r["signed_revision"]),
                (false, _) => "not yet".to_owned(),
            };
            vec![format!("    {}", s(r, "name")), sign_off]
        });
    }
    println!();
    for line in s(v, "body").lines() {
        println!("{}", printable(line));
    }
}

pub async fn run_postmortem(cmd: PostmortemCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PostmortemCommand::New { incident, template, client } => {
            let api = Api::new(&client)?;
            let body = template.map(|t| json!({"template": t}));
            let hints = Hints {
                conflict: "it has one already: see `firebreak postmortem show ID`",
                invalid: "see the procedures' postmortems/ folder for the template names",
                ..POSTMORTEM_HINTS
            };
            let pm = api.request(Method::POST, &postmortem_path(&incident), body, &hints).await?;
            api.print(&pm, |pm| {
                let label = shown(pm, "incident_label");
                println!(
                    "started the postmortem of {label} from the {} template: revision {}, {}",
                    shown(pm, "template"),
                    pm["revision"],
                    state_words(pm)
                );
                println!("read it:  firebreak postmortem show {label}");
                println!(
                    "edit it:  firebreak postmortem show {label} --json | jq -r .body > pm.md, change pm.md, then\n          \
                     firebreak postmortem edit {label} --file pm.md"
                );
            })?;
        }
        PostmortemCommand::Show { incident, client } => {
            let api = Api::new(&client)?;
            let pm = api.request(Method::GET, &postmortem_path(&incident), None, &POSTMORTEM_HINTS).await?;
            api.print(&pm, print_postmortem)?;
        }
        PostmortemCommand::Export { incident, out, client } => {
            let api = Api::new(&client)?;
            let path = format!("{}/export", postmortem_path(&incident));
            let text = text_of(api.request(Method::GET, &path, None, &POSTMORTEM_HINTS).await?);
            match out {
                Some(file) => {
                    std::fs::write(&file, &text).with_context(|| format!("cannot write {}", file.display()))?;
                    println!("wrote the postmortem to {}", file.display());
                }
                None => write_out(&text)?,
            }
        }
        PostmortemCommand::Edit { incident, file, title, base_revision, client } => {
            let api = Api::new(&client)?;
            let text = read_text(&file)?;
            let path = postmortem_path(&incident);
            let current = api.request(Method::GET, &path, None, &POSTMORTEM_HINTS).await?;
            let base = base_revision.or(current["revision"].as_i64()).unwrap_or(0);
            let title = title.unwrap_or_else(|| s(&current, "title").to_owned());
            let body = json!({"base_revision": base, "title": title, "body": text});
            let hints = Hints {
                conflict: "someone saved a revision since yours: see it with `firebreak postmortem show ID`, apply your change to it and save again",
                invalid: "a postmortem has a one-line title and a Markdown body",
                ..POSTMORTEM_HINTS
            };
            let pm = api.request(Method::PUT, &path, Some(body), &hints).await?;
            api.print(&pm, |pm| {
                let label = shown(pm, "incident_label");
                if pm["revision"] == current["revision"] {
                    println!("no change: {label}'s postmortem is still at revision {}", pm["revision"]);
                } else {
                    println!("saved revision {} of {label}'s postmortem ({})", pm["revision"], state_words(pm));
                }
                if s(&current, "state") == "published" && s(pm, "state") != "published" {
                    println!("it was published: its review is open again, and its reviewers sign off the new revision");
                }
            })?;
        }
        PostmortemCommand::Review { incident, reviewers, client } => {
            let api = Api::new(&client)?;
            let path = format!("{}/review", postmortem_path(&incident));
            let hints = Hints { invalid: "name Firebreak users by email address or user id", ..POSTMORTEM_HINTS };
            let pm = api.request(Method::POST, &path, Some(json!({"reviewers": reviewers})), &hints).await?;
            api.print(&pm, |pm| {
                let label = shown(pm, "incident_label");
                let names: Vec<String> =
                    pm["reviewers"].as_array().into_iter().flatten().map(|r| shown(r, "name")).collect();
                println!("sent {label}'s postmortem (revision {}) to review by {}", pm["revision"], names.join(", "));
                println!("each reviewer signs it off with `firebreak postmortem sign-off {label}`");
            })?;
        }
        PostmortemCommand::SignOff(PostmortemArg { incident, client }) => {
            let api = Api::new(&client)?;
            let path = postmortem_path(&incident);
            let current = api.request(Method::GET, &path, None, &POSTMORTEM_HINTS).await?;
            let body = json!({"revision_hash": s(&current, "revision_hash")});
            let hints = Hints {
                conflict: "a new revision was saved: read it with `firebreak postmortem show ID`, then sign off again",
                ..POSTMORTEM_HINTS
            };
            let pm = api.request(Method::POST, &format!("{path}/sign-off"), Some(body), &hints).await?;
            api.print(&pm, |pm| {
                let label = shown(pm, "incident_label");
                println!("signed off revision {} of {label}'s postmortem", pm["revision"]);
                let awaiting: Vec<String> = pm["awaiting"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| printable(n.as_str().unwrap_or("")))
                    .collect();
                if awaiting.is_empty() {
                    println!("every reviewer has signed off: publish it with `firebreak postmortem publish {label}`");
                } else {
                    println!("waiting for: {}", awaiting.join(", "));
                }
            })?;
        }
        PostmortemCommand::Publish(PostmortemArg { incident, client }) => {
            let api = Api::new(&client)?;
            let path = format!("{}/publish", postmortem_path(&incident));
            let pm = api.request(Method::POST, &path, None, &POSTMORTEM_HINTS).await?;
            api.print(&pm, |pm| {
                let label = shown(pm, "incident_label");
                println!("published {label}'s postmortem (revision {})", pm["revision"]);
                println!("keep a copy with `firebreak postmortem export {label} --out {label}-postmortem.md`");
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An item's due day, marked when it has passed while the item is open (days in UTC, as the
/// server counts them).
fn due(v: &Value) -> String {
    let day = s(v, "due_on");
    let open = matches!(s(v, "status"), "open" | "in_progress");
    let past = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok_and(|d| d < chrono::Utc::now().date_naive());
    if open && past { format!("{day} (overdue)") } else { day.to_owned() }
}

fn action_label(v: &Value) -> String {
    format!("AI-{}", v["number"])
}

fn print_action(v: &Value) {
    println!("{}  {}", action_label(v), shown(v, "title"));
    println!("  incident:  INC-{}  {}", v["incident_number"], shown(v, "incident_title"));
    match s(v, "kind") {
        "procedure_change" => println!("  kind:      procedure change of {}", shown(v, "procedure_file")),
        kind => println!("  kind:      {kind}"),
    }
    let owner = shown(v, "owner_name");
    println!("  owner:     {}", if owner.is_empty() { "nobody yet".to_owned() } else { owner });
    println!("  due:       {}", if v["due_on"].is_string() { due(v) } else { "no due day".to_owned() });
    println!("  priority:  {}", s(v, "priority"));
    println!("  status:    {}", s(v, "status").replace('_', " "));
    if v["link"].is_string() {
        println!("  link:      {}", shown(v, "link"));
    }
}

pub async fn run_actions(cmd: ActionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionsCommand::List { mine, overdue, status, service, incident, limit, cursor, client } => {
            let api = Api::new(&client)?;
            let service = match service {
                Some(name) => Some(api.service_id(&name).await?),
                None => None,
            };
            let limit = limit.to_string();
            let incident = incident.as_deref().map(clean_id);
            let q = query(&[
                ("owner", mine.then_some("mine")),
                ("overdue", overdue.then_some("true")),
                ("status", status.as_deref()),
                ("service", service.as_deref()),
                ("incident", incident.as_deref()),
                ("cursor", cursor.as_deref()),
                ("limit", Some(&limit)),
            ])?;
            let hints = Hints {
                invalid: "statuses are open, in_progress, done and wont_do (comma-separated); --limit is 1 to 200",
                ..ACTION_HINTS
            };
            let listing = api.request(Method::GET, &format!("/action-items{q}"), None, &hints).await?;
            let Some(items) = api.table_items(&listing, "no action items")? else { return Ok(ExitCode::SUCCESS) };
            print_rows(&["ID", "INCIDENT", "TITLE", "OWNER", "DUE", "PRIORITY", "STATUS"], &items, |a| {
                vec![
                    action_label(a),
                    format!("INC-{}", a["incident_number"]),
                    one_line(s(a, "title"), 60),
                    s(a, "owner_name").into(),
                    due(a),
                    s(a, "priority").into(),
                    s(a, "status").into(),
                ]
            });
            if let Some(next) = listing["next_cursor"].as_str() {
                eprintln!("more action items: add --cursor {}", printable(next));
            }
        }
        ActionsCommand::Add { incident, title, owner, due, priority, link, procedure_file, client } => {
            let api = Api::new(&client)?;
            let kind = if procedure_file.is_some() { "procedure_change" } else { "task" };
            let body = json!({"title": title, "kind": kind, "owner": owner, "due_on": due, "priority": priority,
                "link": link, "procedure_file": procedure_file});
            let path = format!("{}/action-items", incident_path(&incident));
            let item = api.request(Method::POST, &path, Some(body), &ACTION_HINTS).await?;
            api.print(&item, |v| {
                println!("added {} to INC-{}", action_label(v), v["incident_number"]);
                print_action(v);
            })?;
        }
        ActionsCommand::Set { item, status, owner, due, priority, title, link, client } => {
            let mut change = Map::new();
            for (key, value) in [
                ("status", status),
                ("owner", owner),
                ("due_on", due),
                ("priority", priority),
                ("title", title),
                ("link", link),
            ] {
                if let Some(value) = value {
                    change.insert(key.to_owned(), Value::String(value));
                }
            }
            if change.is_empty() {
                anyhow::bail!("nothing to change: give --status, --owner, --due, --priority, --title or --link");
            }
            let api = Api::new(&client)?;
            let path = format!("/action-items/{}", clean_id(&item));
            let item = api.request(Method::PATCH, &path, Some(Value::Object(change)), &ACTION_HINTS).await?;
            api.print(&item, print_action)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A length of time in seconds as people read it: `42s`, `4m 10s`, `1h 05m`, `2d 3h`; `—`
/// when there is none.
fn duration(seconds: &Value) -> String {
    let Some(seconds) = seconds.as_f64().filter(|s| s.is_finite()) else { return "—".to_owned() };
    let total = seconds.max(0.0).round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs:02}s"),
        (0, _, _) => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// A share as a percentage with what it counts: `83% (5/6)`; `—` when it applies to none.
fn share(v: &Value) -> String {
    match v["rate"].as_f64() {
        Some(rate) => format!("{:.0}% ({}/{})", rate * 100.0, v["met"], v["of"]),
        None => "—".to_owned(),
    }
}

fn group_row(g: &Value) -> Vec<String> {
    let key = match s(g, "key") {
        "all" => "total".to_owned(),
        key => key.to_owned(),
    };
    vec![
        key,
        g["incidents"].to_string(),
        g["resolved"].to_string(),
        duration(&g["mtta"]["median"]),
        duration(&g["mtta"]["p90"]),
        duration(&g["mttc"]["median"]),
        duration(&g["mttc"]["p90"]),
        duration(&g["mttr"]["median"]),
        duration(&g["mttr"]["p90"]),
        share(&g["acknowledged_within_target"]),
        share(&g["postmortems_published"]),
    ]
}

/// The first `n` items of the list at `key`.
fn top(v: &Value, key: &str, n: usize) -> Vec<Value> {
    v[key].as_array().map(|a| a.iter().take(n).cloned().collect()).unwrap_or_default()
}

fn print_report(r: &Value, args: &ReportArgs) {
    println!("period:          {} to {} (the end excluded)", printable(&args.from), printable(&args.to));
    println!("time zone:       {}", shown(r, "time_zone"));
    println!("drills excluded: {}", r["drills_excluded"]);
    let group_by = s(r, "group_by");
    println!();
    let mut rows: Vec<Value> = r["groups"].as_array().cloned().unwrap_or_default();
    rows.push(r["total"].clone());
    let first = if group_by.is_empty() || group_by == "none" { "GROUP".to_owned() } else { group_by.to_uppercase() };
    let headers = [
        first.as_str(),
        "INCIDENTS",
        "RESOLVED",
        "MTTA MEDIAN",
        "MTTA P90",
        "MTTC MEDIAN",
        "MTTC P90",
        "MTTR MEDIAN",
        "MTTR P90",
        "ACK IN TARGET",
        "POSTMORTEM PUBLISHED",
    ];
    print_rows(&headers, &rows, group_row);

    println!("\non-call load (most paged first):");
    let load = top(r, "on_call_load", 10);
    if load.is_empty() {
        println!("  nobody was paged");
    } else {
        print_rows(&["  NAME", "PAGES", "OFF-HOURS"], &load, |p| {
            vec![format!("  {}", s(p, "name")), p["pages"].to_string(), p["off_hours"].to_string()]
        });
    }
    for (key, title) in [("noisy_sources", "noisiest alert sources"), ("noisy_fingerprints", "noisiest fingerprints")] {
        println!("\n{title}:");
        let noisy = top(r, key, 5);
        if noisy.is_empty() {
            println!("  no alerts");
        } else {
            print_rows(&["  NAME", "ALERTS", "EVENTS"], &noisy, |n| {
                vec![format!("  {}", one_line(s(n, "name"), 80)), n["alerts"].to_string(), n["events"].to_string()]
            });
        }
    }
    let a = &r["action_items"];
    let rate = a["closure_rate"].as_f64().map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0));
    println!(
        "\naction items created in the period: {} created, {} closed (closure rate {rate}), {} overdue",
        a["created"], a["closed"], a["overdue"]
    );
}

pub async fn run_report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let service = match &args.service {
        Some(name) => Some(api.service_id(name).await?),
        None => None,
    };
    let q = query(&[
        ("from", Some(args.from.as_str())),
        ("to", Some(args.to.as_str())),
        ("service", service.as_deref()),
        ("team", args.team.as_deref()),
        ("severity", args.severity.as_deref()),
        ("type", args.kind.as_deref()),
        ("group_by", args.group_by.as_deref()),
        ("tz", args.tz.as_deref()),
    ])?;
    if args.csv {
        let csv = api.request(Method::GET, &format!("/analytics.csv{q}"), None, &REPORT_HINTS).await?;
        write_out(&text_of(csv))?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = api.request(Method::GET, &format!("/analytics{q}"), None, &REPORT_HINTS).await?;
    if api.json {
        print_json(&report)?;
    } else {
        print_report(&report, &args);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::{duration, query, share};
    use serde_json::json;

    #[test]
    fn lengths_of_time_read_as_people_write_them() {
        assert_eq!(duration(&json!(42.4)), "42s");
        assert_eq!(duration(&json!(250)), "4m 10s");
        assert_eq!(duration(&json!(3900)), "1h 05m");
        assert_eq!(duration(&json!(183_600)), "2d 3h");
        assert_eq!(duration(&json!(-5)), "0s", "negative durations count as 0");
        assert_eq!(duration(&json!(null)), "—");
    }

    #[test]
    fn shares_are_percentages_of_what_they_count() {
        assert_eq!(share(&json!({"met": 5, "of": 6, "rate": 0.8333})), "83% (5/6)");
        assert_eq!(share(&json!({"met": 0, "of": 0, "rate": null})), "—");
    }

    #[test]
    fn query_values_are_encoded_and_missing_ones_left_out() {
        assert_eq!(
            query(&[("tz", Some("Etc/GMT+5")), ("team", Some("a&b c")), ("service", None)]).ok().as_deref(),
            Some("?tz=Etc%2FGMT%2B5&team=a%26b+c")
        );
        assert_eq!(query(&[("owner", None)]).ok().as_deref(), Some(""));
    }
}
