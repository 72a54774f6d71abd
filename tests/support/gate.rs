//! Holding a computation at a chosen point: a slow miss reads its data, says so,
//! then waits to be released, so a test can invalidate, flush or restart Redis in
//! between without sleeping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    let mut gates = super::lock(&GATES);
    Arc::clone(gates.entry(test).or_insert_with(|| {
        Arc::new(Gate {
            value: Mutex::new("v1"),
            runs: AtomicUsize::new(0),
            read: Notify::new(),
            release: Semaphore::new(0),
        })
    }))
}

impl Gate {
    /// The data as it is now.
    pub(crate) fn current(&self) -> &'static str {
        super::current(&self.value)
    }

    /// Changes the data.
    pub(crate) fn set(&self, value: &'static str) {
        *super::lock(&self.value) = value;
    }

    /// One slow read: reads the data, counts the run, says so (`read`), then
    /// waits for a permit of `release`. Returns what it read.
    pub(crate) async fn pass(&self) -> &'static str {
        let value = self.current();
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.read.notify_one();
        super::wait::permit(&self.release).await;
        value
    }
}
