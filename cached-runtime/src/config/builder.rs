//! [`ConfigBuilder`]: a [`Config`] in code, checked exactly like the environment.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::Config;
use super::defaults;
use super::env;
use super::error::ConfigError;
use super::field::{Field, Source};
use super::resolve::{HEADER_LIST_EXPECTED, Lookup, header_item_problem, resolve, resolve_over};
use super::secret::{Password, SecretUrl};
use crate::codec::Coder;

/// Builds a [`Config`] in code. Start from [`Config::builder`] (the defaults) or
/// [`Config::to_builder`].
///
/// [`build`](Self::build) applies the same checks as the environment; its errors name the
/// builder method (e.g. `default_ttl`) where the environment would name the variable.
/// Settings left alone keep their defaults. `Debug` masks the password.
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    enabled: Option<bool>,
    redis_enabled: Option<bool>,
    default_ttl: Option<Duration>,
    max_ttl: Option<Duration>,
    max_memory: Option<u64>,
    max_entry_size: Option<u64>,
    prefix: Option<String>,
    cache_header: Option<String>,
    credential_headers: Option<Vec<String>>,
    coder: Option<Coder>,
    stale_while_revalidate: Option<Duration>,
    stale_if_error: Option<Duration>,
    early_refresh_beta: Option<f64>,
    redis_host: Option<String>,
    redis_port: Option<u16>,
    redis_password: Option<Password>,
    redis_db: Option<u32>,
    redis_cluster: Option<bool>,
    redis_url: Option<SecretUrl>,
    redis_timeout: Option<Duration>,
    redis_connect_timeout: Option<Duration>,
    redis_near_cache: Option<bool>,
    redis_near_cache_max_memory: Option<u64>,
    redis_near_cache_max_age: Option<Duration>,
    redis_distributed_lock: Option<bool>,
    redis_lock_lease: Option<Duration>,
    redis_memory_fallback: Option<bool>,
    /// The user name, TLS flag and further seed nodes of the config this builder
    /// came from ([`Config::to_builder`]); `redis_url` replaces them.
    carried: Option<Carried>,
}

/// Redis settings that only a URL can set, kept by [`Config::to_builder`].
#[derive(Debug, Clone)]
struct Carried {
    username: Option<String>,
    tls: bool,
    /// The seed nodes after the first, in cluster mode.
    other_seeds: Vec<(String, u16)>,
}

impl ConfigBuilder {
    /// Turns caching on (`CACHE_ENABLED`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Uses Redis rather than memory when caching is on (`REDIS_ENABLED`).
    pub fn redis_enabled(mut self, redis_enabled: bool) -> Self {
        self.redis_enabled = Some(redis_enabled);
        self
    }

    /// The TTL of entries that do not set one: whole seconds, 1 up to
    /// [`max_ttl`](Self::max_ttl) (`CACHE_DEFAULT_TTL`).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// The cap on every entry's TTL: whole seconds, 1 to 365 days (`CACHE_MAX_TTL`).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = Some(ttl);
        self
    }

    /// The memory store's budget in bytes, at least 1024 (`CACHE_MAX_MEMORY`).
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = Some(bytes);
        self
    }

    /// The largest entry stored, in bytes, 1 up to [`max_memory`](Self::max_memory)
    /// (`CACHE_MAX_ENTRY_SIZE`).
    pub fn max_entry_size(mut self, bytes: u64) -> Self {
        self.max_entry_size = Some(bytes);
        self
    }

    /// The first segment of every key (`CACHE_PREFIX`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The response header that reports hits and misses (`CACHE_HEADER`).
    pub fn cache_header(mut self, header: impl Into<String>) -> Self {
        self.cache_header = Some(header.into());
        self
    }

    /// Request headers that carry credentials (`CACHE_CREDENTIAL_HEADERS`); stored
    /// lower-case. An empty list is allowed.
    pub fn credential_headers<I, S>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.credential_headers = Some(headers.into_iter().map(Into::into).collect());
        self
    }

    /// What values are written with (`CACHE_CODER`): [`Coder::MsgPack`] (the
    /// default) or [`Coder::Json`].
    pub fn coder(mut self, coder: Coder) -> Self {
        self.coder = Some(coder);
        self
    }

    /// How long after expiry an entry is served at once while one refresh runs in
    /// the background: whole seconds, 0 (off, the default) up to
    /// [`max_ttl`](Self::max_ttl) (`CACHE_STALE_WHILE_REVALIDATE`). A fraction of a
    /// second is an error from [`build`](Self::build), not rounded. A function's
    /// `#[cached(stale_while_revalidate = N)]` wins; an invalidated entry is never
    /// served stale.
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = Some(window);
        self
    }

    /// How long after expiry an entry is returned when its recomputation fails
    /// (an `Err`, a `None`, a 5xx response, a panic): whole seconds, 0 (off, the
    /// default) up to [`max_ttl`](Self::max_ttl) (`CACHE_STALE_IF_ERROR`). A
    /// fraction of a second is an error from [`build`](Self::build), not rounded. A
    /// function's `#[cached(stale_if_error = N)]` wins; an invalidated entry is
    /// never served stale.
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = Some(window);
        self
    }

    /// XFetch's β for functions with `#[cached(early_refresh = true)]`: above 0 and
    /// at most 100, default 1.0; higher refreshes earlier
    /// (`CACHE_EARLY_REFRESH_BETA`). `NaN`, infinities, 0 and negative numbers are
    /// an error from [`build`](Self::build).
    pub fn early_refresh_beta(mut self, beta: f64) -> Self {
        self.early_refresh_beta = Some(beta);
        self
    }

    /// The Redis host name or IP address (`REDIS_HOST`).
    pub fn redis_host(mut self, host: impl Into<String>) -> Self {
        self.redis_host = Some(host.into());
        self
    }

    /// The Redis port (`REDIS_PORT`).
    pub fn redis_port(mut self, port: u16) -> Self {
        self.redis_port = Some(port);
        self
    }

    /// The Redis password (`REDIS_PASSWORD`); an empty string means none.
    pub fn redis_password(mut self, password: impl Into<String>) -> Self {
        self.redis_password = Some(Password::new(password));
        self
    }

    /// The Redis database number, 0 to 15 (`REDIS_DB`).
    pub fn redis_db(mut self, db: u32) -> Self {
        self.redis_db = Some(db);
        self
    }

    /// Talks to a Redis Cluster (`REDIS_CLUSTER`, default `false`): the URL may
    /// then list several seed nodes (see [`redis_url`](Self::redis_url)), and the
    /// database must be 0, the only one a cluster has.
    pub fn redis_cluster(mut self, cluster: bool) -> Self {
        self.redis_cluster = Some(cluster);
        self
    }

    /// A Redis URL, `redis://[user][:password]@host[:port][/db]` or `rediss://…`, which
    /// replaces the host, port, database and (when it has one) password (`REDIS_URL`).
    /// An empty string means none. With [`redis_cluster(true)`](Self::redis_cluster),
    /// several URLs separated by commas, the cluster's seed nodes, sharing one
    /// scheme, user name and password (a comma inside one is written `%2C`).
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(SecretUrl(url.into()));
        self
    }

    /// How long a Redis command may take: whole milliseconds, 1 ms to 60 s
    /// (`REDIS_TIMEOUT_MS`).
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = Some(timeout);
        self
    }

    /// How long connecting to Redis may take: whole milliseconds, 1 ms to 60 s
    /// (`REDIS_CONNECT_TIMEOUT_MS`).
    pub fn redis_connect_timeout(mut self, timeout: Duration) -> Self {
        self.redis_connect_timeout = Some(timeout);
        self
    }

    /// Serves hits of near functions from this process's memory, kept coherent
    /// through Redis (`REDIS_NEAR_CACHE`; see the [`config` guide](crate::config),
    /// "The near cache").
    pub fn redis_near_cache(mut self, near: bool) -> Self {
        self.redis_near_cache = Some(near);
        self
    }

    /// The near cache's budget in bytes, at least 1024
    /// (`REDIS_NEAR_CACHE_MAX_MEMORY`).
    pub fn redis_near_cache_max_memory(mut self, bytes: u64) -> Self {
        self.redis_near_cache_max_memory = Some(bytes);
        self
    }

    /// The longest a near hit may be served without Redis: whole seconds, 1 up to
    /// [`max_ttl`](Self::max_ttl) (`REDIS_NEAR_CACHE_MAX_AGE`).
    pub fn redis_near_cache_max_age(mut self, age: Duration) -> Self {
        self.redis_near_cache_max_age = Some(age);
        self
    }

    /// Whether, while Redis is out of use, calls are answered from this process's
    /// memory (`REDIS_MEMORY_FALLBACK`, default `true`) or nothing is cached (see
    /// [`RedisConfig::memory_fallback`](crate::RedisConfig::memory_fallback)).
    pub fn redis_memory_fallback(mut self, fallback: bool) -> Self {
        self.redis_memory_fallback = Some(fallback);
        self
    }

    /// Whether concurrent misses on one key across every process sharing the Redis
    /// compute it once (`REDIS_DISTRIBUTED_LOCK`, default `true`; see the
    /// [`config` guide](crate::config), "Single flight across instances").
    pub fn redis_distributed_lock(mut self, lock: bool) -> Self {
        self.redis_distributed_lock = Some(lock);
        self
    }

    /// How long the cross-instance lease lasts without renewal: 50 ms to one
    /// hour, in whole milliseconds (`REDIS_LOCK_LEASE`, default 10 s).
    pub fn redis_lock_lease(mut self, lease: Duration) -> Self {
        self.redis_lock_lease = Some(lease);
        self
    }

    /// Checks the settings and builds the [`Config`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first builder method whose value is not accepted.
    pub fn build(self) -> Result<Config, ConfigError> {
        self.resolve(None)
    }

    /// Builds the [`Config`] with this builder's values as the application's
    /// defaults: each setting is read from the process environment, then from
    /// `./.env` (if it exists), then from this builder, then the crate's default.
    /// An application sets its own defaults this way (caching on, its prefix)
    /// and operators still override them with the usual variables.
    ///
    /// ```no_run
    /// use cachette::Config;
    ///
    /// // Caching on unless CACHE_ENABLED says otherwise; keys under "users-api".
    /// let config = Config::builder().enabled(true).prefix("users-api").build_from_env()?;
    /// # Ok::<(), cachette::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for the first value not accepted: it names the variable
    /// when the value came from the environment or `.env`, the builder method when
    /// it came from this builder. Or one naming `./.env` if that file is
    /// unreadable or malformed.
    pub fn build_from_env(self) -> Result<Config, ConfigError> {
        let file = env::env_file(Path::new(".env"), true)?;
        self.build_from(&|name| env::layered(name, &file))
    }

    /// [`build_from_env`](Self::build_from_env) with the `.env` file at `path`,
    /// which must exist.
    ///
    /// # Errors
    ///
    /// As [`build_from_env`](Self::build_from_env), or naming `path` if the file is
    /// missing.
    pub fn build_from_env_file(self, path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let file = env::env_file(path.as_ref(), false)?;
        self.build_from(&|name| env::layered(name, &file))
    }

    /// [`build_from_env`](Self::build_from_env) reading the variables through
    /// `lookup` instead of the environment and `.env` (a variable name in, its
    /// value out, `None` when unset): for tests, or applications that read their
    /// settings elsewhere.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use cachette::{Config, Mode};
    ///
    /// let defaults = Config::builder().enabled(true).prefix("users-api");
    ///
    /// // Nothing set: the application's defaults.
    /// let config = defaults.clone().build_from_lookup(|_| None)?;
    /// assert_eq!((config.mode(), config.prefix()), (Mode::Memory, "users-api"));
    ///
    /// // The environment wins over them.
    /// let env = HashMap::from([("CACHE_ENABLED", "false")]);
    /// let config = defaults
    ///     .clone()
    ///     .build_from_lookup(|name| env.get(name).map(|v| v.to_string()))?;
    /// assert_eq!(config.mode(), Mode::Disabled);
    ///
    /// // A bad value is named where it came from.
    /// let error = defaults.redis_db(99).build_from_lookup(|_| None).unwrap_err();
    /// assert!(error.to_string().starts_with("invalid redis_db="));
    /// # Ok::<(), cachette::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`build_from_env`](Self::build_from_env).
    pub fn build_from_lookup(
        self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        self.build_from(&|name| Ok(lookup(name)))
    }

    fn build_from(self, env: Lookup<'_>) -> Result<Config, ConfigError> {
        self.resolve(Some(env))
    }

    /// Checks this builder's values and resolves them, under `env` when given
    /// (see [`build_from_env`](Self::build_from_env)).
    fn resolve(self, env: Option<Lookup<'_>>) -> Result<Config, ConfigError> {
        if let Some(headers) = &self.credential_headers {
            let problem = headers
                .iter()
                .enumerate()
                .find_map(|(i, h)| header_item_problem(i, h));
            if let Some(problem) = problem {
                let name = Source::Builder.name(Field::CredentialHeaders);
                return Err(ConfigError::invalid(
                    name,
                    Some(headers.join(",")),
                    HEADER_LIST_EXPECTED,
                )
                .with_detail(problem));
            }
        }
        let values = self.as_text();
        let (mut config, env_url) = match env {
            None => (
                resolve(&|name| Ok(values.get(name).cloned()), Source::Builder)?,
                false,
            ),
            Some(env) => (
                resolve_over(env, Source::Env, Some(&values))?,
                env(Field::RedisUrl.env_name())?.is_some(),
            ),
        };
        let url_given = env_url || self.redis_url.is_some_and(|url| !url.0.trim().is_empty());
        if let (Some(carried), false) = (self.carried, url_given) {
            config.redis.username = carried.username;
            config.redis.tls = carried.tls;
            if config.redis.cluster {
                config.redis.other_seeds = carried.other_seeds;
            }
        }
        Ok(config)
    }

    /// The settings given, as the text the environment would hold, keyed by variable name.
    /// Durations that are not whole seconds (milliseconds for timeouts) are written like
    /// `1.5s`, which the parser rejects with the usual message.
    fn as_text(&self) -> HashMap<&'static str, String> {
        let seconds = |d: Duration| {
            if d.subsec_nanos() == 0 {
                d.as_secs().to_string()
            } else {
                format!("{d:?}")
            }
        };
        let millis = |d: Duration| {
            if d.subsec_nanos().is_multiple_of(1_000_000) {
                d.as_millis().to_string()
            } else {
                format!("{d:?}")
            }
        };
        let entries = [
            (Field::Enabled, self.enabled.map(|b| b.to_string())),
            (
                Field::RedisEnabled,
                self.redis_enabled.map(|b| b.to_string()),
            ),
            (Field::DefaultTtl, self.default_ttl.map(seconds)),
            (Field::MaxTtl, self.max_ttl.map(seconds)),
            (Field::MaxMemory, self.max_memory.map(|n| n.to_string())),
            (
                Field::MaxEntrySize,
                self.max_entry_size.map(|n| n.to_string()),
            ),
            (Field::Prefix, self.prefix.clone()),
            (Field::CacheHeader, self.cache_header.clone()),
            (
                Field::CredentialHeaders,
                self.credential_headers.as_ref().map(|h| h.join(",")),
            ),
            (Field::Coder, self.coder.map(|c| c.name().to_owned())),
            (
                Field::StaleWhileRevalidate,
                self.stale_while_revalidate.map(seconds),
            ),
            (Field::StaleIfError, self.stale_if_error.map(seconds)),
            (
                Field::EarlyRefreshBeta,
                self.early_refresh_beta.map(|beta| {
                    // `Display` writes the shortest digits that read back as the
                    // same f64, never an exponent; the values it cannot write that
                    // way (NaN, infinities, a sign) or that are out of range anyway
                    // get `Debug`, which the parser rejects with the usual message.
                    if beta > 0.0 && beta <= defaults::EARLY_REFRESH_BETA_MAX {
                        beta.to_string()
                    } else {
                        format!("{beta:?}")
                    }
                }),
            ),
            (Field::RedisHost, self.redis_host.clone()),
            (Field::RedisPort, self.redis_port.map(|n| n.to_string())),
            (
                Field::RedisPassword,
                self.redis_password.as_ref().map(|p| p.expose().to_owned()),
            ),
            (Field::RedisDb, self.redis_db.map(|n| n.to_string())),
            (
                Field::RedisCluster,
                self.redis_cluster.map(|b| b.to_string()),
            ),
            (
                Field::RedisUrl,
                self.redis_url.as_ref().map(|url| url.0.clone()),
            ),
            (Field::RedisTimeout, self.redis_timeout.map(millis)),
            (
                Field::RedisConnectTimeout,
                self.redis_connect_timeout.map(millis),
            ),
            (
                Field::RedisNearCache,
                self.redis_near_cache.map(|b| b.to_string()),
            ),
            (
                Field::RedisNearCacheMaxMemory,
                self.redis_near_cache_max_memory.map(|n| n.to_string()),
            ),
            (
                Field::RedisNearCacheMaxAge,
                self.redis_near_cache_max_age.map(seconds),
            ),
            (
                Field::RedisDistributedLock,
                self.redis_distributed_lock.map(|b| b.to_string()),
            ),
            (
                Field::RedisMemoryFallback,
                self.redis_memory_fallback.map(|b| b.to_string()),
            ),
            (
                Field::RedisLockLease,
                self.redis_lock_lease.map(|d| {
                    if d.subsec_nanos().is_multiple_of(1_000_000) {
                        format!("{}.{:03}", d.as_secs(), d.subsec_millis())
                    } else {
                        format!("{d:?}")
                    }
                }),
            ),
        ];
        entries
            .into_iter()
            .filter_map(|(field, text)| Some((field.env_name(), text?)))
            .collect()
    }
}

impl Config {
    /// A builder holding this configuration's values, to change some of them.
    pub fn to_builder(&self) -> ConfigBuilder {
        let redis = &self.redis;
        ConfigBuilder {
            enabled: Some(self.enabled),
            redis_enabled: Some(self.redis_enabled),
            default_ttl: Some(self.default_ttl),
            max_ttl: Some(self.max_ttl),
            max_memory: Some(self.max_memory),
            max_entry_size: Some(self.max_entry_size),
            prefix: Some(self.prefix.clone()),
            cache_header: Some(self.cache_header.clone()),
            credential_headers: Some(self.credential_headers.clone()),
            coder: Some(self.coder),
            stale_while_revalidate: Some(self.stale_while_revalidate),
            stale_if_error: Some(self.stale_if_error),
            early_refresh_beta: Some(self.early_refresh_beta()),
            redis_host: Some(redis.host.clone()),
            redis_port: Some(redis.port),
            redis_password: redis.password.clone(),
            redis_db: Some(redis.db),
            redis_cluster: Some(redis.cluster),
            redis_url: None,
            redis_timeout: Some(redis.timeout),
            redis_connect_timeout: Some(redis.connect_timeout),
            redis_near_cache: Some(redis.near.enabled),
            redis_near_cache_max_memory: Some(redis.near.max_memory),
            redis_near_cache_max_age: Some(redis.near.max_age),
            redis_distributed_lock: Some(redis.lock),
            redis_memory_fallback: Some(redis.memory_fallback),
            redis_lock_lease: Some(redis.lock_lease),
            carried: Some(Carried {
                username: redis.username.clone(),
                tls: redis.tls,
                other_seeds: redis.other_seeds.clone(),
            }),
        }
    }
}
