//! The runtime behind [cachette](https://docs.rs/cachette)'s `#[cached]` attribute:
//! configuration, the global cache, stores, keys, the value codec and invalidation.
//!
//! Applications depend on the `cachette` facade, which re-exports everything public
//! here next to the attribute; see its documentation.
//!
//! The map of this crate (layers, the path of one call, the invariants and where
//! each lives) is `ARCHITECTURE.md` at the repository's root.

// Without the `axum` feature there is no layer over the core, so the hooks the core
// offers layers (the request being served, an entry's decoded form, a cache's layer
// state) have no caller. Code dead in every build is still caught by the default
// build, which CI lints.
#![cfg_attr(not(feature = "axum"), allow(dead_code))]

mod backend;
mod cache;
mod cached;
mod codec;
pub mod config;
mod entry;
mod flight;
mod global;
#[cfg(feature = "axum")]
pub mod http;
mod invalidate;
pub mod key;
mod lookup;
mod probe;
mod returns;
mod served;
mod spec;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "redis")]
pub use backend::redis::RedisHealth;
pub use cache::{Cache, CacheStats, MemoryUsage};
pub use codec::{DecodeError, EncodeError};
pub use config::{Config, ConfigBuilder, ConfigError, Mode, Password, RedisConfig};
pub use global::{InitError, global, init, init_from_env};
pub use invalidate::{
    invalidate_all, invalidate_api_keys_cache, invalidate_namespace, invalidate_user_cache,
    invalidate_users_list_cache,
};
pub use key::{
    CacheUser, IntoKey, KeyContext, api_key_single_key_builder, api_keys_list_key_builder,
    paginated_key_builder, user_scoped_key_builder, users_list_key_builder,
};
pub use spec::Spec;
