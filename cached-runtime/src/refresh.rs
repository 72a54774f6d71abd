//! A refresh in the background: the call's own future, run in a task of its own
//! while the call answers with the stored entry (`stale_while_revalidate`,
//! `early_refresh`; see `stale`). The future already owns the call's arguments,
//! so nothing is copied; `probe::spawn` decides whether it may be spawned.

use std::future::Future;

/// What a refresh needs besides the call's future: the call's key and reader,
/// and the flight it leads. Handed by the runtime to the generated code's
/// [`SpawnMode`](crate::probe::SpawnMode), which spawns it or gives it back.
pub struct Refresh<R, T> {
    job: Job<R, T>,
}

impl<R, T> std::fmt::Debug for Refresh<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresh").finish_non_exhaustive()
    }
}

/// The refreshes there are.
pub(crate) enum Job<R, T> {
    /// A value call's.
    Value(crate::cached::ValueRefresh<R, T>),
}

impl<R, T> Refresh<R, T> {
    /// The refresh of a value call.
    pub(crate) fn value(job: crate::cached::ValueRefresh<R, T>) -> Self {
        Refresh {
            job: Job::Value(job),
        }
    }

    /// What it refreshes.
    pub(crate) fn into_job(self) -> Job<R, T> {
        self.job
    }

    /// Spawns the refresh of `body` on the current tokio runtime, or gives both
    /// back when there is none.
    #[allow(clippy::result_large_err)] // hands the future back unchanged
    pub(crate) fn spawn<F>(self, body: F) -> Result<(), (F, Self)>
    where
        F: Future<Output = R> + Send + 'static,
        R: 'static,
        T: 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err((body, self));
        };
        match self.job {
            Job::Value(mut job) => {
                let body = job.scoped(body);
                // Typed as a `Send` trait object where the bounds are at hand:
                // the compiler cannot prove the opaque future `Send` for every
                // lifetime at the spawn otherwise.
                let task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                    Box::pin(crate::cached::refresh(job, body));
                runtime.spawn(task);
            }
        }
        Ok(())
    }
}
