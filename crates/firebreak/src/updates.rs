//! `firebreak incident update|updates`: stakeholder updates of an incident, written from the
//! procedures' templates — previewed (nothing changes), sent to contact lists, or recorded as
//! customer-facing drafts — and the cadence they are due on.

use crate::client::{Api, ClientArgs, Hints, incident_path, print_json, print_rows, printable, s, shown, when};
use anyhow::Context;
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// `firebreak incident update INC-42 --template NAME …`.
#[derive(Args)]
#[command(after_help = "Examples:\n  \
                        firebreak incident update INC-42 --template executive --message 'Payments fail for EU cards' --preview\n  \
                        firebreak incident update INC-42 --template executive --message-file impact.md\n  \
                        firebreak incident update 42 --template internal --to security-team --message 'Contained'\n  \
                        firebreak incident update 42 --template customer-initial   # a draft to publish by hand\n\n\
                        The templates and contact lists: firebreak incident updates INC-42")]
pub struct UpdateArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    /// The update template's name (see `firebreak incident updates ID`).
    #[arg(long, short = 't')]
    pub template: String,
    /// Your words (Markdown), given to the template as `message`.
    #[arg(long, short = 'm', conflicts_with = "message_file")]
    pub message: Option<String>,
    /// Read the message from this file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub message_file: Option<PathBuf>,
    /// Send to this contact list instead of the template's own (repeatable).
    #[arg(long = "to", value_name = "LIST")]
    pub to: Vec<String>,
    /// Show the subject, recipients and body without sending or recording anything.
    #[arg(long)]
    pub preview: bool,
    /// The checklist item this update fulfils (its number in `firebreak incident checklist`):
    /// checked off once the update is sent.
    #[arg(long, value_name = "ITEM", value_parser = clap::value_parser!(u32).range(1..))]
    pub step: Option<u32>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `firebreak incident updates INC-42`.
#[derive(Args)]
#[command(after_help = "Examples:\n  firebreak incident updates INC-42\n  firebreak incident updates 42 --json")]
pub struct UpdatesArgs {
    /// The incident: INC-42, 42 or its id.
    pub incident: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

const HINTS: Hints = Hints {
    not_found: "see `firebreak incident list` for the incidents",
    invalid: "see `firebreak incident updates ID` for the templates and contact lists",
    conflict: "see `firebreak incident show ID`",
};

fn updates_path(incident: &str) -> String {
    format!("{}/updates", incident_path(incident))
}

fn message(args: &UpdateArgs) -> anyhow::Result<String> {
    match (&args.message, &args.message_file) {
        (Some(m), _) => Ok(m.clone()),
        (None, Some(path)) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read the message from standard input")?;
            Ok(text)
        }
        (None, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read the message from {}", path.display()))
        }
        (None, None) => Ok(String::new()),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(printable).collect()
}

/// Each line of `text`, indented and safe to print.
fn print_body(text: &str) {
    for line in text.lines() {
        println!("  {}", printable(line));
    }
}

fn print_preview(v: &Value) {
    println!("preview of the {} update (template {}): nothing was sent", shown(v, "audience"), shown(v, "template"));
    println!("subject:     {}", shown(v, "subject"));
    let to = strings(v, "to");
    if v["draft"].as_bool() == Some(true) {
        println!("to:          nobody: a customer-facing update is recorded as a draft for you to publish by hand");
    } else if to.is_empty() {
        println!("to:          the timeline only (no contact lists)");
    } else {
        let recipients = strings(v, "recipients");
        println!("to:          {}", to.join(", "));
        println!(
            "recipients:  {}",
            if recipients.is_empty() { "nobody (the lists are empty)".to_owned() } else { recipients.join(", ") }
        );
    }
    if v["next_due"].is_string() {
        println!("next update: {}", when(v, "next_due"));
    }
    println!();
    print_body(s(v, "body"));
}

fn print_sent(v: &Value) {
    if v["draft"].as_bool() == Some(true) {
        println!("recorded a customer-facing draft (publish it by hand)");
        println!("\nsubject: {}\n", shown(v, "subject"));
        print_body(s(v, "body"));
        println!();
    } else {
        let to = strings(v, "to");
        let audience = shown(v, "audience");
        if to.is_empty() {
            println!("sent the {audience} update to the timeline only (no contact lists)");
        } else {
            let addresses = v["recipients"].as_array().map_or(0, |a| a.len() as u64);
            println!("sent the {audience} update to {} ({})", to.join(", "), plural(addresses, "address", "addresses"));
        }
    }
    if v["next_due"].is_string() {
        println!("next update due by {}", when(v, "next_due"));
    }
}

/// Previews or sends one update.
pub async fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let message = message(&args)?;
    let to = if args.to.is_empty() { Value::Null } else { json!(args.to) };
    let mut body = json!({"template": args.template, "message": message, "to": to});
    if let Some(step) = args.step.filter(|_| !args.preview) {
        body["step"] = json!(step - 1);
    }
    let path =
        if args.preview { format!("{}/preview", updates_path(&args.incident)) } else { updates_path(&args.incident) };
    let v = api.request(Method::POST, &path, Some(body), &HINTS).await?;
    api.print(&v, if args.preview { print_preview } else { print_sent })?;
    Ok(ExitCode::SUCCESS)
}

fn print_cadence(c: &Value) {
    if c.is_null() {
        println!("cadence:  none (no update cadence for this severity, or the incident is not open)");
        return;
    }
    let every = c["every_minutes"].as_u64().unwrap_or(0);
    let mut line =
        format!("cadence:  every {}; next update due {}", plural(every, "minute", "minutes"), when(c, "due_at"));
    if c["late"].as_bool() == Some(true) {
        line.push_str(" (late");
        if c["escalated"].as_bool() == Some(true) {
            line.push_str("; reminded and escalated");
        } else if c["reminded"].as_bool() == Some(true) {
            line.push_str("; the communications lead was reminded");
        }
        line.push(')');
    }
    println!("{line}");
}

/// Lists the templates, the cadence and the updates sent.
pub async fn updates(args: UpdatesArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let v = api.request(Method::GET, &updates_path(&args.incident), None, &HINTS).await?;
    if api.json {
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_cadence(&v["cadence"]);
    println!("\ntemplates:");
    let templates = v["templates"].as_array().cloned().unwrap_or_default();
    if templates.is_empty() {
        println!("none (add them to the procedures' templates/ folder)");
    } else {
        print_rows(&["NAME", "AUDIENCE", "TO", "DESCRIPTION"], &templates, |t| {
            let to = if t["draft"].as_bool() == Some(true) {
                "(draft, not sent)".to_owned()
            } else {
                let lists = strings(t, "to");
                if lists.is_empty() { "-".to_owned() } else { lists.join(", ") }
            };
            vec![s(t, "name").into(), s(t, "audience").into(), to, s(t, "description").into()]
        });
    }
    let lists = strings(&v, "lists");
    println!("\ncontact lists: {}", if lists.is_empty() { "none".to_owned() } else { lists.join(", ") });
    println!("\nsent:");
    let sent = v["sent"].as_array().cloned().unwrap_or_default();
    if sent.is_empty() {
        println!("no updates yet");
    } else {
        print_rows(&["AT", "BY", "AUDIENCE", "TEMPLATE", "TO", "SUBJECT"], &sent, |u| {
            let to = strings(u, "to");
            let to = if to.is_empty() { "(draft)".to_owned() } else { to.join(", ") };
            vec![
                when(u, "at"),
                s(u, "by").into(),
                s(u, "audience").into(),
                s(u, "template").into(),
                to,
                s(u, "subject").into(),
            ]
        });
    }
    Ok(ExitCode::SUCCESS)
}
