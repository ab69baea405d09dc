//! `firebreak rule …` and `firebreak window …`: classification rules and maintenance windows
//! through a running server's API. Both select alerts with `--match` conditions, parsed and
//! checked (field names, regular expressions) before anything is sent.

use crate::client::{Api, ClientArgs, Hints, ServiceNames, clean_id, parse_duration, print_rows, printable, s, when};
use anyhow::bail;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::builder::PossibleValuesParser;
use clap::{ArgGroup, Subcommand};
use firebreak_domain::rules::{Condition, MatchOp};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::ExitCode;

/// How `--match` is written; part of the help of every command that takes it.
macro_rules! match_syntax {
    () => {
        "Conditions (--match, repeatable; an alert must pass every one):
  FIELD=VALUE        equal to VALUE            labels.team=payments
  FIELD~=REGEX       regex matches somewhere   'summary~=disk (full|low)'   (anchor with ^…$; (?i) ignores case)
  FIELD?             the field is present      'labels.env?'
  'FIELD in A,B,C'   one of the values         'severity in critical,error'
FIELD is summary, source, severity (the alert's own: critical, error, warning or info),
dedup_key, labels.NAME (Alertmanager and Grafana labels) or details.PATH.TO.FIELD."
    };
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];
const TYPES: [&str; 4] = ["outage", "degradation", "security", "other"];

#[derive(Subcommand)]
pub enum RuleCommand {
    /// List classification rules by position (lower runs first; a service's own rules run
    /// before global ones, and the first match wins).
    #[command(after_help = "Examples:\n  firebreak rule list\n  firebreak rule list --json")]
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a classification rule: new alerts that pass every --match set their incident's
    /// severity, type and tags, or are dropped.
    #[command(
        group(ArgGroup::new("action").required(true).multiple(true)
            .args(["set_type", "set_severity", "tags", "drop"])),
        after_help = concat!(
            match_syntax!(),
            "\n\nExamples:\n",
            "  firebreak rule add 'payments pages are critical' --match labels.team=payments --set-severity critical\n",
            "  firebreak rule add 'disk trouble' --service checkout --match 'summary~=(?i)disk (full|low)' \\\n",
            "      --match 'severity in critical,error' --set-type degradation --tag disk\n",
            "  firebreak rule add 'ignore staging' --match labels.env=staging --drop"
        )
    )]
    Add {
        /// A name for the rule, e.g. "payments pages are critical"
        name: String,
        /// Only alerts of this service (id or name); every service when omitted
        #[arg(long)]
        service: Option<String>,
        /// A condition on the alert (repeatable; see below)
        #[arg(long = "match", value_name = "CONDITION", value_parser = parse_match)]
        conditions: Vec<Condition>,
        /// Where it runs among the rules: lower first (the server's default is 100)
        #[arg(long)]
        position: Option<i64>,
        /// Set the incident's type
        #[arg(long, value_name = "TYPE", value_parser = PossibleValuesParser::new(TYPES))]
        set_type: Option<String>,
        /// Set the incident's severity
        #[arg(long, value_name = "SEVERITY", value_parser = PossibleValuesParser::new(SEVERITIES))]
        set_severity: Option<String>,
        /// Add a tag to the incident (repeatable)
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Drop matching alerts: accepted, stored nowhere, paging nobody
        #[arg(long, conflicts_with_all = ["set_type", "set_severity", "tags"])]
        drop: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a classification rule; alerts already classified keep what it set.
    #[command(after_help = "Examples:\n  firebreak rule delete 'ignore staging'\n  firebreak rule delete 0196…-uuid")]
    Delete {
        /// The rule's id or its exact name (see `firebreak rule list`)
        rule: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum WindowCommand {
    /// List maintenance windows and whether each is suppressing alerts now.
    #[command(after_help = "Examples:\n  firebreak window list\n  firebreak window list --json")]
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a maintenance window: while it is active, new alerts that pass every --match are
    /// kept as suppressed; they open no incident and page nobody.
    ///
    /// A window runs once from --from to --until (or for --for), or repeats that time range
    /// every day or week (--repeat daily|weekly, in UTC; it must be shorter than its period).
    #[command(after_help = concat!(
        match_syntax!(),
        "\n\nTimes are RFC 3339, e.g. 2026-05-01T22:00:00Z or 2026-05-02T00:00:00+02:00.\n",
        "\nExamples:\n",
        "  firebreak window add 'db upgrade' --service checkout --from 2026-05-01T22:00:00Z --until 2026-05-01T23:30:00Z\n",
        "  firebreak window add 'deploy' --for 30m --match labels.env=staging\n",
        "  firebreak window add 'nightly backup' --from 2026-05-01T02:00:00Z --for 1h --repeat daily --match 'summary~=(?i)backup'"
    ))]
    Add {
        /// A name for the window, e.g. "db upgrade"
        name: String,
        /// Only alerts of this service (id or name); every service when omitted
        #[arg(long)]
        service: Option<String>,
        /// A condition on the alert (repeatable; see below); none: every alert
        #[arg(long = "match", value_name = "CONDITION", value_parser = parse_match)]
        conditions: Vec<Condition>,
        /// When it starts (RFC 3339); now when omitted
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        /// When it ends (RFC 3339)
        #[arg(long, value_name = "TIME", value_parser = parse_time, required_unless_present = "length")]
        until: Option<DateTime<Utc>>,
        /// How long it lasts instead of --until, e.g. 90m or 2h
        #[arg(long = "for", id = "length", value_name = "DURATION", value_parser = parse_duration, conflicts_with = "until")]
        length: Option<std::time::Duration>,
        /// Whether the time range repeats
        #[arg(long, default_value = "once", value_parser = PossibleValuesParser::new(["once", "daily", "weekly"]))]
        repeat: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a maintenance window; alerts it suppressed stay suppressed.
    #[command(after_help = "Examples:\n  firebreak window delete 'db upgrade'\n  firebreak window delete 0196…-uuid")]
    Delete {
        /// The window's id or its exact name (see `firebreak window list`)
        window: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Parses one `--match` condition (see [`match_syntax`]) and checks it as the server would.
pub(crate) fn parse_match(text: &str) -> Result<Condition, String> {
    let usage = "write FIELD=VALUE, FIELD~=REGEX, FIELD? or 'FIELD in A,B'";
    let text = text.trim();
    let end = text.find(|c: char| c.is_whitespace() || matches!(c, '=' | '~' | '?' | '!')).unwrap_or(text.len());
    let (field, rest) = text.split_at(end);
    if field.is_empty() {
        return Err(format!("no field before the operator; {usage}"));
    }
    let op = if rest.starts_with("!=") {
        return Err("FIELD!=VALUE is not supported: a condition can test =, ~=, ? or in".into());
    } else if rest == "?" {
        MatchOp::Exists
    } else if let Some(pattern) = rest.strip_prefix("~=") {
        if pattern.is_empty() {
            return Err(format!("empty pattern after ~= (it would match everything; use '{field}?' to test presence)"));
        }
        MatchOp::Regex(pattern.to_owned())
    } else if let Some(value) = rest.strip_prefix('=') {
        MatchOp::Equals(value.to_owned())
    } else if let Some(list) =
        rest.trim_start().strip_prefix("in").filter(|l| l.is_empty() || l.starts_with(char::is_whitespace))
    {
        let values: Vec<String> = list.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
        if values.is_empty() {
            return Err(format!("no values after `in`; write e.g. '{field} in critical,error'"));
        }
        MatchOp::OneOf(values)
    } else {
        return Err(format!("no operator after {field:?}; {usage}"));
    };
    let condition = Condition { field: field.to_owned(), op };
    condition.validate().map_err(|e| e.to_string())?;
    Ok(condition)
}

/// A condition written back in `--match` form.
pub(crate) fn show_condition(c: &Condition) -> String {
    match &c.op {
        MatchOp::Equals(v) => format!("{}={v}", c.field),
        MatchOp::Regex(p) => format!("{}~={p}", c.field),
        MatchOp::Exists => format!("{}?", c.field),
        MatchOp::OneOf(vs) => format!("{} in {}", c.field, vs.join(",")),
    }
}

/// The conditions of a rule or window as one line.
fn show_conditions(v: &Value) -> String {
    let conditions: Vec<Condition> = serde_json::from_value(v["conditions"].clone()).unwrap_or_default();
    if conditions.is_empty() {
        "every alert".into()
    } else {
        conditions.iter().map(show_condition).collect::<Vec<_>>().join(" and ")
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write an RFC 3339 time such as 2026-05-01T22:00:00Z"))
}

fn show_actions(a: &Value) -> String {
    if a["drop"].as_bool() == Some(true) {
        return "drop".into();
    }
    let mut parts = Vec::new();
    if let Some(sev) = a["severity"].as_str() {
        parts.push(format!("severity {sev}"));
    }
    if let Some(kind) = a["type"].as_str() {
        parts.push(format!("type {kind}"));
    }
    let tags: Vec<&str> = a["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !tags.is_empty() {
        parts.push(format!("tags {}", tags.join(", ")));
    }
    parts.join("; ")
}

/// Service names by id, to show a rule's or window's scope.
async fn service_names(api: &Api) -> anyhow::Result<ServiceNames> {
    Ok(ServiceNames::of_listing(&api.call(Method::GET, "/services", None).await?))
}

fn scope(v: &Value, names: &ServiceNames) -> String {
    match v["service_id"].as_str() {
        None => "all services".into(),
        Some(id) => names.of(id),
    }
}

/// The items of the rules or windows listing at `path` for a table (`None`: nothing is left to
/// print), with the names of the services they are limited to.
async fn listing(
    api: &Api,
    path: &str,
    none: &str,
    hints: &Hints,
) -> anyhow::Result<Option<(Vec<Value>, ServiceNames)>> {
    let value = api.request(Method::GET, path, None, hints).await?;
    let Some(items) = api.table_items(&value, none)? else { return Ok(None) };
    Ok(Some((items, service_names(api).await?)))
}

/// The service a new rule or window is limited to, given by id or name (none: every service):
/// its id, and its name as given to show it.
async fn limited_to(
    api: &Api,
    service: Option<String>,
    hints: &Hints,
) -> anyhow::Result<(Option<String>, ServiceNames)> {
    match service {
        Some(name) => {
            let id = api.service_id(&name).await.map_err(|e| hints.apply(e))?;
            Ok((Some(id.clone()), ServiceNames::one(id, name)))
        }
        None => Ok((None, ServiceNames::default())),
    }
}

/// Deletes the rule or window given by id or exact name from the collection at `path`.
async fn delete(api: &Api, path: &str, given: &str, what: &str, hints: &Hints) -> anyhow::Result<()> {
    let id = resolve(api, path, given, what, hints).await?;
    api.request(Method::DELETE, &format!("{path}/{id}"), None, hints).await?;
    api.print_deleted(&id, &format!("{what} {id}"))
}

const RULE_HINTS: Hints = Hints {
    not_found: "see `firebreak rule list` for the rules and their ids",
    invalid: "see `firebreak rule add --help` for the --match syntax and the actions",
    conflict: "see `firebreak rule list`",
};

const WINDOW_HINTS: Hints = Hints {
    not_found: "see `firebreak window list` for the windows and their ids",
    invalid: "see `firebreak window add --help` for the --match syntax and the times",
    conflict: "see `firebreak window list`",
};

/// The id of a rule or window given by id or by exact name, from the listing at `path`.
async fn resolve(api: &Api, path: &str, given: &str, what: &str, hints: &Hints) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(given.trim()).is_ok() {
        return Ok(clean_id(given.trim()));
    }
    let all = api.request(Method::GET, path, None, hints).await?;
    let named: Vec<&Value> = all["items"].as_array().into_iter().flatten().filter(|v| s(v, "name") == given).collect();
    match named.as_slice() {
        [one] => Ok(clean_id(s(one, "id"))),
        [] => bail!("no {what} with the id or name {:?}\nhint: {}", printable(given), hints.not_found),
        _ => bail!("several {what}s are named {:?}: give the id\nhint: {}", printable(given), hints.not_found),
    }
}

fn print_rule(v: &Value, names: &ServiceNames) {
    println!("rule {}", printable(s(v, "name")));
    println!("  id:          {}", printable(s(v, "id")));
    println!("  scope:       {}", printable(&scope(v, names)));
    println!("  position:    {}", v["position"].as_i64().unwrap_or_default());
    println!("  conditions:  {}", printable(&show_conditions(v)));
    println!("  actions:     {}", printable(&show_actions(&v["actions"])));
}

pub async fn run_rule(cmd: RuleCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RuleCommand::List { client } => {
            let api = Api::new(&client)?;
            let none = "no rules (add one with `firebreak rule add`)";
            let Some((items, names)) = listing(&api, "/rules", none, &RULE_HINTS).await? else {
                return Ok(ExitCode::SUCCESS);
            };
            print_rows(&["POS", "NAME", "SCOPE", "CONDITIONS", "ACTIONS", "ID"], &items, |r| {
                vec![
                    r["position"].as_i64().unwrap_or_default().to_string(),
                    s(r, "name").into(),
                    scope(r, &names),
                    show_conditions(r),
                    show_actions(&r["actions"]),
                    s(r, "id").into(),
                ]
            });
        }
        RuleCommand::Add { name, service, conditions, position, set_type, set_severity, tags, drop, client } => {
            let api = Api::new(&client)?;
            let (service_id, names) = limited_to(&api, service, &RULE_HINTS).await?;
            let body = json!({
                "name": name,
                "service_id": service_id,
                "position": position,
                "conditions": conditions,
                "actions": {"severity": set_severity, "type": set_type, "tags": tags, "drop": drop},
            });
            let created = api.request(Method::POST, "/rules", Some(body), &RULE_HINTS).await?;
            api.print(&created, |v| print_rule(v, &names))?;
        }
        RuleCommand::Delete { rule, client } => {
            delete(&Api::new(&client)?, "/rules", &rule, "rule", &RULE_HINTS).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_window(v: &Value, names: &ServiceNames) {
    println!("window {}", printable(s(v, "name")));
    println!("  id:          {}", printable(s(v, "id")));
    println!("  scope:       {}", printable(&scope(v, names)));
    println!("  starts:      {} UTC", when(v, "starts_at"));
    println!("  ends:        {} UTC", when(v, "ends_at"));
    println!("  repeats:     {}", printable(s(v, "recurrence")));
    println!("  active now:  {}", if v["active"].as_bool() == Some(true) { "yes" } else { "no" });
    println!("  conditions:  {}", printable(&show_conditions(v)));
}

pub async fn run_window(cmd: WindowCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WindowCommand::List { client } => {
            let api = Api::new(&client)?;
            let none = "no maintenance windows (add one with `firebreak window add`)";
            let Some((items, names)) = listing(&api, "/maintenance-windows", none, &WINDOW_HINTS).await? else {
                return Ok(ExitCode::SUCCESS);
            };
            let headers = ["NAME", "SCOPE", "STARTS (UTC)", "ENDS (UTC)", "REPEATS", "ACTIVE", "CONDITIONS", "ID"];
            print_rows(&headers, &items, |w| {
                vec![
                    s(w, "name").into(),
                    scope(w, &names),
                    when(w, "starts_at"),
                    when(w, "ends_at"),
                    s(w, "recurrence").into(),
                    if w["active"].as_bool() == Some(true) { "yes" } else { "no" }.into(),
                    show_conditions(w),
                    s(w, "id").into(),
                ]
            });
        }
        WindowCommand::Add { name, service, conditions, from, until, length, repeat, client } => {
            let api = Api::new(&client)?;
            let starts = from.unwrap_or_else(Utc::now);
            let ends = match (until, length) {
                (Some(t), _) => t,
                (None, Some(d)) => starts + chrono::TimeDelta::from_std(d)?,
                (None, None) => bail!("give --until TIME or --for DURATION"),
            };
            let (service_id, names) = limited_to(&api, service, &WINDOW_HINTS).await?;
            let body = json!({
                "name": name,
                "service_id": service_id,
                "conditions": conditions,
                "starts_at": starts.to_rfc3339_opts(SecondsFormat::Secs, true),
                "ends_at": ends.to_rfc3339_opts(SecondsFormat::Secs, true),
                "recurrence": repeat,
            });
            let created = api.request(Method::POST, "/maintenance-windows", Some(body), &WINDOW_HINTS).await?;
            api.print(&created, |v| print_window(v, &names))?;
        }
        WindowCommand::Delete { window, client } => {
            let api = Api::new(&client)?;
            delete(&api, "/maintenance-windows", &window, "maintenance window", &WINDOW_HINTS).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Condition {
        parse_match(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn match_syntax_round_trips() {
        let cases = [
            ("labels.team=payments", "labels.team", MatchOp::Equals("payments".into())),
            ("summary~=disk (full|low)", "summary", MatchOp::Regex("disk (full|low)".into())),
            ("labels.env?", "labels.env", MatchOp::Exists),
            ("severity in critical, error", "severity", MatchOp::OneOf(vec!["critical".into(), "error".into()])),
            ("details.a.b=x=y", "details.a.b", MatchOp::Equals("x=y".into())),
            ("summary=logged in", "summary", MatchOp::Equals("logged in".into())),
            ("source=", "source", MatchOp::Equals(String::new())),
        ];
        for (text, field, op) in cases {
            let c = parsed(text);
            assert_eq!(c, Condition { field: field.into(), op }, "{text}");
            assert_eq!(parsed(&show_condition(&c)), c, "{text}");
        }
    }

    #[test]
    fn bad_matches_say_what_to_write() {
        for (text, needle) in [
            ("labels.team", "no operator"),
            ("=x", "no field"),
            ("summary~=(", "regular expression"),
            ("summary~=", "empty pattern"),
            ("severity in ", "no values"),
            ("colour=red", "unknown field"),
            ("labels.=x", "unknown field"),
            ("summary!=x", "not supported"),
        ] {
            let err = parse_match(text).err().unwrap_or_else(|| panic!("{text} should be refused"));
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
