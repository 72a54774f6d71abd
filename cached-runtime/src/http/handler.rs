//! The handler side of HTTP caching: what a `#[cached]` handler does when it claims
//! the request the layer is serving.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use http::Method;

use super::key::http_key;
use super::request::{Hit, Outcome, PendingStore, RequestState};
use super::stored::StoredResponse;
use crate::backend::Entry;
use crate::global::CacheRef;
use crate::key::KeyArgs;
use crate::lookup::{Found, Policy, Reader, decoded, lookup};
use crate::served::Served;
use crate::spec::Spec;

/// Runs `body` (the handler) for the request in `state`, answering from the cache
/// when it can. On a hit the handler never runs: the hit is recorded for the layer,
/// which drops this future and answers.
pub(crate) async fn cached<F: Future>(
    cache: CacheRef,
    spec: &'static Spec,
    args: KeyArgs,
    request: Arc<dyn Served>,
    body: F,
) -> F::Output {
    let request: Arc<dyn Any + Send + Sync> = request;
    let Ok(state) = request.downcast::<RequestState>() else {
        // Served by another layer than HTTP's: not a request this handler can key.
        return body.await;
    };
    let info = &state.info;
    let head = info.method == Method::HEAD;
    if !(head || info.method == Method::GET) || info.directives.no_store {
        state.set(Outcome::Bypass);
        return body.await;
    }
    if let Some(error) = args.error() {
        tracing::warn!(target: "cache", function = spec.function(), error, "running uncached");
        state.set(Outcome::Bypass);
        return body.await;
    }
    let Some((key, private)) = http_key(&cache, spec, &args, &state) else {
        state.set(Outcome::Bypass);
        return body.await;
    };
    let function = spec.function_id(args.function()).tag;
    let reader = ResponseReader {
        function,
        private,
        spec,
    };
    let no_cache = info.directives.no_cache;
    let policy = Policy {
        read_stored: !no_cache,
        // HEAD: nothing to store. no-cache: recompute rather than wait for a
        // computation that may have started before this request.
        join: !(head || no_cache),
        near: spec.near(),
    };
    let miss = match lookup(cache.backend(), cache.flights(), &key, &reader, policy).await {
        Found::Hit(hit) => return serve(&state, hit).await,
        Found::Miss(miss) => miss,
    };
    if head {
        // A HEAD response has no body to store; GET requests fill the entry.
        state.set(Outcome::MissNotStored);
        return body.await;
    }
    state.set(Outcome::Miss(PendingStore {
        cache: (*cache).clone(),
        spec,
        key,
        ttl: spec.ttl(cache.config()),
        function,
        private,
        miss,
    }));
    body.await
}

/// How HTTP caching reads an entry: the response its handler stored, parsed once
/// and kept on the entry for every later hit.
struct ResponseReader {
    function: u64,
    private: bool,
    spec: &'static Spec,
}

impl Reader for ResponseReader {
    type Hit = Hit;

    fn read(&self, entry: &Entry) -> Option<Hit> {
        let response = decoded(entry, |bytes| {
            StoredResponse::decode(bytes, self.function)
                .map_err(|error| {
                    tracing::warn!(
                        target: "cache",
                        namespace = self.spec.namespace(),
                        function = self.spec.function(),
                        %error,
                        "stored response does not decode; recomputing and overwriting it"
                    );
                })
                .ok()
        })?;
        // Parsed for another handler whose key is the same.
        if response.function != self.function {
            return None;
        }
        // One clock read for both (`Entry::remaining` and `Entry::age` read it
        // once each).
        let remaining = entry.expires_at.saturating_duration_since(Instant::now());
        Some(Hit {
            response,
            remaining,
            age: entry.ttl.saturating_sub(remaining),
            private: self.private,
        })
    }
}

/// Records the hit and waits for the layer to take it (it drops this future).
async fn serve<T>(state: &RequestState, hit: Hit) -> T {
    state.set(Outcome::Hit(hit));
    std::future::pending().await
}
