//! A value that is not `Send` is stored in the background, so that a `Send` body keeps
//! the cached future `Send` (issue 9, item 7): the call is a hit next time, in memory
//! and in Redis mode, concurrent callers run the body once, and another instance sees
//! the value once the store finished.
#![allow(missing_docs)]

mod support;

use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, Config, Mode, cached};
use serde::{Deserialize, Serialize};
use support::redis::RedisServer;
use support::wait::joined;

/// A serde value that is not `Send` (it says it holds an `Rc`).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Local {
    value: u32,
    #[serde(skip)]
    _not_send: PhantomData<Rc<()>>,
}

fn local(value: u32) -> Local {
    Local {
        value,
        _not_send: PhantomData,
    }
}

/// Runs of `compute(x)`, by `x`: each test uses its own `x`, so tests running in
/// one process (`cargo test`) do not count each other's runs.
static RUNS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

fn runs(x: u32) -> usize {
    RUNS[x as usize].load(Ordering::SeqCst)
}

#[cached(namespace = "local")]
async fn compute(x: u32) -> Result<Local, String> {
    tokio::task::yield_now().await;
    RUNS[x as usize].fetch_add(1, Ordering::SeqCst);
    Ok(local(x * 10))
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// The output is not `Send`, the future is: it runs inside a spawned task.
async fn spawned(cache: &Cache, x: u32) -> u32 {
    let future = assert_send(cache.scope(async move {
        compute(x)
            .await
            .unwrap_or_else(|e| panic!("compute({x}) failed: {e}"))
            .value
    }));
    joined(tokio::spawn(future)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_mode_stores_at_once() {
    let cache = Cache::in_memory(Config::memory());
    let before = runs(1);
    assert_eq!(spawned(&cache, 1).await, 10);
    assert_eq!(spawned(&cache, 1).await, 10);
    assert_eq!(runs(1) - before, 1, "the second call hits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_mode_keeps_the_flight_open_until_the_store_finished() {
    let server = RedisServer::start(&[]);
    let config = support::redis::config(server.url()).build().unwrap();
    let a = Cache::new(config.clone()).await;
    assert_eq!(a.mode(), Mode::Redis);
    let before = runs(2);
    // Concurrent callers: one computation, whether they joined before or after it
    // returned (the flight stays open while the value is written to Redis).
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { spawned(&a, 2).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 20);
    }
    assert_eq!(spawned(&a, 2).await, 20);
    assert_eq!(runs(2) - before, 1, "one computation");

    // Another instance reads it from Redis once the background store landed.
    let mut redis = server.client().await;
    let key = loop {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("fastapi-cache:local:*")
            .query_async(&mut redis)
            .await
            .unwrap();
        if let Some(key) = keys.into_iter().next() {
            break key;
        }
        tokio::task::yield_now().await;
    };
    assert!(key.ends_with(":2:store_in_background.compute"), "{key}");
    let b = Cache::new(config).await;
    assert_eq!(spawned(&b, 2).await, 20);
    assert_eq!(runs(2) - before, 1, "b hit a's entry");
}

#[test]
fn memory_mode_needs_no_task_after_the_call() {
    // The store happened before the call returned: a runtime dropped right after
    // the miss leaves the entry in place for the next runtime's call.
    let cache = Cache::in_memory(Config::memory());
    let call = || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(cache.scope(async { compute(3).await.unwrap().value }))
    };
    let before = runs(3);
    assert_eq!(call(), 30);
    assert_eq!(call(), 30);
    assert_eq!(runs(3) - before, 1, "the second call hits");
}
