//! Red team, issue 14 (lease, metadata self-healing, coders): each test states
//! a promise the code makes and the input that breaks it.
//!
//! - A lease key the cache did not write (no TTL, another type) stalls every
//!   cold call of its key for `LEASE_WAITS` leases, forever: the lease is not
//!   repaired as the other metadata is.
//! - A version or an epoch counter that "looks numeric" but is far above what
//!   the cache writes turns caching off for good (silently, or with a warning
//!   on every lookup) instead of being repaired.
//! - `#[serde(untagged)]` values: a hit read from bytes (another instance) is
//!   not the value the miss returned, with JSON and with MessagePack, while the
//!   instance that computed it (which keeps the typed value) answers right.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use cachette::{Cache, cached};
use serde::{Deserialize, Serialize};
use support::counter::Counter;
use support::redis::{RedisServer, config, redis_cache, serving};
use support::wait::within;

/// The only key under `pattern` (the test made exactly one call there).
async fn only_key(server: &RedisServer, pattern: &str) -> String {
    let mut raw = server.client().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys.into_iter().next().unwrap()
}

/// A Redis-mode cache with the lock on and a long lease (a live leader may
/// hold its waiters that long; a key nobody holds must not).
async fn locked(server: &RedisServer) -> Cache {
    serving(
        config(server.url())
            .redis_distributed_lock(true)
            .redis_lock_lease(Duration::from_secs(600)),
    )
    .await
}

static LEASED: Counter = Counter::new();

#[cached(expire = 300, namespace = "red14:lease")]
async fn leased(id: u64) -> u64 {
    LEASED.tick();
    id * 10
}

/// Stores `leased(id)` once, deletes the entry, and puts `damage` (a command
/// writing the entry's lease key) in its lease key: the next call is a cold
/// miss whose lease key holds what no cache instance wrote.
async fn damaged_lease(server: &RedisServer, cache: &Cache, id: u64, damage: &[&str]) {
    cache.scope(leased(id)).await;
    let entry = only_key(server, &format!("fastapi-cache:red14:lease:*{id}*")).await;
    let rest = entry.strip_prefix("fastapi-cache:").unwrap();
    let lease = format!("fastapi-cache#lease:{rest}");
    server.command(&["DEL", &entry]).await;
    let mut command: Vec<&str> = damage.to_vec();
    command.insert(1, &lease);
    server.command(&command).await;
}

/// Promise: "a Redis failure never fails or hangs a call"; "a leader whose
/// process dies delays waiters by at most the lease". A lease key without TTL
/// (set by hand, a restore, another program) is nobody's lease, but `claim`
/// reads it as "held, a full lease left" forever (`LEASE_TAKE` returns PTTL -1,
/// `Claim::Held(lease)`), so every cold call of the key waits `LEASE_WAITS`
/// leases (here 30 minutes; with the default 10 s lease, 30 s per call), and
/// the key is never repaired.
#[tokio::test]
async fn a_lease_key_without_ttl_does_not_stall_every_cold_call() {
    let server = RedisServer::start(&[]);
    let cache = locked(&server).await;
    damaged_lease(&server, &cache, 1, &["SET", "by-hand"]).await;
    let before = LEASED.count();
    let value = within(
        "a cold call whose lease key has no TTL returns",
        cache.scope(leased(1)),
    )
    .await;
    assert_eq!((value, LEASED.count() - before), (10, 1));
}

/// The same with a lease key of another type (a list): `SET NX` fails on it
/// and `PTTL` says -1, so it also reads as a lease held forever.
#[tokio::test]
async fn a_lease_key_of_another_type_does_not_stall_every_cold_call() {
    let server = RedisServer::start(&[]);
    let cache = locked(&server).await;
    damaged_lease(&server, &cache, 2, &["RPUSH", "by-hand"]).await;
    let before = LEASED.count();
    let value = within(
        "a cold call whose lease key is a list returns",
        cache.scope(leased(2)),
    )
    .await;
    assert_eq!((value, LEASED.count() - before), (20, 1));
}

static FAR: Counter = Counter::new();

#[cached(expire = 300, namespace = "red14:far")]
async fn far(id: u64) -> u64 {
    FAR.tick();
    id
}

/// Promise ("Metadata the cache did not write"): a version key holding what
/// the cache never wrote is repaired on first contact and caching goes on.
/// A version that *looks* right (decimal digits, 16 of them) but is far above
/// the epoch's counter is taken as valid: every lookup hands out that version
/// as the stamp, every store is refused as "another epoch" (`stamp > n` in
/// `stamp_check!`, logged at debug level only), so the namespace is never
/// cached again until the key expires. The cache never writes a version above
/// its epoch's counter, so such a key is not "the layout it writes".
#[tokio::test]
async fn a_version_far_above_the_epoch_is_repaired_and_caching_goes_on() {
    let server = RedisServer::start(&[]);
    let cache = redis_cache(&server).await;
    cache.scope(far(0)).await;
    server
        .command(&[
            "SET",
            "fastapi-cache#v:red14:far",
            "9000000000000000",
            "PX",
            "86400000",
        ])
        .await;
    let before = FAR.count();
    for _ in 0..3 {
        assert_eq!(cache.scope(far(1)).await, 1);
    }
    assert!(
        FAR.count() - before <= 2,
        "a damaged version turned caching off: {} runs for 3 calls",
        FAR.count() - before
    );
}

static HUGE: Counter = Counter::new();

#[cached(expire = 300, namespace = "red14:huge")]
async fn huge(id: u64) -> u64 {
    HUGE.tick();
    id
}

/// Promise: damage to the epoch is repaired and caching goes on. An epoch whose
/// identity is right but whose counter is a 17-digit number is read as valid;
/// the next invalidation then writes a version of 17+ digits, which
/// `version_lines!` (`#raw <= 16`) reads as unreadable; every lookup "repairs"
/// it with another 17+ digit number (the epoch's counter + 1), renewing its
/// TTL, and every store is refused: the namespace is never cached again.
#[tokio::test]
async fn an_epoch_counter_past_16_digits_does_not_end_caching_of_what_is_invalidated() {
    let server = RedisServer::start(&[]);
    let cache = redis_cache(&server).await;
    cache.scope(huge(0)).await;
    let epoch = match server.command(&["GET", "fastapi-cache#epoch"]).await {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes).unwrap(),
        other => panic!("no epoch: {other:?}"),
    };
    let mut parts = epoch.splitn(3, ':');
    let id = parts.next().unwrap();
    let _counter = parts.next().unwrap();
    let damaged = match parts.next() {
        Some(server_part) => format!("{id}:99999999999999999:{server_part}"),
        None => format!("{id}:99999999999999999"),
    };
    server
        .command(&["SET", "fastapi-cache#epoch", &damaged, "PX", "86400000"])
        .await;
    cache.invalidate_namespace("red14:huge").await;
    let before = HUGE.count();
    for _ in 0..3 {
        assert_eq!(cache.scope(huge(1)).await, 1);
    }
    assert!(
        HUGE.count() - before <= 2,
        "an epoch counter of 17 digits turned caching off after an invalidation: {} runs for 3 calls",
        HUGE.count() - before
    );
}

/// An amount that serde writes without saying which variant it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Amount {
    Exact(f64),
    Count(u64),
}

/// A shape: a `Labeled` without label reads back as a `Point`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Shape {
    Point { x: u8 },
    Labeled { x: u8, label: Option<String> },
}

static AMOUNTS: Counter = Counter::new();

#[cached(expire = 300, namespace = "red14:amount:json", coder = json)]
async fn amount_json(n: u64) -> (Amount, Shape) {
    AMOUNTS.tick();
    (Amount::Count(n), Shape::Labeled { x: 1, label: None })
}

#[cached(expire = 300, namespace = "red14:amount:packed")]
async fn amount_packed(n: u64) -> (Amount, Shape) {
    AMOUNTS.tick();
    (Amount::Count(n), Shape::Labeled { x: 1, label: None })
}

/// Untagged values whose forms do not overlap: stored, and hit.
#[cached(expire = 300, namespace = "red14:amount:distinct")]
async fn amount_distinct(n: u64) -> (Amount, Shape) {
    AMOUNTS.tick();
    (Amount::Exact(n as f64 + 0.5), Shape::Point { x: 1 })
}

/// Promise: "a hit equals the miss for every value a coder stores"; "typed hits
/// (memory mode keeps the value) vs bytes (Redis) agree". An untagged enum is
/// stored (the JSON checker walks the value's shape, which is fine), but reads
/// back as the first variant its bytes fit: `Count(5)` as `Exact(5.0)`,
/// `Labeled { label: None }` as `Point`. The instance that computed the value
/// keeps it typed and answers right; another instance answers something else.
#[tokio::test]
async fn an_untagged_value_reads_back_as_stored_on_another_instance() {
    let server = RedisServer::start(&[]);
    let computing = redis_cache(&server).await;
    let reading = redis_cache(&server).await;
    // Each instance's first data script rotates the epoch on a Redis that
    // never ran them: both do theirs before the test's values are stored.
    computing.scope(far(100)).await;
    reading.scope(far(101)).await;
    // Either the value is not stored (the other instance computes it too) or
    // the other instance's hit is the miss: never another value.
    let mut broken = Vec::new();
    let miss = computing.scope(amount_json(5)).await;
    let hit = reading.scope(amount_json(5)).await;
    if hit != miss {
        broken.push(format!("json: hit {hit:?}, miss {miss:?}"));
    }
    let miss = computing.scope(amount_packed(5)).await;
    let hit = reading.scope(amount_packed(5)).await;
    if hit != miss {
        broken.push(format!("msgpack: hit {hit:?}, miss {miss:?}"));
    }
    assert!(
        broken.is_empty(),
        "another instance's hit is not the miss: {broken:?}"
    );
    // Untagged values are still cached when they read back as themselves.
    let before = AMOUNTS.count();
    let miss = computing.scope(amount_distinct(5)).await;
    let hit = reading.scope(amount_distinct(5)).await;
    assert_eq!((&hit, AMOUNTS.count() - before), (&miss, 1));
}

/// Promise (`build_from_env`): "each setting is read from the process
/// environment, then from `./.env`, then from this builder": the environment
/// wins. An application default given as a URL (`redis_url`) beats the
/// operator's `REDIS_HOST`, `REDIS_PORT` and `REDIS_PASSWORD`: the URL is read
/// from the builder when the environment has no `REDIS_URL`, and then replaces
/// host, port, database and password, whatever the environment says of them.
#[test]
fn the_environment_wins_over_an_application_default_url() {
    let defaults = cachette::Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url("redis://:app-default-password@app-default-host:6379/0");
    let env = std::collections::HashMap::from([
        ("REDIS_HOST", "operator-host"),
        ("REDIS_PORT", "6390"),
        ("REDIS_PASSWORD", "operator-password"),
    ]);
    let config = defaults
        .build_from_lookup(|name| env.get(name).map(|v| v.to_string()))
        .unwrap();
    let redis = config.redis();
    assert_eq!(
        (redis.host(), redis.port()),
        ("operator-host", 6390),
        "the application's default URL beat REDIS_HOST/REDIS_PORT: {}",
        redis.redacted_url()
    );
}
