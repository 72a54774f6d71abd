//! Red team of issue 13 (staleness on purpose): each test here is a promise of
//! `stale.rs`/`lookup.rs` that the first implementation broke, written as the
//! test that failed until it was fixed (all four are fixed: see RELIABILITY.md,
//! "Adversarial review of staleness"). Every test's doc comment says what was
//! wrong, what should happen, and where the cause was.
//!
//! Memory mode runs on tokio's paused clock; Redis mode runs real
//! `redis-server`s on free ports (Redis keeps its own clock: windows of one
//! second, waited for in real time).
#![allow(missing_docs)]

mod support;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cachette::cached;
use support::memory;
use support::redis::{RedisServer, config, serving};
use support::wait::{joined, permit, within};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::advance;

// ---------------------------------------------------------------------------
// stale_if_error after an invalidation made while the recomputation ran
// ---------------------------------------------------------------------------

static INV_RUNS: AtomicUsize = AtomicUsize::new(0);
static INV_STARTED: Notify = Notify::const_new();
static INV_GATE: Semaphore = Semaphore::const_new(0);

#[cached(namespace = "red_sie_inv", expire = 10, stale_if_error = 30)]
async fn sie_then_invalidated(id: u64) -> Result<String, String> {
    if INV_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Ok(format!("v1:{id}"));
    }
    // The recomputation reaches the database after the data changed (the
    // test invalidates meanwhile), and the database fails.
    INV_STARTED.notify_one();
    permit(&INV_GATE).await;
    Err("database down".into())
}

/// Was a BREAK, fixed (promise 1: never serve what was invalidated, under any rule).
///
/// What happens: an entry expired 1 s ago (inside `stale_if_error = 30`); a call
/// recomputes it; while the function runs, the namespace is invalidated
/// (`invalidate_namespace` returns); then the function fails. The call returns
/// the expired value "v1:1", which the invalidation covers, although the
/// invalidation returned before the failure and before the answer.
///
/// What should happen: the fallback is checked as a waiter's entry is (is it
/// still fresh, no invalidation covering it since its stamp?) before it is
/// returned; invalidated, the failure is the answer (as
/// `an_invalidated_entry_is_never_served_stale` already asserts when the
/// invalidation comes first).
///
/// Cause: `cached.rs`, `stale_instead` returns `miss.fallback` (captured by
/// `lookup` at the stale lookup) without `store.is_fresh(key, entry.stamp)`.
/// Same for a panic, a `None`, and the in-line refresh of `revalidate`
/// (`fallback: within_if_error.then_some(entry)`), and in Redis mode.
#[tokio::test(start_paused = true)]
async fn stale_if_error_returns_a_value_invalidated_while_the_recomputation_ran() {
    let cache = memory();
    assert_eq!(
        cache.scope(sie_then_invalidated(1)).await.as_deref(),
        Ok("v1:1")
    );
    advance(Duration::from_secs(11)).await;
    let call = tokio::spawn(cache.scope(sie_then_invalidated(1)));
    within("the recomputation starts", INV_STARTED.notified()).await;
    cache
        .scope(cachette::invalidate_namespace("red_sie_inv"))
        .await;
    INV_GATE.add_permits(1);
    assert_eq!(
        joined(call).await,
        Err("database down".to_owned()),
        "the namespace was invalidated before the recomputation failed: its old value must not be the answer"
    );
}

// ---------------------------------------------------------------------------
// stale_if_error past its window
// ---------------------------------------------------------------------------

static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "red_sie_slow", expire = 10, stale_if_error = 5)]
async fn slow_failure(id: u64) -> Result<String, String> {
    if SLOW_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        return Ok(format!("v1:{id}"));
    }
    // A database that times out after 10 s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    Err("database timed out".into())
}

/// Was a BREAK, fixed (promise 5: `stale_if_error` only within the window).
///
/// What happens: with `expire = 10, stale_if_error = 5`, a call 4 s after
/// expiry recomputes; the function fails 10 s later, 14 s after expiry. The
/// call returns the expired value, 9 s older than `stale_if_error` allows (and
/// the store had already dropped it: it keeps an entry 5 s past its expiry).
///
/// What should happen: the window holds when the failure is answered (RFC 5861:
/// a response stale by more than N is not used): 14 s after expiry the failure
/// is the answer.
///
/// Cause: `lookup.rs` decides `Verdict::IfError` at the lookup and hands the
/// entry over as `Miss::fallback`; `cached.rs`, `stale_instead`, never checks
/// `entry.expired_for() <= windows.if_error` when the failure comes.
#[tokio::test(start_paused = true)]
async fn stale_if_error_returns_a_value_past_its_window_when_the_failure_comes_late() {
    let cache = memory();
    assert_eq!(cache.scope(slow_failure(1)).await.as_deref(), Ok("v1:1"));
    advance(Duration::from_secs(14)).await; // 4 s past expiry: inside the window
    let started = tokio::time::Instant::now();
    let answer = cache.scope(slow_failure(1)).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "the function ran"
    );
    assert_eq!(
        answer,
        Err("database timed out".to_owned()),
        "the failure came 14 s after expiry, past stale_if_error = 5"
    );
}

// ---------------------------------------------------------------------------
// Redis: an in-line refresh takes no lease
// ---------------------------------------------------------------------------

static INLINE_STARTS: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));
static INLINE_GATE: Semaphore = Semaphore::const_new(0);

/// No `stale_while_revalidate` written: its future is not required to be
/// spawnable (`NoSpawn`), so `CACHE_STALE_WHILE_REVALIDATE` makes the call that
/// finds the stale entry refresh it in line.
#[cached(namespace = "red_inline_lock", expire = 1)]
async fn inline_refreshed(id: u64) -> String {
    let mut run = 0;
    INLINE_STARTS.send_modify(|n| {
        *n += 1;
        run = *n;
    });
    if run > 1 {
        permit(&INLINE_GATE).await;
    }
    format!("run{run}:{id}")
}

/// Was a BREAK, fixed (promise 5: one refresh per key across instances with the
/// distributed lock).
///
/// What happens: two instances share Redis, `REDIS_DISTRIBUTED_LOCK` on (the
/// default), `CACHE_STALE_WHILE_REVALIDATE = 5`, and a function whose future is
/// not spawned (`NoSpawn`: no `stale_while_revalidate` written on it). Instance
/// A finds the entry expired and refreshes it in line; while it runs, instance
/// B finds the same expired entry and refreshes it too: the function runs twice
/// at once, for one key, across the fleet.
///
/// What should happen: B sees that another process refreshes the key (its
/// lease) and answers with the stale value at once, as a call of A's process
/// would (`Found::Stale`).
///
/// Cause: `lookup.rs`, `revalidate` makes a `Miss` with `lease: None`;
/// `cached.rs`, `run` takes it in line (`Err((body, refresh))` →
/// `compute`), which never claims the key's lease: only the background
/// `refresh` does (`redis.claim`).
#[tokio::test]
async fn an_in_line_refresh_takes_no_lease_so_two_instances_refresh_at_once() {
    let server = RedisServer::start(&[]);
    let settings = || config(server.url()).stale_while_revalidate(Duration::from_secs(5));
    let (a, b) = (serving(settings()).await, serving(settings()).await);
    assert_eq!(a.scope(inline_refreshed(1)).await, "run1:1");
    // Redis's clock: the entry expires after 1 s.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let in_line = tokio::spawn(a.scope(inline_refreshed(1)));
    let mut starts = INLINE_STARTS.subscribe();
    within("A refreshes in line", starts.wait_for(|n| *n >= 2))
        .await
        .unwrap_or_else(|_| unreachable!("static sender"));

    let other = tokio::spawn(b.scope(inline_refreshed(1)));
    let b_recomputed = within("B answers or recomputes", async {
        tokio::select! {
            answer = other => {
                assert_eq!(answer.unwrap_or_else(|e| panic!("{e}")), "run1:1", "B: the stale value");
                false
            }
            _ = starts.wait_for(|n| *n >= 3) => true,
        }
    })
    .await;
    INLINE_GATE.add_permits(2);
    let _ = joined(in_line).await;
    assert!(
        !b_recomputed,
        "instance B ran the function while instance A refreshed the key in line: {} runs for one key",
        *INLINE_STARTS.borrow()
    );
}

// ---------------------------------------------------------------------------
// Redis: a background refresh that takes the lease after another refreshed
// ---------------------------------------------------------------------------

static RACE_RUNS: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));

#[cached(namespace = "red_refresh_race", expire = 1, stale_while_revalidate = 5)]
async fn raced(id: u64) -> String {
    let mut run = 0;
    RACE_RUNS.send_modify(|n| {
        *n += 1;
        run = *n;
    });
    format!("run{run}:{id}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a tokio runtime: {e}"))
}

/// Was a BREAK (promise 5: with the distributed lock, one refresh per key in
/// all): instances A and B (each on a runtime of its own) found the same expired
/// entry within `stale_while_revalidate`; both answered with it and spawned a
/// refresh, each claiming the lease only in its task, so a late task took the
/// free lease after the other had stored and ran the function again.
///
/// Fixed: the call that leads the refresh takes the key's lease in the lookup,
/// before it answers (`lookup.rs`, `revalidate`, which also looks once more
/// after taking it): the other instance finds it held and answers stale
/// without refreshing, or finds the refreshed value. Two runs for one expiry.
#[test]
fn a_refresh_that_takes_the_lease_after_another_instance_refreshed_runs_again() {
    let server = RedisServer::start(&[]);
    let (a_runtime, b_runtime) = (runtime(), runtime());
    let a = a_runtime.block_on(serving(config(server.url())));
    let b = b_runtime.block_on(serving(config(server.url())));
    assert_eq!(a_runtime.block_on(a.scope(raced(1))), "run1:1");
    // Redis's clock: the entry expires after 1 s.
    std::thread::sleep(Duration::from_millis(1_200));

    // Both answer stale at once; whichever takes the lease refreshes (the other
    // finds it held: A's own release of its first lease runs only when A's
    // runtime is driven again, so it may well be A).
    assert_eq!(b_runtime.block_on(b.scope(raced(1))), "run1:1");
    assert_eq!(a_runtime.block_on(a.scope(raced(1))), "run1:1");
    // Each instance driven until it serves the refreshed value (its calls answer
    // stale until then).
    for (runtime, cache) in [(&a_runtime, &a), (&b_runtime, &b), (&a_runtime, &a)] {
        runtime.block_on(within("the refreshed value", async {
            while cache.scope(raced(1)).await != "run2:1" {
                tokio::task::yield_now().await;
            }
        }));
    }
    assert_eq!(*RACE_RUNS.borrow(), 2, "one refresh for one expiry");
}
