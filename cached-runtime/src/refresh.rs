//! A refresh in the background: the call's own future, run in a task of its own
//! while the call answers with the stored entry (`stale_while_revalidate`,
//! `early_refresh`; see `stale`). The future already owns the call's arguments,
//! so nothing is copied; `probe::spawn` decides whether it may be spawned. A
//! value call's refresh stores a value (`cached::refresh`), a handler's the
//! response its output makes (`http::refresh`).

use std::future::Future;

/// What a refresh needs besides the call's future: the call's key and reader,
/// and the flight it leads. Handed by the runtime to the generated code's
/// [`SpawnMode`](crate::probe::SpawnMode), which spawns it or gives it back.
pub struct Refresh<R, T> {
    kind: Kind<R, T>,
}

impl<R, T> std::fmt::Debug for Refresh<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresh").finish_non_exhaustive()
    }
}

/// The refreshes there are.
enum Kind<R, T> {
    /// A value call's.
    Value(crate::cached::ValueRefresh<R, T>),
    /// A handler's, whose output becomes the response stored (see
    /// `http::refresh`).
    #[cfg(feature = "axum")]
    Http(crate::http::HttpRefresh<R>),
}

impl<R, T> Refresh<R, T> {
    /// The refresh of a value call.
    pub(crate) fn value(job: crate::cached::ValueRefresh<R, T>) -> Self {
        Refresh {
            kind: Kind::Value(job),
        }
    }

    /// The refresh of a handler's entry.
    #[cfg(feature = "axum")]
    pub(crate) fn http(job: crate::http::HttpRefresh<R>) -> Self {
        Refresh {
            kind: Kind::Http(job),
        }
    }

    /// What a value call's refresh refreshes; `None` for a handler's.
    pub(crate) fn into_value(self) -> Option<crate::cached::ValueRefresh<R, T>> {
        match self.kind {
            Kind::Value(job) => Some(job),
            #[cfg(feature = "axum")]
            Kind::Http(_) => None,
        }
    }

    /// What a handler's refresh refreshes; `None` for a value call's.
    #[cfg(feature = "axum")]
    pub(crate) fn into_http(self) -> Option<crate::http::HttpRefresh<R>> {
        match self.kind {
            Kind::Http(job) => Some(job),
            Kind::Value(_) => None,
        }
    }

    /// Spawns the refresh of `body` on the current tokio runtime, or gives both
    /// back when there is none (or, for a handler, when its output cannot be
    /// made a response).
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
        match self.kind {
            Kind::Value(mut job) => {
                let body = job.scoped(body);
                // Typed as a `Send` trait object where the bounds are at hand:
                // the compiler cannot prove the opaque future `Send` for every
                // lifetime at the spawn otherwise.
                let task: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                    Box::pin(crate::cached::refresh(job, body));
                runtime.spawn(task);
            }
            #[cfg(feature = "axum")]
            Kind::Http(job) => {
                if !job.can_run() {
                    return Err((body, Refresh::http(job)));
                }
                runtime.spawn(job.task(body));
            }
        }
        Ok(())
    }
}
