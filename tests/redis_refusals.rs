//! A Redis that is up but refuses writes: full (`maxmemory` with `noeviction`, the
//! policy we recommend) or read-only (a replica). Invalidations must still be
//! recorded, or never be read past; refused stores are not an outage.
//!
//! Current-thread runtime (`#[tokio::test]`): the probe runs on the test's thread,
//! so `Logs::capture_here` sees what it logs too.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::Ordering;

use cachette::{Cache, RedisHealth, cached};
use support::gate::gate;
use support::redis::{RedisServer, redis_cache as cache};
use support::wait::{until_up, within};

#[cached(expire = 300, namespace = "data")]
async fn data(test: u64, id: u64) -> String {
    let data = gate(test);
    data.runs.fetch_add(1, Ordering::SeqCst);
    format!("{id}:{}", data.current())
}

fn health(cache: &Cache) -> RedisHealth {
    *cache
        .redis_health()
        .unwrap_or_else(|| panic!("not in Redis mode"))
        .borrow()
}

/// A Redis limited to 2 MB that refuses writes once full.
fn small_redis() -> RedisServer {
    RedisServer::start(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"])
}

/// Appends to a key, in smaller and smaller chunks, until Redis refuses even a
/// small write with `-OOM`; then lowers `maxmemory` to half of what is used, so
/// that Redis freeing a few buffers in the background cannot make room again.
async fn fill(server: &RedisServer) {
    let mut raw = server.client().await;
    for size in [256 * 1024, 16 * 1024, 1024, 64] {
        let chunk = vec![b'x'; size];
        for _ in 0..64 {
            let reply: redis::RedisResult<i64> = redis::cmd("APPEND")
                .arg("filler")
                .arg(&chunk)
                .query_async(&mut raw)
                .await;
            if let Err(error) = reply {
                assert_eq!(error.code(), Some("OOM"), "{error}");
                break;
            }
        }
    }
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut raw)
        .await
        .unwrap_or_else(|e| panic!("INFO memory failed: {e}"));
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in INFO memory: {info}"));
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used / 2)
        .query_async(&mut raw)
        .await
        .unwrap_or_else(|e| panic!("CONFIG SET maxmemory failed: {e}"));
    let probe: redis::RedisResult<()> = redis::cmd("SET")
        .arg("probe")
        .arg("x")
        .query_async(&mut raw)
        .await;
    match probe {
        Ok(()) => panic!("Redis still takes writes"),
        Err(error) => assert_eq!(error.code(), Some("OOM"), "{error}"),
    }
}

#[tokio::test]
async fn an_invalidation_is_recorded_by_a_full_redis_and_seen_by_other_instances() {
    let server = small_redis();
    let a = cache(&server).await;
    let b = cache(&server).await;
    let d = gate(1);
    assert_eq!(a.scope(data(1, 1)).await, "1:v1");
    assert_eq!(b.scope(data(1, 1)).await, "1:v1");
    assert_eq!(
        d.runs.load(Ordering::SeqCst),
        1,
        "B got A's entry from Redis"
    );

    fill(&server).await;
    *d.value.lock().unwrap() = "v2";
    a.invalidate_namespace("data:1").await;
    assert_eq!(
        b.scope(data(1, 1)).await,
        "1:v2",
        "B served what A invalidated: Redis did not record the invalidation"
    );
    assert_eq!(a.scope(data(1, 1)).await, "1:v2");
    assert_eq!(health(&a), RedisHealth::Up, "A still reads from Redis");
    assert_eq!(a.stats().invalidations_refused, 0);
}

#[tokio::test]
async fn stores_refused_by_a_full_redis_do_not_open_the_breaker() {
    let (logs, _guard) = support::logs::Logs::capture_here();
    let server = small_redis();
    let a = cache(&server).await;
    let d = gate(2);
    // Stored, so the epoch exists and the stores below are attempted.
    assert_eq!(a.scope(data(2, 1000)).await, "1000:v1");
    fill(&server).await;
    // Concurrent requests: their lookups are answered, then their ten stores are
    // refused in a row (a failure count would reach the breaker's threshold).
    let calls: Vec<_> = (0..10)
        .map(|id| tokio::spawn(a.scope(data(2, id))))
        .collect();
    for (id, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap(), format!("{id}:v1"));
    }
    assert_eq!(d.runs.load(Ordering::SeqCst), 11);
    assert_eq!(
        health(&a),
        RedisHealth::Up,
        "refused stores opened the breaker: {}",
        logs.text()
    );
    // Not stored: computed again, still correct.
    assert_eq!(a.scope(data(2, 0)).await, "0:v1");
    assert_eq!(d.runs.load(Ordering::SeqCst), 12);
    assert_eq!(
        logs.count("Redis refuses to store values"),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(logs.count("Redis keeps failing"), 0, "{}", logs.text());

    // Room again: stores succeed, and a later refusal is reported again.
    let mut raw = server.client().await;
    let _: () = redis::cmd("DEL")
        .arg("filler")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("2mb")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(a.scope(data(2, 0)).await, "0:v1");
    assert_eq!(a.scope(data(2, 0)).await, "0:v1");
    assert_eq!(
        d.runs.load(Ordering::SeqCst),
        13,
        "stored once there is room"
    );
    fill(&server).await;
    assert_eq!(a.scope(data(2, 100)).await, "100:v1");
    assert_eq!(logs.count("Redis refuses to store values"), 2);
}

#[tokio::test]
async fn a_redis_that_refuses_every_write_never_lets_an_invalidated_value_back() {
    let (logs, _guard) = support::logs::Logs::capture_here();
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let b = cache(&server).await;
    let d = gate(3);
    assert_eq!(a.scope(data(3, 1)).await, "1:v1");
    assert_eq!(b.scope(data(3, 1)).await, "1:v1");

    // A replica of a master that does not exist: up, read-only.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut raw = server.client().await;
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(closed_port)
        .query_async(&mut raw)
        .await
        .unwrap();
    let mut commands = server.monitor();

    *d.value.lock().unwrap() = "v2";
    a.invalidate_namespace("data:3").await;
    assert_eq!(a.stats().invalidations_refused, 1);
    assert_eq!(health(&a), RedisHealth::Down, "A must stop reading Redis");
    let refused = logs
        .text()
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("data:3"))
        .count();
    assert_eq!(refused, 1, "{}", logs.text());
    assert_eq!(a.scope(data(3, 1)).await, "1:v2");

    // The probe finds Redis answering PING while it still refuses the replay: each
    // PING after the first means the replay before it failed and the breaker
    // stayed open.
    for _ in 0..3 {
        let ping = async {
            while let Some(command) = commands.recv().await {
                if command.ends_with("\"PING\"") {
                    return;
                }
            }
            panic!("the monitor connection closed");
        };
        within("the probe stopped", ping).await;
        assert_eq!(health(&a), RedisHealth::Down);
        assert_eq!(a.scope(data(3, 1)).await, "1:v2", "A served from Redis");
    }
    // Another invalidation while Redis is out of use is counted too.
    a.invalidate_namespace("data:4").await;
    assert_eq!(a.stats().invalidations_refused, 2);

    // Writable again: the replay goes through, and then every instance sees it.
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query_async(&mut raw)
        .await
        .unwrap();
    until_up(&a).await;
    assert_eq!(b.scope(data(3, 1)).await, "1:v2");
    assert_eq!(a.scope(data(3, 1)).await, "1:v2");
}
