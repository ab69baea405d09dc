//! `firebreak policy …`, `firebreak service set-policy` and `firebreak incident
//! escalate|reassign|paging`: escalation policies, which service pages with which, and
//! incidents' escalations, through a running server's API. Policy files name people by email,
//! id or `me` and schedules by name or id; they are resolved to ids and checked as the server
//! would check them before anything is sent.

use crate::client::{
    Api, ApiFailure, ClientArgs, Hints, clean_id, incident_path, print_json, print_rows, print_table, printable, s,
    when,
};
use crate::schedules::{People, entries, file_error, named_definition, parse_instant, rfc3339};
use anyhow::{anyhow, bail};
use chrono::DateTime;
use clap::Args;
use clap::Subcommand;
use firebreak_domain::Timestamp;
use firebreak_domain::escalation::{EscalationLevel, EscalationPolicy, EscalationPolicyDefinition};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a policy file is written; part of the help of `policy create`.
macro_rules! policy_file {
    () => {
        r#"A policy file (levels in order; each pages its targets, then waits delay_minutes for an acknowledgement):
  {
    "description": "database on-call",
    "levels": [
      {"targets": [{"schedule": "databases"}], "delay_minutes": 5},
      {"targets": ["lead@example.com", "me"], "round_robin": true, "delay_minutes": 15}
    ],
    "repeat": 1
  }
A target is a person — a string (user id, `me` or email address) or {"user": …} — or a schedule,
{"schedule": NAME-OR-ID}, meaning whoever it has on call when the level fires. The API's own form
{"type": "user"|"schedule", "id": …} is accepted too, with the same names. delay_minutes is 1 to
1440; round_robin pages one target per firing, in turn; repeat (0 to 9) runs the whole policy
again after its last level.
"#
    };
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// List escalation policies: their levels, repeats and the services that page with them.
    #[command(after_help = "Examples:\n  firebreak policy list\n  firebreak policy list --json")]
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a policy: each level's targets (people and schedules by name), delay and whether
    /// it pages all its targets or one in turn.
    #[command(after_help = "Examples:\n  firebreak policy show databases\n  firebreak policy show 0196…-uuid --json")]
    Show {
        /// The policy's id or its exact name (see `firebreak policy list`)
        policy: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a policy from a JSON file. People and schedules in it may be named (emails,
    /// `me`, schedule names): they are resolved to ids here.
    #[command(after_help = concat!(
        policy_file!(),
        "\n",
        crate::user_syntax!(),
        " Schedules are ids or exact names (see `firebreak schedule list`).",
        "\n\nExamples:\n  firebreak policy create databases --file databases-policy.json\n  \
firebreak policy create --file policy.json          # the name comes from the file's \"name\""
    ))]
    Create {
        /// A unique name, e.g. databases (default: the file's "name")
        name: Option<String>,
        /// The policy (JSON)
        #[arg(long, value_name = "POLICY.json")]
        file: PathBuf,
        /// A description (instead of the file's)
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Preview an escalation: every step, when it is due and whom it would page (schedules
    /// resolved to the person on call at that time). Times are UTC.
    #[command(after_help = concat!(
        crate::instant_syntax!(),
        "\n\nExamples:\n  firebreak policy plan databases\n  \
firebreak policy plan databases --start 2026-12-24T20:00:00Z\n  firebreak policy plan databases --start +2h --json"
    ))]
    Plan {
        /// The policy's id or its exact name
        policy: String,
        /// When the escalation would start (default now)
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
        start: Option<Timestamp>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a policy. A policy services page with cannot be deleted: point them elsewhere
    /// first (`firebreak service set-policy SERVICE none`).
    #[command(after_help = "Examples:\n  firebreak policy delete databases\n  firebreak policy delete 0196…-uuid")]
    Delete {
        /// The policy's id or its exact name
        policy: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `firebreak service set-policy SERVICE POLICY|none`.
#[derive(Debug, Args)]
#[command(after_help = "New incidents of the service escalate through the policy; `none` stops paging for it.\n\n\
Examples:\n  firebreak service set-policy checkout databases\n  firebreak service set-policy checkout none")]
pub struct SetPolicyArgs {
    /// The service's id or name
    service: String,
    /// The policy's id or exact name, or `none` to unset it
    policy: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// An incident named on the command line.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  firebreak incident escalate INC-42\n  firebreak incident paging INC-42 --json")]
pub struct IncidentRef {
    /// INC-42, 42 or the UUID
    id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `firebreak incident reassign ID --to USER`.
#[derive(Debug, Args)]
#[command(after_help = concat!(
    crate::user_syntax!(),
    "\n\nExamples:\n  firebreak incident reassign INC-42 --to carol@example.com\n  firebreak incident reassign INC-42 --to me"
))]
pub struct ReassignArgs {
    /// INC-42, 42 or the UUID
    id: String,
    /// Who to page: a user id, `me` or an email address
    #[arg(long, value_name = "USER")]
    to: String,
    #[command(flatten)]
    client: ClientArgs,
}

const HINTS: Hints = Hints {
    not_found: "see `firebreak policy list` for the policies and their ids",
    invalid: "see `firebreak policy create --help` (and docs/oncall.md) for how a policy is written",
    conflict: "see `firebreak policy list`",
};

const INCIDENT_HINTS: Hints = Hints {
    not_found: "see `firebreak incident list` for the incidents",
    invalid: "see `firebreak incident reassign --help`: --to must be an enabled user",
    conflict: "an incident escalates while it is open, when its service has a policy (`firebreak service set-policy`), \
               until every level has paged (see `firebreak incident paging ID`)",
};

/// A policy given by id or by exact name (names are unique), as the API shows it.
async fn find_policy(api: &Api, given: &str) -> anyhow::Result<Value> {
    api.find_named("/escalation-policies", given, "escalation policy", &HINTS).await
}

/// Every item of a listing.
async fn items(api: &Api, path: &str) -> anyhow::Result<Vec<Value>> {
    let value = api.request(Method::GET, path, None, &HINTS).await?;
    Ok(value["items"].as_array().cloned().unwrap_or_default())
}

/// The names of the services that page with policy `id`.
fn services_using(services: &[Value], id: &str) -> Vec<String> {
    let mut names: Vec<String> =
        services.iter().filter(|v| s(v, "escalation_policy_id") == id).map(|v| printable(s(v, "name"))).collect();
    names.sort_by_key(|n| n.to_lowercase());
    names
}

/// Names for the targets of policies: people and schedules.
struct Targets {
    people: People,
    schedules: Vec<Value>,
}

impl Targets {
    async fn fetch(api: &Api) -> anyhow::Result<Targets> {
        Ok(Targets { people: People::fetch(api).await?, schedules: items(api, "/schedules").await? })
    }

    fn schedule_name(&self, id: &str) -> String {
        match self.schedules.iter().find(|v| s(v, "id") == id) {
            Some(schedule) => format!("schedule {}", printable(s(schedule, "name"))),
            None => format!("schedule {}", printable(id)),
        }
    }

    /// A target (`{"type", "id"}`) as a person's name or `schedule NAME`.
    fn name(&self, target: &Value) -> String {
        match s(target, "type") {
            "user" => self.people.name_of(s(target, "id")),
            "schedule" => self.schedule_name(s(target, "id")),
            other => printable(other),
        }
    }

    /// The id of a schedule given by id or exact name.
    fn schedule_id(&self, given: &str) -> Result<String, String> {
        let given = given.trim();
        if let Ok(id) = uuid::Uuid::parse_str(given) {
            return Ok(id.to_string());
        }
        match self.schedules.iter().find(|v| s(v, "name") == given) {
            Some(schedule) => Ok(s(schedule, "id").to_owned()),
            None => Err(format!("no schedule named {:?} (see `firebreak schedule list`)", printable(given))),
        }
    }

    /// A target as the file writes it, as the API takes it.
    fn resolve(&self, target: &Value) -> Result<Value, String> {
        let person = |given: &Value| match given.as_str() {
            Some(given) => Ok(json!({"type": "user", "id": self.people.id_of(given)?})),
            None => Err("a person is a string: a user id, `me` or an email address".to_owned()),
        };
        let schedule = |given: &Value| match given.as_str() {
            Some(given) => Ok(json!({"type": "schedule", "id": self.schedule_id(given)?})),
            None => Err("a schedule is a string: its id or exact name".to_owned()),
        };
        let keys: Vec<&str> = target.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        match (target, keys.as_slice()) {
            (Value::String(_), _) => person(target),
            (_, ["user"]) => person(&target["user"]),
            (_, ["schedule"]) => schedule(&target["schedule"]),
            (_, ["id", "type"] | ["type", "id"]) => match s(target, "type") {
                "user" => person(&target["id"]),
                "schedule" => schedule(&target["id"]),
                other => Err(format!("type {:?}: a target's type is user or schedule", printable(other))),
            },
            _ => {
                Err("a target is a person (\"alice@example.com\", \"me\", {\"user\": …}) or {\"schedule\": NAME}"
                    .into())
            }
        }
    }
}

/// The keys a policy file may have.
const FILE_KEYS: [&str; 4] = ["name", "description", "levels", "repeat"];

/// A policy file as JSON with only the keys a policy has, and the policy's name.
fn read_policy(path: &Path, name: Option<String>) -> Result<(String, Value), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let file: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(keys) = file.as_object() else { return Err("not a JSON object ({ … })".into()) };
    if let Some(unknown) = keys.keys().find(|k| !FILE_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key {:?}; a policy has levels, and optionally repeat, description and name",
            printable(unknown)
        ));
    }
    match (name, file["name"].as_str()) {
        (Some(given), Some(named)) if given != named => Err(format!(
            "it names the policy {:?}, the command {:?}: remove \"name\" from the file or give the same name",
            printable(named),
            printable(&given)
        )),
        (Some(given), _) => Ok((given, file)),
        (None, Some(named)) => Ok((named.to_owned(), file)),
        (None, None) => Err("no name: give one after `create` or put \"name\" in the file".into()),
    }
}

/// A policy file's description and definition, its targets resolved to ids and checked as the
/// server would check it.
fn check_policy(mut file: Value, targets: &Targets) -> Result<(String, EscalationPolicyDefinition), String> {
    let levels = match file.get_mut("levels") {
        Some(Value::Array(levels)) => levels,
        None | Some(Value::Null) => return Err("levels is missing: a policy has 1 to 20 levels".into()),
        Some(_) => return Err("levels: must be a list ([ … ])".into()),
    };
    for (i, level) in levels.iter_mut().enumerate() {
        let Some(Value::Array(list)) = level.get_mut("targets") else { continue };
        for (j, target) in list.iter_mut().enumerate() {
            *target = targets.resolve(target).map_err(|e| format!("levels[{i}].targets[{j}]: {e}"))?;
        }
    }
    let description = match &file["description"] {
        Value::Null => String::new(),
        Value::String(d) => d.clone(),
        _ => return Err("description: must be a string".into()),
    };
    let repeat = match &file["repeat"] {
        Value::Null => 0,
        r => r.as_u64().and_then(|r| u32::try_from(r).ok()).ok_or("repeat: must be a whole number from 0 to 9")?,
    };
    let definition = EscalationPolicyDefinition { levels: entries::<EscalationLevel>(&file, "levels")?, repeat };
    EscalationPolicy::parse(definition.clone()).map_err(|e| e.to_string())?;
    Ok((description, definition))
}

fn mode(level: &Value) -> &'static str {
    if level["round_robin"].as_bool() == Some(true) { "one in turn" } else { "all" }
}

fn print_policy(v: &Value, targets: &Targets, services: &[Value]) {
    println!("policy {}", printable(s(v, "name")));
    println!("  id:           {}", printable(s(v, "id")));
    if !s(v, "description").is_empty() {
        println!("  description:  {}", printable(s(v, "description")));
    }
    let repeat = v["repeat"].as_u64().unwrap_or(0);
    let runs = match repeat {
        0 => "no (runs once)".to_owned(),
        1 => "once more after the last level".to_owned(),
        n => format!("{n} more times after the last level"),
    };
    println!("  repeat:       {runs}");
    let used = services_using(services, s(v, "id"));
    println!("  services:     {}", if used.is_empty() { "none".into() } else { used.join(", ") });
    println!("\nlevels:");
    let mut rows = vec![["LEVEL", "PAGES", "THEN WAITS", "TARGETS"].map(String::from).to_vec()];
    for (i, level) in v["levels"].as_array().into_iter().flatten().enumerate() {
        let names: Vec<String> = level["targets"].as_array().into_iter().flatten().map(|t| targets.name(t)).collect();
        rows.push(vec![
            (i + 1).to_string(),
            mode(level).into(),
            format!("{} min", level["delay_minutes"].as_u64().unwrap_or(0)),
            names.join(", "),
        ]);
    }
    print_table(&rows);
}

/// Whom one planned page reaches: the person, and the schedule it came through.
fn planned_page(page: &Value, targets: &Targets) -> String {
    let who = if page["user_id"].is_string() {
        match s(page, "email") {
            "" => printable(s(page, "name")),
            email => format!("{} <{}>", printable(s(page, "name")), printable(email)),
        }
    } else {
        "nobody".into()
    };
    match s(&page["target"], "type") {
        "schedule" => format!("{who} (via {})", targets.schedule_name(s(&page["target"], "id"))),
        _ => who,
    }
}

/// How long after `start` an RFC 3339 instant is, as `+1h05m`.
fn after(start: Option<&str>, at: &str) -> String {
    let parse = |t: &str| DateTime::parse_from_rfc3339(t).ok();
    let (Some(start), Some(at)) = (start.and_then(parse), parse(at)) else { return String::new() };
    let minutes = (at - start).num_minutes();
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("+{m}m"),
        (h, 0) => format!("+{h}h"),
        (h, m) => format!("+{h}h{m:02}m"),
    }
}

fn print_plan(steps: &[Value], targets: &Targets) {
    let mut rows = vec![["STEP", "LEVEL", "DUE AT (UTC)", "AFTER", "PAGES"].map(String::from).to_vec()];
    let start = steps.first().map(|step| s(step, "due_at"));
    for step in steps {
        let pages: Vec<String> =
            step["pages"].as_array().into_iter().flatten().map(|p| planned_page(p, targets)).collect();
        let pages = if step["round_robin"].as_bool() == Some(true) {
            format!("one in turn of: {}", pages.join(", "))
        } else {
            pages.join(", ")
        };
        rows.push(vec![
            (step["number"].as_u64().unwrap_or(0) + 1).to_string(),
            (step["level"].as_u64().unwrap_or(0) + 1).to_string(),
            when(step, "due_at"),
            after(start, s(step, "due_at")),
            pages,
        ]);
    }
    print_table(&rows);
}

pub async fn run_policy(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::List { client } => {
            let api = Api::new(&client)?;
            let value = api.request(Method::GET, "/escalation-policies", None, &HINTS).await?;
            let none = "no escalation policies (create one with `firebreak policy create`)";
            let Some(mut policies) = api.table_items(&value, none)? else { return Ok(ExitCode::SUCCESS) };
            policies.sort_by_key(|v| s(v, "name").to_lowercase());
            let services = items(&api, "/services").await?;
            print_rows(&["NAME", "LEVELS", "REPEAT", "SERVICES", "ID"], &policies, |v| {
                let used = services_using(&services, s(v, "id"));
                vec![
                    s(v, "name").into(),
                    v["levels"].as_array().map(Vec::len).unwrap_or(0).to_string(),
                    v["repeat"].as_u64().unwrap_or(0).to_string(),
                    if used.is_empty() { "-".into() } else { used.join(", ") },
                    s(v, "id").into(),
                ]
            });
        }
        PolicyCommand::Show { policy, client } => {
            let api = Api::new(&client)?;
            let view = find_policy(&api, &policy).await?;
            if api.json {
                print_json(&view)?;
                return Ok(ExitCode::SUCCESS);
            }
            let targets = Targets::fetch(&api).await?;
            print_policy(&view, &targets, &items(&api, "/services").await?);
        }
        PolicyCommand::Create { name, file, description, client } => {
            let api = Api::new(&client)?;
            let bad_file = |e| file_error(&file, e, &HINTS);
            let (name, written) = read_policy(&file, name).map_err(bad_file)?;
            let targets = Targets::fetch(&api).await?;
            let (described, definition) = check_policy(written, &targets).map_err(bad_file)?;
            let body = named_definition(&definition, &name, description.unwrap_or(described))?;
            let created = api.request(Method::POST, "/escalation-policies", Some(body), &HINTS).await?;
            api.print(&created, |v| print_policy(v, &targets, &[]))?;
        }
        PolicyCommand::Plan { policy, start, client } => {
            let api = Api::new(&client)?;
            let view = find_policy(&api, &policy).await?;
            let mut path = format!("/escalation-policies/{}/plan", clean_id(s(&view, "id")));
            if let Some(start) = start {
                path.push_str(&format!("?start={}", rfc3339(start)));
            }
            let plan = api.request(Method::GET, &path, None, &HINTS).await?;
            if api.json {
                print_json(&plan)?;
                return Ok(ExitCode::SUCCESS);
            }
            let targets = Targets::fetch(&api).await?;
            println!("escalation plan of policy {}", printable(s(&view, "name")));
            print_plan(plan["items"].as_array().map(Vec::as_slice).unwrap_or_default(), &targets);
        }
        PolicyCommand::Delete { policy, client } => {
            let api = Api::new(&client)?;
            let view = find_policy(&api, &policy).await?;
            let id = clean_id(s(&view, "id"));
            let name = printable(s(&view, "name"));
            match api.call(Method::DELETE, &format!("/escalation-policies/{id}"), None).await {
                Ok(_) => {}
                Err(e) if e.downcast_ref::<ApiFailure>().is_some_and(|f| f.status == 409) => {
                    let used = services_using(&items(&api, "/services").await?, &id);
                    let first = used.first().cloned().unwrap_or_else(|| "SERVICE".into());
                    let users = match used.len() {
                        0 => "a service".to_owned(),
                        1 => format!("the service {first}"),
                        _ => format!("the services {}", used.join(", ")),
                    };
                    bail!(
                        "policy {name} is in use by {users}: it cannot be deleted while services page with it\n\
                         hint: point each to another policy or unset it first, e.g. `firebreak service set-policy {first} none`"
                    );
                }
                Err(e) => return Err(HINTS.apply(e)),
            }
            api.print_deleted(&id, &format!("escalation policy {name} ({id})"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `firebreak service set-policy`.
pub async fn set_policy(args: SetPolicyArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let service = clean_id(&api.service_id(&args.service).await?);
    let policy = match args.policy.trim() {
        "none" => None,
        given => Some(find_policy(&api, given).await?),
    };
    let body = json!({"escalation_policy_id": policy.as_ref().map(|p| s(p, "id"))});
    let hints = Hints { not_found: "see `firebreak service list`", ..HINTS };
    let changed = api.request(Method::PATCH, &format!("/services/{service}"), Some(body), &hints).await?;
    api.print(&changed, |changed| match policy {
        Some(p) => {
            println!("service {} now escalates with policy {}", printable(s(changed, "name")), printable(s(&p, "name")))
        }
        None => println!(
            "service {} has no escalation policy: its new incidents page nobody",
            printable(s(changed, "name"))
        ),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The API path of an action on an incident.
fn incident_action(id: &str, action: &str) -> String {
    format!("{}/{action}", incident_path(id))
}

/// An incident's escalation state, its levels and steps counted from 1.
async fn print_escalation(api: &Api, incident: &str, state: &Value) {
    println!("escalation of {}", printable(incident));
    let policy =
        api.call(Method::GET, &format!("/escalation-policies/{}", clean_id(s(state, "policy_id"))), None).await;
    let levels = policy.as_ref().ok().and_then(|p| p["levels"].as_array()).map(Vec::len).unwrap_or(0);
    match &policy {
        Ok(p) => println!("  policy:      {} ({})", printable(s(p, "name")), printable(s(state, "policy_id"))),
        Err(_) => println!("  policy:      {}", printable(s(state, "policy_id"))),
    }
    println!("  state:       {}", printable(s(state, "state")));
    println!("  started:     {}", when(state, "started_at"));
    match state["last_step"].as_u64() {
        Some(step) if levels > 0 => println!(
            "  last step:   {} (level {}), due {}",
            step + 1,
            step % levels as u64 + 1,
            when(state, "last_due_at")
        ),
        Some(step) => println!("  last step:   {}, due {}", step + 1, when(state, "last_due_at")),
        None => println!("  last step:   none yet"),
    }
    match state["due_at"].as_str() {
        Some(_) => println!("  next step:   due {}", when(state, "due_at")),
        None => println!("  next step:   none (stopped)"),
    }
}

/// `firebreak incident escalate ID`.
pub async fn escalate(args: IncidentRef) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let state = api.request(Method::POST, &incident_action(&args.id, "escalate"), None, &INCIDENT_HINTS).await?;
    if api.json {
        print_json(&state)?;
    } else {
        println!("escalated {}: the next level was paged", printable(&args.id));
        print_escalation(&api, &args.id, &state).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// `firebreak incident reassign ID --to USER`.
pub async fn reassign(args: ReassignArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let people = People::fetch(&api).await?;
    let user = people.id_of(&args.to).map_err(|e| anyhow!("--to: {e}"))?;
    let body = json!({"user_id": user});
    api.request(Method::POST, &incident_action(&args.id, "reassign"), Some(body), &INCIDENT_HINTS).await?;
    if api.json {
        print_json(&json!({"incident": args.id, "user_id": user, "paged": true}))?;
    } else {
        println!("reassigned {}: paged {}", printable(&args.id), people.name_of(&user));
    }
    Ok(ExitCode::SUCCESS)
}

/// `firebreak incident paging ID`.
pub async fn paging(args: IncidentRef) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let value = api.request(Method::GET, &incident_action(&args.id, "escalation"), None, &INCIDENT_HINTS).await?;
    if api.json {
        print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    if value["escalation"].is_null() {
        println!(
            "{} has no escalation: it has no service, or its service has no escalation policy (see `firebreak service set-policy`)",
            printable(&args.id)
        );
    } else {
        print_escalation(&api, &args.id, &value["escalation"]).await;
    }
    let notifications = value["notifications"].as_array().cloned().unwrap_or_default();
    println!("\nnotifications:");
    if notifications.is_empty() {
        println!("none (people are notified on their verified contact methods; see docs/notifications.md)");
        return Ok(ExitCode::SUCCESS);
    }
    let people = People::fetch(&api).await?;
    let headers = ["DUE", "KIND", "TO", "CHANNEL", "STATUS", "ATTEMPTS", "SENT", "ERROR"];
    print_rows(&headers, &notifications, |n| {
        vec![
            when(n, "due_at"),
            s(n, "kind").into(),
            people.name_of(s(n, "user_id")),
            s(n, "channel").into(),
            s(n, "status").into(),
            n["attempts"].as_i64().unwrap_or(0).to_string(),
            if n["sent_at"].is_string() { when(n, "sent_at") } else { "-".into() },
            crate::client::one_line(s(n, "last_error"), 60),
        ]
    });
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::after;

    #[test]
    fn offsets_count_from_the_first_step() {
        let start = Some("2026-03-09T13:00:00Z");
        assert_eq!(after(start, "2026-03-09T13:00:00Z"), "+0m");
        assert_eq!(after(start, "2026-03-09T13:05:00Z"), "+5m");
        assert_eq!(after(start, "2026-03-09T15:00:00Z"), "+2h");
        assert_eq!(after(start, "2026-03-09T14:20:00Z"), "+1h20m");
        assert_eq!(after(None, "2026-03-09T14:20:00Z"), "");
    }
}
