//! Staleness on purpose in Redis mode: the windows hold across instances, an
//! expired entry stays in Redis for its window and no longer, and an
//! invalidation beats every rule. Real time (Redis keeps its own clock): windows
//! of one second.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use cachette::cached;
use support::redis::{RedisServer, redis_cache as cache};
use support::wait::within;
use support::{current, lock};
use tokio::sync::watch;

static DATA: Mutex<&str> = Mutex::new("v1");
static RUNS: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));

#[cached(namespace = "swr_redis", expire = 1, stale_while_revalidate = 2)]
async fn swr(id: u64) -> String {
    let value = format!("{}:{id}", current(&DATA));
    RUNS.send_modify(|n| *n += 1);
    value
}

async fn runs_reach(n: usize) {
    within(&format!("{n} runs"), RUNS.subscribe().wait_for(|r| *r >= n))
        .await
        .unwrap_or_else(|_| unreachable!("static sender"));
}

/// The time Redis keeps `pattern`'s only key, in ms (-2: no such key).
async fn pttl(server: &RedisServer, pattern: &str) -> i64 {
    let keys = match server.command(&["KEYS", pattern]).await {
        redis::Value::Array(keys) => keys,
        other => panic!("KEYS replied {other:?}"),
    };
    let Some(redis::Value::BulkString(key)) = keys.first() else {
        return -2;
    };
    let key = String::from_utf8_lossy(key).into_owned();
    match server.command(&["PTTL", &key]).await {
        redis::Value::Int(ms) => ms,
        other => panic!("PTTL replied {other:?}"),
    }
}

#[tokio::test]
async fn another_instance_serves_the_expired_entry_and_refreshes_it_once() {
    let server = RedisServer::start(&[]);
    let (a, b) = (cache(&server).await, cache(&server).await);
    assert_eq!(a.scope(swr(1)).await, "v1:1");
    // Kept for its TTL and its window: 3 s.
    let kept = pttl(&server, "*swr_redis*").await;
    assert!((2_000..=3_000).contains(&kept), "PTTL {kept} ms");

    *lock(&DATA) = "v2";
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        b.scope(swr(1)).await,
        "v1:1",
        "expired, within the window: at once"
    );
    runs_reach(2).await;
    assert_eq!(
        a.scope(swr(1)).await,
        "v2:1",
        "the refresh is in Redis for every instance"
    );
    assert_eq!(*RUNS.borrow(), 2);

    // Past TTL + window, Redis no longer has it.
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    assert_eq!(
        pttl(&server, "*swr_redis*").await,
        -2,
        "gone after its window"
    );
}

static FAIL: AtomicBool = AtomicBool::new(false);
static SIE_DATA: Mutex<&str> = Mutex::new("v1");

#[cached(
    namespace = "sie_redis",
    expire = 1,
    stale_if_error = 2,
    stale_while_revalidate = 2
)]
async fn both(id: u64) -> Result<String, String> {
    if FAIL.load(Ordering::SeqCst) {
        return Err("down".into());
    }
    Ok(format!("{}:{id}", current(&SIE_DATA)))
}

#[tokio::test]
async fn an_invalidation_beats_every_rule_across_instances() {
    let server = RedisServer::start(&[]);
    let (a, b) = (cache(&server).await, cache(&server).await);
    assert_eq!(a.scope(both(1)).await.unwrap(), "v1:1");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    a.scope(cachette::invalidate_namespace("sie_redis")).await;
    *lock(&SIE_DATA) = "v2";
    assert_eq!(
        b.scope(both(1)).await.unwrap(),
        "v2:1",
        "computed in line, not stale"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    a.scope(cachette::invalidate_namespace("sie_redis")).await;
    FAIL.store(true, Ordering::SeqCst);
    assert_eq!(
        b.scope(both(1)).await.unwrap_err(),
        "down",
        "no stale value after an invalidation"
    );
}
