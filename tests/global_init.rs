//! The global cache's life cycle: before `init`, `init`, `init` again.
//!
//! One test function, because the global cache is once per process.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Config, InitError, Mode, cached};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "life")]
async fn lifecycle(x: u32) -> u32 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[tokio::test]
async fn before_init_init_and_init_again() {
    let logs = support::logs::Logs::capture();
    assert!(cachette::global().is_none());

    // Before init: runs uncached, warns once (not once per call), fails nothing.
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(
        logs.count("called before cachette::init()"),
        1,
        "{}",
        logs.text()
    );
    assert!(
        logs.text().contains("global_init::lifecycle"),
        "{}",
        logs.text()
    );
    cachette::invalidate_namespace("life").await;
    cachette::invalidate_user_cache(1).await;

    // init: caching starts.
    let cache = cachette::init(Config::memory()).await.unwrap();
    assert_eq!(cache.mode(), Mode::Memory);
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);

    // init again: an error, and the first configuration stays.
    let err = cachette::init(Config::disabled()).await.unwrap_err();
    assert_eq!(err, InitError::AlreadyInitialized { mode: Mode::Memory });
    assert!(err.to_string().contains("already initialised"), "{err}");
    assert_eq!(cachette::global().unwrap().mode(), Mode::Memory);
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "still cached by the first cache"
    );

    // Invalidation through the global cache.
    cachette::invalidate_namespace("life").await;
    assert_eq!(lifecycle(1).await, 1);
    assert_eq!(CALLS.load(Ordering::SeqCst), 4);
}
