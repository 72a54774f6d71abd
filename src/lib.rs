//! Response and function caching for async Rust, driven by one attribute.
//!
//! ```
//! use cachette::cached;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct User {
//!     id: u64,
//!     name: String,
//! }
//!
//! #[cached(expire = 300, namespace = "user")]
//! async fn get_user(id: u64) -> Result<User, String> {
//!     // An expensive query; `Err` is never cached.
//!     Ok(User { id, name: "Ada".into() })
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // CACHE_ENABLED, CACHE_DEFAULT_TTL, ... from the environment and `.env`;
//!     // here set in code.
//!     cachette::init(cachette::Config::memory()).await?;
//!
//!     let first = get_user(42).await?; // a miss: runs the function
//!     let again = get_user(42).await?; // a hit
//!     assert_eq!(first.name, again.name);
//!
//!     // After writing user 42: the next call recomputes.
//!     cachette::invalidate_user_cache(42).await;
//!     Ok(())
//! }
//! ```
//!
//! It is the Rust counterpart of the caching layer of the FastAPI template built on
//! fastapi-cache2: the same configuration variables, decorator arguments, key
//! formats, invalidation helpers and headers.
//!
//! # Contents
//! - [The three modes](#the-three-modes)
//! - [The attribute](#the-attribute)
//! - [Invalidation](#invalidation)
//! - [Staleness](#staleness)
//! - [Several caches side by side](#several-caches-side-by-side)
//! - [Metrics](#metrics)
//!
//! # The three modes
//!
//! | mode | when | behaviour |
//! |---|---|---|
//! | disabled | `CACHE_ENABLED=false` (default) | `#[cached]` calls the function: one relaxed atomic load of overhead; invalidation is a no-op |
//! | memory | `CACHE_ENABLED=true`, `REDIS_ENABLED=false` | moka, bounded in bytes (`CACHE_MAX_MEMORY`), per-entry TTL |
//! | redis | `CACHE_ENABLED=true`, `REDIS_ENABLED=true` | Redis, with a memory fallback |
//!
//! In Redis mode, `REDIS_CLUSTER=true` uses a Redis Cluster (its seed nodes
//! comma-separated in `REDIS_URL`) with the same guarantees, and concurrent misses
//! on one key across every process sharing the Redis run the function once
//! (`REDIS_DISTRIBUTED_LOCK`, on by default).
//!
//! See [`config`] for every variable, and [`init`] for what happens before and after
//! initialisation.
//!
//! # The attribute
//!
//! `#[cached(expire = 300, namespace = "user", key_builder = path, skip(db), shared)]`,
//! every argument optional, on any `async fn`: its reference,
//! [`#[cached]`](macro@cached), describes each argument, what is stored for each
//! return type (`Ok`, `Some`, serde values, HTTP responses), keys, whose entry it
//! is, concurrent calls, and the compile errors. Key formats are detailed in
//! [`key`], HTTP caching for axum handlers in [`http`].
//!
//! # Invalidation
//!
//! [`invalidate_namespace`] and the template's helpers ([`invalidate_user_cache`],
//! [`invalidate_users_list_cache`], [`invalidate_api_keys_cache`]) cost one write
//! whatever the number of entries, are segment-aligned (`user:1` never touches
//! `user:10`), and are race-free: a value computed from data read before the call
//! returned is never served after it. They never fail the caller.
//!
//! # Staleness
//!
//! Expired entries can be served on purpose, per function or by default
//! (`CACHE_STALE_WHILE_REVALIDATE`, `CACHE_STALE_IF_ERROR`):
//!
//! - `#[cached(stale_while_revalidate = N)]`: for N seconds after an entry
//!   expires, a call gets it at once, and one refresh per key (per fleet in Redis
//!   mode, with the distributed lock) runs the call's own future in the
//!   background. The future must be `Send + 'static` (owned arguments): a compile
//!   error on the argument otherwise. A function without the argument follows the
//!   configured default in line: the one call that finds the entry expired
//!   recomputes it while the others get the stale value at once.
//! - `#[cached(stale_if_error = N)]`: for N seconds after expiry, a recomputation
//!   that fails (an `Err`, a `None`, a panic) returns the expired value instead,
//!   and the failure is logged with the namespace and function. Nothing is stored.
//! - `#[cached(early_refresh = true)]`: XFetch (Vattani, Chierichetti, Lowenstein,
//!   VLDB 2015). Each entry keeps Δ, the time its computation took; a hit `r`
//!   before expiry starts one background refresh with probability
//!   `exp(−r / (Δ·β))` (β: `CACHE_EARLY_REFRESH_BETA`, default 1), so under steady
//!   load the entry is replaced before it expires and no caller waits.
//!   [`Cache::seed_early_refresh`] makes the draws reproducible.
//!
//! An entry an invalidation covers is never served under any rule: only entries
//! that expired by time are. Stores keep an entry for its TTL plus
//! `max(stale_while_revalidate, stale_if_error)` (at most `CACHE_MAX_TTL`).
//! [`FunctionStats::stale`] counts the calls answered stale. Handlers answer
//! `X-FastAPI-Cache: STALE` with `Age` and `Cache-Control` stating the windows
//! (RFC 5861), and honour the request's `max-age`, `max-stale`, `min-fresh` and
//! `only-if-cached` (see [`http`]).
//!
//! # Several caches side by side
//!
//! [`init`] sets the process-wide cache that `#[cached]` uses. [`Cache::scope`] runs
//! a future with another [`Cache`] instead, so tests can exercise every mode in one
//! process.
//!
//! # Metrics
//!
//! Every call's result (hit, miss, bypass, error) by declared namespace and
//! function, lookup times, invalidations, memory, Redis health and the breaker go
//! to the [`metrics`](https://docs.rs/metrics) facade: install a recorder (e.g.
//! Prometheus) before the first call and they appear; without one they cost a
//! no-op. [`stats`] lists each metric, its labels and units;
//! [`Cache::stats`] gives the same counts as a snapshot.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The attribute's reference lives here, not in the proc-macro crate, so that the
// examples in `docs/cached.md` compile as doctests of this crate (a proc-macro
// crate's doctests cannot use `cachette`). rustdoc appends the macro's own docs:
// the list of compile errors, in `cached-macro/src/lib.rs`.
#[doc(inline)]
#[doc = include_str!("../docs/cached.md")]
pub use cachette_macro::cached;
// One path per item: the root. `config` and `key` are guides (no items of their
// own); `http` holds the tower layer.
pub use cachette_runtime::{
    Cache, CacheStats, CacheUser, Coder, CoderError, Config, ConfigBuilder, ConfigError,
    CustomCoder, FunctionStats, InitError, IntoKey, KeyContext, MemoryUsage, Mode, Password,
    RedisConfig, api_key_single_key_builder, api_keys_list_key_builder, global, init,
    init_from_env, invalidate_all, invalidate_api_keys_cache, invalidate_namespace,
    invalidate_user_cache, invalidate_users_list_cache, paginated_key_builder,
    user_scoped_key_builder, users_list_key_builder,
};

pub use cachette_runtime::{config, erased_serde, key, stats};

#[cfg(feature = "axum")]
pub use cachette_runtime::http;

#[cfg(feature = "redis")]
pub use cachette_runtime::RedisHealth;

#[doc(hidden)]
pub use cachette_runtime::__private;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
