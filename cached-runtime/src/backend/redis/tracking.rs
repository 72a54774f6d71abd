//! Coherence of the near cache: what tells this process that an entry it holds
//! is no longer Redis's, and when it must forget everything it holds.
//!
//! # Server-assisted invalidation, on the version keys
//!
//! An invalidation writes one key, the namespace's version (`{prefix}#v:{ns}`, or
//! `{prefix}#all`; see `layout`), whatever the number of entries under it. So each
//! connection the store opens in near mode speaks RESP3 and asks Redis (6+) for
//! `CLIENT TRACKING ON BCAST PREFIX {prefix}#v: PREFIX {prefix}#all`: every write of
//! a version key, by any client, pushes its name to this process (a few bytes per
//! invalidation, whatever the number of entries or instances). The push handler
//! (run by the connection as the push is read, before any later reply on it)
//! records the namespace in the near cache's own [`Versions`]: the same O(1),
//! race-free versions as the memory store, local to this process. A version key
//! that cannot be mapped back to a namespace, `#all`, or a flush (`FLUSHALL`,
//! `FLUSHDB`: Redis pushes a null) empties the near cache.
//!
//! Why tracking rather than pub/sub: the invalidation script need not change (nor
//! publish), an invalidation made by an older cachette, an operator's `DEL` of a
//! version key, an eviction of one and a flush are seen too, and the epoch
//! rotation (`restart`) also writes `#all` so that other instances learn of it.
//! The epoch key itself is not tracked: every store renews its TTL.
//!
//! # The fill race
//!
//! A near copy is filled with the near stamp ([`Versions::stamp`]) taken *before*
//! the READ (or PUT) that brought it was sent, and served only while no
//! namespace over its key has a newer local version. An invalidation that Redis
//! applies after the READ read the value pushes its key after that; whether its
//! push is handled before or after the copy is stored, the copy's stamp is older
//! than the version the push records, so it is never served. This holds whatever
//! connection the push arrives on.
//!
//! # When messages may have been missed
//!
//! Pushes only come on a connection that asked for them, while it is open. So near
//! hits are served only while the current connection is the tracked one
//! ([`NearState::live`]), and the near cache is emptied (a new local "all"
//! version, so copies in flight are refused too) when tracking is armed on a new
//! connection, when the tracked connection breaks or is dropped, when the breaker
//! opens or closes, and when this process rotates the epoch.
//!
//! # A Redis that cannot
//!
//! Redis before 6 refuses `HELLO 3` (RESP3), and an ACL or `rename-command` may
//! refuse `CLIENT TRACKING`: the store logs one warning naming the reason and
//! runs strict (every hit checked on Redis), as with the near cache off.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::{PushInfo, PushKind, Value};

use super::near::NearCopies;
use crate::backend::versions::Versions;

/// The near cache's state shared by the store and the push handlers of its
/// connections.
pub(super) struct NearState {
    /// `REDIS_NEAR_CACHE`: what functions without `near = ...` get.
    pub(super) default: bool,
    /// `REDIS_NEAR_CACHE_MAX_AGE`.
    pub(super) max_age: Duration,
    /// Local namespace versions, bumped by pushes (see the module docs).
    pub(super) versions: Versions,
    /// The copies (shared with the store; moka clones share their contents).
    pub(super) copies: NearCopies,
    /// Some function wants near hits: connections speak RESP3 and are tracked.
    wanted: AtomicBool,
    /// Redis refused RESP3 or `CLIENT TRACKING`: strict for good.
    refused: AtomicBool,
    /// The connection tracking is armed on (0: none).
    tracked_on: AtomicU64,
    /// `{prefix}#v:` and `{prefix}#all`: the tracked prefixes.
    version_prefix: String,
    all_key: String,
    /// Pushes handled, invalidations recorded and flushes (for tests and logs).
    pub(super) stats: Mutex<NearStats>,
    /// `cachette_near_hits_total` (see `stats`).
    pub(super) hits: metrics::Counter,
}

/// What the near cache has been told.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct NearStats {
    pub(super) invalidations: u64,
    pub(super) flushes: u64,
}

impl std::fmt::Debug for NearState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearState")
            .field("default", &self.default)
            .field("live", &self.live())
            .finish_non_exhaustive()
    }
}

impl NearState {
    pub(super) fn new(
        default: bool,
        max_age: Duration,
        copies: NearCopies,
        version_prefix: String,
        all_key: String,
    ) -> Arc<NearState> {
        Arc::new(NearState {
            default,
            max_age,
            versions: Versions::new(max_age + Duration::from_secs(60)),
            copies,
            wanted: AtomicBool::new(default),
            refused: AtomicBool::new(false),
            tracked_on: AtomicU64::new(0),
            version_prefix,
            all_key,
            stats: Mutex::new(NearStats::default()),
            hits: metrics::counter!("cachette_near_hits_total"),
        })
    }

    /// Near hits may be served: tracking is armed on the current connection.
    pub(super) fn live(&self) -> bool {
        self.tracked_on.load(Ordering::Acquire) != 0
    }

    /// Whether tracking is armed on connection `id`.
    pub(super) fn armed_on(&self, id: u64) -> bool {
        self.tracked_on.load(Ordering::Acquire) == id
    }

    /// Whether new connections should be tracked.
    pub(super) fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) && !self.refused()
    }

    /// A function asked for near hits: new connections are tracked from now on.
    pub(super) fn want(&self) {
        self.wanted.store(true, Ordering::Relaxed);
    }

    pub(super) fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// Strict mode for good, without a word (the caller said why: a cluster).
    pub(super) fn refuse_quietly(&self) {
        self.refused.store(true, Ordering::Relaxed);
        self.tracked_on.store(0, Ordering::Release);
    }

    /// Redis cannot track: strict mode from now on, said once.
    pub(super) fn refuse(&self, url: &str, reason: &str) {
        if !self.refused.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "cache",
                url,
                reason,
                "the near cache is off: Redis refused RESP3 or CLIENT TRACKING ({reason}); it needs Redis 6 or later with CLIENT and HELLO allowed. Every hit is checked on Redis (strict mode)"
            );
        }
        self.tracked_on.store(0, Ordering::Release);
        self.flush();
    }

    /// Tracking is armed on connection `id`: empty the near cache (anything it
    /// holds may have missed messages), then serve near hits.
    pub(super) fn armed(&self, id: u64) {
        self.flush();
        self.tracked_on.store(id, Ordering::Release);
    }

    /// Connection `id` is gone (or no longer used): if it was the tracked one,
    /// stop serving near hits and forget everything.
    pub(super) fn lost(&self, id: u64) {
        if self
            .tracked_on
            .compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.flush();
        }
    }

    /// Makes every copy stale (copies in flight included) and frees them.
    pub(super) fn flush(&self) {
        self.versions.invalidate_all();
        self.copies.invalidate_all();
        metrics::counter!("cachette_near_flushes_total").increment(1);
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flushes += 1;
    }

    /// Makes every copy under `namespace` (normalized) stale.
    pub(super) fn invalidate(&self, namespace: &str) {
        self.versions.invalidate(namespace);
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .invalidations += 1;
    }

    /// `CLIENT TRACKING ON BCAST PREFIX {prefix}#v: PREFIX {prefix}#all`.
    pub(super) fn tracking_command(&self) -> redis::Cmd {
        let mut command = redis::cmd("CLIENT");
        command
            .arg("TRACKING")
            .arg("ON")
            .arg("BCAST")
            .arg("PREFIX")
            .arg(&self.version_prefix)
            .arg("PREFIX")
            .arg(&self.all_key);
        command
    }

    /// A push from connection `id`.
    pub(super) fn pushed(&self, id: u64, push: &PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        self.key_changed(key);
                    }
                }
                // A flush (FLUSHALL, FLUSHDB), or a form not understood.
                _ => self.flush(),
            },
            PushKind::Disconnection => self.lost(id),
            _ => {}
        }
    }

    fn key_changed(&self, key: &Value) {
        let namespace = match key {
            Value::BulkString(bytes) => std::str::from_utf8(bytes)
                .ok()
                .and_then(|key| key.strip_prefix(self.version_prefix.as_str())),
            Value::SimpleString(key) => key.strip_prefix(self.version_prefix.as_str()),
            _ => None,
        };
        match namespace {
            Some(namespace) => self.invalidate(namespace),
            // `#all`, or a key that cannot be mapped back: forget everything.
            None => self.flush(),
        }
    }
}

/// The push sender of connection `id` (see `link`).
pub(super) fn push_sender(
    near: &Arc<NearState>,
    id: u64,
) -> impl Fn(PushInfo) -> Result<(), redis::aio::SendError> + Send + Sync + 'static {
    let near = Arc::downgrade(near);
    move |push| {
        if let Some(near) = near.upgrade() {
            near.pushed(id, &push);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::redis::near;

    fn state() -> Arc<NearState> {
        NearState::new(
            true,
            Duration::from_secs(60),
            near::copies(1 << 20),
            "p#v:".to_owned(),
            "p#all".to_owned(),
        )
    }

    fn invalidate(keys: &[&str]) -> PushInfo {
        PushInfo {
            kind: PushKind::Invalidate,
            data: vec![Value::Array(
                keys.iter()
                    .map(|k| Value::BulkString(k.as_bytes().to_vec()))
                    .collect(),
            )],
        }
    }

    #[test]
    fn a_version_key_push_invalidates_its_namespace_only() {
        let near = state();
        let before = near.versions.stamp();
        near.pushed(1, &invalidate(&["p#v:user:1"]));
        assert!(!near.versions.is_fresh("user:1:get", before));
        assert!(near.versions.is_fresh("user:10:get", before));
        assert!(near.versions.is_fresh("other", before));
    }

    #[test]
    fn all_a_flush_or_an_unknown_key_forgets_everything() {
        let near = state();
        for push in [
            invalidate(&["p#all"]),
            invalidate(&["q#v:user"]),
            PushInfo {
                kind: PushKind::Invalidate,
                data: vec![Value::Nil],
            },
        ] {
            let before = near.versions.stamp();
            near.pushed(1, &push);
            assert!(!near.versions.is_fresh("other", before));
        }
    }

    #[test]
    fn losing_the_tracked_connection_stops_near_hits() {
        let near = state();
        near.armed(7);
        assert!(near.live());
        near.lost(8);
        assert!(near.live(), "another connection");
        let before = near.versions.stamp();
        near.pushed(
            7,
            &PushInfo {
                kind: PushKind::Disconnection,
                data: vec![],
            },
        );
        assert!(!near.live());
        assert!(!near.versions.is_fresh("any", before));
    }
}
