//! [`Cache`]: one cache instance (configuration + store + in-flight calls).

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::backend::Backend;
use crate::backend::memory::MemoryStore;
#[cfg(feature = "redis")]
use crate::backend::redis::RedisHealth;
use crate::config::{Config, Mode};
use crate::flight::Flights;
use crate::stats::{FunctionStats, Registry};

/// A cache: its configuration, its store and its in-flight calls.
///
/// Most applications never name one: [`init`](crate::init) creates the process-wide
/// default that `#[cached]` and the invalidation helpers use. Create more when you
/// need two configurations side by side (fastapi-cache2's single global makes that
/// impossible), typically in tests: [`Cache::scope`] makes an instance the current
/// cache for everything a future runs, `#[cached]` functions and invalidation helpers
/// included.
///
/// ```
/// use cachette::{cached, Cache, Config};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
///
/// #[cached(namespace = "square")]
/// async fn square(x: u64) -> u64 {
///     CALLS.fetch_add(1, Ordering::SeqCst);
///     x * x
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let memory = Cache::in_memory(Config::memory());
/// let disabled = Cache::disabled();
///
/// memory.scope(async {
///     assert_eq!(square(3).await, 9);
///     assert_eq!(square(3).await, 9); // a hit
/// }).await;
/// assert_eq!(CALLS.load(Ordering::SeqCst), 1);
///
/// disabled.scope(async {
///     square(3).await; // runs the function
/// }).await;
/// assert_eq!(CALLS.load(Ordering::SeqCst), 2);
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    backend: Backend,
    flights: Flights,
    /// What it counts (see `stats`).
    stats: Registry,
    /// The random source of early refreshes (see `stale`).
    dice: crate::stale::Dice,
    /// The state a layer over the core keeps with this cache (see
    /// [`Cache::layer_state`]).
    layer: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Cache {
    /// Creates the cache `config` describes (see [`Config::mode`]).
    pub async fn new(config: Config) -> Cache {
        match config.mode() {
            Mode::Disabled => Self::with_backend(config, Backend::Disabled),
            Mode::Memory => Self::in_memory(config),
            #[cfg(feature = "redis")]
            Mode::Redis => {
                let store = crate::backend::redis::RedisStore::connect(&config).await;
                Self::with_backend(config, Backend::Redis(store))
            }
            #[cfg(not(feature = "redis"))]
            Mode::Redis => {
                tracing::warn!(
                    target: "cache",
                    "REDIS_ENABLED=true, but cachette was built without its `redis` feature; using the in-memory store"
                );
                Self::in_memory(config)
            }
        }
    }

    /// A cache that caches nothing: `#[cached]` calls the function, invalidation is a
    /// successful no-op.
    pub fn disabled() -> Cache {
        Self::with_backend(Config::disabled(), Backend::Disabled)
    }

    /// An in-memory cache with `config`'s limits, whatever its `CACHE_ENABLED` and
    /// `REDIS_ENABLED` say.
    pub fn in_memory(config: Config) -> Cache {
        let store = MemoryStore::new(config.max_memory(), config.max_ttl());
        let config = if config.mode() == Mode::Memory {
            config
        } else {
            // The configuration was valid, and turning Redis off keeps it valid.
            config
                .to_builder()
                .enabled(true)
                .redis_enabled(false)
                .build()
                .unwrap_or_else(|_| Config::memory())
        };
        Self::with_backend(config, Backend::Memory(store))
    }

    fn with_backend(config: Config, backend: Backend) -> Cache {
        let stats = Registry::new(match &backend {
            Backend::Disabled => "disabled",
            Backend::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
        });
        Cache {
            inner: Arc::new(Inner {
                config,
                backend,
                flights: Flights::new(),
                stats,
                dice: crate::stale::Dice::new(),
                layer: OnceLock::new(),
            }),
        }
    }

    /// The configuration this cache was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The mode this cache runs in.
    pub fn mode(&self) -> Mode {
        match self.inner.backend {
            Backend::Disabled => Mode::Disabled,
            Backend::Memory(_) => Mode::Memory,
            #[cfg(feature = "redis")]
            Backend::Redis(_) => Mode::Redis,
        }
    }

    /// `false` in disabled mode.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.inner.backend, Backend::Disabled)
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    pub(crate) fn flights(&self) -> &Flights {
        &self.inner.flights
    }

    pub(crate) fn dice(&self) -> &crate::stale::Dice {
        &self.inner.dice
    }

    /// Restarts the random sequence that decides early refreshes
    /// (`#[cached(early_refresh = true)]`) from `seed`, so that a test or a
    /// simulation sees the same refreshes on every run. Without it the sequence
    /// starts from a random seed.
    pub fn seed_early_refresh(&self, seed: u64) {
        self.inner.dice.reseed(seed);
    }

    /// The state the layer over the core (the HTTP layer) keeps with this cache,
    /// made from the configuration on first use. One layer type per cache (the
    /// HTTP layer is the only one): `None` if a state of another type is kept, and
    /// the caller then does without (it never fails a request for it).
    pub(crate) fn layer_state<T: Any + Send + Sync>(&self, init: fn(&Config) -> T) -> Option<&T> {
        self.inner
            .layer
            .get_or_init(|| Box::new(init(&self.inner.config)))
            .downcast_ref::<T>()
    }

    /// Invalidates every entry whose key (after the prefix) is `namespace` or starts
    /// with `namespace:`. Segment-aligned: `user:1` never touches `user:10`.
    ///
    /// One write, whatever the number of entries; race-free against calls that are
    /// computing a value from data read before this call (their result is never
    /// served after it returns). Any string is accepted: it is data, never a pattern.
    /// A no-op when caching is disabled.
    ///
    /// A namespace of 32 segments or more invalidates its first 31 segments, a
    /// broader namespace: keys keep 31 segments and hash the rest into one (see
    /// [`crate::key`]), so that is the longest prefix they can be matched on.
    pub async fn invalidate_namespace(&self, namespace: &str) {
        self.inner
            .backend
            .invalidate(&crate::key::normalize::invalidation_target(namespace))
            .await;
        self.inner.stats.invalidated(false);
        self.update_memory_gauges();
        tracing::debug!(target: "cache", namespace, "invalidated namespace");
    }

    /// Invalidates every entry of this cache. In Redis mode it rotates the Redis
    /// epoch (a new identity, one script): every entry stored under this prefix,
    /// by any instance, becomes a miss, and no value computed before is stored
    /// afterwards. Never fails: when Redis does not take it, it is applied locally
    /// and replayed, as for [`Cache::invalidate_namespace`].
    pub async fn invalidate_all(&self) {
        self.inner.backend.invalidate_all().await;
        self.inner.stats.invalidated(true);
        self.update_memory_gauges();
        tracing::debug!(target: "cache", "invalidated all entries");
    }

    /// What this cache counts (see `stats`).
    pub(crate) fn counters(&self) -> &Registry {
        &self.inner.stats
    }

    /// Sets the `cachette_memory_bytes` and `cachette_entries` gauges (see
    /// `stats`): after a store, an invalidation, a snapshot.
    pub(crate) fn update_memory_gauges(&self) {
        if let Some(usage) = self.memory_usage() {
            self.inner.stats.memory(usage.entries, usage.bytes);
        }
    }

    /// The number of entries held in memory (in Redis mode: in the fallback) and
    /// their weight in bytes (bounded by `CACHE_MAX_MEMORY`); `None` in disabled mode.
    pub fn memory_usage(&self) -> Option<MemoryUsage> {
        let (entries, bytes) = match &self.inner.backend {
            Backend::Disabled => return None,
            Backend::Memory(store) => store.usage(),
            #[cfg(feature = "redis")]
            Backend::Redis(store) => store.fallback().usage(),
        };
        Some(MemoryUsage { entries, bytes })
    }

    /// A snapshot of what this cache did: each function's hits, misses and
    /// bypasses, what its memory holds, Redis's health (see [`CacheStats`]). For
    /// applications without a metrics recorder, health checks and tests; the same
    /// counts go to the `metrics` facade (see the crate docs, "Metrics").
    ///
    /// ```
    /// use cachette::{Cache, Config, cached};
    ///
    /// #[cached(namespace = "squares")]
    /// async fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cache = Cache::in_memory(Config::memory());
    /// cache.scope(async {
    ///     square(3).await; // a miss
    ///     square(3).await; // a hit
    /// }).await;
    /// let stats = cache.stats();
    /// let squares = &stats.functions[0];
    /// assert_eq!((squares.namespace, squares.function), ("squares", "square"));
    /// assert_eq!((squares.hits, squares.misses), (1, 1));
    /// assert_eq!(stats.memory.map(|m| m.entries), Some(1));
    /// assert_eq!(stats.invalidations_refused, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> CacheStats {
        self.update_memory_gauges();
        CacheStats {
            invalidations_refused: self.inner.backend.invalidations_refused(),
            functions: self.inner.stats.functions(),
            memory: self.memory_usage(),
            #[cfg(feature = "redis")]
            redis: self.redis_health().map(|health| *health.borrow()),
        }
    }

    /// In Redis mode, whether Redis serves the cache ([`RedisHealth::Up`]) or the
    /// memory fallback does ([`RedisHealth::Down`]), as a watch channel to read or
    /// await; `None` in the other modes.
    ///
    /// ```no_run
    /// # async fn f(cache: cachette::Cache) {
    /// use cachette::RedisHealth;
    /// if let Some(mut health) = cache.redis_health() {
    ///     // e.g. in a readiness probe, or to wait for recovery:
    ///     let _ = health.wait_for(|h| *h == RedisHealth::Up).await;
    /// }
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_health(&self) -> Option<tokio::sync::watch::Receiver<RedisHealth>> {
        match &self.inner.backend {
            Backend::Redis(store) => Some(store.health()),
            _ => None,
        }
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("mode", &self.mode())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What an in-memory store holds, from [`Cache::memory_usage`]. More fields may come
/// (hence `#[non_exhaustive]`: read the fields, do not build it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryUsage {
    /// Live entries.
    pub entries: u64,
    /// Their weight: keys, values and a fixed per-entry overhead, in bytes.
    pub bytes: u64,
}

/// A snapshot of one [`Cache`], from [`Cache::stats`]. More fields will come (hence
/// `#[non_exhaustive]`: read the fields, do not build it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Each `#[cached]` function called through this cache, by namespace then
    /// name: its hits, misses, bypasses and errors (see [`FunctionStats`]). A
    /// disabled cache counts nothing.
    pub functions: Vec<FunctionStats>,
    /// What the in-memory store holds (in Redis mode: the fallback); `None` in
    /// disabled mode.
    pub memory: Option<MemoryUsage>,
    /// In Redis mode, whether Redis serves the cache or the memory fallback does;
    /// `None` in the other modes.
    #[cfg(feature = "redis")]
    pub redis: Option<RedisHealth>,
    /// Invalidations that returned before Redis recorded them: Redis refused them
    /// (full without script flags, a read-only replica, an ACL...), did not answer,
    /// or was already out of use when they were made. Each was applied to this
    /// instance's memory fallback, which serves until Redis has them all (they are
    /// replayed), so this instance never serves what it invalidated; **other
    /// instances cannot know of them until then and keep serving what Redis
    /// holds**. Also logged at `error` level (refused) or `info` (Redis already out
    /// of use), with the namespace. Alert when it grows. Always 0 outside Redis mode.
    pub invalidations_refused: u64,
}
