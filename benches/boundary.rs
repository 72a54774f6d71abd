//! The TTL boundary under steady load: 50 callers hit one key of a 50 ms
//! function (expire = 1 s) for 6 s each, and count the calls that waited on a
//! recomputation (took 25 ms or more), for the function plain, with
//! `early_refresh` (XFetch), and with `stale_while_revalidate`, in one run.
//!
//! ```text
//! cargo bench --bench boundary
//! ```
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cachette::{Cache, Config, cached};

const CALLERS: usize = 50;
const RUN_FOR: Duration = Duration::from_secs(6);
const COMPUTE: Duration = Duration::from_millis(50);
const WAITED: Duration = Duration::from_millis(25);

static PLAIN_RUNS: AtomicUsize = AtomicUsize::new(0);
static EARLY_RUNS: AtomicUsize = AtomicUsize::new(0);
static SWR_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "plain", expire = 1)]
async fn plain(key: u64) -> u64 {
    PLAIN_RUNS.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(COMPUTE).await;
    key
}

#[cached(namespace = "early", expire = 1, early_refresh = true)]
async fn early(key: u64) -> u64 {
    EARLY_RUNS.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(COMPUTE).await;
    key
}

#[cached(namespace = "swr", expire = 1, stale_while_revalidate = 5)]
async fn swr(key: u64) -> u64 {
    SWR_RUNS.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(COMPUTE).await;
    key
}

/// Runs `CALLERS` loops of `call` for `RUN_FOR`; returns (calls, waited, p99,
/// max) after a warm-up call.
async fn load<F, Fut>(cache: &Cache, call: F) -> (usize, usize, Duration, Duration)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = u64> + Send,
{
    cache.scope(call()).await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let (cache, call) = (cache.clone(), call.clone());
            tokio::spawn(cache.scope(async move {
                // Spread the callers over the first few milliseconds.
                tokio::time::sleep(Duration::from_micros(100 * i as u64)).await;
                let mut took = Vec::new();
                while start.elapsed() < RUN_FOR {
                    let at = Instant::now();
                    call().await;
                    took.push(at.elapsed());
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                took
            }))
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let waited = all.iter().filter(|t| **t >= WAITED).count();
    let p99 = all[all.len() * 99 / 100];
    (all.len(), waited, p99, *all.last().unwrap())
}

#[tokio::main]
async fn main() {
    println!(
        "{CALLERS} callers, one key, a {COMPUTE:?} function, expire = 1 s, {RUN_FOR:?} each; waited = took >= {WAITED:?}"
    );
    println!(
        "| function | calls | waited on a recomputation | share | p99 | max | function runs |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for name in ["plain", "early_refresh", "stale_while_revalidate"] {
        let cache = Cache::in_memory(Config::memory());
        let (calls, waited, p99, max) = match name {
            "plain" => load(&cache, || plain(1)).await,
            "early_refresh" => load(&cache, || early(1)).await,
            _ => load(&cache, || swr(1)).await,
        };
        let runs = match name {
            "plain" => PLAIN_RUNS.load(Ordering::Relaxed),
            "early_refresh" => EARLY_RUNS.load(Ordering::Relaxed),
            _ => SWR_RUNS.load(Ordering::Relaxed),
        };
        println!(
            "| {name} | {calls} | {waited} | {:.3} % | {p99:.1?} | {max:.1?} | {runs} |",
            waited as f64 * 100.0 / calls as f64
        );
    }
}
