//! What the integration tests share, written once: counters of runs, bounded waits,
//! gated computations, in-process HTTP, captured logs, `redis-server` processes and
//! local Redis Clusters of them.
//!
//! Every test file is a crate of its own that declares `mod support;` and uses a
//! part of it; what one file leaves unused is not dead code, hence the allow.
#![allow(dead_code)]

pub(crate) mod cluster;
pub(crate) mod counter;
pub(crate) mod gate;
pub(crate) mod http;
pub(crate) mod logs;
pub(crate) mod redis;
pub(crate) mod wait;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, even if a panic poisoned it (that test failed already).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a computation reads of `data` now: the test changes it between calls
/// to tell a stale value from a fresh one.
pub(crate) fn current(data: &Mutex<&'static str>) -> &'static str {
    *lock(data)
}

/// A cache of its own in memory mode (default settings): no other test shares
/// its entries.
pub(crate) fn memory() -> cachette::Cache {
    cachette::Cache::in_memory(cachette::Config::memory())
}
