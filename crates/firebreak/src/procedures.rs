//! `firebreak procedures`: check a procedures directory (decision trees, playbooks, contact
//! lists, templates, config) before it is used, in CI or by hand; write the example one.

use crate::client::{Api, ClientArgs, incident_path, print_rows, printable, s, shown};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ProceduresCommand {
    /// Check a procedures directory; prints `file:line: problem` lines and exits 1 when
    /// anything is wrong.
    ///
    /// Example, in CI:
    ///   firebreak procedures validate procedures/
    Validate(ValidateArgs),
    /// Write the example procedures directory (a severity tree, two playbooks, contact lists,
    /// update templates, config.yaml) to start from.
    ///
    /// Example:
    ///   firebreak procedures init procedures/ && firebreak procedures validate procedures/
    Init(InitArgs),
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The procedures directory.
    pub dir: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct InitArgs {
    /// Where to write it (created; must be empty or absent).
    pub dir: PathBuf,
}

/// The example directory (docs/procedures-example), built into the binary.
const EXAMPLE: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../docs/procedures-example/README.md")),
    ("config.yaml", include_str!("../../../docs/procedures-example/config.yaml")),
    ("trees/severity.yaml", include_str!("../../../docs/procedures-example/trees/severity.yaml")),
    ("playbooks/major-outage.md", include_str!("../../../docs/procedures-example/playbooks/major-outage.md")),
    ("playbooks/security-incident.md", include_str!("../../../docs/procedures-example/playbooks/security-incident.md")),
    ("contacts/executives.yaml", include_str!("../../../docs/procedures-example/contacts/executives.yaml")),
    ("contacts/security-team.yaml", include_str!("../../../docs/procedures-example/contacts/security-team.yaml")),
    ("templates/internal.md.j2", include_str!("../../../docs/procedures-example/templates/internal.md.j2")),
    (
        "templates/customer-initial.md.j2",
        include_str!("../../../docs/procedures-example/templates/customer-initial.md.j2"),
    ),
    ("templates/executive.md.j2", include_str!("../../../docs/procedures-example/templates/executive.md.j2")),
    ("postmortems/blameless.md", include_str!("../../../docs/procedures-example/postmortems/blameless.md")),
    ("drills/checkout-failover.yaml", include_str!("../../../docs/procedures-example/drills/checkout-failover.yaml")),
];

pub fn run(cmd: ProceduresCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProceduresCommand::Validate(a) => validate(&a.dir, a.json),
        ProceduresCommand::Init(a) => init(&a.dir),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn validate(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    match firebreak_server::app::procedures::load_dir(dir) {
        Ok(p) => {
            if json {
                let summary = serde_json::json!({
                    "ok": true,
                    "trees": p.trees.keys().collect::<Vec<_>>(),
                    "triage_tree": p.triage_tree,
                    "playbooks": p.playbooks.iter().map(|b| serde_json::json!({"name": b.name, "steps": b.steps.len(), "version": b.content_hash})).collect::<Vec<_>>(),
                    "contact_lists": p.contact_lists.keys().collect::<Vec<_>>(),
                    "templates": p.templates.keys().collect::<Vec<_>>(),
                    "drills": p.drills.values().map(|d| serde_json::json!({"name": d.name, "injects": d.injects.len(), "expectations": d.expectations.len(), "version": d.content_hash})).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "{}: {}, {}, {}, {}, {} — no problems",
                    dir.display(),
                    plural(p.trees.len(), "decision tree", "decision trees"),
                    plural(p.playbooks.len(), "playbook", "playbooks"),
                    plural(p.contact_lists.len(), "contact list", "contact lists"),
                    plural(p.templates.len(), "template", "templates"),
                    plural(p.drills.len(), "drill scenario", "drill scenarios"),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for e in &problems {
                let file = dir.join(&e.file);
                if e.line > 0 {
                    eprintln!("{}:{}: {}", file.display(), e.line, e.message);
                } else {
                    eprintln!("{}: {}", file.display(), e.message);
                }
            }
            eprintln!("{} in {}", plural(problems.len(), "problem", "problems"), dir.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn init(dir: &Path) -> anyhow::Result<ExitCode> {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{} exists and is not empty: choose a new directory", dir.display());
    }
    for (path, text) in EXAMPLE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    }
    println!(
        "wrote {} files to {}; check them with: firebreak procedures validate {}",
        EXAMPLE.len(),
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `firebreak triage INC-42`: walks the incident's decision tree in the terminal.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  firebreak triage INC-42                  # asks each question in the terminal\n  \
                        firebreak triage 42 --answer No --answer 'Yes, it is slow or partly broken' --answer Some\n  \
                        firebreak triage 42 --tree quick --json"
)]
pub struct TriageArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// Answer by its text (or its number, from 1), in order; asked in the terminal when the
    /// answers run out.
    #[arg(long = "answer", value_name = "ANSWER")]
    pub answers: Vec<String>,
    /// Another decision tree than the configured triage tree.
    #[arg(long)]
    pub tree: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Asks each question, sending the answers so far to the server, until the outcome is applied.
pub async fn run_triage(args: TriageArgs) -> anyhow::Result<ExitCode> {
    use std::io::{BufRead, IsTerminal, Write};
    let api = Api::new(&args.client)?;
    let path = format!("{}/triage", incident_path(&args.incident));
    let mut given: Vec<Value> = Vec::new();
    let mut scripted = args.answers.iter();
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    loop {
        let body = json!({ "answers": given, "tree": args.tree });
        let v = api.call(reqwest::Method::POST, &path, Some(body)).await?;
        if s(&v, "state") == "done" {
            api.print(&v, |v| {
                let o = &v["outcome"];
                println!(
                    "INC-{} triaged: {} ({} {}){}",
                    v["incident"]["number"],
                    printable(s(o, "id")),
                    s(o, "severity"),
                    s(o, "type"),
                    o["playbook"].as_str().map(|p| format!("; playbook {}", printable(p))).unwrap_or_default()
                );
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        let q = &v["question"];
        let answers: Vec<String> =
            q["answers"].as_array().into_iter().flatten().map(|a| printable(s(a, "answer"))).collect();
        let choice = match scripted.next() {
            Some(a) => a.clone(),
            None if interactive => {
                eprintln!("\n{}", printable(s(q, "text")));
                if let Some(help) = q["help"].as_str() {
                    eprintln!("  ({})", printable(help));
                }
                for (i, a) in answers.iter().enumerate() {
                    eprintln!("  {}. {a}", i + 1);
                }
                eprint!("answer (1-{}, or b to go back): ", answers.len());
                std::io::stderr().flush()?;
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    anyhow::bail!("no answer given; nothing was changed");
                }
                line.trim().to_owned()
            }
            None => {
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    anyhow::bail!(
                        "the tree asks {:?} and no answer is left (give it with --answer; one of: {}); nothing was changed",
                        printable(s(q, "text")),
                        answers.join(", ")
                    );
                }
                line.trim().to_owned()
            }
        };
        if choice.eq_ignore_ascii_case("b") && interactive {
            given.pop();
            continue;
        }
        // A number from 1 picks by position; anything else is the answer's text.
        match choice.parse::<usize>() {
            Ok(n) if (1..=answers.len()).contains(&n) => given.push(json!(n - 1)),
            _ => match answers.iter().position(|a| a.eq_ignore_ascii_case(choice.trim())) {
                Some(i) => given.push(json!(i)),
                None if interactive => {
                    eprintln!("{choice:?} is not one of the answers");
                    continue;
                }
                None => anyhow::bail!(
                    "{choice:?} is not an answer to {:?}; expected one of: {}; nothing was changed",
                    printable(s(q, "text")),
                    answers.join(", ")
                ),
            },
        }
    }
}

/// `firebreak incident checklist INC-42`.
#[derive(Args)]
#[command(after_help = "Examples:\n  firebreak incident checklist INC-42\n  firebreak incident checklist 42 --json")]
pub struct ChecklistArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `firebreak incident check INC-42 3 [--skip|--reopen]`.
#[derive(Args)]
#[command(after_help = "Examples:\n  firebreak incident check INC-42 1          # done\n  \
                        firebreak incident check INC-42 2 --skip\n  firebreak incident check INC-42 2 --reopen")]
pub struct CheckArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// The item's number as `firebreak incident checklist` shows it (from 1).
    pub item: u32,
    /// Mark it skipped instead of done.
    #[arg(long, conflicts_with = "reopen")]
    pub skip: bool,
    /// Open it again.
    #[arg(long)]
    pub reopen: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `firebreak incident run INC-42 3 --confirm`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  firebreak incident run INC-42 3 --confirm   # the playbook's failover request, or tell a contact list"
)]
pub struct RunArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// The item's number as `firebreak incident checklist` shows it (from 1): an action step
    /// (its HTTP request runs) or a notify step (its contact list is told).
    pub item: u32,
    /// Yes, run it: nothing runs without this.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs an action or notify step once a person confirms.
pub async fn run_step(args: RunArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    if args.item == 0 {
        anyhow::bail!("items are numbered from 1, as `firebreak incident checklist` shows them");
    }
    if !args.confirm {
        anyhow::bail!(
            "nothing was run: add --confirm to run this step (an action sends its request; a notify step tells its list)"
        );
    }
    let path = format!("{}/checklist/{}/run", incident_path(&args.incident), args.item - 1);
    let v = api.call(reqwest::Method::POST, &path, Some(json!({ "confirm": true }))).await?;
    api.print(&v, |v| {
        let item = &v["item"];
        let how = match v["status"].as_u64() {
            Some(status) => format!("HTTP {status}"),
            None => shown(v, "response"),
        };
        let verdict = if v["succeeded"].as_bool() == Some(true) { "done" } else { "failed (the step stays open)" };
        println!("{} {verdict}: {} — {how}", args.item, shown(item, "title"));
    })?;
    Ok(if v["succeeded"].as_bool() == Some(true) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `firebreak incident role INC-42 communications sam@example.com`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  firebreak incident role INC-42 commander ines@example.com\n  firebreak incident role INC-42 operations_lead --clear"
)]
pub struct RoleArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// commander, communications, scribe, operations_lead or a role declared in the
    /// procedures' config.yaml.
    pub role: String,
    /// Who takes it over (their email); the previous holder hands it over.
    #[arg(required_unless_present = "clear")]
    pub email: Option<String>,
    /// Leave the role empty.
    #[arg(long, conflicts_with = "email")]
    pub clear: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Gives a role to someone (a handover when someone held it), or clears it.
pub async fn role(args: RoleArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let role: String = args.role.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    let body = match &args.email {
        Some(email) => json!({ "email": email }),
        None => json!({ "user_id": null }),
    };
    let path = format!("{}/roles/{role}", incident_path(&args.incident));
    let v = api.call(reqwest::Method::PUT, &path, Some(body)).await?;
    api.print(&v, |v| {
        let roles = &v["roles"];
        let holder = roles.get(&role).or_else(|| roles["other"].get(&role)).and_then(|h| h["name"].as_str());
        match holder {
            Some(name) => println!("{}: {} is {}", shown(v, "label"), printable(name), role.replace('_', " ")),
            None => println!("{}: nobody is {}", shown(v, "label"), role.replace('_', " ")),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `firebreak incident playbook INC-42 NAME`.
#[derive(Args)]
#[command(after_help = "Examples:\n  firebreak incident playbook INC-42 major-outage")]
pub struct PlaybookArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// The playbook's name (see GET /api/v1/procedures or `firebreak procedures validate`).
    pub name: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

fn print_checklist(v: &Value) {
    if v["playbook"].is_null() {
        println!("no playbook attached (triage the incident, or: firebreak incident playbook ID NAME)");
        return;
    }
    let p = &v["playbook"];
    println!("{} ({}), version {}", s(p, "title"), s(p, "name"), s(p, "version").get(..12).unwrap_or(""));
    let items = v["items"].as_array().map(Vec::as_slice).unwrap_or_default();
    print_rows(&["#", "state", "phase", "step", "role", "due"], items, |i| {
        vec![
            (i["position"].as_u64().unwrap_or(0) + 1).to_string(),
            s(i, "state").to_owned(),
            s(i, "phase").to_owned(),
            s(i, "title").to_owned(),
            s(i, "role").to_owned(),
            s(i, "due_at").get(..16).unwrap_or("").replace('T', " "),
        ]
    });
}

pub async fn checklist(args: ChecklistArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let v = api.call(reqwest::Method::GET, &format!("{}/checklist", incident_path(&args.incident)), None).await?;
    api.print(&v, print_checklist)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    if args.item == 0 {
        anyhow::bail!("items are numbered from 1, as `firebreak incident checklist` shows them");
    }
    let state = if args.skip {
        "skipped"
    } else if args.reopen {
        "open"
    } else {
        "done"
    };
    let path = format!("{}/checklist/{}", incident_path(&args.incident), args.item - 1);
    let v = api.call(reqwest::Method::POST, &path, Some(json!({ "state": state }))).await?;
    api.print(&v, |v| println!("{} {}: {}", args.item, s(v, "state"), shown(v, "title")))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn attach(args: PlaybookArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let path = format!("{}/playbook", incident_path(&args.incident));
    let v = api.call(reqwest::Method::POST, &path, Some(json!({ "name": args.name }))).await?;
    api.print(&v, print_checklist)?;
    Ok(ExitCode::SUCCESS)
}
