//! A `#[cached]` function whose output is not `Send` (an error type such as
//! `Box<dyn Error>`) but whose body's future is, returns a `Send` future: it can be
//! spawned, and caches like any other (issue 9, item 7).
#![allow(missing_docs)]

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, Config, cached};

static DOUBLE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// The usual application result: the error is not `Send`.
type AppResult<T> = Result<T, Box<dyn Error>>;

#[cached(namespace = "double")]
async fn double(x: u32) -> AppResult<u32> {
    tokio::task::yield_now().await;
    DOUBLE_RUNS.fetch_add(1, Ordering::SeqCst);
    if x == 0 {
        return Err("zero".into());
    }
    Ok(x * 2)
}

// issue 9, item 7: the cached future held the non-`Send` output across an await, so it
// was not `Send` and could not be spawned (this file did not compile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_send_output_with_a_send_body_is_spawned_and_cached() {
    let cache = Cache::in_memory(Config::memory());
    for _ in 0..2 {
        // `tokio::spawn` needs a `Send` output too: the error becomes a `String`
        // inside the task, after the cached future completed.
        let value =
            tokio::spawn(cache.scope(async { double(21).await.map_err(|e| e.to_string()) }))
                .await
                .unwrap();
        assert_eq!(value, Ok(42));
    }
    assert_eq!(
        DOUBLE_RUNS.load(Ordering::SeqCst),
        1,
        "one miss, then one hit"
    );
    let error = tokio::spawn(cache.scope(async { double(0).await.map_err(|e| e.to_string()) }))
        .await
        .unwrap();
    assert_eq!(error, Err("zero".to_owned()));
}
