//! Operational endpoints and request observation: `/healthz` (the process is up), `/readyz`
//! (the database answers), `/metrics` (Prometheus text: requests, latencies, incidents by
//! status), and the middleware that records every request and logs server errors once.

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;
use tracing::Instrument;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latency histograms, kept in memory per process.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry((method.to_owned(), route.to_owned())).or_default();
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    fn render(&self, out: &mut String) {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        out.push_str("# HELP firebreak_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE firebreak_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "firebreak_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        out.push_str("# HELP firebreak_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE firebreak_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for ((m, route), h) in l.iter() {
                let route = esc(route);
                for (i, le) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "firebreak_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{route}\",le=\"{le}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "firebreak_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "firebreak_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "firebreak_http_request_duration_seconds_count{{method=\"{m}\",route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.metrics.render(&mut out);
    out.push_str(
        "# HELP firebreak_incidents Incidents in the database, by status.\n# TYPE firebreak_incidents gauge\n",
    );
    match state.store.count_incidents_by_status().await {
        Ok(counts) => {
            for (status, n) in counts {
                let _ = writeln!(out, "firebreak_incidents{{status=\"{status}\"}} {n}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count incidents for /metrics"),
    }
    let _ = writeln!(
        out,
        "# HELP firebreak_up Whether this process is serving.\n# TYPE firebreak_up gauge\nfirebreak_up 1"
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// Records each request's route, status and latency; logs server errors once, here.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("request", %method, %route);
    let res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    let secs = started.elapsed().as_secs_f64();
    state.metrics.record(&method, &route, status.as_u16(), secs);
    if status.is_server_error() {
        span.in_scope(|| tracing::error!(status = status.as_u16(), elapsed_ms = secs * 1000.0, "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(status = status.as_u16(), elapsed_ms = secs * 1000.0, "request"));
    }
    res
}
