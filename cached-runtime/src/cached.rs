//! Value caching: a `#[cached]` call whose return value is stored as a value (the
//! core's path; HTTP responses are `http/`'s, a layer over it).
//!
//! # Concurrent calls on the same key
//!
//! Concurrent misses on one key run the function once per process: the first caller
//! computes, the others wait for its value (the protocol is `lookup`'s, shared with
//! HTTP caching). A waiter checks that the value is still fresh before taking it.
//! When the value is not cacheable (`Err`, `None`), each waiter runs its own call.
//! When the computing caller is cancelled, a waiter takes over. Across processes
//! sharing Redis, the key is computed once in all while `REDIS_DISTRIBUTED_LOCK`
//! is on (see `lookup`, "Across processes"), else once per process.
//!
//! # Typed hits
//!
//! When the stored type is `Clone + Send + Sync + 'static`, the caller that
//! computed a value keeps a clone of it in the entry it stores and publishes, and
//! a hit clones it out instead of decoding bytes (see `returns`, "Typed hits"). In
//! memory mode such an entry keeps no bytes and weighs the estimate of
//! `codec::size`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;

use crate::backend::{Backend, Decoded, Entry};
use crate::cache::Cache;
use crate::codec::Coder;
use crate::flight::Published;
use crate::global::CacheRef;
use crate::key::{self, CacheKey, KeyArgs, KeyContext};
use crate::lookup::{Found, Miss, Policy, Reader, lookup};
use crate::probe::{CacheStrategy, PutMode, SpawnMode};
use crate::refresh::Refresh;
use crate::returns::ReturnShape;
use crate::served::{self, Served};
use crate::spec::{FunctionId, Spec, Warning};
use crate::stats::Outcome;

/// What a value call does, decided before it awaits anything (see `entry`, "A
/// hit without a future").
pub(crate) enum ValueCall<R, T> {
    /// Run the body uncached (a warning said why, where one is due).
    Uncached,
    /// A hit the store answered without I/O.
    Hit(R),
    /// A hit the store answered without I/O, due for an early refresh this call
    /// leads (see `stale`).
    Refresh(R, ValueRefresh<R, T>),
    /// Look the key up through the whole protocol, and compute on a miss.
    Lookup(ValueLookup<R, T>),
}

/// A value call that goes through [`lookup`]: its cache, key and reader.
pub(crate) struct ValueLookup<R, T> {
    cache: CacheRef,
    key: CacheKey,
    reader: ValueReader<R, T>,
}

/// A refresh of a value call's entry, run in the background (see `refresh`):
/// the call, and the flight (and stamp) it refreshes under.
pub(crate) struct ValueRefresh<R, T> {
    call: ValueLookup<R, T>,
    miss: Miss,
    /// The request being served when the call was made: the refresh runs as
    /// part of it, so that what its body calls is keyed as it was (the
    /// identity; see `served`).
    served: Option<Arc<dyn Served>>,
}

/// Decides what a value call does: checks what it can be keyed by, builds its
/// key, and answers a hit the store holds in memory (memory mode, a near copy).
/// Called by `entry` once it checked that the cache is enabled and the function's
/// identity is unambiguous.
pub(crate) fn plan<R, S>(
    cache: CacheRef,
    spec: &'static Spec,
    function: &FunctionId,
    args: &mut KeyArgs,
    strategy: &S,
) -> ValueCall<R, S::Stored>
where
    S: CacheStrategy<R>,
{
    let counts = cache.counters().counts(spec);
    let call = decide(cache, spec, function, args, strategy);
    match &call {
        ValueCall::Uncached => counts.record(Outcome::Bypass),
        ValueCall::Hit(_) | ValueCall::Refresh(..) => counts.record(Outcome::Hit),
        // Counted when it ends (`run`).
        ValueCall::Lookup(_) => {}
    }
    call
}

/// [`plan`], before it is counted.
fn decide<R, S>(
    cache: CacheRef,
    spec: &'static Spec,
    function: &FunctionId,
    args: &mut KeyArgs,
    strategy: &S,
) -> ValueCall<R, S::Stored>
where
    S: CacheStrategy<R>,
{
    let Some(shape) = strategy.shape() else {
        if spec.first_time(Warning::NoValueCodec) {
            tracing::warn!(target: "cache", function = spec.function(), "return type cannot be cached; running uncached");
        }
        return ValueCall::Uncached;
    };
    if let Some(error) = args.error() {
        tracing::warn!(target: "cache", function = spec.function(), error, "running uncached");
        return ValueCall::Uncached;
    }
    // The request a layer is serving, if any. A call with an extractor argument
    // (`State`, `Path`, `Query`, `Uri`, ...) that is the first to claim the request
    // is its handler: it is keyed by the request, as a handler returning a response
    // is. Calls without extractor arguments never claim (a `#[cached]` function
    // called from an auth extractor must not take the request from the handler);
    // like calls nested in a handler, they are keyed by their arguments and the
    // identity.
    let claimed = if args.has_extractor() {
        served::claim()
    } else {
        None
    };
    let (request, handler) = match claimed {
        Some(request) => (Some(request), true),
        None => (served::current(), false),
    };
    if args.needs_request() && !handler {
        if spec.first_time(Warning::NeedsRequest) {
            tracing::warn!(
                target: "cache",
                function = spec.function(),
                "an argument (a Path or Query of a type that is not Serialize) can only be keyed by the HTTP request it came from, and this call is not the handler of a request served through cachette's CacheLayer; it runs uncached"
            );
        }
        return ValueCall::Uncached;
    }
    let key = value_key(&cache, spec, function, args, request.as_deref(), handler);
    drop(request);
    let Some(key) = key else {
        return ValueCall::Uncached;
    };
    let shape = if spec.typed() { shape } else { shape.untyped() };
    let reader = ValueReader {
        shape,
        function: function.tag,
        coder: spec.coder().unwrap_or(cache.config().coder()),
        spec,
    };
    // The protocol's first step, when it needs no I/O: a fresh, readable entry
    // is the answer (see `lookup`).
    if let Some(entry) = cache.backend().hit_now(&key, spec.near())
        && let Some(hit) = reader.read(&entry)
    {
        if spec.early_refresh() {
            let windows = crate::stale::Windows::of(spec, cache.config());
            if let Some(miss) = crate::lookup::refresh_early(&cache, &key, &entry, &windows) {
                let call = ValueLookup { cache, key, reader };
                let served = served::current();
                return ValueCall::Refresh(hit, ValueRefresh { call, miss, served });
            }
        }
        return ValueCall::Hit(hit);
    }
    ValueCall::Lookup(ValueLookup { cache, key, reader })
}

/// The key of a call cached as a value: the key builder's, or the default one.
///
/// While a layer serves a request, the default key also covers what the function
/// can observe of it: the request line (method, target, raw query) when the call is
/// the request's handler (its `State`, its `Query`, its `Path`, whatever they are,
/// came from that request), and the request's identity when it says whose it is and
/// the key does not hold the user already: private by default, on every keying
/// path, unless the function is `#[cached(shared)]`.
fn value_key(
    cache: &Cache,
    spec: &'static Spec,
    function: &FunctionId,
    args: &mut KeyArgs,
    request: Option<&dyn Served>,
    handler: bool,
) -> Option<CacheKey> {
    let prefix = cache.config().prefix();
    match spec.key_builder() {
        None => {
            let mut built = key::default_value_key(prefix, spec, function, args);
            if let Some(request) = request {
                if handler {
                    built.push(':');
                    request.push_request_line(&mut built);
                }
                if !spec.shared()
                    && args.user().is_none()
                    && let Some(identity) = request.identity()
                {
                    built.push(':');
                    built.push_str(&identity);
                }
            }
            Some(CacheKey::from_string(built, prefix.len() + 1))
        }
        Some(builder) => {
            let cx = KeyContext::new(prefix, spec, args);
            let cx = match request {
                Some(request) => cx.with_request(request),
                None => cx,
            };
            let built = builder(&cx);
            if cx.incomplete() {
                // The builder wanted something the request did not keep (headers):
                // its key may be wrong, so this call runs uncached, and the layer
                // keeps it for later requests.
                if let Some(request) = request {
                    request.keep_more();
                }
                return None;
            }
            let mut built = built?;
            // A builder that did not key by the user must not make an entry shared
            // between users: a user argument, or the identity of the request being
            // served, goes at the end of its key.
            if !spec.shared() && !cx.keyed_by_user(&built) {
                let identity = match args.user() {
                    Some(user) => Some(key::escaped(user)),
                    None => request.and_then(|r| r.identity()),
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

/// Runs a value call whose key the store did not answer at once: the whole lookup
/// protocol, then, on a miss, `body` and the store of what it returned. A stale
/// entry due for a refresh this call leads is returned at once when `spawn` runs
/// `body` in the background, and refreshed in line otherwise (see `stale`).
pub(crate) async fn run<F, T, M, O, P>(
    call: ValueLookup<F::Output, T>,
    spawn: P,
    body: F,
) -> F::Output
where
    F: Future,
    M: PutMode<T>,
    O: PutMode<F::Output>,
    P: SpawnMode<F, T>,
{
    let counts = call.cache.counters().counts(call.reader.spec);
    let policy = Policy::of(call.reader.spec, call.cache.config());
    // The lookup's outcome is matched as a temporary: a hit (which may not be
    // `Send`) is never a local held across the awaits below.
    let (miss, body) = match timed(
        &call.cache,
        lookup(&call.cache, &call.key, &call.reader, policy),
    )
    .await
    {
        Found::Hit(value) => {
            counts.record(Outcome::Hit);
            return value;
        }
        Found::Stale(value) => {
            counts.record(Outcome::Stale);
            return value;
        }
        Found::Refresh { hit, miss, stale } => {
            let answered = if stale { Outcome::Stale } else { Outcome::Hit };
            let refresh = Refresh::value(ValueRefresh {
                call: call.clone(),
                miss,
                served: served::current(),
            });
            match spawn.spawn_refresh(body, refresh) {
                Ok(()) => {
                    counts.record(answered);
                    return hit;
                }
                // No runtime to spawn on: an early refresh is skipped (the entry
                // is fresh), a stale entry is refreshed by this call, in line
                // (counted as the miss it is, by `compute`).
                Err((_, refresh)) if !stale => {
                    drop(refresh);
                    counts.record(answered);
                    return hit;
                }
                Err((body, refresh)) => match refresh.into_value() {
                    Some(refresh) => (refresh.miss, body),
                    None => {
                        counts.record(answered);
                        return hit;
                    }
                },
            }
        }
        Found::Miss(miss) => (miss, body),
    };
    drop(counts);
    compute::<F, T, M, O>(call, miss, body).await
}

/// Runs `body` for a call that missed and stores what it returned under `miss`;
/// when it fails (an uncacheable result, a panic) and `miss` holds an entry that
/// may still answer (see [`Miss::take_fallback`]), returns that entry's value
/// instead. `O` says whether the output may be held across the fallback's check
/// on Redis (it is `Send`); when it may not, only a memory entry, checked
/// without waiting, answers.
async fn compute<F, T, M, O>(call: ValueLookup<F::Output, T>, mut miss: Miss, body: F) -> F::Output
where
    F: Future,
    M: PutMode<T>,
    O: PutMode<F::Output>,
{
    let ValueLookup { cache, key, reader } = call;
    let (spec, shape) = (reader.spec, reader.shape);
    let store = cache.backend();
    let counts = cache.counters().counts(spec);
    let if_error = crate::stale::Windows::of(spec, cache.config()).if_error;
    let started = tokio::time::Instant::now();
    // A panic leaves this block with only the (`Send`) panic held: the
    // temporary of the caught result is gone before the fallback's check awaits.
    let panic = 'ran: {
        let value = match (CatchUnwind { body }).await {
            Ok(value) => value,
            Err(panic) => break 'ran panic,
        };
        let delta = started.elapsed();
        const WHY: &str = "the function returned a value that is not cached (an `Err`, a `None`)";
        // From here on, only the stored part of the value may be held across an
        // await. A failure whose fallback must be checked on Redis leaves this block
        // with its output held in `O`'s form (the split's temporary is gone by then).
        let held = 'stored: {
            let stored = match (shape.split)(value) {
                Ok(stored) => stored,
                Err(value) => {
                    if miss.fallback.is_none() {
                        counts.record(Outcome::Miss);
                        miss.publish(Published::Uncacheable);
                        return value;
                    }
                    match O::hold(value) {
                        // A `Send` output: the fallback is checked wherever it lives.
                        Err(held) => break 'stored held,
                        // An output that is not `Send` cannot wait for Redis: a
                        // memory entry is checked at once, a Redis one is not
                        // returned.
                        Ok(value) => {
                            let fallback = miss.take_fallback_now(store, &key, if_error, spec);
                            if let Some(stale) = fallback
                                .and_then(|entry| stale_instead(&reader, &mut miss, &entry, WHY))
                            {
                                drop(value);
                                counts.record(Outcome::Stale);
                                return stale;
                            }
                            counts.record(Outcome::Miss);
                            miss.publish(Published::Uncacheable);
                            return value;
                        }
                    }
                }
            };
            let (stored, made) = make_entry(&cache, &reader, stored, miss.stamp, delta);
            let entry = match made {
                Made::Store(entry) => entry,
                Made::NotEncoded => {
                    counts.record(Outcome::Error);
                    miss.publish(Published::Uncacheable);
                    return (shape.join)(stored);
                }
                Made::TooLarge(entry) => {
                    counts.record(Outcome::Miss);
                    miss.publish(Published::Entry(entry));
                    return (shape.join)(stored);
                }
            };
            counts.record(Outcome::Miss);
            drop(counts);
            let held = match M::hold(stored) {
                Ok(stored) => {
                    // The stored value cannot be held across an await: finish the store in
                    // the background, and keep the flight open until it is done.
                    store_in_background(&cache, key, entry, miss);
                    return (shape.join)(stored);
                }
                Err(held) => held,
            };
            store.put(&key, &entry).await;
            cache.update_memory_gauges();
            miss.publish(Published::Entry(entry));
            return (shape.join)(M::release(held));
        };
        let fallback = miss.take_fallback(store, &key, if_error).await;
        if let Some(stale) =
            fallback.and_then(|entry| stale_instead(&reader, &mut miss, &entry, WHY))
        {
            drop(held);
            counts.record(Outcome::Stale);
            return stale;
        }
        counts.record(Outcome::Miss);
        miss.publish(Published::Uncacheable);
        return O::release(held);
    };
    let fallback = miss.take_fallback(store, &key, if_error).await;
    match fallback
        .and_then(|entry| stale_instead(&reader, &mut miss, &entry, "the function panicked"))
    {
        Some(value) => {
            counts.record(Outcome::Stale);
            value
        }
        None => std::panic::resume_unwind(panic),
    }
}

/// The value of `entry`, `miss`'s fallback (checked by the caller), if it
/// reads, logged with `why` the computation failed; the flight is told that
/// nothing was stored.
fn stale_instead<R, T>(
    reader: &ValueReader<R, T>,
    miss: &mut Miss,
    entry: &Entry,
    why: &str,
) -> Option<R> {
    let value = reader.read(entry)?;
    tracing::warn!(
        target: "cache",
        namespace = reader.spec.namespace(),
        function = reader.spec.function(),
        expired_ago = ?entry.expired_for().unwrap_or_default(),
        "{why}; returning the entry that expired (stale-if-error), nothing stored"
    );
    miss.publish(Published::Uncacheable);
    Some(value)
}

/// What came of a computed value, as an entry.
enum Made {
    /// Store it.
    Store(Arc<Entry>),
    /// It did not encode (logged): nothing to store.
    NotEncoded,
    /// Above `CACHE_MAX_ENTRY_SIZE`: give it to the waiters, do not store it.
    TooLarge(Arc<Entry>),
}

/// The entry of `stored`, computed in `delta` under `stamp`, as the reader's
/// function stores it (encoded, and kept typed when it is).
fn make_entry<R, T>(
    cache: &Cache,
    reader: &ValueReader<R, T>,
    stored: T,
    stamp: crate::backend::Stamp,
    delta: std::time::Duration,
) -> (T, Made) {
    let spec = reader.spec;
    let config = cache.config();
    let max_size = config.max_entry_size();
    let (stored, encoded, kept) = encode(
        reader.shape,
        stored,
        reader.function,
        reader.coder,
        max_size,
    );
    let bytes = match encoded {
        Ok(bytes) => Bytes::from(bytes),
        Err(error) => {
            tracing::warn!(target: "cache", function = spec.function(), %error, "value could not be encoded; not cached");
            return (stored, Made::NotEncoded);
        }
    };
    let size = bytes.len();
    let ttl = spec.ttl(config);
    // Kept past its expiry for the stale windows, at most CACHE_MAX_TTL (see
    // `stale`).
    let window = crate::stale::Windows::of(spec, config)
        .kept()
        .min(config.max_ttl());
    // A typed entry in memory mode keeps no bytes: every reader of its own
    // function and type clones the kept value, and any other reader would
    // refuse the bytes anyway (their header names this function and type),
    // so they would only double the memory the entry takes. Redis needs them.
    let bytes = match (&kept, cache.backend()) {
        (Some(_), Backend::Memory(_)) => Bytes::new(),
        _ => bytes,
    };
    let entry = Entry::computed(bytes, kept, stamp, ttl, window, delta);
    if size as u64 > max_size {
        tracing::debug!(target: "cache", function = spec.function(), size, "value above CACHE_MAX_ENTRY_SIZE; served, not stored");
        return (stored, Made::TooLarge(entry));
    }
    (stored, Made::Store(entry))
}

/// Refreshes a value call's entry in the background (see `refresh`): runs
/// `body` (already in the call's scopes, see [`ValueRefresh::scoped`]) and
/// stores what it returned, as a miss would, under the flight the
/// call leads. Across processes sharing Redis with the lock on, only the
/// process that takes the key's lease refreshes it.
pub(crate) async fn refresh<F, T>(job: ValueRefresh<F::Output, T>, body: F)
where
    F: Future,
{
    let ValueRefresh { call, mut miss, .. } = job;
    let ValueLookup { cache, key, reader } = call;
    let spec = reader.spec;
    #[cfg(feature = "redis")]
    if let Backend::Redis(redis) = cache.backend()
        && miss.lease.is_none()
        && spec.lock().unwrap_or_else(|| redis.lock_default())
    {
        // An early refresh (a stale one took the lease in `lookup`, and looked
        // once more then). Boxed as `Send` here: the spawned task's future must be `Send` for
        // every lifetime, which the compiler cannot see through the script
        // command's borrows otherwise.
        let claim: Pin<Box<dyn Future<Output = crate::backend::Claim> + Send + '_>> =
            Box::pin(redis.claim(&key));
        match claim.await {
            crate::backend::Claim::Led(lease) => {
                miss.stamp = miss.stamp.leased(lease.token());
                miss.lease = Some(lease);
            }
            // Another process computes it: its store is this refresh.
            crate::backend::Claim::Held(_) => return,
            crate::backend::Claim::Unavailable => {}
        }
    }
    let started = tokio::time::Instant::now();
    let value = body.await;
    let delta = started.elapsed();
    let Ok(stored) = (reader.shape.split)(value) else {
        tracing::warn!(
            target: "cache",
            namespace = spec.namespace(),
            function = spec.function(),
            "the background refresh returned a value that is not cached (an `Err`, a `None`); the entry is left as it is"
        );
        miss.publish(Published::Uncacheable);
        return;
    };
    let entry = match make_entry(&cache, &reader, stored, miss.stamp, delta).1 {
        Made::Store(entry) => entry,
        Made::NotEncoded => {
            miss.publish(Published::Uncacheable);
            return;
        }
        Made::TooLarge(entry) => {
            miss.publish(Published::Entry(entry));
            return;
        }
    };
    // Boxed as `Send`, as the claim above.
    let put: Pin<Box<dyn Future<Output = ()> + Send + '_>> =
        Box::pin(cache.backend().put(&key, &entry));
    put.await;
    cache.update_memory_gauges();
    miss.publish(Published::Entry(entry));
}

/// Awaits `lookup`, recording how long it took (see `stats`).
pub(crate) async fn timed<T>(cache: &Cache, lookup: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let found = lookup.await;
    cache.counters().lookup_took(started.elapsed());
    found
}

/// How the value path reads an entry: clones the typed value its function kept
/// in it, or decodes the bytes its function stored.
pub(crate) struct ValueReader<R, T> {
    shape: ReturnShape<R, T>,
    function: u64,
    /// What the function's values are written with (`#[cached(coder = ...)]`,
    /// else `CACHE_CODER`).
    coder: Coder,
    spec: &'static Spec,
}

impl<R, T> Clone for ValueReader<R, T> {
    fn clone(&self) -> Self {
        ValueReader {
            shape: self.shape,
            function: self.function,
            coder: self.coder,
            spec: self.spec,
        }
    }
}

impl<R, T> ValueRefresh<R, T> {
    /// `body` as it would have run in the call: under the call's cache and the
    /// request it served, so that what it calls is keyed alike (the identity).
    pub(crate) fn scoped<F>(&mut self, body: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cache = match &self.call.cache {
            CacheRef::Scoped(cache) => Some(cache.clone()),
            CacheRef::Global(_) => None,
        };
        match (self.served.take(), cache) {
            (Some(request), Some(cache)) => Box::pin(cache.scope(served::scope(request, body))),
            (Some(request), None) => Box::pin(served::scope(request, body)),
            (None, Some(cache)) => Box::pin(cache.scope(body)),
            (None, None) => Box::pin(body),
        }
    }
}

impl<R, T> Clone for ValueLookup<R, T> {
    fn clone(&self) -> Self {
        ValueLookup {
            cache: self.cache.clone(),
            key: self.key.clone(),
            reader: self.reader.clone(),
        }
    }
}

impl<R, T> ValueReader<R, T> {
    /// The value `entry` keeps typed, if it is a `T` this reader's function stored.
    #[inline]
    fn typed(&self, entry: &Entry) -> Option<T> {
        let typed = self.shape.typed?;
        (typed.read)(&**entry.decoded.get()?, self.function)
    }
}

impl<R, T> ValueReader<R, T> {
    /// The value `entry`'s bytes hold. When the store weighed the entry for a
    /// typed copy ([`Entry::keep_typed`]: a near copy of a Redis value) and `T`
    /// is kept typed, the decoded value is kept in the entry too, so the next
    /// hits on it clone instead of decoding.
    fn decode(&self, entry: &Entry) -> Result<R, crate::codec::DecodeError> {
        let value = (self.shape.decode)(&entry.bytes, self.function, self.coder)?;
        if entry.keep_typed
            && entry.decoded.get().is_none()
            && let Some(typed) = self.shape.typed
        {
            let kept = (typed.keep)(&value, self.function);
            // Another reader may have kept its own first: either is correct.
            let _ = entry.decoded.set(kept);
        }
        Ok((self.shape.join)(value))
    }
}

impl<R, T> Reader for ValueReader<R, T> {
    type Hit = R;

    fn read(&self, entry: &Entry) -> Option<R> {
        let read = match self.typed(entry) {
            Some(value) => Ok((self.shape.join)(value)),
            None if entry.bytes.is_empty() && entry.decoded.get().is_some() => {
                Err(crate::codec::DecodeError::new(
                    "kept in memory by another function, or as another type (two functions make the same key: give them different namespaces, or key builders that tell them apart)".into(),
                ))
            }
            None => self.decode(entry),
        };
        match read {
            Ok(value) => {
                tracing::trace!(target: "cache", namespace = self.spec.namespace(), function = self.spec.function(), age = ?entry.age(), "hit");
                Some(value)
            }
            Err(error) => {
                tracing::warn!(
                    target: "cache",
                    namespace = self.spec.namespace(),
                    function = self.spec.function(),
                    %error,
                    "stored value does not decode; recomputing and overwriting it"
                );
                None
            }
        }
    }
}

/// A kept typed value and its estimated size (see `returns::TypedOps`).
type KeptValue = (Decoded, usize);

/// `stored`, its encoding, and, when its type is kept typed and it is to be
/// stored (it encodes, within `max_size`), its kept form.
fn encode<R, T>(
    shape: ReturnShape<R, T>,
    stored: T,
    function: u64,
    coder: Coder,
    max_size: u64,
) -> (
    T,
    Result<Vec<u8>, crate::codec::EncodeError>,
    Option<KeptValue>,
) {
    let encoded = (shape.encode)(&stored, function, coder);
    let kept = match (&encoded, shape.typed) {
        (Ok(bytes), Some(typed)) if bytes.len() as u64 <= max_size => {
            Some(((typed.keep)(&stored, function), (typed.size)(&stored)))
        }
        _ => None,
    };
    (stored, encoded, kept)
}

/// Stores `entry` under `key` without making the caller wait, then publishes it to
/// the flight's waiters. In memory mode the store is immediate.
fn store_in_background(cache: &Cache, key: CacheKey, entry: Arc<Entry>, mut miss: Miss) {
    if let Backend::Memory(memory) = cache.backend() {
        memory.put(&key, Arc::clone(&entry));
        cache.update_memory_gauges();
        miss.publish(Published::Entry(entry));
        return;
    }
    let cache = cache.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                cache.backend().put(&key, &entry).await;
                cache.update_memory_gauges();
                miss.publish(Published::Entry(entry));
            });
        }
        // No runtime to finish it on: not stored (never an error); the waiters
        // may still take it.
        Err(_) => miss.publish(Published::Entry(entry)),
    }
}

pin_project_lite::pin_project! {
    /// `body`, with a panic caught as an `Err` (for `stale_if_error`; the caller
    /// resumes it when there is nothing to return instead).
    struct CatchUnwind<F> {
        #[pin]
        body: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let body = self.project().body;
        match std::panic::catch_unwind(AssertUnwindSafe(|| body.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
