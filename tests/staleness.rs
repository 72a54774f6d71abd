//! Staleness on purpose, for values in memory mode, with tokio's clock paused so
//! that every window is tested one second inside and one second outside:
//! `stale_while_revalidate`, `stale_if_error`, `early_refresh` (XFetch), and
//! invalidation beating every rule.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use cachette::{Cache, Config, cached};
use support::wait::within;
use support::{current, lock, memory};
use tokio::sync::watch;
use tokio::time::advance;

/// Runs that finished (counted at the very end of each body, so the store of a
/// background refresh has happened by the time a waiter sees the count).
struct Runs(LazyLock<watch::Sender<usize>>);

impl Runs {
    const fn new() -> Runs {
        Runs(LazyLock::new(|| watch::Sender::new(0)))
    }

    fn done(&self) {
        self.0.send_modify(|n| *n += 1);
    }

    fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// Waits until `n` runs finished.
    async fn until(&self, n: usize) {
        let mut rx = self.0.subscribe();
        within(&format!("{n} runs"), rx.wait_for(|runs| *runs >= n))
            .await
            .unwrap_or_else(|_| unreachable!("the sender is static"));
    }
}

static SWR_DATA: Mutex<&str> = Mutex::new("v1");
static SWR_RUNS: Runs = Runs::new();

#[cached(namespace = "swr", expire = 10, stale_while_revalidate = 5)]
async fn swr(id: u64) -> String {
    let value = format!("{}:{id}", current(&SWR_DATA));
    SWR_RUNS.done();
    value
}

#[tokio::test(start_paused = true)]
async fn stale_while_revalidate_serves_at_once_and_refreshes_once_in_the_background() {
    memory()
        .scope(async {
            assert_eq!(swr(1).await, "v1:1");
            *lock(&SWR_DATA) = "v2";
            // Fresh until 10 s.
            advance(Duration::from_secs(9)).await;
            assert_eq!(swr(1).await, "v1:1");
            assert_eq!(SWR_RUNS.count(), 1);
            // 1 s after expiry: the expired value at once, and one refresh.
            advance(Duration::from_secs(2)).await;
            assert_eq!(swr(1).await, "v1:1", "served stale, at once");
            SWR_RUNS.until(2).await;
            assert_eq!(swr(1).await, "v2:1", "the refresh stored the new value");
            assert_eq!(SWR_RUNS.count(), 2);

            // The window's far edge: 4 s after expiry, stale; 6 s after, a miss
            // that waits for the function.
            *lock(&SWR_DATA) = "v3";
            advance(Duration::from_secs(14)).await; // 4 s past the new entry's expiry
            assert_eq!(swr(1).await, "v2:1");
            SWR_RUNS.until(3).await;
            *lock(&SWR_DATA) = "v4";
            advance(Duration::from_secs(16)).await; // 6 s past the v3 entry's expiry
            assert_eq!(swr(1).await, "v4:1", "past the window: computed in line");
            assert_eq!(SWR_RUNS.count(), 4);
        })
        .await;
}

static GATED_RUNS: AtomicUsize = AtomicUsize::new(0);
static GATE_OPEN: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(0));
static GATED_DATA: Mutex<&str> = Mutex::new("v1");
static GATED_DONE: Runs = Runs::new();
static REFRESH_STARTED: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[cached(namespace = "swr_gated", expire = 10, stale_while_revalidate = 60)]
async fn gated(id: u64) -> String {
    let value = format!("{}:{id}", current(&GATED_DATA));
    if GATED_RUNS.fetch_add(1, Ordering::SeqCst) > 0 {
        // Refreshes wait to be let through: they stay in flight while the
        // stale hits arrive.
        REFRESH_STARTED.notify_one();
        support::wait::permit(&GATE_OPEN).await;
    }
    GATED_DONE.done();
    value
}

#[tokio::test(start_paused = true)]
async fn a_thousand_concurrent_stale_hits_start_one_refresh() {
    memory()
        .scope(async {
            assert_eq!(gated(1).await, "v1:1");
            *lock(&GATED_DATA) = "v2";
            advance(Duration::from_secs(11)).await;
            let calls: Vec<_> = (0..1000).map(|_| gated(1)).collect();
            let values = futures_util::future::join_all(calls).await;
            assert!(
                values.iter().all(|v| v == "v1:1"),
                "every call got the stale value at once"
            );
            // The refresh runs in a task of its own; 1,000 more stale hits while
            // it is in flight start no other.
            within("the refresh starts", REFRESH_STARTED.notified()).await;
            let calls: Vec<_> = (0..1000).map(|_| gated(1)).collect();
            let values = futures_util::future::join_all(calls).await;
            assert!(values.iter().all(|v| v == "v1:1"));
            assert_eq!(
                GATED_RUNS.load(Ordering::SeqCst),
                2,
                "the first run and one refresh"
            );
            GATE_OPEN.add_permits(1);
            GATED_DONE.until(2).await;
            assert_eq!(gated(1).await, "v2:1", "the refresh stored the new value");
            assert_eq!(GATED_RUNS.load(Ordering::SeqCst), 2);
        })
        .await;
}

static SIE_FAIL: AtomicBool = AtomicBool::new(false);
static SIE_PANIC: AtomicBool = AtomicBool::new(false);
static SIE_DATA: Mutex<&str> = Mutex::new("v1");
static SIE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "sie", expire = 10, stale_if_error = 5)]
async fn sie(id: u64) -> Result<String, String> {
    SIE_RUNS.fetch_add(1, Ordering::SeqCst);
    if SIE_PANIC.load(Ordering::SeqCst) {
        panic!("the database is on fire");
    }
    if SIE_FAIL.load(Ordering::SeqCst) {
        return Err("database down".into());
    }
    Ok(format!("{}:{id}", current(&SIE_DATA)))
}

#[tokio::test(start_paused = true)]
async fn stale_if_error_returns_the_expired_value_when_the_recomputation_fails_and_only_within_its_window()
 {
    memory()
        .scope(async {
            assert_eq!(sie(1).await.unwrap(), "v1:1");
            SIE_FAIL.store(true, Ordering::SeqCst);
            // Before expiry: a hit, the function does not run.
            advance(Duration::from_secs(9)).await;
            assert_eq!(sie(1).await.unwrap(), "v1:1");
            assert_eq!(SIE_RUNS.load(Ordering::SeqCst), 1);
            // 1 s and 4 s after expiry: the function runs, fails, the old value returns.
            advance(Duration::from_secs(2)).await;
            assert_eq!(sie(1).await.unwrap(), "v1:1");
            advance(Duration::from_secs(3)).await;
            assert_eq!(sie(1).await.unwrap(), "v1:1");
            assert_eq!(SIE_RUNS.load(Ordering::SeqCst), 3, "each call recomputed");
            // A panic counts as a failure too.
            SIE_PANIC.store(true, Ordering::SeqCst);
            assert_eq!(sie(1).await.unwrap(), "v1:1");
            SIE_PANIC.store(false, Ordering::SeqCst);
            // 6 s after expiry: the error is the answer.
            advance(Duration::from_secs(2)).await;
            assert_eq!(sie(1).await.unwrap_err(), "database down");
            // The error was never cached: a success is stored and served.
            SIE_FAIL.store(false, Ordering::SeqCst);
            *lock(&SIE_DATA) = "v2";
            assert_eq!(sie(1).await.unwrap(), "v2:1");
            let runs = SIE_RUNS.load(Ordering::SeqCst);
            assert_eq!(sie(1).await.unwrap(), "v2:1");
            assert_eq!(SIE_RUNS.load(Ordering::SeqCst), runs);
        })
        .await;
}

static SIE_PANIC_ONLY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "sie_panic", expire = 10, stale_if_error = 5)]
async fn panics_after_the_first(id: u64) -> Option<u64> {
    if SIE_PANIC_ONLY_RUNS.fetch_add(1, Ordering::SeqCst) > 0 {
        panic!("boom");
    }
    Some(id)
}

#[tokio::test(start_paused = true)]
async fn outside_stale_if_error_a_panic_still_reaches_the_caller() {
    let cache = memory();
    cache
        .scope(async { assert_eq!(panics_after_the_first(3).await, Some(3)) })
        .await;
    advance(Duration::from_secs(12)).await;
    assert_eq!(
        cache.scope(panics_after_the_first(3)).await,
        Some(3),
        "within the window the panic is answered with the old value"
    );
    advance(Duration::from_secs(4)).await;
    let task = tokio::spawn(cache.scope(panics_after_the_first(3)));
    let error = task
        .await
        .expect_err("past the window the panic propagates");
    assert!(error.is_panic());
}

static INV_DATA: Mutex<&str> = Mutex::new("v1");
static INV_FAIL: AtomicBool = AtomicBool::new(false);

#[cached(
    namespace = "inv",
    expire = 10,
    stale_while_revalidate = 30,
    stale_if_error = 30
)]
async fn both_rules(id: u64) -> Result<String, String> {
    if INV_FAIL.load(Ordering::SeqCst) {
        return Err("down".into());
    }
    Ok(format!("{}:{id}", current(&INV_DATA)))
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_entry_is_never_served_stale() {
    let cache = memory();
    cache
        .scope(async {
            assert_eq!(both_rules(1).await.unwrap(), "v1:1");
            *lock(&INV_DATA) = "v2";
            advance(Duration::from_secs(11)).await;
            cachette::invalidate_namespace("inv").await;
            // Within both windows, but invalidated: computed in line.
            assert_eq!(both_rules(1).await.unwrap(), "v2:1");
            // And a failure then is an error, not the invalidated value.
            advance(Duration::from_secs(11)).await;
            cachette::invalidate_namespace("inv").await;
            INV_FAIL.store(true, Ordering::SeqCst);
            assert_eq!(both_rules(1).await.unwrap_err(), "down");
        })
        .await;
}

static EARLY_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Δ = 50 ms, on the paused clock.
#[cached(namespace = "early", expire = 10, early_refresh = true)]
async fn early(id: u64) -> u64 {
    EARLY_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    id
}

/// XFetch: a hit `r` before expiry refreshes with probability exp(−r/(Δβ)).
/// 2,000 keys stored together, each hit once at r = Δ (expected share 1/e) and
/// then, on fresh keys, at r = 3Δ (e^-3).
#[tokio::test(start_paused = true)]
async fn early_refresh_happens_before_expiry_at_the_predicted_rate() {
    let cache = memory();
    cache.seed_early_refresh(2015);
    for (round, remaining_in_deltas) in [(0u64, 1u32), (1, 3)] {
        let keys: Vec<u64> = (0..2000).map(|i| round * 10_000 + i).collect();
        cache
            .scope(futures_util::future::join_all(
                keys.iter().map(|&k| early(k)),
            ))
            .await;
        let before = EARLY_RUNS.load(Ordering::SeqCst);
        advance(Duration::from_secs(10) - Duration::from_millis(50) * remaining_in_deltas).await;
        let values = cache
            .scope(futures_util::future::join_all(
                keys.iter().map(|&k| early(k)),
            ))
            .await;
        assert_eq!(values, keys, "every call got the current value at once");
        // The refreshes run in tasks of their own: the paused clock moves on
        // only once every task waits on it, so they have all finished by 1 s.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let refreshes = EARLY_RUNS.load(Ordering::SeqCst) - before;
        let expected = (-f64::from(remaining_in_deltas)).exp() * 2000.0;
        let share = refreshes as f64 / expected;
        assert!(
            (0.85..1.15).contains(&share),
            "r = {remaining_in_deltas}Δ: {refreshes} refreshes, expected about {expected:.0}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_windows_come_from_the_configuration() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static FAIL: AtomicBool = AtomicBool::new(false);

    #[cached(namespace = "configured", expire = 10)]
    async fn configured(id: u64) -> Result<u64, String> {
        RUNS.fetch_add(1, Ordering::SeqCst);
        if FAIL.load(Ordering::SeqCst) {
            return Err("down".into());
        }
        Ok(id)
    }

    let config = Config::builder()
        .enabled(true)
        .stale_if_error(Duration::from_secs(5))
        .build()
        .expect("a valid configuration");
    let cache = Cache::in_memory(config);
    cache
        .scope(async {
            assert_eq!(configured(8).await, Ok(8));
            FAIL.store(true, Ordering::SeqCst);
            advance(Duration::from_secs(14)).await;
            assert_eq!(configured(8).await, Ok(8), "CACHE_STALE_IF_ERROR applies");
            advance(Duration::from_secs(2)).await;
            assert_eq!(configured(8).await, Err("down".into()));
        })
        .await;
}
