//! The background refresh of a handler's entry (`stale_while_revalidate`,
//! `early_refresh`; see `stale` and `refresh`): the request is answered with the
//! stored response while the handler's own future runs in a task of its own,
//! and what it returns is stored exactly as the layer stores a miss
//! (`store::store_response`).
//!
//! The future runs as it would have in the request: inside the request's
//! `served` scope (so that the `#[cached]` functions it calls are keyed by the
//! same identity) and the layer's cache scope. Across processes sharing Redis
//! with the lock on, only the process that takes the key's lease refreshes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::response::Response;

use super::request::{PendingStore, RequestState};
use super::store::store_response;
use crate::global::CacheRef;
use crate::served;

/// A refresh of a handler's entry: where to store, and how the handler's output
/// becomes a response.
pub(crate) struct HttpRefresh<R> {
    /// The layer's cache, to scope the future in when it is not the global one.
    cache: Option<crate::cache::Cache>,
    /// The request the refresh is part of.
    state: Arc<RequestState>,
    pending: PendingStore,
    /// The handler's `IntoResponse`; `None` when the call's strategy does not
    /// know it (the refresh is then given back, and runs in line).
    respond: Option<fn(R) -> Response>,
}

impl<R> HttpRefresh<R> {
    /// The refresh of the request `state` serves, storing under `pending`.
    pub(crate) fn new(
        cache: &CacheRef,
        state: &Arc<RequestState>,
        pending: PendingStore,
        respond: Option<fn(R) -> Response>,
    ) -> Self {
        HttpRefresh {
            cache: match cache {
                CacheRef::Scoped(cache) => Some(cache.clone()),
                CacheRef::Global(_) => None,
            },
            state: Arc::clone(state),
            pending,
            respond,
        }
    }

    /// Where it would have stored: for the call that refreshes in line instead.
    pub(crate) fn into_pending(self) -> PendingStore {
        self.pending
    }

    /// Whether it can run in the background (it knows how to make a response).
    pub(crate) fn can_run(&self) -> bool {
        self.respond.is_some()
    }

    /// `body` inside the request's scopes, as a `Send` task (see the module
    /// docs), followed by the store of what it returns.
    pub(crate) fn task<F>(self, body: F) -> Pin<Box<dyn Future<Output = ()> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
        R: 'static,
    {
        let HttpRefresh {
            cache,
            state,
            pending,
            respond,
        } = self;
        let Some(respond) = respond else {
            return Box::pin(async {});
        };
        let credentials = state.settings.credential_headers.clone();
        let request: Arc<dyn served::Served> = state;
        let body = async move { respond(body.await) };
        let body: Pin<Box<dyn Future<Output = Response> + Send>> = match cache {
            Some(cache) => Box::pin(cache.scope(served::scope(request, body))),
            None => Box::pin(served::scope(request, body)),
        };
        Box::pin(refresh(pending, credentials, body))
    }
}

/// Takes the key's lease where there is one to take, runs `body`, and stores
/// what it returned under `pending`; a response that is not stored (not 2xx,
/// ...) leaves the entry as it is, and is logged.
async fn refresh(
    mut pending: PendingStore,
    credentials: Vec<http::HeaderName>,
    body: Pin<Box<dyn Future<Output = Response> + Send>>,
) {
    #[cfg(feature = "redis")]
    if let crate::backend::Backend::Redis(redis) = pending.cache.backend()
        && pending.miss.lease.is_none()
        && pending.spec.lock().unwrap_or_else(|| redis.lock_default())
    {
        // An early refresh: a stale one took the lease in `lookup` (and looked
        // once more then).
        // Boxed as `Send`: the spawned task's future must be `Send` for every
        // lifetime, which the compiler cannot see through the script command's
        // borrows otherwise.
        let claim: Pin<Box<dyn Future<Output = crate::backend::Claim> + Send + '_>> =
            Box::pin(redis.claim(&pending.key));
        match claim.await {
            crate::backend::Claim::Led(lease) => {
                pending.miss.stamp = pending.miss.stamp.leased(lease.token());
                pending.miss.lease = Some(lease);
            }
            // Another process computes it: its store is this refresh.
            crate::backend::Claim::Held(_) => return,
            crate::backend::Claim::Unavailable => {}
        }
    }
    pending.started = tokio::time::Instant::now();
    let response = body.await;
    let status = response.status();
    if let Err((_, reason)) = store_response(&mut pending, &credentials, response).await {
        tracing::warn!(
            target: "cache",
            namespace = pending.spec.namespace(),
            function = pending.spec.function(),
            %status,
            reason,
            "the background refresh's response is not stored; the entry is left as it is"
        );
    }
}
