//! [`RedisConfig`]: where the Redis store connects, and the URLs handed to the client.
//!
//! In cluster mode (`REDIS_CLUSTER`) there are several seed nodes: the first keeps
//! the place of the single server (`host`, `port`), so every reader of one address
//! keeps working, and the others follow it. Every node of a cluster shares the
//! scheme, user name and password, so the URL of any node, a seed or one the
//! cluster names later (`CLUSTER SLOTS`), is built from the same parts.

use std::fmt::Write as _;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::defaults;
use super::secret::{MASK, Password};

/// Connection settings for the Redis store, from `REDIS_*` variables or `REDIS_URL`.
///
/// `Debug` masks the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Password>,
    pub(crate) db: u32,
    pub(crate) tls: bool,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) near: NearCache,
    /// `REDIS_DISTRIBUTED_LOCK`.
    pub(crate) lock: bool,
    /// `REDIS_LOCK_LEASE`.
    pub(crate) lock_lease: Duration,
    /// `REDIS_MEMORY_FALLBACK`.
    pub(crate) memory_fallback: bool,
    /// `REDIS_CLUSTER`.
    pub(crate) cluster: bool,
    /// The seed nodes after the first (`host`, `port`), in the order `REDIS_URL`
    /// lists them; empty unless `cluster`. Hosts are stored as `host` is (IPv6
    /// without brackets).
    pub(crate) other_seeds: Vec<(String, u16)>,
}

/// The near cache's settings (`REDIS_NEAR_CACHE*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NearCache {
    pub(crate) enabled: bool,
    pub(crate) max_memory: u64,
    pub(crate) max_age: Duration,
}

impl Default for NearCache {
    fn default() -> Self {
        NearCache {
            enabled: false,
            max_memory: defaults::NEAR_MAX_MEMORY,
            max_age: Duration::from_secs(defaults::NEAR_MAX_AGE_SECS),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            host: defaults::REDIS_HOST.to_owned(),
            port: defaults::REDIS_PORT,
            username: None,
            password: None,
            db: defaults::REDIS_DB,
            tls: false,
            timeout: Duration::from_millis(defaults::REDIS_TIMEOUT_MS),
            connect_timeout: Duration::from_millis(defaults::REDIS_CONNECT_TIMEOUT_MS),
            near: NearCache::default(),
            lock: true,
            lock_lease: Duration::from_millis(defaults::LOCK_LEASE_MS),
            memory_fallback: true,
            cluster: false,
            other_seeds: Vec::new(),
        }
    }
}

impl RedisConfig {
    /// The host name or IP address; an IPv6 address without brackets (`::1`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password, if any (`REDIS_PASSWORD`, or the one in `REDIS_URL`).
    pub fn password(&self) -> Option<&Password> {
        self.password.as_ref()
    }

    /// The ACL user name; only settable through `REDIS_URL` (`redis://user:pass@host`).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The database number, 0 to 15.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// Whether to connect with TLS; true for a `rediss://` URL.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// How long a single Redis command may take (`REDIS_TIMEOUT_MS`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long connecting may take (`REDIS_CONNECT_TIMEOUT_MS`).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Whether functions serve their hits from this process's memory by default,
    /// kept coherent through Redis (`REDIS_NEAR_CACHE`; a function's
    /// `#[cached(near = ...)]` overrides it).
    pub fn near_cache(&self) -> bool {
        self.near.enabled
    }

    /// The near cache's budget in bytes (`REDIS_NEAR_CACHE_MAX_MEMORY`).
    pub fn near_cache_max_memory(&self) -> u64 {
        self.near.max_memory
    }

    /// The longest a near hit is served without Redis (`REDIS_NEAR_CACHE_MAX_AGE`).
    pub fn near_cache_max_age(&self) -> Duration {
        self.near.max_age
    }

    /// Whether concurrent misses on one key across every process sharing the
    /// Redis compute it once (`REDIS_DISTRIBUTED_LOCK`, on by default; a
    /// function's `#[cached(lock = false)]` turns it off for that function).
    pub fn distributed_lock(&self) -> bool {
        self.lock
    }

    /// How long a process holds the cross-instance lease on a key it computes
    /// without renewing it (`REDIS_LOCK_LEASE`): what a leader that dies costs
    /// the other processes' callers at most.
    pub fn lock_lease(&self) -> Duration {
        self.lock_lease
    }

    /// Whether, while Redis is out of use (the circuit breaker is open), calls
    /// are answered from this process's memory (`REDIS_MEMORY_FALLBACK`, the
    /// default) or nothing is cached. The fallback keeps hits fast through an
    /// outage, but a write made meanwhile through another instance is not seen
    /// by this one until Redis is back; without it every call computes, and the
    /// strict guarantee holds across instances through outages too.
    pub fn memory_fallback(&self) -> bool {
        self.memory_fallback
    }

    /// Whether the Redis store talks to a Redis Cluster (`REDIS_CLUSTER`, off by
    /// default): `REDIS_URL` may then list several seed nodes, separated by
    /// commas, and only database 0 exists.
    pub fn cluster(&self) -> bool {
        self.cluster
    }

    /// The nodes to connect to first, as host and port, in the order given: the
    /// seed nodes of `REDIS_URL` in cluster mode, else the one server
    /// ([`host`](Self::host), [`port`](Self::port)), which is always the first.
    /// IPv6 addresses are without brackets, as in [`host`](Self::host).
    pub fn seeds(&self) -> Vec<(&str, u16)> {
        std::iter::once((self.host.as_str(), self.port))
            .chain(self.other_seeds.iter().map(|(h, p)| (h.as_str(), *p)))
            .collect()
    }

    /// The URL to hand to the Redis client, with the user name and password
    /// percent-encoded, e.g. `redis://:p%40ss@localhost:6379/0` or
    /// `rediss://user:pw@[::1]:6380/2`. It holds the password: do not log it, log
    /// [`redacted_url`](Self::redacted_url) instead. In cluster mode it is the
    /// first seed node's.
    pub fn connection_url(&self) -> String {
        self.url(&self.host, self.port, |password| {
            percent_encode(password.expose())
        })
    }

    /// [`connection_url`](Self::connection_url) with the password replaced by `***`,
    /// for logs. In cluster mode, every seed node's, separated by commas.
    pub fn redacted_url(&self) -> String {
        self.seeds()
            .into_iter()
            .map(|(host, port)| self.url(host, port, |_| MASK.to_owned()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The connection URL of every seed node, in order, each as
    /// [`connection_url`](Self::connection_url) writes it (database 0 in cluster
    /// mode); one URL, `connection_url()`, when not in cluster mode.
    // Called by the cluster store (backend/redis), written alongside.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn node_urls(&self) -> Vec<String> {
        self.seeds()
            .into_iter()
            .map(|(host, port)| self.node_url(host, port))
            .collect()
    }

    /// The connection URL of the node at `host:port`, one the cluster names
    /// (`CLUSTER SLOTS`, `MOVED`), with the seeds' scheme, user name, password
    /// and database. `host` may be an IPv6 address with or without brackets.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn node_url(&self, host: &str, port: u16) -> String {
        self.url(host, port, |password| percent_encode(password.expose()))
    }

    /// [`node_url`](Self::node_url) with the password replaced by `***`, for logs.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn redacted_node_url(&self, host: &str, port: u16) -> String {
        self.url(host, port, |_| MASK.to_owned())
    }

    fn url(&self, host: &str, port: u16, show_password: impl Fn(&Password) -> String) -> String {
        let mut url = String::from(if self.tls { "rediss://" } else { "redis://" });
        if let Some(username) = &self.username {
            url.push_str(&percent_encode(username));
        }
        if let Some(password) = &self.password {
            url.push(':');
            url.push_str(&show_password(password));
        }
        if self.username.is_some() || self.password.is_some() {
            url.push('@');
        }
        let host = host
            .strip_prefix('[')
            .and_then(|inner| inner.strip_suffix(']'))
            .unwrap_or(host);
        if host.contains(':') {
            let _ = write!(url, "[{host}]");
        } else {
            url.push_str(host);
        }
        let _ = write!(url, ":{port}/{}", self.db);
        url
    }
}

/// Everything but the RFC 3986 unreserved characters (`A-Za-z0-9-._~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but the RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis(username: Option<&str>, password: Option<&str>, host: &str, tls: bool) -> RedisConfig {
        RedisConfig {
            host: host.to_owned(),
            username: username.map(str::to_owned),
            password: password.map(Password::new),
            tls,
            ..RedisConfig::default()
        }
    }

    #[test]
    fn urls() {
        let cases = [
            (
                redis(None, None, "localhost", false),
                "redis://localhost:6379/0",
                "redis://localhost:6379/0",
            ),
            (
                redis(None, Some("p@ss:w/rd%"), "localhost", false),
                "redis://:p%40ss%3Aw%2Frd%25@localhost:6379/0",
                "redis://:***@localhost:6379/0",
            ),
            (
                redis(Some("app"), Some("pw"), "::1", true),
                "rediss://app:pw@[::1]:6379/0",
                "rediss://app:***@[::1]:6379/0",
            ),
            (
                redis(Some("a b@c"), None, "h", false),
                "redis://a%20b%40c@h:6379/0",
                "redis://a%20b%40c@h:6379/0",
            ),
            (
                redis(None, Some("é ~"), "h", false),
                "redis://:%C3%A9%20~@h:6379/0",
                "redis://:***@h:6379/0",
            ),
        ];
        for (config, connection, redacted) in cases {
            assert_eq!(config.connection_url(), connection);
            assert_eq!(config.redacted_url(), redacted);
        }
    }

    #[test]
    fn port_and_db_appear_in_the_url() {
        let config = RedisConfig {
            port: 7000,
            db: 15,
            ..RedisConfig::default()
        };
        assert_eq!(config.connection_url(), "redis://localhost:7000/15");
    }

    #[test]
    fn debug_masks_the_password() {
        let config = redis(Some("app"), Some("hunter2"), "h", false);
        let debug = format!("{config:?}");
        assert!(debug.contains("password: Some(***)"), "{debug}");
        assert!(debug.contains("app"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
