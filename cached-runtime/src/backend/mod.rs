//! Where entries live: the store of each mode.

pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod versions;

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;

use crate::key::CacheKey;
use memory::MemoryStore;

/// The hasher of the stores' in-memory maps (the memory store, the near cache):
/// aHash, keyed with random seeds per map, so keys an attacker chooses (query
/// strings) cannot be made to collide; several times faster than std's SipHash on
/// the 40-100 byte keys every hit hashes.
pub(crate) type KeyHasher = ahash::RandomState;

/// Which store issued a [`Stamp`]: stamps of one store mean nothing to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The in-memory store (or the Redis mode's fallback).
    Memory,
    /// Redis.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis,
}

/// The epoch a store reported before a value was computed (see `versions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) source: Source,
    pub(crate) value: u64,
    /// Which incarnation of the Redis epoch `value` was read from (see
    /// `redis`, "Losing the epoch"): a stamp is only comparable with the versions
    /// of the epoch it came from. `0` for the memory store, and for a Redis stamp
    /// issued while Redis had no epoch and could not create one (no write accepts
    /// it).
    pub(crate) epoch: u64,
    /// The token of the cross-instance lease the value is computed under (see
    /// `redis::lease`), `0` for none: a store of it is refused once another
    /// process holds the key's lease, or nobody does (fencing).
    pub(crate) lease: u64,
}

impl Stamp {
    pub(crate) fn memory(value: u64) -> Self {
        Stamp {
            source: Source::Memory,
            value,
            epoch: 0,
            lease: 0,
        }
    }

    /// A stamp read from the Redis epoch whose identity is `epoch`.
    #[cfg(feature = "redis")]
    pub(crate) fn redis(value: u64, epoch: u64) -> Self {
        Stamp {
            source: Source::Redis,
            value,
            epoch,
            lease: 0,
        }
    }

    /// This stamp, for a value computed under the lease whose token is `lease`
    /// (`0`: under none).
    pub(crate) fn leased(self, lease: u64) -> Self {
        Stamp { lease, ..self }
    }
}

#[cfg(feature = "redis")]
pub(crate) use redis::lease::Lease;
#[cfg(feature = "redis")]
pub(crate) use redis::wake::Woke;

/// The cross-instance lease: only the Redis store makes one.
#[cfg(not(feature = "redis"))]
#[derive(Debug)]
pub(crate) enum Lease {}

#[cfg(not(feature = "redis"))]
impl Lease {
    pub(crate) fn token(&self) -> u64 {
        match *self {}
    }

    pub(crate) fn release(self, _: Release) {
        match self {}
    }
}

/// How a computation under a lease ended, told to the processes waiting for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// The value was stored (or its store attempted): take it from the store.
    Stored,
    /// Nothing cacheable came out: run your own call.
    Uncacheable,
    /// The computation was abandoned (its future dropped): one of you leads.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Abandoned,
}

/// What asking for a key's cross-instance lease came to (see `redis::lease`).
#[cfg(feature = "redis")]
#[derive(Debug)]
pub(crate) enum Claim {
    /// This process computes the key, under this lease.
    Led(Lease),
    /// Another process does; its lease has this long left.
    Held(Duration),
    /// The store cannot tell (Redis not in use, failing, slow): compute.
    Unavailable,
}

/// The result of a lookup.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A fresh entry.
    Hit(Arc<Entry>),
    /// An entry that expired by time and is still kept for its window (see
    /// `stale`); no invalidation covers it. Its stamp is one to compute its
    /// replacement under (no version over the key is newer).
    Stale(Arc<Entry>),
    /// No fresh entry; the stamp to compute a new one under.
    Miss(Stamp),
}

/// The store behind a cache.
#[derive(Debug)]
pub(crate) enum Backend {
    /// Caching is off.
    Disabled,
    /// moka.
    Memory(Arc<MemoryStore>),
    /// Redis, with a memory fallback.
    #[cfg(feature = "redis")]
    Redis(Arc<redis::RedisStore>),
}

impl Backend {
    /// The fresh entry under `key`, or the stamp to compute one under. `near`: the
    /// function's `#[cached(near = ...)]` (`None`: as configured), which only the
    /// Redis store reads (see `redis::near`).
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub(crate) async fn lookup(&self, key: &CacheKey, near: Option<bool>) -> Lookup {
        match self {
            Backend::Disabled => Lookup::Miss(Stamp::memory(0)),
            Backend::Memory(store) => store.lookup(key),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.lookup(key, near).await,
        }
    }

    /// `key`'s fresh entry when the store can tell without I/O: in memory mode,
    /// and in Redis mode from a servable near copy (or the fallback while the
    /// breaker is open). `None` says nothing (a miss, or Redis must be asked):
    /// [`Backend::lookup`] then runs. The first step of `lookup`'s protocol,
    /// taken before a call builds a future (see `entry`).
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    #[inline]
    pub(crate) fn hit_now(&self, key: &CacheKey, near: Option<bool>) -> Option<Arc<Entry>> {
        match self {
            Backend::Disabled => None,
            Backend::Memory(store) => store.hit(key),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.hit_now(key, near),
        }
    }

    /// `true` if nothing covering `key` was invalidated after `stamp`.
    pub(crate) async fn is_fresh(&self, key: &CacheKey, stamp: Stamp) -> bool {
        match self {
            Backend::Disabled => false,
            Backend::Memory(store) => store.is_fresh(key, stamp),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.is_fresh(key, stamp).await,
        }
    }

    /// Stores `entry` under `key` unless an invalidation since its stamp covers it.
    pub(crate) async fn put(&self, key: &CacheKey, entry: &Arc<Entry>) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.put(key, Arc::clone(entry)),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.put(key, entry).await,
        }
    }

    /// Makes every entry under `prefix` (normalized) stale.
    pub(crate) async fn invalidate(&self, prefix: &str) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.invalidate(prefix),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.invalidate(Some(prefix)).await,
        }
    }

    /// Invalidations that returned before the store recorded them (only Redis
    /// can refuse one).
    pub(crate) fn invalidations_refused(&self) -> u64 {
        match self {
            Backend::Disabled | Backend::Memory(_) => 0,
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.invalidations_refused(),
        }
    }

    /// Makes every entry stale.
    pub(crate) async fn invalidate_all(&self) {
        match self {
            Backend::Disabled => {}
            Backend::Memory(store) => store.invalidate_all(),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.invalidate(None).await,
        }
    }
}

/// What a reader decoded of an entry (see [`Entry::decoded`]).
pub(crate) type Decoded = Arc<dyn Any + Send + Sync>;

/// One stored value.
#[derive(Debug)]
pub(crate) struct Entry {
    /// What a reader decoded of `bytes`, kept for every later hit on this entry (a
    /// layer over the core keeps its own parsed form here, e.g. a stored HTTP
    /// response; see `lookup::Reader`), or the typed value the caller that
    /// computed it kept (`returns::Kept`, set before the entry is stored or
    /// published). Any type: a reader that finds another type here decodes the
    /// bytes itself (a typed memory entry has none: a miss).
    pub(crate) decoded: OnceLock<Decoded>,
    /// The estimated size in memory of what `decoded` held when the entry was
    /// made (a typed value kept by the caller that computed it, see
    /// `returns::TypedOps`); 0 otherwise. Part of the entry's weight.
    pub(crate) kept_size: usize,
    /// A reader that decodes `bytes` may keep its typed value in `decoded`: the
    /// store that holds the entry weighs it for that copy (the near copies of
    /// Redis values, see `backend::redis::near`). Off for entries of the memory
    /// store, whose weight is fixed when they are stored.
    pub(crate) keep_typed: bool,
    /// Header + payload, as written by `codec`. Empty for a typed entry of the
    /// memory store, which nothing reads as bytes (see `cached::run_value`).
    pub(crate) bytes: Bytes,
    /// The epoch read before the value was computed.
    pub(crate) stamp: Stamp,
    /// The time to live it was stored with.
    pub(crate) ttl: Duration,
    /// When it expires (tokio's clock, so that tests with paused time move it).
    pub(crate) expires_at: Instant,
    /// How long past `expires_at` the store keeps it, to be served stale (see
    /// `stale`): `max(stale_while_revalidate, stale_if_error)` when stored.
    pub(crate) window: Duration,
    /// How long its computation took (XFetch's Δ, see `stale`); zero when
    /// unknown.
    pub(crate) delta: Duration,
}

impl Entry {
    pub(crate) fn new(bytes: Bytes, stamp: Stamp, ttl: Duration) -> Arc<Self> {
        Arc::new(Entry {
            decoded: OnceLock::new(),
            kept_size: 0,
            keep_typed: false,
            bytes,
            stamp,
            ttl,
            expires_at: Instant::now() + ttl,
            window: Duration::ZERO,
            delta: Duration::ZERO,
        })
    }

    /// A computed entry: `kept` is its typed value and that value's estimated
    /// size, if it keeps one; `window` and `delta` as [`Entry::window`] and
    /// [`Entry::delta`].
    pub(crate) fn computed(
        bytes: Bytes,
        kept: Option<(Decoded, usize)>,
        stamp: Stamp,
        ttl: Duration,
        window: Duration,
        delta: Duration,
    ) -> Arc<Self> {
        let (decoded, kept_size) = match kept {
            Some((kept, size)) => (OnceLock::from(kept), size),
            None => (OnceLock::new(), 0),
        };
        Arc::new(Entry {
            decoded,
            kept_size,
            keep_typed: false,
            bytes,
            stamp,
            ttl,
            expires_at: Instant::now() + ttl,
            window,
            delta,
        })
    }

    /// An entry that keeps `kept` (of estimated size `kept_size`) decoded beside
    /// `bytes`.
    pub(crate) fn kept(
        bytes: Bytes,
        kept: Decoded,
        kept_size: usize,
        stamp: Stamp,
        ttl: Duration,
    ) -> Arc<Self> {
        Arc::new(Entry {
            decoded: OnceLock::from(kept),
            kept_size,
            keep_typed: false,
            bytes,
            stamp,
            ttl,
            expires_at: Instant::now() + ttl,
            window: Duration::ZERO,
            delta: Duration::ZERO,
        })
    }

    /// What the entry holds in memory, as far as it is known when it is stored:
    /// its bytes and the estimated size of its kept typed value.
    pub(crate) fn size(&self) -> usize {
        self.bytes.len() + self.kept_size
    }

    /// An entry read back from Redis whose age (since it was stored) is `age`:
    /// fresh for `ttl - age`, or expired `age - ttl` ago. A near copy, weighed
    /// for a typed copy a reader may keep in it ([`Entry::keep_typed`]).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn read_back(
        bytes: Bytes,
        stamp: Stamp,
        ttl: Duration,
        age: Duration,
        delta: Duration,
    ) -> Self {
        let now = Instant::now();
        let expires_at = match ttl.checked_sub(age) {
            Some(remaining) => now + remaining,
            None => now.checked_sub(age - ttl).unwrap_or(now),
        };
        Entry {
            decoded: OnceLock::new(),
            kept_size: 0,
            keep_typed: true,
            bytes,
            stamp,
            ttl,
            expires_at,
            window: Duration::ZERO,
            delta,
        }
    }

    /// `None` while fresh; once expired, how long ago.
    pub(crate) fn expired_for(&self) -> Option<Duration> {
        let now = Instant::now();
        (now >= self.expires_at).then(|| now - self.expires_at)
    }

    /// Time left before it expires.
    pub(crate) fn remaining(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    /// Time since it was stored.
    pub(crate) fn age(&self) -> Duration {
        match self.expired_for() {
            None => self.ttl.saturating_sub(self.remaining()),
            Some(past) => self.ttl + past,
        }
    }
}
