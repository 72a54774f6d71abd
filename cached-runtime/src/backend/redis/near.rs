//! The near copies: values this process read from (or wrote to) Redis, kept with
//! their header so a lookup can ask Redis "is this still the value?" instead of
//! fetching it again, and, in near mode, answer without asking.
//!
//! # Strict mode (the default)
//!
//! Every lookup goes to Redis (one round trip, see "One round trip per lookup" in
//! `redis`): the READ script gets the header and length of the near copy and
//! answers `SAME` when the entry in Redis is those very bytes, so a near copy is
//! never served on its own and can never be staler than Redis. It only spares
//! sending (and parsing) the value. Near copies expire with their entries and are
//! bounded by a quarter of `CACHE_MAX_MEMORY`.
//!
//! # Near mode (`REDIS_NEAR_CACHE`, `#[cached(near = true)]`)
//!
//! A lookup of a near function first looks here, and answers with the copy, with
//! no round trip, when all of these hold: tracking is armed on the current
//! connection (see `tracking`), no local version of a namespace over the key is
//! newer than the copy's *near stamp* (taken before the READ or PUT that brought
//! the copy was sent: see `tracking`, "The fill race"), the copy was fetched less
//! than `REDIS_NEAR_CACHE_MAX_AGE` ago, and its entry has not expired. Otherwise
//! the lookup goes to Redis as in strict mode and refills the copy. The copy keeps
//! its `Entry`, so what a reader decoded of it is reused by every near hit. The
//! copies are bounded by `REDIS_NEAR_CACHE_MAX_MEMORY` in near mode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::header::{self, Header};
use super::{RedisStore, now_ms};
use crate::backend::memory::ENTRY_OVERHEAD;
use crate::backend::versions::Versions;
use crate::backend::{Entry, KeyHasher};
use crate::backend::{Lookup, Stamp};
use crate::key::CacheKey;

/// The near copies, by full key.
pub(super) type NearCopies = moka::sync::Cache<Arc<str>, Arc<Near>, KeyHasher>;

/// A value this process read from (or wrote to) Redis, with its header.
#[derive(Debug)]
pub(super) struct Near {
    /// The header of the value in Redis (what the READ script compares).
    pub(super) header: [u8; header::LEN],
    /// The length of the value in Redis (header included).
    pub(super) len: usize,
    pub(super) entry: Arc<Entry>,
    /// The near stamp taken before the READ or PUT that brought it (see `tracking`).
    pub(super) stamp: u64,
    /// Until when it may be served without asking Redis (`REDIS_NEAR_CACHE_MAX_AGE`
    /// after that READ or PUT was sent).
    pub(super) until: Instant,
}

/// When a READ or PUT was sent, as the near cache sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sent {
    /// The near stamp before sending.
    pub(super) stamp: u64,
    pub(super) at: Instant,
}

impl Near {
    /// Whether this copy (of a key whose part after the prefix is `rest`) may be
    /// served without asking Redis: fetched less than the max age ago, not
    /// expired, and no namespace over it invalidated (by a push, or by this
    /// process) since before the command that brought it was sent.
    fn servable(&self, versions: &Versions, rest: &str) -> bool {
        let now = Instant::now();
        now < self.until
            && self.entry.expired_for().is_none()
            && versions.is_fresh(rest, self.stamp)
    }
}

/// Near copies expire with their entries.
struct NearTtl;

impl moka::Expiry<Arc<str>, Arc<Near>> for NearTtl {
    fn expire_after_create(
        &self,
        _: &Arc<str>,
        near: &Arc<Near>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(near.entry.remaining())
    }

    fn expire_after_update(
        &self,
        _: &Arc<str>,
        near: &Arc<Near>,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(near.entry.remaining())
    }
}

/// What a near copy weighs: its key, its value as Redis holds it, a fixed
/// overhead, and its typed copy: the estimate made when the caller that
/// computed the value kept it (`Entry::kept_size`), or, for a value read from
/// Redis that a reader may decode and keep (`Entry::keep_typed`), twice its
/// encoded length (MessagePack is compact; every `String` or `Vec` of the
/// decoded value adds its own header and allocation).
fn weight(key: &str, near: &Near) -> u32 {
    let typed = if near.entry.kept_size > 0 {
        near.entry.kept_size
    } else if near.entry.keep_typed {
        2 * near.len
    } else {
        0
    };
    u32::try_from(key.len() + near.len + typed + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

/// An empty set of near copies holding at most `capacity` bytes.
pub(super) fn copies(capacity: u64) -> NearCopies {
    moka::sync::Cache::builder()
        .max_capacity(capacity)
        .weigher(|key: &Arc<str>, near: &Arc<Near>| weight(key, near))
        .expire_after(NearTtl)
        .build_with_hasher(KeyHasher::new())
}

impl RedisStore {
    /// A hit answered without a round trip: from the fallback while the breaker
    /// is open, or from a servable near copy when the function wants near hits
    /// and the near cache is live. `None`: ask Redis ([`RedisStore::lookup`],
    /// which also arms tracking when a near function meets a strict store).
    pub(crate) fn hit_now(&self, key: &CacheKey, near: Option<bool>) -> Option<Arc<Entry>> {
        if self.breaker.is_open() {
            return self.fallback.hit(key);
        }
        if !near.unwrap_or(self.near.default) || !self.near.live() {
            return None;
        }
        let copy = self.near.copies.get(key.full())?;
        let hit = self.near_hit(&copy, key);
        if hit {
            self.near.hits.increment(1);
        }
        hit.then(|| Arc::clone(&copy.entry))
    }

    /// The entry in a value the READ script sent (header and codec bytes), kept
    /// as the near copy of `key`; or, when the value is too short to be one, the
    /// stamp to compute and overwrite it under.
    pub(super) fn hit_from(&self, key: &CacheKey, value: Vec<u8>, sent: Sent) -> Lookup {
        let Some(header) = Header::decode(&value) else {
            tracing::warn!(target: "cache", "a Redis entry is too short for a cachette value; recomputing and overwriting it");
            // The script returned it, so its leading stamp is at least as new as
            // every version it lives under, under the current epoch: a stamp the
            // overwrite may use.
            let (stamp, epoch) = header::decode_stamp(&value).unwrap_or((0, 0));
            return Lookup::Miss(Stamp::redis(stamp, epoch));
        };
        let ttl = Duration::from_millis(header.ttl_ms);
        let age = Duration::from_millis(now_ms().saturating_sub(header.stored_ms));
        let len = value.len();
        let mut known = [0u8; header::LEN];
        known.copy_from_slice(&value[..header::LEN]);
        let mut bytes = Bytes::from(value);
        let bytes = bytes.split_off(header::LEN);
        let entry = Arc::new(Entry::read_back(
            bytes,
            Stamp::redis(header.stamp, header.epoch),
            ttl,
            age,
            Duration::from_micros(header.delta_us),
        ));
        self.remember_near(key, known, len, &entry, sent);
        if entry.expired_for().is_some() {
            // Kept in Redis for its stale window (see `stale`).
            return Lookup::Stale(entry);
        }
        Lookup::Hit(entry)
    }

    /// Keeps `entry` as the near copy of `key`; `header` and `len` are those of
    /// its value in Redis, `sent` when the READ or PUT that brought it was sent.
    pub(super) fn remember_near(
        &self,
        key: &CacheKey,
        header: [u8; header::LEN],
        len: usize,
        entry: &Arc<Entry>,
        sent: Sent,
    ) {
        self.near.copies.insert(
            Arc::from(key.full()),
            Arc::new(Near {
                header,
                len,
                entry: Arc::clone(entry),
                stamp: sent.stamp,
                until: sent.at + self.near.max_age,
            }),
        );
    }

    /// Redis answered `SAME` for `copy`: it is Redis's value as of `sent`, so a
    /// near function may serve it again from now on (same entry, new near stamp).
    pub(super) fn renew_near(&self, key: &CacheKey, copy: &Near, sent: Sent) {
        self.remember_near(key, copy.header, copy.len, &copy.entry, sent);
    }

    /// The copy of `key` a near function may serve without asking Redis.
    pub(super) fn near_hit(&self, copy: &Near, key: &CacheKey) -> bool {
        copy.servable(&self.near.versions, key.rest())
    }

    /// When a command is about to be sent, for the copy it may bring.
    pub(super) fn sent(&self) -> Sent {
        Sent {
            stamp: self.near.versions.stamp(),
            at: Instant::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Stamp;

    fn copy_sent(len: usize, stamp: u64, until: Instant) -> Arc<Near> {
        let mut near = Arc::try_unwrap(copy(len)).unwrap_or_else(|_| unreachable!());
        near.stamp = stamp;
        near.until = until;
        Arc::new(near)
    }

    /// The fill race: a copy brought by a READ sent before an invalidation's push
    /// was handled is never served, whether the push is handled before or after
    /// the copy is stored; one sent after it is.
    #[test]
    fn a_copy_fetched_before_an_invalidation_is_never_served() {
        let versions = Versions::new(Duration::from_secs(120));
        let later = Instant::now() + Duration::from_secs(60);
        let sent_before = versions.stamp();
        versions.invalidate("user:1");
        let sent_after = versions.stamp();
        assert!(!copy_sent(100, sent_before, later).servable(&versions, "user:1:get"));
        assert!(copy_sent(100, sent_before, later).servable(&versions, "user:10:get"));
        assert!(copy_sent(100, sent_after, later).servable(&versions, "user:1:get"));
        // A flush refuses everything fetched before it.
        versions.invalidate_all();
        assert!(!copy_sent(100, sent_after, later).servable(&versions, "other"));
        // The max age is a bound whatever the pushes say.
        let now = versions.stamp();
        assert!(!copy_sent(100, now, Instant::now()).servable(&versions, "other"));
    }

    fn copy(len: usize) -> Arc<Near> {
        let entry = Arc::new(Entry::read_back(
            Bytes::from(vec![7u8; len - header::LEN]),
            Stamp::redis(1, 1),
            Duration::from_secs(60),
            Duration::ZERO,
            Duration::ZERO,
        ));
        Arc::new(Near {
            header: [0; header::LEN],
            len,
            entry,
            stamp: 1,
            until: Instant::now() + Duration::from_secs(60),
        })
    }

    #[test]
    fn the_near_cache_holds_no_more_bytes_than_its_bound() {
        // REDIS_NEAR_CACHE_MAX_MEMORY = 256 KiB; 2,000 values of 1 KB pushed through.
        let bound = 256 * 1024;
        let copies = copies(bound);
        for i in 0..2000 {
            copies.insert(Arc::from(format!("p:near:{i}").as_str()), copy(1000));
        }
        copies.run_pending_tasks();
        let (count, bytes) = (copies.entry_count(), copies.weighted_size());
        assert!(bytes <= bound, "{bytes} > {bound}");
        assert!(count > 0 && count < 2000, "{count}");
    }
}
