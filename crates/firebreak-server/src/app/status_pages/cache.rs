//! What readers fetch most, kept ready: each page's rendered HTML, JSON and feeds, with
//! their validators. A change to what a page shows clears it at once: this process's writes
//! before they answer (the store's change notices are drained on every read, and status page
//! writes also clear it directly), other PostgreSQL replicas' through their notices. An
//! incident's notice clears it only when something pages show of that incident changed — it
//! opened or closed, its severity, service or restriction — so alerts that merely join open
//! incidents (most of an alert storm) leave the pages cached: the incident is read once to
//! tell. Entries also expire after [`TTL`], as a page's times move on by themselves (today's
//! uptime bar, "in progress" maintenance).

use firebreak_domain::{Incident, IncidentId, IncidentRef, ServiceId, Severity};
use firebreak_store::{ChangeNotice, DynStore, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

/// How long an answer is kept at most.
pub const TTL: Duration = Duration::from_secs(30);
/// Answers kept at most (pages × documents × hosts); beyond this the cache starts over.
pub const MAX_ENTRIES: usize = 2_000;

/// One ready answer.
#[derive(Debug)]
pub struct Cached {
    pub body: axum::body::Bytes,
    /// The body gzipped once, for readers who accept it (bodies over 1 kB).
    pub gzip: Option<axum::body::Bytes>,
    pub content_type: &'static str,
    /// A strong validator of the body.
    pub etag: String,
    /// Readable without signing in (decides the `Cache-Control` header).
    pub public: bool,
    /// The page's shared-token hash, so a private page is checked without the database.
    pub token_hash: Option<String>,
    made: Instant,
    generation: u64,
}

impl Cached {
    pub fn new(
        body: impl Into<axum::body::Bytes>,
        content_type: &'static str,
        public: bool,
        token_hash: Option<String>,
    ) -> Self {
        use sha2::Digest;
        let body: axum::body::Bytes = body.into();
        let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)[..16]));
        let gzip = (body.len() > 1024).then(|| gzip(&body)).flatten();
        Cached { body, gzip, content_type, etag, public, token_hash, made: Instant::now(), generation: 0 }
    }
}

/// What pages show of an incident: whether it drives components, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub open: bool,
    pub severity: Severity,
    pub service: Option<ServiceId>,
    pub restricted: bool,
}

impl Shown {
    pub fn of(state: &crate::AppState, i: &Incident) -> Shown {
        Shown {
            open: i.status.is_open() && i.merged_into.is_none(),
            severity: i.severity,
            service: i.service_id,
            restricted: crate::app::visibility::is_restricted(state, i),
        }
    }
}

/// Incidents remembered at most; beyond this the memory starts over (and the next notice
/// about an incident not remembered clears the answers).
const MAX_SHOWN: usize = 20_000;

fn gzip(body: &[u8]) -> Option<axum::body::Bytes> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(axum::body::Bytes::from)
}

pub struct PageCache {
    generation: AtomicU64,
    /// One maker per answer at a time: readers who miss together wait for the one answer.
    making: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Incidents changed since the answers were made, not yet looked at.
    pending: Mutex<HashSet<IncidentId>>,
    /// Held by the reader looking at them.
    settling: tokio::sync::Mutex<()>,
    /// What the answers were made from, for every incident the last pages read.
    shown: Mutex<HashMap<IncidentId, Shown>>,
    notices: Mutex<Receiver<ChangeNotice>>,
    entries: Mutex<HashMap<String, Arc<Cached>>>,
    /// Custom domains looked up: host → the page's slug (or none), with the generation.
    domains: Mutex<(u64, HashMap<String, Option<String>>)>,
}

impl PageCache {
    /// A cache that listens to `store`'s change notices.
    pub fn new(store: &DynStore) -> Self {
        PageCache {
            generation: AtomicU64::new(0),
            making: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashSet::new()),
            settling: tokio::sync::Mutex::new(()),
            shown: Mutex::new(HashMap::new()),
            notices: Mutex::new(store.subscribe()),
            entries: Mutex::new(HashMap::new()),
            domains: Mutex::new((0, HashMap::new())),
        }
    }

    /// Forgets every answer (something a page shows changed).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.entries).clear();
        lock(&self.shown).clear();
        lock(&self.pending).clear();
    }

    /// The generation answers must be made in to be kept: read it before reading the
    /// database. Takes in the change notices that arrived since the last read; incidents they
    /// name are looked at by [`PageCache::settle`].
    pub fn generation(&self) -> u64 {
        let mut changed = false;
        {
            let mut rx = lock(&self.notices);
            let mut pending = lock(&self.pending);
            loop {
                match rx.try_recv() {
                    // The ingestion rules' notices change nothing a page shows.
                    Ok(ChangeNotice::IngestConfig) => {}
                    Ok(ChangeNotice::Incident(id)) => {
                        pending.insert(id);
                    }
                    Ok(ChangeNotice::StatusPage) | Err(TryRecvError::Lagged(_)) => changed = true,
                    Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                }
            }
        }
        if changed {
            self.invalidate();
        }
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers what answers are being made from (each incident the page read).
    pub fn remember(&self, state: &crate::AppState, incidents: &[&Incident]) {
        let mut shown = lock(&self.shown);
        if shown.len() + incidents.len() > MAX_SHOWN {
            shown.clear();
        }
        for i in incidents {
            shown.insert(i.id, Shown::of(state, i));
        }
    }

    /// Looks at the incidents changed before this read: clears the answers when pages show
    /// any of them differently now (or one is new and open). Call before [`PageCache::get`].
    /// One reader looks at a time; the others wait for it, so each change is read once and
    /// no reader is answered before the changes that came before it were looked at.
    pub async fn settle(&self, state: &crate::AppState) -> Result<(), StoreError> {
        self.generation();
        if lock(&self.pending).is_empty() {
            return Ok(());
        }
        let _settling = self.settling.lock().await;
        self.generation();
        let ids: Vec<IncidentId> = lock(&self.pending).iter().copied().collect();
        for id in ids {
            let now = match state.store.get_incident(IncidentRef::Id(id)).await {
                Ok(i) => Some(Shown::of(state, &i)),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => {
                    // Unsure: start over rather than show something stale.
                    self.invalidate();
                    return Err(e);
                }
            };
            let before = lock(&self.shown).get(&id).copied();
            let differs = match (before, now) {
                (Some(b), Some(n)) => b != n,
                // Not read by any page: it matters only if it is open now.
                (None, Some(n)) => n.open,
                (Some(_), None) => true,
                (None, None) => false,
            };
            if differs {
                self.invalidate();
                return Ok(());
            }
            lock(&self.pending).remove(&id);
        }
        Ok(())
    }

    /// The answer kept for `key`, when nothing changed since it was made.
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        let generation = self.generation();
        let entries = lock(&self.entries);
        entries.get(key).filter(|c| c.generation == generation && c.made.elapsed() < TTL).cloned()
    }

    /// The lock whoever makes the answer for `key` holds: the others wait on it, then find
    /// the answer kept.
    pub fn maker(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut making = lock(&self.making);
        if making.len() >= MAX_ENTRIES {
            making.retain(|_, m| Arc::strong_count(m) > 1);
        }
        making.entry(key.to_owned()).or_default().clone()
    }

    /// Keeps an answer made from what was read in `generation` (when something changed
    /// since, it is answered but not kept).
    pub fn put(&self, key: String, generation: u64, mut answer: Cached) -> Arc<Cached> {
        answer.generation = generation;
        let answer = Arc::new(answer);
        if self.generation() == generation {
            let mut entries = lock(&self.entries);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, answer.clone());
        }
        answer
    }
}

impl PageCache {
    /// The slug of the page served at `host`, when it was looked up since the last change:
    /// `Some(None)` for a host that is no page's.
    pub fn domain(&self, host: &str) -> Option<Option<String>> {
        let generation = self.generation();
        let domains = lock(&self.domains);
        if domains.0 != generation {
            return None;
        }
        domains.1.get(host).cloned()
    }

    /// Remembers what `host` serves.
    pub fn put_domain(&self, host: &str, slug: Option<String>) {
        let generation = self.generation();
        let mut domains = lock(&self.domains);
        if domains.0 != generation || domains.1.len() >= MAX_ENTRIES {
            *domains = (generation, HashMap::new());
        }
        domains.1.insert(host.to_owned(), slug);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
