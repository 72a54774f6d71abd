//! A Redis that loses everything the cache wrote (FLUSHALL, a restart without
//! persistence, an evicted epoch) while a value read before an invalidation is
//! being computed: that value must never be served after the invalidation
//! returned — not stored by the slow miss, not taken by a caller that joined its
//! flight.
//!
//! A Redis that comes back with an *older* copy of what the cache wrote (a restart
//! from a snapshot taken before an invalidation, a failback to a node that had not
//! received it): the invalidated entry must not be served, by any instance, and
//! the cache must work again afterwards. Both of the store's signals are tested
//! on their own: an empty script cache (`NOSCRIPT`) with a connection that stays
//! open, and another server behind a new connection with the scripts still loaded.
//!
//! The tests run on the current-thread runtime (`#[tokio::test]`), so the order in
//! which tasks run is the order in which they were woken: a caller spawned before a
//! round trip of the cache's (single, multiplexed) connection has had its own
//! lookup answered, and joined the flight, before anything woken after it runs.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::Ordering;

use redis::Value;

use cachette::{Cache, RedisHealth, cached};
use support::gate::gate;
use support::logs::Logs;
use support::redis::{RedisServer, redis_cache as cache};
use support::wait::{joined, until_up};

/// Reads the data, then waits to be released (the slow miss).
#[cached(expire = 300, namespace = "slow")]
async fn slow(test: u64, id: u64) -> String {
    format!("{id}:{}", gate(test).pass().await)
}

/// How Redis forgets what the cache wrote.
#[derive(Clone, Copy)]
enum Loss {
    Flush,
    Restart,
    /// A restart from a snapshot taken before the invalidation: the epoch and
    /// the entries come back, the invalidation does not.
    RestartFromSnapshot,
}

impl Loss {
    /// Called before the invalidation that the loss must not undo.
    async fn before_invalidation(self, server: &RedisServer) {
        if let Loss::RestartFromSnapshot = self {
            server.command(&["SAVE"]).await;
        }
    }
}

/// Redis loses everything, then an unrelated namespace is invalidated (through
/// this cache), which recreates the epoch. Returns with the cache serving from
/// the new Redis.
async fn lose_everything(server: &mut RedisServer, cache: &Cache, loss: Loss) {
    match loss {
        Loss::Flush => {
            server.command(&["FLUSHALL"]).await;
        }
        Loss::Restart | Loss::RestartFromSnapshot => server.restart(),
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
    loss.before_invalidation(&server).await;
    gate.set("v2");
    a.invalidate_namespace("slow").await;

    lose_everything(&mut server, &a, loss).await;
    gate.release.add_permits(100);
    assert_eq!(joined(slow_call).await, "1:v1", "its own caller gets it");

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

/// The slow miss's stamp was issued before a snapshot that the server restarts
/// from: the epoch it names comes back, the invalidation does not.
#[tokio::test]
async fn a_slow_miss_is_not_stored_after_a_restart_from_a_snapshot_older_than_the_invalidation() {
    slow_miss_then_loss(7, Loss::RestartFromSnapshot).await;
}

/// (b) The same, with a second caller that joined the running computation after
/// the invalidation: it must not take the value read before it.
async fn joined_flight_then_loss(test: u64, loss: Loss) {
    let mut server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(test);
    let slow_call = tokio::spawn(a.scope(slow(test, 1)));
    gate.read.notified().await;
    loss.before_invalidation(&server).await;
    gate.set("v2");
    a.invalidate_namespace("slow").await;

    let joined_call = tokio::spawn(a.scope(slow(test, 1)));
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
    assert_eq!(joined(slow_call).await, "1:v1");
    assert_eq!(
        joined(joined_call).await,
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

#[tokio::test]
async fn a_caller_that_joined_after_the_invalidation_never_takes_the_old_value_after_a_restart_from_a_snapshot()
 {
    joined_flight_then_loss(8, Loss::RestartFromSnapshot).await;
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
    server.command(&["FLUSHALL"]).await;
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

/// The epoch key's text (`{id}:{counter}[:{server}]`), as the scripts wrote it.
async fn epoch(server: &RedisServer) -> String {
    match server.command(&["GET", "fastapi-cache#epoch"]).await {
        Value::BulkString(text) => {
            String::from_utf8(text).unwrap_or_else(|e| panic!("an epoch that is not UTF-8: {e}"))
        }
        other => panic!("no epoch: {other:?}"),
    }
}

/// The epoch's identity and counter.
fn identity_and_counter(epoch: &str) -> (String, u64) {
    let mut parts = epoch.split(':');
    let (Some(id), Some(Ok(counter))) = (parts.next(), parts.next().map(str::parse)) else {
        panic!("an epoch that is not `{{id}}:{{counter}}[:{{server}}]`: {epoch}");
    };
    (id.to_owned(), counter)
}

/// Calls `slow(test, 1)` and returns its value and whether it ran the function.
async fn call(cache: &Cache, test: u64) -> (String, bool) {
    let runs = gate(test).runs.load(Ordering::SeqCst);
    let value = cache.scope(slow(test, 1)).await;
    (value, gate(test).runs.load(Ordering::SeqCst) != runs)
}

/// (d) Redis crashes and restarts from a snapshot taken before an invalidation
/// (RDB persistence, the default; or a failover to a replica that had not received
/// it): the epoch comes back with its identity, the entry with it, the
/// invalidation's version does not. Neither the instance that invalidated nor a
/// new one may serve the invalidated value; and the cache works again after.
#[tokio::test]
async fn an_invalidation_lost_by_a_restart_from_an_older_snapshot_is_not_served() {
    let mut server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(9);
    gate.release.add_permits(100);
    assert_eq!(call(&a, 9).await, ("1:v1".to_owned(), true));
    assert_eq!(call(&a, 9).await, ("1:v1".to_owned(), false), "a hit");
    server.command(&["SAVE"]).await;
    let before = identity_and_counter(&epoch(&server).await);

    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;
    assert_eq!(a.stats().invalidations_refused, 0, "Redis recorded it");
    assert_eq!(call(&a, 9).await.0, "1:v2");

    server.restart();
    // The first call finds the connection broken and is served without Redis;
    // the next ones go through a new connection to the restarted server.
    for _ in 0..2 {
        assert_eq!(
            call(&a, 9).await.0,
            "1:v2",
            "the instance that invalidated was served the value it invalidated"
        );
    }
    until_up(&a).await;
    let b = cache(&server).await;
    assert_eq!(
        call(&b, 9).await.0,
        "1:v2",
        "another instance was served the value invalidated before the crash"
    );
    let after = identity_and_counter(&epoch(&server).await);
    assert_ne!(after.0, before.0, "the epoch has a new identity");
    assert!(after.1 >= before.1, "its counter never goes back");

    // Entries written after the rotation are hits again, on both instances.
    assert_eq!(call(&a, 9).await, ("1:v2".to_owned(), false));
    assert_eq!(call(&b, 9).await, ("1:v2".to_owned(), false));
}

/// (e) `SCRIPT FLUSH` empties the server's script cache as a restart does: the
/// epoch is rotated before anything is read, so an entry written before is a
/// miss; what is written after is a hit. The operator is warned of the cold
/// start then, and not when the scripts are first loaded on a new server (there
/// was nothing to lose).
#[tokio::test]
async fn a_script_flush_rotates_the_epoch_and_the_cache_works_after() {
    let (logs, _guard) = Logs::capture_here();
    let warned = || {
        logs.text()
            .matches("Redis had lost the cache's scripts")
            .count()
    };
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let b = cache(&server).await;
    let gate = gate(10);
    gate.release.add_permits(100);
    assert_eq!(call(&a, 10).await, ("1:v1".to_owned(), true));
    assert_eq!(call(&b, 10).await, ("1:v1".to_owned(), false), "shared");
    let before = identity_and_counter(&epoch(&server).await);
    assert_eq!(warned(), 0, "a new server lost nothing: {}", logs.text());

    *gate.value.lock().unwrap() = "v2";
    server.command(&["SCRIPT", "FLUSH"]).await;
    assert_eq!(
        call(&a, 10).await,
        ("1:v2".to_owned(), true),
        "the entry of the previous epoch is a miss"
    );
    let after = identity_and_counter(&epoch(&server).await);
    assert_ne!(after.0, before.0, "the epoch has a new identity");
    assert!(after.1 >= before.1, "its counter never goes back");
    assert_eq!(call(&a, 10).await, ("1:v2".to_owned(), false), "a hit");
    assert_eq!(call(&b, 10).await, ("1:v2".to_owned(), false), "a hit");
    assert_eq!(a.stats().invalidations_refused, 0);
    assert_eq!(*a.redis_health().unwrap().borrow(), RedisHealth::Up);
    assert_eq!(warned(), 1, "the flush is warned about once");
}

/// Every key the cache wrote, dumped (`DUMP`) with its time to live.
async fn dump_everything(server: &RedisServer) -> Vec<(String, Vec<u8>, i64)> {
    let Value::Array(keys) = server.command(&["KEYS", "*"]).await else {
        panic!("KEYS did not answer an array");
    };
    let mut dumped = Vec::new();
    for key in keys {
        let Value::BulkString(key) = key else {
            panic!("a key that is not a string")
        };
        let key = String::from_utf8(key).unwrap_or_else(|e| panic!("a key that is not UTF-8: {e}"));
        let Value::BulkString(dump) = server.command(&["DUMP", &key]).await else {
            panic!("DUMP {key} answered nothing")
        };
        let Value::Int(ttl) = server.command(&["PTTL", &key]).await else {
            panic!("PTTL {key} did not answer a number")
        };
        dumped.push((key, dump, ttl));
    }
    dumped
}

/// (f) The server behind the cache's address is replaced by one that holds an
/// older copy of the data and an empty script cache, and the cache's connection
/// stays open (a proxy in front of Redis that fails over): the connection is
/// never checked again, only `NOSCRIPT` tells. Emulated on one server: the data
/// is replaced by a copy taken before the invalidation, and the script cache is
/// flushed.
#[tokio::test]
async fn an_older_copy_behind_a_connection_that_stays_open_is_not_read_past() {
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let gate = gate(11);
    gate.release.add_permits(100);
    assert_eq!(call(&a, 11).await, ("1:v1".to_owned(), true));
    let older = dump_everything(&server).await;

    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;
    assert_eq!(call(&a, 11).await.0, "1:v2");

    server.command(&["FLUSHALL"]).await;
    let mut raw = server.client().await;
    for (key, dump, ttl) in &older {
        let _: () = redis::cmd("RESTORE")
            .arg(key)
            .arg((*ttl).max(0))
            .arg(dump.as_slice())
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    server.command(&["SCRIPT", "FLUSH"]).await;
    assert_eq!(
        call(&a, 11).await.0,
        "1:v2",
        "the instance that invalidated read past its invalidation"
    );
    let b = cache(&server).await;
    assert_eq!(call(&b, 11).await.0, "1:v2");
    assert_eq!(call(&a, 11).await, ("1:v2".to_owned(), false), "a hit");
}

/// A full resync starts at once (not after the default 5 s of diskless sync).
const NO_SYNC_DELAY: &[&str] = &["--repl-diskless-sync-delay", "0"];

/// Waits (bounded, on Redis's `WAIT`) until `master`'s replica has acknowledged
/// everything written to `master` so far.
async fn replicated(master: &RedisServer) {
    master.command(&["SET", "cachette-test-sync", "1"]).await;
    let acked = master.command(&["WAIT", "1", "20000"]).await;
    assert_eq!(acked, Value::Int(1), "the replica never caught up");
}

/// (g) A failback to a node that kept the cache's scripts: `s` served the cache
/// and loaded its scripts; `t`, its replica, was detached (promoted) before an
/// invalidation; `s` was then made a replica of `t` (a full resync replaces its
/// data with `t`'s, without the invalidation) and promoted again. Same process,
/// same script cache: no `NOSCRIPT`. A new connection sees that the epoch
/// records another server (`s` has a new replication id) and rotates it.
#[tokio::test]
async fn a_failback_to_a_node_that_kept_the_scripts_is_not_read_past() {
    let s = RedisServer::start(NO_SYNC_DELAY);
    let a = cache(&s).await;
    let gate = gate(12);
    gate.release.add_permits(100);
    assert_eq!(call(&a, 12).await, ("1:v1".to_owned(), true));

    let port = s.port().to_string();
    let t = RedisServer::start(&[NO_SYNC_DELAY, &["--replicaof", "127.0.0.1", &port]].concat());
    replicated(&s).await;
    t.command(&["REPLICAOF", "NO", "ONE"]).await;

    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;
    assert_eq!(a.stats().invalidations_refused, 0, "Redis recorded it");
    assert_eq!(call(&a, 12).await.0, "1:v2");

    s.command(&["REPLICAOF", "127.0.0.1", &t.port().to_string()])
        .await;
    replicated(&t).await;
    s.command(&["REPLICAOF", "NO", "ONE"]).await;
    assert_eq!(
        s.command(&["EXISTS", "fastapi-cache#v:slow"]).await,
        Value::Int(0),
        "the failback lost the invalidation"
    );

    let b = cache(&s).await;
    assert_eq!(
        call(&b, 12).await.0,
        "1:v2",
        "a new instance read past the invalidation the failback lost"
    );
    assert_eq!(call(&a, 12).await.0, "1:v2");
    assert_eq!(call(&b, 12).await, ("1:v2".to_owned(), false), "a hit");
}

/// (h) The same failback seen by the instance that stayed connected to `s` the
/// whole time: its invalidation while `s` was a replica is refused (`READONLY`),
/// so its connection is checked again before it reads from `s`; the check is
/// refused until `s` is promoted, then rotates the epoch.
#[tokio::test]
async fn a_failback_is_not_read_past_by_the_instance_that_stayed_connected() {
    let s = RedisServer::start(NO_SYNC_DELAY);
    let a = cache(&s).await;
    let gate = gate(13);
    gate.release.add_permits(100);
    assert_eq!(call(&a, 13).await, ("1:v1".to_owned(), true));

    let port = s.port().to_string();
    let t = RedisServer::start(&[NO_SYNC_DELAY, &["--replicaof", "127.0.0.1", &port]].concat());
    replicated(&s).await;
    t.command(&["REPLICAOF", "NO", "ONE"]).await;

    *gate.value.lock().unwrap() = "v2";
    a.invalidate_namespace("slow").await;
    assert_eq!(call(&a, 13).await.0, "1:v2");

    s.command(&["REPLICAOF", "127.0.0.1", &t.port().to_string()])
        .await;
    replicated(&t).await;
    a.invalidate_namespace("other").await;
    assert_eq!(a.stats().invalidations_refused, 1, "a replica refused it");
    assert_eq!(call(&a, 13).await.0, "1:v2", "served without Redis");

    s.command(&["REPLICAOF", "NO", "ONE"]).await;
    until_up(&a).await;
    assert_eq!(
        call(&a, 13).await.0,
        "1:v2",
        "the instance that invalidated read past the invalidation the failback lost"
    );
    assert_eq!(call(&a, 13).await, ("1:v2".to_owned(), false), "a hit");
}

/// (i) A flush resets the epoch's counter: after ten invalidations, the epoch
/// that the next invalidation recreates counts lower than the slow miss's stamp.
/// The value read before the invalidation is still never stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_never_takes_a_value_computed_before() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    for i in 0..10 {
        cache.invalidate_namespace(&format!("other:{i}")).await;
    }
    let gate = gate(14);
    let slow_call = tokio::spawn(cache.scope(slow(14, 1)));
    gate.read.notified().await;
    // Redis restarts empty (no persistence) while the miss computes.
    server.command(&["FLUSHALL"]).await;
    *gate.value.lock().unwrap() = "v2";
    cache.invalidate_namespace("slow:14:1").await;
    gate.release.add_permits(10);
    assert_eq!(slow_call.await.unwrap(), "1:v1");
    assert_eq!(
        cache.scope(slow(14, 1)).await,
        "1:v2",
        "stale after the invalidation returned"
    );
    cache.invalidate_namespace("slow").await;
    assert_eq!(cache.scope(slow(14, 1)).await, "1:v2");
}
