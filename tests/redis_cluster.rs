//! Redis Cluster mode (`REDIS_CLUSTER=true`) against a local cluster of real
//! `redis-server` processes created by the test (see `support::cluster`): entries
//! spread over every master, invalidations reach every stripe, the slow-miss race
//! writes nothing stale back, instances share entries, invalidations and the
//! single flight, a master killed under traffic fails no call and nothing stale
//! is served after its replica took over, and a seed that is no cluster node, or
//! a cluster with slots uncovered, is a warning naming the setting while the
//! cache answers from its fallback.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cachette::{Cache, cached};
use support::cluster::RedisCluster;
use support::counter::Counter;
use support::logs::Logs;
use support::redis::RedisServer;
use support::wait::{joined, permit, until_up, within};
use tokio::sync::{Notify, Semaphore};

/// A cluster-mode cache on `cluster`, serving from Redis. A generous command
/// timeout: a call that times out on a loaded machine computes by itself.
async fn instance(cluster: &RedisCluster) -> Cache {
    let config = cachette::Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_cluster(true)
        .redis_url(cluster.seeds())
        .redis_timeout(Duration::from_secs(2))
        .build()
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    let cache = Cache::new(config).await;
    assert_eq!(cache.mode(), cachette::Mode::Redis);
    assert_eq!(
        cache.redis_health().map(|h| *h.borrow()),
        Some(cachette::RedisHealth::Up),
        "the cache does not serve from the test's cluster"
    );
    cache
}

// --- layout ----------------------------------------------------------------------------

static SPREAD: Counter = Counter::new();

#[cached(expire = 300, namespace = "spread")]
async fn spread(id: u64) -> String {
    SPREAD.tick();
    format!("spread#{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_a_thousand_keys_spread_over_every_master() {
    let cluster = RedisCluster::start(3, 0).await;
    let cache = instance(&cluster).await;
    for id in 0..1000 {
        assert_eq!(cache.scope(spread(id)).await, format!("spread#{id}"));
    }
    assert_eq!(SPREAD.count(), 1000);
    // Every one a hit now, on whichever master holds it.
    for id in 0..1000 {
        assert_eq!(cache.scope(spread(id)).await, format!("spread#{id}"));
    }
    assert_eq!(SPREAD.count(), 1000, "a stored entry was not found again");
    let per_master = cluster.keys_per_master().await;
    assert_eq!(per_master.len(), 3);
    for (port, keys) in &per_master {
        // 1000 entries over 32 stripes, 10 or 11 stripes per master: about a
        // third each (plus each stripe's epoch).
        assert!(
            (200..=500).contains(keys),
            "master {port} holds {keys} keys: {per_master:?}"
        );
    }
}

#[cached(expire = 300, namespace = "fresh")]
async fn fresh(id: u64) -> String {
    format!("fresh#{id}")
}

/// A cluster the cache never used: its first calls, concurrent on every master,
/// load the scripts once per master (an `info` line each) and never warn that
/// a server "had lost the cache's scripts" (nothing was lost; a second reload
/// would also rotate that master's stripes for nothing). The only test of
/// this file that installs the global subscriber (the calls run on every
/// worker thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cluster_loads_the_scripts_once_per_master_without_a_restart_warning() {
    let logs = Logs::capture();
    let cluster = RedisCluster::start(3, 0).await;
    let cache = instance(&cluster).await;
    let calls: Vec<_> = (0..96)
        .map(|id| tokio::spawn(cache.scope(fresh(id))))
        .collect();
    for (id, call) in calls.into_iter().enumerate() {
        assert_eq!(
            within("a first call", joined(call)).await,
            format!("fresh#{id}")
        );
    }
    // This cluster's lines only (under `cargo test` other tests share the
    // process, and the global subscriber sees their calls too).
    let seeds = cluster.seeds();
    let nodes: Vec<String> = seeds.split(',').map(|seed| format!("{seed}/")).collect();
    let text: String = logs
        .text()
        .lines()
        .filter(|line| nodes.iter().any(|node| line.contains(node.as_str())))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        text.matches("Redis had lost the cache's scripts").count(),
        0,
        "a new cluster warned of a restart:\n{text}"
    );
    assert_eq!(
        text.matches("scripts loaded on a Redis that held none of its data")
            .count(),
        3,
        "not once per master:\n{text}"
    );
}

// --- invalidation ----------------------------------------------------------------------

static VERSION: AtomicUsize = AtomicUsize::new(1);
static USERS: Counter = Counter::new();
static ORDERS: Counter = Counter::new();

#[cached(expire = 300, namespace = "users")]
async fn user(id: u64) -> String {
    USERS.tick();
    format!("user#{id}@v{}", VERSION.load(Ordering::SeqCst))
}

#[cached(expire = 300, namespace = "orders")]
async fn order(id: u64) -> String {
    ORDERS.tick();
    format!("order#{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_reaches_every_stripe_and_only_its_namespace() {
    let cluster = RedisCluster::start(3, 0).await;
    let writer = instance(&cluster).await;
    let reader = instance(&cluster).await;
    for id in 0..200 {
        reader.scope(user(id)).await;
        reader.scope(order(id)).await;
    }
    assert_eq!((USERS.count(), ORDERS.count()), (200, 200));
    // Shared: the other instance hits.
    for id in 0..200 {
        assert_eq!(writer.scope(user(id)).await, format!("user#{id}@v1"));
    }
    assert_eq!(USERS.count(), 200);

    VERSION.store(2, Ordering::SeqCst);
    writer.invalidate_namespace("users").await;
    // Once it returned, no instance serves the old value of any key, on any master.
    for id in 0..200 {
        assert_eq!(reader.scope(user(id)).await, format!("user#{id}@v2"));
    }
    assert_eq!(USERS.count(), 400);
    for id in 0..200 {
        reader.scope(order(id)).await;
    }
    assert_eq!(ORDERS.count(), 200, "another namespace was invalidated");

    // Everything: every stripe's epoch rotated.
    VERSION.store(3, Ordering::SeqCst);
    reader.invalidate_all().await;
    for id in 0..200 {
        assert_eq!(writer.scope(user(id)).await, format!("user#{id}@v3"));
        writer.scope(order(id)).await;
    }
    assert_eq!((USERS.count(), ORDERS.count()), (600, 400));
}

static ITEM: Mutex<&str> = Mutex::new("v1");
static ITEM_READS: AtomicUsize = AtomicUsize::new(0);
static ITEM_READ_DONE: Notify = Notify::const_new();
static ITEM_RELEASE: Semaphore = Semaphore::const_new(0);

#[cached(expire = 300, namespace = "item")]
async fn read_item(id: u64) -> String {
    let value = support::current(&ITEM);
    if ITEM_READS.fetch_add(1, Ordering::SeqCst) == 0 {
        ITEM_READ_DONE.notify_one();
        permit(&ITEM_RELEASE).await;
    }
    format!("{id}:{value}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_miss_never_writes_stale_data_back_in_a_cluster() {
    let cluster = RedisCluster::start(3, 0).await;
    let writer = instance(&cluster).await;
    let reader = instance(&cluster).await;
    let slow = tokio::spawn(reader.scope(read_item(1)));
    within("the slow miss reads v1", ITEM_READ_DONE.notified()).await;
    *ITEM
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = "v2";
    // Invalidated from another instance while the slow miss holds v1.
    writer.invalidate_namespace("item:1").await;
    ITEM_RELEASE.add_permits(1);
    assert_eq!(joined(slow).await, "1:v1");
    assert_eq!(reader.scope(read_item(1)).await, "1:v2");
    assert_eq!(writer.scope(read_item(1)).await, "1:v2");
}

// --- single flight across instances ------------------------------------------------------

static COLD: Counter = Counter::new();

#[cached(expire = 300, namespace = "cold")]
async fn cold(id: u64) -> String {
    COLD.tick();
    tokio::time::sleep(Duration::from_millis(400)).await;
    format!("cold#{id}")
}

#[cached(expire = 300, namespace = "warm")]
async fn warm(id: u64) -> u64 {
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_calls_on_three_instances_compute_once_in_a_cluster() {
    let cluster = RedisCluster::start(3, 0).await;
    let mut caches = Vec::new();
    for _ in 0..3 {
        let cache = instance(&cluster).await;
        // Each instance checks every stripe's epoch once before the race.
        for id in 0..64 {
            cache.scope(warm(id)).await;
        }
        caches.push(cache);
    }
    let tasks: Vec<_> = caches
        .iter()
        .flat_map(|cache| (0..300).map(|_| tokio::spawn(cache.scope(cold(7)))))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(within("every call returns", joined(task)).await);
    }
    assert_eq!(answers.len(), 900);
    assert!(answers.iter().all(|a| a == "cold#7"), "{answers:?}");
    assert_eq!(COLD.count(), 1, "the function ran more than once in all");
}

// --- failover --------------------------------------------------------------------------

static LIVE: Counter = Counter::new();
static LIVE_VERSION: AtomicUsize = AtomicUsize::new(1);

#[cached(expire = 300, namespace = "live")]
async fn live(id: u64) -> String {
    LIVE.tick();
    format!("live#{id}@v{}", LIVE_VERSION.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_under_traffic_fails_no_call_and_redis_serves_again() {
    let mut cluster = RedisCluster::start(3, 1).await;
    let cache = instance(&cluster).await;
    for id in 0..300 {
        cache.scope(live(id)).await;
    }
    // Watched from now on by a task of its own: the breaker may open and close
    // again (the probe reads the new routes) before the traffic ends.
    let mut health = cache.redis_health().unwrap();
    let felt = tokio::spawn(async move {
        health
            .wait_for(|h| *h == cachette::RedisHealth::Down)
            .await
            .is_ok()
    });
    let failed_over = Arc::new(AtomicBool::new(false));
    // Traffic on every key until the replica has taken over, and a round after:
    // every call answers (the function cannot fail; a cache failure would panic).
    let traffic = {
        let (cache, failed_over) = (cache.clone(), Arc::clone(&failed_over));
        tokio::spawn(async move {
            let mut calls = 0u64;
            let mut last_round = false;
            loop {
                for id in 0..300 {
                    let answer = cache.scope(live(id)).await;
                    assert_eq!(answer, format!("live#{id}@v1"));
                    calls += 1;
                    // A hit from the memory fallback never waits: yield, so this
                    // task cannot hold a worker (and the task in its LIFO slot).
                    tokio::task::yield_now().await;
                }
                if last_round {
                    return calls;
                }
                last_round = failed_over.load(Ordering::SeqCst);
            }
        })
    };
    cluster.kill_master_and_await_failover(0).await;
    failed_over.store(true, Ordering::SeqCst);
    assert!(within("the traffic ends", joined(traffic)).await >= 600);
    // The cache felt it (fell back), and serves from Redis again once the
    // cluster recovered (the probe closes the breaker).
    assert!(
        within(
            "the cache falls back while the master is gone",
            joined(felt)
        )
        .await
    );
    until_up(&cache).await;
    let before = LIVE.count();
    for id in 0..300 {
        assert_eq!(cache.scope(live(id)).await, format!("live#{id}@v1"));
    }
    for id in 0..300 {
        assert_eq!(cache.scope(live(id)).await, format!("live#{id}@v1"));
    }
    assert!(
        LIVE.count() - before <= 300,
        "entries are not stored on the recovered cluster: {} computations for 600 calls",
        LIVE.count() - before
    );
}

static LAGGED: Counter = Counter::new();
static LAGGED_VERSION: AtomicUsize = AtomicUsize::new(1);

#[cached(expire = 300, namespace = "lagged")]
async fn lagged(id: u64) -> String {
    LAGGED.tick();
    format!("lagged#{id}@v{}", LAGGED_VERSION.load(Ordering::SeqCst))
}

/// The replica that takes over missed the last invalidation (it was frozen
/// while its master recorded it): it holds the old version keys and the old
/// entries. Its stripes' epochs are rotated before any data is read there, so
/// nothing invalidated is served, by either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidation_the_promoted_replica_missed_is_never_read_past() {
    let mut cluster = RedisCluster::start(3, 1).await;
    let reader = instance(&cluster).await;
    let writer = instance(&cluster).await;
    for id in 0..300 {
        assert_eq!(reader.scope(lagged(id)).await, format!("lagged#{id}@v1"));
    }
    // Every entry reached the replicas.
    for master in 0..3 {
        let acked = cluster.node(master).command(&["WAIT", "1", "10000"]).await;
        assert_eq!(
            acked,
            redis::Value::Int(1),
            "master {master}'s replica lags"
        );
    }
    cluster.freeze_replicas_of(0).await;
    LAGGED_VERSION.store(2, Ordering::SeqCst);
    writer.invalidate_namespace("lagged").await;
    cluster.kill_master_and_await_failover(0).await;

    for cache in [&reader, &writer] {
        for id in 0..300 {
            assert_eq!(cache.scope(lagged(id)).await, format!("lagged#{id}@v2"));
        }
    }
    until_up(&reader).await;
    until_up(&writer).await;
    for cache in [&reader, &writer] {
        for id in 0..300 {
            assert_eq!(cache.scope(lagged(id)).await, format!("lagged#{id}@v2"));
        }
    }
}

// --- bad input -------------------------------------------------------------------------

#[cached(expire = 300, namespace = "fallback")]
async fn fallback(id: u64) -> u64 {
    id * 2
}

async fn unusable(url: String) -> Cache {
    let config = cachette::Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_cluster(true)
        .redis_url(url)
        .redis_timeout(Duration::from_millis(500))
        .build()
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    Cache::new(config).await
}

#[tokio::test]
async fn a_seed_that_is_not_a_cluster_node_is_named_and_the_fallback_answers() {
    let (logs, _guard) = Logs::capture_here();
    let server = RedisServer::start(&[]);
    let cache = unusable(server.url()).await;
    assert_eq!(
        cache.redis_health().map(|h| *h.borrow()),
        Some(cachette::RedisHealth::Down)
    );
    assert_eq!(cache.scope(fallback(21)).await, 42);
    let text = logs.text();
    assert!(
        text.contains("REDIS_CLUSTER=true") && text.contains("is not a cluster node"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cluster_with_slots_uncovered_is_named_and_the_fallback_answers() {
    let (logs, _guard) = Logs::capture_here();
    let cluster = RedisCluster::start(3, 0).await;
    // The first master gives up its slots: nobody serves them.
    cluster.node(0).command(&["CLUSTER", "FLUSHSLOTS"]).await;
    let cache = unusable(cluster.seeds()).await;
    assert_eq!(cache.scope(fallback(4)).await, 8);
    let text = logs.text();
    assert!(
        text.contains("without a master") && text.contains("uncovered"),
        "{text}"
    );
}
