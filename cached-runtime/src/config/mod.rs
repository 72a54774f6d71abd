//! Cache configuration, read once at start-up from environment variables and `.env`.
//!
//! [`Config::from_env`] reads the process environment, then `./.env` in the current
//! directory (if it exists) for the variables the environment does not set, as
//! pydantic-settings does. [`ConfigBuilder::build_from_env`](crate::ConfigBuilder::build_from_env)
//! does the same over an application's defaults (the builder's values), before
//! the crate's. [`Config::builder`] builds a configuration in code with the same
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
//! | `CACHE_CODER` | `msgpack` | `msgpack` or `json` (any case): what values are written with ([`Coder`](crate::Coder)); a function's `#[cached(coder = ...)]` wins; changing it makes stored values misses, never errors |
//! | `CACHE_STALE_WHILE_REVALIDATE` | `0` (off) | whole seconds, 0 to `CACHE_MAX_TTL`: for this long after an entry expires, a call gets the expired value at once while one refresh runs in the background; a function's `#[cached(stale_while_revalidate = N)]` wins; an invalidated entry is never served (below) |
//! | `CACHE_STALE_IF_ERROR` | `0` (off) | whole seconds, 0 to `CACHE_MAX_TTL`: when the recomputation fails (an `Err`, a `None`, a 5xx response, a panic) within this long after expiry, the expired value is returned instead; a function's `#[cached(stale_if_error = N)]` wins; an invalidated entry is never served (below) |
//! | `CACHE_EARLY_REFRESH_BETA` | `1.0` | a decimal number above 0 and at most 100 (`1`, `0.5`, `2.0`; no sign, exponent, `inf` or `nan`): XFetch's β for functions with `#[cached(early_refresh = true)]`, which refresh in the background before expiry; higher refreshes earlier |
//! | `REDIS_HOST` | `localhost` | a host name or IP address; IPv6 as `::1` or `[::1]` |
//! | `REDIS_PORT` | `6379` | 1 to 65535 |
//! | `REDIS_PASSWORD` | none | anything; empty means none |
//! | `REDIS_DB` | `0` | 0 to 15 |
//! | `REDIS_CLUSTER` | `false` | a boolean as above: the Redis is a Redis Cluster; `REDIS_URL` may then list several seed nodes, and only database 0 exists (below) |
//! | `REDIS_URL` | none | `redis://[user][:password]@host[:port][/db]`, or `rediss://…` for TLS; replaces `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB` and, when it has a password, `REDIS_PASSWORD`; user and password percent-decoded; port defaults to 6379, database to 0; unix sockets are not supported; empty means none. With `REDIS_CLUSTER=true`, one or more such URLs separated by commas (the seed nodes; whitespace around the commas ignored) |
//! | `REDIS_TIMEOUT_MS` | `250` | whole milliseconds, 1 to 60000 |
//! | `REDIS_CONNECT_TIMEOUT_MS` | `1000` | whole milliseconds, 1 to 60000 |
//! | `REDIS_NEAR_CACHE` | `false` | a boolean as above; Redis mode only: serve hits from this process's memory, kept coherent through Redis (below) |
//! | `REDIS_NEAR_CACHE_MAX_MEMORY` | `64MiB` | a size of at least 1 KiB, as `CACHE_MAX_MEMORY`: the near cache's budget |
//! | `REDIS_NEAR_CACHE_MAX_AGE` | `60` (or `CACHE_MAX_TTL` if lower) | whole seconds, 1 to `CACHE_MAX_TTL`: the longest a near hit is served without Redis |
//! | `REDIS_DISTRIBUTED_LOCK` | `true` | a boolean as above; Redis mode only: concurrent misses on one key across every process sharing the Redis compute it once (below) |
//! | `REDIS_LOCK_LEASE` | `10` | seconds, 0.05 to 3600, at most three decimals (`0.5`): how long the cross-instance lease lasts without renewal |
//! | `REDIS_MEMORY_FALLBACK` | `true` | a boolean as above; Redis mode only: while Redis is out of use, serve from this process's memory (`true`: fast, but another instance's writes meanwhile are not seen until Redis is back) or cache nothing (`false`: every call computes; no instance serves data older than a write that returned) |
//!
//! # The near cache
//!
//! In Redis mode every hit is checked on Redis by default (*strict*: one round trip,
//! and after `invalidate_namespace` returns no instance serves older data).
//! `REDIS_NEAR_CACHE=true` (or [`ConfigBuilder::redis_near_cache`](crate::ConfigBuilder::redis_near_cache);
//! per function: `#[cached(near = true|false)]`, which wins) serves a hit from this
//! process's memory, with no round trip, as long as Redis has not told this process
//! that a namespace over it was invalidated (Redis 6+ `CLIENT TRACKING` on the
//! version keys). What it costs: the instance that invalidates reads its own writes
//! at once; other instances stop serving the old value when Redis's message reaches
//! them (about a millisecond on a LAN), and never later than
//! `REDIS_NEAR_CACHE_MAX_AGE` after they fetched it. Whenever messages may have been
//! missed (a new connection, a disconnection, Redis failing or coming back, a new
//! epoch), the near cache is emptied. A Redis that refuses RESP3 or `CLIENT
//! TRACKING` gets one warning and strict mode.
//!
//! # Stale entries
//!
//! An entry that expired by time can still be useful: with
//! `CACHE_STALE_WHILE_REVALIDATE` (or [`ConfigBuilder::stale_while_revalidate`](crate::ConfigBuilder::stale_while_revalidate))
//! no caller waits for the recomputation of popular data, and with
//! `CACHE_STALE_IF_ERROR` (or [`ConfigBuilder::stale_if_error`](crate::ConfigBuilder::stale_if_error))
//! a failing database does not turn cached answers into errors (the failure is
//! not cached). The store keeps each entry past its expiry for the longer of the
//! two windows. A function's `#[cached(stale_while_revalidate = N)]`,
//! `#[cached(stale_if_error = N)]` wins over the variable, including `0`.
//! An entry whose namespace was invalidated is never served under any rule:
//! invalidation means the data changed, and once `invalidate_namespace` returns
//! nothing older is served; only entries that expired by time are.
//!
//! `#[cached(early_refresh = true)]` refreshes an entry before it expires, with
//! XFetch's probability (Vattani et al., VLDB 2015): a hit starts one background
//! refresh when `now − Δ·β·ln(rand) ≥ expiry`, Δ being the time the value took to
//! compute, and still returns the current value. `CACHE_EARLY_REFRESH_BETA`
//! (or [`ConfigBuilder::early_refresh_beta`](crate::ConfigBuilder::early_refresh_beta))
//! is β: 1 is the paper's choice, higher refreshes earlier (more recomputations,
//! fewer callers waiting at the boundary), lower later.
//!
//! # Single flight across instances
//!
//! In Redis mode, concurrent misses on one key run the function once across every
//! process sharing the Redis (within a process they always do). The process that
//! computes holds a lease on the key in Redis, renewed every third of
//! `REDIS_LOCK_LEASE` while it works; the others wait, are woken through Redis
//! pub/sub when the value is stored, and take it from Redis. A leader that dies
//! holds the others up by at most the lease, then one of them computes. An error
//! or an uncacheable result releases the lease at once, and each waiter runs its
//! own call. `REDIS_DISTRIBUTED_LOCK=false` (or
//! [`ConfigBuilder::redis_distributed_lock`](crate::ConfigBuilder::redis_distributed_lock);
//! per function: `#[cached(lock = false)]`) turns it off: one computation per
//! process. A waiter stops waiting for a live leader after three leases and
//! computes by itself, so set the lease to at least a third of the slowest
//! function's time.
//!
//! # Redis Cluster
//!
//! `REDIS_CLUSTER=true` (or [`ConfigBuilder::redis_cluster`](crate::ConfigBuilder::redis_cluster))
//! says the Redis is a Redis Cluster. `REDIS_URL` then lists the seed nodes, the
//! ones asked for the cluster's layout first, separated by commas:
//! `REDIS_URL=redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:7001`; without
//! `REDIS_URL`, `REDIS_HOST` and `REDIS_PORT` are the one seed. Each is written as
//! a single `REDIS_URL` is, and all share one scheme (`redis://` or `rediss://`),
//! user name and password: every node of a cluster, the seeds and the nodes the
//! cluster names later, is reached with the same TLS and credentials. Write a comma
//! inside a user name or password as `%2C`. A cluster has only database 0, so a
//! `/N` path or a `REDIS_DB` other than 0 is an error. Several URLs without
//! `REDIS_CLUSTER=true` are an error too, never one of them used alone.
//! [`RedisConfig::seeds`](crate::RedisConfig::seeds) lists the seeds, and
//! [`RedisConfig::redacted_url`](crate::RedisConfig::redacted_url) shows them all
//! for logs.
//!
//! Surrounding whitespace is ignored in every value but `REDIS_PASSWORD`. An empty number,
//! boolean, size, prefix, header or host (`CACHE_DEFAULT_TTL=`) is an error, not the default.
//! Numbers take no sign, and no decimals but in `REDIS_LOCK_LEASE` and `CACHE_EARLY_REFRESH_BETA`. In a `.env` file, `#` starts a comment and `$NAME`
//! is replaced by the variable's value, so quote a password holding them with single quotes:
//! `REDIS_PASSWORD='pa$$#word'`. A later line wins over an earlier one for the same variable.
//!
//! Passwords are kept out of logs: [`Password`](crate::Password) prints as `***`, the `Debug` output of every
//! type here masks it, errors mask it (also inside `REDIS_URL`), and
//! [`RedisConfig::redacted_url`](crate::RedisConfig::redacted_url) is the URL to log. `.env` errors give the line number, never
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
//! With the application's own defaults, which the environment and `./.env` still
//! override (an error names the variable, or the builder method when the value
//! was the application's):
//!
//! ```no_run
//! use cachette::Config;
//!
//! // Caching on by default in this service; CACHE_ENABLED=false still turns it off.
//! let config = Config::builder().enabled(true).build_from_env()?;
//! # Ok::<(), cachette::ConfigError>(())
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

pub(crate) mod builder;
mod cluster;
mod defaults;
pub(crate) mod dotenv;
mod env;
pub(crate) mod error;
mod field;
mod parse;
pub(crate) mod redis;
mod redis_url;
mod resolve;
pub(crate) mod secret;
#[cfg(test)]
mod tests;

pub(crate) mod settings;

// The items live at the crate root (one path each); this module is the guide.
pub(crate) use builder::ConfigBuilder;
/// The accepted `REDIS_LOCK_LEASE` (the lease scripts take over a key whose TTL is
/// longer than any lease).
pub(crate) use defaults::LOCK_LEASE_RANGE_MS;
pub(crate) use error::ConfigError;
pub(crate) use redis::RedisConfig;
#[cfg(test)]
pub(crate) use secret::Password;
pub(crate) use settings::{Config, Mode};
