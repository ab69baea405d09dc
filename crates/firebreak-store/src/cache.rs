//! What ingestion reads for every batch and rarely changes: the classification rules, the
//! maintenance windows, and the integration (with its service's settings) behind each key.
//! Every change to them clears the cache after it commits — in this process directly, on
//! other PostgreSQL replicas through a change notice — and entries also expire after
//! [`TTL`], so a replica that missed a notice catches up. A generation number keeps a batch
//! that read the database before a change from storing what it read after the clear.

use crate::Integration;
use firebreak_domain::rules::{Grouping, MaintenanceWindow, Rule};
use firebreak_domain::{Actor, Via};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long anything stays cached at most.
pub const TTL: Duration = Duration::from_secs(10);
/// Keys remembered at most (unknown keys are remembered too, so a flood of made-up keys
/// costs one lookup each, not one per event); beyond this the key cache starts over.
pub const MAX_KEYS: usize = 10_000;

/// The rules and windows that apply to new alerts.
#[derive(Debug, Default)]
pub struct Triage {
    pub rules: Vec<Rule>,
    pub windows: Vec<MaintenanceWindow>,
}

/// The integration a key belongs to, with its service's settings and the actor its events
/// are recorded as.
#[derive(Debug)]
pub struct KeyOwner {
    pub integration: Integration,
    pub auto_resolve: bool,
    pub grouping: Grouping,
    pub actor: Actor,
}

impl KeyOwner {
    pub fn new(integration: Integration, auto_resolve: bool, grouping: Grouping) -> Self {
        let actor = Actor::system(format!("{} ({})", integration.name, integration.kind), Via::System);
        KeyOwner { integration, auto_resolve, grouping, actor }
    }
}

#[derive(Default)]
struct Entries {
    generation: u64,
    filled_at: Option<Instant>,
    triage: Option<Arc<Triage>>,
    owners: HashMap<String, Option<Arc<KeyOwner>>>,
}

/// The cache; one per store.
#[derive(Default)]
pub struct IngestCache {
    entries: Mutex<Entries>,
}

impl IngestCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the entries half-updated in a way that
        // matters: at worst something is missing and gets read again.
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.filled_at.is_some_and(|at| at.elapsed() > TTL) {
            let generation = entries.generation + 1;
            *entries = Entries { generation, ..Entries::default() };
        }
        entries
    }

    /// The generation to pass to `put_*`; read it before reading the database.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    pub fn triage(&self) -> Option<Arc<Triage>> {
        self.lock().triage.clone()
    }

    pub fn put_triage(&self, generation: u64, triage: Arc<Triage>) {
        let mut entries = self.lock();
        if entries.generation == generation {
            entries.filled_at.get_or_insert_with(Instant::now);
            entries.triage = Some(triage);
        }
    }

    /// `None`: not cached; `Some(None)`: no integration has this key.
    pub fn owner(&self, key_hash: &str) -> Option<Option<Arc<KeyOwner>>> {
        self.lock().owners.get(key_hash).cloned()
    }

    pub fn put_owner(&self, generation: u64, key_hash: &str, owner: Option<Arc<KeyOwner>>) {
        let mut entries = self.lock();
        if entries.generation == generation {
            if entries.owners.len() >= MAX_KEYS {
                entries.owners.clear();
            }
            entries.filled_at.get_or_insert_with(Instant::now);
            entries.owners.insert(key_hash.to_owned(), owner);
        }
    }

    /// Forgets everything: call after committing a change to rules, windows, services or
    /// integrations.
    pub fn clear(&self) {
        let mut entries = self.lock();
        let generation = entries.generation + 1;
        *entries = Entries { generation, ..Entries::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_between_reading_and_storing_wins() {
        let cache = IngestCache::default();
        let before = cache.generation();
        cache.clear();
        cache.put_triage(before, Arc::new(Triage::default()));
        cache.put_owner(before, "k", None);
        assert!(cache.triage().is_none(), "read before the change: not kept");
        assert!(cache.owner("k").is_none());
        let now = cache.generation();
        cache.put_owner(now, "k", None);
        cache.put_triage(now, Arc::new(Triage::default()));
        assert!(matches!(cache.owner("k"), Some(None)), "an unknown key is remembered as unknown");
        assert!(cache.triage().is_some());
        cache.clear();
        assert!(cache.owner("k").is_none() && cache.triage().is_none());
    }

    #[test]
    fn the_key_cache_is_bounded() {
        let cache = IngestCache::default();
        let generation = cache.generation();
        for n in 0..MAX_KEYS + 5 {
            cache.put_owner(generation, &format!("key-{n}"), None);
        }
        assert!(cache.lock().owners.len() <= MAX_KEYS);
    }
}
