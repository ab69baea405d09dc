//! The response analytics benchmark (`bench/analytics.sh`), in two steps on one database:
//!
//! - `generate` migrates a fresh database (SQLite file or PostgreSQL schema) through the store
//!   and fills it with a year of incident response: services with owner teams and
//!   integrations, users with contact methods, `--incidents` incidents over the last 364 days
//!   (mixed severities and types, acknowledged, contained, resolved and closed after
//!   log-normally spread delays, a few reopened, merged or still open, about 1 % drills, about
//!   5 % with postmortems in every state), `--entries-per-incident` timeline entries each (the
//!   store's own event JSON), about 1.5 alerts per incident first seen shortly before
//!   detection, about 2 page notifications per incident and about 4 action items per
//!   postmortem. Rows go in with multi-row INSERTs in large transactions, values bound through
//!   sqlx as the store binds them; progress goes to stderr.
//! - `measure` opens the store as the server does and times what one
//!   `GET /api/v1/analytics` costs on the server minus HTTP: the query parsed by the server's
//!   own `analytics::parse`, `ReviewStore::analytics_facts` and
//!   `firebreak_domain::analytics::report` with the built-in procedures' targets. Each case
//!   (ungrouped, by week, by service) runs `--runs` times; it prints every run, min/median/max
//!   and the row counts, and with `--summary FILE` appends one tab-separated line per case.
//!
//! ```text
//! cargo run --release -p firebreak --example analytics_bench -- generate --database sqlite:///tmp/a.db
//! cargo run --release -p firebreak --example analytics_bench -- measure --database sqlite:///tmp/a.db \
//!     --from 2025-12-04T00:00:00Z --to 2026-12-04T00:00:00Z --runs 5
//! ```

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use clap::{Parser, Subcommand};
use firebreak_domain::alert::{AlertChange, AlertSeverity};
use firebreak_domain::contact::ContactKind;
use firebreak_domain::{
    AlertId, IncidentStatus, IncidentType, PagedUser, RoleName, Severity, TimelineEvent, Timestamp, UserId,
};
use firebreak_server::app::review::analytics::{self, ReportParams};
use firebreak_store::DynStore;
use firebreak_store_postgres::PgStore;
use firebreak_store_sqlite::SqliteStore;
use serde_json::value::RawValue;
use sqlx::types::Json;
use sqlx::{Connection, QueryBuilder};
use std::io::Write as _;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

#[derive(Parser)]
#[command(about = "Generate a year of incident response data, or time response analytics on it")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill a fresh database (sqlite://FILE or a postgres:// URL of an empty schema)
    Generate {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 100_000)]
        incidents: u32,
        #[arg(long, default_value_t = 20)]
        entries_per_incident: u32,
        /// Seed of the generator (the same seed makes the same data, up to the current time)
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Time analytics_facts + report on a generated database
    Measure {
        #[arg(long)]
        database: String,
        /// Start of the period (RFC 3339 or YYYY-MM-DD); default 365 days before --to
        #[arg(long)]
        from: Option<String>,
        /// End of the period; default now
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// Comma-separated group_by values to measure
        #[arg(long, default_value = "none,week,service")]
        cases: String,
        /// Append `case, min, median, max, counted incidents, groups` lines (tab-separated) here
        #[arg(long)]
        summary: Option<std::path::PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Generate { database, incidents, entries_per_incident, seed } => {
            generate(&database, incidents, entries_per_incident, seed).await
        }
        Command::Measure { database, from, to, runs, cases, summary } => {
            measure(&database, from, to, runs.max(1), &cases, summary.as_deref()).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring

async fn measure(
    database: &str,
    from: Option<String>,
    to: Option<String>,
    runs: u32,
    cases: &str,
    summary: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let store: DynStore = if database.starts_with("postgres") {
        Arc::new(PgStore::connect(database).await?)
    } else {
        Arc::new(SqliteStore::connect(database).await?)
    };
    let (_shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = firebreak_server::AppState::new(store, firebreak_server::ServerConfig::default(), shutdown_rx);
    let to = to.unwrap_or_else(|| firebreak_domain::time::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let from = match from {
        Some(from) => from,
        None => {
            let end = DateTime::parse_from_rfc3339(&to).context("--to: an RFC 3339 instant when --from is left out")?;
            (end - TimeDelta::days(365)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
    };
    let targets = analytics::targets(&state);
    // One report first, not measured: right after the bulk load the database's caches hold what
    // the load wrote, not what reports read (a server that has been running has them warm).
    {
        let params = ReportParams { from: Some(from.clone()), to: Some(to.clone()), ..ReportParams::default() };
        let (scope, query) =
            analytics::parse(&state, &params).map_err(|e| anyhow::anyhow!("the query is refused: {e:?}"))?;
        let t = Instant::now();
        let facts = state.store.analytics_facts(&scope).await?;
        firebreak_domain::analytics::report(facts, &query, &targets);
        println!("   warm-up report (not measured): {:.1} ms", ms(t.elapsed()));
    }
    println!("   period {from} .. {to}, {runs} runs per case");
    for case in cases.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let params = ReportParams {
            from: Some(from.clone()),
            to: Some(to.clone()),
            group_by: Some(case.to_owned()),
            ..ReportParams::default()
        };
        let (scope, query) =
            analytics::parse(&state, &params).map_err(|e| anyhow::anyhow!("the query is refused: {e:?}"))?;
        let (mut totals, mut facts_ms, mut report_ms) = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..runs {
            let t0 = Instant::now();
            let facts = state.store.analytics_facts(&scope).await?;
            let t1 = Instant::now();
            let rows = (
                facts.incidents.len(),
                facts.pages.len(),
                facts.actions.len(),
                facts.noisy_sources.len(),
                facts.noisy_fingerprints.len(),
            );
            let report = firebreak_domain::analytics::report(facts, &query, &targets);
            let t2 = Instant::now();
            facts_ms.push(ms(t1 - t0));
            report_ms.push(ms(t2 - t1));
            totals.push(ms(t2 - t0));
            last = Some((rows, report));
        }
        let Some(((incidents, pages, actions, sources, fingerprints), report)) = last else {
            bail!("no run");
        };
        if incidents == 0 || pages == 0 || actions == 0 {
            bail!(
                "the store read no facts (incidents {incidents}, pages {pages}, action items {actions}): wrong period or data"
            );
        }
        let t = Instant::now();
        let json = serde_json::to_vec(&report)?;
        let json_ms = ms(t.elapsed());
        println!("   group_by={case}");
        println!(
            "      rows read: {incidents} incidents, {pages} pages, {actions} action items, {sources} noisy sources, {fingerprints} noisy fingerprints"
        );
        println!(
            "      report: {} incidents counted, {} drills left out, {} groups, {} people paged; JSON {:.1} kB in {json_ms:.1} ms",
            report.total.incidents,
            report.drills_excluded,
            report.groups.len(),
            report.on_call_load.len(),
            json.len() as f64 / 1000.0,
        );
        println!("      runs ms (facts + report): {}", list(&totals));
        let (min, median, max) = spread(&totals);
        println!(
            "      total ms: min {min:.1}  median {median:.1}  max {max:.1}   (of which analytics_facts median {:.1}, report median {:.1})",
            spread(&facts_ms).1,
            spread(&report_ms).1,
        );
        if let Some(path) = summary {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            writeln!(
                file,
                "{case}\t{min:.1}\t{median:.1}\t{max:.1}\t{}\t{}",
                report.total.incidents,
                report.groups.len()
            )?;
        }
    }
    Ok(())
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn list(values: &[f64]) -> String {
    values.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(", ")
}

/// Min, median (the mean of the middle two for an even count) and max.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    (v[0], median, v[n - 1])
}

// ---------------------------------------------------------------------------------------------
// Writing rows

/// One bound value; every kind carries its SQL type, so a NULL is typed for PostgreSQL.
enum Cell {
    Id(Option<Uuid>),
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    At(Option<Timestamp>),
    Day(Option<NaiveDate>),
    Json(Box<RawValue>),
}

fn id(u: Uuid) -> Cell {
    Cell::Id(Some(u))
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(Some(s.into()))
}

fn at(t: Timestamp) -> Cell {
    Cell::At(Some(t))
}

fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<Cell> {
    Ok(Cell::Json(serde_json::value::to_raw_value(value)?))
}

type Row = Vec<Cell>;

struct Table {
    name: &'static str,
    /// Comma-separated.
    columns: &'static str,
}

impl Table {
    fn width(&self) -> usize {
        self.columns.split(',').count()
    }
}

/// `INSERT INTO table (columns) VALUES (…), (…)` with every value bound.
fn values_statement<DB>(table: &Table, rows: Vec<Row>) -> QueryBuilder<DB>
where
    DB: sqlx::Database,
    <DB as sqlx::Database>::Arguments: Default,
    Option<Uuid>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<Timestamp>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<NaiveDate>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Json<Box<RawValue>>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!("INSERT INTO {} ({}) ", table.name, table.columns));
    qb.push_values(rows, |mut b, row| {
        for cell in row {
            match cell {
                Cell::Id(v) => b.push_bind(v),
                Cell::Text(v) => b.push_bind(v),
                Cell::Int(v) => b.push_bind(v),
                Cell::Bool(v) => b.push_bind(v),
                Cell::At(v) => b.push_bind(v),
                Cell::Day(v) => b.push_bind(v),
                Cell::Json(v) => b.push_bind(Json(v)),
            };
        }
    });
    qb
}

/// The connection the generator writes through.
enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Conn {
    async fn execute(&mut self, sql: &'static str) -> anyhow::Result<()> {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop)?,
            Conn::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(drop)?,
        }
        Ok(())
    }

    async fn insert(&mut self, table: &Table, rows: Vec<Row>) -> anyhow::Result<()> {
        // Well under both backends' limits on bound values per statement (32,766 and 65,535).
        let per_statement = (30_000 / table.width()).min(500);
        let mut rows = rows.into_iter();
        loop {
            let chunk: Vec<Row> = rows.by_ref().take(per_statement).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            debug_assert!(chunk.iter().all(|r| r.len() == table.width()));
            let result = match self {
                Conn::Sqlite(c) => values_statement::<sqlx::Sqlite>(table, chunk).build().execute(c).await.map(drop),
                Conn::Pg(c) => values_statement::<sqlx::Postgres>(table, chunk).build().execute(c).await.map(drop),
            };
            result.with_context(|| format!("inserting into {}", table.name))?;
        }
    }
}

/// Migrates the database through the store, then opens a connection of its own for the bulk
/// load (on SQLite without fsync: the figures measured later do not depend on it).
async fn open_for_load(database: &str) -> anyhow::Result<Conn> {
    if database.starts_with("postgres") {
        drop(PgStore::connect(database).await?);
        let mut conn = sqlx::PgConnection::connect(database).await?;
        sqlx::raw_sql("SET synchronous_commit = off").execute(&mut conn).await?;
        Ok(Conn::Pg(conn))
    } else {
        drop(SqliteStore::connect(database).await?);
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(database)?
            .foreign_keys(true)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .busy_timeout(std::time::Duration::from_secs(30));
        Ok(Conn::Sqlite(sqlx::SqliteConnection::connect_with(&options).await?))
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64, so a seed always makes the same data.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for &(item, w) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    /// A log-normal duration in microseconds with this median (seconds) and spread.
    fn lognormal_us(&mut self, median_s: f64, sigma: f64) -> i64 {
        // Box–Muller.
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        (median_s * (sigma * normal).exp() * 1e6) as i64
    }

    /// A time-ordered (v7) id for an instant, as the store makes them.
    fn id_at(&mut self, us: i64) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis((us / 1000).max(0) as u64, &bytes).into_uuid()
    }

    fn hex(&mut self, bytes: usize) -> String {
        (0..bytes).map(|_| format!("{:02x}", self.below(256))).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The catalog: services, integrations, users, contact methods

/// Name, owner team (empty: none), what it is.
const SERVICES: [(&str, &str, &str); 20] = [
    ("checkout-api", "payments", "Takes orders and payments from the web shop and the apps."),
    ("payments-gateway", "payments", "Talks to the card processors."),
    ("billing", "payments", "Invoices and subscriptions."),
    ("search", "discovery", "Product search and autocomplete."),
    ("catalog", "discovery", "Products, prices and stock levels as shown to customers."),
    ("recommendations", "discovery", "Personalised product suggestions."),
    ("auth", "identity", "Sign-in, sessions and tokens."),
    ("accounts", "identity", "Customer profiles and preferences."),
    ("web-frontend", "web", "The web shop."),
    ("mobile-api", "web", "The backend of the iOS and Android apps."),
    ("cdn-edge", "platform", "Edge caching and TLS termination."),
    ("api-gateway", "platform", "Routing, rate limits and authentication of every public API."),
    ("kubernetes-prod", "platform", "The production clusters."),
    ("postgres-main", "platform", "The main database cluster."),
    ("inventory", "fulfilment", "Warehouse stock and reservations."),
    ("shipping", "fulfilment", "Carrier bookings and tracking."),
    ("notifications", "fulfilment", "Order emails, SMS and push messages."),
    ("data-pipeline", "data", "Event ingestion into the warehouse."),
    ("reporting", "data", "Dashboards and scheduled reports."),
    ("legacy-erp", "", "The old ERP bridge nobody owns yet."),
];

/// How often each service has incidents, relative to the others.
const SERVICE_WEIGHTS: [u32; 20] = [14, 8, 4, 9, 7, 3, 8, 4, 10, 9, 5, 7, 6, 5, 4, 4, 6, 5, 2, 3];

const FIRST_NAMES: [&str; 10] = ["Ada", "Bela", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas"];
const LAST_NAMES: [&str; 5] = ["Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor"];
const USERS: usize = 50;

const CHECKS: [(&str, &str); 12] = [
    ("HighErrorRate", "5xx responses above 2 % for 5 minutes"),
    ("HighLatencyP99", "p99 latency above 1.5 s"),
    ("InstanceDown", "target has not answered scrapes for 2 minutes"),
    ("PodCrashLooping", "container restarted more than 5 times in 10 minutes"),
    ("DiskAlmostFull", "filesystem more than 90 % full"),
    ("CertificateExpiring", "TLS certificate expires in less than 7 days"),
    ("QueueBacklog", "consumer lag above 10,000 messages"),
    ("ReplicationLag", "replica more than 30 s behind"),
    ("SaturationCPU", "CPU above 95 % for 10 minutes"),
    ("ProbeFailed", "synthetic check failing from 3 regions"),
    ("MemoryPressure", "OOM kills in the last 5 minutes"),
    ("SLOBurnRate", "error budget burning 14x too fast"),
];
const CHECK_WEIGHTS: [u32; 12] = [20, 16, 10, 9, 6, 2, 7, 4, 8, 8, 5, 5];

const NOTES: [&str; 16] = [
    "Looking into it; error rate started climbing right after the 14:02 deploy.",
    "Rolled back to the previous release; watching the dashboards.",
    "Customer support reports checkout failures from several regions.",
    "Database connections are maxed out on the primary; raising the pool limit temporarily.",
    "Traffic is normal; this is not load related.",
    "Failing over to the secondary region.",
    "Vendor status page confirms a partial outage on their side.",
    "Scaled the deployment from 6 to 12 replicas.",
    "Cache hit rate dropped to 20 % after the config change; reverting it.",
    "Error rate back under 0.1 % for 15 minutes.",
    "Paging the database on-call for a second pair of eyes.",
    "Found a runaway cron job saturating the disk; killed it.",
    "Posted an update to the status page.",
    "Certificate renewed and deployed to every edge node.",
    "The queue is draining at about 2,000 messages a second.",
    "Root cause looks like a bad feature flag; it is off now.",
];

const SYMPTOMS: [(IncidentType, &str); 12] = [
    (IncidentType::Outage, "requests failing"),
    (IncidentType::Outage, "unreachable from the internet"),
    (IncidentType::Outage, "every pod crash-looping"),
    (IncidentType::Degradation, "elevated latency"),
    (IncidentType::Degradation, "elevated error rate"),
    (IncidentType::Degradation, "queue backlog growing"),
    (IncidentType::Degradation, "intermittent timeouts"),
    (IncidentType::Degradation, "replica lag"),
    (IncidentType::Security, "suspicious sign-in attempts"),
    (IncidentType::Security, "leaked credential reported"),
    (IncidentType::Other, "certificate about to expire"),
    (IncidentType::Other, "disk almost full"),
];

struct Service {
    id: Uuid,
    name: &'static str,
    /// Its integrations: id and kind.
    integrations: Vec<(Uuid, &'static str)>,
    /// Who is on call for it, in weekly rotation.
    rotation: [usize; 4],
}

struct User {
    id: Uuid,
    name: String,
    /// Verified contact methods: id and kind.
    methods: Vec<(Uuid, ContactKind)>,
}

struct Catalog {
    services: Vec<Service>,
    users: Vec<User>,
}

async fn write_catalog(conn: &mut Conn, rng: &mut Rng, start_us: i64) -> anyhow::Result<Catalog> {
    let created = ts(start_us - 30 * DAY_US);
    let mut services = Vec::new();
    let (mut service_rows, mut integration_rows) = (Vec::new(), Vec::new());
    for (i, (name, team, description)) in SERVICES.iter().enumerate() {
        let id_ = rng.id_at(start_us - 30 * DAY_US);
        let tier = if i % 3 == 0 { "tier-1" } else { "tier-2" };
        service_rows.push(vec![
            id(id_),
            text(*name),
            text(*description),
            text(*team),
            text(format!("https://wiki.example.com/runbooks/{name}")),
            json(&[tier, "prod"])?,
            Cell::Bool(i % 4 == 0),
            at(created),
            at(created),
        ]);
        let kinds: &[&'static str] = if i % 3 == 0 { &["alertmanager", "grafana"] } else { &["alertmanager"] };
        let mut integrations = Vec::new();
        for kind in kinds {
            let integration = rng.id_at(start_us - 30 * DAY_US);
            integration_rows.push(vec![
                id(integration),
                id(id_),
                text(*kind),
                text(format!("{name} {kind}")),
                text(rng.hex(32)),
                at(created),
            ]);
            integrations.push((integration, *kind));
        }
        let rotation = [(i * 3) % USERS, (i * 3 + 1) % USERS, (i * 3 + 2) % USERS, (i * 3 + 17) % USERS];
        services.push(Service { id: id_, name, integrations, rotation });
    }
    conn.insert(
        &Table {
            name: "services",
            columns: "id, name, description, owner_team, runbook_url, tags, auto_resolve, created_at, \
        updated_at",
        },
        service_rows,
    )
    .await?;
    conn.insert(
        &Table { name: "integrations", columns: "id, service_id, kind, name, key_hash, created_at" },
        integration_rows,
    )
    .await?;

    let mut users = Vec::new();
    let (mut user_rows, mut method_rows, mut rule_rows) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..USERS {
        let (first, last) = (FIRST_NAMES[i % 10], LAST_NAMES[i / 10]);
        let user = rng.id_at(start_us - 30 * DAY_US);
        let name = format!("{first} {last}");
        let email = format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase());
        let role = match i {
            0..=2 => "admin",
            45.. => "viewer",
            _ => "responder",
        };
        user_rows.push(vec![
            id(user),
            text(&email),
            text(&name),
            text(role),
            Cell::Text(None),
            Cell::Bool(false),
            Cell::Int(0),
            at(created),
        ]);
        let mut methods = vec![(rng.id_at(start_us - 30 * DAY_US), ContactKind::Email, email)];
        if i % 2 == 0 {
            methods.push((rng.id_at(start_us - 30 * DAY_US), ContactKind::Sms, format!("+4930555{i:04}")));
        }
        for (method, kind, address) in &methods {
            method_rows.push(vec![
                id(*method),
                id(user),
                text(kind.as_str()),
                text(if *kind == ContactKind::Email { "work" } else { "mobile" }),
                text(address),
                at(created),
                Cell::Int(0),
                at(created),
            ]);
            rule_rows.push(vec![
                id(rng.id_at(start_us - 30 * DAY_US)),
                id(user),
                id(*method),
                Cell::Int(0),
                at(created),
            ]);
        }
        users.push(User { id: user, name, methods: methods.into_iter().map(|(m, k, _)| (m, k)).collect() });
    }
    conn.insert(
        &Table { name: "users", columns: "id, email, name, role, password_hash, disabled, failed_logins, created_at" },
        user_rows,
    )
    .await?;
    conn.insert(
        &Table {
            name: "contact_methods",
            columns: "id, user_id, kind, label, address, verified_at, code_attempts, created_at",
        },
        method_rows,
    )
    .await?;
    conn.insert(
        &Table { name: "notification_rules", columns: "id, user_id, contact_method_id, delay_minutes, created_at" },
        rule_rows,
    )
    .await?;
    Ok(Catalog { services, users })
}

// ---------------------------------------------------------------------------------------------
// Incidents and everything that hangs off them

const SECOND_US: i64 = 1_000_000;
const MINUTE_US: i64 = 60 * SECOND_US;
const HOUR_US: i64 = 60 * MINUTE_US;
const DAY_US: i64 = 24 * HOUR_US;

/// Microseconds since the Unix epoch as an instant.
fn ts(us: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp_micros(us).unwrap_or_default()
}

const INCIDENTS: Table = Table {
    name: "incidents",
    columns: "id, number, title, summary, severity, kind, status, services, tags, commander_id, \
        communications_id, scribe_id, created_by, detected_at, acknowledged_at, contained_at, \
        resolved_at, closed_at, updated_at, service_id, group_key, restricted, other_roles, \
        merged_into, drill, first_acknowledged_at, first_contained_at, first_resolved_at, \
        reopen_count, first_alert_at",
};
const TIMELINE: Table =
    Table { name: "timeline_entries", columns: "incident_id, at, actor_id, actor_name, via, kind, data" };
const ALERTS: Table = Table {
    name: "alerts",
    columns: "id, service_id, integration_id, incident_id, dedup_key, status, summary, source, \
        severity, count, details, first_seen_at, last_seen_at, acknowledged_at, resolved_at",
};
const NOTIFICATIONS: Table = Table {
    name: "notifications",
    columns: "id, kind, dedupe_key, user_id, contact_method_id, incident_id, payload, status, due_at, \
        attempts, provider, created_at, sent_at",
};
const POSTMORTEMS: Table = Table {
    name: "postmortems",
    columns: "id, incident_id, template, title, body, state, revision, revision_hash, \
        impact_started_at, created_by, created_at, updated_at, published_at",
};
const REVISIONS: Table = Table {
    name: "postmortem_revisions",
    columns: "postmortem_id, number, hash, title, body, author_id, author_name, created_at",
};
const REMINDERS: Table = Table { name: "postmortem_reminders", columns: "incident_id, reminded_at" };
const ACTION_ITEMS: Table = Table {
    name: "action_items",
    columns: "id, number, incident_id, from_postmortem, title, kind, owner_id, due_on, priority, \
        status, link, procedure_file, created_by, created_at, updated_at, closed_at, \
        reminded_on",
};

/// Who wrote a timeline entry.
struct Author {
    user: Option<usize>,
    via: &'static str,
}

const SYSTEM: Author = Author { user: None, via: "system" };

/// The rows of a batch of incidents, in the order foreign keys need.
#[derive(Default)]
struct Batch {
    incidents: Vec<Row>,
    alerts: Vec<Row>,
    timeline: Vec<Row>,
    notifications: Vec<Row>,
    postmortems: Vec<Row>,
    revisions: Vec<Row>,
    reminders: Vec<Row>,
    actions: Vec<Row>,
}

impl Batch {
    async fn write(self, conn: &mut Conn) -> anyhow::Result<()> {
        conn.insert(&INCIDENTS, self.incidents).await?;
        conn.insert(&ALERTS, self.alerts).await?;
        conn.insert(&TIMELINE, self.timeline).await?;
        conn.insert(&NOTIFICATIONS, self.notifications).await?;
        conn.insert(&POSTMORTEMS, self.postmortems).await?;
        conn.insert(&REVISIONS, self.revisions).await?;
        conn.insert(&REMINDERS, self.reminders).await?;
        conn.insert(&ACTION_ITEMS, self.actions).await
    }
}

#[derive(Default)]
struct Counts {
    incidents: u64,
    open: u64,
    reopened: u64,
    drills: u64,
    merged: u64,
    timeline: u64,
    alerts: u64,
    pages: u64,
    postmortems: u64,
    actions: u64,
}

/// Everything the generator needs while it walks the incidents.
struct Generator<'a> {
    rng: Rng,
    catalog: &'a Catalog,
    /// The end of the data ("now" when it was generated), in microseconds.
    end_us: i64,
    entries_per_incident: usize,
    commander: RoleName,
    counts: Counts,
    /// The last incident (id, number) per service, for merges.
    last_of_service: Vec<Option<(Uuid, i64)>>,
}

/// The response cycle of one incident as of the end of the data.
struct Cycle {
    status: IncidentStatus,
    acknowledged: Option<i64>,
    contained: Option<i64>,
    resolved: Option<i64>,
    closed: Option<i64>,
    first_acknowledged: Option<i64>,
    first_contained: Option<i64>,
    first_resolved: Option<i64>,
    reopens: i64,
    /// Every change, in order: when, from, to, by whom (user index).
    changes: Vec<(i64, IncidentStatus, IncidentStatus, usize)>,
}

impl<'a> Generator<'a> {
    fn user(&self, i: usize) -> &'a User {
        &self.catalog.users[i % self.catalog.users.len()]
    }

    fn entry(&self, incident: Uuid, t: i64, author: &Author, event: &TimelineEvent) -> anyhow::Result<Row> {
        let (actor_id, actor_name) = match author.user {
            Some(u) => (Some(self.user(u).id), self.user(u).name.clone()),
            None => (None, "Firebreak".to_owned()),
        };
        Ok(vec![
            id(incident),
            at(ts(t)),
            Cell::Id(actor_id),
            text(actor_name),
            text(author.via),
            text(event.kind()),
            json(event)?,
        ])
    }

    /// Walks acknowledge → contain → resolve (→ reopen …) → close and stops at the end of the data.
    fn cycle(&mut self, severity: Severity, detected: i64, responder: usize) -> Cycle {
        let rng = &mut self.rng;
        let (ack_s, contain_s, recover_s) = match severity {
            Severity::Critical => (120.0, 1500.0, 3600.0),
            Severity::High => (240.0, 2700.0, 5400.0),
            Severity::Medium => (600.0, 5400.0, 10800.0),
            Severity::Low => (1500.0, 10800.0, 21600.0),
        };
        let mut steps: Vec<(i64, IncidentStatus)> = Vec::new();
        let mut t = detected;
        let reopens = if rng.chance(0.03) { 1 + i64::from(rng.chance(0.15)) } else { 0 };
        for round in 0..=reopens {
            if round > 0 {
                t += rng.lognormal_us(6.0 * 3600.0, 1.0);
                steps.push((t, IncidentStatus::Triggered));
            }
            // A few resolve by themselves (the alert cleared) before anyone acknowledges.
            if rng.chance(0.03) {
                t += rng.lognormal_us(900.0, 0.8);
                steps.push((t, IncidentStatus::Resolved));
                continue;
            }
            t += rng.lognormal_us(if round == 0 { ack_s } else { ack_s / 2.0 }, 1.0).max(5 * SECOND_US);
            steps.push((t, IncidentStatus::Acknowledged));
            if rng.chance(0.7) {
                t += rng.lognormal_us(contain_s, 0.9).max(30 * SECOND_US);
                steps.push((t, IncidentStatus::Contained));
            }
            t += rng.lognormal_us(recover_s, 1.0).max(MINUTE_US);
            steps.push((t, IncidentStatus::Resolved));
        }
        if rng.chance(0.8) {
            t += rng.lognormal_us(86_400.0, 1.2).max(MINUTE_US);
            steps.push((t, IncidentStatus::Closed));
        }
        let mut c = Cycle {
            status: IncidentStatus::Triggered,
            acknowledged: None,
            contained: None,
            resolved: None,
            closed: None,
            first_acknowledged: None,
            first_contained: None,
            first_resolved: None,
            reopens: 0,
            changes: Vec::new(),
        };
        for (t, to) in steps {
            if t > self.end_us {
                break;
            }
            match to {
                IncidentStatus::Triggered => {
                    c.reopens += 1;
                    (c.acknowledged, c.contained, c.resolved, c.closed) = (None, None, None, None);
                }
                IncidentStatus::Acknowledged => c.acknowledged = Some(t),
                IncidentStatus::Contained => c.contained = Some(t),
                IncidentStatus::Resolved => c.resolved = Some(t),
                IncidentStatus::Closed => c.closed = Some(t),
            }
            c.first_acknowledged = c.first_acknowledged.or(c.acknowledged);
            c.first_contained = c.first_contained.or(c.contained);
            c.first_resolved = c.first_resolved.or(c.resolved);
            c.changes.push((t, c.status, to, responder));
            c.status = to;
        }
        c
    }

    fn incident(&mut self, batch: &mut Batch, number: i64, detected: i64) -> anyhow::Result<()> {
        let catalog = self.catalog;
        let services: Vec<(usize, u32)> = SERVICE_WEIGHTS.iter().copied().enumerate().collect();
        let s = self.rng.weighted(&services);
        let service = &catalog.services[s];
        let severity = self.rng.weighted(&[
            (Severity::Critical, 5),
            (Severity::High, 20),
            (Severity::Medium, 45),
            (Severity::Low, 30),
        ]);
        let kind = self.rng.weighted(&[
            (IncidentType::Outage, 25),
            (IncidentType::Degradation, 50),
            (IncidentType::Security, 5),
            (IncidentType::Other, 20),
        ]);
        let symptoms: Vec<&str> = SYMPTOMS.iter().filter(|(k, _)| *k == kind).map(|(_, s)| *s).collect();
        let symptom = *self.rng.pick(&symptoms);
        let drill = self.rng.chance(0.01);
        let week = detected.div_euclid(7 * DAY_US) as usize;
        let on_call = service.rotation[week % 4];
        let backup = service.rotation[(week + 1) % 4];
        let lead = s % 5 + 3;
        let declared_by_person = self.rng.chance(0.35);
        let id_ = self.rng.id_at(detected);
        let mut c = self.cycle(severity, detected, on_call);
        let merged = !drill && c.resolved.is_some() && self.rng.chance(0.004);
        let merged_into = if merged { self.last_of_service[s] } else { None };
        self.last_of_service[s] = Some((id_, number));
        let title = format!("{}{}: {symptom}", if drill { "[Drill] " } else { "" }, service.name);
        let entries_start = batch.timeline.len();
        let mut story: Vec<(i64, Author, TimelineEvent)> = Vec::new();
        story.push((
            detected,
            if declared_by_person { Author { user: Some(on_call), via: "web" } } else { SYSTEM },
            TimelineEvent::Created { title: title.clone(), severity, kind },
        ));

        // Alerts: the first fired a little before detection, the others around it.
        let alerts = self.rng.weighted(&[(1usize, 66), (2, 22), (3, 8), (5, 4)]);
        let alert_severity = match severity {
            Severity::Critical => AlertSeverity::Critical,
            Severity::High => AlertSeverity::Error,
            Severity::Medium => AlertSeverity::Warning,
            Severity::Low => AlertSeverity::Info,
        };
        let checks: Vec<(usize, u32)> = CHECK_WEIGHTS.iter().copied().enumerate().collect();
        let end_of_alerts = c.resolved.unwrap_or(self.end_us);
        let mut first_alert: Option<i64> = None;
        for a in 0..alerts {
            let first_seen = if a == 0 {
                detected - self.rng.lognormal_us(150.0, 0.9)
            } else {
                detected + self.rng.lognormal_us(300.0, 1.2) - 2 * MINUTE_US
            };
            let (check, what) = CHECKS[self.rng.weighted(&checks)];
            let host = format!("{}-{}", service.name, self.rng.below(8) + 1);
            let open = c.resolved.is_none();
            // Only one open alert per key and integration: open ones carry the incident and alert.
            let dedup_key = if open {
                format!("{}/{check}/{host}#{number}.{a}", service.name)
            } else {
                format!("{}/{check}/{host}", service.name)
            };
            let summary = format!("{check} on {host}: {what}");
            let count = 1 + (self.rng.lognormal_us(3.0, 1.3) / SECOND_US).min(5000);
            let last_seen = (first_seen + self.rng.lognormal_us(1200.0, 1.2)).min(end_of_alerts).max(first_seen);
            let (integration, integration_kind) = *self.rng.pick(&service.integrations);
            let alert = self.rng.id_at(first_seen);
            first_alert = Some(first_alert.map_or(first_seen, |f| f.min(first_seen)));
            let details = serde_json::json!({
                "labels": {
                    "alertname": check,
                    "instance": format!("{host}:9100"),
                    "job": service.name,
                    "severity": alert_severity.as_str(),
                    "region": *self.rng.pick(&["eu-central-1", "eu-west-1", "us-east-1"]),
                },
                "annotations": { "summary": summary, "runbook_url": format!("https://wiki.example.com/runbooks/{}", service.name) },
                "value": format!("{:.3}", self.rng.unit() * 10.0),
                "source": integration_kind,
            });
            batch.alerts.push(vec![
                id(alert),
                id(service.id),
                id(integration),
                id(id_),
                text(&dedup_key),
                text(if open { "open" } else { "resolved" }),
                text(&summary),
                text(&host),
                text(alert_severity.as_str()),
                Cell::Int(count),
                json(&details)?,
                at(ts(first_seen)),
                at(ts(last_seen)),
                Cell::At(c.first_acknowledged.map(ts)),
                Cell::At(c.resolved.map(ts)),
            ]);
            let event = |change, count| TimelineEvent::Alert {
                change,
                alert_id: AlertId(alert),
                dedup_key: dedup_key.clone(),
                summary: summary.clone(),
                severity: alert_severity,
                count,
                events: 1,
            };
            story.push((first_seen.max(detected), SYSTEM, event(AlertChange::Opened, 1)));
            if count > 1 {
                story.push((last_seen.max(detected), SYSTEM, event(AlertChange::Repeated, count)));
            }
            if let Some(r) = c.resolved {
                story.push((r, SYSTEM, event(AlertChange::Resolved, count)));
            }
            self.counts.alerts += 1;
        }

        // Pages: level 1 at once, level 2 and 3 when nobody acknowledged in time; low
        // severity pages only half the time (the rest waits for business hours).
        let escalate_after = match severity {
            Severity::Critical | Severity::High => 5 * MINUTE_US,
            _ => 15 * MINUTE_US,
        };
        let ack = c.first_acknowledged.unwrap_or(i64::MAX);
        let mut paged: Vec<(i64, usize, u32)> = Vec::new();
        if severity != Severity::Low || self.rng.chance(0.5) {
            paged.push((detected + 2 * SECOND_US, on_call, 1));
            if ack > detected + escalate_after {
                paged.push((detected + escalate_after, backup, 2));
            }
            if matches!(severity, Severity::Critical | Severity::High) && ack > detected + 2 * escalate_after {
                paged.push((detected + 2 * escalate_after, lead, 3));
            }
        }
        if self.rng.chance(0.1) {
            let extra = (detected + self.rng.lognormal_us(1800.0, 1.0)).min(self.end_us);
            paged.push((extra, self.rng.index(USERS), 0));
        }
        for (t, u, level) in paged {
            if t > self.end_us {
                continue;
            }
            let user = self.user(u);
            for (method, channel) in &user.methods {
                let dedupe = format!("page:{id_}:{level}-{t}:{method}");
                let sent = t + self.rng.lognormal_us(1.5, 0.5);
                batch.notifications.push(vec![
                    id(self.rng.id_at(t)),
                    text("page"),
                    text(dedupe),
                    id(user.id),
                    id(*method),
                    id(id_),
                    json(&serde_json::json!({}))?,
                    text("sent"),
                    at(ts(t)),
                    Cell::Int(1),
                    text(if *channel == ContactKind::Email { "smtp" } else { "twilio" }),
                    at(ts(t)),
                    at(ts(sent)),
                ]);
                self.counts.pages += 1;
                story.push((
                    sent,
                    SYSTEM,
                    TimelineEvent::NotificationSent {
                        user_id: UserId(user.id),
                        user_name: user.name.clone(),
                        channel: *channel,
                        provider: if *channel == ContactKind::Email { "smtp" } else { "twilio" }.into(),
                        bundled: 1,
                    },
                ));
            }
            let users =
                vec![PagedUser { id: UserId(user.id), name: user.name.clone(), rules: user.methods.len() as u32 }];
            let reason = if level == 0 { "reassign" } else { "escalation" };
            let event = TimelineEvent::Paged {
                step: level.max(1),
                level: level.max(1),
                cycle: 1,
                skipped: 0,
                reason: reason.into(),
                users,
            };
            story.push((t, if level == 0 { Author { user: Some(on_call), via: "web" } } else { SYSTEM }, event));
        }

        // The response, as status changes and the roles people took.
        for &(t, from, to, by) in &c.changes {
            let via = *self.rng.pick(&["web", "link", "slack", "api"]);
            story.push((t, Author { user: Some(by), via }, TimelineEvent::StatusChanged { from, to }));
            if to == IncidentStatus::Acknowledged && from == IncidentStatus::Triggered {
                story.push((t, SYSTEM, TimelineEvent::EscalationStopped { reason: "acknowledged".into() }));
                story.push((
                    t + 20 * SECOND_US,
                    Author { user: Some(by), via: "web" },
                    TimelineEvent::RoleAssigned {
                        role: self.commander.clone(),
                        from: None,
                        to: Some(UserId(self.user(by).id)),
                    },
                ));
            }
        }
        if let Some((_, into)) = merged_into {
            story.push((
                c.resolved.unwrap_or(detected),
                Author { user: Some(on_call), via: "web" },
                TimelineEvent::MergedInto { number: into, title: format!("{}: related incident", service.name) },
            ));
        }

        // The postmortem: most critical ones, some high, few medium; never for drills.
        let wants_postmortem = !drill
            && !merged
            && self.rng.chance(match severity {
                Severity::Critical => 0.5,
                Severity::High => 0.1,
                Severity::Medium => 0.015,
                Severity::Low => 0.0,
            });
        let mut published = false;
        if let (true, Some(resolved)) = (wants_postmortem, c.first_resolved) {
            let created = resolved + self.rng.lognormal_us(20.0 * 3600.0, 0.8);
            if created <= self.end_us {
                published = self.postmortem(batch, &mut story, id_, &title, detected, created, on_call)?;
            }
        }
        // Late postmortems were reminded about already (as a running server would have), so
        // the server's reminder round has nothing to catch up on during the benchmark.
        if let (Some(resolved), false, false, true) =
            (c.resolved, drill, published, matches!(severity, Severity::Critical | Severity::High))
        {
            let due = resolved + 5 * DAY_US;
            if due <= self.end_us && merged_into.is_none() {
                batch.reminders.push(vec![id(id_), at(ts(due))]);
            }
        }

        // Everything else people wrote down, up to the entries wanted.
        let until = c.resolved.unwrap_or(self.end_us).max(detected + MINUTE_US);
        while story.len() < self.entries_per_incident {
            let t = detected + self.rng.below((until - detected) as u64) as i64;
            let by = if self.rng.chance(0.7) { on_call } else { self.rng.index(USERS) };
            let author = Author { user: Some(by), via: self.rng.weighted(&[("web", 2), ("slack", 1), ("api", 1)]) };
            let event = match self.rng.below(20) {
                0 => TimelineEvent::EvidenceAdded {
                    url: format!("https://grafana.example.com/d/{}/{}", self.rng.hex(4), service.name),
                    title: "Dashboard at the time".into(),
                },
                1 if matches!(severity, Severity::Critical | Severity::High) => TimelineEvent::UpdateSent {
                    audience: "internal".into(),
                    template: "update".into(),
                    subject: format!("[{}] {title}", severity.as_str()),
                    body: "We are working on it; next update in 30 minutes.".into(),
                    to: vec!["incidents@example.com".into()],
                },
                _ => TimelineEvent::NoteAdded { body: (*self.rng.pick(&NOTES)).to_owned() },
            };
            story.push((t, author, event));
        }
        story.sort_by_key(|(t, _, _)| *t);
        story.truncate(self.entries_per_incident);
        let mut updated = detected;
        for (t, author, event) in &story {
            let t = (*t).min(self.end_us);
            updated = updated.max(t);
            let row = self.entry(id_, t, author, event)?;
            batch.timeline.push(row);
        }
        self.counts.timeline += (batch.timeline.len() - entries_start) as u64;

        if merged_into.is_some() {
            c.status = IncidentStatus::Resolved;
            c.closed = None;
        }
        let (commander, comms) = match c.first_acknowledged {
            Some(_) => (
                Some(self.user(on_call).id),
                matches!(severity, Severity::Critical | Severity::High).then(|| self.user(backup).id),
            ),
            None => (None, None),
        };
        let restricted = kind == IncidentType::Security && self.rng.chance(0.5);
        let tags: Vec<&str> = match (kind, severity) {
            (IncidentType::Security, _) => vec!["security"],
            (_, Severity::Critical) => vec!["customer-facing", "sev1"],
            _ if self.rng.chance(0.3) => vec!["customer-facing"],
            _ => vec![],
        };
        batch.incidents.push(vec![
            id(id_),
            Cell::Int(number),
            text(&title),
            text(format!("{symptom} on {}; see the alerts and the timeline.", service.name)),
            text(severity.as_str()),
            text(kind.as_str()),
            text(c.status.as_str()),
            json(&[service.name])?,
            json(&tags)?,
            Cell::Id(commander),
            Cell::Id(comms),
            Cell::Id(None),
            Cell::Id(declared_by_person.then(|| self.user(on_call).id)),
            at(ts(detected)),
            Cell::At(c.acknowledged.map(ts)),
            Cell::At(c.contained.map(ts)),
            Cell::At(c.resolved.map(ts)),
            Cell::At(c.closed.map(ts)),
            at(ts(updated)),
            id(service.id),
            Cell::Text((!declared_by_person).then(|| format!("service:{}", service.name))),
            Cell::Bool(restricted),
            json(&serde_json::json!({}))?,
            Cell::Id(merged_into.map(|(m, _)| m)),
            Cell::Bool(drill),
            Cell::At(c.first_acknowledged.map(ts)),
            Cell::At(c.first_contained.map(ts)),
            Cell::At(c.first_resolved.map(ts)),
            Cell::Int(c.reopens),
            Cell::At(first_alert.map(ts)),
        ]);
        let counts = &mut self.counts;
        counts.incidents += 1;
        counts.open += u64::from(c.resolved.is_none());
        counts.reopened += u64::from(c.reopens > 0);
        counts.drills += u64::from(drill);
        counts.merged += u64::from(merged_into.is_some());
        Ok(())
    }

    /// Writes a postmortem started at `created` (and its action items); returns whether it
    /// is published by the end of the data.
    #[allow(clippy::too_many_arguments)]
    fn postmortem(
        &mut self,
        batch: &mut Batch,
        story: &mut Vec<(i64, Author, TimelineEvent)>,
        incident: Uuid,
        incident_title: &str,
        detected: i64,
        created: i64,
        author: usize,
    ) -> anyhow::Result<bool> {
        let revision = 1 + self.rng.below(6) as i64;
        let title = format!("Postmortem: {incident_title}");
        let body = format!(
            "## Summary\n\n{incident_title}.\n\n## Impact\n\nAbout {} % of requests failed for {} minutes.\n\n\
             ## Timeline\n\nSee the key events.\n\n## Root cause\n\n{}\n\n## What went well\n\nPaging worked; the \
             rollback was quick.\n\n## What went badly\n\nThe alert fired late and the runbook was out of date.\n",
            1 + self.rng.below(40),
            5 + self.rng.below(180),
            self.rng.pick(&NOTES),
        );
        let hash = firebreak_domain::review::revision_hash(&title, &body);
        let in_review = created + self.rng.lognormal_us(2.0 * 86_400.0, 0.8);
        let published_at = in_review + self.rng.lognormal_us(2.0 * 86_400.0, 0.8);
        let state = if self.rng.chance(0.15) {
            "draft"
        } else if published_at <= self.end_us && self.rng.chance(0.8) {
            "published"
        } else if in_review <= self.end_us {
            "in_review"
        } else {
            "draft"
        };
        let updated = match state {
            "published" => published_at,
            "in_review" => in_review,
            _ => created,
        };
        let impact = self.rng.chance(0.4).then(|| ts(detected - self.rng.lognormal_us(600.0, 1.0)));
        let pm = self.rng.id_at(created);
        let user = self.user(author);
        batch.postmortems.push(vec![
            id(pm),
            id(incident),
            text("default"),
            text(&title),
            text(&body),
            text(state),
            Cell::Int(revision),
            text(&hash),
            Cell::At(impact),
            id(user.id),
            at(ts(created)),
            at(ts(updated)),
            Cell::At((state == "published").then(|| ts(published_at))),
        ]);
        batch.revisions.push(vec![
            id(pm),
            Cell::Int(revision),
            text(&hash),
            text(&title),
            text(&body),
            id(user.id),
            text(&user.name),
            at(ts(updated)),
        ]);
        self.counts.postmortems += 1;
        story.push((
            created,
            Author { user: Some(author), via: "web" },
            TimelineEvent::PostmortemChanged { change: "drafted".into(), revision: Some(1), detail: String::new() },
        ));
        if state == "published" {
            story.push((
                published_at,
                Author { user: Some(author), via: "web" },
                TimelineEvent::PostmortemChanged {
                    change: "published".into(),
                    revision: Some(revision),
                    detail: String::new(),
                },
            ));
        }

        // Action items: a few per postmortem, due in two to six weeks.
        let today = ts(self.end_us).date_naive();
        for _ in 0..1 + self.rng.below(7) {
            let made = (created + self.rng.below(3 * DAY_US as u64) as i64).min(self.end_us);
            let due = ts(made).date_naive() + TimeDelta::days(14 + self.rng.below(29) as i64);
            let overdue = due < today;
            let status = if overdue {
                self.rng.weighted(&[("done", 60), ("wont_do", 10), ("in_progress", 10), ("open", 20)])
            } else {
                self.rng.weighted(&[("done", 25), ("in_progress", 30), ("open", 45)])
            };
            let closed = matches!(status, "done" | "wont_do").then(|| {
                let latest = (due.and_hms_opt(12, 0, 0).map_or(made, |d| d.and_utc().timestamp_micros()) + 7 * DAY_US)
                    .min(self.end_us);
                made + self.rng.below((latest - made).max(1) as u64) as i64
            });
            let procedure_change = self.rng.chance(0.1);
            let owner = self.rng.index(USERS);
            let number = self.counts.actions as i64 + 1;
            let (what, file) = if procedure_change {
                ("Update the runbook with the rollback steps", Some("playbooks/rollback.md"))
            } else {
                (
                    *self.rng.pick(&[
                        "Alert on connection pool saturation",
                        "Add a canary stage to the deploy pipeline",
                        "Raise the default timeout of the payment client",
                        "Load-test the search cluster at twice the peak",
                        "Automate certificate renewal",
                        "Document the failover procedure",
                    ]),
                    None,
                )
            };
            batch.actions.push(vec![
                id(self.rng.id_at(made)),
                Cell::Int(number),
                id(incident),
                Cell::Bool(true),
                text(what),
                text(if procedure_change { "procedure_change" } else { "task" }),
                id(self.user(owner).id),
                Cell::Day(Some(due)),
                text(self.rng.weighted(&[("urgent", 5), ("high", 25), ("medium", 50), ("low", 20)])),
                text(status),
                Cell::Text(self.rng.chance(0.5).then(|| format!("https://tracker.example.com/OPS-{}", 1000 + number))),
                Cell::Text(file.map(str::to_owned)),
                id(self.user(author).id),
                at(ts(made)),
                at(ts(closed.unwrap_or(made))),
                Cell::At(closed.map(ts)),
                // Overdue open items were reminded today already (see the postmortem reminders).
                Cell::Day((overdue && closed.is_none()).then_some(today)),
            ]);
            self.counts.actions += 1;
        }
        Ok(state == "published")
    }
}

async fn generate(database: &str, incidents: u32, entries_per_incident: u32, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut conn = open_for_load(database).await?;
    let mut rng = Rng(seed);
    let end_us = firebreak_domain::time::now().timestamp_micros();
    // Incidents detected over the 364 days before the end (so a 365-day report ending later
    // covers them all), more often on weekdays in working hours, numbered in order.
    let start_us = end_us - 364 * DAY_US;
    let mut detected: Vec<i64> = Vec::with_capacity(incidents as usize);
    while detected.len() < incidents as usize {
        let t = start_us + rng.below((end_us - 10 * MINUTE_US - start_us) as u64) as i64;
        let local = ts(t);
        let busy = local.weekday().number_from_monday() <= 5 && (8..19).contains(&chrono::Timelike::hour(&local));
        if busy || rng.chance(0.55) {
            detected.push(t);
        }
    }
    detected.sort_unstable();

    conn.execute("BEGIN").await?;
    let catalog = write_catalog(&mut conn, &mut rng, start_us).await?;
    conn.execute("COMMIT").await?;
    eprintln!(
        "   catalog: {} services, {} integrations, {} users, {} contact methods",
        catalog.services.len(),
        catalog.services.iter().map(|s| s.integrations.len()).sum::<usize>(),
        catalog.users.len(),
        catalog.users.iter().map(|u| u.methods.len()).sum::<usize>(),
    );
    let mut g = Generator {
        rng,
        catalog: &catalog,
        end_us,
        entries_per_incident: entries_per_incident.max(1) as usize,
        commander: RoleName::parse("commander")?,
        counts: Counts::default(),
        last_of_service: vec![None; SERVICES.len()],
    };
    const PER_TRANSACTION: usize = 5000;
    for (chunk_index, chunk) in detected.chunks(PER_TRANSACTION).enumerate() {
        let mut batch = Batch::default();
        for (i, &t) in chunk.iter().enumerate() {
            let number = (chunk_index * PER_TRANSACTION + i + 1) as i64;
            g.incident(&mut batch, number, t)?;
        }
        conn.execute("BEGIN").await?;
        batch.write(&mut conn).await?;
        conn.execute("COMMIT").await?;
        let c = &g.counts;
        eprintln!(
            "   incidents {}/{incidents}  timeline entries {}  alerts {}  pages {}  postmortems {}  action items {}  ({:.0} s)",
            c.incidents,
            c.timeline,
            c.alerts,
            c.pages,
            c.postmortems,
            c.actions,
            started.elapsed().as_secs_f64()
        );
    }
    let c = g.counts;
    let (incident_number, action_number) = (c.incidents as i64, c.actions as i64);
    match &mut conn {
        Conn::Sqlite(conn) => {
            for (name, value) in [("incident_number", incident_number), ("action_item_number", action_number)] {
                sqlx::query("UPDATE counters SET value = ? WHERE name = ?")
                    .bind(value)
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Conn::Pg(conn) => {
            for (name, value) in [("incident_number", incident_number), ("action_item_number", action_number)] {
                sqlx::query("UPDATE counters SET value = $1 WHERE name = $2")
                    .bind(value)
                    .bind(name)
                    .execute(&mut *conn)
                    .await?;
            }
            // What autovacuum does soon after a bulk load anyway: statistics and the visibility map.
            sqlx::raw_sql("VACUUM ANALYZE").execute(&mut *conn).await?;
        }
    }
    match conn {
        Conn::Sqlite(conn) => conn.close().await?,
        Conn::Pg(conn) => conn.close().await?,
    }
    println!(
        "   generated {} incidents ({} still open, {} reopened, {} drills, {} merged), {} timeline entries, {} alerts, \
         {} page notifications, {} postmortems, {} action items in {:.0} s",
        c.incidents,
        c.open,
        c.reopened,
        c.drills,
        c.merged,
        c.timeline,
        c.alerts,
        c.pages,
        c.postmortems,
        c.actions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
