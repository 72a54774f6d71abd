//! Namespace versions: O(1), race-free invalidation.
//!
//! Invalidating a namespace does not look for the entries under it. It records a new
//! *version* for the namespace: one write, whatever the number of entries. Every entry
//! carries the *stamp* (the global epoch) read before its value was computed, and an
//! entry is fresh only if no namespace it lives under (each segment-aligned prefix of
//! its key) has a version newer than its stamp.
//!
//! That also closes the classic race where a slow miss writes stale data back: a miss
//! that read the database before an invalidation has a stamp older than the version
//! the invalidation recorded, so its entry is dead on arrival, whenever it lands.
//! (Prior art: memcached generation keys, Facebook's leases, FusionCache tag
//! timestamps.)
//!
//! Reads stay O(1) in the common case: while no invalidation happened after an
//! entry's stamp (`stamp >= newest version`), no per-namespace lookup is needed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::key::normalize::prefixes;

/// Versions are forgotten this long after they were set, because no entry that they
/// could make stale can still exist: entries live at most `CACHE_MAX_TTL`.
#[derive(Debug)]
pub(crate) struct Versions {
    epoch: AtomicU64,
    newest: AtomicU64,
    all: AtomicU64,
    map: RwLock<HashMap<Box<str>, (u64, Instant)>>,
    retention: Duration,
    prune_at: AtomicU64,
}

impl Versions {
    /// `retention` must be at least the longest entry TTL.
    pub(crate) fn new(retention: Duration) -> Self {
        Versions {
            epoch: AtomicU64::new(1),
            newest: AtomicU64::new(0),
            all: AtomicU64::new(0),
            map: RwLock::new(HashMap::new()),
            retention,
            prune_at: AtomicU64::new(1024),
        }
    }

    /// The stamp for a value about to be computed.
    pub(crate) fn stamp(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Marks every entry under `prefix` (already normalized) stale.
    pub(crate) fn invalidate(&self, prefix: &str) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let version = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let now = Instant::now();
        match map.get_mut(prefix) {
            Some(slot) => *slot = (slot.0.max(version), now),
            None => {
                map.insert(prefix.into(), (version, now));
            }
        }
        self.newest.fetch_max(version, Ordering::SeqCst);
        if map.len() as u64 >= self.prune_at.load(Ordering::Relaxed) {
            map.retain(|_, (_, at)| now.duration_since(*at) < self.retention);
            self.prune_at
                .store((map.len() as u64 * 2).max(1024), Ordering::Relaxed);
        }
    }

    /// Marks every entry stale.
    pub(crate) fn invalidate_all(&self) {
        let _map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let version = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.all.fetch_max(version, Ordering::SeqCst);
        self.newest.fetch_max(version, Ordering::SeqCst);
    }

    /// `true` if nothing covering `rest` was invalidated after `stamp`.
    pub(crate) fn is_fresh(&self, rest: &str, stamp: u64) -> bool {
        if stamp >= self.newest.load(Ordering::SeqCst) {
            return true;
        }
        if self.all.load(Ordering::SeqCst) > stamp {
            return false;
        }
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        prefixes(rest).all(|p| map.get(p).is_none_or(|&(v, _)| v <= stamp))
    }

    /// How many namespace versions are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_is_segment_aligned() {
        let v = Versions::new(Duration::from_secs(60));
        let s = v.stamp();
        v.invalidate("user:1");
        assert!(!v.is_fresh("user:1", s));
        assert!(!v.is_fresh("user:1:get", s));
        assert!(v.is_fresh("user:10:get", s));
        assert!(v.is_fresh("user", s));
        assert!(v.is_fresh("users:1:get", s));
    }

    #[test]
    fn a_stamp_taken_after_the_invalidation_is_fresh() {
        let v = Versions::new(Duration::from_secs(60));
        let before = v.stamp();
        v.invalidate("user");
        let after = v.stamp();
        assert!(!v.is_fresh("user:1", before));
        assert!(v.is_fresh("user:1", after));
        v.invalidate_all();
        assert!(!v.is_fresh("other", after));
        assert!(v.is_fresh("other", v.stamp()));
    }

    #[test]
    fn old_versions_are_pruned() {
        let v = Versions::new(Duration::ZERO);
        for i in 0..5000 {
            v.invalidate(&format!("user:{i}"));
        }
        assert!(v.len() < 1100, "{}", v.len());
    }
}
