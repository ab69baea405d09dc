//! The load program of the paging benchmark (`bench/paging.sh`). It runs a webhook receiver on
//! 127.0.0.1, makes it the calling user's verified contact method (rule: page at once), and
//! measures two things against a running server:
//!
//! 1. **Event to page.** `--incidents` PagerDuty Events v2 triggers at `POST /v2/enqueue`, paced
//!    to `--rate` per second, each opening its own incident; the time from each 202 answer to the
//!    first page for that incident arriving at the receiver. A service gathers every alert into
//!    its one open incident and PagerDuty events carry no labels for label grouping, so every
//!    event goes to its own service (own integration key, same one-level policy).
//! 2. **Escalation on time under load.** `--open` incidents declared through the API on a
//!    service whose policy waits 60 minutes after level 1 (which pages a user without contact
//!    methods, so nothing is sent), then `--probes` incidents spread over `--probe-spread`
//!    seconds on a service whose policy pages level 1 at once and level 2 a minute later; for
//!    each probe, the level-2 page's arrival minus the step's due time (`escalation.last_due_at`
//!    after it fired, which is `detected_at` + 60 s).
//!
//! Pages are matched by incident title (phase 1: the alert summary carries the dedup key) or
//! number (phase 2); retries of one message (same `data.id`) count once. It prints progress on
//! stderr and one summary block on stdout, and exits 1 when a page is missing or a request
//! fails; a missed target is reported as MISS but is not a failure. Only loopback URLs.
//!
//! ```text
//! cargo run --release -p firebreak --example paging_load -- --url http://127.0.0.1:8080 \
//!     --token TOKEN --password PASSWORD --incidents 1000 --rate 20 --open 10000 --probes 30
//! ```

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Phase {
    /// Event accepted → first page
    Page,
    /// Delayed escalation step on time with many open incidents
    Escalation,
    Both,
}

#[derive(Parser)]
#[command(about = "Measure event-to-page latency and escalation timeliness against a running Firebreak")]
struct Args {
    /// Server base URL; must be on this machine (127.0.0.1, ::1 or localhost)
    #[arg(long, env = "FIREBREAK_URL")]
    url: String,
    /// API token of an admin
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true)]
    token: String,
    /// The token owner's password (adding a contact method asks for it)
    #[arg(long, env = "FIREBREAK_PASSWORD", hide_env_values = true)]
    password: String,
    #[arg(long, value_enum, default_value = "both")]
    phase: Phase,
    /// Phase 1: events sent, each opening its own incident
    #[arg(long, default_value_t = 1000)]
    incidents: usize,
    /// Phase 1: events per second
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Phase 2: open incidents whose escalation waits (60 minutes) while the probes run
    #[arg(long, default_value_t = 10_000)]
    open: usize,
    /// Phase 2: probe incidents whose level 2 is due a minute after they open
    #[arg(long, default_value_t = 30)]
    probes: usize,
    /// Phase 2: seconds over which the probes are declared
    #[arg(long, default_value_t = 20.0)]
    probe_spread: f64,
    /// Requests in flight while setting up (services, open incidents)
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds to wait for outstanding pages after the last event or due time
    #[arg(long, default_value_t = 60)]
    page_timeout: u64,
}

/// One message the receiver took.
#[derive(Clone, Debug)]
struct Arrival {
    at: Instant,
    wall: DateTime<Utc>,
    number: i64,
    title: String,
}

/// What the webhook receiver has seen so far.
#[derive(Default)]
struct Inbox {
    codes: Vec<String>,
    pages: Vec<Arrival>,
    message_ids: HashSet<String>,
    other: u64,
}

#[derive(Clone, Default)]
struct Receiver {
    inbox: Arc<Mutex<Inbox>>,
    changed: Arc<Notify>,
}

impl Receiver {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `done` holds for the inbox or `deadline` passes; returns whether it held.
    async fn wait_for(&self, deadline: Instant, mut done: impl FnMut(&Inbox) -> bool) -> bool {
        loop {
            let notified = self.changed.notified();
            if done(&self.lock()) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let _ = tokio::time::timeout((deadline - now).min(Duration::from_millis(500)), notified).await;
        }
    }
}

async fn take_message(State(rx): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let at = Instant::now();
    let wall = Utc::now();
    let data = &body["data"];
    {
        let mut inbox = rx.lock();
        let id = data["id"].as_str().unwrap_or_default().to_owned();
        if !id.is_empty() && !inbox.message_ids.insert(id) {
            return StatusCode::OK;
        }
        match body["type"].as_str() {
            Some("contact_method.verification") => {
                let code = six_digits(data["text"].as_str().unwrap_or_default());
                inbox.codes.extend(code);
            }
            Some("incident.page") => {
                for i in data["incidents"].as_array().into_iter().flatten() {
                    inbox.pages.push(Arrival {
                        at,
                        wall,
                        number: i["number"].as_i64().unwrap_or(-1),
                        title: i["title"].as_str().unwrap_or_default().to_owned(),
                    });
                }
            }
            _ => inbox.other += 1,
        }
    }
    rx.changed.notify_waiters();
    StatusCode::OK
}

/// The first run of exactly six digits in `text` (the verification code).
fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).map(str::to_owned)
}

/// The JSON API, with the token.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        if !status.is_success() {
            anyhow::bail!("{method} {path}: {status}: {text}");
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn policy(&self, name: &str, levels: Value) -> anyhow::Result<String> {
        let p =
            self.post("/api/v1/escalation-policies", json!({ "name": name, "levels": levels, "repeat": 0 })).await?;
        id_of(&p)
    }

    async fn service(&self, name: &str, policy: &str) -> anyhow::Result<String> {
        let s = self.post("/api/v1/services", json!({ "name": name, "escalation_policy_id": policy })).await?;
        id_of(&s)
    }
}

fn id_of(v: &Value) -> anyhow::Result<String> {
    v["id"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no id in {v}"))
}

fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    ["127.0.0.1", "[::1]", "localhost"]
        .iter()
        .any(|h| rest.strip_prefix(h).is_some_and(|r| r.is_empty() || r.starts_with(':') || r.starts_with('/')))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Phase 1's figures.
struct PageFigures {
    sent: usize,
    accepted: usize,
    missing: usize,
    /// Milliseconds from the 202 to the first page, sorted.
    from_accept: Vec<f64>,
    /// Milliseconds from sending the event to the first page, sorted.
    from_send: Vec<f64>,
    elapsed: Duration,
}

/// Phase 2's figures.
struct EscalationFigures {
    open: usize,
    open_secs: f64,
    probes: usize,
    missing: usize,
    /// Milliseconds from due time to the level-2 page, sorted.
    lateness: Vec<f64>,
    /// Milliseconds from the probe's 201 to its level-1 page, sorted.
    first_page: Vec<f64>,
    /// Milliseconds from due time to the engine round that fired level 2 (its timeline time).
    round_wait: Vec<f64>,
    /// Milliseconds from that round's start to the level-2 page's arrival.
    round_to_page: Vec<f64>,
    mismatched_due: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paging_load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !is_loopback(&args.url) {
        anyhow::bail!("--url must be a loopback http URL, not {}", args.url);
    }
    let base = args.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).timeout(Duration::from_secs(30)).build()?;
    let api = Api { http: http.clone(), base: base.clone(), token: args.token.clone() };

    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new().route("/hook", post(take_message)).with_state(receiver.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // The calling user pages itself through the receiver, at once.
    let me = api.get("/api/v1/me").await?;
    let me_id = id_of(&me)?;
    let method = api
        .post(
            "/api/v1/me/contact-methods",
            json!({ "kind": "webhook", "address": hook, "label": "bench", "current_password": args.password }),
        )
        .await?;
    let method_id = id_of(&method)?;
    let got_code = receiver.wait_for(Instant::now() + Duration::from_secs(10), |i| !i.codes.is_empty()).await;
    let code = match receiver.lock().codes.first() {
        Some(c) if got_code => c.clone(),
        _ => anyhow::bail!("no verification message reached the receiver at {hook} within 10 s"),
    };
    api.post(&format!("/api/v1/me/contact-methods/{method_id}/verify"), json!({ "code": code })).await?;
    api.post("/api/v1/me/notification-rules", json!({ "contact_method_id": method_id, "delay_minutes": 0 })).await?;
    eprintln!("receiver {hook} verified as the webhook of {}", me["email"].as_str().unwrap_or("the token's user"));
    let tag = Utc::now().format("%H%M%S").to_string();

    let pages = match args.phase {
        Phase::Page | Phase::Both => Some(page_phase(&args, &api, &receiver, &me_id, &tag).await?),
        Phase::Escalation => None,
    };
    let escalation = match args.phase {
        Phase::Escalation | Phase::Both => Some(escalation_phase(&args, &api, &receiver, &me_id, &tag).await?),
        Phase::Page => None,
    };
    let other = receiver.lock().other;

    let mut failed = false;
    println!("== summary");
    if let Some(f) = &pages {
        let (p50, p90, p99, max) = (
            percentile(&f.from_accept, 50.0),
            percentile(&f.from_accept, 90.0),
            percentile(&f.from_accept, 99.0),
            percentile(&f.from_accept, 100.0),
        );
        println!(
            "   1. event accepted (202) -> first page at the webhook: {} incidents, {:.0} events/s, no bundling",
            args.incidents, args.rate
        );
        println!(
            "      sent {}, accepted {}, paged {}, missing {} (in {:.1} s)",
            f.sent,
            f.accepted,
            f.from_accept.len(),
            f.missing,
            f.elapsed.as_secs_f64()
        );
        println!("      latency ms: p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  max {max:.1}");
        println!(
            "      (from sending the event: p50 {:.1}  p99 {:.1}  max {:.1})",
            percentile(&f.from_send, 50.0),
            percentile(&f.from_send, 99.0),
            percentile(&f.from_send, 100.0)
        );
        println!(
            "      target p50 <= 50 ms: {}   target p99 <= 250 ms: {}",
            verdict(p50 <= 50.0),
            verdict(p99 <= 250.0)
        );
        failed |= f.missing > 0 || f.accepted < f.sent;
    }
    if let Some(f) = &escalation {
        let (p50, max) = (percentile(&f.lateness, 50.0), percentile(&f.lateness, 100.0));
        println!("   2. level 2 due -> its page at the webhook, with {} open incidents waiting to escalate", f.open);
        println!(
            "      open incidents declared in {:.1} s; probes {}, level-2 pages {}, missing {}",
            f.open_secs,
            f.probes,
            f.lateness.len(),
            f.missing
        );
        println!(
            "      lateness ms: min {:.1}  p50 {p50:.1}  p90 {:.1}  max {max:.1}",
            percentile(&f.lateness, 0.0),
            percentile(&f.lateness, 90.0)
        );
        println!(
            "      (probe declared (201) -> level-1 page ms: p50 {:.1}  max {:.1})",
            percentile(&f.first_page, 50.0),
            percentile(&f.first_page, 100.0)
        );
        println!(
            "      of which: due -> the engine round that fired it p50 {:.1}  max {:.1}; that round -> page p50 {:.1}  max {:.1}",
            percentile(&f.round_wait, 50.0),
            percentile(&f.round_wait, 100.0),
            percentile(&f.round_to_page, 50.0),
            percentile(&f.round_to_page, 100.0)
        );
        if f.mismatched_due > 0 {
            println!("      {} probe(s): last_due_at is not detected_at + 60 s", f.mismatched_due);
        }
        println!("      target max <= 1000 ms: {}", verdict(max <= 1000.0));
        failed |= f.missing > 0;
    }
    if other > 0 {
        println!("   other messages at the receiver: {other}");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Phase 1: one service per event, events paced to `--rate`, first page per incident.
async fn page_phase(args: &Args, api: &Api, receiver: &Receiver, me: &str, tag: &str) -> anyhow::Result<PageFigures> {
    let n = args.incidents;
    eprintln!("phase 1: setting up {n} services with a PagerDuty integration each");
    let policy = api
        .policy(
            &format!("bench-page-{tag}"),
            json!([{ "targets": [{ "type": "user", "id": me }], "delay_minutes": 1 }]),
        )
        .await?;
    let mut keys: Vec<String> = Vec::with_capacity(n);
    let results = bounded::map((0..n).collect(), args.concurrency, |i| {
        let api = api.clone();
        let policy = policy.clone();
        let tag = tag.to_owned();
        async move {
            let service = api.service(&format!("bench-page-{tag}-{i}"), &policy).await?;
            let integration = api
                .post(
                    &format!("/api/v1/services/{service}/integrations"),
                    json!({ "type": "pagerduty", "name": "bench" }),
                )
                .await?;
            integration["key"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no key in {integration}"))
        }
    })
    .await;
    for r in results {
        keys.push(r?);
    }

    eprintln!("phase 1: sending {n} events at {} events/s", args.rate);
    let accepted: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let mut sends = tokio::task::JoinSet::new();
    for (i, key) in keys.into_iter().enumerate() {
        tokio::time::sleep_until((start + interval * i as u32).into()).await;
        let title = format!("paging bench {tag}-{i}");
        let http = api.http.clone();
        let url = format!("{}/v2/enqueue", api.base);
        let accepted = accepted.clone();
        let refused = refused.clone();
        sends.spawn(async move {
            let event = json!({
                "routing_key": key, "event_action": "trigger", "dedup_key": title.clone(),
                "payload": { "summary": title, "source": "bench", "severity": "critical" },
            });
            let sent = Instant::now();
            match http.post(url).json(&event).send().await {
                Ok(r) if r.status() == StatusCode::ACCEPTED => {
                    let at = Instant::now();
                    accepted.lock().unwrap_or_else(|e| e.into_inner()).insert(title, (sent, at));
                }
                Ok(r) => {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    eprintln!("   event {i}: {}", r.status());
                }
                Err(e) => {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    eprintln!("   event {i}: {e}");
                }
            }
        });
        if (i + 1).is_multiple_of(100) {
            let paged = receiver.lock().pages.len();
            eprintln!("   {} events sent, {paged} pages arrived", i + 1);
        }
    }
    while sends.join_next().await.is_some() {}
    let titles: HashSet<String> = accepted.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(args.page_timeout);
    let all = receiver
        .wait_for(deadline, |inbox| {
            let seen: HashSet<&str> = inbox.pages.iter().map(|p| p.title.as_str()).collect();
            titles.iter().all(|t| seen.contains(t.as_str()))
        })
        .await;
    let elapsed = start.elapsed();
    let inbox_pages = receiver.lock().pages.clone();
    let mut first: HashMap<&str, Instant> = HashMap::new();
    for p in &inbox_pages {
        first.entry(p.title.as_str()).and_modify(|t| *t = (*t).min(p.at)).or_insert(p.at);
    }
    let accepted = accepted.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let signed_ms = |from: Instant, to: Instant| {
        if to >= from { (to - from).as_secs_f64() * 1e3 } else { -((from - to).as_secs_f64() * 1e3) }
    };
    let mut from_accept = Vec::new();
    let mut from_send = Vec::new();
    for (title, (sent, at)) in &accepted {
        if let Some(page) = first.get(title.as_str()) {
            from_accept.push(signed_ms(*at, *page));
            from_send.push(signed_ms(*sent, *page));
        }
    }
    from_accept.sort_by(f64::total_cmp);
    from_send.sort_by(f64::total_cmp);
    let missing = accepted.len() - from_accept.len();
    if !all {
        eprintln!("phase 1: {missing} of {} incidents had no page after {} s", accepted.len(), args.page_timeout);
    }
    eprintln!("phase 1: done, {} pages for {} incidents", from_accept.len(), accepted.len());
    Ok(PageFigures { sent: n, accepted: accepted.len(), missing, from_accept, from_send, elapsed })
}

/// Phase 2: `--open` waiting escalations, then probes whose level 2 is due a minute later.
async fn escalation_phase(
    args: &Args,
    api: &Api,
    receiver: &Receiver,
    me: &str,
    tag: &str,
) -> anyhow::Result<EscalationFigures> {
    // Level 1 of the waiting incidents pages a user without contact methods: the step fires and
    // is recorded, but nothing is sent, and level 2 is an hour away.
    let idle = api
        .post(
            "/api/v1/users",
            json!({ "email": format!("idle-{tag}@example.com"), "name": "Idle bench user", "role": "responder" }),
        )
        .await?;
    let idle_id = id_of(&idle["user"]).or_else(|_| id_of(&idle))?;
    let waiting = api
        .policy(
            &format!("bench-waiting-{tag}"),
            json!([
                { "targets": [{ "type": "user", "id": idle_id }], "delay_minutes": 60 },
                { "targets": [{ "type": "user", "id": idle_id }], "delay_minutes": 1 },
            ]),
        )
        .await?;
    let waiting_service = api.service(&format!("bench-waiting-{tag}"), &waiting).await?;
    eprintln!("phase 2: declaring {} incidents whose level 2 is due in 60 minutes", args.open);
    let started = Instant::now();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results = bounded::map((0..args.open).collect(), args.concurrency, |i| {
        let api = api.clone();
        let service = waiting_service.clone();
        let done = done.clone();
        async move {
            let body =
                json!({ "title": format!("waiting {i}"), "severity": "low", "type": "other", "service_id": service });
            let incident = api.post("/api/v1/incidents", body).await?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if d.is_multiple_of(1000) {
                eprintln!("   {d} open incidents declared");
            }
            incident["number"].as_i64().ok_or_else(|| anyhow::anyhow!("no number in {incident}"))
        }
    })
    .await;
    let mut numbers = Vec::with_capacity(results.len());
    for r in results {
        numbers.push(r?);
    }
    let open_secs = started.elapsed().as_secs_f64();
    // Level 1 of every waiting incident fires (in due order) before the probes start.
    if let Some(last) = numbers.iter().max() {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let e = api.get(&format!("/api/v1/incidents/{last}/escalation")).await?;
            if e["escalation"]["last_step"].as_i64() == Some(0) {
                break;
            }
            if Instant::now() > deadline {
                anyhow::bail!("level 1 of INC-{last} did not fire within 120 s: {e}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!("phase 2: {} incidents open and waiting ({open_secs:.1} s to declare)", numbers.len());

    let probe_policy = api
        .policy(
            &format!("bench-probe-{tag}"),
            json!([
                { "targets": [{ "type": "user", "id": me }], "delay_minutes": 1 },
                { "targets": [{ "type": "user", "id": me }], "delay_minutes": 1 },
            ]),
        )
        .await?;
    let probe_service = api.service(&format!("bench-probe-{tag}"), &probe_policy).await?;
    eprintln!(
        "phase 2: declaring {} probes over {} s; their level 2 is due 60 s after each",
        args.probes, args.probe_spread
    );
    // Each probe opens at a fractional offset within its slot (golden-ratio sequence), so its
    // due time falls at a different point of the engine's polling cycle; evenly spaced probes
    // would hit only a few phases of it.
    let gap = args.probe_spread / args.probes.max(1) as f64;
    let offset = |i: usize| Duration::from_secs_f64(gap * (i as f64 + (i as f64 * 0.618_034).fract()));
    let first_probe = Instant::now();
    let mut probes: Vec<(i64, Instant)> = Vec::new();
    for i in 0..args.probes {
        tokio::time::sleep_until((first_probe + offset(i)).into()).await;
        let body = json!({ "title": format!("probe {tag}-{i}"), "severity": "critical", "type": "other", "service_id": probe_service });
        let incident = api.post("/api/v1/incidents", body).await?;
        let at = Instant::now();
        probes.push((incident["number"].as_i64().ok_or_else(|| anyhow::anyhow!("no number in {incident}"))?, at));
    }
    let probe_numbers: HashSet<i64> = probes.iter().map(|p| p.0).collect();
    let deadline = Instant::now() + Duration::from_secs(60 + args.page_timeout);
    let mut reported = 0;
    let all = receiver
        .wait_for(deadline, |inbox| {
            let mut count: HashMap<i64, usize> = HashMap::new();
            for p in &inbox.pages {
                if probe_numbers.contains(&p.number) {
                    *count.entry(p.number).or_default() += 1;
                }
            }
            let second = count.values().filter(|c| **c >= 2).count();
            if second / 10 > reported / 10 || (second > 0 && reported == 0) {
                eprintln!("   {second} of {} probes paged at level 2", probe_numbers.len());
                reported = second;
            }
            second == probe_numbers.len()
        })
        .await;
    let pages = receiver.lock().pages.clone();
    let mut lateness = Vec::new();
    let mut first_page = Vec::new();
    let mut mismatched_due = 0;
    let mut round_wait = Vec::new();
    let mut round_to_page = Vec::new();
    for (number, declared) in &probes {
        let mut mine: Vec<&Arrival> = pages.iter().filter(|p| p.number == *number).collect();
        mine.sort_by_key(|p| p.at);
        if let Some(p) = mine.first() {
            first_page.push(p.at.saturating_duration_since(*declared).as_secs_f64() * 1e3);
        }
        let Some(level2) = mine.get(1) else { continue };
        let e = api.get(&format!("/api/v1/incidents/{number}/escalation")).await?;
        let i = api.get(&format!("/api/v1/incidents/{number}")).await?;
        let due = e["escalation"]["last_due_at"].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
        let detected = i["detected_at"].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
        let Some(due) = due else {
            eprintln!("   INC-{number}: no last_due_at in {e}");
            continue;
        };
        if e["escalation"]["last_step"].as_i64() != Some(1)
            || detected.map(|d| d + chrono::TimeDelta::seconds(60)) != Some(due)
        {
            mismatched_due += 1;
            eprintln!(
                "   INC-{number}: last_step {}, last_due_at {due}, detected_at {:?}",
                e["escalation"]["last_step"], detected
            );
        }
        let ms = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3;
        lateness.push(ms(level2.wall - due));
        // The timeline entry of the level-2 step carries the time of the round that fired it.
        let timeline = api.get(&format!("/api/v1/incidents/{number}/timeline")).await?;
        let fired = timeline["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["kind"] == "paged" && e["level"] == 2)
            .and_then(|e| e["at"].as_str())
            .and_then(|s| s.parse::<DateTime<Utc>>().ok());
        if let Some(fired) = fired {
            round_wait.push(ms(fired - due));
            round_to_page.push(ms(level2.wall - fired));
        }
    }
    for v in [&mut lateness, &mut first_page, &mut round_wait, &mut round_to_page] {
        v.sort_by(f64::total_cmp);
    }
    let missing = probes.len() - lateness.len();
    if !all {
        eprintln!("phase 2: {missing} of {} probes had no level-2 page in time", probes.len());
    }
    Ok(EscalationFigures {
        open: numbers.len(),
        open_secs,
        probes: probes.len(),
        missing,
        lateness,
        first_page,
        round_wait,
        round_to_page,
        mismatched_due,
    })
}

/// Bounded concurrency (`futures-util` is not a dependency of this crate).
mod bounded {
    use std::future::Future;
    use std::sync::Arc;

    /// Runs `f` over `items` with at most `limit` in flight; results in input order.
    pub async fn map<I, T, F, Fut>(items: Vec<I>, limit: usize, f: F) -> Vec<anyhow::Result<T>>
    where
        I: Send + 'static,
        T: Send + 'static,
        F: Fn(I) -> Fut,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        let permits = Arc::new(tokio::sync::Semaphore::new(limit.max(1)));
        let mut tasks = Vec::with_capacity(items.len());
        for item in items {
            let permit = permits.clone().acquire_owned().await;
            let fut = f(item);
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                fut.await
            }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.unwrap_or_else(|e| Err(anyhow::anyhow!("task failed: {e}"))));
        }
        out
    }
}
