//! A Redis that loses everything the cache wrote (FLUSHALL, a restart without
//! persistence, an evicted epoch) while a value read before an invalidation is
//! being computed: that value must never be served after the invalidation
//! returned — not stored by the slow miss, not taken by a caller that joined its
//! flight.
//!
//! The tests run on the current-thread runtime (`#[tokio::test]`), so the order in
//! which tasks run is the order in which they were woken: a caller spawned before a
//! round trip of the cache's (single, multiplexed) connection has had its own
//! lookup answered, and joined the flight, before anything woken after it runs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/redis.rs"]
mod redis_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use cachette::{Cache, Config, RedisHealth, cached};
use redis_support::RedisServer;
use tokio::sync::{Notify, Semaphore};

/// What one test's computations read, and where they wait.
struct Gate {
    value: Mutex<&'static str>,
    runs: AtomicUsize,
    /// Notified when a computation has read `value`.
    read: Notify,
    /// A computation waits for a permit after reading.
    release: Semaphore,
}

static GATES: LazyLock<Mutex<HashMap<u64, Arc<Gate>>>> = LazyLock::new(Mutex::default);

fn gate(test: u64) -> Arc<Gate> {
    let mut gates = GATES.lock().unwrap();
    Arc::clone(gates.entry(test).or_insert_with(|| {
        Arc::new(Gate {
            value: Mutex::new("v1"),
            runs: AtomicUsize::new(0),
            read: Notify::new(),
            release: Semaphore::new(0),
        })
    }))
}

/// Reads the data, then waits to be released (the slow miss).
#[cached(expire = 300, namespace = "slow")]
async fn slow(test: u64, id: u64) -> String {
    let gate = gate(test);
    let value = *gate.value.lock().unwrap();
    gate.runs.fetch_add(1, Ordering::SeqCst);
    gate.read.notify_one();
    gate.release.acquire().await.unwrap().forget();
    format!("{id}:{value}")
}

async fn cache(server: &RedisServer) -> Cache {
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(server.url())
        .redis_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let cache = Cache::new(config).await;
    assert_eq!(*cache.redis_health().unwrap().borrow(), RedisHealth::Up);
    cache
}

/// Waits (bounded) until the cache serves from Redis.
async fn until_up(cache: &Cache) {
    let mut rx = cache.redis_health().expect("redis mode");
    tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|h| *h == RedisHealth::Up),
    )
    .await
    .expect("Redis never served the cache again")
    .unwrap();
}

async fn flushall(server: &RedisServer) {
    let mut raw = server.client().await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut raw).await.unwrap();
}

/// How Redis forgets what the cache wrote.
#[derive(Clone, Copy)]
enum Loss {
    Flush,
    Restart,
}

/// Redis loses everything, then an unrelated namespace is invalidated (through
/// this cache), which recreates the epoch. Returns with the cache serving from
/// the new Redis.
async fn lose_everything(server: &mut RedisServer, cache: &Cache, loss: Loss) {
    match loss {
        Loss::Flush => flushall(server).await,
        Loss::Restart => server.restart(),
    }
    // After a restart the cache's connection is broken: this call may fail, open
    // the breaker and be replayed by the probe; either way the new Redis has it
    // before the cache reads from Redis again.
    cache.invalidate_namespace("other").await;
    until_up(cache).await;
}

/// (a) A slow miss read v1; the data changed and was invalidated; Redis lost
/// everything; an unrelated invalidation recreated the epoch above the slow
/// miss's stamp. The slow miss's value must not be stored.
async fn slow_miss_then_loss(test: u64, loss: Loss) {
    let mut server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(test);
    let slow_call = tokio::spawn(a.scope(slow(test, 1)));
    gate.read.notified().await;
    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;

    lose_everything(&mut server, &a, loss).await;
    gate.release.add_permits(100);
    assert_eq!(slow_call.await.unwrap(), "1:v1", "its own caller gets it");

    assert_eq!(
        a.scope(slow(test, 1)).await,
        "1:v2",
        "stale after the invalidation returned: the value read before it was stored"
    );
    let b = cache(&server).await;
    assert_eq!(b.scope(slow(test, 1)).await, "1:v2");
}

#[tokio::test]
async fn a_slow_miss_is_not_stored_after_a_flush() {
    slow_miss_then_loss(1, Loss::Flush).await;
}

#[tokio::test]
async fn a_slow_miss_is_not_stored_after_a_restart_without_persistence() {
    slow_miss_then_loss(2, Loss::Restart).await;
}

/// (b) The same, with a second caller that joined the running computation after
/// the invalidation: it must not take the value read before it.
async fn joined_flight_then_loss(test: u64, loss: Loss) {
    let mut server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(test);
    let slow_call = tokio::spawn(a.scope(slow(test, 1)));
    gate.read.notified().await;
    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;

    let joined = tokio::spawn(a.scope(slow(test, 1)));
    // Let it send its lookup, then make a round trip on the same connection: its
    // lookup is answered first, and it joins the flight before this test goes on.
    tokio::task::yield_now().await;
    a.invalidate_namespace("warm-up").await;
    assert_eq!(
        gate.runs.load(Ordering::SeqCst),
        1,
        "it joined, not computed"
    );

    lose_everything(&mut server, &a, loss).await;
    gate.release.add_permits(100);
    assert_eq!(slow_call.await.unwrap(), "1:v1");
    assert_eq!(
        joined.await.unwrap(),
        "1:v2",
        "a caller that started after the invalidation got the value read before it"
    );
    assert_eq!(a.scope(slow(test, 1)).await, "1:v2");
}

#[tokio::test]
async fn a_caller_that_joined_after_the_invalidation_never_takes_the_old_value_after_a_flush() {
    joined_flight_then_loss(3, Loss::Flush).await;
}

#[tokio::test]
async fn a_caller_that_joined_after_the_invalidation_never_takes_the_old_value_after_a_restart() {
    joined_flight_then_loss(4, Loss::Restart).await;
}

/// (c) An entry written before a flush is not served after it.
#[tokio::test]
async fn an_entry_written_before_a_flush_is_not_served_after() {
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(5);
    gate.release.add_permits(100);
    assert_eq!(a.scope(slow(5, 1)).await, "1:v1");
    assert_eq!(a.scope(slow(5, 1)).await, "1:v1");
    assert_eq!(gate.runs.load(Ordering::SeqCst), 1, "a hit");
    *gate.value.lock().unwrap() = "v2";
    flushall(&server).await;
    assert_eq!(a.scope(slow(5, 1)).await, "1:v2");
}

/// An entry that outlives the epoch and its invalidation (both deleted or evicted,
/// the entry left) is never served: losing the epoch makes every entry a miss.
#[tokio::test]
async fn an_entry_that_outlives_the_epoch_is_not_served() {
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let b = cache(&server).await;
    let gate = gate(6);
    gate.release.add_permits(100);
    assert_eq!(a.scope(slow(6, 1)).await, "1:v1");
    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;
    let mut raw = server.client().await;
    let _: () = redis::cmd("DEL")
        .arg("fastapi-cache#epoch")
        .arg("fastapi-cache#v:slow")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(b.scope(slow(6, 1)).await, "1:v2", "another instance");
    assert_eq!(
        a.scope(slow(6, 1)).await,
        "1:v2",
        "the instance that wrote it"
    );
}
