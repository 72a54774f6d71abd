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
// state) and the key helpers only the layer uses have no caller. Code dead in every build is still caught by the default
// build, which CI lints.
#![cfg_attr(not(feature = "axum"), allow(dead_code, unused_imports))]

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
mod refresh;
mod returns;
mod served;
mod spec;
mod stale;
pub mod stats;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// The fuzz targets' entry points (`fuzz/`): only with the `fuzzing` feature.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;

// Every public item has one path: here, at the root. `config` and `key` are the
// guides to the configuration and to keys; `http` holds the tower layer.
#[cfg(feature = "redis")]
pub use backend::redis::RedisHealth;
pub use cache::{Cache, CacheStats, MemoryUsage};
pub use codec::{Coder, CoderError, CustomCoder};
pub use config::builder::ConfigBuilder;
pub use config::error::ConfigError;
pub use config::redis::RedisConfig;
pub use config::secret::Password;
pub use config::settings::{Config, Mode};
#[doc(hidden)]
pub use erased_serde;
pub use global::{InitError, global, init, init_from_env};
pub use invalidate::{
    invalidate_all, invalidate_api_keys_cache, invalidate_namespace, invalidate_user_cache,
    invalidate_users_list_cache,
};
pub use key::builders::{
    api_key_single_key_builder, api_keys_list_key_builder, paginated_key_builder,
    user_scoped_key_builder, users_list_key_builder,
};
pub use key::context::{IntoKey, KeyContext};
pub use key::user::CacheUser;
pub use stats::FunctionStats;
// Named by the runtime's modules only; the generated code reaches it through
// `__private`.
pub(crate) use spec::Spec;
