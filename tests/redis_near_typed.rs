//! Typed hits in Redis mode (issue 11): a near copy keeps the decoded value, so
//! a hit of a `Clone` type clones it instead of decoding the bytes again. The
//! instance that computed a value never decodes it; another instance decodes
//! what it read from Redis once, then clones. Each hit still equals the miss.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::cached;
use serde::{Deserialize, Deserializer, Serialize};
use support::redis::{RedisServer, near_cache};

/// Counts how many times it was decoded from bytes, in `DECODES[TEST]` (one
/// counter per test, so that tests running in one process do not mix counts).
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Counted<const TEST: usize>(u64);

static DECODES: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static DECODED: &AtomicUsize = &DECODES[0];
static DECODED_IN_OUTAGE: &AtomicUsize = &DECODES[1];

impl<'de, const TEST: usize> Deserialize<'de> for Counted<TEST> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(deserializer)?;
        DECODES[TEST].fetch_add(1, Ordering::SeqCst);
        Ok(Counted(value))
    }
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 300, namespace = "typed")]
async fn rows(n: u64) -> Result<Vec<Counted<0>>, String> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    Ok((1..=n).map(Counted).collect())
}

#[tokio::test]
async fn near_hits_clone_the_kept_value_instead_of_decoding() {
    let server = RedisServer::start(&[]);
    let a = near_cache(&server, true).await;
    let b = near_cache(&server, true).await;

    let miss = a.scope(rows(3)).await;
    assert_eq!(miss, Ok(vec![Counted(1), Counted(2), Counted(3)]));
    for _ in 0..3 {
        assert_eq!(a.scope(rows(3)).await, miss);
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "hits, not recomputed");
    // The miss reads its bytes back once (3 rows) to check they are the value
    // (`codec::encode_exact`); no hit decodes.
    assert_eq!(
        DECODED.load(Ordering::SeqCst),
        3,
        "the instance that computed the value keeps it typed: its hits never decode"
    );

    for _ in 0..4 {
        assert_eq!(b.scope(rows(3)).await, miss, "a hit equals the miss");
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "b hits what a stored");
    assert_eq!(
        DECODED.load(Ordering::SeqCst),
        6,
        "another instance decodes the value it read from Redis once (3 rows), then clones it"
    );

    a.invalidate_namespace("typed").await;
    assert_eq!(a.scope(rows(3)).await, miss);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        2,
        "an invalidation still wins over the kept value"
    );
}

type CountedInOutage = Counted<1>;

static CALLS_IN_OUTAGE: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 300, namespace = "typed-outage")]
async fn rows_in_outage(n: u64) -> Result<Vec<CountedInOutage>, String> {
    CALLS_IN_OUTAGE.fetch_add(1, Ordering::SeqCst);
    Ok((1..=n).map(Counted).collect())
}

/// While Redis is down the memory fallback answers, and it keeps the caller's
/// typed copy: its hits clone the value rather than decode bytes.
#[tokio::test]
async fn fallback_hits_clone_the_kept_value_while_redis_is_down() {
    let mut server = RedisServer::start(&[]);
    let cache = cachette::Cache::new(
        support::redis::config(server.url())
            .redis_timeout(std::time::Duration::from_millis(200))
            .redis_connect_timeout(std::time::Duration::from_millis(300))
            .build()
            .expect("a valid configuration"),
    )
    .await;
    server.kill();
    // Calls fail over to the fallback once the breaker has opened.
    for n in 10..20 {
        let _ = cache.scope(rows_in_outage(n)).await;
        if *cache.redis_health().expect("Redis mode").borrow() == cachette::RedisHealth::Down {
            break;
        }
    }
    support::wait::until(&cache, cachette::RedisHealth::Down).await;
    let miss = cache.scope(rows_in_outage(3)).await;
    assert_eq!(miss, Ok(vec![Counted(1), Counted(2), Counted(3)]));
    let (calls, decoded) = (
        CALLS_IN_OUTAGE.load(Ordering::SeqCst),
        DECODED_IN_OUTAGE.load(Ordering::SeqCst),
    );
    for _ in 0..3 {
        assert_eq!(
            cache.scope(rows_in_outage(3)).await,
            miss,
            "a hit equals the miss"
        );
    }
    assert_eq!(
        CALLS_IN_OUTAGE.load(Ordering::SeqCst),
        calls,
        "the fallback answered"
    );
    assert_eq!(
        DECODED_IN_OUTAGE.load(Ordering::SeqCst),
        decoded,
        "the fallback's hits clone the kept value: nothing is decoded"
    );
}
