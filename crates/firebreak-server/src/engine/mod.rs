//! Due work that runs without a request: heartbeat deadlines and built-in checks here, paging in
//! [`paging`]. Deadlines
//! are rows in the database (`due_at`), so a restart or another replica carries on where
//! this one stopped; claiming due work changes its row, so each piece runs once.

pub mod comms;
pub mod paging;
pub mod review;
pub mod status;

use crate::AppState;
use firebreak_domain::Timestamp;
use firebreak_domain::rules::{CheckDefinition, Probe};
use firebreak_store::CheckResult;
use std::time::Duration;

/// How often due work is looked for.
pub const TICK: Duration = Duration::from_secs(1);

/// Runs one round of due work at the state's clock: fires missed heartbeats, runs due
/// checks, and moves status pages along ([`status`]). Returns how many heartbeats fired plus
/// how many checks ran.
pub async fn tick(state: &AppState) -> usize {
    let done = heartbeats(state).await + checks(state).await;
    status::run_once(state, state.clock.now()).await;
    review::run_once(state, state.clock.now()).await;
    done
}

async fn checks(state: &AppState) -> usize {
    let now = state.clock.now();
    let due = match state.store.claim_due_checks(now).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim due checks; retrying");
            return 0;
        }
    };
    let runs = due.iter().map(|c| async move {
        let result = probe(&state.http, &c.definition, now).await;
        if let Err(e) = state.store.record_check_result(c.definition.id, &result).await {
            tracing::warn!(error = %e, check = %c.definition.id, "cannot record a check result");
        }
    });
    futures_util::future::join_all(runs).await;
    due.len()
}

/// Runs one probe at `now`: passed or not, how long it took, what happened, and (https)
/// when the server's certificate expires.
pub async fn probe(http: &reqwest::Client, check: &CheckDefinition, now: Timestamp) -> CheckResult {
    let started = std::time::Instant::now();
    let timeout = Duration::from_millis(check.timeout_ms.max(1) as u64);
    let mut cert_expires_at = None;
    let outcome = match &check.probe {
        Probe::Tcp { address } => {
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address.as_str())).await {
                Ok(Ok(_)) => Ok(format!("connected to {address}")),
                Ok(Err(e)) => Err(format!("cannot connect to {address}: {e}")),
                Err(_) => Err(format!("no connection to {address} within {} ms", check.timeout_ms)),
            }
        }
        Probe::Http { url, method, expected_status, keyword, .. } => {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
            let request = async {
                let mut res = http.request(method, url).send().await.map_err(describe)?;
                cert_expires_at = res
                    .extensions()
                    .get::<reqwest::tls::TlsInfo>()
                    .and_then(|tls| tls.peer_certificate())
                    .and_then(certificate_expiry);
                let status = res.status().as_u16();
                if status != *expected_status {
                    return Err(format!("HTTP {status} (expected {expected_status})"));
                }
                if let Some(word) = keyword {
                    let mut body = Vec::new();
                    while let Some(chunk) = res.chunk().await.map_err(describe)? {
                        body.extend_from_slice(&chunk);
                        if body.len() > 1024 * 1024 {
                            break;
                        }
                    }
                    if !String::from_utf8_lossy(&body).contains(word.as_str()) {
                        return Err(format!("HTTP {status} but the body does not contain {word:?}"));
                    }
                }
                Ok(format!("HTTP {status}"))
            };
            match tokio::time::timeout(timeout, request).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {} ms", check.timeout_ms)),
            }
        }
    };
    let latency_ms = started.elapsed().as_millis() as i64;
    let (ok, mut detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    if let Some(expires) = cert_expires_at {
        detail.push_str(&format!("; certificate valid until {}", firebreak_domain::time::canonical(expires)));
    }
    CheckResult { at: now, ok, latency_ms, detail, cert_expires_at }
}

/// The end of a DER-encoded X.509 certificate's validity.
pub fn certificate_expiry(der: &[u8]) -> Option<Timestamp> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
}

fn describe(e: reqwest::Error) -> String {
    if e.is_redirect() {
        "too many redirects".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        format!("request failed: {}", e.without_url())
    }
}

/// The HTTP client checks use: bounded redirects, no cookies, a clear user agent, and the
/// server's certificate kept for the expiry warning.
pub fn check_client() -> reqwest::Client {
    check_client_builder().build().unwrap_or_default()
}

/// [`check_client`]'s settings, for a caller that adds to them (a test trusting its own CA).
pub fn check_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("firebreak-check/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .tls_info(true)
}

async fn heartbeats(state: &AppState) -> usize {
    match state.store.fire_missed_heartbeats(state.clock.now()).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(missed = n, "heartbeats missed their deadline");
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot check heartbeat deadlines; retrying");
            0
        }
    }
}

/// Runs `tick` every [`TICK`] until the server shuts down.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => { tick(&state).await; }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
    })
}
