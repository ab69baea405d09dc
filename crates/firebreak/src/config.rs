//! Configuration and the `serve` and `migrate` commands. Layers, lowest first: built-in
//! defaults, the TOML file (`--config`), `FIREBREAK_*` environment variables, then flags.
//! Unknown keys in the file are rejected.

use anyhow::{Context, bail};
use clap::Args;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use firebreak_server::{AppState, ServerConfig};
use firebreak_store::DynStore;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub const DEFAULT_DATABASE: &str = "sqlite://firebreak-data/firebreak.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Everything the server can be configured with; the TOML file uses these keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub secure_cookies: bool,
    pub session_ttl_hours: u32,
    pub log_format: LogFormat,
    pub log_level: String,
    pub public_url: Option<String>,
    pub ingest_rate_per_minute: u32,
    pub ingest_queue: usize,
    /// Channels that page people (`[notify]`, see docs/notifications.md).
    pub notify: firebreak_server::notify::NotifyConfig,
    /// The procedures directory (default: `procedures` next to a SQLite database file).
    pub procedures: Option<PathBuf>,
    /// Values of `${secret:NAME}` references in playbook actions (also `FIREBREAK_SECRET_<NAME>`).
    pub secrets: std::collections::BTreeMap<String, firebreak_server::notify::config::Secret>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN.into(),
            database_url: DEFAULT_DATABASE.into(),
            secure_cookies: false,
            session_ttl_hours: 12,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            public_url: None,
            ingest_rate_per_minute: 0,
            ingest_queue: 50_000,
            notify: Default::default(),
            procedures: None,
            secrets: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, clap::ValueEnum, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Options shared by every command that opens the database.
#[derive(Debug, Clone, Args, Serialize)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH (created when missing) or postgres://USER@HOST/DB
    /// [default: sqlite://firebreak-data/firebreak.db]
    #[arg(long = "database", env = "FIREBREAK_DATABASE_URL", value_name = "URL")]
    #[serde(rename = "database_url", skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// TOML file with settings (keys: listen, database_url, secure_cookies, session_ttl_hours, log_format, log_level)
    #[arg(long, env = "FIREBREAK_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "FIREBREAK_LISTEN", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub db: DbArgs,
    /// Mark cookies Secure (set when users reach Firebreak over HTTPS)
    #[arg(long, env = "FIREBREAK_SECURE_COOKIES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_cookies: Option<bool>,
    /// How long a web sign-in lasts, in hours [default: 12]
    #[arg(long, env = "FIREBREAK_SESSION_TTL_HOURS", value_name = "HOURS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_ttl_hours: Option<u32>,
    /// Log format [default: text]
    #[arg(long, env = "FIREBREAK_LOG_FORMAT", value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// The URL people and monitoring tools reach Firebreak at, shown in integration URLs
    /// [default: from each request's Host header]
    #[arg(long, env = "FIREBREAK_PUBLIC_URL", value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Alert events per minute one integration key may send; more get 429 [default: 0, no limit]
    #[arg(long, env = "FIREBREAK_INGEST_RATE_PER_MINUTE", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_rate_per_minute: Option<u32>,
    /// Alert events waiting to be committed at most; more get 429 [default: 50000]
    #[arg(long, env = "FIREBREAK_INGEST_QUEUE", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingest_queue: Option<usize>,
    /// Log filter, e.g. info or firebreak_server=debug [default: info]
    #[arg(long, env = "FIREBREAK_LOG_LEVEL", value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Procedures directory (decision trees, playbooks, contact lists, templates), reloaded
    /// when it changes [default: `procedures` next to the SQLite database file; built-in
    /// procedures when it does not exist]
    #[arg(long, env = "FIREBREAK_PROCEDURES", value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedures: Option<PathBuf>,
}

/// The `[secrets]` table, with `FIREBREAK_SECRET_<NAME>` variables over it.
fn action_secrets(settings: &Settings) -> std::collections::BTreeMap<String, firebreak_server::notify::config::Secret> {
    let mut secrets = settings.secrets.clone();
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix("FIREBREAK_SECRET_").filter(|n| !n.is_empty()) {
            secrets.insert(name.to_owned(), firebreak_server::notify::config::Secret(value));
        }
    }
    secrets
}

/// The file of a SQLite database URL (`sqlite://PATH`, `sqlite:PATH`, options after `?` left
/// out); `None` for PostgreSQL or an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Where procedures are read from: the setting, or `procedures` next to a SQLite file.
pub fn procedures_dir(settings: &Settings) -> Option<PathBuf> {
    if let Some(dir) = &settings.procedures {
        return Some(dir.clone());
    }
    let path = sqlite_path(&settings.database_url)?;
    Some(path.parent().unwrap_or(std::path::Path::new(".")).join("procedures"))
}

/// Merges defaults, the file and the command line (flags and their env vars).
pub fn load<T: Serialize>(file: Option<&PathBuf>, cli: &T) -> anyhow::Result<Settings> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(path) = file {
        if !path.exists() {
            bail!("config file {} does not exist", path.display());
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Serialized::defaults(cli));
    figment.extract::<Settings>().map_err(|e| {
        let mut msg = String::new();
        for err in e {
            msg.push_str(&format!("\n  {err}"));
        }
        anyhow::anyhow!("invalid configuration:{msg}\n(valid keys: listen, database_url, secure_cookies, session_ttl_hours, log_format, log_level, public_url, ingest_rate_per_minute, ingest_queue, procedures, [notify], [secrets])")
    })
}

/// Opens the database named by `url` and migrates it.
pub async fn open_store(url: &str) -> anyhow::Result<DynStore> {
    if url.starts_with("sqlite:") {
        let store = firebreak_store_sqlite::SqliteStore::connect(url).await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = firebreak_store_postgres::PgStore::connect(url).await?;
        Ok(Arc::new(store))
    } else {
        bail!("unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB")
    }
}

fn init_tracing(settings: &Settings) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .with_context(|| format!("invalid log level {:?}", settings.log_level))?;
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

/// Shows a database URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub async fn serve(args: ServeArgs, started: std::time::Instant) -> anyhow::Result<ExitCode> {
    let settings = load(args.db.config.as_ref(), &args)?;
    init_tracing(&settings)?;
    let listen: SocketAddr = settings
        .listen
        .parse()
        .with_context(|| format!("invalid listen address {:?}: use HOST:PORT, e.g. 127.0.0.1:8080", settings.listen))?;
    let store = open_store(&settings.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&settings.database_url)))?;
    if store.count_users().await? == 0 {
        tracing::warn!(
            "no users yet; create the first admin with: firebreak admin create-user --email you@example.com --name 'Your Name' --role admin{}",
            if settings.database_url == DEFAULT_DATABASE { String::new() } else { " --database <same URL>".into() }
        );
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen}: is another server using it? choose another with --listen")
    })?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let config = ServerConfig {
        secure_cookies: settings.secure_cookies,
        session_ttl: chrono::TimeDelta::hours(i64::from(settings.session_ttl_hours.max(1))),
        ingest_queue: settings.ingest_queue.max(1),
        ingest_rate_per_minute: settings.ingest_rate_per_minute,
        public_url: settings.public_url.clone().map(|u| u.trim_end_matches('/').to_owned()),
        paging: firebreak_server::PagingConfig {
            bundle: chrono::TimeDelta::seconds(settings.notify.bundle_seconds.min(3600) as i64),
            max_attempts: settings.notify.max_attempts.clamp(1, 50),
            link_ttl: chrono::TimeDelta::hours(i64::from(settings.notify.link_ttl_hours.clamp(1, 24 * 30))),
            lease: chrono::TimeDelta::seconds(i64::from(settings.notify.lease_seconds.clamp(2, 3600))),
        },
        notify: settings.notify.clone(),
        procedures_dir: procedures_dir(&settings),
        action_secrets: action_secrets(&settings),
    };
    firebreak_server::notify::notifier_from_config(&config.notify)
        .context("the [notify] settings are not usable; see docs/notifications.md")?;
    let state = AppState::new(store, config, shutdown_rx);
    let engine = firebreak_server::engine::spawn(state.clone());
    let paging = firebreak_server::engine::paging::spawn(state.clone());
    let reloader = firebreak_server::app::procedures::spawn_reloader(state.clone());
    if let Some(dir) = state.procedures.dir() {
        let problems = state.procedures.problems();
        if !dir.exists() {
            tracing::info!(dir = %dir.display(), "no procedures directory: the built-in decision tree serves (create one with: firebreak procedures init DIR)");
        } else if !problems.is_empty() {
            for p in &problems {
                tracing::warn!(problem = %p, "procedures problem");
            }
        }
    }
    let app = firebreak_server::app(state);
    let local = listener.local_addr()?;
    tracing::info!(
        address = %local,
        database = %redact(&settings.database_url),
        ready_ms = started.elapsed().as_millis() as u64,
        "firebreak is ready on http://{local}"
    );
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = shutdown_tx.send(true);
        })
        .await?;
    let _ = engine.await;
    let _ = paging.await;
    let _ = reloader.await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn migrate(args: DbArgs) -> anyhow::Result<ExitCode> {
    let settings = load(args.config.as_ref(), &args)?;
    open_store(&settings.database_url)
        .await
        .with_context(|| format!("cannot migrate {}", redact(&settings.database_url)))?;
    println!("database {} is up to date", redact(&settings.database_url));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nsession_ttl_hours = 3\n").unwrap_or_else(|e| panic!("{e}"));
        let args = ServeArgs {
            listen: Some("127.0.0.1:9999".into()),
            db: DbArgs { database: None, config: Some(file.clone()) },
            secure_cookies: None,
            session_ttl_hours: None,
            log_format: None,
            log_level: None,
            public_url: None,
            ingest_rate_per_minute: None,
            ingest_queue: None,
            procedures: None,
        };
        let s = load(Some(&file), &args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.listen, "127.0.0.1:9999");
        assert_eq!(s.session_ttl_hours, 3);
        assert_eq!(s.database_url, DEFAULT_DATABASE);
        assert_eq!(procedures_dir(&s), Some(PathBuf::from("firebreak-data/procedures")), "next to the SQLite file");
        let pg = Settings { database_url: "postgres://u@h/db".into(), ..Settings::default() };
        assert_eq!(procedures_dir(&pg), None, "built in for PostgreSQL unless set");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
        let args = DbArgs { database: None, config: Some(file.clone()) };
        let err = load(Some(&file), &args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
