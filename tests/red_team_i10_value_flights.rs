//! Red team, issue 10: value calls that join a flight whose leader publishes its
//! `Arc<Entry>` without storing it (above `CACHE_MAX_ENTRY_SIZE`). Single-threaded:
//! each `yield_now` runs the spawned calls up to their next wait.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::Ordering;

use cachette::{Cache, Config, cached};
use support::gate::gate;

/// Reads test `test`'s gate and answers a value above the entry size limit.
#[cached(namespace = "rt10big")]
async fn big(test: u64) -> String {
    let value = gate(test).pass().await;
    format!("{value}:{}", "x".repeat(200))
}

fn small_entries() -> Cache {
    let config = Config::builder().max_entry_size(64).build();
    Cache::in_memory(
        config.unwrap_or_else(|e| panic!("a 64-byte entry limit is a valid configuration: {e}")),
    )
}

async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

/// A waiter takes the oversized value its leader published (not stored): one run.
#[tokio::test]
async fn rt10_waiter_takes_an_oversized_published_value() {
    let g = gate(10_201);
    let cache = small_entries();
    let leader = tokio::spawn(cache.scope(big(10_201)));
    g.read.notified().await;
    let waiter = tokio::spawn(cache.scope(big(10_201)));
    settle().await;
    g.release.add_permits(2);
    let leader = leader.await.unwrap();
    assert_eq!(waiter.await.unwrap(), leader);
    assert_eq!(g.runs.load(Ordering::SeqCst), 1);
    g.release.add_permits(1);
    cache.scope(big(10_201)).await;
    assert_eq!(g.runs.load(Ordering::SeqCst), 2, "it was not stored");
}

/// ... but not when an invalidation returned before the waiter started.
#[tokio::test]
async fn rt10_oversized_published_value_is_not_taken_after_an_invalidation() {
    let g = gate(10_202);
    let cache = small_entries();
    let leader = tokio::spawn(cache.scope(big(10_202)));
    g.read.notified().await;
    g.set("v2");
    cache.invalidate_namespace("rt10big").await;
    let waiter = tokio::spawn(cache.scope(big(10_202)));
    settle().await;
    g.release.add_permits(2);
    assert!(leader.await.unwrap().starts_with("v1:"));
    assert!(
        waiter.await.unwrap().starts_with("v2:"),
        "the waiter took v1"
    );
}
