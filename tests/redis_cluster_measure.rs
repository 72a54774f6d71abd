//! A measurement, not a test (ignored): cold-key executions and waiter latency
//! of the single flight across instances (`REDIS_DISTRIBUTED_LOCK`) in Redis
//! Cluster mode, lock on and off, beside the same on one `redis-server`, in one
//! run. The method is `redis_lease.rs`'s
//! `measure_cold_key_executions_and_waiter_latency`: 3 cache instances × 100
//! concurrent callers on one cold key of a 50 ms function, 20 cold keys.
//!
//! ```text
//! cargo test -p cachette --profile bench --test redis_cluster_measure -- --ignored --nocapture
//! ```
#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use cachette::{Cache, cached};
use support::cluster::RedisCluster;
use support::counter::Counter;
use support::redis::RedisServer;
use support::wait::{joined, within};

static RUNS: Counter = Counter::new();

#[cached(expire = 300, namespace = "measure")]
async fn measured(round: u64) -> u64 {
    RUNS.tick();
    tokio::time::sleep(Duration::from_millis(50)).await;
    round
}

#[cached(expire = 300, namespace = "warm")]
async fn warm(id: u64) -> u64 {
    id
}

/// Three instances on `url` (a cluster's seeds when `cluster`), lock on or off
/// (10 s lease), each having checked every stripe's epoch with a few calls: an
/// instance's first data script on a stripe may rotate its epoch, which would
/// refuse a value stored before.
async fn instances(url: &str, cluster: bool, lock: bool) -> Vec<Cache> {
    let mut caches = Vec::new();
    for _ in 0..3 {
        let config = cachette::Config::builder()
            .enabled(true)
            .redis_enabled(true)
            .redis_cluster(cluster)
            .redis_url(url)
            .redis_timeout(Duration::from_secs(2))
            .redis_distributed_lock(lock)
            .redis_lock_lease(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("measurement configuration: {e}"));
        let cache = Cache::new(config).await;
        assert_eq!(cache.mode(), cachette::Mode::Redis);
        for id in 0..64 {
            cache.scope(warm(id)).await;
        }
        caches.push(cache);
    }
    caches
}

/// `per` concurrent calls of `round` on every instance, all started at once:
/// how long each took.
async fn everyone(caches: &[Cache], per: usize, round: u64) -> Vec<Duration> {
    let tasks: Vec<_> = caches
        .iter()
        .flat_map(|cache| {
            (0..per).map(|_| {
                tokio::spawn(cache.scope(async move {
                    let started = Instant::now();
                    measured(round).await;
                    started.elapsed()
                }))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.push(within("every call returns", joined(task)).await);
    }
    latencies
}

/// Cold-key executions and waiter latency, single node and a 3-master cluster,
/// lock on and off: see the file's doc for the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
#[allow(clippy::print_stdout, reason = "the measurement's output")]
async fn measure_cold_key_executions_and_waiter_latency_in_a_cluster() {
    let single = RedisServer::start(&[]);
    let cluster = RedisCluster::start(3, 0).await;
    println!(
        "load average before: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "| store | lock | executions per cold key | mean executions | caller p50 | p99 | max |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    let mut first_round = 0;
    for lock in [true, false] {
        for (label, url, is_cluster) in [
            ("single redis-server", single.url(), false),
            ("cluster, 3 masters", cluster.seeds(), true),
        ] {
            let caches = instances(&url, is_cluster, lock).await;
            let mut executions = Vec::new();
            let mut latencies = Vec::new();
            for round in first_round..first_round + 20 {
                let before = RUNS.count();
                latencies.extend(everyone(&caches, 100, round).await);
                executions.push(RUNS.count() - before);
            }
            first_round += 20;
            latencies.sort();
            let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
            let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
            println!(
                "| {label} | {} | {executions:?} | {:.2} | {} | {} | {} |",
                if lock { "on" } else { "off" },
                executions.iter().sum::<usize>() as f64 / executions.len() as f64,
                ms(at(0.5)),
                ms(at(0.99)),
                ms(latencies[latencies.len() - 1]),
            );
        }
    }
    println!(
        "load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
