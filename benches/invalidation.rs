//! Namespace invalidation with 1, 10^4 and 10^6 entries present, in memory and in
//! Redis, beside `SCAN` + `UNLINK` of the same entries.
//!
//! ```text
//! cargo bench --bench invalidation          # about two minutes; starts its own redis-server
//! ```
//!
//! Prints a markdown table. Each cachette row is the median (and p99) of 201
//! invalidations of the namespace while N entries live under it (plus 10^4 bystander
//! entries in another namespace); SCAN+UNLINK deletes the N entries once, in batches
//! of 1,000, on a second connection.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

#[path = "../tests/support/redis.rs"]
mod redis_support;

use std::time::{Duration, Instant};

use cachette::{Cache, Config, cached};
use redis_support::RedisServer;

const SIZES: [usize; 3] = [1, 10_000, 1_000_000];
const RUNS: usize = 201;

#[cached(expire = 3600, namespace = "bench")]
async fn entry(i: u64) -> u64 {
    i
}

#[cached(expire = 3600, namespace = "bystander")]
async fn bystander(i: u64) -> u64 {
    i
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (
        us(samples[samples.len() / 2]),
        us(samples[samples.len() * 99 / 100]),
    )
}

async fn time_invalidations(cache: &Cache) -> (f64, f64) {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        cache.invalidate_namespace("bench").await;
        samples.push(start.elapsed());
    }
    stats(samples)
}

/// Writes `n` entries the way the cache lays them out, pipelined (the cache's own
/// writes go through a script and would take minutes for 10^6).
async fn fill_redis(redis: &mut redis::aio::MultiplexedConnection, namespace: &str, n: usize) {
    let mut i = 0;
    while i < n {
        let mut pipe = redis::pipe();
        for j in i..(i + 10_000).min(n) {
            let mut value = format!("{:020}", 0u64).into_bytes();
            value.extend_from_slice(&3_600_000u64.to_be_bytes());
            value.extend_from_slice(&0u64.to_be_bytes());
            value.extend_from_slice(b"\xca\x01\x01\x00\x00\x00\x00\x2a");
            pipe.cmd("SET")
                .arg(format!("fastapi-cache:{namespace}:{j}:benches.entry"))
                .arg(value)
                .arg("EX")
                .arg(3600)
                .ignore();
        }
        let _: () = pipe.query_async(redis).await.unwrap();
        i += 10_000;
    }
}

async fn scan_unlink(redis: &mut redis::aio::MultiplexedConnection, namespace: &str) -> Duration {
    let pattern = format!("fastapi-cache:{namespace}:*");
    let start = Instant::now();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(redis)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(redis)
                .await
                .unwrap();
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    start.elapsed()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        println!("| store | entries in the namespace | invalidate_namespace median µs | p99 µs | SCAN+UNLINK of the same entries, ms |");
        println!("|---|---:|---:|---:|---:|");

        // Memory.
        let memory = Cache::in_memory(Config::builder().enabled(true).max_memory(2 << 30).build().unwrap());
        for i in 0..10_000 {
            memory.scope(bystander(i)).await;
        }
        let mut filled = 0;
        for &n in &SIZES {
            while filled < n {
                memory.scope(entry(filled as u64)).await;
                filled += 1;
            }
            let (median, p99) = time_invalidations(&memory).await;
            println!("| memory | {n} | {median:.2} | {p99:.2} | n/a |");
        }

        // Redis.
        let server = RedisServer::start(&[]);
        let config = Config::builder()
            .enabled(true)
            .redis_enabled(true)
            .redis_url(server.url())
            .build()
            .unwrap();
        let cache = Cache::new(config).await;
        let mut raw = server.client().await;
        fill_redis(&mut raw, "bystander", 10_000).await;
        let mut filled = 0;
        for &n in &SIZES {
            fill_redis(&mut raw, "bench", n).await;
            filled = filled.max(n);
            let keys: u64 = redis::cmd("DBSIZE").query_async(&mut raw).await.unwrap();
            let (median, p99) = time_invalidations(&cache).await;
            let scan = scan_unlink(&mut raw, "bench").await;
            println!(
                "| redis | {n} (db size {keys}) | {median:.2} | {p99:.2} | {:.1} |",
                scan.as_secs_f64() * 1e3
            );
        }
        let _ = filled;
    });
}
