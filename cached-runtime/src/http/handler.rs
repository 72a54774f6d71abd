//! The handler side of HTTP caching: what a `#[cached]` handler does when it claims
//! the request the layer is serving.

use std::future::Future;
use std::sync::Arc;

use http::Method;

use super::key::http_key;
use super::request::{Hit, Outcome, PendingStore, RequestState};
use super::stored::StoredResponse;
use crate::backend::{Entry, Lookup};
use crate::flight::{Join, Published};
use crate::global::CacheRef;
use crate::key::KeyArgs;
use crate::spec::Spec;

/// How many times a waiter re-joins a flight whose value was stale or whose leader
/// was cancelled before it computes by itself.
const MAX_ROUNDS: usize = 3;

/// Runs `body` (the handler) for the request in `state`, answering from the cache
/// when it can. On a hit the handler never runs: the hit is recorded for the layer,
/// which drops this future and answers.
pub(crate) async fn cached<F: Future>(
    cache: CacheRef,
    spec: &'static Spec,
    args: KeyArgs,
    state: Arc<RequestState>,
    body: F,
) -> F::Output {
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
    let Some((key, private)) = http_key(&cache, spec, &args, info) else {
        state.set(Outcome::Bypass);
        return body.await;
    };
    let function = spec.function_id(args.function()).tag;
    let store = cache.backend();
    let mut leader = None;
    let mut stamp = None;
    for _ in 0..MAX_ROUNDS {
        match store.lookup(&key).await {
            Lookup::Hit(entry) => {
                if !info.directives.no_cache
                    && let Some(hit) = hit_from_entry(&entry, function, private, spec)
                {
                    return serve(&state, hit).await;
                }
                stamp.get_or_insert(entry.stamp);
            }
            Lookup::Miss(miss) => stamp = Some(miss),
        }
        if head || info.directives.no_cache {
            // HEAD: nothing to store. no-cache: recompute rather than wait for
            // a computation that may have started before this request.
            break;
        }
        match cache.flights().join(&key) {
            Join::Leader(lead) => {
                // A previous computation may have stored the response between our
                // lookup and our joining: look once more before computing.
                match store.lookup(&key).await {
                    Lookup::Hit(entry) => {
                        if let Some(hit) = hit_from_entry(&entry, function, private, spec) {
                            lead.publish(Published::Value {
                                bytes: entry.bytes.clone(),
                                stamp: entry.stamp,
                            });
                            return serve(&state, hit).await;
                        }
                    }
                    Lookup::Miss(miss) => stamp = Some(miss),
                }
                leader = Some(lead.detach((*cache).clone()));
                break;
            }
            Join::Waiter(waiter) => match waiter.wait().await {
                Some(Published::Value { bytes, stamp }) if store.is_fresh(&key, stamp).await => {
                    let entry = Entry::new(bytes, stamp, spec.ttl(cache.config()));
                    if let Some(hit) = hit_from_entry(&entry, function, private, spec) {
                        return serve(&state, hit).await;
                    }
                }
                Some(Published::Uncacheable) => {
                    state.set(Outcome::MissNotStored);
                    return body.await;
                }
                Some(Published::Value { .. }) | None => {}
            },
        }
    }
    let Some(stamp) = stamp else {
        state.set(Outcome::MissNotStored);
        return body.await;
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
        stamp,
        ttl: spec.ttl(cache.config()),
        function,
        private,
        leader,
    }));
    body.await
}

fn hit_from_entry(entry: &Entry, function: u64, private: bool, spec: &Spec) -> Option<Hit> {
    let response = match entry.parsed.get() {
        Some(parsed) if parsed.function == function => Arc::clone(parsed),
        // Parsed for another handler whose key is the same.
        Some(_) => return None,
        None => match StoredResponse::decode(&entry.bytes, function) {
            Ok(parsed) => Arc::clone(entry.parsed.get_or_init(|| Arc::new(parsed))),
            Err(error) => {
                tracing::warn!(
                    target: "cache",
                    namespace = spec.namespace(),
                    function = spec.function(),
                    %error,
                    "stored response does not decode; recomputing and overwriting it"
                );
                return None;
            }
        },
    };
    Some(Hit {
        response,
        remaining: entry.remaining(),
        age: entry.age(),
        private,
    })
}

/// Records the hit and waits for the layer to take it (it drops this future).
async fn serve<T>(state: &RequestState, hit: Hit) -> T {
    state.set(Outcome::Hit(hit));
    std::future::pending().await
}
