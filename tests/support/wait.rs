//! Bounded waits: a test waits for an event, never for a time, and a wait that
//! never ends fails the test with what it waited for instead of hanging it.

use std::future::Future;
use std::time::Duration;

use cachette::{Cache, RedisHealth};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// How long any wait may take before the test fails: far longer than a healthy
/// wait on a loaded machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// Awaits `future`; panics with `what` if it takes longer than [`PATIENCE`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} (waited {PATIENCE:?})"))
}

/// Waits until `cache` reports `health` (Redis mode).
pub(crate) async fn until(cache: &Cache, health: RedisHealth) {
    let mut rx = cache
        .redis_health()
        .unwrap_or_else(|| panic!("not in Redis mode"));
    within(
        &format!("Redis health never became {health:?}"),
        rx.wait_for(|h| *h == health),
    )
    .await
    .unwrap_or_else(|_| panic!("the cache dropped its Redis health"));
}

/// Waits until `cache` serves from Redis again.
pub(crate) async fn until_up(cache: &Cache) {
    until(cache, RedisHealth::Up).await;
}

/// Waits for a permit of `release` (the test adds them) and uses it up.
pub(crate) async fn permit(release: &Semaphore) {
    release
        .acquire()
        .await
        .unwrap_or_else(|_| panic!("a test's semaphore is never closed"))
        .forget();
}

/// What the spawned `task` returned; panics with its own failure if it failed.
pub(crate) async fn joined<T>(task: JoinHandle<T>) -> T {
    task.await.unwrap_or_else(|e| panic!("{e}"))
}
