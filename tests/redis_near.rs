//! The near cache (`REDIS_NEAR_CACHE`, `#[cached(near = ...)]`) against real
//! `redis-server`s: several cache instances, each with its own connections, on
//! one Redis. A near hit makes no round trip; an invalidation made by one
//! instance reaches the others (awaited, bounded); a flush, a restart or a freeze
//! of Redis loses nothing; `near = false` stays strict; a Redis that cannot track
//! leaves the cache strict with one warning.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;
use std::time::Duration;

use cachette::{RedisHealth, cached};
use support::redis::{RedisServer, near_cache, scripts_run_during};
use support::wait::{until, until_up, within};
use support::{current, lock};

/// Calls `read` until it answers `wanted` (bounded): an invalidation made by
/// another instance reaches this one when Redis's push does.
async fn until_serves<F, Fut>(what: &str, wanted: &str, mut read: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    within(what, async {
        loop {
            if read().await == wanted {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

static SPREAD: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "spread")]
async fn spread(id: u64) -> String {
    format!("{}#{id}", current(&SPREAD))
}

static STRICT: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "strict", near = false)]
async fn strict(id: u64) -> String {
    format!("{}#{id}", current(&STRICT))
}

#[tokio::test]
async fn an_invalidation_on_one_instance_reaches_the_others() {
    let server = RedisServer::start(&[]);
    let a = near_cache(&server, true).await;
    let b = near_cache(&server, true).await;
    let c = near_cache(&server, true).await;
    for cache in [&a, &b, &c] {
        assert_eq!(cache.scope(spread(1)).await, "v1#1");
        // The second read renews the copy under the tracked connection.
        assert_eq!(cache.scope(spread(1)).await, "v1#1");
    }
    // A near hit makes no round trip.
    let scripts = scripts_run_during(&server, async {
        for _ in 0..5 {
            assert_eq!(b.scope(spread(1)).await, "v1#1");
            assert_eq!(c.scope(spread(1)).await, "v1#1");
        }
    })
    .await;
    assert_eq!(scripts, 0, "near hits went to Redis");

    *lock(&SPREAD) = "v2";
    a.invalidate_namespace("spread").await;
    // The invalidator reads its own write at once.
    assert_eq!(a.scope(spread(1)).await, "v2#1");
    // The others stop serving the old value when Redis's push arrives.
    until_serves("b sees the invalidation", "v2#1", || b.scope(spread(1))).await;
    until_serves("c sees the invalidation", "v2#1", || c.scope(spread(1))).await;
    // ... and never serve it again.
    for _ in 0..20 {
        assert_eq!(b.scope(spread(1)).await, "v2#1");
        assert_eq!(c.scope(spread(1)).await, "v2#1");
    }
}

#[tokio::test]
async fn near_false_keeps_a_function_strict() {
    let server = RedisServer::start(&[]);
    let a = near_cache(&server, true).await;
    let b = near_cache(&server, true).await;
    for _ in 0..3 {
        assert_eq!(b.scope(strict(2)).await, "v1#2");
    }
    // Every hit of a strict function is checked on Redis.
    let scripts = scripts_run_during(&server, async {
        for _ in 0..4 {
            assert_eq!(b.scope(strict(2)).await, "v1#2");
        }
    })
    .await;
    assert_eq!(scripts, 4, "a strict hit skipped Redis");
    // So another instance's invalidation is seen as soon as it returns.
    *lock(&STRICT) = "v2";
    a.invalidate_namespace("strict").await;
    assert_eq!(b.scope(strict(2)).await, "v2#2");
}

static OPT_IN: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "opt_in", near = true)]
async fn opt_in(id: u64) -> String {
    format!("{}#{id}", current(&OPT_IN))
}

#[tokio::test]
async fn near_true_opts_a_function_in_when_the_default_is_strict() {
    let server = RedisServer::start(&[]);
    let a = near_cache(&server, false).await;
    let b = near_cache(&server, false).await;
    // The first near call asks for a tracked connection; the next ones fill.
    for _ in 0..3 {
        assert_eq!(b.scope(opt_in(3)).await, "v1#3");
    }
    let scripts = scripts_run_during(&server, async {
        for _ in 0..4 {
            assert_eq!(b.scope(opt_in(3)).await, "v1#3");
        }
    })
    .await;
    assert_eq!(scripts, 0, "near hits went to Redis");
    *lock(&OPT_IN) = "v2";
    a.invalidate_namespace("opt_in").await;
    until_serves("b sees the invalidation", "v2#3", || b.scope(opt_in(3))).await;
}

static LOSS: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "loss")]
async fn loss(id: u64) -> String {
    format!("{}#{id}", current(&LOSS))
}

#[tokio::test]
async fn a_flush_or_a_restart_empties_the_near_caches() {
    let mut server = RedisServer::start(&[]);
    let a = near_cache(&server, true).await;
    let b = near_cache(&server, true).await;
    for cache in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(cache.scope(loss(4)).await, "v1#4");
        }
    }

    // FLUSHALL: Redis pushes a flush to every tracking connection.
    *lock(&LOSS) = "v2";
    server.command(&["FLUSHALL"]).await;
    until_serves("a forgets after FLUSHALL", "v2#4", || a.scope(loss(4))).await;
    until_serves("b forgets after FLUSHALL", "v2#4", || b.scope(loss(4))).await;
    for cache in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(cache.scope(loss(4)).await, "v2#4");
        }
    }

    // A restart without persistence: every connection breaks, every near copy
    // may have missed pushes.
    *lock(&LOSS) = "v3";
    server.restart();
    until_serves("a forgets after a restart", "v3#4", || a.scope(loss(4))).await;
    until_serves("b forgets after a restart", "v3#4", || b.scope(loss(4))).await;
    until_up(&a).await;
    until_up(&b).await;
    for _ in 0..10 {
        assert_eq!(a.scope(loss(4)).await, "v3#4");
        assert_eq!(b.scope(loss(4)).await, "v3#4");
    }
}

static FROZEN: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "frozen")]
async fn frozen(id: u64) -> String {
    format!("{}#{id}", current(&FROZEN))
}

#[cached(expire = 300, namespace = "other")]
async fn other(id: u64) -> u64 {
    id
}

#[tokio::test]
async fn no_invalidation_made_during_a_freeze_is_lost() {
    let server = RedisServer::start(&[]);
    let a = near_cache(&server, true).await;
    let b = near_cache(&server, true).await;
    for cache in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(cache.scope(frozen(5)).await, "v1#5");
        }
    }

    server.freeze();
    // A's invalidation cannot reach Redis: applied locally, to be replayed.
    *lock(&FROZEN) = "v2";
    a.invalidate_namespace("frozen").await;
    until(&a, RedisHealth::Down).await;
    assert_eq!(a.scope(frozen(5)).await, "v2#5");
    // B's misses time out until its breaker opens (which empties its near cache).
    let mut id = 0;
    within("b's breaker opens", async {
        while b.redis_health().map(|h| *h.borrow()) != Some(RedisHealth::Down) {
            id += 1;
            b.scope(other(id)).await;
        }
    })
    .await;
    server.thaw();

    until_up(&a).await;
    until_up(&b).await;
    // A replays its invalidation; B hears of it whatever it held before.
    until_serves("b sees the replayed invalidation", "v2#5", || {
        b.scope(frozen(5))
    })
    .await;
    for _ in 0..10 {
        assert_eq!(a.scope(frozen(5)).await, "v2#5");
        assert_eq!(b.scope(frozen(5)).await, "v2#5");
    }
}

static ROLE: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "role")]
async fn role(id: u64) -> String {
    format!("{}#{id}", current(&ROLE))
}

/// A node demoted under an open connection (its writes answer `READONLY`), then
/// promoted again: the connection is checked again before data goes through it,
/// and its tracking, still on, keeps serving near hits (Redis refuses to arm it
/// twice: asking again must not turn the near cache off).
#[tokio::test]
async fn a_connection_checked_again_keeps_its_near_cache() {
    const NO_SYNC_DELAY: &[&str] = &["--repl-diskless-sync-delay", "0"];
    let s = RedisServer::start(NO_SYNC_DELAY);
    let t = RedisServer::start(NO_SYNC_DELAY);
    let a = near_cache(&s, true).await;
    for _ in 0..2 {
        assert_eq!(a.scope(role(8)).await, "v1#8");
    }
    s.command(&["REPLICAOF", "127.0.0.1", &t.port().to_string()])
        .await;
    t.command(&["SET", "near-test-sync", "1"]).await;
    let acked = t.command(&["WAIT", "1", "20000"]).await;
    assert_eq!(acked, redis::Value::Int(1), "the replica never caught up");
    // Refused (READONLY): applied locally, the breaker opens.
    *lock(&ROLE) = "v2";
    a.invalidate_namespace("role").await;
    until(&a, RedisHealth::Down).await;
    s.command(&["REPLICAOF", "NO", "ONE"]).await;
    until_up(&a).await;
    until_serves("a serves from Redis again", "v2#8", || a.scope(role(8))).await;
    for _ in 0..2 {
        assert_eq!(a.scope(role(8)).await, "v2#8");
    }
    let scripts = scripts_run_during(&s, async {
        for _ in 0..4 {
            assert_eq!(a.scope(role(8)).await, "v2#8");
        }
    })
    .await;
    assert_eq!(
        scripts, 0,
        "the near cache was turned off by the second check"
    );
}
