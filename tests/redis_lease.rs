//! Single flight across instances (`REDIS_DISTRIBUTED_LOCK`, `#[cached(lock)]`)
//! against a real `redis-server`: several cache instances, each with its own
//! connections, on one Redis, as several processes would be. Concurrent cold
//! calls compute once in all; a leader that is dropped, or dies with its lease,
//! is replaced; an uncacheable result lets every caller run its own; the lock
//! off computes once per instance; Redis dying under waiters fails no call; a
//! leader that lost its lease cannot overwrite the next leader's value; over
//! HTTP only the request that ran the handler says `MISS`.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::CacheLayer;
use cachette::{Cache, cached};
use support::counter::{Counter, Runs};
use support::redis::{RedisServer, config};
use support::wait::{joined, within};
use tokio::sync::Notify;

/// How long the slow functions take: long enough for every instance's calls to
/// reach the lease while the first computes.
const SLOW: Duration = Duration::from_millis(400);

/// A Redis-mode cache on `server` with the lease settings given. A generous
/// command timeout: on a loaded machine, a Redis call that times out makes its
/// caller compute by itself (never wait on a slow Redis), which these tests
/// would count as a second execution.
async fn instance(server: &RedisServer, lock: bool, lease: Duration) -> Cache {
    let config = config(server.url())
        .redis_timeout(Duration::from_secs(2))
        .redis_distributed_lock(lock)
        .redis_lock_lease(lease)
        .build()
        .unwrap_or_else(|e| panic!("test configuration: {e}"));
    let cache = Cache::new(config).await;
    assert_eq!(cache.mode(), cachette::Mode::Redis);
    cache
}

#[cached(expire = 300, namespace = "warm")]
async fn warm() -> u64 {
    1
}

/// Three instances on `server`, each having made one call: the first data
/// script an instance sends to a Redis that never ran them rotates the epoch
/// (see the store's "Restarts and failovers"); three instances starting at once
/// would each do it, and a value stored before the last rotation is refused.
async fn instances(server: &RedisServer, lock: bool, lease: Duration) -> Vec<Cache> {
    let mut caches = Vec::new();
    for _ in 0..3 {
        let cache = instance(server, lock, lease).await;
        cache.scope(warm()).await;
        caches.push(cache);
    }
    caches
}

/// What every task returned (they run concurrently, spawned).
async fn join_all<T>(
    tasks: impl IntoIterator<Item = impl std::future::Future<Output = T>>,
) -> Vec<T> {
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await);
    }
    answers
}

/// `per` concurrent calls of `call` on every instance, all started at once.
async fn everyone<T, F, Fut>(caches: &[Cache], per: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = caches
        .iter()
        .flat_map(|cache| (0..per).map(|_| tokio::spawn(cache.scope(call()))))
        .collect::<Vec<_>>();
    within(
        "every call returns",
        join_all(tasks.into_iter().map(joined)),
    )
    .await
}

/// Waits until `instances` processes subscribe to the wake-ups: each does
/// before it asks for a lease and waits.
async fn subscribed(server: &RedisServer, instances: i64) {
    within("the waiters subscribe to the wake-ups", async {
        loop {
            let reply = server
                .command(&["PUBSUB", "NUMSUB", "fastapi-cache#wake"])
                .await;
            if let redis::Value::Array(reply) = reply
                && let Some(redis::Value::Int(n)) = reply.get(1)
                && *n >= instances
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

static COLD: Counter = Counter::new();

#[cached(expire = 300, namespace = "cold")]
async fn cold(id: u64) -> String {
    COLD.tick();
    tokio::time::sleep(SLOW).await;
    format!("cold#{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_calls_on_three_instances_compute_once() {
    let server = RedisServer::start(&[]);
    let caches = instances(&server, true, Duration::from_secs(10)).await;
    let answers = everyone(&caches, 100, || cold(1)).await;
    assert_eq!(answers.len(), 300);
    assert!(answers.iter().all(|a| a == "cold#1"), "{answers:?}");
    assert_eq!(COLD.count(), 1, "the function ran more than once in all");
}

static NO_LOCK: Counter = Counter::new();

#[cached(expire = 300, namespace = "no_lock")]
async fn unlocked_by_config(id: u64) -> String {
    NO_LOCK.tick();
    tokio::time::sleep(SLOW).await;
    format!("unlocked#{id}")
}

static LOCK_FALSE: Counter = Counter::new();

#[cached(expire = 300, namespace = "lock_false", lock = false)]
async fn unlocked_by_attribute(id: u64) -> String {
    LOCK_FALSE.tick();
    tokio::time::sleep(SLOW).await;
    format!("unlocked#{id}")
}

#[tokio::test]
async fn the_lock_off_computes_once_per_instance() {
    let server = RedisServer::start(&[]);
    // REDIS_DISTRIBUTED_LOCK=false (the builder's redis_distributed_lock).
    let caches = instances(&server, false, Duration::from_secs(10)).await;
    let answers = everyone(&caches, 30, || unlocked_by_config(1)).await;
    assert!(answers.iter().all(|a| a == "unlocked#1"));
    assert_eq!(NO_LOCK.count(), 3, "once per instance, each in its flight");

    // #[cached(lock = false)] while the lock is on.
    let caches = instances(&server, true, Duration::from_secs(10)).await;
    let answers = everyone(&caches, 30, || unlocked_by_attribute(1)).await;
    assert!(answers.iter().all(|a| a == "unlocked#1"));
    assert_eq!(LOCK_FALSE.count(), 3);
}

static FAILING: Counter = Counter::new();
static FIRST_DONE: AtomicBool = AtomicBool::new(false);
static OVERLAPPED: AtomicBool = AtomicBool::new(false);

#[cached(expire = 300, namespace = "failing")]
async fn failing(id: u64) -> Result<String, String> {
    if FAILING.tick() == 1 {
        tokio::time::sleep(SLOW).await;
        FIRST_DONE.store(true, Ordering::SeqCst);
    } else if !FIRST_DONE.load(Ordering::SeqCst) {
        OVERLAPPED.store(true, Ordering::SeqCst);
    }
    Err(format!("failed#{id}"))
}

#[tokio::test]
async fn an_uncacheable_result_lets_every_waiter_run_its_own_call() {
    let server = RedisServer::start(&[]);
    let caches = instances(&server, true, Duration::from_secs(10)).await;
    let answers = everyone(&caches, 10, || failing(1)).await;
    assert!(answers.iter().all(|a| a == &Err("failed#1".to_owned())));
    // Every call ran its own, and none before the first had failed: the other
    // instances waited for its lease, then were told it was not cacheable.
    assert_eq!(FAILING.count(), 30);
    assert!(
        !OVERLAPPED.load(Ordering::SeqCst),
        "a call ran while the first held the lease"
    );
}

static STUCK: Counter = Counter::new();
static STUCK_STARTED: Notify = Notify::const_new();

/// The first run never ends (until its future is dropped); later runs answer.
#[cached(expire = 300, namespace = "stuck")]
async fn stuck(id: u64) -> String {
    if STUCK.tick() == 1 {
        STUCK_STARTED.notify_one();
        std::future::pending::<()>().await;
    }
    format!("stuck#{id}")
}

#[tokio::test]
async fn a_dropped_leader_releases_its_lease_at_once() {
    let server = RedisServer::start(&[]);
    // A long lease: waiters that had to wait for it to run out would outlast
    // the test's patience. The drop must release it.
    let caches = instances(&server, true, Duration::from_secs(60)).await;
    let leader = tokio::spawn(caches[0].scope(stuck(1)));
    within("the first call runs", STUCK_STARTED.notified()).await;
    let waiters: Vec<_> = caches[1..]
        .iter()
        .flat_map(|cache| (0..20).map(|_| tokio::spawn(cache.scope(stuck(1)))))
        .collect();
    // The leader's instance and the two waiting ones.
    subscribed(&server, 3).await;
    leader.abort();
    let answers = within(
        "the waiters finish after the leader is dropped",
        join_all(waiters.into_iter().map(joined)),
    )
    .await;
    assert!(answers.iter().all(|a| a == "stuck#1"));
    assert_eq!(
        STUCK.count(),
        2,
        "one waiter took over, the others took its value"
    );
}

static ORPHAN: Counter = Counter::new();

#[cached(expire = 300, namespace = "orphan")]
async fn orphan(id: u64) -> String {
    ORPHAN.tick();
    format!("orphan#{id}")
}

#[tokio::test]
async fn a_lease_whose_holder_died_delays_waiters_by_at_most_the_lease() {
    let server = RedisServer::start(&[]);
    let lease = Duration::from_millis(300);
    let caches = instances(&server, true, lease).await;
    // A process took the lease and died: nobody renews or releases it.
    server
        .command(&[
            "SET",
            "fastapi-cache#lease:orphan:1:redis_lease.orphan",
            "dead-process",
            "PX",
            "300",
        ])
        .await;
    let answers = everyone(&caches, 20, || orphan(1)).await;
    assert!(answers.iter().all(|a| a == "orphan#1"));
    assert_eq!(ORPHAN.count(), 1, "one waiter took the lease over");
}

static KILLED: Counter = Counter::new();

#[cached(expire = 300, namespace = "killed")]
async fn killed(id: u64) -> String {
    KILLED.tick();
    format!("killed#{id}")
}

#[tokio::test]
async fn waiters_compute_themselves_when_redis_dies() {
    let mut server = RedisServer::start(&[]);
    let caches = instances(&server, true, Duration::from_secs(60)).await;
    // Another process holds the lease for a long time.
    server
        .command(&[
            "SET",
            "fastapi-cache#lease:killed:1:redis_lease.killed",
            "other-process",
            "PX",
            "60000",
        ])
        .await;
    let waiters: Vec<_> = caches
        .iter()
        .flat_map(|cache| (0..10).map(|_| tokio::spawn(cache.scope(killed(1)))))
        .collect();
    subscribed(&server, 3).await;
    assert_eq!(
        KILLED.count(),
        0,
        "a call ran while another process held the lease"
    );
    server.kill();
    let answers = within(
        "the waiters answer once Redis is gone",
        join_all(waiters.into_iter().map(joined)),
    )
    .await;
    assert!(answers.iter().all(|a| a == "killed#1"));
    assert!(KILLED.count() >= 1);
}

static FENCED: Counter = Counter::new();
static FENCED_RELEASE: Notify = Notify::const_new();

/// The first run waits for the test; later runs answer at once.
#[cached(expire = 300, namespace = "fenced")]
async fn fenced(id: u64) -> String {
    let run = FENCED.tick();
    if run == 1 {
        FENCED_RELEASE.notified().await;
    }
    format!("run{run}#{id}")
}

#[tokio::test]
async fn a_leader_that_lost_its_lease_cannot_overwrite_the_next_ones_value() {
    let server = RedisServer::start(&[]);
    let caches = instances(&server, true, Duration::from_secs(60)).await;
    let lease = "fastapi-cache#lease:fenced:1:redis_lease.fenced";
    let late = tokio::spawn(caches[0].scope(fenced(1)));
    within("the first leader holds the lease", async {
        while server.command(&["EXISTS", lease]).await != redis::Value::Int(1) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    // Its lease runs out (a stall longer than the lease, as far as Redis knows).
    server.command(&["DEL", lease]).await;
    // The next leader computes, stores and releases.
    assert_eq!(caches[1].scope(fenced(1)).await, "run2#1");
    assert_eq!(
        server.command(&["EXISTS", lease]).await,
        redis::Value::Int(0),
        "released"
    );
    // The late leader finishes: its callers get its value, Redis keeps the newer.
    FENCED_RELEASE.notify_one();
    assert_eq!(joined(late).await, "run1#1");
    assert_eq!(caches[2].scope(fenced(1)).await, "run2#1");
    let fresh = instance(&server, true, Duration::from_secs(60)).await;
    assert_eq!(fresh.scope(fenced(1)).await, "run2#1");
    assert_eq!(FENCED.count(), 2);
}

#[cached(expire = 300, namespace = "page")]
async fn page(State(runs): State<Runs>, Path(id): Path<u64>) -> Json<String> {
    runs.tick();
    tokio::time::sleep(SLOW).await;
    Json(format!("page#{id}"))
}

fn app(cache: Cache, runs: &Runs) -> Router {
    Router::new()
        .route("/page/{id}", get(page))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(cache))
}

#[tokio::test]
async fn over_http_only_the_request_that_ran_the_handler_says_miss() {
    let server = RedisServer::start(&[]);
    let runs = Runs::default();
    let mut apps = Vec::new();
    for _ in 0..2 {
        let cache = instance(&server, true, Duration::from_secs(10)).await;
        cache.scope(warm()).await;
        apps.push(Arc::new(app(cache, &runs)));
    }
    let requests: Vec<_> = apps
        .iter()
        .flat_map(|app| {
            (0..20).map(|_| {
                let app = Arc::clone(app);
                tokio::spawn(async move { support::http::get(&app, "/page/7", &[]).await })
            })
        })
        .collect();
    let answers = within(
        "every request is answered",
        join_all(requests.into_iter().map(joined)),
    )
    .await;
    assert!(answers.iter().all(|a| a.text() == "\"page#7\""));
    let misses = answers.iter().filter(|a| a.cache() == Some("MISS")).count();
    let hits = answers.iter().filter(|a| a.cache() == Some("HIT")).count();
    assert_eq!((misses, hits), (1, 39));
    assert_eq!(runs.count(), 1);
}

/// Cold-key executions and waiter latency, lock on and off (3 instances × 100
/// callers, a 50 ms function): `cargo test --release --test redis_lease -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
#[allow(clippy::print_stdout, reason = "the measurement's output")]
async fn measure_cold_key_executions_and_waiter_latency() {
    static RUNS: Counter = Counter::new();
    #[cached(expire = 300, namespace = "measure")]
    async fn measured(round: u64) -> u64 {
        RUNS.tick();
        tokio::time::sleep(Duration::from_millis(50)).await;
        round
    }
    let server = RedisServer::start(&[]);
    for lock in [true, false] {
        let caches = instances(&server, lock, Duration::from_secs(10)).await;
        let mut executions = Vec::new();
        let mut latencies = Vec::new();
        for round in 0..20 {
            let before = RUNS.count();
            let timed = everyone(&caches, 100, move || async move {
                let started = Instant::now();
                measured(round + if lock { 0 } else { 1000 }).await;
                started.elapsed()
            })
            .await;
            executions.push(RUNS.count() - before);
            latencies.extend(timed);
        }
        latencies.sort();
        let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        println!(
            "lock {}: executions per cold key {:?} (mean {:.2}); latency p50 {:?} p99 {:?} max {:?}",
            if lock { "on " } else { "off" },
            executions,
            executions.iter().sum::<usize>() as f64 / executions.len() as f64,
            at(0.5),
            at(0.99),
            latencies[latencies.len() - 1],
        );
    }
}
