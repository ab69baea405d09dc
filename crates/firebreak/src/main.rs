//! The `firebreak` binary: the server (`serve`), schema migrations (`migrate`), offline
//! admin commands on the database (`admin`), and a client for the API (`incident`, `service`,
//! `alert`, `rule`, `window`, `check`, `oncall`, `schedule`, `policy`, and for post-incident
//! review `postmortem`, `actions` and `report`).

mod admin;
mod checks;
mod client;
mod config;
mod integrations;
mod policies;
mod procedures;
mod review;
mod schedules;
mod status_pages;
mod triage;
mod updates;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: under ingestion load glibc's malloc spent about
/// 15% of the server's CPU time (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "firebreak",
    version,
    about = "Self-hosted incident response in one binary",
    long_about = "Firebreak carries incidents from detection to review: declare, acknowledge, contain, resolve and close them, \
                  with one timeline and a tamper-evident audit log. It runs on an embedded SQLite file by default, \
                  or on PostgreSQL for several replicas.\n\n\
                  Quick start:\n  firebreak serve\n  firebreak admin create-user --email you@example.com --name 'You' --role admin\n  open http://127.0.0.1:8080"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (web UI and API) until SIGTERM or Ctrl-C.
    Serve(config::ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate(config::DbArgs),
    /// Offline administration on the database: users, tokens, audit checks.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Work with incidents through a running server's API.
    #[command(subcommand)]
    Incident(client::IncidentCommand),
    /// Manage services and their integrations (keys, endpoint URLs, heartbeats, webhook mappings)
    /// through a running server's API.
    #[command(subcommand)]
    Service(client::ServiceCommand),
    /// List, inspect, acknowledge and resolve alerts through a running server's API.
    #[command(subcommand)]
    Alert(client::AlertCommand),
    /// Classification rules: set the severity, type and tags of new alerts' incidents, or drop them.
    #[command(subcommand)]
    Rule(triage::RuleCommand),
    /// Maintenance windows: suppress matching alerts during planned work.
    #[command(subcommand)]
    Window(triage::WindowCommand),
    /// Built-in HTTP(S) and TCP checks of services, and their results.
    #[command(subcommand)]
    Check(checks::CheckCommand),
    /// Who is on call now (or at --at) on every on-call schedule, and why.
    Oncall(schedules::OncallArgs),
    /// On-call schedules: create, list, show, their shifts, overrides, delete.
    #[command(subcommand)]
    Schedule(schedules::ScheduleCommand),
    /// Escalation policies: whom to page for an incident, in what order and when.
    #[command(subcommand)]
    Policy(policies::PolicyCommand),
    /// Status pages: list and show them, create pages and components, set a component's status.
    #[command(subcommand)]
    StatusPage(status_pages::StatusPageCommand),
    /// Procedures as code: check a procedures directory (decision trees, playbooks, contact
    /// lists, templates), or write the example one.
    #[command(subcommand)]
    Procedures(procedures::ProceduresCommand),
    /// Triage an incident with the decision tree: answer its questions in the terminal (or
    /// with --answer), and its severity and type are set from the outcome.
    Triage(procedures::TriageArgs),
    /// Postmortems: start one drafted from the incident's record, show, edit and export it,
    /// send it to review, sign it off and publish it.
    #[command(subcommand, long_about = review::POSTMORTEM_ABOUT)]
    Postmortem(review::PostmortemCommand),
    /// Action items of incident reviews: list them across incidents (yours, overdue, by
    /// service or status), add one to an incident, change one.
    #[command(subcommand)]
    Actions(review::ActionsCommand),
    /// Response analytics over a period: MTTA, MTTC and MTTR, targets met, postmortems
    /// published, on-call load, noisy alerts and action items, as a summary, JSON or CSV.
    #[command(long_about = review::REPORT_ABOUT)]
    Report(review::ReportArgs),
}

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => config::serve(args, started).await,
            Command::Migrate(args) => config::migrate(args).await,
            Command::Admin(cmd) => admin::run(cmd).await,
            Command::Incident(cmd) => client::run(cmd).await,
            Command::Service(cmd) => client::run_service(cmd).await,
            Command::Alert(cmd) => client::run_alert(cmd).await,
            Command::Rule(cmd) => triage::run_rule(cmd).await,
            Command::Window(cmd) => triage::run_window(cmd).await,
            Command::Check(cmd) => checks::run_check(cmd).await,
            Command::Oncall(args) => schedules::run_oncall(args).await,
            Command::Schedule(cmd) => schedules::run_schedule(cmd).await,
            Command::Policy(cmd) => policies::run_policy(cmd).await,
            Command::Procedures(cmd) => procedures::run(cmd),
            Command::StatusPage(cmd) => status_pages::run(cmd).await,
            Command::Triage(args) => procedures::run_triage(args).await,
            Command::Postmortem(cmd) => review::run_postmortem(cmd).await,
            Command::Actions(cmd) => review::run_actions(cmd).await,
            Command::Report(args) => review::run_report(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
