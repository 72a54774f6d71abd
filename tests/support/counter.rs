//! How often a computation ran: a call that does not add a run was a hit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The runs of one computation, for a `static` (`Counter::new()` is `const`) or a
/// field.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicUsize);

impl Counter {
    /// No runs yet.
    pub(crate) const fn new() -> Counter {
        Counter(AtomicUsize::new(0))
    }

    /// Counts one run; returns the runs so far, this one included.
    pub(crate) fn tick(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The runs so far.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A [`Counter`] shared by its clones: the `State` of axum handlers, which the
/// test keeps a clone of.
#[derive(Clone, Debug, Default)]
pub(crate) struct Runs(Arc<Counter>);

impl Runs {
    /// Counts one run; returns the runs so far, this one included.
    pub(crate) fn tick(&self) -> usize {
        self.0.tick()
    }

    /// The runs so far.
    pub(crate) fn count(&self) -> usize {
        self.0.count()
    }
}
