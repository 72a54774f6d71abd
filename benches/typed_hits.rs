//! A memory-mode hit side by side with its peers, in one criterion group so the
//! ratios come from one run: the same `async fn list_users(n) -> Result<Vec<User>,
//! String>` cached by cachette's `#[cached]`, by the `cached` crate's `#[cached]`
//! (its async variant), and by hand through a moka `sync::Cache` (a get, which
//! clones the value: the floor of any cache that hands out owned values), for 1 and
//! 50 users. Each sample runs a batch of calls inside one `block_on`, so the
//! executor's cost is not counted.
//!
//! ```text
//! cargo bench --bench typed_hits
//! ```
//!
//! Prints the ratios (cachette / peer, from criterion's mean estimates) at the end.
#![allow(missing_docs, clippy::expect_used, clippy::print_stdout)]

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cachette::{Cache, Config};
use criterion::{BenchmarkId, Criterion, criterion_group};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    created: u64,
}

fn users(n: u32) -> Vec<User> {
    (1..=u64::from(n))
        .map(|i| User {
            id: i,
            email: format!("user{i:03}@example.com"),
            first_name: ["Ada", "Grace", "Alan", "Linus", "Barbara"][i as usize % 5].into(),
            last_name: ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov"][i as usize % 5]
                .into(),
            role: if i % 10 == 1 { "admin" } else { "user" }.into(),
            created: 1_700_000_000 + i,
        })
        .collect()
}

mod with_cachette {
    use super::*;

    #[cachette::cached(expire = 300, namespace = "users")]
    pub(super) async fn list_users(n: u32) -> Result<Vec<User>, String> {
        Ok(users(n))
    }
}

/// The same function through cachette's byte path (what every hit paid before
/// typed hits): its users are not `Clone`, so each hit decodes MessagePack.
mod with_cachette_bytes {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    pub(super) struct User(super::User);

    #[cachette::cached(expire = 300, namespace = "users-bytes")]
    pub(super) async fn list_users(n: u32) -> Result<Vec<User>, String> {
        Ok(users(n).into_iter().map(User).collect())
    }
}

mod with_cached {
    use super::*;

    #[cached::cached(ttl = 300, result = true)]
    pub(super) async fn list_users(n: u32) -> Result<Vec<User>, String> {
        Ok(users(n))
    }
}

mod with_moka {
    use super::*;
    use std::sync::LazyLock;

    static CACHE: LazyLock<moka::sync::Cache<u32, Vec<User>>> = LazyLock::new(|| {
        moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(300))
            .build()
    });

    pub(super) async fn list_users(n: u32) -> Result<Vec<User>, String> {
        if let Some(hit) = CACHE.get(&n) {
            return Ok(hit);
        }
        let value = users(n);
        CACHE.insert(n, value.clone());
        Ok(value)
    }
}

/// Times `iters` awaited calls of `call` inside one `block_on`.
fn run<F, Fut>(runtime: &tokio::runtime::Runtime, iters: u64, call: F) -> Duration
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<Vec<User>, String>>,
{
    runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(call(black_box(0)).await.expect("users"));
        }
        start.elapsed()
    })
}

const SIZES: [u32; 2] = [1, 50];

fn typed_hits(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cache = Cache::in_memory(Config::memory());
    let mut group = c.benchmark_group("typed_hit");
    for n in SIZES {
        // Warm every cache: each benchmark below only hits.
        runtime
            .block_on(cache.scope(with_cachette::list_users(n)))
            .expect("users");
        runtime.block_on(with_cached::list_users(n)).expect("users");
        runtime.block_on(with_moka::list_users(n)).expect("users");
        group.bench_with_input(BenchmarkId::new("cachette", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                runtime.block_on(cache.scope(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(
                            with_cachette::list_users(black_box(n))
                                .await
                                .expect("users"),
                        );
                    }
                    start.elapsed()
                }))
            })
        });
        runtime
            .block_on(cache.scope(with_cachette_bytes::list_users(n)))
            .expect("users");
        group.bench_with_input(BenchmarkId::new("cachette_bytes", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                runtime.block_on(cache.scope(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(
                            with_cachette_bytes::list_users(black_box(n))
                                .await
                                .expect("users"),
                        );
                    }
                    start.elapsed()
                }))
            })
        });
        group.bench_with_input(BenchmarkId::new("cached_crate", n), &n, |b, &n| {
            b.iter_custom(|iters| run(&runtime, iters, |_| with_cached::list_users(n)))
        });
        group.bench_with_input(BenchmarkId::new("moka_get_clone", n), &n, |b, &n| {
            b.iter_custom(|iters| run(&runtime, iters, |_| with_moka::list_users(n)))
        });
    }
    group.finish();
}

criterion_group!(benches, typed_hits);

/// The time per call of one benchmark of the group, from criterion's estimates
/// (the slope, as criterion prints it, or the mean).
fn mean_ns(function: &str, n: u32) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{target}/criterion/typed_hit/{function}/{n}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| json["mean"]["point_estimate"].as_f64())
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    println!();
    println!(
        "| users | cachette (typed) | cachette (bytes) | cached crate | moka get+clone | typed / cached | typed / moka | bytes / typed |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let (Some(ours), Some(bytes), Some(cached), Some(moka)) = (
            mean_ns("cachette", n),
            mean_ns("cachette_bytes", n),
            mean_ns("cached_crate", n),
            mean_ns("moka_get_clone", n),
        ) else {
            continue;
        };
        println!(
            "| {n} | {ours:.0} ns | {bytes:.0} ns | {cached:.0} ns | {moka:.0} ns | {:.2} | {:.2} | {:.2} |",
            ours / cached,
            ours / moka,
            bytes / ours
        );
    }
}
