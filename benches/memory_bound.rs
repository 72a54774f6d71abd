//! The memory bound: ten times CACHE_MAX_MEMORY worth of entries go into the
//! in-memory store; the process's peak RSS is reported against the bound, for
//! typed entries (a `Clone` value, kept decoded) and byte entries (a value that is
//! not `Clone`, kept as MessagePack).
//!
//! ```text
//! cargo bench --bench memory_bound
//! ```
//!
//! The ratio is `(peak RSS - RSS before) / bound`: what the cache adds to the
//! process, per byte of `CACHE_MAX_MEMORY` (target ≤ 1.2).
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

use cachette::{Cache, Config, cached};
use serde::{Deserialize, Serialize};

const BOUND: u64 = 64 << 20;
const VALUE: usize = 16 << 10;

/// Kept typed: `Vec<u8>` is `Clone`.
#[cached(expire = 3600, namespace = "big")]
async fn big(i: u64) -> Vec<u8> {
    vec![(i % 251) as u8; VALUE]
}

/// Not `Clone`: kept as bytes.
#[derive(Serialize, Deserialize)]
struct Blob(Vec<u8>);

#[cached(expire = 3600, namespace = "blob")]
async fn blob(i: u64) -> Blob {
    Blob(vec![(i % 251) as u8; VALUE])
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

async fn run<F: Future>(entries: &str, call: impl Fn(u64) -> F) {
    let cache = Cache::in_memory(
        Config::builder()
            .enabled(true)
            .max_memory(BOUND)
            .build()
            .unwrap(),
    );
    let before = rss_kib("VmRSS:");
    let n = (10 * BOUND) / VALUE as u64;
    for i in 0..n {
        cache.scope(call(i)).await;
    }
    let usage = cache.memory_usage().unwrap();
    let peak = rss_kib("VmHWM:");
    let now = rss_kib("VmRSS:");
    println!(
        "| {entries} | {} MiB | {} MiB ({n} × {} KiB) | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} |",
        BOUND >> 20,
        (n * VALUE as u64) >> 20,
        VALUE >> 10,
        usage.entries,
        usage.bytes as f64 / 1048576.0,
        before as f64 / 1024.0,
        now as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak - before) as f64 * 1024.0 / BOUND as f64
    );
}

/// Each case runs in a process of its own (this bench, run again with
/// `MEMORY_BOUND_CASE` set): memory one case freed would otherwise be reused by
/// the next without showing in its RSS.
fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match std::env::var("MEMORY_BOUND_CASE").as_deref() {
        Ok("typed") => return runtime.block_on(run("typed (`Vec<u8>`)", big)),
        Ok("bytes") => return runtime.block_on(run("bytes (not `Clone`)", blob)),
        _ => {}
    }
    println!(
        "| entries | CACHE_MAX_MEMORY | inserted | entries kept | weight kept | RSS before | RSS after | peak RSS | (peak - before) / bound |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for case in ["typed", "bytes"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("MEMORY_BOUND_CASE", case)
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}
