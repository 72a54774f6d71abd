//! The Redis store: a cache shared by every process using the same Redis.
//!
//! # Contents
//! - [Where each part lives](#where-each-part-lives)
//! - [One round trip per lookup](#one-round-trip-per-lookup)
//! - [Losing the epoch](#losing-the-epoch)
//! - [Restarts and failovers](#restarts-and-failovers)
//! - [Metadata the cache did not write](#metadata-the-cache-did-not-write)
//! - [Failures](#failures)
//! - [A Redis that refuses writes](#a-redis-that-refuses-writes)
//! - [Across processes](#across-processes)
//! - [Near mode](#near-mode)
//! - [Redis Cluster](#redis-cluster)
//!
//! # Where each part lives
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`RedisStore`] and what callers use: lookup, freshness check, store, invalidation |
//! | `layout` | the names of the keys (the one place that spells them), their values and TTLs |
//! | `header` | the header in front of every entry's value |
//! | `near` | the near copies (values this process holds: checked against Redis on every lookup in strict mode, served on their own in near mode) |
//! | `tracking` | the near mode's coherence: RESP3 `CLIENT TRACKING` on the version keys, and when the near cache is emptied |
//! | `connect` | connecting, the start-up check, and messages that name the setting at fault |
//! | `call` | running one command: checked connection, timeout, breaker accounting |
//! | `recover` | failures: the breaker's side effects, the probe, the replay of invalidations |
//! | `breaker` | the circuit breaker's state and the invalidations waiting for replay |
//! | `link` | the connection, and whether it was checked |
//! | `restart` | restarts and failovers: rotating the epoch before data goes through |
//! | `refusal` | telling a refused write (Redis is up) from a failure |
//! | `topology` | where each stripe's data goes: one Redis, or a cluster's masters (`REDIS_CLUSTER`), and reading the cluster's routes |
//! | `slot` | Redis Cluster's hash slots (CRC16 and hash tags) |
//! | `scripts` | the Lua scripts |
//! | `lease` | the cross-instance lease: taking, renewing, releasing it, and the fencing of late stores |
//! | `wake` | the one wake-up subscription per process, and the waiters it wakes |
//!
//! # One round trip per lookup
//!
//! A lookup is one script call (`EVALSHA`) that reads the versions of every
//! namespace prefix of the key and the epoch on the server and answers with the
//! entry if it is fresh, else with the stamp to compute a new one under: one
//! command, one round trip, one reply element to parse on a hit (redis-rs's reply
//! parser costs about a thousand instructions per array element, measured, so the
//! check is done where the data is). A hit on the value this process already holds
//! is answered `SAME`, without the value. The time left comes from the time stored
//! in the value (no `PTTL`). A store is a Lua script that checks the versions and
//! the epoch and writes atomically (the slow-miss race cannot write stale data
//! back); an invalidation is a script that records one new version: O(1), no
//! `KEYS`, no `SCAN`, visible to every process when it returns.
//!
//! # Losing the epoch
//!
//! Redis can lose everything the cache wrote while a value is being computed: a
//! `FLUSHALL`, a restart without persistence, a failover to an empty replica, an
//! eviction. The version that an invalidation recorded is lost with it, so the
//! versions can no longer refuse a value read before that invalidation. Comparing
//! magnitudes is not enough either: the next invalidation recreates the epoch at
//! the server clock, above every stamp issued before the loss.
//!
//! So the epoch has an *identity*, created with it (in the same write) and never
//! changed while the key exists: 16 hex digits of the SHA-1 of a random token of the
//! instance that created it and the server time in µs. A stamp is the pair (counter,
//! identity); an entry's header holds both, so a hit's stamp has one too. A stamp is
//! only comparable with the versions of its own epoch:
//!
//! - a store (`PUT`) is refused when the epoch's identity is not the stamp's, or
//!   there is no epoch;
//! - a single-flight waiter checks the leader's stamp the same way (`FRESH`, one
//!   round trip) before taking its value;
//! - a lookup only serves an entry stamped under the current epoch, so losing the
//!   epoch alone (deleted, evicted) makes every entry a miss.
//!
//! Every stamp handed out must carry an identity, or a value computed while the
//! epoch was missing could not be told apart from one computed under a later one:
//! so a lookup that finds no epoch creates it (a few bytes, and only then does a
//! lookup write). If Redis refuses that write (full, read-only), the stamp has no
//! identity (0) and no store accepts it. The counter of a new epoch starts at the
//! server clock in µs, above the versions still present.
//!
//! The identity is a 64-bit value from a 160-bit hash: two incarnations collide with
//! probability 2^-64 (or if one instance created both in the same microsecond of
//! the server clock). Comparing server run ids instead would miss `FLUSHALL`, and a
//! counter kept in Redis would be lost with the epoch.
//!
//! # Restarts and failovers
//!
//! A server can also come back with an *older* copy of everything: a restart from
//! an RDB snapshot taken before an invalidation, a failover to a replica that had
//! not received it. The epoch then comes back with its identity, and so does the
//! entry; the invalidation does not. So every restart and failover rotates the
//! epoch (a new identity, the counter never lower) before any data is read or
//! written there, and the cache starts cold: the data scripts only run by
//! `EVALSHA` and are only loaded right after a rotation, so a server whose script
//! cache is empty (`NOSCRIPT`: a restart, a promoted replica, `SCRIPT FLUSH`)
//! rotates first; and every new connection checks that the epoch records the
//! server it reaches (`run_id` and `master_replid`), for script caches that
//! survive. The reasoning, what was checked against Redis 7.0, and what is not
//! caught: see `restart`; the connection handling: see `link`.
//!
//! # Metadata the cache did not write
//!
//! The epoch, the "all" version or a namespace version may hold what the cache
//! never wrote: garbage set by hand or by another program, a key of another type
//! (a list, a hash), a partial restore. Each script reads them with `pcall` and
//! accepts only the layout it writes (a version is decimal digits), so such a key
//! is never an error that would stop caching or block invalidations; it is *lost*,
//! exactly like an epoch lost in a restart, and repaired on first contact:
//!
//! - an unreadable epoch: a lookup creates a new one (a new identity), so no entry
//!   or stamp of before is served or stored;
//! - an unreadable version: a lookup sets it, and the epoch's counter, above every
//!   stamp issued before (as an invalidation would), and answers a miss; a store
//!   or a single-flight check that meets it refuses (as "invalidated since");
//!   an invalidation overwrites it;
//! - the lookup that repairs names the keys in one warning.
//!
//! `invalidate_all` rotates the epoch rather than only raising the "all" version,
//! so losing that key loses nothing either. A *deleted* namespace version is the
//! one loss that cannot be seen: it reads like a namespace never invalidated (the
//! cache keeps nothing per namespace until one is invalidated, so an invalidation
//! stays one write), and the invalidation it recorded is lost. Never delete the
//! cache's `#v:` keys by hand, and run its Redis with `maxmemory-policy
//! noeviction` (a warning at start-up says so otherwise). Tests:
//! `tests/redis_metadata.rs`.
//!
//! # Failures
//!
//! Every command has a timeout; repeated failures open a circuit breaker and
//! requests are served from the in-memory fallback until a probe finds Redis
//! usable again and has replayed the invalidations made meanwhile (see `recover`).
//! No request ever fails because of Redis.
//!
//! # A Redis that refuses writes
//!
//! A Redis that answers a write with `-OOM`, `-READONLY`, `-NOPERM`, `-MISCONF`
//! or `-NOREPLICAS` is up: a store it refuses is simply not stored, and an
//! invalidation it refuses is applied locally, counted, logged at `error` and
//! replayed. What that means for this instance and for the others: see `refusal`.
//!
//! # Across processes
//!
//! Entries and invalidations are shared. Concurrent misses on one key run the
//! function once across every process sharing the Redis while
//! `REDIS_DISTRIBUTED_LOCK` is on (the default): the process that computes holds
//! the key's lease, the others are woken when it is released and take the value
//! from Redis (see `lease`, `wake`, and `lookup`'s "Across processes"). With the
//! lock off, once per process.
//!
//! # Near mode
//!
//! Strict (the default): every lookup is the READ round trip above, so once an
//! invalidation returns no instance serves older data. Near (`REDIS_NEAR_CACHE`,
//! `#[cached(near = true)]`): a lookup answers from the near copy with no round
//! trip while Redis has not pushed an invalidation over its key (see `near` for
//! when a copy may be served, `tracking` for the pushes, the fill race and when
//! everything is forgotten). The invalidating instance makes its own copies stale
//! before and after Redis records the invalidation, so it reads its own writes;
//! the others stop serving the old value when the push reaches them, and never
//! later than `REDIS_NEAR_CACHE_MAX_AGE`. Waiters of a single flight and stores
//! are checked on Redis in both modes.
//!
//! # Redis Cluster
//!
//! With `REDIS_CLUSTER=true` the store is 32 *stripes*, each a complete
//! single-node layout under one hash tag (so every script's keys share a slot:
//! never `CROSSSLOT`), spread evenly over the slot space; an entry's stripe is a
//! hash of its key (see `layout`, "In a cluster", for the keys and what it
//! costs). Each stripe keeps every rule above on its own: its epoch, its
//! versions, its check on every new connection and after `NOSCRIPT`, so a master
//! that restarts or fails over makes its stripes' entries cold, and only those.
//! An invalidation writes every stripe at once (32 scripts, O(1) in the
//! entries) and returns once all recorded it; one that some stripe did not
//! record is applied locally and replayed, as on one Redis. The store connects to
//! each master itself, one checked connection each (see `topology` for why not
//! redis-rs's cluster client, and when the routes are read again); a master that
//! stops answering opens the breaker for the whole store, which serves from the
//! fallback until the cluster covers every stripe again and each stripe is
//! checked where it now lives. Near mode needs one server's tracking and stays
//! off (strict) in a cluster; the lease and its wake-ups work unchanged (a
//! cluster sends every `PUBLISH` to every node).

mod breaker;
mod call;
mod connect;
mod header;
mod layout;
pub(crate) mod lease;
mod link;
mod near;
mod recover;
mod refusal;
mod restart;
mod scripts;
mod slot;
mod topology;
mod tracking;
pub(crate) mod wake;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;

use breaker::Breaker;
pub use breaker::RedisHealth;

use super::memory::MemoryStore;
use super::{Entry, Lookup, Source, Stamp};
use crate::key::CacheKey;
use call::Written;
use header::Header;
use topology::Topology;
use tracking::NearState;

/// The longest an entry lives in the fallback.
const FALLBACK_TTL: Duration = Duration::from_secs(60);

/// The Redis mode's store.
#[derive(Debug)]
pub(crate) struct RedisStore {
    me: Weak<RedisStore>,
    /// The stripes and the links their data goes through: one Redis, or the
    /// masters of a cluster.
    topology: Topology,
    fallback: Arc<MemoryStore>,
    /// `REDIS_MEMORY_FALLBACK`: whether values computed while the breaker is
    /// open are kept in `fallback` (and so served) at all.
    memory_fallback: bool,
    /// Values recently read or written: validated against Redis on every strict
    /// lookup, served on their own to near functions (see `near`, `tracking`).
    near: Arc<NearState>,
    breaker: Breaker,
    probing: AtomicBool,
    timeout: Duration,
    version_ttl_ms: u64,
    epoch_ttl_ms: u64,
    /// This instance's random token, for the identity of an epoch it creates.
    token: String,
    /// Set once Redis rejected the `allow-oom` flag (before 7.0).
    unflagged_scripts: AtomicBool,
    /// Set once the warning that `INFO` is refused was logged.
    server_unknown_logged: AtomicBool,
    /// Set while a refused store has been logged and no store succeeded since.
    store_refusal_logged: AtomicBool,
    /// Invalidations that returned before Redis recorded them.
    invalidations_refused: AtomicU64,
    url_for_logs: String,
    /// `REDIS_DISTRIBUTED_LOCK` and `REDIS_LOCK_LEASE` (see `lease`).
    lock: bool,
    lease: Duration,
    /// Leases asked for (part of each token).
    leases_taken: AtomicU64,
    /// The wake-up subscription and this process's waiters (see `wake`).
    wakes: Arc<wake::Wakes>,
}

impl RedisStore {
    /// Drops the connection if it is not a tracked one, so that the next call
    /// opens one.
    fn replace_connection(&self) {
        for link in self.topology.links() {
            link.replace_if_plain();
        }
    }

    /// Whether Redis is in use, and its changes.
    pub(crate) fn health(&self) -> watch::Receiver<RedisHealth> {
        self.breaker.subscribe()
    }

    /// The fallback's usage.
    pub(crate) fn fallback(&self) -> &MemoryStore {
        &self.fallback
    }

    /// Invalidations that returned before Redis recorded them (see `refusal`,
    /// "What the store does about it").
    pub(crate) fn invalidations_refused(&self) -> u64 {
        self.invalidations_refused.load(Ordering::Relaxed)
    }

    /// The fresh entry under `key`, or the stamp to compute one under. `near`:
    /// the function's `near = ...` (`None`: `REDIS_NEAR_CACHE`); a near function
    /// is answered from the near copy without a round trip when it may be (see
    /// `near`).
    pub(crate) async fn lookup(&self, key: &CacheKey, near: Option<bool>) -> Lookup {
        if self.breaker.is_open() {
            return self.fallback.lookup(key);
        }
        let wants_near = near.unwrap_or(self.near.default);
        let near = self.near.copies.get(key.full());
        if wants_near {
            if self.near.live() {
                if let Some(copy) = &near
                    && self.near_hit(copy, key)
                {
                    self.near.hits.increment(1);
                    return Lookup::Hit(Arc::clone(&copy.entry));
                }
            } else if !self.near.refused() {
                // Near hits wanted, and not possible on this connection: a store
                // that started strict meets its first near function, or the
                // tracked connection is being replaced. The next call opens (and
                // arms) a tracked connection (see `tracking`).
                self.near.want();
                self.replace_connection();
            }
        }
        let sent = self.sent();
        let (known_header, known_len) = match &near {
            Some(near) => (&near.header[..], near.len),
            None => (&[][..], 0),
        };
        let stripe = self.topology.stripe(key);
        let mut command = self.script_command(&scripts::READ, key, stripe);
        command
            .arg(known_header)
            .arg(known_len)
            .arg(self.token.as_str())
            .arg(self.epoch_ttl_ms)
            .arg(self.version_ttl_ms);
        let reply = self
            .call(stripe, |mut conn| async move {
                self.script(&command, &mut conn, stripe).await
            })
            .await;
        match (reply, near) {
            (None, _) => self.fallback.lookup(key),
            (Some(redis::Value::BulkString(value)), _) => self.hit_from(key, value, sent),
            (Some(redis::Value::Okay | redis::Value::SimpleString(_)), Some(near)) => {
                // Redis holds the very value this process has: no need to send it.
                if near.entry.expired_for().is_some() {
                    // Kept for its stale window (see `stale`).
                    return Lookup::Stale(Arc::clone(&near.entry));
                }
                if wants_near && !self.near_hit(&near, key) {
                    self.renew_near(key, &near, sent);
                }
                Lookup::Hit(Arc::clone(&near.entry))
            }
            (Some(redis::Value::Array(reply)), _) => {
                if let [
                    redis::Value::Int(value),
                    redis::Value::BulkString(id),
                    repaired @ ..,
                ] = &reply[..]
                    && let Some(epoch) = header::parse_epoch_id(id)
                {
                    if !repaired.is_empty() {
                        self.repaired(key, repaired);
                    }
                    return Lookup::Miss(Stamp::redis(u64::try_from(*value).unwrap_or(0), epoch));
                }
                tracing::warn!(target: "cache", ?reply, "unexpected reply to the read script");
                self.fallback.lookup(key)
            }
            (Some(redis::Value::Int(value)), _) => {
                // No epoch, and Redis refused to create one: a stamp nothing accepts.
                Lookup::Miss(Stamp::redis(u64::try_from(value).unwrap_or(0), 0))
            }
            (Some(other), _) => {
                tracing::warn!(target: "cache", reply = ?other, "unexpected reply to the read script");
                self.fallback.lookup(key)
            }
        }
    }

    /// The READ script found keys of the cache's metadata holding something it
    /// did not write, and repaired them (`repaired`: their indices in the
    /// script's `KEYS`): one warning naming them.
    fn repaired(&self, key: &CacheKey, repaired: &[redis::Value]) {
        let mut names = Vec::new();
        self.topology
            .layout(key)
            .script_keys(key, |name| names.push(name.to_owned()));
        let keys: Vec<&str> = repaired
            .iter()
            .filter_map(|index| match index {
                redis::Value::Int(i) => usize::try_from(*i).ok(),
                _ => None,
            })
            .filter_map(|i| names.get(i.checked_sub(1)?).map(String::as_str))
            .collect();
        tracing::warn!(
            target: "cache",
            url = %self.url_for_logs,
            keys = ?keys,
            "Redis held something the cache did not write in {keys:?} (not a number, or a key of another type): treated as lost and repaired above every stamp issued before, so nothing cached before is served; the entries under it are recomputed"
        );
    }

    /// `true` if nothing covering `key` was invalidated after `stamp`, and the
    /// epoch `stamp` was read from is still Redis's.
    pub(crate) async fn is_fresh(&self, key: &CacheKey, stamp: Stamp) -> bool {
        match stamp.source {
            Source::Memory => self.fallback.is_fresh(key, stamp),
            Source::Redis if self.breaker.is_open() || stamp.epoch == 0 => false,
            Source::Redis => {
                let stripe = self.topology.stripe(key);
                let mut command = self.script_command(&scripts::FRESH, key, stripe);
                command
                    .arg(stamp.value)
                    .arg(&header::epoch_id(stamp.epoch)[..]);
                let reply = self
                    .call(stripe, |mut conn| async move {
                        self.script::<i64>(&command, &mut conn, stripe).await
                    })
                    .await;
                reply == Some(1)
            }
        }
    }

    /// Stores `entry` under `key` unless an invalidation since its stamp covers
    /// it (or Redis has lost the epoch it was stamped under). The stored entry
    /// itself becomes the near copy, so what its caller kept decoded in it (a
    /// typed value) serves the next hits.
    pub(crate) async fn put(&self, key: &CacheKey, entry: &Arc<Entry>) {
        let (bytes, stamp, ttl) = (entry.bytes.clone(), entry.stamp, entry.ttl);
        match stamp.source {
            Source::Memory => {
                // Without the memory fallback nothing is kept while Redis is out
                // of use: every call computes, and no instance serves what
                // another one's write made stale meanwhile.
                if self.breaker.is_open() && self.memory_fallback {
                    // What the caller kept decoded (a typed value, a parsed
                    // response) stays with the fallback's copy: its hits clone it
                    // rather than decode the bytes.
                    let ttl = ttl.min(FALLBACK_TTL);
                    let copy = match entry.decoded.get() {
                        Some(kept) => {
                            Entry::kept(bytes, Arc::clone(kept), entry.kept_size, stamp, ttl)
                        }
                        None => Entry::new(bytes, stamp, ttl),
                    };
                    self.fallback.put(key, copy);
                }
            }
            Source::Redis if self.breaker.is_open() => {}
            Source::Redis if stamp.epoch == 0 => {
                tracing::debug!(target: "cache", "value computed while Redis had no epoch: not stored");
            }
            Source::Redis => {
                let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                // Redis keeps it for its stale window past its expiry (see `stale`).
                let kept_ms = ttl_ms
                    .saturating_add(u64::try_from(entry.window.as_millis()).unwrap_or(u64::MAX));
                let header = Header {
                    stamp: stamp.value,
                    epoch: stamp.epoch,
                    ttl_ms,
                    stored_ms: now_ms(),
                    delta_us: u64::try_from(entry.delta.as_micros()).unwrap_or(u64::MAX),
                }
                .encode();
                let len = header::LEN + bytes.len();
                let mut value = Vec::with_capacity(len);
                value.extend_from_slice(&header);
                value.extend_from_slice(&bytes);
                // `entry` was made before the write, so it expires no later than
                // Redis's copy.
                let sent = self.sent();
                let stripe = self.topology.stripe(key);
                let mut command = match stamp.lease {
                    0 => self.script_command(&scripts::PUT, key, stripe),
                    _ => self.leased_script_command(&scripts::PUT_LEASED, key, stripe),
                };
                command
                    .arg(stamp.value)
                    .arg(kept_ms)
                    .arg(value)
                    .arg(self.epoch_ttl_ms)
                    .arg(header::epoch_text(&header));
                if stamp.lease != 0 {
                    command.arg(lease::token_text(stamp.lease));
                }
                let stored = self
                    .call_write(stripe, |mut conn| async move {
                        self.script::<i64>(&command, &mut conn, stripe).await
                    })
                    .await;
                match stored {
                    Written::Done(1) => {
                        self.store_refusal_logged.store(false, Ordering::Relaxed);
                        self.remember_near(key, header, len, entry, sent);
                    }
                    Written::Done(0) => {
                        tracing::debug!(target: "cache", "value computed before an invalidation: not stored");
                    }
                    Written::Done(-2) => {
                        tracing::debug!(target: "cache", "value computed under a lease another process holds now (or nobody does): not stored");
                    }
                    Written::Done(_) => {
                        tracing::debug!(target: "cache", "value computed under an epoch Redis no longer has (flushed or restarted since): not stored");
                    }
                    Written::Refused(code) => {
                        if !self.store_refusal_logged.swap(true, Ordering::Relaxed) {
                            tracing::warn!(
                                target: "cache",
                                url = %self.url_for_logs,
                                code,
                                "Redis refuses to store values ({code}; OOM: maxmemory reached): they are served, not stored, until it accepts them again. Redis stays in use; raise maxmemory or lower CACHE_DEFAULT_EXPIRE"
                            );
                        }
                    }
                    Written::Failed => {}
                }
            }
        }
    }

    /// Invalidates `prefix` (normalized), or everything. Never fails the caller:
    /// when Redis does not take it, it is applied to the fallback and replayed.
    ///
    /// The near copies under `prefix` are made stale before Redis is asked and
    /// again once it answered: a READ of this process that Redis ran before the
    /// invalidation cannot refill them with the old value (its near stamp is older
    /// than the second version), so this process reads its own writes.
    pub(crate) async fn invalidate(&self, prefix: Option<&str>) {
        match prefix {
            Some(prefix) => self.fallback.invalidate(prefix),
            None => self.fallback.flush(),
        }
        self.invalidate_near(prefix);
        self.invalidate_shared(prefix).await;
        self.invalidate_near(prefix);
    }

    fn invalidate_near(&self, prefix: Option<&str>) {
        match prefix {
            Some(prefix) => self.near.invalidate(prefix),
            None => self.near.flush(),
        }
    }

    /// The part of [`RedisStore::invalidate`] that goes to Redis (or is replayed).
    async fn invalidate_shared(&self, prefix: Option<&str>) {
        let namespace = prefix.unwrap_or("*");
        // Remembered only while the breaker is open, checked under the same lock
        // the probe closes it under: either the probe replays it before closing,
        // or the breaker is closed and it goes to Redis now.
        if self.breaker.remember_if_open(prefix) {
            self.invalidations_refused.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                target: "cache",
                namespace,
                "Redis is not in use: invalidation applied locally, to be replayed to Redis"
            );
            return;
        }
        let why = match self.invalidate_remote(prefix).await {
            Written::Done(()) => return,
            Written::Refused(code) => code,
            Written::Failed => "no answer",
        };
        self.invalidations_refused.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            target: "cache",
            namespace,
            url = %self.url_for_logs,
            reason = why,
            "Redis did not record an invalidation ({why}): applied locally; this instance serves from its memory fallback until Redis records it, and other instances keep serving what Redis holds for this namespace until then"
        );
        self.breaker.remember(prefix);
        self.trip();
    }

    /// Records an invalidation in every stripe (one on a single Redis), all at
    /// once: done when every stripe recorded it. Invalidating everything rotates
    /// each stripe's epoch (a new identity): every entry and stamp of the
    /// previous one is refused whatever becomes of the "all" version afterwards
    /// (see "Metadata the cache did not write"); the rotation also raises that
    /// version, which is how the near caches of other instances learn of it.
    async fn invalidate_remote(&self, prefix: Option<&str>) -> Written<()> {
        let stripes =
            (0..self.topology.shards.len()).map(|stripe| self.invalidate_stripe(stripe, prefix));
        let mut outcome = Written::Done(());
        for written in futures_util::future::join_all(stripes).await {
            outcome = match (outcome, written) {
                (Written::Failed, _) | (_, Written::Failed) => Written::Failed,
                (Written::Refused(code), _) | (_, Written::Refused(code)) => Written::Refused(code),
                (Written::Done(()), Written::Done(())) => Written::Done(()),
            };
        }
        outcome
    }

    /// One invalidation script call on `stripe`.
    async fn invalidate_stripe(&self, stripe: usize, prefix: Option<&str>) -> Written<()> {
        if prefix.is_none() {
            return match self
                .call_write_retrying(stripe, |mut conn| async move {
                    self.rotate(&mut conn, stripe, true).await
                })
                .await
            {
                Written::Done(_) => Written::Done(()),
                Written::Refused(code) => Written::Refused(code),
                Written::Failed => Written::Failed,
            };
        }
        let layout = &self.topology.shards[stripe].layout;
        let epoch = layout.epoch();
        let version = layout.version(prefix);
        let command = |script: &redis::Script| {
            let mut command = redis::cmd("EVALSHA");
            command
                .arg(script.get_hash())
                .arg(2)
                .arg(&epoch)
                .arg(&version)
                .arg(self.version_ttl_ms)
                .arg(self.epoch_ttl_ms)
                .arg(self.token.as_str());
            command
        };
        let flagged = &command(&scripts::INVALIDATE);
        let unflagged = &command(&scripts::INVALIDATE_UNFLAGGED);
        let written = self
            .call_write_retrying(stripe, |mut conn| async move {
                if !self.unflagged_scripts.load(Ordering::Relaxed) {
                    match self.script::<u64>(flagged, &mut conn, stripe).await {
                        Err(error) if refusal::flags_unsupported(&error) => {
                            self.flags_unsupported(&error);
                        }
                        // Loading the scripts (after a rotation) found that this
                        // Redis does not know the flag: only the other one is loaded.
                        Err(error)
                            if restart::is_noscript(&error)
                                && self.unflagged_scripts.load(Ordering::Relaxed) => {}
                        other => return other,
                    }
                }
                self.script::<u64>(unflagged, &mut conn, stripe).await
            })
            .await;
        match written {
            Written::Done(_) => Written::Done(()),
            Written::Refused(code) => Written::Refused(code),
            Written::Failed => Written::Failed,
        }
    }

    /// Redis rejected the `allow-oom` flag: invalidations go without it from now on.
    fn flags_unsupported(&self, error: &redis::RedisError) {
        if !self.unflagged_scripts.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "cache",
                url = %self.url_for_logs,
                %error,
                "this Redis does not support script flags (Redis before 7.0): invalidations cannot be recorded while it is full (maxmemory reached); they are then applied locally and replayed. Use Redis 7 or keep memory to spare"
            );
        }
    }
}

/// Milliseconds since 1970 (for the age of Redis entries).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
