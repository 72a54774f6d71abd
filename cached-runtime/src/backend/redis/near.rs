//! The near copy: values this process read from (or wrote to) Redis, kept with
//! their header so a lookup can ask Redis "is this still the value?" instead of
//! fetching it again.
//!
//! Every lookup still goes to Redis (one round trip, see "One round trip per
//! lookup" in `redis`): the READ script gets the header and length of the near
//! copy and answers `SAME` when the entry in Redis is those very bytes, so a near
//! copy is never served on its own and can never be staler than Redis. It only
//! spares sending (and parsing) the value. Near copies expire with their entries
//! and are bounded by a quarter of `CACHE_MAX_MEMORY`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::header::{self, Header};
use super::{RedisStore, now_ms};
use crate::backend::Entry;
use crate::backend::memory::ENTRY_OVERHEAD;
use crate::backend::{Lookup, Stamp};
use crate::key::CacheKey;

/// The near copies, by full key.
pub(super) type NearCopies = moka::sync::Cache<Arc<str>, Arc<Near>>;

/// A value this process read from (or wrote to) Redis, with its header.
#[derive(Debug)]
pub(super) struct Near {
    /// The header of the value in Redis (what the READ script compares).
    pub(super) header: [u8; header::LEN],
    /// The length of the value in Redis (header included).
    pub(super) len: usize,
    pub(super) entry: Arc<Entry>,
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

/// An empty set of near copies holding at most `capacity` bytes.
pub(super) fn copies(capacity: u64) -> NearCopies {
    moka::sync::Cache::builder()
        .max_capacity(capacity)
        .weigher(|key: &Arc<str>, near: &Arc<Near>| {
            u32::try_from(key.len() + near.len + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
        })
        .expire_after(NearTtl)
        .build()
}

impl RedisStore {
    /// The entry in a value the READ script sent (header and codec bytes), kept
    /// as the near copy of `key`; or, when the value is too short to be one, the
    /// stamp to compute and overwrite it under.
    pub(super) fn hit_from(&self, key: &CacheKey, value: Vec<u8>) -> Lookup {
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
        let entry = Arc::new(Entry::with_remaining(
            bytes,
            Stamp::redis(header.stamp, header.epoch),
            ttl,
            ttl.saturating_sub(age),
        ));
        self.remember_near(key, known, len, &entry);
        Lookup::Hit(entry)
    }

    /// Keeps `entry` as the near copy of `key`; `header` and `len` are those of
    /// its value in Redis.
    pub(super) fn remember_near(
        &self,
        key: &CacheKey,
        header: [u8; header::LEN],
        len: usize,
        entry: &Arc<Entry>,
    ) {
        self.near.insert(
            Arc::from(key.full()),
            Arc::new(Near {
                header,
                len,
                entry: Arc::clone(entry),
            }),
        );
    }
}
