//! A bounded load generator for the benchmark (`bench/run.sh`): POSTs incidents to
//! `/api/v1/incidents` from `--concurrency` workers until `--requests` are sent (or
//! `--duration` seconds pass), then prints latency percentiles and throughput. Any answer
//! other than 201 counts as an error and makes it exit 1.
//!
//! ```text
//! cargo run --release -p firebreak --example load -- --url http://127.0.0.1:8080 --token TOKEN
//! ```

mod common;

use clap::Parser;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "POST incidents to a Firebreak server and report latency and throughput")]
struct Args {
    /// Server base URL (loopback only unless --allow-remote)
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API token of a responder or admin
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true)]
    token: String,
    /// Requests to send in all
    #[arg(long, default_value_t = 5000)]
    requests: u64,
    /// Requests in flight at once
    #[arg(long, default_value_t = 16)]
    concurrency: u64,
    /// Stop after this many seconds even if not all requests were sent
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Allow a server that is not on this machine
    #[arg(long)]
    allow_remote: bool,
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// What one worker saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    /// HTTP status (or 0 for a transport error) → count, for everything but 201.
    errors: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

async fn worker(
    http: reqwest::Client,
    endpoint: Arc<str>,
    token: Arc<str>,
    next: Arc<AtomicU64>,
    total: u64,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total || Instant::now() >= until {
            return tally;
        }
        let severity = SEVERITIES[(n % 4) as usize];
        let body = serde_json::json!({
            "title": format!("load test incident {n}"),
            "severity": severity,
            "type": "other",
            "summary": "created by the Firebreak benchmark",
            "services": ["bench"],
        });
        let started = Instant::now();
        let result = http.post(&*endpoint).bearer_auth(&*token).json(&body).send().await;
        let outcome = match result {
            Ok(res) => {
                let status = res.status().as_u16();
                // Read the whole body: the request is done when the answer has arrived.
                let text = res.text().await.unwrap_or_default();
                (status, text)
            }
            Err(e) => (0, e.to_string()),
        };
        let elapsed = started.elapsed();
        if outcome.0 == 201 {
            tally.latencies.push(elapsed);
        } else {
            *tally.errors.entry(outcome.0).or_default() += 1;
            if tally.first_error.is_none() {
                tally.first_error =
                    Some(format!("HTTP {}: {}", outcome.0, outcome.1.chars().take(300).collect::<String>()));
            }
        }
    }
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    common::percentile(sorted, p).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let base = match reqwest::Url::parse(&args.url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: invalid --url {:?}: {e}", args.url);
            return ExitCode::FAILURE;
        }
    };
    if !args.allow_remote && !common::is_loopback(&base) {
        eprintln!("error: {} is not on this machine; pass --allow-remote to load another server", args.url);
        return ExitCode::FAILURE;
    }
    if args.requests == 0 || args.concurrency == 0 {
        eprintln!("error: --requests and --concurrency must be at least 1");
        return ExitCode::FAILURE;
    }
    let http = match reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency as usize)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot build the HTTP client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let endpoint: Arc<str> = format!("{}/api/v1/incidents", args.url.trim_end_matches('/')).into();
    let token: Arc<str> = args.token.clone().into();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(args.duration);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(worker(http.clone(), endpoint.clone(), token.clone(), next.clone(), args.requests, until))
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.requests as usize);
    let mut errors: BTreeMap<u16, u64> = BTreeMap::new();
    let mut first_error = None;
    for w in workers {
        match w.await {
            Ok(t) => {
                latencies.extend(t.latencies);
                for (status, n) in t.errors {
                    *errors.entry(status).or_default() += n;
                }
                first_error = first_error.or(t.first_error);
            }
            Err(e) => {
                eprintln!("error: a worker failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let failed: u64 = errors.values().sum();
    let ok = latencies.len() as u64;
    println!(
        "requests:    {} sent, {ok} answered 201, {failed} errors, in {elapsed:.2} s (concurrency {})",
        ok + failed,
        args.concurrency
    );
    println!(
        "latency ms:  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!("throughput:  {:.0} requests/s", ok as f64 / elapsed.max(f64::EPSILON));
    if failed > 0 {
        let summary: Vec<String> = errors
            .iter()
            .map(|(s, n)| if *s == 0 { format!("{n} transport errors") } else { format!("{n} × HTTP {s}") })
            .collect();
        eprintln!("errors: {}", summary.join(", "));
        if let Some(e) = first_error {
            eprintln!("first error: {e}");
        }
        return ExitCode::FAILURE;
    }
    if ok + failed < args.requests {
        eprintln!(
            "note: stopped after {} s with {} of {} requests sent (--duration)",
            args.duration,
            ok + failed,
            args.requests
        );
    }
    ExitCode::SUCCESS
}
