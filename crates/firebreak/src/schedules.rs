//! `firebreak oncall` and `firebreak schedule …`: who is on call, on-call schedules, their
//! shifts and overrides, through a running server's API. Definition files are read and checked
//! here (people named by email resolved to ids, the definition parsed as the server would)
//! before anything is sent; times are shown in each schedule's own time zone.

use crate::client::{
    Api, ApiFailure, ClientArgs, Hints, clean_id, parse_duration, print_json, print_rows, print_table, printable, s,
};
use anyhow::bail;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use clap::{ArgGroup, Args, Subcommand};
use firebreak_domain::schedule::{LayerDefinition, OnCallSchedule, Override, ScheduleDefinition};
use firebreak_domain::{Timestamp, UserId};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How instants are written; part of the help of every command that takes one.
#[macro_export]
macro_rules! instant_syntax {
    () => {
        "Instants are RFC 3339 (2026-03-09T13:00:00Z, 2026-03-09T09:00:00-04:00), `now`, or now plus or \
minus a length of time: +2h, -30m, +7d (units s, m, h, d)."
    };
}

/// How people are named; part of the help of every command that takes one.
#[macro_export]
macro_rules! user_syntax {
    () => {
        "People are user ids, `me`, or email addresses. Email addresses are looked up with \
GET /api/v1/users, which only an admin's token may call; with another token give ids (or `me`)."
    };
}

/// Who is on call now, or at `--at`, on every schedule.
#[derive(Debug, Args)]
#[command(after_help = concat!(
    "WHY says what put them there: layer N (0 is the lowest layer; see `firebreak schedule show`), \
an override, or the schedule's fallback. \"nobody\" means a gap nothing covers.\n\n",
    instant_syntax!(),
    "\n\nExamples:\n  firebreak oncall\n  firebreak oncall --at 2026-12-24T20:00:00Z\n  firebreak oncall --at +8h --json"
))]
pub struct OncallArgs {
    /// The instant to ask about (default now)
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
    at: Option<Timestamp>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// List on-call schedules and who is on call on each now.
    #[command(after_help = "Examples:\n  firebreak schedule list\n  firebreak schedule list --json")]
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a schedule: its layers, overrides and fallback, who is on call now, and the shifts
    /// of the next 7 days (in the schedule's time zone).
    #[command(
        after_help = "Examples:\n  firebreak schedule show databases\n  firebreak schedule show 0196…-uuid --json"
    )]
    Show {
        /// The schedule's id or its exact name (see `firebreak schedule list`)
        schedule: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a schedule from a JSON definition file: its time zone, layers (lowest first; the
    /// highest covering an instant decides), optional overrides, fallback and description.
    /// docs/oncall.md explains the model.
    #[command(after_help = concat!(
        "A definition file (layer members, fallback and override people: see below):\n",
        r#"  {
    "description": "database on-call",
    "time_zone": "America/New_York",
    "layers": [
      {"name": "primary", "members": ["alice@example.com", "bob@example.com"],
       "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2026-03-02T09:00"},
      {"name": "business hours", "members": ["carol@example.com"],
       "rotation_length": 1, "rotation_unit": "weeks", "starts_at": "2026-03-02T00:00",
       "restrictions": [{"kind": "daily", "start": "09:00", "end": "17:00"}]}
    ],
    "fallback": "dave@example.com"
  }"#,
        "\nrotation_unit is hours, days or weeks; starts_at is a wall-clock time in the time zone.\n\
Restrictions: {\"kind\": \"daily\", \"start\": \"22:00\", \"end\": \"06:00\"} or\n\
{\"kind\": \"weekly\", \"start_day\": \"friday\", \"start\": \"18:00\", \"end_day\": \"monday\", \"end\": \"08:00\"}.\n",
        user_syntax!(),
        "\n\nExamples:\n  firebreak schedule create databases --file databases.json\n  \
firebreak schedule create 'edge network' --file edge.json --description 'CDN and DNS'"
    ))]
    Create {
        /// A unique name, e.g. databases
        name: String,
        /// The definition (JSON)
        #[arg(long, value_name = "DEF.json")]
        file: PathBuf,
        /// A description (instead of the file's)
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List who is on call over a range, shift by shift (default: the next 14 days), in the
    /// schedule's time zone.
    #[command(after_help = concat!(
        instant_syntax!(),
        " A range is at most 400 days.\n\nExamples:\n  firebreak schedule shifts databases\n  \
firebreak schedule shifts databases --from 2026-03-07T00:00:00Z --to 2026-03-10T00:00:00Z\n  \
firebreak schedule shifts databases --to +2d --json"
    ))]
    Shifts {
        /// The schedule's id or its exact name
        schedule: String,
        /// Start of the range (default now)
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
        from: Option<Timestamp>,
        /// End of the range (default 14 days after its start)
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
        to: Option<Timestamp>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Put someone on call from --start to --end (or for --for): over whoever is on call, or,
    /// with --replaces, only where that person would be. The override added last wins.
    #[command(
        group(ArgGroup::new("until").required(true).args(["end", "length"])),
        after_help = concat!(
            instant_syntax!(),
            "\n",
            user_syntax!(),
            "\n\nExamples:\n  firebreak schedule override databases --user me --for 2h\n  \
firebreak schedule override databases --user carol@example.com --replaces bob@example.com \\\n      \
--start 2026-03-10T18:00:00Z --end 2026-03-11T06:00:00Z"
        )
    )]
    Override {
        /// The schedule's id or its exact name
        schedule: String,
        /// Who goes on call: a user id, `me` or an email address
        #[arg(long, value_name = "USER")]
        user: String,
        /// Only where this person would be on call (id, `me` or email)
        #[arg(long, value_name = "USER")]
        replaces: Option<String>,
        /// When it starts (default now)
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
        start: Option<Timestamp>,
        /// When it ends
        #[arg(long, value_name = "INSTANT", value_parser = parse_instant, allow_hyphen_values = true)]
        end: Option<Timestamp>,
        /// How long it lasts instead of --end, e.g. 90m or 2h
        #[arg(long = "for", id = "length", value_name = "DURATION", value_parser = parse_duration)]
        length: Option<std::time::Duration>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a schedule.
    #[command(after_help = "Examples:\n  firebreak schedule delete databases\n  firebreak schedule delete 0196…-uuid")]
    Delete {
        /// The schedule's id or its exact name
        schedule: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// An instant from the command line (see [`instant_syntax`]).
pub(crate) fn parse_instant(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let now = Utc::now();
    let shifted = |rest: &str, sign: i32| {
        let length = parse_duration(rest).and_then(|d| TimeDelta::from_std(d).map_err(|e| e.to_string()))?;
        Ok(if sign < 0 { now - length } else { now + length })
    };
    if text == "now" {
        Ok(now)
    } else if let Some(rest) = text.strip_prefix('+') {
        shifted(rest, 1)
    } else if let Some(rest) = text.strip_prefix('-') {
        shifted(rest, -1)
    } else {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| {
            format!("{e}; write an RFC 3339 time such as 2026-03-09T13:00:00Z, `now`, or a length from now such as +2h or -30m")
        })
    }
}

/// An instant as the API takes it in a query or a body.
pub(crate) fn rfc3339(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

const HINTS: Hints = Hints {
    not_found: "see `firebreak schedule list` for the schedules and their ids",
    invalid: "see `firebreak schedule create --help` (and docs/oncall.md) for how a schedule is written",
    conflict: "see `firebreak schedule list`",
};

const OVERRIDE_HINTS: Hints = Hints {
    invalid: "see `firebreak schedule override --help`: the end must come after the start, and people must be users",
    ..HINTS
};

const SHIFT_HINTS: Hints = Hints {
    invalid: "--to must come after --from, at most 400 days later (see `firebreak schedule shifts --help`)",
    ..HINTS
};

/// A schedule given by id or by exact name (names are unique), as the API shows it.
pub(crate) async fn find_schedule(api: &Api, given: &str) -> anyhow::Result<Value> {
    api.find_named("/schedules", given, "schedule", &HINTS).await
}

/// The users the command line can name: every user when the token may list them (an admin's),
/// else only the caller.
pub(crate) struct People {
    users: Vec<Value>,
    me: String,
    everyone: bool,
}

impl People {
    pub(crate) async fn fetch(api: &Api) -> anyhow::Result<People> {
        let me = api.request(Method::GET, "/me", None, &HINTS).await?;
        let my_id = s(&me, "id").to_owned();
        match api.call(Method::GET, "/users", None).await {
            Ok(all) => {
                let users = all["items"].as_array().cloned().unwrap_or_default();
                Ok(People { users, me: my_id, everyone: true })
            }
            Err(e) if e.downcast_ref::<ApiFailure>().is_some_and(|f| f.status == 403) => {
                Ok(People { users: vec![me], me: my_id, everyone: false })
            }
            Err(e) => Err(HINTS.apply(e)),
        }
    }

    /// The id of a user given as an id, `me` or an email address.
    pub(crate) fn id_of(&self, given: &str) -> Result<String, String> {
        let given = given.trim();
        if let Ok(id) = uuid::Uuid::parse_str(given) {
            return Ok(id.to_string());
        }
        if given == "me" {
            return Ok(self.me.clone());
        }
        if !given.contains('@') {
            return Err(format!("{:?} is not a user id, `me` or an email address", printable(given)));
        }
        match self.users.iter().find(|u| s(u, "email").eq_ignore_ascii_case(given)) {
            Some(user) => Ok(s(user, "id").to_owned()),
            None if self.everyone => Err(format!("no user has the email address {}", printable(given))),
            None => Err(format!(
                "cannot look up {}: only an admin's token may list users, so give the user's id (or `me`)",
                printable(given)
            )),
        }
    }

    /// `Name <email>` of a user id, or the id when the user is not known here.
    pub(crate) fn name_of(&self, id: &str) -> String {
        match self.users.iter().find(|u| s(u, "id") == id) {
            Some(user) => person(user),
            None => printable(id),
        }
    }
}

/// A user or an on-call answer as `Name <email>`; `nobody` for `null`.
pub(crate) fn person(v: &Value) -> String {
    if v.is_null() {
        return "nobody".into();
    }
    match s(v, "email") {
        "" => printable(s(v, "name")),
        email => format!("{} <{}>", printable(s(v, "name")), printable(email)),
    }
}

/// Why someone is on call, from an on-call answer's `source`.
fn why(on_call: &Value) -> String {
    let source = &on_call["source"];
    match (s(source, "kind"), source["index"].as_u64()) {
        // Counted from 1, as the web pages count them (the API's index is from 0).
        ("layer", Some(i)) => format!("layer {}", i + 1),
        ("", _) => "-".into(),
        (kind, _) => kind.to_owned(),
    }
}

/// Shows instants as wall-clock times in a schedule's zone (in UTC when the stored definition
/// cannot be read, say from a newer server).
struct WallClock {
    schedule: Option<OnCallSchedule>,
}

impl WallClock {
    fn of(view: &Value) -> WallClock {
        let definition = json!({
            "time_zone": view["time_zone"],
            "layers": view["layers"],
            "overrides": view["overrides"],
            "fallback": view["fallback"],
        });
        let parsed = serde_json::from_value(definition).ok().and_then(|d| OnCallSchedule::parse(d).ok());
        WallClock { schedule: parsed }
    }

    fn zone(&self) -> String {
        self.schedule.as_ref().map(|s| s.definition().time_zone.clone()).unwrap_or_else(|| "UTC".into())
    }

    /// The header of a table of time ranges: FROM and TO in this zone, then `rest`.
    fn headers(&self, rest: &[&str]) -> Vec<String> {
        let zone = self.zone();
        let range = [format!("FROM ({zone})"), format!("TO ({zone})")];
        range.into_iter().chain(rest.iter().map(|h| (*h).to_owned())).collect()
    }

    /// An RFC 3339 instant as `Mon 2026-03-09 09:00`.
    fn show(&self, at: &str) -> String {
        const FORMAT: &str = "%a %Y-%m-%d %H:%M";
        let Ok(utc) = DateTime::parse_from_rfc3339(at) else { return printable(at) };
        match &self.schedule {
            Some(schedule) => match std::time::SystemTime::from(utc).try_into() {
                Ok(instant) => schedule.time_zone().to_datetime(instant).strftime(FORMAT).to_string(),
                Err(_) => printable(at),
            },
            None => utc.with_timezone(&Utc).format(FORMAT).to_string(),
        }
    }
}

/// `12:00:00` as `12:00`, `2026-03-02T09:00:00` as `2026-03-02 09:00`.
fn wall_time(text: &str) -> String {
    text.strip_suffix(":00").filter(|t| t.len() >= 5).unwrap_or(text).replace('T', " ")
}

fn rotation(layer: &Value) -> String {
    let length = layer["rotation_length"].as_u64().unwrap_or(0);
    let unit = s(layer, "rotation_unit");
    match length {
        1 => format!("every {}", unit.trim_end_matches('s')),
        n => format!("every {n} {unit}"),
    }
}

fn restrictions(layer: &Value) -> String {
    let windows: Vec<String> = (layer["restrictions"].as_array().into_iter().flatten())
        .map(|r| match s(r, "kind") {
            "daily" => format!("daily {}–{}", wall_time(s(r, "start")), wall_time(s(r, "end"))),
            "weekly" => format!(
                "{} {} – {} {}",
                s(r, "start_day"),
                wall_time(s(r, "start")),
                s(r, "end_day"),
                wall_time(s(r, "end"))
            ),
            other => other.to_owned(),
        })
        .collect();
    if windows.is_empty() { "always".into() } else { windows.join(", ") }
}

fn print_schedule(v: &Value, people: &People, clock: &WallClock) {
    println!("schedule {}", printable(s(v, "name")));
    println!("  id:           {}", printable(s(v, "id")));
    if !s(v, "description").is_empty() {
        println!("  description:  {}", printable(s(v, "description")));
    }
    println!("  time zone:    {}", printable(s(v, "time_zone")));
    let fallback = match v["fallback"].as_str() {
        Some(id) => people.name_of(id),
        None => "none (gaps have nobody on call)".into(),
    };
    println!("  fallback:     {fallback}");
    let now = &v["on_call_now"];
    let reason = if now.is_null() { String::new() } else { format!(" ({})", why(now)) };
    println!("  on call now:  {}{reason}", person(now));

    println!("\nlayers (the highest covering an instant decides):");
    let mut rows =
        vec![["LAYER", "NAME", "ROTATION", "FIRST HAND-OFF", "COVERS", "MEMBERS"].map(String::from).to_vec()];
    for (i, layer) in v["layers"].as_array().into_iter().flatten().enumerate() {
        let members: Vec<String> = layer["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| people.name_of(m.as_str().unwrap_or("")))
            .collect();
        rows.push(vec![
            i.to_string(),
            s(layer, "name").into(),
            rotation(layer),
            wall_time(s(layer, "starts_at")),
            restrictions(layer),
            members.join(", "),
        ]);
    }
    if rows.len() == 1 {
        println!("none");
    } else {
        print_table(&rows);
    }

    let overrides = v["overrides"].as_array().cloned().unwrap_or_default();
    if !overrides.is_empty() {
        println!("\noverrides (the one added last wins):");
        print_rows(&clock.headers(&["ON CALL", "REPLACES"]), &overrides, |o| {
            let replaces = o["replaces"].as_str().map(|id| people.name_of(id)).unwrap_or_else(|| "anyone".into());
            vec![clock.show(s(o, "start")), clock.show(s(o, "end")), people.name_of(s(o, "user")), replaces]
        });
    }
}

fn print_shifts(items: &[Value], clock: &WallClock) {
    if items.is_empty() {
        println!("no shifts");
        return;
    }
    print_rows(&clock.headers(&["ON CALL", "WHY"]), items, |shift| {
        let on_call = &shift["on_call"];
        vec![clock.show(s(shift, "start")), clock.show(s(shift, "end")), person(on_call), why(on_call)]
    });
}

async fn shifts(api: &Api, id: &str, from: Option<Timestamp>, to: Option<Timestamp>) -> anyhow::Result<Value> {
    let mut query: Vec<String> = Vec::new();
    if let Some(from) = from {
        query.push(format!("from={}", rfc3339(from)));
    }
    if let Some(to) = to {
        query.push(format!("to={}", rfc3339(to)));
    }
    let path = format!("/schedules/{}/shifts?{}", clean_id(id), query.join("&"));
    api.request(Method::GET, &path, None, &SHIFT_HINTS).await
}

/// The keys a definition file may have.
const FILE_KEYS: [&str; 6] = ["name", "description", "time_zone", "layers", "overrides", "fallback"];

/// A definition file as JSON, with only the keys a definition has (and no other name).
fn read_definition(path: &Path, name: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let file: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(keys) = file.as_object() else { return Err("not a JSON object ({ … })".into()) };
    if let Some(unknown) = keys.keys().find(|k| !FILE_KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key {:?}; a definition has time_zone, layers, overrides, fallback and description",
            printable(unknown)
        ));
    }
    if let Some(named) = file["name"].as_str().filter(|n| *n != name) {
        return Err(format!(
            "it names the schedule {:?}, the command {:?}: remove \"name\" from the file or give the same name",
            printable(named),
            printable(name)
        ));
    }
    Ok(file)
}

/// A definition file's description and definition, its people resolved to ids and checked as
/// the server would check it.
fn check_definition(mut file: Value, people: &People) -> Result<(String, ScheduleDefinition), String> {
    name_people(&mut file, people)?;
    let description = match &file["description"] {
        Value::Null => String::new(),
        Value::String(d) => d.clone(),
        _ => return Err("description: must be a string".into()),
    };
    let time_zone = match &file["time_zone"] {
        Value::String(tz) => tz.clone(),
        Value::Null => return Err("time_zone is missing: give an IANA zone such as \"Europe/Berlin\"".into()),
        _ => return Err("time_zone: must be a string such as \"Europe/Berlin\"".into()),
    };
    let definition = ScheduleDefinition {
        time_zone,
        layers: entries::<LayerDefinition>(&file, "layers")?,
        overrides: entries::<Override>(&file, "overrides")?,
        fallback: Option::<UserId>::deserialize(&file["fallback"]).map_err(|e| format!("fallback: {e}"))?,
    };
    OnCallSchedule::parse(definition.clone()).map_err(|e| e.to_string())?;
    Ok((description, definition))
}

/// A definition file's problem, with where it is and what to read.
pub(crate) fn file_error(file: &Path, problem: String, hints: &Hints) -> anyhow::Error {
    anyhow::anyhow!("{}: {problem}\nhint: {}", file.display(), hints.invalid)
}

/// The body that creates a definition read from a file, under `name` with `description`.
pub(crate) fn named_definition(
    definition: &impl serde::Serialize,
    name: &str,
    description: String,
) -> anyhow::Result<Value> {
    let mut body = serde_json::to_value(definition)?;
    body["name"] = json!(name);
    body["description"] = json!(description);
    Ok(body)
}

/// The entries of the list at `key`, each parsed on its own so that an error says which.
pub(crate) fn entries<T: DeserializeOwned>(file: &Value, key: &str) -> Result<Vec<T>, String> {
    let entries = match &file[key] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => return Err(format!("{key}: must be a list ([ … ])")),
    };
    (entries.iter().enumerate())
        .map(|(i, entry)| {
            T::deserialize(entry).map_err(|e| match entry["name"].as_str() {
                Some(name) => format!("{key}[{i}] ({:?}): {e}", printable(name)),
                None => format!("{key}[{i}]: {e}"),
            })
        })
        .collect()
}

/// Replaces the people a definition names by email or `me` with their ids.
fn name_people(file: &mut Value, people: &People) -> Result<(), String> {
    let resolve = |place: String, slot: Option<&mut Value>| -> Result<(), String> {
        let Some(slot) = slot else { return Ok(()) };
        if let Some(given) = slot.as_str() {
            *slot = Value::String(people.id_of(given).map_err(|e| format!("{place}: {e}"))?);
        }
        Ok(())
    };
    let layers = file.get_mut("layers").and_then(Value::as_array_mut);
    for (i, layer) in layers.into_iter().flatten().enumerate() {
        let members = layer.get_mut("members").and_then(Value::as_array_mut);
        for (j, member) in members.into_iter().flatten().enumerate() {
            resolve(format!("layers[{i}].members[{j}]"), Some(member))?;
        }
    }
    let overrides = file.get_mut("overrides").and_then(Value::as_array_mut);
    for (i, o) in overrides.into_iter().flatten().enumerate() {
        resolve(format!("overrides[{i}].user"), o.get_mut("user"))?;
        resolve(format!("overrides[{i}].replaces"), o.get_mut("replaces"))?;
    }
    resolve("fallback".into(), file.get_mut("fallback"))
}

/// The items at `path` (one per schedule) sorted by `name_key`, for a table; `None` when
/// nothing is left to print (`--json` printed the answer, or there are no schedules).
async fn listing(api: &Api, path: &str, name_key: &str) -> anyhow::Result<Option<Vec<Value>>> {
    let value = api.request(Method::GET, path, None, &HINTS).await?;
    let none = "no schedules (create one with `firebreak schedule create`)";
    let Some(mut items) = api.table_items(&value, none)? else { return Ok(None) };
    items.sort_by_key(|v| s(v, name_key).to_lowercase());
    Ok(Some(items))
}

pub async fn run_oncall(args: OncallArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.client)?;
    let path = match args.at {
        Some(at) => format!("/oncall?at={}", rfc3339(at)),
        None => "/oncall".into(),
    };
    if let Some(items) = listing(&api, &path, "schedule_name").await? {
        print_rows(&["SCHEDULE", "ON CALL", "WHY"], &items, |item| {
            vec![s(item, "schedule_name").into(), person(&item["on_call"]), why(&item["on_call"])]
        });
    }
    warn_unreachable(&api).await?;
    Ok(ExitCode::SUCCESS)
}

/// Warns, on stderr, of the people on call now or in the next 7 days whom a page would not
/// reach (no verified contact method, or no notification rule).
async fn warn_unreachable(api: &Api) -> anyhow::Result<()> {
    let found = api.request(Method::GET, "/oncall/unreachable", None, &HINTS).await?;
    for u in found["items"].as_array().into_iter().flatten() {
        let missing = match (u["no_verified_contact_method"].as_bool(), u["no_notification_rule"].as_bool()) {
            (Some(true), Some(true)) => "no verified contact method and no notification rule",
            (Some(true), _) => "no verified contact method",
            _ => "no notification rule",
        };
        let schedules: Vec<&str> = u["schedules"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let from = chrono::DateTime::parse_from_rfc3339(s(u, "from"))
            .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| s(u, "from").to_owned());
        eprintln!(
            "warning: {} is on call from {} ({}) but has {missing}: pages would not reach them \
             (each adds them on their profile page)",
            person(u),
            from,
            schedules.join(", "),
        );
    }
    Ok(())
}

pub async fn run_schedule(cmd: ScheduleCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ScheduleCommand::List { client } => {
            let api = Api::new(&client)?;
            let Some(items) = listing(&api, "/schedules", "name").await? else { return Ok(ExitCode::SUCCESS) };
            print_rows(&["NAME", "TIME ZONE", "LAYERS", "ON CALL NOW", "ID"], &items, |v| {
                vec![
                    s(v, "name").into(),
                    s(v, "time_zone").into(),
                    v["layers"].as_array().map(Vec::len).unwrap_or(0).to_string(),
                    person(&v["on_call_now"]),
                    s(v, "id").into(),
                ]
            });
        }
        ScheduleCommand::Show { schedule, client } => {
            let api = Api::new(&client)?;
            let view = find_schedule(&api, &schedule).await?;
            let now = Utc::now();
            let week = shifts(&api, s(&view, "id"), Some(now), Some(now + TimeDelta::days(7))).await?;
            if api.json {
                print_json(&json!({"schedule": view, "shifts": week["items"]}))?;
                return Ok(ExitCode::SUCCESS);
            }
            let people = People::fetch(&api).await?;
            let clock = WallClock::of(&view);
            print_schedule(&view, &people, &clock);
            println!("\nnext 7 days:");
            print_shifts(week["items"].as_array().map(Vec::as_slice).unwrap_or_default(), &clock);
        }
        ScheduleCommand::Create { name, file, description, client } => {
            let api = Api::new(&client)?;
            let bad_file = |e| file_error(&file, e, &HINTS);
            let written = read_definition(&file, &name).map_err(bad_file)?;
            let people = People::fetch(&api).await?;
            let (described, definition) = check_definition(written, &people).map_err(bad_file)?;
            let body = named_definition(&definition, &name, description.unwrap_or(described))?;
            let created = api.request(Method::POST, "/schedules", Some(body), &HINTS).await?;
            api.print(&created, |v| print_schedule(v, &people, &WallClock::of(v)))?;
        }
        ScheduleCommand::Shifts { schedule, from, to, client } => {
            let api = Api::new(&client)?;
            let view = find_schedule(&api, &schedule).await?;
            let value = shifts(&api, s(&view, "id"), from, to).await?;
            api.print(&value, |v| {
                print_shifts(v["items"].as_array().map(Vec::as_slice).unwrap_or_default(), &WallClock::of(&view));
            })?;
        }
        ScheduleCommand::Override { schedule, user, replaces, start, end, length, client } => {
            let api = Api::new(&client)?;
            let start = start.unwrap_or_else(Utc::now);
            let end = match (end, length) {
                (Some(end), _) => end,
                (None, Some(length)) => start + TimeDelta::from_std(length)?,
                (None, None) => bail!("give --end INSTANT or --for DURATION"),
            };
            let view = find_schedule(&api, &schedule).await?;
            let people = People::fetch(&api).await?;
            let user = people.id_of(&user).map_err(|e| anyhow::anyhow!("--user: {e}"))?;
            let replaces = match replaces {
                Some(r) => Some(people.id_of(&r).map_err(|e| anyhow::anyhow!("--replaces: {e}"))?),
                None => None,
            };
            let body = json!({"user": user, "replaces": replaces, "start": rfc3339(start), "end": rfc3339(end)});
            let path = format!("/schedules/{}/overrides", clean_id(s(&view, "id")));
            let changed = api.request(Method::POST, &path, Some(body.clone()), &OVERRIDE_HINTS).await?;
            if api.json {
                print_json(&changed)?;
                return Ok(ExitCode::SUCCESS);
            }
            let clock = WallClock::of(&changed);
            println!("override added to schedule {}", printable(s(&changed, "name")));
            println!("  on call:   {}", people.name_of(&user));
            let replaced = replaces.map(|r| people.name_of(&r)).unwrap_or_else(|| "whoever is on call".into());
            println!("  replaces:  {replaced}");
            println!("  from:      {} ({})", clock.show(s(&body, "start")), clock.zone());
            println!("  to:        {} ({})", clock.show(s(&body, "end")), clock.zone());
        }
        ScheduleCommand::Delete { schedule, client } => {
            let api = Api::new(&client)?;
            let view = find_schedule(&api, &schedule).await?;
            let id = clean_id(s(&view, "id"));
            api.request(Method::DELETE, &format!("/schedules/{id}"), None, &HINTS).await?;
            api.print_deleted(&id, &format!("schedule {} ({id})", printable(s(&view, "name"))))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_now_or_relative() {
        let exact = parse_instant("2026-03-09T09:00:00-04:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rfc3339(exact), "2026-03-09T13:00:00Z");
        let before = Utc::now();
        let later = parse_instant("+2h").unwrap_or_else(|e| panic!("{e}"));
        let earlier = parse_instant(" -30m ").unwrap_or_else(|e| panic!("{e}"));
        let now = parse_instant("now").unwrap_or_else(|e| panic!("{e}"));
        let after = Utc::now();
        assert!(before + TimeDelta::hours(2) <= later && later <= after + TimeDelta::hours(2));
        assert!(before - TimeDelta::minutes(30) <= earlier && earlier <= after - TimeDelta::minutes(30));
        assert!(before <= now && now <= after);
        for bad in ["yesterday", "+2 fortnights", "2026-03-09 09:00", ""] {
            assert!(parse_instant(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn wall_times_drop_zero_seconds() {
        assert_eq!(wall_time("12:00:00"), "12:00");
        assert_eq!(wall_time("2026-03-02T09:00:00"), "2026-03-02 09:00");
        assert_eq!(wall_time("09:30"), "09:30");
        assert_eq!(wall_time("09:30:15"), "09:30:15");
    }
}
