//! Firebreak's HTTP server: the JSON API under `/api/v1`, the server-rendered web UI, live
//! updates over Server-Sent Events, and the operational endpoints (`/healthz`, `/readyz`,
//! `/metrics`). Handlers are thin: parse, call the domain and the store, respond.

pub mod api;
pub mod app;
pub mod auth;
pub mod engine;
pub mod error;
mod guard;
pub mod ingest;
pub mod notify;
pub mod ops;
pub mod views;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use firebreak_store::DynStore;
use std::sync::Arc;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest request body accepted anywhere (bigger ones get 413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Settings the server needs at run time.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Always mark cookies `Secure` (set when Firebreak is served over HTTPS).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: chrono::TimeDelta,
    /// Events waiting to be committed at most; beyond it ingestion answers 429.
    pub ingest_queue: usize,
    /// Events per minute one integration key may send (0: no limit).
    pub ingest_rate_per_minute: u32,
    /// The address people and tools reach Firebreak at, for integration URLs
    /// (default: from the request's Host header) and the links in notifications.
    pub public_url: Option<String>,
    /// How pages are delivered.
    pub paging: PagingConfig,
    /// The channels' settings (SMTP, Twilio, Slack, Telegram, ntfy, the SSRF guard), also
    /// the secrets inbound callbacks are checked with.
    pub notify: notify::NotifyConfig,
    /// The procedures directory (decision trees, playbooks, …); `None`: the built-in ones.
    pub procedures_dir: Option<std::path::PathBuf>,
    /// Values of the `${secret:NAME}` references in playbook actions (from the `[secrets]`
    /// table of the config file and `FIREBREAK_SECRET_<NAME>` variables). Never logged.
    pub action_secrets: std::collections::BTreeMap<String, notify::config::Secret>,
}

/// The paging engine's settings.
#[derive(Debug, Clone)]
pub struct PagingConfig {
    /// After a message to a contact method, further pages to it wait this long and go out
    /// together as one message (zero: no bundling).
    pub bundle: chrono::TimeDelta,
    /// Attempts per notification before it counts as failed.
    pub max_attempts: u32,
    /// How long the acknowledge and resolve links in a message work.
    pub link_ttl: chrono::TimeDelta,
    /// How long a claimed notification stays claimed: sent again after this if its sender
    /// died before recording the result.
    pub lease: chrono::TimeDelta,
}

impl Default for PagingConfig {
    fn default() -> Self {
        PagingConfig {
            bundle: chrono::TimeDelta::seconds(30),
            max_attempts: 8,
            link_ttl: chrono::TimeDelta::hours(24),
            lease: chrono::TimeDelta::seconds(60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            secure_cookies: false,
            session_ttl: chrono::TimeDelta::hours(12),
            ingest_queue: 50_000,
            ingest_rate_per_minute: 0,
            public_url: None,
            paging: PagingConfig::default(),
            notify: notify::NotifyConfig::default(),
            procedures_dir: None,
            action_secrets: Default::default(),
        }
    }
}

/// Where handlers get the current time, so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> firebreak_domain::Timestamp;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> firebreak_domain::Timestamp {
        firebreak_domain::time::now()
    }
}

/// A clock that stands still until told to move (for tests).
#[derive(Default)]
pub struct ManualClock {
    offset: std::sync::Mutex<chrono::TimeDelta>,
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::TimeDelta) {
        if let Ok(mut o) = self.offset.lock() {
            *o += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> firebreak_domain::Timestamp {
        let offset = self.offset.lock().map(|o| *o).unwrap_or_default();
        firebreak_domain::time::now() + offset
    }
}

/// Everything a handler can reach, built once.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<ops::Metrics>,
    /// Where ingestion endpoints send events to be committed in batches.
    pub ingestor: ingest::Ingestor,
    /// The client built-in checks probe with.
    pub http: reqwest::Client,
    /// The client playbook actions run with: no redirects, bounded time. Actions come from the
    /// team's reviewed procedures and may call internal hosts, so it is not the guarded one.
    pub action_http: reqwest::Client,
    /// Flips to `true` when the server begins shutting down; long-lived streams end then.
    pub shutdown: watch::Receiver<bool>,
    /// The channels notifications go out through.
    pub notifier: Arc<notify::Notifier>,
    /// Wakes the paging engine (something became due now).
    pub paging_wake: Arc<tokio::sync::Notify>,
    /// The procedures in force (decision trees, playbooks, contact lists, templates).
    pub procedures: Arc<app::procedures::ProceduresHandle>,
    /// Incidents changed since this instant are checked for stakeholder groups to tell.
    pub comms_since: Arc<std::sync::Mutex<Option<firebreak_domain::Timestamp>>>,
    /// When the stakeholder update cadence was last looked at (by this process's clock).
    pub cadence_checked: Arc<std::sync::Mutex<Option<firebreak_domain::Timestamp>>>,
    /// When the status pages' component statuses were last recorded (by this process's clock).
    pub status_recorded: Arc<std::sync::Mutex<Option<firebreak_domain::Timestamp>>>,
    /// When late postmortems and overdue action items were last looked for.
    pub review_checked: Arc<std::sync::Mutex<Option<firebreak_domain::Timestamp>>>,
    link_secret: Arc<tokio::sync::OnceCell<String>>,
    /// Status pages' answers, ready to serve.
    pub status_cache: Arc<app::status_pages::cache::PageCache>,
}

impl AppState {
    /// Builds the state and starts the ingestion pipeline (needs a Tokio runtime). The
    /// channels come from `config.notify` (check it first with `notify::notifier_from_config`:
    /// a configuration it refuses leaves no channels here).
    pub fn new(store: DynStore, config: ServerConfig, shutdown: watch::Receiver<bool>) -> Self {
        let notifier = notify::notifier_from_config(&config.notify).unwrap_or_else(|_| notify::Notifier::empty());
        let procedures = Arc::new(app::procedures::ProceduresHandle::new(config.procedures_dir.clone()));
        let ingestor = ingest::Ingestor::start(store.clone(), config.ingest_queue, config.ingest_rate_per_minute);
        AppState {
            status_cache: Arc::new(app::status_pages::cache::PageCache::new(&store)),
            ingestor,
            http: engine::check_client(),
            action_http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(std::time::Duration::from_secs(10))
                .timeout(std::time::Duration::from_secs(30))
                .user_agent(concat!("firebreak-action/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            store,
            clock: Arc::new(SystemClock),
            config: Arc::new(config),
            metrics: Arc::new(ops::Metrics::default()),
            shutdown,
            procedures,
            notifier: Arc::new(notifier),
            paging_wake: Arc::new(tokio::sync::Notify::new()),
            comms_since: Arc::new(std::sync::Mutex::new(None)),
            cadence_checked: Arc::new(std::sync::Mutex::new(None)),
            status_recorded: Arc::new(std::sync::Mutex::new(None)),
            review_checked: Arc::new(std::sync::Mutex::new(None)),
            link_secret: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The same state with these channels.
    pub fn with_notifier(mut self, notifier: notify::Notifier) -> Self {
        self.notifier = Arc::new(notifier);
        self
    }

    /// The secret that signs one-click links (kept in the database, so every replica and
    /// restart shares it).
    pub async fn link_secret(&self) -> Result<&str, firebreak_store::StoreError> {
        self.link_secret.get_or_try_init(|| self.store.server_secret("links")).await.map(String::as_str)
    }

    /// Where people reach this server, for links in messages.
    pub fn public_base(&self) -> &str {
        self.config.public_url.as_deref().unwrap_or("http://localhost:8080")
    }

    /// The same state with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// The whole application. Status pages with custom domains are mapped onto their paths
/// before anything is routed.
pub fn app(state: AppState) -> Router {
    Router::new()
        .fallback_service(routes(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state, web::status_custom_domains))
}

fn routes(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(ingest::pagerduty::router())
        .merge(ingest::alertmanager::router())
        .merge(ingest::opsgenie::router())
        .merge(ingest::heartbeat::router())
        .merge(ingest::generic::router())
        .nest("/api/v1", api::router())
        // The nested fallback covers `/api/v1` and `/api/v1/…` but not `/api/v1/` itself.
        .route("/api/v1/", axum::routing::any(api::route_not_found))
        .merge(web::router())
        .merge(web::respond::router())
        .merge(api::calendar::feeds_router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::observe))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        ))
        .with_state(state)
}
