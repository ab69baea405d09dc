//! `firebreak status-page …`: status pages through a running server's API — list them, show
//! what each component shows and why, create a page, add a component linked to services, set
//! a component's status by hand (or give it back to its services), post public incidents and
//! their updates, publish drafts, and schedule maintenance.

use crate::client::{Api, ClientArgs, Hints, print_rows, printable, s};
use clap::Subcommand;
use clap::builder::PossibleValuesParser;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::ExitCode;

const STATUSES: [&str; 6] =
    ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance", "auto"];

const HINTS: Hints = Hints {
    not_found: "see `firebreak status-page list` for the pages and `firebreak status-page show SLUG` for their components",
    invalid: "see the command's --help for the values it takes",
    conflict: "that address is taken; choose another slug (`firebreak status-page list`)",
};

#[derive(Subcommand)]
pub enum StatusPageCommand {
    /// List the status pages with their overall status.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a page's components: what each shows now, and whether a person set it.
    Show {
        /// The page's slug (its address is /status/SLUG)
        slug: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a status page (admins).
    #[command(after_help = "Examples:\n  firebreak status-page create acme --name 'Acme status'\n  \
                            firebreak status-page create internal --name 'Internal' --private")]
    Create {
        /// Lower-case letters, digits and hyphens: the page is at /status/SLUG
        slug: String,
        #[arg(long)]
        name: String,
        /// Only signed-in users may read it
        #[arg(long)]
        private: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a component to a page (admins), driven by the open incidents of its services.
    #[command(
        after_help = "Example:\n  firebreak status-page add-component acme Checkout --group Shop --service checkout"
    )]
    AddComponent {
        slug: String,
        /// What customers call it, e.g. "Checkout"
        name: String,
        /// The group it is shown under
        #[arg(long, default_value = "")]
        group: String,
        /// A catalog service (name or id) whose open incidents drive it (repeatable)
        #[arg(long = "service")]
        services: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set a component's status by hand; `auto` gives it back to its services.
    #[command(after_help = "Examples:\n  firebreak status-page set acme Checkout partial_outage\n  \
                            firebreak status-page set acme Checkout auto")]
    Set {
        slug: String,
        /// The component's name or id
        component: String,
        #[arg(value_parser = PossibleValuesParser::new(STATUSES))]
        status: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    #[command(flatten)]
    Notice(NoticeCommand),
}

const NOTICE_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

/// The public incident and maintenance commands.
#[derive(Subcommand)]
pub enum NoticeCommand {
    /// List a page's public incidents and maintenance, drafts included.
    Incidents {
        slug: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Post a public incident by hand (published at once unless --draft).
    #[command(after_help = "Example:\n  firebreak status-page post acme --title 'Checkout is slow' \\\n    \
                            --body 'We are looking into it.' --impact major --component Checkout")]
    Post {
        slug: String,
        #[arg(long)]
        title: String,
        /// What readers are told (Markdown)
        #[arg(long)]
        body: String,
        #[arg(long, default_value = "investigating", value_parser = PossibleValuesParser::new(NOTICE_STATUSES))]
        status: String,
        #[arg(long, default_value = "minor", value_parser = PossibleValuesParser::new(["none", "minor", "major", "critical"]))]
        impact: String,
        /// A component (name or id) it is about (repeatable)
        #[arg(long = "component")]
        components: Vec<String>,
        /// Keep it a draft: readers see nothing until `firebreak status-page publish`
        #[arg(long)]
        draft: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add an update to a public incident (published at once unless --draft).
    #[command(after_help = "Example:\n  firebreak status-page update acme NOTICE_ID --status resolved --body 'Fixed.'")]
    Update {
        slug: String,
        /// The notice's id (see `firebreak status-page incidents SLUG`)
        notice: String,
        #[arg(long, value_parser = PossibleValuesParser::new(NOTICE_STATUSES))]
        status: String,
        #[arg(long)]
        body: String,
        #[arg(long)]
        draft: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Publish a draft update: readers see it and subscribers are told.
    Publish {
        slug: String,
        /// The update's id (see `firebreak status-page incidents SLUG`)
        update: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Schedule maintenance: announced at once, in progress at its start, completed at its end.
    #[command(after_help = "Example:\n  firebreak status-page maintenance acme --title 'Database upgrade' \\\n    \
                            --body 'Checkout may be slow.' --starts 2026-12-24T22:00:00Z --ends 2026-12-24T23:00:00Z \\\n    \
                            --component Checkout")]
    Maintenance {
        slug: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        body: String,
        /// ISO 8601 with an offset
        #[arg(long)]
        starts: String,
        #[arg(long)]
        ends: String,
        #[arg(long = "component")]
        components: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// The ids of the page's components named (by name or id).
async fn component_ids(api: &Api, slug: &str, names: &[String]) -> anyhow::Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let page = api.request(Method::GET, &page_path(slug), None, &HINTS).await?;
    let all = page["components"].as_array().cloned().unwrap_or_default();
    names
        .iter()
        .map(|n| {
            all.iter()
                .find(|c| s(c, "id") == n || s(c, "name").eq_ignore_ascii_case(n))
                .map(|c| s(c, "id").to_owned())
                .ok_or_else(|| {
                    anyhow::anyhow!("{slug} has no component {n:?}; see `firebreak status-page show {slug}`")
                })
        })
        .collect()
}

pub async fn run_notice(cmd: NoticeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NoticeCommand::Incidents { slug, client } => {
            let api = Api::new(&client)?;
            let listing = api.request(Method::GET, &format!("{}/incidents", page_path(&slug)), None, &HINTS).await?;
            if let Some(items) = api.table_items(&listing, "no public incidents or maintenance")? {
                print_rows(&["ID", "KIND", "STATUS", "PUBLISHED", "TITLE", "DRAFT UPDATES"], &items, |n| {
                    let drafts: Vec<String> = n["updates"]
                        .as_array()
                        .map(|u| {
                            u.iter().filter(|u| u["published_at"].is_null()).map(|u| s(u, "id").to_owned()).collect()
                        })
                        .unwrap_or_default();
                    vec![
                        s(n, "id").into(),
                        s(n, "kind").into(),
                        s(n, "status").into(),
                        if n["published"].as_bool() == Some(true) { "yes".into() } else { "no".into() },
                        printable(s(n, "title")),
                        drafts.join(" "),
                    ]
                });
            }
        }
        NoticeCommand::Post { slug, title, body, status, impact, components, draft, client } => {
            let api = Api::new(&client)?;
            let components = component_ids(&api, &slug, &components).await?;
            let req = json!({"title": title, "body": body, "status": status, "impact": impact,
                "components": components, "publish": !draft});
            let n = api.request(Method::POST, &format!("{}/incidents", page_path(&slug)), Some(req), &HINTS).await?;
            api.print(&n, print_notice)?;
        }
        NoticeCommand::Update { slug, notice, status, body, draft, client } => {
            let api = Api::new(&client)?;
            let path = format!("{}/incidents/{}/updates", page_path(&slug), id_part(&notice));
            let n = api
                .request(Method::POST, &path, Some(json!({"status": status, "body": body, "publish": !draft})), &HINTS)
                .await?;
            api.print(&n, print_notice)?;
        }
        NoticeCommand::Publish { slug, update, client } => {
            let api = Api::new(&client)?;
            let path = format!("{}/updates/{}/publish", page_path(&slug), id_part(&update));
            let n = api.request(Method::POST, &path, Some(json!({})), &HINTS).await?;
            api.print(&n, print_notice)?;
        }
        NoticeCommand::Maintenance { slug, title, body, starts, ends, components, client } => {
            let api = Api::new(&client)?;
            let components = component_ids(&api, &slug, &components).await?;
            let req =
                json!({"title": title, "body": body, "starts_at": starts, "ends_at": ends, "components": components});
            let n = api.request(Method::POST, &format!("{}/maintenance", page_path(&slug)), Some(req), &HINTS).await?;
            api.print(&n, print_notice)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn id_part(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_hexdigit() || *c == '-').collect()
}

fn print_notice(n: &Value) {
    let published = if n["published"].as_bool() == Some(true) { "published" } else { "draft: not on the page yet" };
    println!("{}  {} ({}, {})", s(n, "id"), printable(s(n, "title")), s(n, "status"), published);
    if let (Some(from), Some(to)) = (n["scheduled_for"].as_str(), n["scheduled_until"].as_str()) {
        println!("  scheduled {from} to {to}");
    }
    for u in n["updates"].as_array().cloned().unwrap_or_default() {
        let state = if u["published_at"].is_null() { "draft" } else { "published" };
        println!("  {}  {}  {}  {}", s(&u, "id"), s(&u, "status"), state, printable(s(&u, "body")));
    }
}

pub async fn run(cmd: StatusPageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StatusPageCommand::Notice(cmd) => return run_notice(cmd).await,
        StatusPageCommand::List { client } => {
            let api = Api::new(&client)?;
            let listing = api.request(Method::GET, "/status-pages", None, &HINTS).await?;
            if let Some(items) = api.table_items(&listing, "no status pages")? {
                print_rows(&["SLUG", "NAME", "READERS", "STATUS", "COMPONENTS"], &items, |p| {
                    vec![
                        printable(s(p, "slug")),
                        printable(s(p, "name")),
                        if p["public"].as_bool() == Some(true) { "anyone".into() } else { "signed-in".into() },
                        s(p, "description").into(),
                        p["components"].as_array().map(Vec::len).unwrap_or(0).to_string(),
                    ]
                });
            }
        }
        StatusPageCommand::Show { slug, client } => {
            let api = Api::new(&client)?;
            let page = api.request(Method::GET, &page_path(&slug), None, &HINTS).await?;
            api.print(&page, print_page)?;
        }
        StatusPageCommand::Create { slug, name, private, client } => {
            let api = Api::new(&client)?;
            let body = json!({"slug": slug, "name": name, "public": !private});
            let page = api.request(Method::POST, "/status-pages", Some(body), &HINTS).await?;
            api.print(&page, print_page)?;
        }
        StatusPageCommand::AddComponent { slug, name, group, services, client } => {
            let api = Api::new(&client)?;
            let body = json!({"name": name, "group": group, "services": services});
            let page =
                api.request(Method::POST, &format!("{}/components", page_path(&slug)), Some(body), &HINTS).await?;
            api.print(&page, print_page)?;
        }
        StatusPageCommand::Set { slug, component, status, client } => {
            let api = Api::new(&client)?;
            let page = api.request(Method::GET, &page_path(&slug), None, &HINTS).await?;
            let found = page["components"].as_array().and_then(|c| {
                c.iter().find(|c| s(c, "id") == component || s(c, "name").eq_ignore_ascii_case(&component))
            });
            let Some(found) = found else {
                anyhow::bail!("{slug} has no component {component:?}; see `firebreak status-page show {slug}`");
            };
            let status = if status == "auto" { Value::Null } else { json!(status) };
            let path = format!("{}/components/{}/status", page_path(&slug), s(found, "id"));
            let page = api.request(Method::PUT, &path, Some(json!({"status": status})), &HINTS).await?;
            api.print(&page, print_page)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn page_path(slug: &str) -> String {
    let slug: String = slug.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("/status-pages/{slug}")
}

fn print_page(p: &Value) {
    println!("{}  {}  ({})", printable(s(p, "slug")), printable(s(p, "name")), s(p, "url"));
    println!("  status:  {}", s(p, "description"));
    let components = p["components"].as_array().cloned().unwrap_or_default();
    if components.is_empty() {
        println!("  no components yet: add one with `firebreak status-page add-component`");
        return;
    }
    print_rows(&["  COMPONENT", "GROUP", "SHOWS", "SET BY"], &components, |c| {
        vec![
            format!("  {}", printable(s(c, "name"))),
            printable(s(c, "group")),
            s(c, "status").into(),
            if c["manual_status"].is_null() { "its services".into() } else { "hand".into() },
        ]
    });
}
