//! The memory bound: ten times CACHE_MAX_MEMORY worth of entries go into the
//! in-memory store; the process's peak RSS is reported against the bound.
//!
//! ```text
//! cargo bench --bench memory_bound
//! ```
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

use cachette::{Cache, Config, cached};

const BOUND: u64 = 64 << 20;
const VALUE: usize = 16 << 10;

#[cached(expire = 3600, namespace = "big")]
async fn big(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8; VALUE]
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let cache = Cache::in_memory(Config::builder().enabled(true).max_memory(BOUND).build().unwrap());
        let before = rss_kib("VmRSS:");
        let n = (10 * BOUND) / VALUE as u64;
        for i in 0..n {
            cache.scope(big(i)).await;
        }
        let usage = cache.memory_usage().unwrap();
        let peak = rss_kib("VmHWM:");
        let now = rss_kib("VmRSS:");
        println!("| CACHE_MAX_MEMORY | inserted | entries kept | weight kept | RSS before | RSS after | peak RSS |");
        println!("|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {} MiB | {} MiB ({n} × {} KiB) | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            BOUND >> 20,
            (n * VALUE as u64) >> 20,
            VALUE >> 10,
            usage.entries,
            usage.bytes as f64 / 1048576.0,
            before as f64 / 1024.0,
            now as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    });
}
