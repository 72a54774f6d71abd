//! The handler side of HTTP caching: what a `#[cached]` handler does when it claims
//! the request the layer is serving.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use http::Method;

use super::key::http_key;
use super::request::{Hit, Outcome, PendingStore, RequestState};
use super::stored::StoredResponse;
use crate::backend::Entry;
use crate::global::CacheRef;
use crate::key::CacheKey;
use crate::key::KeyArgs;
use crate::lookup::{Found, Policy, Reader, decoded, lookup};
use crate::served::Served;
use crate::spec::{FunctionId, Spec};
use crate::stats;

/// What a handler's call does, decided before it awaits anything (see `entry`,
/// "A hit without a future").
pub(crate) enum HttpCall {
    /// Run the handler uncached (the outcome, a bypass, is recorded when the
    /// request is one of the layer's).
    Uncached,
    /// A hit the store answered without I/O, recorded for the layer: the handler
    /// never runs, and the layer drops the call's future.
    Hit,
    /// Look the key up through the whole protocol.
    Lookup(HttpLookup),
}

/// A handler's call that goes through [`lookup`].
pub(crate) struct HttpLookup {
    cache: CacheRef,
    state: Arc<RequestState>,
    key: CacheKey,
    reader: ResponseReader,
    policy: Policy,
}

/// Decides what a handler's call does for the request it claimed: checks that
/// the request may be answered from the cache, builds its key, and answers a hit
/// the store holds in memory (memory mode, a near copy).
pub(crate) fn plan(
    cache: CacheRef,
    spec: &'static Spec,
    function: &FunctionId,
    args: &KeyArgs,
    request: Arc<dyn Served>,
) -> HttpCall {
    let counts = cache.counters().counts(spec);
    let call = decide(cache, spec, function, args, request);
    match &call {
        HttpCall::Uncached => counts.record(stats::Outcome::Bypass),
        HttpCall::Hit => counts.record(stats::Outcome::Hit),
        // Counted when the lookup ends (`run`).
        HttpCall::Lookup(_) => {}
    }
    call
}

/// [`plan`], before it is counted.
fn decide(
    cache: CacheRef,
    spec: &'static Spec,
    function: &FunctionId,
    args: &KeyArgs,
    request: Arc<dyn Served>,
) -> HttpCall {
    let request: Arc<dyn Any + Send + Sync> = request;
    let Ok(state) = request.downcast::<RequestState>() else {
        // Served by another layer than HTTP's: not a request this handler can key.
        return HttpCall::Uncached;
    };
    let info = &state.info;
    let head = info.method == Method::HEAD;
    if !(head || info.method == Method::GET) || info.directives.no_store {
        state.set(Outcome::Bypass);
        return HttpCall::Uncached;
    }
    if let Some(error) = args.error() {
        tracing::warn!(target: "cache", function = spec.function(), error, "running uncached");
        state.set(Outcome::Bypass);
        return HttpCall::Uncached;
    }
    let Some((key, private)) = http_key(&cache, spec, args, &state) else {
        state.set(Outcome::Bypass);
        return HttpCall::Uncached;
    };
    let reader = ResponseReader {
        function: function.tag,
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
        lock: spec.lock(),
        // TODO(http staleness): the function's windows and the request's
        // directives.
        windows: crate::stale::Windows::default(),
    };
    // The protocol's first step, when it needs no I/O (see `lookup`).
    if policy.read_stored
        && let Some(entry) = cache.backend().hit_now(&key, policy.near)
        && let Some(hit) = reader.read(&entry)
    {
        state.set(Outcome::Hit(hit));
        return HttpCall::Hit;
    }
    HttpCall::Lookup(HttpLookup {
        cache,
        state,
        key,
        reader,
        policy,
    })
}

/// Runs `body` (the handler) for a request whose key the store did not answer at
/// once: the whole lookup protocol; on a hit the handler never runs (the hit is
/// recorded for the layer, which drops this future and answers).
pub(crate) async fn run<F: Future>(call: HttpLookup, body: F) -> F::Output {
    let HttpLookup {
        cache,
        state,
        key,
        reader,
        policy,
    } = call;
    let counts = cache.counters().counts(reader.spec);
    let found = lookup(&cache, &key, &reader, policy);
    let miss = match crate::cached::timed(&cache, found).await {
        Found::Hit(hit) | Found::Stale(hit) | Found::Refresh { hit, .. } => {
            counts.record(stats::Outcome::Hit);
            drop(counts);
            return serve(&state, hit).await;
        }
        Found::Miss(miss) => miss,
    };
    counts.record(stats::Outcome::Miss);
    drop(counts);
    if state.info.method == Method::HEAD {
        // A HEAD response has no body to store; GET requests fill the entry.
        state.set(Outcome::MissNotStored);
        return body.await;
    }
    let spec = reader.spec;
    state.set(Outcome::Miss(PendingStore {
        cache: (*cache).clone(),
        spec,
        key,
        ttl: spec.ttl(cache.config()),
        function: reader.function,
        private: reader.private,
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
        let remaining = entry.remaining();
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
