//! The one runtime entry point of `#[cached]`, and the value mode.
//!
//! # Concurrent calls on the same key
//!
//! Concurrent misses on one key run the function once per process: the first caller
//! computes, the others wait for its value (see `flight`). A waiter checks that the
//! value is still fresh before taking it. When the value is not cacheable (`Err`,
//! `None`), each waiter runs its own call. When the computing caller is cancelled,
//! a waiter takes over. Across processes sharing Redis, each process computes once.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::backend::{Lookup, Stamp};
use crate::cache::Cache;
use crate::codec::ValueCodec;
use crate::flight::{Join, Published};
use crate::global::{self, CacheRef};
use crate::key::{self, CacheKey, KeyArgs, KeyContext};
use crate::probe::CacheStrategy;
use crate::spec::{Spec, Warning};

/// How many times a call re-joins a flight whose value turned out stale or whose
/// leader was cancelled before it computes by itself.
const MAX_ROUNDS: usize = 3;

/// Runs `body` through the current cache. Called by the code `#[cached]` generates,
/// only when `active()` said a cache may be enabled.
///
/// The future is boxed: the cache's machinery (lookups, flights) makes it large, and
/// keeping it out of the caller's future keeps the disabled path as cheap as a
/// plain call (the caller's future would otherwise be copied around at full size).
/// It is built out of line so the caller's code does not reserve its stack space.
#[inline(never)]
pub fn cached<F, S>(
    spec: &'static Spec,
    args: Box<KeyArgs>,
    strategy: S,
    body: F,
) -> Pin<Box<impl Future<Output = F::Output>>>
where
    F: Future,
    S: CacheStrategy<F::Output>,
{
    Box::pin(run(spec, args, strategy, body))
}

async fn run<F, S>(spec: &'static Spec, args: Box<KeyArgs>, strategy: S, body: F) -> F::Output
where
    F: Future,
    S: CacheStrategy<F::Output>,
{
    let Some(cache) = global::current() else {
        if spec.first_time(Warning::BeforeInit) {
            tracing::warn!(
                target: "cache",
                function = %format_args!("{}::{}", spec.module(), spec.function()),
                "#[cached] function called before cachette::init(); it runs uncached until the cache is initialised"
            );
        }
        return body.await;
    };
    if !cache.is_enabled() {
        return body.await;
    }
    if S::HTTP {
        #[cfg(feature = "axum")]
        if let Some(request) = crate::http::claim() {
            return crate::http::cached(cache, spec, *args, request, body).await;
        }
        if spec.first_time(Warning::NoLayer) {
            tracing::warn!(
                target: "cache",
                function = %format_args!("{}::{}", spec.module(), spec.function()),
                "#[cached] handler ran outside cachette's HTTP layer (add `.layer(cachette::http::CacheLayer::new())` to the router); it runs uncached"
            );
        }
        return body.await;
    }
    let Some(codec) = strategy.codec() else {
        if spec.first_time(Warning::NoValueCodec) {
            tracing::warn!(target: "cache", function = spec.function(), "return type cannot be cached; running uncached");
        }
        return body.await;
    };
    if let Some(error) = args.error() {
        tracing::warn!(target: "cache", function = spec.function(), error, "running uncached");
        return body.await;
    }
    if args.needs_request() {
        if spec.first_time(Warning::NeedsRequest) {
            tracing::warn!(
                target: "cache",
                function = spec.function(),
                "an argument (Path, Query, Uri, ...) is only covered by an HTTP request key, and this call is not an HTTP request; it runs uncached"
            );
        }
        return body.await;
    }
    let Some(key) = value_key(&cache, spec, &args) else {
        return body.await;
    };
    run_value(cache, spec, key, codec, body).await
}

/// The key of a plain (non-HTTP) call: the key builder's, or the default one.
fn value_key(cache: &Cache, spec: &'static Spec, args: &KeyArgs) -> Option<CacheKey> {
    let prefix = cache.config().prefix();
    match spec.key_builder() {
        None => Some(key::default_value_key(prefix, spec, args)),
        Some(builder) => {
            let cx = KeyContext::new(prefix, spec, args);
            let mut built = builder(&cx)?;
            // A builder that ignored the user must not make an entry shared between
            // users: a user argument, or the identity of the request being served
            // (a serde-value handler), goes at the end of its key.
            if !spec.shared() && !cx.identity_used() {
                let identity = match args.user() {
                    Some(user) => {
                        let mut out = String::new();
                        key::escape_into(&mut out, user);
                        Some(out)
                    }
                    #[cfg(feature = "axum")]
                    None => crate::http::current_identity(),
                    #[cfg(not(feature = "axum"))]
                    None => None,
                };
                if let Some(identity) = identity {
                    built.push(':');
                    built.push_str(&identity);
                }
            }
            from_builder(prefix, spec, built)
        }
    }
}

/// Checks a key a key builder returned.
pub(crate) fn from_builder(prefix: &str, spec: &Spec, built: String) -> Option<CacheKey> {
    let outside = !built
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with(':'));
    if outside {
        if spec.first_time(Warning::KeyOutsidePrefix) {
            tracing::warn!(
                target: "cache",
                function = spec.function(),
                prefix,
                "the key builder returned a key that does not start with `{{prefix}}:`; build it from KeyContext::namespace(). The call runs uncached"
            );
        }
        return None;
    }
    CacheKey::from_full(prefix, built)
}

async fn run_value<F: Future>(
    cache: CacheRef,
    spec: &'static Spec,
    key: CacheKey,
    codec: ValueCodec<F::Output>,
    body: F,
) -> F::Output {
    let store = cache.backend();
    let mut leader = None;
    let mut stamp = None;
    for _ in 0..MAX_ROUNDS {
        match store.lookup(&key).await {
            Lookup::Hit(entry) => match (codec.decode)(&entry.bytes) {
                Ok(value) => {
                    tracing::trace!(target: "cache", namespace = spec.namespace(), function = spec.function(), "hit");
                    return value;
                }
                Err(error) => {
                    tracing::warn!(
                        target: "cache",
                        namespace = spec.namespace(),
                        function = spec.function(),
                        %error,
                        "stored value does not decode; recomputing and overwriting it"
                    );
                    // Overwrite it: stamp as of now.
                    stamp = Some(fresh_stamp(store, &key).await);
                }
            },
            Lookup::Miss(miss) => stamp = Some(miss),
        }
        match cache.flights().join(&key) {
            Join::Leader(lead) => {
                // A previous computation may have stored the value between our
                // lookup and our joining: look once more before computing.
                match store.lookup(&key).await {
                    Lookup::Hit(entry) => {
                        if let Ok(value) = (codec.decode)(&entry.bytes) {
                            lead.publish(Published::Value {
                                bytes: entry.bytes.clone(),
                                stamp: entry.stamp,
                            });
                            return value;
                        }
                    }
                    Lookup::Miss(miss) => stamp = Some(miss),
                }
                leader = Some(lead);
                break;
            }
            Join::Waiter(waiter) => match waiter.wait().await {
                Some(Published::Value { bytes, stamp }) if store.is_fresh(&key, stamp).await => {
                    if let Ok(value) = (codec.decode)(&bytes) {
                        return value;
                    }
                }
                Some(Published::Uncacheable) => break,
                // Stale, or the leader was cancelled: look again.
                Some(Published::Value { .. }) | None => {}
            },
        }
    }
    let stamp = match stamp {
        Some(stamp) => stamp,
        None => fresh_stamp(store, &key).await,
    };
    let value = body.await;
    let published = match (codec.encode)(&value) {
        None => Published::Uncacheable,
        Some(Err(error)) => {
            tracing::warn!(target: "cache", function = spec.function(), %error, "value could not be encoded; not cached");
            Published::Uncacheable
        }
        Some(Ok(bytes)) => {
            let bytes = Bytes::from(bytes);
            if bytes.len() as u64 <= cache.config().max_entry_size() {
                let ttl = spec.ttl(cache.config());
                store.put(&key, bytes.clone(), stamp, ttl).await;
            } else {
                tracing::debug!(target: "cache", function = spec.function(), size = bytes.len(), "value above CACHE_MAX_ENTRY_SIZE; served, not stored");
            }
            Published::Value { bytes, stamp }
        }
    };
    if let Some(leader) = leader {
        leader.publish(published);
    }
    value
}

/// A stamp taken now (when no lookup of this call provided one).
async fn fresh_stamp(store: &crate::backend::Backend, key: &CacheKey) -> Stamp {
    match store.lookup(key).await {
        Lookup::Miss(stamp) => stamp,
        Lookup::Hit(entry) => entry.stamp,
    }
}
