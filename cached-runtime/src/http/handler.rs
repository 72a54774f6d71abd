//! The handler side of HTTP caching: what a `#[cached]` handler does when it claims
//! the request the layer is serving.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use http::Method;

use super::key::http_key;
use super::refresh::HttpRefresh;
use super::request::{Hit, Outcome, PendingStore, RequestState};
use super::stored::StoredResponse;
use crate::backend::Entry;
use crate::cache::Cache;
use crate::global::CacheRef;
use crate::key::CacheKey;
use crate::key::KeyArgs;
use crate::lookup::{Found, Miss, Policy, Reader, decoded, lookup};
use crate::probe::SpawnMode;
use crate::refresh::Refresh;
use crate::served::Served;
use crate::spec::{FunctionId, Spec};
use crate::stale::{self, Limits, Verdict, Windows};
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
    let windows = Windows::of(spec, cache.config());
    let reader = ResponseReader {
        function: function.tag,
        private,
        spec,
        windows,
    };
    let policy = policy(&state, &reader);
    // The protocol's first step, when it needs no I/O (see `lookup`): a fresh
    // entry the request's limits accept. An early refresh takes the whole
    // protocol (its roll is the lookup's).
    if policy.read_stored
        && policy.windows.early.is_none()
        && let Some(entry) = cache.backend().hit_now(&key, policy.near)
        // `hit_now` answers fresh entries only: the verdict (a clock read) is
        // needed when the request narrows what is fresh enough.
        && (policy.limits == Limits::NONE
            || stale::verdict(&entry, &policy.windows, &policy.limits, cache.dice())
                == Verdict::Fresh)
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
    })
}

/// What the request allows, for the function `reader` reads for: its windows,
/// limited by the request's directives (see `stale`).
fn policy(state: &RequestState, reader: &ResponseReader) -> Policy {
    let directives = &state.info.directives;
    let no_cache = directives.no_cache;
    let head = state.info.method == Method::HEAD;
    Policy {
        read_stored: !no_cache,
        // HEAD: nothing to store. no-cache: recompute rather than wait for a
        // computation that may have started before this request.
        // only-if-cached: never compute, so never lead (nor wait).
        join: !(head || no_cache || directives.only_if_cached),
        near: reader.spec.near(),
        lock: reader.spec.lock(),
        windows: reader.windows,
        limits: Limits {
            max_age: directives.max_age.map(Duration::from_secs),
            max_stale: directives.max_stale.map(|n| n.map(Duration::from_secs)),
            min_fresh: directives.min_fresh.map(Duration::from_secs),
        },
    }
}

/// Runs `body` (the handler) for a request whose key the store did not answer at
/// once: the whole lookup protocol; on a hit the handler never runs (the hit is
/// recorded for the layer, which drops this future and answers). A refresh this
/// request leads runs `body` in the background when `spawn` can spawn it and
/// `respond` (the handler's `IntoResponse`) is known; otherwise the request
/// computes in line, as a miss (see `stale`).
pub(crate) async fn run<F, T, P>(
    call: HttpLookup,
    spawn: P,
    respond: Option<fn(F::Output) -> Response>,
    body: F,
) -> F::Output
where
    F: Future,
    P: SpawnMode<F, T>,
{
    let HttpLookup {
        cache,
        state,
        key,
        reader,
    } = call;
    let counts = cache.counters().counts(reader.spec);
    let found = lookup(&cache, &key, &reader, policy(&state, &reader));
    let (miss, body) = match crate::cached::timed(&cache, found).await {
        Found::Hit(hit) => {
            counts.record(stats::Outcome::Hit);
            drop(counts);
            return serve(&state, hit).await;
        }
        Found::Stale(hit) => {
            counts.record(stats::Outcome::Stale);
            drop(counts);
            return serve(&state, hit).await;
        }
        Found::Refresh { hit, miss, stale } => {
            let pending = pending(&cache, &key, &reader, miss);
            let refresh = HttpRefresh::new(&cache, &state, pending, respond);
            match spawn.spawn_refresh(body, Refresh::http(refresh)) {
                // Refreshed in the background.
                Ok(()) => {
                    counts.record(stale_or_hit(stale));
                    drop(counts);
                    return serve(&state, hit).await;
                }
                // No runtime to refresh on: an early refresh is skipped (the
                // entry is fresh).
                Err((_, _)) if !stale => {
                    counts.record(stats::Outcome::Hit);
                    drop(counts);
                    return serve(&state, hit).await;
                }
                // A stale entry that cannot be refreshed in the background: this
                // request refreshes it in line, as a miss (the others get it
                // stale); its fallback answers if the handler fails.
                Err((body, refresh)) => match refresh.into_http() {
                    Some(refresh) => (refresh.into_pending().miss, body),
                    // Not made by an HTTP call.
                    None => return serve(&state, hit).await,
                },
            }
        }
        Found::Miss(miss) => (miss, body),
    };
    if state.info.directives.only_if_cached {
        // Nothing acceptable stored, and this request must not compute: 504.
        counts.record(stats::Outcome::Miss);
        drop((counts, miss));
        state.set(Outcome::NotCached);
        return std::future::pending().await;
    }
    if state.info.method == Method::HEAD {
        // A HEAD response has no body to store; GET requests fill the entry.
        // Its failure may still be answered with the fallback (counted then by
        // the layer).
        let fallback = miss
            .fallback
            .is_some()
            .then(|| pending(&cache, &key, &reader, miss));
        if fallback.is_none() {
            counts.record(stats::Outcome::Miss);
        }
        drop(counts);
        state.set(Outcome::MissNotStored(fallback));
        return body.await;
    }
    drop(counts);
    // Counted by the layer when the handler is done: a miss, or stale when its
    // failure is answered with the fallback.
    state.set(Outcome::Miss(pending(&cache, &key, &reader, miss)));
    body.await
}

/// The outcome an answer from a stored entry counts as.
fn stale_or_hit(stale: bool) -> stats::Outcome {
    if stale {
        stats::Outcome::Stale
    } else {
        stats::Outcome::Hit
    }
}

/// Where and how the response computed under `miss` is stored.
fn pending(cache: &Cache, key: &CacheKey, reader: &ResponseReader, miss: Miss) -> PendingStore {
    let spec = reader.spec;
    PendingStore {
        cache: cache.clone(),
        spec,
        key: key.clone(),
        ttl: spec.ttl(cache.config()),
        function: reader.function,
        private: reader.private,
        miss,
        windows: reader.windows,
        started: tokio::time::Instant::now(),
    }
}

impl PendingStore {
    /// Counts how the request whose response this stores was answered.
    pub(crate) fn count(&self, outcome: stats::Outcome) {
        self.cache.counters().counts(self.spec).record(outcome);
    }
}

/// The response `entry`, `pending`'s fallback (checked by the caller), holds,
/// if it reads.
pub(crate) fn fallback_hit(pending: &PendingStore, entry: &Entry) -> Option<Hit> {
    let reader = ResponseReader {
        function: pending.function,
        private: pending.private,
        spec: pending.spec,
        windows: pending.windows,
    };
    reader.read(entry)
}

/// How HTTP caching reads an entry: the response its handler stored, parsed once
/// and kept on the entry for every later hit.
struct ResponseReader {
    function: u64,
    private: bool,
    spec: &'static Spec,
    /// The function's windows, stated in the answer's `Cache-Control`.
    windows: Windows,
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
        Some(Hit {
            response,
            remaining: entry.remaining(),
            age: entry.age(),
            private: self.private,
            stale: entry.expired_for().is_some(),
            windows: self.windows,
        })
    }
}

/// Records the hit and waits for the layer to take it (it drops this future).
async fn serve<T>(state: &RequestState, hit: Hit) -> T {
    state.set(Outcome::Hit(hit));
    std::future::pending().await
}
