//! Red team, promise 5 (issue 9): "a `#[cached]` future is `Send` when its body's
//! is, even when the output is not; a stored type that is not `Send` takes a
//! background-store path that keeps the single flight open until the store
//! finished". Here the stored part itself is not `Send` (it holds
//! `PhantomData<Rc<()>>`), in memory and Redis mode: is the second call a hit, do
//! concurrent callers run the body once, does it work with `tokio::spawn`, with a
//! current-thread runtime, outside any runtime?
//!
//! BREAKS (compile time): such a future is not `Send`, so it cannot be
//! `tokio::spawn`ed at all: see `tests/ui/pass/red_team_send_not_send_stored.rs`.
//! The tests here check the background-store path at run time without `Send`:
//! concurrent callers are `spawn_local`ed on a `LocalSet`.
#![allow(missing_docs)]

mod support;

use std::error::Error;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Wake, Waker};

use cachette::{Cache, Config, cached};
use serde::{Deserialize, Serialize};
use support::gate::gate;
use support::redis::{RedisServer, redis_cache};
use support::wait::joined;

/// A stored value that is neither `Send` nor `Sync`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Local {
    v: u32,
    #[serde(skip)]
    here: PhantomData<Rc<()>>,
}

fn runs(test: u64) -> usize {
    gate(test).runs.load(Ordering::SeqCst)
}

/// The usual application result; neither the error nor the stored value is `Send`.
#[cached(expire = 300, namespace = "local")]
async fn local(test: u64, id: u32) -> Result<Local, Box<dyn Error>> {
    gate(test).pass().await;
    Ok(Local {
        v: id * 2,
        here: PhantomData,
    })
}

/// The value, made `Send` inside the task (the output is not).
async fn value(test: u64, id: u32) -> u32 {
    local(test, id)
        .await
        .map(|l| l.v)
        .unwrap_or_else(|e| panic!("local({test}, {id}) failed: {e}"))
}

fn open(test: u64) {
    gate(test).release.add_permits(1_000);
}

// --- memory mode ---------------------------------------------------------------------------

// HOLDS: a miss then a hit (current-thread runtime, no spawn).
#[tokio::test]
async fn memory_a_not_send_stored_value_is_cached() {
    open(1);
    let cache = Cache::in_memory(Config::memory());
    for _ in 0..2 {
        assert_eq!(cache.scope(value(1, 21)).await, 42);
    }
    assert_eq!(runs(1), 1, "the second call was not a hit");
}

/// Spawns `n` callers (locally: their futures are not `Send`) while the first
/// one's body is held, lets them all join, releases it, and returns their values.
/// Runs inside a `LocalSet`.
async fn concurrent(
    cache: &Cache,
    test: u64,
    n: usize,
    settle: impl Future<Output = ()>,
) -> Vec<u32> {
    let gate = gate(test);
    let first = tokio::task::spawn_local(cache.scope(value(test, 5)));
    gate.read.notified().await;
    let others: Vec<_> = (1..n)
        .map(|_| tokio::task::spawn_local(cache.scope(value(test, 5))))
        .collect();
    settle.await;
    assert_eq!(
        runs(test),
        1,
        "a concurrent caller computed instead of joining"
    );
    open(test);
    let mut values = vec![joined(first).await];
    for other in others {
        values.push(joined(other).await);
    }
    values
}

// HOLDS: concurrent callers of a held miss join its flight and run the body once.
#[tokio::test]
async fn memory_concurrent_callers_run_the_body_once() {
    let cache = Cache::in_memory(Config::memory());
    let values = tokio::task::LocalSet::new()
        .run_until(concurrent(&cache, 2, 6, tokio::task::yield_now()))
        .await;
    assert_eq!(values, vec![10; 6]);
    assert_eq!(runs(2), 1);
    assert_eq!(cache.scope(value(2, 5)).await, 10);
    assert_eq!(runs(2), 1, "not a hit after the flight");
}

/// A minimal executor: polls `future` on this thread, parking between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(value) => return value,
            Poll::Pending => std::thread::park(),
        }
    }
}

// HOLDS: outside any Tokio runtime (a plain executor), memory mode caches it.
#[test]
fn memory_outside_any_runtime_a_not_send_stored_value_is_cached() {
    open(3);
    let cache = Cache::in_memory(Config::memory());
    for _ in 0..2 {
        assert_eq!(block_on(cache.scope(value(3, 4))), 8);
    }
    assert_eq!(runs(3), 1, "the second call was not a hit");
}

// --- Redis mode ----------------------------------------------------------------------------

// HOLDS: current-thread runtime, Redis mode. The call returns before its store
// finished (in the background); the next call of this process waits for it (the
// flight stays open) and is a hit; concurrent callers run the body once; another
// instance finds the value in Redis.
#[tokio::test]
async fn redis_current_thread_second_call_is_a_hit_and_concurrent_callers_run_once() {
    let server = RedisServer::start(&[]);
    let a = redis_cache(&server).await;
    open(10);
    assert_eq!(a.scope(value(10, 1)).await, 2);
    assert_eq!(a.scope(value(10, 1)).await, 2);
    assert_eq!(runs(10), 1, "the call right after the miss computed again");

    // Concurrent: their lookups go out on the cache's one connection before the
    // round trip of this invalidation, so they have joined the flight when it returns.
    let settle = async {
        tokio::task::yield_now().await;
        a.invalidate_namespace("warm-up").await;
    };
    let values = tokio::task::LocalSet::new()
        .run_until(concurrent(&a, 11, 5, settle))
        .await;
    assert_eq!(values, vec![10; 5]);
    assert_eq!(runs(11), 1);

    let b = redis_cache(&server).await;
    assert_eq!(b.scope(value(10, 1)).await, 2);
    assert_eq!(b.scope(value(11, 5)).await, 10);
    assert_eq!(
        (runs(10), runs(11)),
        (1, 1),
        "the background stores never landed"
    );
}
