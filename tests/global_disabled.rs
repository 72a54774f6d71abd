//! A process whose global cache is disabled (`CACHE_ENABLED=false`, the default).
#![allow(missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, Config, Mode, cached};

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "off")]
async fn work(x: u32) -> u32 {
    CALLS.fetch_add(1, Ordering::SeqCst);
    x
}

#[tokio::test]
async fn disabled_runs_every_call_and_scopes_still_cache() {
    let config = Config::from_lookup(|_| None).unwrap();
    assert_eq!(
        config.mode(),
        Mode::Disabled,
        "CACHE_ENABLED defaults to false"
    );
    let cache = cachette::init(config).await.unwrap();
    assert!(!cache.is_enabled());
    for _ in 0..3 {
        assert_eq!(work(5).await, 5);
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    cachette::invalidate_namespace("off").await;

    // An explicit instance caches even though the global cache is disabled.
    let memory = Cache::in_memory(Config::memory());
    memory.scope(work(5)).await;
    memory.scope(work(5)).await;
    assert_eq!(CALLS.load(Ordering::SeqCst), 4);
    // And outside the scope, the disabled global applies again.
    work(5).await;
    assert_eq!(CALLS.load(Ordering::SeqCst), 5);
}
