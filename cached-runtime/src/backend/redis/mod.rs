//! The Redis store: a cache shared by every process using the same Redis.
//!
//! # Contents
//! - [Layout](#layout)
//! - [One round trip per lookup](#one-round-trip-per-lookup)
//! - [Losing the epoch](#losing-the-epoch)
//! - [Restarts and failovers](#restarts-and-failovers)
//! - [Failures](#failures)
//! - [A Redis that refuses writes](#a-redis-that-refuses-writes)
//! - [Across processes](#across-processes)
//!
//! # Layout
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `{prefix}:{rest}` (an entry) | stamp (20 ASCII digits) · epoch identity (16 ASCII hex digits) · TTL in ms · time stored (ms since 1970) (two big-endian u64) · the codec bytes (see `header`) | the entry's TTL |
//! | `{prefix}#v:{namespace}` (a namespace version) | the epoch at its last invalidation | `CACHE_MAX_TTL` + 60 s |
//! | `{prefix}#all` | the epoch at the last `invalidate_all` | `CACHE_MAX_TTL` + 60 s |
//! | `{prefix}#epoch` | `{identity}:{counter}:{server}`: 16 hex digits chosen when the key is created, the counter, and 16 hex digits naming the server it was created or last checked on (absent when `INFO` is refused) | 2 × `CACHE_MAX_TTL` + 60 s, renewed by every write |
//!
//! Every key has a TTL, so nothing the cache writes grows without bound. Versions
//! outlive every entry they could make stale (entries live at most `CACHE_MAX_TTL`,
//! and an entry is only written if it is fresh at that moment). The epoch can only
//! expire when nothing was written for twice the longest TTL, by which time every
//! entry is gone. The counter never drops below the server clock in microseconds.
//! Version keys must not be evicted early: every key the cache writes has a TTL, so
//! any eviction policy but `noeviction` may take them; run the cache's Redis with
//! `maxmemory-policy noeviction` (or enough memory). A warning at start-up says so
//! otherwise.
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
//! # Failures
//!
//! Every command has a timeout (`REDIS_TIMEOUT_MS`). After three consecutive
//! failures the circuit breaker opens (see `breaker`): requests are served from the
//! in-memory fallback (entries live at most 60 s there) without waiting on Redis,
//! and a probe pings Redis every 250 ms. When Redis answers, the invalidations made
//! meanwhile are replayed, the fallback is flushed, and Redis serves again; the
//! breaker stays open while a replay fails, even if Redis answers `PING`. A failed
//! invalidation opens the breaker at once. Redis unreachable at start-up: a
//! warning, and the same path. No request ever fails because of Redis. A broken
//! connection is dropped; the next call opens another, which is checked (see
//! [Restarts and failovers](#restarts-and-failovers)) before data goes through
//! it, and the probe only closes the breaker on a checked connection.
//!
//! # A Redis that refuses writes
//!
//! A Redis that answers with `-OOM` (full under `noeviction`), `-READONLY` (a
//! replica), `-NOPERM` (an ACL), `-MISCONF` or `-NOREPLICAS` is up (see `refusal`):
//!
//! - a store it refuses is not stored (a warning, once until a store succeeds
//!   again) and does not count toward the breaker: the value is served, and the
//!   next call computes it again;
//! - invalidations are flagged `allow-oom` (Redis 7 script flags), so a full Redis
//!   still records them: an invalidation writes a few bytes. Redis 6 does not know
//!   the flag; the cache then uses the same script without it (a warning, once),
//!   and a full Redis 6 refuses invalidations;
//! - an invalidation Redis refuses anyway (a replica, an ACL, a full Redis 6) is
//!   logged at `error` with its namespace, counted in
//!   [`CacheStats::invalidations_refused`](crate::cache::CacheStats), applied to
//!   this instance's fallback and remembered; the breaker opens, so *this* instance
//!   serves from its fallback and never reads what it invalidated from Redis again
//!   until the replay has succeeded.
//!
//! What other instances can know: nothing, until the replay succeeds. They read
//! from Redis, and Redis does not have the invalidation, so they keep serving what
//! Redis holds for that namespace (until its TTL) — the instance that invalidated
//! cannot tell them through a Redis that refuses its writes. That is why
//! invalidations are flagged `allow-oom`, and why the counter and the error log
//! exist: alert on them.
//!
//! # Across processes
//!
//! Entries and invalidations are shared. Concurrent misses on one key run the
//! function once *per process*: two processes missing at the same moment both
//! compute (and both store the same fresh value); there is no distributed lock.

mod breaker;
mod header;
mod link;
mod refusal;
mod restart;
mod scripts;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

pub use breaker::RedisHealth;
use breaker::{Breaker, Pending};

use super::memory::MemoryStore;
use super::{Entry, Lookup, Source, Stamp};
use crate::config::Config;
use crate::key::CacheKey;
use crate::key::normalize::prefixes;
use header::Header;
use link::{Conn, Link};

/// How often the probe pings Redis while the breaker is open.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// The longest an entry lives in the fallback.
const FALLBACK_TTL: Duration = Duration::from_secs(60);

/// Bytes before the codec bytes in an entry's value (see `header`).
const VALUE_HEADER: usize = header::LEN;

/// A value this process read from (or wrote to) Redis, with its header: the near
/// copy that spares fetching the value again while Redis says it is current.
#[derive(Debug)]
struct Near {
    header: [u8; VALUE_HEADER],
    len: usize,
    entry: Arc<Entry>,
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

/// The Redis mode's store.
#[derive(Debug)]
pub(crate) struct RedisStore {
    me: Weak<RedisStore>,
    /// `None` when the client could not be set up (a bad URL).
    link: Option<Link>,
    fallback: Arc<MemoryStore>,
    /// Values recently read or written, validated against Redis on every lookup
    /// (bounded by a quarter of `CACHE_MAX_MEMORY`).
    near: moka::sync::Cache<Arc<str>, Arc<Near>>,
    breaker: Breaker,
    probing: AtomicBool,
    prefix: String,
    timeout: Duration,
    version_ttl_ms: u64,
    epoch_ttl_ms: u64,
    /// This instance's random token, for the identity of an epoch it creates.
    token: String,
    /// Set once Redis rejected the `allow-oom` flag (before 7.0).
    unflagged_scripts: AtomicBool,
    /// How many times the data scripts were loaded (after a rotation), and on
    /// which connection last (see `restart`).
    scripts_loaded: AtomicU64,
    scripts_loaded_on: AtomicU64,
    /// Set once the warning that `INFO` is refused was logged.
    server_unknown_logged: AtomicBool,
    /// Set while a refused store has been logged and no store succeeded since.
    store_refusal_logged: AtomicBool,
    /// Invalidations that returned before Redis recorded them.
    invalidations_refused: AtomicU64,
    url_for_logs: String,
}

/// How a write to Redis ended.
enum Written<T> {
    /// Redis did it.
    Done(T),
    /// Redis answered and refused it (the error code): Redis is up.
    Refused(&'static str),
    /// No answer, a broken connection, an unexpected error: counted by the breaker.
    Failed,
}

impl RedisStore {
    /// Connects (bounded by `REDIS_CONNECT_TIMEOUT_MS`). Redis unreachable is a
    /// warning and the memory fallback, never an error.
    pub(crate) async fn connect(config: &Config) -> Arc<RedisStore> {
        let redis = config.redis();
        let url_for_logs = redis.redacted_url();
        let link = match redis::Client::open(redis.connection_url()) {
            Ok(client) => Some(Link::new(client, redis.connect_timeout(), redis.timeout())),
            Err(error) => {
                tracing::error!(target: "cache", url = %url_for_logs, %error, "the Redis URL is not usable (REDIS_URL / REDIS_HOST); using the memory fallback");
                None
            }
        };
        let max_ttl_ms = u64::try_from(config.max_ttl().as_millis()).unwrap_or(u64::MAX / 4);
        let store = Arc::new_cyclic(|me| RedisStore {
            me: me.clone(),
            link,
            fallback: MemoryStore::new(config.max_memory(), config.max_ttl()),
            near: moka::sync::Cache::builder()
                .max_capacity(config.max_memory() / 4)
                .weigher(|key: &Arc<str>, near: &Arc<Near>| {
                    u32::try_from(key.len() + near.len + super::memory::ENTRY_OVERHEAD)
                        .unwrap_or(u32::MAX)
                })
                .expire_after(NearTtl)
                .build(),
            breaker: Breaker::new(false),
            probing: AtomicBool::new(false),
            prefix: config.prefix().to_owned(),
            timeout: redis.timeout(),
            version_ttl_ms: max_ttl_ms + 60_000,
            epoch_ttl_ms: max_ttl_ms * 2 + 60_000,
            token: random_token(),
            unflagged_scripts: AtomicBool::new(false),
            scripts_loaded: AtomicU64::new(0),
            scripts_loaded_on: AtomicU64::new(0),
            server_unknown_logged: AtomicBool::new(false),
            store_refusal_logged: AtomicBool::new(false),
            invalidations_refused: AtomicU64::new(0),
            url_for_logs,
        });
        match store.check(redis.connect_timeout(), config).await {
            Ok(()) => {
                tracing::info!(target: "cache", url = %store.url_for_logs, "connected to Redis");
                store.warn_about_eviction().await;
            }
            Err(problem) => {
                tracing::warn!(
                    target: "cache",
                    url = %store.url_for_logs,
                    "Redis is not usable at start-up: {problem}; serving from the memory fallback until it answers"
                );
                store.trip();
            }
        }
        store
    }

    /// Pings Redis; the reason it is not usable, in words that name the setting.
    async fn check(&self, limit: Duration, config: &Config) -> Result<(), String> {
        let Some(link) = &self.link else {
            return Err("the client could not be set up".to_owned());
        };
        match self.ping(link, limit).await {
            Ok(()) => Ok(()),
            Err(Some(error)) => Err(describe(&error, config)),
            Err(None) => Err(format!(
                "no answer within REDIS_CONNECT_TIMEOUT_MS ({} ms)",
                limit.as_millis()
            )),
        }
    }

    /// `PING` (no data touched, so on any connection, checked or not); the error,
    /// or `None` for no answer within `limit`.
    async fn ping(&self, link: &Link, limit: Duration) -> Result<(), Option<redis::RedisError>> {
        let mut used = None;
        let attempt = async {
            let (mut conn, _) = link.any().await?;
            used = Some(conn.id);
            redis::cmd("PING")
                .query_async::<String>(&mut conn.redis)
                .await
        };
        match tokio::time::timeout(limit, attempt).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                if let Some(id) = used {
                    link.after_error(id, &error);
                }
                Err(Some(error))
            }
            Err(_) => Err(None),
        }
    }

    async fn warn_about_eviction(&self) {
        let Some(link) = &self.link else {
            return;
        };
        let query = async {
            let (mut conn, _) = link.any().await?;
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory*")
                .query_async::<Vec<String>>(&mut conn.redis)
                .await
        };
        let Ok(Ok(reply)) = tokio::time::timeout(self.timeout, query).await else {
            return;
        };
        let setting = |name: &str| {
            reply
                .chunks(2)
                .find(|pair| pair.first().is_some_and(|n| n == name))
                .and_then(|pair| pair.get(1).cloned())
        };
        let limited = setting("maxmemory").is_some_and(|m| m != "0");
        let policy = setting("maxmemory-policy").unwrap_or_default();
        if limited && policy != "noeviction" {
            tracing::warn!(
                target: "cache",
                policy = %policy,
                "under memory pressure this Redis may evict the cache's namespace versions (every key the cache writes has a TTL), which would let invalidated entries be served again; use maxmemory-policy noeviction for the cache's Redis, or give it memory to spare"
            );
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

    /// Invalidations that returned before Redis recorded them (see the module
    /// docs, "A Redis that refuses writes").
    pub(crate) fn invalidations_refused(&self) -> u64 {
        self.invalidations_refused.load(Ordering::Relaxed)
    }

    fn entry_key(key: &CacheKey) -> &str {
        key.full()
    }

    fn version_key(&self, prefix: Option<&str>) -> String {
        let (tag, rest) = match prefix {
            Some(prefix) => ("#v:", prefix),
            None => ("#all", ""),
        };
        let mut key = String::with_capacity(self.prefix.len() + tag.len() + rest.len());
        key.push_str(&self.prefix);
        key.push_str(tag);
        key.push_str(rest);
        key
    }

    fn epoch_key(&self) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 6);
        key.push_str(&self.prefix);
        key.push_str("#epoch");
        key
    }

    /// `EVALSHA <script> <n> <entry> <epoch> <all> <versions of key's prefixes...>`,
    /// written straight into the command (no key strings allocated).
    fn script_command(&self, script: &redis::Script, key: &CacheKey) -> redis::Cmd {
        let mut command = redis::cmd("EVALSHA");
        command.arg(script.get_hash());
        command.arg(3 + prefixes(key.rest()).count());
        command.arg(Self::entry_key(key));
        let mut scratch = String::with_capacity(self.prefix.len() + key.rest().len() + 8);
        scratch.push_str(&self.prefix);
        scratch.push_str("#epoch");
        command.arg(scratch.as_str());
        scratch.truncate(self.prefix.len());
        scratch.push_str("#all");
        command.arg(scratch.as_str());
        for prefix in prefixes(key.rest()) {
            scratch.truncate(self.prefix.len());
            scratch.push_str("#v:");
            scratch.push_str(prefix);
            command.arg(scratch.as_str());
        }
        command
    }

    /// Runs a read with the timeout, feeding the breaker: every error counts.
    async fn call<T, F>(&self, command: impl FnOnce(Conn) -> F) -> Option<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        match self.run(false, command).await {
            Written::Done(value) => Some(value),
            Written::Refused(_) | Written::Failed => None,
        }
    }

    /// Runs a write with the timeout, feeding the breaker, except when Redis
    /// answers by refusing the write (see `refusal`): it is up.
    async fn call_write<T, F>(&self, command: impl FnOnce(Conn) -> F) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        self.run(true, command).await
    }

    /// Runs `command` on a checked connection (see `restart`), with the timeout.
    async fn run<T, F>(&self, refusals_answer: bool, command: impl FnOnce(Conn) -> F) -> Written<T>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let Some(link) = &self.link else {
            return Written::Failed;
        };
        let mut used = None;
        let attempt = async {
            let conn = self.usable(link).await?;
            used = Some(conn.id);
            command(conn).await
        };
        let error = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => {
                self.breaker.success();
                return Written::Done(value);
            }
            Ok(Err(error)) => error,
            Err(_) => {
                self.failed("timed out (REDIS_TIMEOUT_MS)");
                return Written::Failed;
            }
        };
        if let Some(id) = used {
            link.after_error(id, &error);
        }
        match refusal::write_refusal(&error) {
            Some(code) if refusals_answer => {
                self.breaker.success();
                tracing::debug!(target: "cache", url = %self.url_for_logs, %error, "Redis refused a write");
                Written::Refused(code)
            }
            _ => {
                self.failed(&error.to_string());
                Written::Failed
            }
        }
    }

    fn failed(&self, what: &str) {
        tracing::debug!(target: "cache", url = %self.url_for_logs, error = what, "Redis call failed");
        if self.breaker.failure() {
            self.fallback_opened();
            tracing::warn!(
                target: "cache",
                url = %self.url_for_logs,
                error = what,
                "Redis keeps failing; serving from the memory fallback until it answers again"
            );
            self.start_probe();
        }
    }

    /// Opens the breaker (if it is not) and makes sure a probe runs.
    fn trip(&self) {
        if self.breaker.trip() {
            self.fallback_opened();
        }
        self.start_probe();
    }

    /// The fallback starts every outage empty: whatever it held from an earlier
    /// one missed the invalidations other instances made since.
    fn fallback_opened(&self) {
        self.fallback.flush();
    }

    fn start_probe(&self) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.me.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(probe(me));
            }
            Err(_) => self.probing.store(false, Ordering::Release),
        }
    }

    /// The fresh entry under `key`, or the stamp to compute one under.
    pub(crate) async fn lookup(&self, key: &CacheKey) -> Lookup {
        if self.breaker.is_open() {
            return self.fallback.lookup(key);
        }
        let near = self.near.get(key.full());
        let (known_header, known_len) = match &near {
            Some(near) => (&near.header[..], near.len),
            None => (&[][..], 0),
        };
        let mut command = self.script_command(&scripts::READ, key);
        command
            .arg(known_header)
            .arg(known_len)
            .arg(self.token.as_str())
            .arg(self.epoch_ttl_ms);
        let reply = self
            .call(|mut conn| async move { self.script(&command, &mut conn).await })
            .await;
        let value = match reply {
            None => return self.fallback.lookup(key),
            Some(redis::Value::BulkString(value)) => value,
            Some(redis::Value::Okay | redis::Value::SimpleString(_)) if near.is_some() => {
                // Redis holds the very value this process has: no need to send it.
                return match near {
                    Some(near) => Lookup::Hit(Arc::clone(&near.entry)),
                    None => self.fallback.lookup(key),
                };
            }
            Some(redis::Value::Array(reply)) => {
                if let [redis::Value::Int(value), redis::Value::BulkString(id)] = &reply[..]
                    && let Some(epoch) = header::parse_epoch_id(id)
                {
                    return Lookup::Miss(Stamp::redis(u64::try_from(*value).unwrap_or(0), epoch));
                }
                tracing::warn!(target: "cache", ?reply, "unexpected reply to the read script");
                return self.fallback.lookup(key);
            }
            Some(redis::Value::Int(value)) => {
                // No epoch, and Redis refused to create one: a stamp nothing accepts.
                return Lookup::Miss(Stamp::redis(u64::try_from(value).unwrap_or(0), 0));
            }
            Some(other) => {
                tracing::warn!(target: "cache", reply = ?other, "unexpected reply to the read script");
                return self.fallback.lookup(key);
            }
        };
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
        let mut known = [0u8; VALUE_HEADER];
        known.copy_from_slice(&value[..VALUE_HEADER]);
        let mut bytes = Bytes::from(value);
        let bytes = bytes.split_off(VALUE_HEADER);
        let entry = Arc::new(Entry::with_remaining(
            bytes,
            Stamp::redis(header.stamp, header.epoch),
            ttl,
            ttl.saturating_sub(age),
        ));
        self.remember_near(key, known, len, &entry);
        Lookup::Hit(entry)
    }

    fn remember_near(
        &self,
        key: &CacheKey,
        header: [u8; VALUE_HEADER],
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

    /// `true` if nothing covering `key` was invalidated after `stamp`, and the
    /// epoch `stamp` was read from is still Redis's.
    pub(crate) async fn is_fresh(&self, key: &CacheKey, stamp: Stamp) -> bool {
        match stamp.source {
            Source::Memory => self.fallback.is_fresh(key, stamp),
            Source::Redis if self.breaker.is_open() || stamp.epoch == 0 => false,
            Source::Redis => {
                let mut command = self.script_command(&scripts::FRESH, key);
                command
                    .arg(stamp.value)
                    .arg(&header::epoch_id(stamp.epoch)[..]);
                let reply = self
                    .call(|mut conn| async move { self.script::<i64>(&command, &mut conn).await })
                    .await;
                reply == Some(1)
            }
        }
    }

    /// Stores `bytes` unless an invalidation since `stamp` covers `key`, or the
    /// epoch `stamp` was read from is gone.
    pub(crate) async fn put(&self, key: &CacheKey, bytes: Bytes, stamp: Stamp, ttl: Duration) {
        match stamp.source {
            Source::Memory => {
                if self.breaker.is_open() {
                    self.fallback
                        .put(key, Entry::new(bytes, stamp, ttl.min(FALLBACK_TTL)));
                }
            }
            Source::Redis if self.breaker.is_open() => {}
            Source::Redis if stamp.epoch == 0 => {
                tracing::debug!(target: "cache", "value computed while Redis had no epoch: not stored");
            }
            Source::Redis => {
                let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let header = Header {
                    stamp: stamp.value,
                    epoch: stamp.epoch,
                    ttl_ms,
                    stored_ms: now_ms(),
                }
                .encode();
                let mut value = Vec::with_capacity(VALUE_HEADER + bytes.len());
                value.extend_from_slice(&header);
                let len = VALUE_HEADER + bytes.len();
                let entry = Arc::new(Entry::new(bytes.clone(), stamp, ttl));
                value.extend_from_slice(&bytes);
                let mut command = self.script_command(&scripts::PUT, key);
                command
                    .arg(stamp.value)
                    .arg(ttl_ms)
                    .arg(value)
                    .arg(self.epoch_ttl_ms)
                    .arg(&header[20..36]);
                let stored = self
                    .call_write(
                        |mut conn| async move { self.script::<i64>(&command, &mut conn).await },
                    )
                    .await;
                match stored {
                    Written::Done(1) => {
                        self.store_refusal_logged.store(false, Ordering::Relaxed);
                        self.remember_near(key, header, len, &entry);
                    }
                    Written::Done(0) => {
                        tracing::debug!(target: "cache", "value computed before an invalidation: not stored");
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
    pub(crate) async fn invalidate(&self, prefix: Option<&str>) {
        match prefix {
            Some(prefix) => self.fallback.invalidate(prefix),
            None => self.fallback.flush(),
        }
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

    /// One invalidation script call.
    async fn invalidate_remote(&self, prefix: Option<&str>) -> Written<()> {
        let epoch = self.epoch_key();
        let version = self.version_key(prefix);
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
        let flagged = command(&scripts::INVALIDATE);
        let unflagged = command(&scripts::INVALIDATE_UNFLAGGED);
        let written = self
            .call_write(|mut conn| async move {
                if !self.unflagged_scripts.load(Ordering::Relaxed) {
                    match self.script::<u64>(&flagged, &mut conn).await {
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
                self.script::<u64>(&unflagged, &mut conn).await
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

    /// Replays what the breaker remembered; on failure puts it back and opens the
    /// breaker. Returns `true` when nothing is left to replay.
    async fn replay(&self) -> bool {
        let pending = self.breaker.take_pending();
        let mut failed = Pending::default();
        if pending.all && !matches!(self.invalidate_remote(None).await, Written::Done(())) {
            failed.all = true;
        }
        for prefix in pending.namespaces {
            if failed.all
                || !failed.namespaces.is_empty()
                || !matches!(
                    self.invalidate_remote(Some(&prefix)).await,
                    Written::Done(())
                )
            {
                failed.namespaces.insert(prefix);
            }
        }
        if failed.all || !failed.namespaces.is_empty() {
            self.breaker.restore_pending(failed);
            self.trip();
            return false;
        }
        true
    }

    /// One probe: if Redis answers, replay, flush the fallback, close.
    async fn recover(&self) -> bool {
        let Some(link) = &self.link else {
            return false;
        };
        if self.ping(link, self.timeout).await.is_err() {
            return false;
        }
        // Redis answers; data only goes to it once the connection is checked (the
        // epoch rotated if Redis restarted or failed over meanwhile: see `restart`).
        if !matches!(
            tokio::time::timeout(self.timeout, self.usable(link)).await,
            Ok(Ok(_))
        ) {
            return false;
        }
        // The fallback missed other instances' invalidations: it must not serve
        // again after a later outage.
        self.fallback.flush();
        // Close only once nothing is left to replay (checked under the lock that
        // invalidations remember under), so no invalidation returns before Redis
        // has it while lookups already go to Redis.
        for _ in 0..10 {
            if !self.replay().await {
                return false;
            }
            if self.breaker.close_if_nothing_pending() {
                tracing::info!(target: "cache", url = %self.url_for_logs, "Redis answers again; serving from Redis");
                return true;
            }
        }
        false
    }
}

async fn probe(store: Weak<RedisStore>) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(store) = store.upgrade() else { return };
        if !store.breaker.is_open() || store.recover().await {
            store.probing.store(false, Ordering::Release);
            // A trip between the check and here would have found `probing` set.
            if store.breaker.is_open() {
                store.start_probe();
            }
            return;
        }
    }
}

/// 16 random hex digits: this instance's part in the identity of an epoch it
/// creates (see "Losing the epoch").
fn random_token() -> String {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one((
        std::process::id(),
        std::time::SystemTime::now(),
        std::thread::current().id(),
    ));
    format!("{seed:016x}")
}

/// Milliseconds since 1970 (for the age of Redis entries).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why Redis refused, naming the setting at fault (never the password).
fn describe(error: &redis::RedisError, config: &Config) -> String {
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("wrongpass")
        || lower.contains("noauth")
        || lower.contains("invalid password")
        || lower.contains("invalid username-password")
        || matches!(error.kind(), redis::ErrorKind::AuthenticationFailed)
    {
        "Redis refused the credentials: check REDIS_PASSWORD (or the user and password in REDIS_URL)".to_owned()
    } else if lower.contains("db index is out of range") || lower.contains("invalid db index") {
        format!(
            "REDIS_DB={} is out of range for this Redis server (see its `databases` setting)",
            config.redis().db()
        )
    } else if lower.contains("connection refused") {
        "nothing accepts connections there: check REDIS_HOST and REDIS_PORT (or REDIS_URL)"
            .to_owned()
    } else {
        format!(
            "it did not answer like a Redis server ({})",
            redact(&text, config)
        )
    }
}

/// `text` with the password, if any, replaced.
fn redact(text: &str, config: &Config) -> String {
    match config.redis().password() {
        Some(password) if !password.expose().is_empty() => text.replace(password.expose(), "***"),
        _ => text.to_owned(),
    }
}
