//! Where entries live: the store of each mode.

pub(crate) mod memory;
pub(crate) mod versions;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::key::CacheKey;
use memory::MemoryStore;

/// The store behind a cache.
#[derive(Debug)]
pub(crate) enum Backend {
    /// Caching is off.
    Disabled,
    /// moka.
    Memory(Arc<MemoryStore>),
}

impl Backend {
    /// The fresh entry under `key`, if any.
    pub(crate) async fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        match self {
            Backend::Disabled => None,
            Backend::Memory(store) => store.get(key),
        }
    }

    /// The stamp for a value about to be computed.
    pub(crate) async fn stamp(&self) -> u64 {
        match self {
            Backend::Disabled => 0,
            Backend::Memory(store) => store.stamp(),
        }
    }

    /// `true` if nothing covering `key` was invalidated after `stamp`.
    pub(crate) async fn is_fresh(&self, key: &CacheKey, stamp: u64) -> bool {
        match self {
            Backend::Disabled => false,
            Backend::Memory(store) => store.is_fresh(key, stamp),
        }
    }

    /// Stores `bytes` under `key` unless an invalidation since `stamp` covers it.
    pub(crate) async fn put(&self, key: &CacheKey, bytes: Bytes, stamp: u64, ttl: Duration) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.put(key, Entry::new(bytes, stamp, ttl)),
        }
    }

    /// Makes every entry under `prefix` (normalized) stale.
    pub(crate) async fn invalidate(&self, prefix: &str) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.invalidate(prefix),
        }
    }

    /// Makes every entry stale.
    pub(crate) async fn invalidate_all(&self) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.invalidate_all(),
        }
    }
}

/// One stored value.
#[derive(Debug)]
pub(crate) struct Entry {
    /// A stored HTTP response, parsed once for all the hits on this entry.
    #[cfg(feature = "axum")]
    pub(crate) parsed: std::sync::OnceLock<Arc<crate::http::stored::StoredResponse>>,
    /// Header + payload, as written by `codec`.
    pub(crate) bytes: Bytes,
    /// The epoch read before the value was computed.
    pub(crate) stamp: u64,
    /// The time to live it was stored with.
    pub(crate) ttl: Duration,
    /// When it expires.
    pub(crate) expires_at: Instant,
}

impl Entry {
    pub(crate) fn new(bytes: Bytes, stamp: u64, ttl: Duration) -> Arc<Self> {
        Arc::new(Entry {
            #[cfg(feature = "axum")]
            parsed: std::sync::OnceLock::new(),
            bytes,
            stamp,
            ttl,
            expires_at: Instant::now() + ttl,
        })
    }

    /// Time left before it expires.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn remaining(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    /// Time since it was stored.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn age(&self) -> Duration {
        self.ttl.saturating_sub(self.remaining())
    }
}
