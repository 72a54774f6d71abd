//! [`Config`] and [`Mode`]: the configuration that the [`crate::config`] guide
//! describes, resolved.

#[allow(clippy::wildcard_imports)]
use super::*;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::codec::Coder;

/// Which store the cache uses, picked once at start-up. Modes may be added
/// (`#[non_exhaustive]`): a `match` needs a wildcard arm (or use [`Mode::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Caching is off: every call runs (`CACHE_ENABLED=false`).
    Disabled,
    /// An in-process store bounded by `CACHE_MAX_MEMORY`.
    Memory,
    /// A Redis server (`CACHE_ENABLED=true` and `REDIS_ENABLED=true`).
    Redis,
}

impl Mode {
    /// `"disabled"`, `"memory"` or `"redis"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disabled => "disabled",
            Mode::Memory => "memory",
            Mode::Redis => "redis",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cache configuration; see the [`config` guide](crate::config) for the variables.
///
/// `Debug` masks the Redis password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(super) enabled: bool,
    pub(super) redis_enabled: bool,
    pub(super) default_ttl: Duration,
    pub(super) max_ttl: Duration,
    pub(super) max_memory: u64,
    pub(super) max_entry_size: u64,
    pub(super) prefix: String,
    pub(super) cache_header: String,
    pub(super) credential_headers: Vec<String>,
    pub(super) coder: Coder,
    pub(super) stale_while_revalidate: Duration,
    pub(super) stale_if_error: Duration,
    /// XFetch's β, as its bits (`Config` is `Eq`): finite and above zero.
    pub(super) early_refresh_beta: u64,
    pub(super) redis: RedisConfig,
}

impl Default for Config {
    /// The defaults: caching disabled.
    fn default() -> Self {
        Self {
            enabled: false,
            redis_enabled: false,
            default_ttl: Duration::from_secs(defaults::DEFAULT_TTL_SECS),
            max_ttl: Duration::from_secs(defaults::MAX_TTL_SECS),
            max_memory: defaults::MAX_MEMORY,
            max_entry_size: defaults::MAX_ENTRY_SIZE,
            prefix: defaults::PREFIX.to_owned(),
            cache_header: defaults::CACHE_HEADER.to_owned(),
            credential_headers: defaults::CREDENTIAL_HEADERS.map(str::to_owned).to_vec(),
            coder: Coder::default(),
            stale_while_revalidate: Duration::from_secs(defaults::STALE_WHILE_REVALIDATE_SECS),
            stale_if_error: Duration::from_secs(defaults::STALE_IF_ERROR_SECS),
            early_refresh_beta: defaults::EARLY_REFRESH_BETA.to_bits(),
            redis: RedisConfig::default(),
        }
    }
}

impl Config {
    /// Reads the process environment, then `./.env` for variables the environment does not
    /// set. A missing `./.env` is fine.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the first value not accepted, or if `./.env` exists but cannot
    /// be read or parsed.
    pub fn from_env() -> Result<Config, ConfigError> {
        env::resolve_env(&env::env_file(Path::new(".env"), true)?)
    }

    /// Reads the process environment, then the `.env` file at `path` for variables the
    /// environment does not set. The file must exist.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the first value not accepted, or naming `path` if the file is
    /// missing, unreadable or malformed.
    pub fn from_env_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        env::resolve_env(&env::env_file(path.as_ref(), false)?)
    }

    /// Reads the variables through `lookup` (a variable name in, its value out, `None` when
    /// unset), e.g. a `HashMap` in tests. Every other constructor goes through the same parser.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the first value not accepted.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        resolve::resolve(&|name| Ok(lookup(name)), field::Source::Env)
    }

    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The defaults: caching disabled.
    pub fn disabled() -> Config {
        Config::default()
    }

    /// The defaults with caching enabled: the memory store.
    pub fn memory() -> Config {
        Config {
            enabled: true,
            ..Config::default()
        }
    }

    /// Which store to use: [`Mode::Disabled`] unless enabled, [`Mode::Redis`] if Redis is
    /// enabled too, else [`Mode::Memory`].
    pub fn mode(&self) -> Mode {
        match (self.enabled, self.redis_enabled) {
            (false, _) => Mode::Disabled,
            (true, true) => Mode::Redis,
            (true, false) => Mode::Memory,
        }
    }

    /// Whether caching is on (`CACHE_ENABLED`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether Redis is the store when caching is on (`REDIS_ENABLED`).
    pub fn redis_enabled(&self) -> bool {
        self.redis_enabled
    }

    /// The TTL of entries that do not set one (`CACHE_DEFAULT_TTL`); at most
    /// [`max_ttl`](Self::max_ttl).
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// The cap on every entry's TTL (`CACHE_MAX_TTL`).
    pub fn max_ttl(&self) -> Duration {
        self.max_ttl
    }

    /// The memory store's budget in bytes (`CACHE_MAX_MEMORY`).
    pub fn max_memory(&self) -> u64 {
        self.max_memory
    }

    /// The largest entry stored, in bytes (`CACHE_MAX_ENTRY_SIZE`); at most
    /// [`max_memory`](Self::max_memory).
    pub fn max_entry_size(&self) -> u64 {
        self.max_entry_size
    }

    /// The first segment of every key, `{prefix}:{namespace}:…` (`CACHE_PREFIX`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The response header name that reports hits and misses (`CACHE_HEADER`).
    pub fn cache_header(&self) -> &str {
        &self.cache_header
    }

    /// What values are written with (`CACHE_CODER`), unless a function's
    /// `#[cached(coder = ...)]` says otherwise.
    pub fn coder(&self) -> Coder {
        self.coder
    }

    /// Request headers that carry credentials, lower-case (`CACHE_CREDENTIAL_HEADERS`).
    pub fn credential_headers(&self) -> &[String] {
        &self.credential_headers
    }

    /// How long after expiry an entry is served at once while one refresh runs
    /// in the background (`CACHE_STALE_WHILE_REVALIDATE`, 0: never), unless a
    /// function's `#[cached(stale_while_revalidate = N)]` says otherwise.
    pub fn stale_while_revalidate(&self) -> Duration {
        self.stale_while_revalidate
    }

    /// How long after expiry an entry is returned when its recomputation fails
    /// (`CACHE_STALE_IF_ERROR`, 0: never), unless a function's
    /// `#[cached(stale_if_error = N)]` says otherwise.
    pub fn stale_if_error(&self) -> Duration {
        self.stale_if_error
    }

    /// XFetch's β for functions with `#[cached(early_refresh = true)]`
    /// (`CACHE_EARLY_REFRESH_BETA`, default 1.0): above 1 refreshes earlier,
    /// below 1 later.
    pub fn early_refresh_beta(&self) -> f64 {
        f64::from_bits(self.early_refresh_beta)
    }

    /// The Redis connection settings.
    pub fn redis(&self) -> &RedisConfig {
        &self.redis
    }
}
