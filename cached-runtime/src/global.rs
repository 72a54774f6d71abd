//! The process-wide default cache, and which cache is current.
//!
//! # Initialisation
//!
//! [`init`] (or [`init_from_env`]) creates the global cache once, at start-up. It is
//! defined for every order of events:
//!
//! - **`#[cached]` before `init`**: the function runs uncached, and one warning per
//!   function names it (`target: "cache"`). Nothing fails; caching starts with `init`.
//! - **Invalidation before `init`**: a no-op (nothing can be cached yet).
//! - **`init` twice**: the second call returns [`InitError::AlreadyInitialized`] and
//!   changes nothing; the first configuration stays. Use [`Cache::new`] with
//!   [`Cache::scope`] for a second configuration.
//!
//! # Disabled mode costs one atomic load
//!
//! The code `#[cached]` generates first reads one relaxed atomic; while no enabled
//! cache exists (global disabled, no scope running) it calls the function directly:
//! no allocation, no key, no lookup.

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cache::Cache;
use crate::config::{Config, ConfigError, Mode};

static GLOBAL: OnceLock<Cache> = OnceLock::new();

/// Reasons to take the slow path: 1 while not initialised (to warn) or while the
/// global cache is enabled, plus 1 per running [`Cache::scope`].
static ACTIVE: AtomicUsize = AtomicUsize::new(1);

tokio::task_local! {
    static CURRENT: Cache;
}

/// `false` when `#[cached]` can call the function directly.
#[inline(always)]
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 0
}

/// Which cache is current is this module's business: a scope is defined here, and
/// `cache.rs` never refers to it.
impl Cache {
    /// Runs `future` with this cache as the current cache: `#[cached]` functions and the
    /// invalidation helpers it calls use this instance instead of the global one.
    ///
    /// The returned future owns a handle to the cache, so it can be spawned:
    /// `tokio::spawn(cache.scope(work()))`. The scope follows the future, not the
    /// thread; a task spawned inside it does not inherit it (wrap that task in
    /// `scope` too).
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> + use<F> {
        let cache = self.clone();
        async move {
            let _active = ScopeGuard::new();
            CURRENT.scope(cache, future).await
        }
    }
}

/// Counts a running scope.
struct ScopeGuard(());

impl ScopeGuard {
    fn new() -> Self {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        ScopeGuard(())
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The current cache: the innermost [`Cache::scope`], else the global one.
#[derive(Clone)]
pub(crate) enum CacheRef {
    Global(&'static Cache),
    Scoped(Cache),
}

impl std::ops::Deref for CacheRef {
    type Target = Cache;
    fn deref(&self) -> &Cache {
        match self {
            CacheRef::Global(c) => c,
            CacheRef::Scoped(c) => c,
        }
    }
}

pub(crate) fn current() -> Option<CacheRef> {
    if let Ok(cache) = CURRENT.try_with(Cache::clone) {
        return Some(CacheRef::Scoped(cache));
    }
    GLOBAL.get().map(CacheRef::Global)
}

/// Why [`init`] failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration is invalid (only from [`init_from_env`]).
    Config(ConfigError),
    /// `init` already ran in this process; the first configuration stays.
    AlreadyInitialized {
        /// The mode of the cache that is in place.
        mode: Mode,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Config(e) => write!(f, "cachette configuration: {e}"),
            InitError::AlreadyInitialized { mode } => write!(
                f,
                "cachette is already initialised (mode {mode}); init runs once per process, \
                 use Cache::new with Cache::scope for another configuration"
            ),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Config(e) => Some(e),
            InitError::AlreadyInitialized { .. } => None,
        }
    }
}

impl From<ConfigError> for InitError {
    fn from(e: ConfigError) -> Self {
        InitError::Config(e)
    }
}

/// Creates the global cache from `config`. Call it once, at start-up, before serving.
///
/// In Redis mode this connects (bounded by `REDIS_CONNECT_TIMEOUT_MS`); when Redis is
/// unreachable the cache starts on its memory fallback with a warning rather than
/// failing.
///
/// Every order of events is defined:
///
/// - **`#[cached]` before `init`**: the function runs uncached, and one warning per
///   function names it (`target: "cache"`). Nothing fails; caching starts with `init`.
/// - **Invalidation before `init`**: a no-op (nothing can be cached yet).
/// - **`init` twice**: the second call returns [`InitError::AlreadyInitialized`] and
///   changes nothing; the first configuration stays. For a second configuration use
///   [`Cache::new`] with [`Cache::scope`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cachette::InitError> {
/// let cache = cachette::init(cachette::Config::memory()).await?;
/// assert!(cache.is_enabled());
/// assert!(cachette::init(cachette::Config::memory()).await.is_err());
/// # Ok(())
/// # }
/// ```
pub async fn init(config: Config) -> Result<&'static Cache, InitError> {
    if let Some(existing) = GLOBAL.get() {
        return Err(InitError::AlreadyInitialized {
            mode: existing.mode(),
        });
    }
    let cache = Cache::new(config).await;
    let enabled = cache.is_enabled();
    let mode = cache.mode();
    if let Err(_lost) = GLOBAL.set(cache) {
        let mode = GLOBAL.get().map_or(mode, Cache::mode);
        return Err(InitError::AlreadyInitialized { mode });
    }
    if !enabled {
        // Leave the "not initialised" slow path: disabled is the fast path.
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
    tracing::info!(target: "cache", %mode, "cachette initialised");
    Ok(global().unwrap_or_else(|| unreachable!("set just above")))
}

/// [`init`] with [`Config::from_env`]: the environment, then `./.env`.
pub async fn init_from_env() -> Result<&'static Cache, InitError> {
    init(Config::from_env()?).await
}

/// The global cache, once [`init`] ran.
pub fn global() -> Option<&'static Cache> {
    GLOBAL.get()
}
