//! `firebreak status-page …`: status pages through a running server's API — list them, show
//! what each component shows and why, create a page, add a component linked to services, and
//! set a component's status by hand (or give it back to its services).

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
}

pub async fn run(cmd: StatusPageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
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
