//! Alert ingestion: the endpoints that speak monitoring tools' wire formats, and the
//! pipeline behind them. Each request's events go to one batching task that commits many
//! requests' events in one transaction (group commit) and only then lets each request answer
//! 2xx. The queue is bounded: when it is full, endpoints answer 429 with `Retry-After`
//! instead of queueing without limit. A per-key rate limit (configurable) also answers 429.

pub mod alertmanager;
pub mod generic;
pub mod heartbeat;
pub mod opsgenie;
pub mod pagerduty;

use firebreak_store::{DynStore, IngestItem, IngestOutcome, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Events committed together at most.
pub const MAX_BATCH: usize = 1024;

struct Job {
    item: IngestItem,
    reply: oneshot::Sender<Result<IngestOutcome, String>>,
}

/// Why an event was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The pipeline is full or the key is over its rate: retry after this many seconds.
    Busy { retry_after_secs: u64 },
    /// The store failed; nothing was committed.
    Failed,
}

/// The handle endpoints use to submit events.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<Job>,
    limiter: std::sync::Arc<RateLimiter>,
}

impl Ingestor {
    /// Starts the batching loop on a thread of its own with its own single-threaded runtime,
    /// so that the batches' round trips to the database do not queue behind HTTP requests on
    /// the server's runtime. The thread ends when the last handle is dropped. Falls back to
    /// the current runtime when the thread cannot be started.
    pub fn start(store: DynStore, capacity: usize, per_key_per_minute: u32) -> Self {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let limiter = std::sync::Arc::new(RateLimiter::new(per_key_per_minute));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match runtime {
            Ok(runtime) => {
                let (store2, rx) = (store.clone(), rx);
                let spawned = std::thread::Builder::new()
                    .name("firebreak-ingest".into())
                    .spawn(move || runtime.block_on(run(store2, rx)));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start the ingest thread; ingestion is unavailable");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot build the ingest runtime; batching on the server's runtime");
                tokio::spawn(run(store, rx));
            }
        }
        Ingestor { queue, limiter }
    }

    /// Submits one event and waits until it is committed.
    pub async fn submit(&self, item: IngestItem) -> Result<IngestOutcome, Refusal> {
        if let Some(wait) = self.limiter.check(&item.key_hash) {
            return Err(Refusal::Busy { retry_after_secs: wait });
        }
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send(Job { item, reply }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => return Err(Refusal::Busy { retry_after_secs: 1 }),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Refusal::Failed),
        }
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "ingest batch failed");
                Err(Refusal::Failed)
            }
            Err(_) => Err(Refusal::Failed),
        }
    }
}

/// Collects queued events into batches. A batch starts when the one before has committed
/// (not when its commit is on disk): the store's writer is free then, and the events that
/// queued meanwhile make the next batch. Up to the store's pipeline depth of batches wait
/// for the disk at once.
async fn run(store: DynStore, mut rx: mpsc::Receiver<Job>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(store.ingest_pipeline_depth().max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        // An empty vector: `recv_many` sizes it to the jobs waiting (one with room for
        // MAX_BATCH jobs for every batch showed in profiles as allocation and copying).
        let mut batch: Vec<Job> = Vec::new();
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let store = store.clone();
        let (committed, writer_free) = oneshot::channel();
        tokio::spawn(async move {
            commit_batch(&store, batch, committed).await;
            drop(slot);
        });
        // Sent at commit, or dropped when the batch failed: either way the writer is free.
        let _ = writer_free.await;
    }
}

/// Commits one batch and answers each of its events.
async fn commit_batch(store: &DynStore, jobs: Vec<Job>, committed: oneshot::Sender<()>) {
    let (items, replies): (Vec<IngestItem>, Vec<_>) = jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
    match store.ingest(&items, Some(committed)).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            let message = match &e {
                StoreError::Backend(m) => m.clone(),
                other => other.to_string(),
            };
            for reply in replies {
                let _ = reply.send(Err(message.clone()));
            }
        }
    }
}

/// A token bucket per integration key, in memory (each replica limits its own share).
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns limiting off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// `None` when the event may pass; otherwise seconds to wait.
    pub fn check(&self, key: &str) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let capacity = f64::from(self.per_minute);
        let rate = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().ok()?;
        if buckets.len() > 100_000 {
            // Bounded memory: forget buckets that have refilled anyway.
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity);
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            None
        } else {
            Some(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_refuses() {
        let l = RateLimiter::new(3);
        assert_eq!((l.check("a"), l.check("a"), l.check("a")), (None, None, None));
        assert!(l.check("a").is_some_and(|s| s >= 1));
        assert_eq!(l.check("b"), None, "keys are limited separately");
        let off = RateLimiter::new(0);
        assert!((0..1000).all(|_| off.check("a").is_none()));
    }
}
