//! Turns raw text values into a validated [`Config`]: the one parser behind the environment,
//! `.env` files and [`ConfigBuilder`](super::ConfigBuilder).

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::Config;
use super::cluster::{UrlProblem, mask_seeds, parse_redis_urls};
use super::defaults;
use super::error::ConfigError;
use super::field::{Field, Source};
use super::parse::{
    check_host, describe_size, is_token, parse_bool, parse_decimal, parse_seconds_ms, parse_size,
    parse_whole, prefix_problem,
};
use super::redis::{NearCache, RedisConfig};
use super::redis_url::RedisUrl;
use super::secret::{MASK, Password, mask_url};
use crate::codec::Coder;

/// Reads the raw value of an environment variable (by its `env_name`).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<String>, ConfigError>;

/// What `CACHE_CREDENTIAL_HEADERS` accepts.
pub(crate) const HEADER_LIST_EXPECTED: &str = "a comma-separated list of HTTP header names \
     (letters, digits and !#$%&'*+-.^_`|~), or an empty value for none";
const BOOL_EXPECTED: &str = "true/false, 1/0, yes/no, on/off, t/f or y/n (any case)";
const HEADER_EXPECTED: &str = "an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)";
const CODER_EXPECTED: &str = "msgpack or json (any case)";
const HOST_EXPECTED: &str = "a host name or IP address (an IPv6 address as ::1 or [::1])";
const URL_EXPECTED: &str = "redis://[user][:password]@host[:port][/db] or rediss://… for TLS";
const SEEDS_EXPECTED: &str = "one or more redis://[user][:password]@host[:port] URLs \
     (or rediss://… for TLS) separated by commas, sharing one scheme, user name and password";
const SIZE_FORMS: &str = "a whole number of bytes, optionally followed by a unit: \
     B, K/KB, Ki/KiB, M/MB, Mi/MiB, G/GB or Gi/GiB";

/// Reads and checks every setting, in a fixed order; the first problem is returned.
pub(crate) fn resolve(lookup: Lookup<'_>, source: Source) -> Result<Config, ConfigError> {
    resolve_over(lookup, source, None)
}

/// [`resolve`], with `defaults` (an application's [`ConfigBuilder`](super::ConfigBuilder)
/// values, under the variables' names) read for the settings `lookup` does not
/// set, before the crate's own defaults. An error about a value that came from
/// `defaults` names the builder method, not the variable.
pub(crate) fn resolve_over(
    lookup: Lookup<'_>,
    source: Source,
    defaults: Option<&HashMap<&'static str, String>>,
) -> Result<Config, ConfigError> {
    let r = Reader {
        lookup,
        source,
        defaults,
    };
    let enabled = r.boolean(Field::Enabled, false)?;
    let redis_enabled = r.boolean(Field::RedisEnabled, false)?;

    let max_ttl: u64 = r.ranged(
        Field::MaxTtl,
        defaults::MAX_TTL_SECS,
        1..=defaults::MAX_TTL_LIMIT_SECS,
        &format!(
            "a whole number of seconds from 1 to {}",
            defaults::MAX_TTL_LIMIT_SECS
        ),
        Unit::Seconds,
    )?;
    let default_ttl: u64 = r.ranged(
        Field::DefaultTtl,
        defaults::DEFAULT_TTL_SECS,
        1..=max_ttl,
        &format!(
            "a whole number of seconds from 1 to {max_ttl} ({})",
            r.name(Field::MaxTtl)
        ),
        Unit::Seconds,
    )?;
    let max_memory: u64 = r.ranged(
        Field::MaxMemory,
        defaults::MAX_MEMORY,
        defaults::MAX_MEMORY_MIN..=u64::MAX,
        &format!("a size of at least 1 KiB: {SIZE_FORMS}"),
        Unit::Bytes,
    )?;
    let max_entry_size: u64 = r.ranged(
        Field::MaxEntrySize,
        defaults::MAX_ENTRY_SIZE,
        1..=max_memory,
        &format!(
            "a size from 1 byte to {} ({}): {SIZE_FORMS}",
            describe_size(max_memory),
            r.name(Field::MaxMemory)
        ),
        Unit::Bytes,
    )?;

    let prefix = r.prefix()?;
    let cache_header = r.header()?;
    let credential_headers = r.header_list()?;
    let coder = r.coder()?;
    let stale_while_revalidate = r.stale_window(
        Field::StaleWhileRevalidate,
        defaults::STALE_WHILE_REVALIDATE_SECS,
        max_ttl,
    )?;
    let stale_if_error =
        r.stale_window(Field::StaleIfError, defaults::STALE_IF_ERROR_SECS, max_ttl)?;
    let early_refresh_beta = r.beta()?;

    let host = r.host()?;
    let port: u16 = r.ranged(
        Field::RedisPort,
        defaults::REDIS_PORT.into(),
        1..=u16::MAX.into(),
        "a port number from 1 to 65535",
        Unit::Number,
    )?;
    let password = r
        .get(Field::RedisPassword)?
        .filter(|p| !p.is_empty())
        .map(Password::new);
    let db: u32 = r.ranged(
        Field::RedisDb,
        defaults::REDIS_DB.into(),
        0..=defaults::REDIS_DB_MAX.into(),
        &format!("a database number from 0 to {}", defaults::REDIS_DB_MAX),
        Unit::Number,
    )?;
    let cluster = r.boolean(Field::RedisCluster, false)?;
    let urls = r.urls(cluster)?;
    if cluster && urls.is_none() && db != 0 {
        return Err(r.cluster_db(db)?);
    }
    let timeout = r.timeout(Field::RedisTimeout, defaults::REDIS_TIMEOUT_MS)?;
    let connect_timeout = r.timeout(
        Field::RedisConnectTimeout,
        defaults::REDIS_CONNECT_TIMEOUT_MS,
    )?;

    let near = r.boolean(Field::RedisNearCache, false)?;
    let near_max_memory: u64 = r.ranged(
        Field::RedisNearCacheMaxMemory,
        defaults::NEAR_MAX_MEMORY,
        defaults::MAX_MEMORY_MIN..=u64::MAX,
        &format!("a size of at least 1 KiB: {SIZE_FORMS}"),
        Unit::Bytes,
    )?;
    let near_max_age: u64 = r.ranged(
        Field::RedisNearCacheMaxAge,
        defaults::NEAR_MAX_AGE_SECS.min(max_ttl),
        1..=max_ttl,
        &format!(
            "a whole number of seconds from 1 to {max_ttl} ({})",
            r.name(Field::MaxTtl)
        ),
        Unit::Seconds,
    )?;

    let lock = r.boolean(Field::RedisDistributedLock, true)?;
    let lock_lease = r.lease()?;
    let memory_fallback = r.boolean(Field::RedisMemoryFallback, true)?;

    let mut redis = RedisConfig {
        host,
        port,
        username: None,
        password,
        db,
        tls: false,
        timeout,
        connect_timeout,
        near: NearCache {
            enabled: near,
            max_memory: near_max_memory,
            max_age: Duration::from_secs(near_max_age),
        },
        lock,
        lock_lease,
        memory_fallback,
        cluster,
        other_seeds: Vec::new(),
    };
    let mut urls = urls.unwrap_or_default().into_iter();
    if let Some(url) = urls.next() {
        // The first seed is the server of a single-node setup; the others follow.
        redis.other_seeds = urls.map(|u| (u.host, u.port)).collect();
        redis.host = url.host;
        redis.port = url.port;
        redis.db = url.db;
        redis.tls = url.tls;
        redis.username = url.username;
        if let Some(password) = url.password {
            redis.password = Some(Password::new(password));
        }
    }

    Ok(Config {
        enabled,
        redis_enabled,
        default_ttl: Duration::from_secs(default_ttl),
        max_ttl: Duration::from_secs(max_ttl),
        max_memory,
        max_entry_size,
        prefix,
        cache_header,
        credential_headers,
        coder,
        stale_while_revalidate,
        stale_if_error,
        early_refresh_beta: early_refresh_beta.to_bits(),
        redis,
    })
}

/// `raw` as it may appear in an error: `REDIS_PASSWORD` fully masked, the password in
/// `REDIS_URL` masked.
pub(crate) fn shown_value(field: Field, raw: &str) -> String {
    match field {
        Field::RedisPassword => MASK.to_owned(),
        Field::RedisUrl => mask_url(raw),
        _ => raw.to_owned(),
    }
}

/// Why entry `index` (from 0) of a header list is not a header name, if it is not.
pub(crate) fn header_item_problem(index: usize, item: &str) -> Option<String> {
    let item = item.trim();
    if item.is_empty() {
        Some(format!("entry {} is empty", index + 1))
    } else if !is_token(item) {
        Some(format!("{item:?} is not a header name"))
    } else {
        None
    }
}

/// What `CACHE_PREFIX` accepts.
fn prefix_expected() -> String {
    format!(
        "1 to {} printable ASCII characters, without spaces, ':', '\\' or any of *?[]{{}}",
        defaults::PREFIX_MAX_LEN
    )
}

/// How a number is written, and how its default reads in an error.
#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Bytes,
    Number,
}

struct Reader<'a> {
    lookup: Lookup<'a>,
    source: Source,
    /// The application's defaults (see [`resolve_over`]).
    defaults: Option<&'a HashMap<&'static str, String>>,
}

impl Reader<'_> {
    fn get(&self, field: Field) -> Result<Option<String>, ConfigError> {
        match (self.lookup)(field.env_name())? {
            Some(value) => Ok(Some(value)),
            // The application's URL would replace the connection settings the
            // environment gives one by one: the environment's win, over the
            // application's defaults for the others.
            None if field == Field::RedisUrl && self.defaults.is_some() => {
                for part in [
                    Field::RedisHost,
                    Field::RedisPort,
                    Field::RedisDb,
                    Field::RedisPassword,
                ] {
                    if (self.lookup)(part.env_name())?.is_some() {
                        return Ok(None);
                    }
                }
                Ok(self.default_of(field).cloned())
            }
            None => Ok(self.default_of(field).cloned()),
        }
    }

    /// The application's default for `field`, if it gave one.
    fn default_of(&self, field: Field) -> Option<&String> {
        self.defaults?.get(field.env_name())
    }

    /// What errors call `field`: the builder method when its value came from the
    /// application's defaults, else the name `source` gives it.
    fn name(&self, field: Field) -> &'static str {
        let from_defaults =
            self.default_of(field).is_some() && matches!((self.lookup)(field.env_name()), Ok(None));
        if from_defaults {
            Source::Builder.name(field)
        } else {
            self.source.name(field)
        }
    }

    /// An error about the value `raw` given for `field`.
    fn invalid(&self, field: Field, raw: &str, expected: &str) -> ConfigError {
        let error = ConfigError::invalid(self.name(field), Some(shown_value(field, raw)), expected);
        if raw.trim().is_empty() {
            error.with_detail("got an empty value")
        } else {
            error
        }
    }

    fn boolean(&self, field: Field, default: bool) -> Result<bool, ConfigError> {
        match self.get(field)? {
            None => Ok(default),
            Some(raw) => parse_bool(&raw).ok_or_else(|| self.invalid(field, &raw, BOOL_EXPECTED)),
        }
    }

    /// A whole number within `range`; when unset, `default`, which must also be in `range`
    /// (another setting may have narrowed it).
    fn ranged<T: TryFrom<u64>>(
        &self,
        field: Field,
        default: u64,
        range: RangeInclusive<u64>,
        expected: &str,
        unit: Unit,
    ) -> Result<T, ConfigError> {
        let accept = |n: u64| {
            Some(n)
                .filter(|n| range.contains(n))
                .and_then(|n| T::try_from(n).ok())
        };
        match self.get(field)? {
            Some(raw) => {
                let parsed = match unit {
                    Unit::Bytes => parse_size(&raw),
                    Unit::Seconds | Unit::Number => parse_whole(&raw),
                };
                parsed
                    .and_then(accept)
                    .ok_or_else(|| self.invalid(field, &raw, expected))
            }
            None => accept(default).ok_or_else(|| {
                let default = match unit {
                    Unit::Bytes => describe_size(default),
                    Unit::Seconds => format!("{default} seconds"),
                    Unit::Number => default.to_string(),
                };
                ConfigError::invalid(self.name(field), None, expected).with_detail(format!(
                    "not set, and its default of {default} is out of range"
                ))
            }),
        }
    }

    fn timeout(&self, field: Field, default_ms: u64) -> Result<Duration, ConfigError> {
        let limit = defaults::TIMEOUT_LIMIT_MS;
        let expected = format!("a whole number of milliseconds from 1 to {limit}");
        self.ranged(field, default_ms, 1..=limit, &expected, Unit::Number)
            .map(Duration::from_millis)
    }

    /// `CACHE_STALE_WHILE_REVALIDATE` or `CACHE_STALE_IF_ERROR`: whole seconds past
    /// expiry, 0 (off) up to `max_ttl`.
    fn stale_window(
        &self,
        field: Field,
        default_secs: u64,
        max_ttl: u64,
    ) -> Result<Duration, ConfigError> {
        let expected = format!(
            "a whole number of seconds from 0 (off) to {max_ttl} ({})",
            self.name(Field::MaxTtl)
        );
        self.ranged(field, default_secs, 0..=max_ttl, &expected, Unit::Seconds)
            .map(Duration::from_secs)
    }

    /// `CACHE_EARLY_REFRESH_BETA`: a finite decimal above 0, at most
    /// [`EARLY_REFRESH_BETA_MAX`](defaults::EARLY_REFRESH_BETA_MAX).
    fn beta(&self) -> Result<f64, ConfigError> {
        let field = Field::EarlyRefreshBeta;
        let Some(raw) = self.get(field)? else {
            return Ok(defaults::EARLY_REFRESH_BETA);
        };
        let expected = format!(
            "a decimal number above 0 and at most {}, written with digits and an optional \
             decimal point (e.g. 1, 0.5 or 2.0)",
            defaults::EARLY_REFRESH_BETA_MAX
        );
        parse_decimal(&raw)
            .filter(|beta| {
                beta.is_finite() && *beta > 0.0 && *beta <= defaults::EARLY_REFRESH_BETA_MAX
            })
            .ok_or_else(|| self.invalid(field, &raw, &expected))
    }

    /// `REDIS_LOCK_LEASE`: seconds, fractions down to the millisecond.
    fn lease(&self) -> Result<Duration, ConfigError> {
        let Some(raw) = self.get(Field::RedisLockLease)? else {
            return Ok(Duration::from_millis(defaults::LOCK_LEASE_MS));
        };
        let range = defaults::LOCK_LEASE_RANGE_MS;
        let expected = format!(
            "a number of seconds from {} to {} with at most three decimals (e.g. 10 or 0.5)",
            *range.start() as f64 / 1000.0,
            range.end() / 1000
        );
        parse_seconds_ms(&raw)
            .filter(|ms| range.contains(ms))
            .map(Duration::from_millis)
            .ok_or_else(|| self.invalid(Field::RedisLockLease, &raw, &expected))
    }

    fn prefix(&self) -> Result<String, ConfigError> {
        let Some(raw) = self.get(Field::Prefix)? else {
            return Ok(defaults::PREFIX.to_owned());
        };
        let prefix = raw.trim();
        match prefix_problem(prefix, defaults::PREFIX_MAX_LEN) {
            None => Ok(prefix.to_owned()),
            Some(problem) => Err(self
                .invalid(Field::Prefix, &raw, &prefix_expected())
                .with_detail(problem)),
        }
    }

    fn header(&self) -> Result<String, ConfigError> {
        let Some(raw) = self.get(Field::CacheHeader)? else {
            return Ok(defaults::CACHE_HEADER.to_owned());
        };
        let header = raw.trim();
        if is_token(header) {
            Ok(header.to_owned())
        } else {
            Err(self.invalid(Field::CacheHeader, &raw, HEADER_EXPECTED))
        }
    }

    fn header_list(&self) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = self.get(Field::CredentialHeaders)? else {
            return Ok(defaults::CREDENTIAL_HEADERS.map(str::to_owned).to_vec());
        };
        if raw.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut headers: Vec<String> = Vec::new();
        for (index, item) in raw.split(',').enumerate() {
            if let Some(problem) = header_item_problem(index, item) {
                let field = Field::CredentialHeaders;
                return Err(self
                    .invalid(field, &raw, HEADER_LIST_EXPECTED)
                    .with_detail(problem));
            }
            let item = item.trim().to_ascii_lowercase();
            if !headers.contains(&item) {
                headers.push(item);
            }
        }
        Ok(headers)
    }

    fn coder(&self) -> Result<Coder, ConfigError> {
        let Some(raw) = self.get(Field::Coder)? else {
            return Ok(Coder::default());
        };
        Coder::from_name(raw.trim()).ok_or_else(|| self.invalid(Field::Coder, &raw, CODER_EXPECTED))
    }

    fn host(&self) -> Result<String, ConfigError> {
        let Some(raw) = self.get(Field::RedisHost)? else {
            return Ok(defaults::REDIS_HOST.to_owned());
        };
        check_host(raw.trim()).map_err(|problem| {
            self.invalid(Field::RedisHost, &raw, HOST_EXPECTED)
                .with_detail(problem)
        })
    }

    /// `REDIS_URL`: `None` when unset or empty, else one URL, or with `cluster` the
    /// seed nodes it lists (at least one).
    fn urls(&self, cluster: bool) -> Result<Option<Vec<RedisUrl>>, ConfigError> {
        let Some(raw) = self.get(Field::RedisUrl)? else {
            return Ok(None);
        };
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let field = Field::RedisUrl;
        parse_redis_urls(text, cluster)
            .map(Some)
            .map_err(|problem| match problem {
                UrlProblem::Single(reason) => {
                    self.invalid(field, &raw, URL_EXPECTED).with_detail(reason)
                }
                UrlProblem::NotCluster(count) => {
                    let (cluster_on, set) = self.cluster_on();
                    // Masked as the one URL it is without REDIS_CLUSTER.
                    self.invalid(
                        field,
                        &raw,
                        &format!(
                            "{URL_EXPECTED}; several, separated by commas, only with {cluster_on}"
                        ),
                    )
                    .with_detail(format!(
                        "it lists {count} nodes: {set} {cluster_on} to use several nodes"
                    ))
                }
                UrlProblem::Seeds(problem) => ConfigError::invalid(
                    self.name(field),
                    Some(mask_seeds(&raw)),
                    format!(
                        "{SEEDS_EXPECTED} when {} is true",
                        self.name(Field::RedisCluster)
                    ),
                )
                .with_detail(problem),
            })
    }

    /// `REDIS_CLUSTER` turned on as the source names it, and the verb: the
    /// variable's assignment (`set`), or the builder method (`call`).
    fn cluster_on(&self) -> (String, &'static str) {
        let name = self.name(Field::RedisCluster);
        if name == Field::RedisCluster.env_name() {
            (format!("{name}=true"), "set")
        } else {
            (format!("{name}(true)"), "call")
        }
    }

    /// The error for `REDIS_DB` set to `db`, not 0, in cluster mode.
    fn cluster_db(&self, db: u32) -> Result<ConfigError, ConfigError> {
        let raw = self.get(Field::RedisDb)?.unwrap_or_else(|| db.to_string());
        let expected = format!("database 0 when {} is true", self.name(Field::RedisCluster));
        Ok(self
            .invalid(Field::RedisDb, &raw, &expected)
            .with_detail("Redis Cluster has only database 0"))
    }
}
