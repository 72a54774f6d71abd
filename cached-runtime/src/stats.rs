//! What the cache did, counted: [`Cache::stats`](crate::Cache::stats) for
//! applications and tests, and the [`metrics`] facade for operators.
//!
//! # Contents
//! - [Metrics](#metrics)
//! - [What each result means](#what-each-result-means)
//! - [Cost](#cost)
//!
//! # Metrics
//!
//! Emitted through the [`metrics`](https://docs.rs/metrics) facade, the
//! conventional choice for a library: install any recorder (e.g.
//! `metrics-exporter-prometheus`) **before the first `#[cached]` call** and they
//! appear; without one they cost a no-op call each.
//!
//! | name | kind | labels | unit | what |
//! |---|---|---|---|---|
//! | `cachette_requests_total` | counter | `namespace`, `function`, `result` | calls | one per `#[cached]` call of an enabled cache, by its result (below) |
//! | `cachette_lookup_duration_seconds` | histogram | `backend` (`memory`, `redis`) | seconds | time from a call's lookup to a hit or the decision to compute, for lookups that waited (a Redis round trip, another caller's computation); hits answered from process memory at once are counted, not timed |
//! | `cachette_invalidations_total` | counter | `scope` (`namespace`, `all`) | invalidations | every `invalidate_namespace` / `invalidate_all` (and the helpers) |
//! | `cachette_memory_bytes` | gauge | | bytes | weight of the in-memory store (in Redis mode: the fallback), updated on every store, invalidation and [`Cache::stats`](crate::Cache::stats) |
//! | `cachette_entries` | gauge | | entries | its entries, updated alike |
//! | `cachette_redis_up` | gauge | | 1 or 0 | Redis mode: whether Redis serves the cache (1) or the memory fallback does (0) |
//! | `cachette_breaker_transitions_total` | counter | `to` (`open`, `closed`) | transitions | Redis mode: the circuit breaker opening (Redis failing) and closing (Redis back) |
//! | `cachette_near_hits_total` | counter | | hits | Redis near mode: hits answered from the near cache without a round trip |
//! | `cachette_near_flushes_total` | counter | | flushes | Redis near mode: times the near cache was emptied (a reconnection, the breaker, an epoch change, a flush in Redis) |
//!
//! No label takes unbounded values: `namespace` is the namespace the attribute
//! declares (`#[cached(namespace = "users")]`), never a rendered key or a user id,
//! and `function` is the function's name.
//!
//! # What each result means
//!
//! - `hit`: answered from a stored entry (or from another caller's computation
//!   of the same key), the function did not run;
//! - `miss`: the function ran to compute the entry (also for a request that said
//!   `Cache-Control: no-cache`, and a HEAD request that found nothing);
//! - `bypass`: the cache was not used for this call: a request that said
//!   `no-store` or was not a GET or HEAD, a key builder that returned `None`, an
//!   argument that cannot be keyed, a return type that cannot be stored;
//! - `error`: the function ran, but its value could not be stored because of the
//!   cache (it did not encode); the caller still got it;
//! - `stale`: answered with an expired entry on purpose (see the crate docs,
//!   "Staleness"): within `stale_while_revalidate` (a refresh runs), or within
//!   `stale_if_error` after the recomputation failed.
//!
//! A disabled cache counts nothing (it must cost what a plain call costs).
//!
//! # Cost
//!
//! A call's counters are found once per function and cache (the first cache a
//! function meets keeps them next to the function's static description, so the
//! usual one-cache application pays one atomic load to find them) and a result is
//! one relaxed atomic add plus the recorder's own cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::spec::Spec;

/// The result of one call, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Outcome {
    Hit = 0,
    Miss = 1,
    Bypass = 2,
    Error = 3,
    Stale = 4,
}

/// The `result` label of each [`Outcome`], in its order.
const RESULTS: [&str; 5] = ["hit", "miss", "bypass", "error", "stale"];

/// The counters of one function in one cache.
#[derive(Debug)]
pub(crate) struct Counts {
    /// The cache they belong to.
    cache: u64,
    namespace: &'static str,
    function: &'static str,
    counts: [AtomicU64; 5],
    metrics: [metrics::Counter; 5],
}

impl Counts {
    fn new(cache: u64, spec: &Spec) -> Counts {
        let (namespace, function) = (spec.namespace(), spec.function());
        Counts {
            cache,
            namespace,
            function,
            counts: Default::default(),
            metrics: RESULTS.map(|result| {
                metrics::counter!(
                    "cachette_requests_total",
                    "namespace" => namespace,
                    "function" => function,
                    "result" => result
                )
            }),
        }
    }

    /// Counts one call that ended in `outcome`.
    #[inline]
    pub(crate) fn record(&self, outcome: Outcome) {
        self.counts[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.metrics[outcome as usize].increment(1);
    }

    fn snapshot(&self) -> FunctionStats {
        let read = |outcome: Outcome| self.counts[outcome as usize].load(Ordering::Relaxed);
        FunctionStats {
            namespace: self.namespace,
            function: self.function,
            hits: read(Outcome::Hit),
            misses: read(Outcome::Miss),
            bypasses: read(Outcome::Bypass),
            errors: read(Outcome::Error),
            stale: read(Outcome::Stale),
        }
    }
}

/// Where [`Spec`] keeps the counters of the first cache that called it.
pub(crate) type SpecSlot = OnceLock<Arc<Counts>>;

/// A function's counters in one cache, as found by [`Registry::counts`].
#[derive(Debug)]
pub(crate) enum Tally {
    /// The counters of the first cache the function met, kept beside its spec.
    Kept(&'static Counts),
    /// Another cache's.
    Shared(Arc<Counts>),
}

impl std::ops::Deref for Tally {
    type Target = Counts;

    #[inline]
    fn deref(&self) -> &Counts {
        match self {
            Tally::Kept(counts) => counts,
            Tally::Shared(counts) => counts,
        }
    }
}

/// Everything one cache counts.
#[derive(Debug)]
pub(crate) struct Registry {
    id: u64,
    functions: Mutex<HashMap<usize, Arc<Counts>>>,
    lookup_time: metrics::Histogram,
    invalidations: [metrics::Counter; 2],
    memory_bytes: metrics::Gauge,
    entries: metrics::Gauge,
}

impl Registry {
    /// The counters of a cache whose store is `backend` (`memory`, `redis`).
    pub(crate) fn new(backend: &'static str) -> Registry {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        static DESCRIBED: std::sync::Once = std::sync::Once::new();
        DESCRIBED.call_once(describe);
        Registry {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            functions: Mutex::new(HashMap::new()),
            lookup_time: metrics::histogram!("cachette_lookup_duration_seconds", "backend" => backend),
            invalidations: ["namespace", "all"]
                .map(|scope| metrics::counter!("cachette_invalidations_total", "scope" => scope)),
            memory_bytes: metrics::gauge!("cachette_memory_bytes"),
            entries: metrics::gauge!("cachette_entries"),
        }
    }

    /// The counters of `spec`'s function in this cache.
    #[inline]
    pub(crate) fn counts(&self, spec: &'static Spec) -> Tally {
        match spec.counts_slot().get() {
            Some(kept) if kept.cache == self.id => Tally::Kept(kept),
            _ => self.counts_slow(spec),
        }
    }

    #[cold]
    fn counts_slow(&self, spec: &'static Spec) -> Tally {
        let counts = {
            let mut functions = self
                .functions
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let address = std::ptr::from_ref(spec) as usize;
            Arc::clone(
                functions
                    .entry(address)
                    .or_insert_with(|| Arc::new(Counts::new(self.id, spec))),
            )
        };
        // The first cache a function meets keeps its counters beside it.
        let slot = spec.counts_slot();
        let _ = slot.set(Arc::clone(&counts));
        match slot.get() {
            Some(kept) if kept.cache == self.id => Tally::Kept(kept),
            _ => Tally::Shared(counts),
        }
    }

    /// Times a lookup that waited.
    pub(crate) fn lookup_took(&self, time: Duration) {
        self.lookup_time.record(time.as_secs_f64());
    }

    /// Counts an invalidation (`all`: of everything).
    pub(crate) fn invalidated(&self, all: bool) {
        self.invalidations[usize::from(all)].increment(1);
    }

    /// Sets the memory gauges.
    pub(crate) fn memory(&self, entries: u64, bytes: u64) {
        #[allow(clippy::cast_precision_loss)]
        {
            self.entries.set(entries as f64);
            self.memory_bytes.set(bytes as f64);
        }
    }

    /// Every function's counters, by namespace then function.
    pub(crate) fn functions(&self) -> Vec<FunctionStats> {
        let mut all: Vec<FunctionStats> = self
            .functions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|counts| counts.snapshot())
            .collect();
        all.sort_by(|a, b| (a.namespace, a.function).cmp(&(b.namespace, b.function)));
        all
    }
}

/// Tells the recorder what each metric is (its `# HELP` line) and its unit.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "cachette_requests_total",
        Unit::Count,
        "#[cached] calls, by declared namespace, function and result (hit, miss, bypass, error)"
    );
    describe_histogram!(
        "cachette_lookup_duration_seconds",
        Unit::Seconds,
        "time to a hit or to the decision to compute, for lookups that waited (Redis, another caller)"
    );
    describe_counter!(
        "cachette_invalidations_total",
        Unit::Count,
        "invalidations, by scope (namespace, all)"
    );
    describe_gauge!(
        "cachette_memory_bytes",
        Unit::Bytes,
        "weight of the in-memory store (Redis mode: the fallback)"
    );
    describe_gauge!(
        "cachette_entries",
        Unit::Count,
        "entries of the in-memory store (Redis mode: the fallback)"
    );
    describe_gauge!(
        "cachette_redis_up",
        "1 while Redis serves the cache, 0 while the memory fallback does"
    );
    describe_counter!(
        "cachette_breaker_transitions_total",
        Unit::Count,
        "Redis circuit breaker transitions, by state entered (open, closed)"
    );
    describe_counter!(
        "cachette_near_hits_total",
        Unit::Count,
        "hits answered from the Redis near cache without a round trip"
    );
    describe_counter!(
        "cachette_near_flushes_total",
        Unit::Count,
        "times the Redis near cache was emptied"
    );
}

/// What one `#[cached]` function's calls through one cache came to, from
/// [`Cache::stats`](crate::Cache::stats). See the [module docs](self) for what
/// each count means. More fields may come (hence `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The namespace the attribute declares (empty when none).
    pub namespace: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// Calls answered from a stored entry.
    pub hits: u64,
    /// Calls that ran the function to compute the entry.
    pub misses: u64,
    /// Calls the cache was not used for.
    pub bypasses: u64,
    /// Calls whose value could not be stored because of the cache.
    pub errors: u64,
    /// Calls answered with an expired entry on purpose: within
    /// `stale_while_revalidate`, or within `stale_if_error` after the
    /// recomputation failed.
    pub stale: u64,
}
