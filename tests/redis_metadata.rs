//! Redis metadata the cache did not write: its epoch, its "all" version or a
//! namespace version overwritten with garbage, replaced by a key of another type
//! (a list, a hash), or deleted, by hand, by another program, or by a partial
//! restore. The cache treats such a key as lost, like an epoch lost in a restart:
//! it repairs it on first contact, above every stamp issued before, so
//!
//! - no request fails and caching goes on: the next calls are misses, then hits;
//! - nothing invalidated before the damage is served after it (the entry written
//!   before the invalidation is still in Redis, waiting to be served), except
//!   after a namespace version was *deleted*: that cannot be told from a namespace
//!   never invalidated (see `Meta::forgets_when`);
//! - invalidations made after the damage are recorded and seen.
//!
//! A key that holds something unreadable is named in one warning.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use cachette::{Cache, cached};
use support::logs::Logs;
use support::redis::{RedisServer, redis_cache};

/// The data behind `row(test)`: what the database holds for each test.
static DATA: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];
/// How often `row(test)` ran.
static RUNS: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];

/// Reads the current data of `test`.
#[cached(expire = 300, namespace = "meta")]
async fn row(test: usize) -> u64 {
    RUNS[test].fetch_add(1, Ordering::SeqCst);
    DATA[test].load(Ordering::SeqCst)
}

/// Which key the test damages.
#[derive(Clone, Copy, Debug)]
enum Meta {
    Epoch,
    All,
    Namespace,
}

impl Meta {
    fn key(self) -> &'static str {
        match self {
            Meta::Epoch => "fastapi-cache#epoch",
            Meta::All => "fastapi-cache#all",
            Meta::Namespace => "fastapi-cache#v:meta",
        }
    }

    /// Whether `damage` to this key loses the invalidation it recorded. Only a
    /// *deleted namespace version*: a missing version key is what every namespace
    /// that was never invalidated has, so a deleted one cannot be told apart
    /// without a key per namespace ever used (the cache keeps none, so that an
    /// invalidation stays one write and Redis holds nothing per namespace that
    /// was never invalidated). This is why the cache's Redis must not evict (see
    /// the warning at start-up about `maxmemory-policy`). The epoch and the "all"
    /// version are single keys: a deleted epoch is a new identity, and
    /// `invalidate_all` rotates the epoch rather than relying on the "all" key.
    fn forgets_when(self, damage: Damage) -> bool {
        matches!((self, damage), (Meta::Namespace, Damage::Deleted))
    }

    /// Records a change of the data the way this key learns of it.
    async fn invalidate(self, cache: &Cache) {
        match self {
            Meta::Namespace | Meta::Epoch => cache.invalidate_namespace("meta").await,
            Meta::All => cache.invalidate_all().await,
        }
    }
}

/// How the key is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    Garbage,
    List,
    Hash,
    Deleted,
}

impl Damage {
    /// Applies the damage in one step (a script), so that a cache writing the
    /// key at the same moment cannot slip between the delete and the write.
    async fn apply(self, server: &RedisServer, key: &str) {
        let write = match self {
            Damage::Garbage => "redis.call('SET', KEYS[1], 'not a number')",
            Damage::List => "redis.call('RPUSH', KEYS[1], '1', '2')",
            Damage::Hash => "redis.call('HSET', KEYS[1], 'field', '1')",
            Damage::Deleted => "",
        };
        let script = format!("redis.call('DEL', KEYS[1]) {write}");
        server.command(&["EVAL", &script, "1", key]).await;
    }

    /// Whether the key held something the cache can tell is not its own.
    fn is_unreadable(self) -> bool {
        !matches!(self, Damage::Deleted)
    }
}

/// Calls `row(test)` through `cache`; returns the value and whether it ran.
async fn call(cache: &Cache, test: usize) -> (u64, bool) {
    let before = RUNS[test].load(Ordering::SeqCst);
    let value = cache.scope(row(test)).await;
    (value, RUNS[test].load(Ordering::SeqCst) > before)
}

async fn damaged(test: usize, meta: Meta, damage: Damage, logs: &Logs) {
    let server = RedisServer::start(&[]);
    let cache = redis_cache(&server).await;

    DATA[test].store(1, Ordering::SeqCst);
    assert_eq!(call(&cache, test).await, (1, true), "first call: a miss");
    assert_eq!(call(&cache, test).await, (1, false), "second call: a hit");

    // The data changes and the change is recorded: the entry holding 1 stays in
    // Redis, stale.
    DATA[test].store(2, Ordering::SeqCst);
    meta.invalidate(&cache).await;

    damage.apply(&server, meta.key()).await;

    let (value, ran) = call(&cache, test).await;
    if meta.forgets_when(damage) {
        // The invalidation is gone with its key: the entry written before it is
        // served, as if it had never been made.
        assert_eq!((value, ran), (1, false), "{meta:?} {damage:?}");
        DATA[test].store(2, Ordering::SeqCst);
        meta.invalidate(&cache).await;
        assert_eq!(call(&cache, test).await, (2, true), "{meta:?} {damage:?}");
    } else {
        assert_eq!(
            value, 2,
            "{meta:?} {damage:?}: served the value invalidated before the damage"
        );
        assert!(
            ran,
            "{meta:?} {damage:?}: the call after the damage is a miss"
        );
    }
    assert_eq!(
        call(&cache, test).await,
        (2, false),
        "{meta:?} {damage:?}: caching goes on after the repair"
    );
    // ... in Redis, not in this instance's fallback: another instance hits it.
    let other = redis_cache(&server).await;
    assert_eq!(
        call(&other, test).await,
        (2, false),
        "{meta:?} {damage:?}: the repaired entry is in Redis"
    );
    assert_eq!(
        cache.stats().invalidations_refused,
        0,
        "{meta:?} {damage:?}: every invalidation was recorded by Redis"
    );

    // Invalidations are recorded again.
    DATA[test].store(3, Ordering::SeqCst);
    meta.invalidate(&cache).await;
    assert_eq!(
        call(&cache, test).await,
        (3, true),
        "{meta:?} {damage:?}: an invalidation after the repair is seen"
    );
    assert_eq!(call(&cache, test).await, (3, false));

    if damage.is_unreadable() {
        assert!(
            logs.count(meta.key()) >= 1,
            "{meta:?} {damage:?}: no warning names {}; logs:\n{}",
            meta.key(),
            logs.text()
        );
    }
}

macro_rules! cases {
    ($($name:ident: $test:literal, $meta:ident, $damage:ident;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let (logs, _guard) = Logs::capture_here();
            damaged($test, Meta::$meta, Damage::$damage, &logs).await;
        }
    )*};
}

cases! {
    epoch_garbage: 1, Epoch, Garbage;
    epoch_list: 2, Epoch, List;
    epoch_hash: 3, Epoch, Hash;
    epoch_deleted: 4, Epoch, Deleted;
    all_version_garbage: 5, All, Garbage;
    all_version_list: 6, All, List;
    all_version_hash: 7, All, Hash;
    all_version_deleted: 8, All, Deleted;
    namespace_version_garbage: 9, Namespace, Garbage;
    namespace_version_list: 10, Namespace, List;
    namespace_version_hash: 11, Namespace, Hash;
    namespace_version_deleted: 12, Namespace, Deleted;
}

/// Every kind of damage, one after the other, while callers keep calling: no
/// call fails, and once the damage stops and the data changes, every caller sees
/// the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_under_traffic() {
    const TEST: usize = 20;
    const CALLERS: usize = 4;
    let server = RedisServer::start(&[]);
    let cache = redis_cache(&server).await;
    DATA[TEST].store(1, Ordering::SeqCst);

    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (cache, running) = (cache.clone(), running.clone());
            tokio::spawn(async move {
                let mut calls = 0_u32;
                while running.load(Ordering::SeqCst) || calls == 0 {
                    cache.scope(row(TEST)).await;
                    calls += 1;
                    tokio::task::yield_now().await;
                }
                calls
            })
        })
        .collect();

    for meta in [Meta::Epoch, Meta::All, Meta::Namespace] {
        for damage in [Damage::Garbage, Damage::List, Damage::Hash, Damage::Deleted] {
            damage.apply(&server, meta.key()).await;
            meta.invalidate(&cache).await;
        }
    }
    running.store(false, Ordering::SeqCst);
    for caller in callers {
        assert!(support::wait::joined(caller).await > 0);
    }

    DATA[TEST].store(2, Ordering::SeqCst);
    cache.invalidate_namespace("meta").await;
    assert_eq!(call(&cache, TEST).await, (2, true));
    assert_eq!(call(&cache, TEST).await, (2, false));
    assert_eq!(cache.stats().invalidations_refused, 0);
}

/// A lease key no cache wrote (another type, no TTL, a TTL no lease can have):
/// a cold call takes it over and computes at once, rather than wait on it until
/// it gives up (three leases: 30 s here, longer than the test's patience).
#[tokio::test]
async fn a_lease_key_no_cache_wrote_is_taken_over() {
    const TEST: usize = 21;
    let server = RedisServer::start(&[]);
    let cache = support::redis::serving(
        support::redis::config(server.url()).redis_lock_lease(std::time::Duration::from_secs(10)),
    )
    .await;
    DATA[TEST].store(1, Ordering::SeqCst);
    assert_eq!(call(&cache, TEST).await, (1, true));
    let mut raw = server.client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("fastapi-cache:meta:*")
        .query_async(&mut raw)
        .await
        .unwrap();
    let entry = keys
        .iter()
        .find(|k| k.contains(&format!("test={TEST}")) || k.contains(&format!(":{TEST}:")))
        .unwrap_or_else(|| panic!("no entry for test {TEST} in {keys:?}"))
        .clone();
    let lease = format!("fastapi-cache#lease:{}", &entry["fastapi-cache:".len()..]);
    for damage in [
        "redis.call('RPUSH', KEYS[2], 'x')",
        "redis.call('SET', KEYS[2], 'by hand')",
        "redis.call('SET', KEYS[2], 'by hand', 'PX', 86400000)",
    ] {
        let script = format!("redis.call('DEL', KEYS[1], KEYS[2]) {damage}");
        server
            .command(&["EVAL", &script, "2", &entry, &lease])
            .await;
        DATA[TEST].fetch_add(1, Ordering::SeqCst);
        let now = DATA[TEST].load(Ordering::SeqCst);
        let got = support::wait::within(
            &format!("a cold call behind a lease key set by `{damage}`"),
            call(&cache, TEST),
        )
        .await;
        assert_eq!(got, (now, true), "{damage}");
    }
}
