//! The in-memory store: moka, bounded in bytes, with per-entry TTL.
//!
//! - **Bounded in bytes.** Each entry weighs its key, its value and a fixed overhead;
//!   the total is capped by `CACHE_MAX_MEMORY`. moka evicts by TinyLFU (frequency
//!   aware LRU) when the bound is reached.
//!   An entry's weight is what it holds in memory as far as it is known when it is
//!   stored: its encoded bytes (kept in an allocation of exactly their length, see
//!   `codec::encode`), or, for a typed entry (a decoded value kept for clone-hits,
//!   which keeps no bytes in memory mode), the estimate of `codec::size`.
//! - **The bound holds in RSS, not only in the count.** moka applies inserts (and
//!   so evicts) in batches of up to 64 writes; with large values that batch alone
//!   could hold many times the bound (64 entries of 4 MiB against 64 MiB). The
//!   store runs moka's pending work as soon as the weight inserted since it last
//!   ran passes 1/[`PENDING_FRACTION`] of the bound. Measured by the
//!   `memory_bound` bench: peak RSS minus the process's baseline stays within
//!   1.07x (typed entries) and 1.13x (byte entries) of `CACHE_MAX_MEMORY`.
//! - **Per-entry TTL.** Each entry expires after the TTL it was stored with, and
//!   is kept for its stale window past that (see `stale`), when it has one.
//! - **Expired entries leave without being read.** A background task (started when a
//!   tokio runtime is present) runs moka's maintenance every second, so memory is
//!   given back even when nobody reads the expired keys again.
//!
//! It uses moka's `sync::Cache` rather than `future::Cache`: none of its operations
//! wait on anything, and a lookup costs about 200 ns instead of 335 ns (measured on
//! this project's machine), which matters on a hit path that is a few microseconds
//! long. Its maintenance runs inline now and then, bounded, and never awaits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache as Moka;

use super::versions::Versions;
use super::{Entry, KeyHasher, Lookup, Source, Stamp};
use crate::key::CacheKey;

/// Rough fixed cost of one entry beyond its key and value bytes (moka's node, the
/// `Arc<Entry>`, the map slot, timers), so that many tiny entries still count.
pub(crate) const ENTRY_OVERHEAD: usize = 160;

/// moka's pending inserts are applied once they weigh 1/`PENDING_FRACTION` of the
/// bound (see the module doc).
pub(crate) const PENDING_FRACTION: u64 = 32;

/// How often the sweeper runs moka's maintenance.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Told when moka removes an entry (tests use it to await expiry).
type Listener = Box<dyn Fn(Arc<Arc<str>>, moka::notification::RemovalCause) + Send + Sync>;

pub(crate) struct PerEntryTtl;

impl Expiry<Arc<str>, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _: &Arc<str>,
        entry: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl + entry.window)
    }

    fn expire_after_update(
        &self,
        _: &Arc<str>,
        entry: &Arc<Entry>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl + entry.window)
    }
}

/// The memory store, also the fallback of the Redis mode.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    entries: Moka<Arc<str>, Arc<Entry>, KeyHasher>,
    versions: Versions,
    /// The weight inserted since moka's pending work last ran here.
    pending: AtomicU64,
    /// The pending weight at which it runs.
    pending_limit: u64,
}

/// An entry's weight in the bound.
fn weight(key: &str, entry: &Entry) -> u32 {
    u32::try_from(key.len() + entry.size() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

impl MemoryStore {
    /// A store holding at most `max_bytes`, of entries living at most `max_ttl`
    /// plus a stale window of at most `max_ttl` (see `stale`): versions are
    /// remembered longer than that.
    pub(crate) fn new(max_bytes: u64, max_ttl: Duration) -> Arc<Self> {
        Self::build(max_bytes, max_ttl, None)
    }

    fn build(max_bytes: u64, max_ttl: Duration, listener: Option<Listener>) -> Arc<Self> {
        let mut builder = Moka::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Arc<str>, entry: &Arc<Entry>| weight(key, entry))
            .expire_after(PerEntryTtl);
        if let Some(listener) = listener {
            builder = builder.eviction_listener(move |k, _, cause| listener(k, cause));
        }
        let store = Arc::new(MemoryStore {
            entries: builder.build_with_hasher(KeyHasher::new()),
            versions: Versions::new(max_ttl * 2 + Duration::from_secs(60)),
            pending: AtomicU64::new(0),
            pending_limit: max_bytes / PENDING_FRACTION,
        });
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(sweep(Arc::downgrade(&store)));
        }
        store
    }

    /// The fresh entry under `key`, or the stamp to compute one under (read before
    /// the lookup, so before the caller reads any data).
    pub(crate) fn lookup(&self, key: &CacheKey) -> Lookup {
        // The stamp is read before the entry: a value computed under it is
        // refused if an invalidation lands in between.
        let stamp = self.versions.stamp();
        match self
            .entries
            .get(key.full())
            .filter(|entry| self.is_fresh(key, entry.stamp))
        {
            Some(entry) if entry.window.is_zero() || entry.expired_for().is_none() => {
                Lookup::Hit(entry)
            }
            Some(entry) => Lookup::Stale(entry),
            None => Lookup::Miss(Stamp::memory(stamp)),
        }
    }

    /// `key`'s fresh entry, if there is one (what [`MemoryStore::lookup`] finds,
    /// without a stamp for a miss). An entry without a stale window is dropped
    /// by moka when it expires; one kept for its window is checked here.
    #[inline]
    pub(crate) fn hit(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        self.entries.get(key.full()).filter(|entry| {
            self.is_fresh(key, entry.stamp)
                && (entry.window.is_zero() || entry.expired_for().is_none())
        })
    }

    /// The stamp for a value about to be computed.
    #[cfg(test)]
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp::memory(self.versions.stamp())
    }

    /// `true` if nothing covering `key` was invalidated after `stamp`.
    pub(crate) fn is_fresh(&self, key: &CacheKey, stamp: Stamp) -> bool {
        stamp.source == Source::Memory && self.versions.is_fresh(key.rest(), stamp.value)
    }

    /// Stores `entry` unless it is already stale (or stamped by another store).
    pub(crate) fn put(&self, key: &CacheKey, entry: Arc<Entry>) {
        if self.is_fresh(key, entry.stamp) {
            let weight = u64::from(weight(key.full(), &entry));
            self.entries.insert(Arc::from(key.full()), entry);
            let pending = self.pending.fetch_add(weight, Ordering::Relaxed) + weight;
            if pending > self.pending_limit {
                self.pending.store(0, Ordering::Relaxed);
                self.entries.run_pending_tasks();
            }
        }
    }

    /// Drops every entry (the Redis fallback, when Redis is back).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn flush(&self) {
        self.versions.invalidate_all();
        self.entries.invalidate_all();
    }

    /// Makes every entry under `prefix` (normalized, after the key prefix) stale.
    pub(crate) fn invalidate(&self, prefix: &str) {
        self.versions.invalidate(prefix);
    }

    /// Makes every entry stale and frees them.
    pub(crate) fn invalidate_all(&self) {
        self.versions.invalidate_all();
        self.entries.invalidate_all();
    }

    /// Entries and their total weight in bytes (after pending maintenance).
    pub(crate) fn usage(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

async fn sweep(store: Weak<MemoryStore>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(store) = store.upgrade() else { return };
        store.entries.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use moka::notification::RemovalCause;

    fn key(s: &str) -> CacheKey {
        CacheKey::from_rest("p", s)
    }

    #[tokio::test]
    async fn put_get_and_invalidate() {
        let store = MemoryStore::new(1 << 20, Duration::from_secs(60));
        let s = store.stamp();
        store.put(
            &key("user:1:f"),
            Entry::new(Bytes::from_static(b"x"), s, Duration::from_secs(60)),
        );
        assert!(matches!(store.lookup(&key("user:1:f")), Lookup::Hit(_)));
        store.invalidate("user:10");
        assert!(matches!(store.lookup(&key("user:1:f")), Lookup::Hit(_)));
        store.invalidate("user:1");
        assert!(matches!(store.lookup(&key("user:1:f")), Lookup::Miss(_)));
    }

    #[tokio::test]
    async fn a_stale_put_is_dropped() {
        let store = MemoryStore::new(1 << 20, Duration::from_secs(60));
        let s = store.stamp();
        store.invalidate("user");
        store.put(
            &key("user:1"),
            Entry::new(Bytes::from_static(b"x"), s, Duration::from_secs(60)),
        );
        assert_eq!(store.usage().0, 0);
    }

    #[tokio::test]
    async fn entries_expire_without_being_read() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let store = MemoryStore::build(
            1 << 20,
            Duration::from_secs(60),
            Some(Box::new(move |k, cause| {
                let _ = tx.send((k.to_string(), cause));
            })),
        );
        store.put(
            &key("a"),
            Entry::new(
                Bytes::from_static(b"x"),
                store.stamp(),
                Duration::from_millis(50),
            ),
        );
        // Nobody reads "a" again: the sweeper's maintenance must evict it.
        let (k, cause) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the sweeper evicts the expired entry")
            .unwrap();
        assert_eq!(k, "p:a");
        assert_eq!(cause, RemovalCause::Expired);
        assert_eq!(store.usage(), (0, 0));
    }

    #[tokio::test]
    async fn the_byte_bound_holds() {
        let bound = 256 * 1024;
        let store = MemoryStore::new(bound, Duration::from_secs(60));
        let value = Bytes::from(vec![7u8; 1000]);
        for i in 0..2000 {
            store.put(
                &key(&format!("k:{i}")),
                Entry::new(value.clone(), store.stamp(), Duration::from_secs(60)),
            );
        }
        let (count, bytes) = store.usage();
        assert!(bytes <= bound, "{bytes} > {bound}");
        assert!(count > 0 && count < 2000, "{count}");
    }

    /// What users see is memory, not moka's count after its maintenance: entries
    /// waiting in moka's write buffer are alive too. With values of 1/8 of the
    /// bound, moka's batch of 64 writes alone would hold 8 bounds.
    #[tokio::test]
    async fn large_values_never_pile_up_beyond_the_bound() {
        let bound: u64 = 1 << 20;
        let store = MemoryStore::new(bound, Duration::from_secs(60));
        let value = bound as usize / 8;
        let mut alive = Vec::new();
        for i in 0..200 {
            let entry = Entry::new(
                Bytes::from(vec![7u8; value]),
                store.stamp(),
                Duration::from_secs(60),
            );
            alive.push(Arc::downgrade(&entry));
            store.put(&key(&format!("k:{i}")), entry);
            alive.retain(|entry| entry.strong_count() > 0);
            let held = (alive.len() * value) as u64;
            assert!(
                held <= bound + bound / PENDING_FRACTION + value as u64,
                "after {i} puts, {} entries of {value} bytes are alive: {held} bytes for a bound of {bound}",
                alive.len()
            );
        }
    }
}
