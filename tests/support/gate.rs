//! Holding a computation at a chosen point: a slow miss reads its data, says so,
//! then waits to be released, so a test can invalidate, flush or restart Redis in
//! between without sleeping.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::{Notify, Semaphore};

/// What one test's computations read, and where they wait.
pub(crate) struct Gate {
    /// The data the computation reads (starts as `"v1"`).
    pub(crate) value: Mutex<&'static str>,
    /// How many computations ran.
    pub(crate) runs: AtomicUsize,
    /// Notified when a computation has read `value`.
    pub(crate) read: Notify,
    /// A computation waits for a permit after reading.
    pub(crate) release: Semaphore,
}

static GATES: LazyLock<Mutex<HashMap<u64, Arc<Gate>>>> = LazyLock::new(Mutex::default);

/// The gate of test `test` (tests run in parallel: each has its own).
pub(crate) fn gate(test: u64) -> Arc<Gate> {
    let mut gates = GATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(gates.entry(test).or_insert_with(|| {
        Arc::new(Gate {
            value: Mutex::new("v1"),
            runs: AtomicUsize::new(0),
            read: Notify::new(),
            release: Semaphore::new(0),
        })
    }))
}
