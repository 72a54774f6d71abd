//! `REDIS_MEMORY_FALLBACK`: what instances serve while Redis is out of use. With
//! the fallback (the default) each instance answers from its own memory, so a
//! write made through another instance meanwhile is not seen until Redis is back
//! (the fault soak's stale reads, RELIABILITY.md "Fault soak"); without it
//! nothing is cached during the outage and no instance serves data older than a
//! write that returned.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cachette::{Cache, RedisHealth, cached};
use support::redis::{RedisServer, config};

static DATA: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static RUNS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

#[cached(expire = 300, namespace = "fallback")]
async fn row(test: usize) -> u64 {
    RUNS[test].fetch_add(1, Ordering::SeqCst);
    DATA[test].load(Ordering::SeqCst)
}

/// Two instances of a Redis that is down from the start (their breakers open).
async fn instances(server: &RedisServer, memory_fallback: bool) -> (Cache, Cache) {
    let make = || async {
        let config = config(server.url())
            .redis_timeout(Duration::from_millis(200))
            .redis_connect_timeout(Duration::from_millis(200))
            .redis_memory_fallback(memory_fallback)
            .build()
            .unwrap_or_else(|e| panic!("test configuration: {e}"));
        let cache = Cache::new(config).await;
        assert_eq!(
            cache.redis_health().map(|h| *h.borrow()),
            Some(RedisHealth::Down)
        );
        cache
    };
    (make().await, make().await)
}

/// B reads, A writes (and invalidates), B reads again: what B sees.
async fn write_through_a_while_down(test: usize, memory_fallback: bool) -> (u64, u64, u64) {
    let mut server = RedisServer::start(&[]);
    server.kill();
    let (a, b) = instances(&server, memory_fallback).await;
    DATA[test].store(1, Ordering::SeqCst);
    let before = b.scope(row(test)).await;
    DATA[test].store(2, Ordering::SeqCst);
    a.invalidate_namespace("fallback").await;
    let after = b.scope(row(test)).await;
    (before, after, RUNS[test].load(Ordering::SeqCst))
}

#[tokio::test]
async fn with_the_memory_fallback_another_instance_serves_its_copy_until_redis_is_back() {
    // The documented limit: B's fallback holds the value it read; A's write
    // cannot reach it while Redis is down.
    assert_eq!(write_through_a_while_down(0, true).await, (1, 1, 1));
}

#[tokio::test]
async fn without_it_no_instance_serves_data_older_than_a_write() {
    // Nothing is cached while Redis is out of use: B computes each time.
    assert_eq!(write_through_a_while_down(1, false).await, (1, 2, 2));
}

#[tokio::test]
async fn without_it_caching_comes_back_with_redis() {
    let mut server = RedisServer::start(&[]);
    server.kill();
    let (a, _) = instances(&server, false).await;
    DATA[2].store(5, Ordering::SeqCst);
    a.scope(row(2)).await;
    a.scope(row(2)).await;
    assert_eq!(
        RUNS[2].load(Ordering::SeqCst),
        2,
        "nothing cached while down"
    );
    server.restart();
    support::wait::until_up(&a).await;
    assert_eq!(a.scope(row(2)).await, 5);
    assert_eq!(a.scope(row(2)).await, 5);
    assert_eq!(
        RUNS[2].load(Ordering::SeqCst),
        3,
        "cached again once Redis is back"
    );
}
