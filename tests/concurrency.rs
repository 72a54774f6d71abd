//! Concurrent misses run once; invalidation is race-free against slow misses.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::cached;
use support::current;
use support::memory;
use support::wait::permit;
use tokio::sync::{Notify, Semaphore};

// --- 1000 concurrent callers on one cold key ---------------------------------------

const CALLERS: usize = 1000;
static STAMPEDE_RUNS: AtomicUsize = AtomicUsize::new(0);
static STAMPEDE_ENTERED: AtomicUsize = AtomicUsize::new(0);
static STAMPEDE_ALL_IN: Notify = Notify::const_new();

#[cached(namespace = "stampede")]
async fn expensive(id: u64) -> Vec<u64> {
    STAMPEDE_RUNS.fetch_add(1, Ordering::SeqCst);
    // Hold the computation until every caller has called, so they all overlap.
    let wait = STAMPEDE_ALL_IN.notified();
    if STAMPEDE_ENTERED.load(Ordering::SeqCst) < CALLERS {
        wait.await;
    }
    vec![id; 10]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_misses_run_the_function_once() {
    let cache = memory();
    let mut tasks = Vec::with_capacity(CALLERS);
    for _ in 0..CALLERS {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            cache
                .scope(async {
                    if STAMPEDE_ENTERED.fetch_add(1, Ordering::SeqCst) + 1 == CALLERS {
                        STAMPEDE_ALL_IN.notify_waiters();
                    }
                    expensive(9).await
                })
                .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), vec![9; 10]);
    }
    assert_eq!(STAMPEDE_RUNS.load(Ordering::SeqCst), 1);
}

// --- the slow-miss race -------------------------------------------------------------

/// The "database", and gates that let the test interleave a slow miss with a write.
struct Db {
    value: Mutex<&'static str>,
    reads: AtomicUsize,
    read_done: Notify,
    release: Semaphore,
}

static DB: Db = Db {
    value: Mutex::new("v1"),
    reads: AtomicUsize::new(0),
    read_done: Notify::const_new(),
    release: Semaphore::const_new(0),
};

#[cached(namespace = "item")]
async fn read_item(id: u64) -> String {
    let value = current(&DB.value);
    let n = DB.reads.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        // The first read is the slow one: it has read v1 and now stalls.
        DB.read_done.notify_one();
        permit(&DB.release).await;
    }
    format!("{id}:{value}")
}

// Single-threaded on purpose: each `yield_now` runs the spawned calls up to their next
// wait, so the interleaving below is exactly the one written.
#[tokio::test]
async fn a_slow_miss_never_writes_stale_data_back() {
    let cache = memory();
    let slow = tokio::spawn(cache.scope(read_item(1)));
    DB.read_done.notified().await;

    // While the slow miss holds v1: write v2 and invalidate.
    *DB.value.lock().unwrap() = "v2";
    cache.invalidate_namespace("item:1").await;

    // A call that starts now joins the slow miss's flight; it must not take v1.
    let joined = tokio::spawn(cache.scope(read_item(1)));
    tokio::task::yield_now().await;

    DB.release.add_permits(1);
    assert_eq!(
        slow.await.unwrap(),
        "1:v1",
        "the slow call itself started before the write"
    );
    assert_eq!(
        joined.await.unwrap(),
        "1:v2",
        "a call made after the invalidation sees v2"
    );
    assert_eq!(cache.scope(read_item(1)).await, "1:v2", "v1 was not stored");
}

// --- cancellation --------------------------------------------------------------------

static CANCEL_RUNS: AtomicUsize = AtomicUsize::new(0);
static CANCEL_STARTED: Notify = Notify::const_new();

#[cached(namespace = "cancel")]
async fn cancellable(first_hangs: bool) -> u32 {
    let run = CANCEL_RUNS.fetch_add(1, Ordering::SeqCst);
    if first_hangs && run == 0 {
        CANCEL_STARTED.notify_one();
        std::future::pending::<()>().await;
    }
    7
}

#[tokio::test]
async fn a_cancelled_computation_hands_over_to_a_waiter() {
    let cache = memory();
    let leader = tokio::spawn(cache.scope(cancellable(true)));
    CANCEL_STARTED.notified().await;
    let waiter = tokio::spawn(cache.scope(cancellable(true)));
    tokio::task::yield_now().await;
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    assert_eq!(waiter.await.unwrap(), 7);
    assert_eq!(CANCEL_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(cache.scope(cancellable(true)).await, 7);
    assert_eq!(
        CANCEL_RUNS.load(Ordering::SeqCst),
        2,
        "the waiter's value was stored"
    );
}

// --- errors under concurrency --------------------------------------------------------

static FAIL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "fail")]
async fn failing() -> Result<u32, String> {
    FAIL_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    Err("database down".into())
}

#[tokio::test]
async fn concurrent_errors_are_each_callers_own() {
    let cache = memory();
    let results = cache
        .scope(async {
            let calls: Vec<_> = (0..10).map(|_| failing()).collect();
            futures_join_all(calls).await
        })
        .await;
    assert!(results.iter().all(Result::is_err));
    assert_eq!(
        FAIL_RUNS.load(Ordering::SeqCst),
        10,
        "an Err is never shared nor stored"
    );
}

/// A small join_all, to avoid a dependency for one test.
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[test]
fn cached_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let cache = memory();
    is_send(&cache.scope(read_item(1)));
    is_send(&expensive(1));
}
