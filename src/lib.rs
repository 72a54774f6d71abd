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
//! - [What is cached](#what-is-cached)
//! - [Concurrent calls on the same key](#concurrent-calls-on-the-same-key)
//! - [Invalidation](#invalidation)
//! - [Several caches side by side](#several-caches-side-by-side)
//!
//! # The three modes
//!
//! | mode | when | behaviour |
//! |---|---|---|
//! | disabled | `CACHE_ENABLED=false` (default) | `#[cached]` calls the function: one relaxed atomic load of overhead; invalidation is a no-op |
//! | memory | `CACHE_ENABLED=true`, `REDIS_ENABLED=false` | moka, bounded in bytes (`CACHE_MAX_MEMORY`), per-entry TTL |
//! | redis | `CACHE_ENABLED=true`, `REDIS_ENABLED=true` | Redis, with a memory fallback |
//!
//! See [`config`] for every variable, and [`init`] for what happens before and after
//! initialisation.
//!
//! # The attribute
//!
//! `#[cached(expire = N, namespace = "...", key_builder = path, skip(arg, ...), shared, crate = "...")]`,
//! every argument optional, on any `async fn` (free functions and methods):
//!
//! | argument | meaning |
//! |---|---|
//! | `expire = 300` | time to live in seconds (or the path of a `u64` constant); default `CACHE_DEFAULT_TTL` |
//! | `namespace = "user"` | the key's namespace, what invalidation targets; default none |
//! | `key_builder = path` | a function `fn(&KeyContext<'_>) -> String` (or `Option<String>`) that builds the key |
//! | `skip(db, client)` | arguments (or bindings of a pattern argument) left out of the key (they must not change the result) |
//! | `shared` | one entry for every caller even when the request being served carries credentials |
//! | `crate = "my_lib::cachette"` | where the generated code finds cachette, for a crate that re-exports it (as `#[serde(crate = "...")]`); default `::cachette` |
//!
//! A library that re-exports cachette lets its users write the attribute without
//! depending on cachette themselves:
//!
//! ```
//! mod my_lib {
//!     // In the library: `pub use cachette;`
//!     pub use ::cachette;
//! }
//!
//! #[my_lib::cachette::cached(crate = "my_lib::cachette", expire = 60)]
//! async fn get_user(id: u64) -> u64 {
//!     id
//! }
//! ```
//!
//! The signature does not change, and the future stays `Send` when the body's is, even
//! when the return type is not (`Result<T, Box<dyn Error>>`): only the stored part is
//! held across the store, and when that part is not `Send` either, the store finishes
//! in the background while the call's single flight stays open.
//! Mistakes are compile errors on the token at fault: an unknown or repeated argument,
//! a function that is not `async`, `expire = 0`, a return type that cannot be cached,
//! an argument that cannot be part of the key, a key builder with the wrong signature.
//!
//! # What is cached
//!
//! The type decides, not its spelling (a type alias works the same):
//!
//! | return type | stored |
//! |---|---|
//! | `Result<T, E>` | `Ok` values only |
//! | `Option<T>` | `Some` values only |
//! | `Result<Option<T>, E>` | `Ok(Some)` values only |
//! | any other `T: Serialize + Deserialize` | every value |
//! | `&'static str`, `&'static [u8]` (and a `Result` of one) | the response, for a handler |
//!
//! Values are stored as MessagePack behind a versioned header, and a hit equals the
//! miss for every serde type (`Some(None)`, `Some(())` included). A stored value that
//! does not decode (a struct changed between deploys, bytes written by hand) is a miss
//! that is recomputed and overwritten, with a warning: never an error, never a panic.
//! Values larger than `CACHE_MAX_ENTRY_SIZE` are returned but not stored.
//!
//! Keys are described in [`key`]: they cover the function (its `Self` type, trait and
//! generic arguments included), every argument not skipped, what a handler can
//! observe of its request, and the caller's identity.
//!
//! # Concurrent calls on the same key
//!
//! When many calls miss the same key at once, the function runs once per process and
//! the other callers get its value. If that value is not cacheable (`Err`, `None`)
//! each caller runs the function itself; if the computing caller is cancelled, another
//! caller takes over.
//!
//! # Invalidation
//!
//! [`invalidate_namespace`] and the template's helpers ([`invalidate_user_cache`],
//! [`invalidate_users_list_cache`], [`invalidate_api_keys_cache`]) cost one write
//! whatever the number of entries, are segment-aligned (`user:1` never touches
//! `user:10`), and are race-free: a value computed from data read before the call
//! returned is never served after it. They never fail the caller.
//!
//! # Several caches side by side
//!
//! [`init`] sets the process-wide cache that `#[cached]` uses. [`Cache::scope`] runs
//! a future with another [`Cache`] instead, so tests can exercise every mode in one
//! process.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use cachette_macro::cached;
// One path per item: the root. `config` and `key` are guides (no items of their
// own); `http` holds the tower layer.
pub use cachette_runtime::{
    Cache, CacheStats, CacheUser, Config, ConfigBuilder, ConfigError, InitError, IntoKey,
    KeyContext, MemoryUsage, Mode, Password, RedisConfig, api_key_single_key_builder,
    api_keys_list_key_builder, global, init, init_from_env, invalidate_all,
    invalidate_api_keys_cache, invalidate_namespace, invalidate_user_cache,
    invalidate_users_list_cache, paginated_key_builder, user_scoped_key_builder,
    users_list_key_builder,
};

pub use cachette_runtime::{config, key};

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
