//! Cache configuration, read once at start-up from environment variables and `.env`.
//!
//! [`Config::from_env`] reads the process environment, then `./.env` in the current
//! directory (if it exists) for the variables the environment does not set, as
//! pydantic-settings does. [`Config::builder`] builds a configuration in code with the same
//! checks. A value that is not accepted is an error naming the variable, the value and what
//! is accepted; it is never replaced by the default. Every variable is checked, including the
//! Redis ones while Redis is off. Variable names are case-sensitive; other variables are
//! ignored.
//!
//! | Variable | Default | Accepted |
//! |---|---|---|
//! | `CACHE_ENABLED` | `false` | `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, any case |
//! | `REDIS_ENABLED` | `false` | the same; Redis is used only when `CACHE_ENABLED` is also true |
//! | `CACHE_DEFAULT_TTL` | `300` | whole seconds, 1 to `CACHE_MAX_TTL` |
//! | `CACHE_MAX_TTL` | `604800` (7 days) | whole seconds, 1 to 31536000 (365 days); caps every entry's TTL |
//! | `CACHE_MAX_MEMORY` | `256MiB` | a size of at least 1 KiB: bytes, or a whole number with a unit `B`, `K`/`KB` (1000), `Ki`/`KiB` (1024), `M`/`MB`, `Mi`/`MiB`, `G`/`GB`, `Gi`/`GiB`; any case, optional space (`512 MiB`) |
//! | `CACHE_MAX_ENTRY_SIZE` | `4MiB` | a size as above, 1 byte to `CACHE_MAX_MEMORY` |
//! | `CACHE_PREFIX` | `fastapi-cache` | 1 to 64 printable ASCII characters, without spaces, `:`, `\` or any of `*?[]{}` (keys are `{prefix}:{namespace}:…`) |
//! | `CACHE_HEADER` | `X-FastAPI-Cache` | an HTTP header name (RFC 9110 token) |
//! | `CACHE_CREDENTIAL_HEADERS` | `authorization,cookie,x-api-key` | comma-separated header names, stored lower-case; empty for none |
//! | `REDIS_HOST` | `localhost` | a host name or IP address; IPv6 as `::1` or `[::1]` |
//! | `REDIS_PORT` | `6379` | 1 to 65535 |
//! | `REDIS_PASSWORD` | none | anything; empty means none |
//! | `REDIS_DB` | `0` | 0 to 15 |
//! | `REDIS_URL` | none | `redis://[user][:password]@host[:port][/db]`, or `rediss://…` for TLS; replaces `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB` and, when it has a password, `REDIS_PASSWORD`; user and password percent-decoded; port defaults to 6379, database to 0; unix sockets are not supported; empty means none |
//! | `REDIS_TIMEOUT_MS` | `250` | whole milliseconds, 1 to 60000 |
//! | `REDIS_CONNECT_TIMEOUT_MS` | `1000` | whole milliseconds, 1 to 60000 |
//!
//! Surrounding whitespace is ignored in every value but `REDIS_PASSWORD`. An empty number,
//! boolean, size, prefix, header or host (`CACHE_DEFAULT_TTL=`) is an error, not the default.
//! Numbers take no sign and no decimals. In a `.env` file, `#` starts a comment and `$NAME`
//! is replaced by the variable's value, so quote a password holding them with single quotes:
//! `REDIS_PASSWORD='pa$$#word'`. A later line wins over an earlier one for the same variable.
//!
//! Passwords are kept out of logs: [`Password`] prints as `***`, the `Debug` output of every
//! type here masks it, errors mask it (also inside `REDIS_URL`), and
//! [`RedisConfig::redacted_url`] is the URL to log. `.env` errors give the line number, never
//! the line.
//!
//! # Examples
//!
//! At start-up:
//!
//! ```no_run
//! use cachette::{Config, Mode};
//!
//! fn main() -> Result<(), cachette::ConfigError> {
//!     let config = Config::from_env()?;
//!     if config.mode() == Mode::Redis {
//!         // Log the redacted URL; hand `connection_url()` to the client.
//!         eprintln!("cache: {} at {}", config.mode(), config.redis().redacted_url());
//!     }
//!     Ok(())
//! }
//! ```
//!
//! In code, for tests or applications that do not use the environment:
//!
//! ```
//! use std::time::Duration;
//! use cachette::{Config, Mode};
//!
//! let config = Config::builder()
//!     .enabled(true)
//!     .default_ttl(Duration::from_secs(60))
//!     .max_memory(64 * 1024 * 1024)
//!     .prefix("myapp")
//!     .build()?;
//! assert_eq!(config.mode(), Mode::Memory);
//!
//! let error = Config::builder().redis_db(99).build().unwrap_err();
//! assert_eq!(error.to_string(), r#"invalid redis_db="99": expected a database number from 0 to 15"#);
//! # Ok::<(), cachette::ConfigError>(())
//! ```

mod builder;
mod defaults;
mod dotenv;
mod env;
mod error;
mod field;
mod parse;
mod redis;
mod redis_url;
mod resolve;
mod secret;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::time::Duration;

pub use builder::ConfigBuilder;
pub use error::ConfigError;
pub use redis::RedisConfig;
pub use secret::Password;

/// Which store the cache uses, picked once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// The cache configuration; see the [module documentation](self) for the variables.
///
/// `Debug` masks the Redis password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    enabled: bool,
    redis_enabled: bool,
    default_ttl: Duration,
    max_ttl: Duration,
    max_memory: u64,
    max_entry_size: u64,
    prefix: String,
    cache_header: String,
    credential_headers: Vec<String>,
    redis: RedisConfig,
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

    /// Request headers that carry credentials, lower-case (`CACHE_CREDENTIAL_HEADERS`).
    pub fn credential_headers(&self) -> &[String] {
        &self.credential_headers
    }

    /// The Redis connection settings.
    pub fn redis(&self) -> &RedisConfig {
        &self.redis
    }
}
