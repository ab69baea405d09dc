//! A bounded load generator for the ingestion benchmark (`bench/ingest.sh`): sends PagerDuty
//! Events v2 `trigger` events to `POST /v2/enqueue`, one event per request, over `--connections`
//! keep-alive HTTP/1.1 connections, until `--duration` seconds pass or `--requests` are sent.
//! Dedup keys come from `--keys`: a number N cycles through N keys (after the first N events
//! every event is a duplicate), `unique` makes every key new.
//!
//! With `--target alertmanager` it posts the same alerts, one per request, to Alertmanager's
//! `POST /api/v2/alerts` (a JSON array with one alert: labels `alertname="FirebreakBench"` and
//! `instance=<the dedup key>`, annotation `summary`), so both servers take the same stream.
//!
//! `--rate R` paces the events to R per second in all (an open-loop schedule shared by every
//! connection); latency is then also reported from each event's scheduled time, so a server
//! that falls behind cannot hide it by slowing the generator down.
//!
//! It prints events/s (2xx answers per second), p50/p90/p99/max latency (send → whole answer)
//! and the non-2xx answers by status, 429 counted apart. It exits 1 on a transport error or a
//! non-2xx answer other than 429. `--count-alerts` instead pages through `GET /api/v1/alerts`
//! (needs `--token`) and prints how many alerts there are and the events folded into them.
//! `--target alerts-list` instead reads `GET /api/v1/alerts?status=open` (the first page of 50,
//! with `--token`) the same way, to time the alert list while many alerts are stored, and
//! `--target get --path /status/acme` reads any path anonymously, accepting gzip as browsers do
//! (the status page benchmark).
//! Only loopback URLs are accepted.
//!
//! ```text
//! cargo run --release -p firebreak --example ingest_load -- --url http://127.0.0.1:8080 \
//!     --routing-key KEY --keys 100 --connections 64 --duration 60
//! ```

mod common;

use clap::{Parser, ValueEnum};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// Firebreak (or anything speaking PagerDuty Events v2): POST /v2/enqueue
    Pagerduty,
    /// Prometheus Alertmanager: POST /api/v2/alerts
    Alertmanager,
    /// Firebreak's alert list: GET /api/v1/alerts?status=open (needs --token); measures reads
    AlertsList,
    /// Any page read anonymously: GET --path (a status page, its JSON); measures reads
    Get,
}

/// How dedup keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keys {
    /// Cycle through this many keys.
    Cycle(u64),
    /// A new key for every event.
    Unique,
}

impl FromStr for Keys {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "unique" {
            return Ok(Keys::Unique);
        }
        match s.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Keys::Cycle(n)),
            _ => Err(format!("expected a positive number of keys or `unique`, got {s:?}")),
        }
    }
}

impl std::fmt::Display for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keys::Cycle(n) => write!(f, "{n} keys"),
            Keys::Unique => f.write_str("unique keys"),
        }
    }
}

#[derive(Parser)]
#[command(about = "Send PagerDuty v2 events (or the same alerts to Alertmanager) and report throughput and latency")]
struct Args {
    /// Server base URL; must be on this machine (127.0.0.1, ::1 or localhost)
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Where to send: pagerduty (POST /v2/enqueue) or alertmanager (POST /api/v2/alerts)
    #[arg(long, value_enum, default_value_t = Target::Pagerduty)]
    target: Target,
    /// Integration key of a PagerDuty integration (needed with --target pagerduty)
    #[arg(long, env = "FIREBREAK_ROUTING_KEY", hide_env_values = true)]
    routing_key: Option<String>,
    /// Dedup keys: a number N cycles through N keys (mostly duplicates), `unique` makes each new
    #[arg(long, default_value = "100")]
    keys: Keys,
    /// Keep-alive connections, each with one request in flight
    #[arg(long, default_value_t = 64)]
    connections: u64,
    /// Stop after this many seconds
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Stop after this many requests (default: only the duration bounds the run)
    #[arg(long)]
    requests: Option<u64>,
    /// Pace to this many events per second in all (default: as fast as the server answers)
    #[arg(long)]
    rate: Option<u64>,
    /// Runtime threads of the generator (1: a single-threaded runtime)
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also write the figures as one JSON object to this file
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Instead of sending load: page through GET /api/v1/alerts and count alerts and events
    #[arg(long)]
    count_alerts: bool,
    /// API token for --count-alerts and --target alerts-list
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The path --target get reads, e.g. /status/acme/api/v2/summary.json
    #[arg(long)]
    path: Option<String>,
}

/// Everything the workers share.
struct Plan {
    endpoint: String,
    target: Target,
    routing_key: String,
    token: String,
    keys: Keys,
    /// Distinguishes unique keys of this run from those of earlier runs on the same server.
    run_tag: String,
    next: AtomicU64,
    total: u64,
    started: Instant,
    until: Instant,
    /// Seconds between two scheduled events, when paced.
    interval: Option<f64>,
}

impl Plan {
    fn dedup_key(&self, n: u64) -> String {
        match self.keys {
            Keys::Cycle(k) => format!("bench-{}", n % k),
            Keys::Unique => format!("bench-{}-{n}", self.run_tag),
        }
    }

    /// The request body of event `n`. Keys are `[a-z0-9-]`, so no JSON escaping is needed.
    fn body(&self, n: u64) -> String {
        let key = self.dedup_key(n);
        match self.target {
            Target::Pagerduty => format!(
                r#"{{"routing_key":"{}","event_action":"trigger","dedup_key":"{key}","payload":{{"summary":"Benchmark alert {key}","source":"bench-host-{}","severity":"error","component":"bench"}}}}"#,
                self.routing_key,
                n % 16
            ),
            Target::Alertmanager => format!(
                r#"[{{"labels":{{"alertname":"FirebreakBench","instance":"{key}","severity":"error"}},"annotations":{{"summary":"Benchmark alert {key}"}}}}]"#
            ),
            Target::AlertsList | Target::Get => String::new(),
        }
    }
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    /// Send → whole answer, in microseconds, of 2xx answers.
    latencies_us: Vec<u32>,
    /// Scheduled time → whole answer, in microseconds, of 2xx answers (paced runs only).
    scheduled_us: Vec<u32>,
    /// 2xx answers completed in each second of the run.
    per_second: Vec<u64>,
    ok: u64,
    /// Status → count of non-2xx answers; 0 stands for a transport error.
    refused: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

async fn connection(http: reqwest::Client, plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    loop {
        let n = plan.next.fetch_add(1, Ordering::Relaxed);
        if n >= plan.total {
            return tally;
        }
        let scheduled = match plan.interval {
            Some(interval) => {
                let at = plan.started + Duration::from_secs_f64(n as f64 * interval);
                if at >= plan.until {
                    return tally;
                }
                tokio::time::sleep_until(at.into()).await;
                Some(at)
            }
            None => None,
        };
        if Instant::now() >= plan.until {
            return tally;
        }
        let body = plan.body(n);
        let sent = Instant::now();
        let request = match plan.target {
            Target::AlertsList => http.get(&plan.endpoint).bearer_auth(&plan.token),
            // As browsers ask; the body is read as it comes (not unzipped).
            Target::Get => http.get(&plan.endpoint).header(reqwest::header::ACCEPT_ENCODING, "gzip"),
            _ => http.post(&plan.endpoint).header(reqwest::header::CONTENT_TYPE, "application/json").body(body),
        };
        let result = request.send().await;
        let (status, text) = match result {
            // Read the whole body: the request is done when the answer has arrived.
            Ok(res) => (res.status().as_u16(), res.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        };
        let done = Instant::now();
        if (200..300).contains(&status) {
            tally.ok += 1;
            tally.latencies_us.push(micros(done - sent));
            if let Some(at) = scheduled {
                tally.scheduled_us.push(micros(done.saturating_duration_since(at)));
            }
            let second = (done - plan.started).as_secs() as usize;
            if tally.per_second.len() <= second {
                tally.per_second.resize(second + 1, 0);
            }
            tally.per_second[second] += 1;
        } else {
            *tally.refused.entry(status).or_default() += 1;
            if tally.first_error.is_none() && status != 429 {
                let what = if status == 0 { "transport error".to_owned() } else { format!("HTTP {status}") };
                tally.first_error = Some(format!("{what}: {}", text.chars().take(300).collect::<String>()));
            }
        }
    }
}

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    common::percentile(sorted, p).map_or(0.0, |us| f64::from(us) / 1000.0)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// CPU time this process used so far (user + system, from /proc; clock ticks at 100 Hz).
fn own_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn write_json(path: &Option<std::path::PathBuf>, value: &serde_json::Value) -> Result<(), String> {
    if let Some(path) = path {
        std::fs::write(path, format!("{value}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// `--count-alerts`: pages through every alert, newest first, 200 at a time.
async fn count_alerts(args: &Args, base: &str) -> ExitCode {
    let Some(token) = args.token.as_deref() else { return fail("--count-alerts needs --token (or FIREBREAK_TOKEN)") };
    let http = match reqwest::Client::builder().timeout(Duration::from_secs(60)).build() {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot build the HTTP client: {e}")),
    };
    let endpoint = format!("{base}/api/v1/alerts");
    let (mut alerts, mut events, mut pages) = (0u64, 0u64, 0u64);
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "200".to_owned())];
        if let Some(c) = cursor.take() {
            query.push(("cursor", c));
        }
        let res = match http.get(&endpoint).bearer_auth(token).query(&query).send().await {
            Ok(r) => r,
            Err(e) => return fail(format!("GET {endpoint}: {e}")),
        };
        let status = res.status();
        let page: serde_json::Value = match res.json().await {
            Ok(v) if status.is_success() => v,
            Ok(v) => return fail(format!("GET {endpoint}: HTTP {status}: {v}")),
            Err(e) => return fail(format!("GET {endpoint}: HTTP {status}, unreadable answer: {e}")),
        };
        pages += 1;
        let Some(items) = page["items"].as_array() else { return fail("the answer has no `items` array") };
        for item in items {
            let Some(count) = item["count"].as_u64() else { return fail("an alert has no numeric `count`") };
            alerts += 1;
            events += count;
        }
        match page["next_cursor"].as_str() {
            Some(c) if !items.is_empty() => cursor = Some(c.to_owned()),
            _ => break,
        }
    }
    println!("alerts: {alerts}, events folded into them: {events} ({pages} pages)");
    match write_json(&args.json, &serde_json::json!({ "alerts": alerts, "events": events, "pages": pages })) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

async fn load(args: &Args, base: &str) -> ExitCode {
    if args.connections == 0 || args.duration == 0 || args.requests == Some(0) || args.rate == Some(0) {
        return fail("--connections, --duration, --requests and --rate must be at least 1");
    }
    let routing_key = match (args.target, args.routing_key.as_deref().map(str::trim)) {
        (Target::Pagerduty, Some(k)) if !k.is_empty() => k.to_owned(),
        (Target::Pagerduty, _) => return fail("--target pagerduty needs --routing-key (or FIREBREAK_ROUTING_KEY)"),
        (Target::Alertmanager | Target::AlertsList | Target::Get, _) => String::new(),
    };
    let token = match (args.target, args.token.as_deref()) {
        (Target::AlertsList, Some(t)) if !t.trim().is_empty() => t.trim().to_owned(),
        (Target::AlertsList, _) => return fail("--target alerts-list needs --token (or FIREBREAK_TOKEN)"),
        _ => String::new(),
    };
    if routing_key.contains(['"', '\\']) || routing_key.chars().any(char::is_control) {
        return fail("--routing-key must not contain quotes, backslashes or control characters");
    }
    let http = match reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.connections as usize)
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot build the HTTP client: {e}")),
    };
    let path = match (args.target, args.path.as_deref()) {
        (Target::Pagerduty, _) => "/v2/enqueue",
        (Target::Alertmanager, _) => "/api/v2/alerts",
        (Target::AlertsList, _) => "/api/v1/alerts?status=open&limit=50",
        (Target::Get, Some(p)) if p.starts_with('/') => p,
        (Target::Get, _) => return fail("--target get needs --path starting with /"),
    };
    let run_tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("{:x}", d.as_millis()))
        .unwrap_or_else(|_| "0".into());
    let started = Instant::now();
    let plan = Arc::new(Plan {
        endpoint: format!("{base}{path}"),
        target: args.target,
        routing_key,
        token,
        keys: args.keys,
        run_tag,
        next: AtomicU64::new(0),
        total: args.requests.unwrap_or(u64::MAX),
        started,
        until: started + Duration::from_secs(args.duration),
        interval: args.rate.map(|r| 1.0 / r as f64),
    });
    let pace = match args.rate {
        Some(r) => format!("paced to {r} events/s"),
        None => "as fast as answered".to_owned(),
    };
    let bound = match args.requests {
        Some(r) => format!("at most {r} requests and {} s", args.duration),
        None => format!("{} s", args.duration),
    };
    println!(
        "target:      {} {}, {}, {} connections, {pace}, {bound}",
        match args.target {
            Target::Pagerduty => "PagerDuty v2",
            Target::Alertmanager => "Alertmanager v2",
            Target::AlertsList => "Firebreak alert list",
            Target::Get => "GET",
        },
        plan.endpoint,
        args.keys,
        args.connections
    );
    let workers: Vec<_> = (0..args.connections).map(|_| tokio::spawn(connection(http.clone(), plan.clone()))).collect();
    let mut all = Tally::default();
    for w in workers {
        match w.await {
            Ok(t) => {
                all.ok += t.ok;
                all.latencies_us.extend(t.latencies_us);
                all.scheduled_us.extend(t.scheduled_us);
                if all.per_second.len() < t.per_second.len() {
                    all.per_second.resize(t.per_second.len(), 0);
                }
                for (i, n) in t.per_second.into_iter().enumerate() {
                    all.per_second[i] += n;
                }
                for (status, n) in t.refused {
                    *all.refused.entry(status).or_default() += n;
                }
                all.first_error = all.first_error.or(t.first_error);
            }
            Err(e) => return fail(format!("a connection task failed: {e}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    all.scheduled_us.sort_unstable();
    let throttled = all.refused.get(&429).copied().unwrap_or(0);
    let transport = all.refused.get(&0).copied().unwrap_or(0);
    let other: u64 = all.refused.iter().filter(|(s, _)| **s != 429 && **s != 0).map(|(_, n)| n).sum();
    let sent = all.ok + throttled + transport + other;
    let rate = all.ok as f64 / elapsed.max(f64::EPSILON);
    // Whole seconds only: the last, partial one would look like a dip.
    let full = &all.per_second[..all.per_second.len().min(elapsed.floor() as usize)];
    let mut seconds = full.to_vec();
    seconds.sort_unstable();
    let (sec_min, sec_median, sec_max) = match seconds.as_slice() {
        [] => (0, 0, 0),
        s => (s[0], s[s.len() / 2], s[s.len() - 1]),
    };
    println!(
        "requests:    {sent} sent, {} answered 2xx, {throttled} × 429, {other} other non-2xx, {transport} transport errors, in {elapsed:.2} s",
        all.ok
    );
    println!("throughput:  {rate:.0} events/s; per whole second: min {sec_min}, median {sec_median}, max {sec_max}");
    let lat = |v: &[u32]| [50.0, 90.0, 99.0, 100.0].map(|p| percentile(v, p));
    let [p50, p90, p99, max] = lat(&all.latencies_us);
    println!("latency ms:  p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  max {max:.2}   (2xx, send → whole answer)");
    if let Some(cpu) = own_cpu_seconds() {
        println!("generator:   {cpu:.2} CPU-seconds of its own (user + system) over the run");
    }
    let mut scheduled = serde_json::Value::Null;
    if args.rate.is_some() {
        let [s50, s90, s99, smax] = lat(&all.scheduled_us);
        println!(
            "from schedule: p50 {s50:.2}  p90 {s90:.2}  p99 {s99:.2}  max {smax:.2}   (2xx, scheduled time → whole answer)"
        );
        scheduled = serde_json::json!({ "p50_ms": s50, "p90_ms": s90, "p99_ms": s99, "max_ms": smax });
    }
    if throttled + other + transport > 0 {
        let list: Vec<String> = all
            .refused
            .iter()
            .map(|(s, n)| if *s == 0 { format!("{n} transport errors") } else { format!("{n} × HTTP {s}") })
            .collect();
        println!("refused:     {}", list.join(", "));
    }
    let summary = serde_json::json!({
        "target": format!("{:?}", args.target).to_lowercase(),
        "keys": args.keys.to_string(),
        "connections": args.connections,
        "rate": args.rate,
        "sent": sent,
        "ok": all.ok,
        "throttled": throttled,
        "other_non_2xx": other,
        "transport_errors": transport,
        "refused_by_status": all.refused.iter().map(|(s, n)| (s.to_string(), *n)).collect::<BTreeMap<_, _>>(),
        "elapsed_s": elapsed,
        "events_per_s": rate,
        "per_second": { "min": sec_min, "median": sec_median, "max": sec_max },
        "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "max_ms": max,
        "from_schedule": scheduled,
    });
    if let Err(e) = write_json(&args.json, &summary) {
        return fail(e);
    }
    if other + transport > 0 {
        if let Some(e) = all.first_error {
            eprintln!("first error: {e}");
        }
        return ExitCode::FAILURE;
    }
    if all.ok == 0 {
        return fail("no event was accepted");
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    let url = match reqwest::Url::parse(&args.url) {
        Ok(u) => u,
        Err(e) => return fail(format!("invalid --url {:?}: {e}", args.url)),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return fail(format!("--url must be http or https, not {:?}", url.scheme()));
    }
    if !common::is_loopback(&url) {
        return fail(format!("{} is not on this machine; this benchmark only loads loopback servers", args.url));
    }
    let base = args.url.trim_end_matches('/').to_owned();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    runtime
        .block_on(async { if args.count_alerts { count_alerts(&args, &base).await } else { load(&args, &base).await } })
}
