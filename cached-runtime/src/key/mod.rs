//! Cache keys: how a call becomes a key, and what a key builder sees.
//!
//! # Contents
//! - [Key format](#key-format)
//! - [Arguments](#arguments)
//! - [Custom key builders](#custom-key-builders)
//! - [Long and odd keys](#long-and-odd-keys)
//!
//! # Key format
//!
//! Keys are human-readable and mirror fastapi-cache2: `{prefix}:{namespace}:{rest}`,
//! with the prefix `fastapi-cache` by default (`CACHE_PREFIX`). For a plain function
//! the default key is
//!
//! ```text
//! {prefix}:{namespace}:{arg1}:{arg2}:...:{module.path.function}
//! ```
//!
//! so `#[cached(namespace = "user")] async fn get_user(id: u64)` in module `my_app::repo`
//! stores `get_user(42)` under `fastapi-cache:user:42:my_app.repo.get_user`. Because the
//! arguments come first, `invalidate_namespace("user:42")` (and
//! `invalidate_user_cache(42)`) clears every function of namespace `user` called with
//! `42` as first argument. The key is stable across processes, restarts and builds: it
//! contains no address and no randomly seeded hash.
//!
//! # Arguments
//!
//! Every argument is part of the key unless the attribute says `skip(name)`. What an
//! argument contributes is decided by its type:
//!
//! | argument type | in the key |
//! |---|---|
//! | implements [`CacheUser`] (your user or auth extractor) | the user's id; key builders see it as [`KeyContext::user_id`] |
//! | implements `serde::Serialize` | its value, rendered readably (`42`, `bob`, `[1,2]`, `{page=1,size=50}`) |
//! | axum `Path<T>` / `Query<T>` / `Extension<T>` with `T: Serialize` | the inner value |
//! | axum `State<S>` | nothing: application state is the same for every call |
//! | axum `Path<T>` / `Query<T>` without `Serialize`, `Uri`, `Method`, `OriginalUri` | covered by the request part of HTTP keys; outside an HTTP request the call runs uncached |
//! | anything else | a compile error that asks for `Serialize` or `skip(name)` |
//!
//! Strings are escaped (`a:b` becomes `a%3Ab`) so an argument is always exactly one
//! segment. Map arguments are sorted, so a `HashMap` gives the same key in every
//! process; sequences keep their order, so prefer `BTreeSet` over `HashSet`.
//!
//! # Custom key builders
//!
//! `#[cached(key_builder = path)]` takes an ordinary function
//! `fn(&KeyContext<'_>) -> String` (or `-> Option<String>`, where `None` means "do not
//! cache this call"). Like fastapi-cache2's builders it returns the whole key, built
//! from [`KeyContext::namespace`], which is `{prefix}:{namespace}`. A key that does not
//! start with `{prefix}:` is refused (the call runs uncached and a warning names the
//! function), because such an entry could never be invalidated by namespace.
//!
//! # Long and odd keys
//!
//! A key is data, never code: it is never pasted into a script or a glob pattern. A
//! segment longer than 128 bytes is replaced by `$` and 32 hex digits of its SHA-256,
//! and a key with more than 32 segments keeps 31 and hashes the rest into one; nothing
//! is truncated, so two different keys stay different. Invalidation applies the same
//! transformation to the namespace it is given, so it still matches.

mod args;
pub mod builders;
mod context;
mod encode;
pub(crate) mod function;
pub(crate) mod normalize;

pub use args::KeyArgs;
pub use builders::{
    api_key_single_key_builder, api_keys_list_key_builder, paginated_key_builder,
    user_scoped_key_builder, users_list_key_builder,
};
pub use context::{IntoKey, KeyContext};
pub(crate) use encode::escape_into;
pub(crate) use normalize::{CacheKey, normalize_prefix};

/// The user's identity, as a key sees it.
///
/// Implement it for your authenticated-user type or auth extractor; an argument of that
/// type then puts the user's id in the key, and key builders such as
/// `user_scoped_key_builder` find it through [`KeyContext::user_id`].
///
/// ```
/// struct CurrentUser { id: i64, email: String }
///
/// impl cachette::CacheUser for CurrentUser {
///     fn cache_user_id(&self) -> String {
///         self.id.to_string()
///     }
/// }
/// ```
pub trait CacheUser {
    /// A stable id that differs between users (a database id, never an email that
    /// can change hands).
    fn cache_user_id(&self) -> String;
}

impl<T: CacheUser + ?Sized> CacheUser for &T {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

impl<T: CacheUser + ?Sized> CacheUser for Box<T> {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

impl<T: CacheUser + ?Sized> CacheUser for std::sync::Arc<T> {
    fn cache_user_id(&self) -> String {
        (**self).cache_user_id()
    }
}

/// Builds the default key of a plain function call:
/// `{prefix}:{namespace}:{args}:{function path}`.
pub(crate) fn default_value_key(prefix: &str, spec: &crate::Spec, args: &KeyArgs) -> String {
    let function = spec.function_id(args.function());
    let mut key = String::with_capacity(
        prefix.len() + spec.namespace().len() + args.rendered().len() + function.segment.len() + 3,
    );
    key.push_str(prefix);
    key.push(':');
    key.push_str(spec.namespace());
    key.push(':');
    if !args.rendered().is_empty() {
        key.push_str(args.rendered());
        key.push(':');
    }
    key.push_str(&function.segment);
    key
}
