//! Namespace invalidation, called from application code.
//!
//! The helpers keep the Python template's names and targets, so a port reads the same:
//!
//! | helper | invalidates |
//! |---|---|
//! | [`invalidate_namespace(ns)`](invalidate_namespace) | every key (after the prefix) equal to `ns` or starting with `ns:` |
//! | [`invalidate_user_cache(id)`](invalidate_user_cache) | `user:{id}` and `users:{id}` |
//! | [`invalidate_users_list_cache()`](invalidate_users_list_cache) | `users:list` |
//! | [`invalidate_api_keys_cache(id)`](invalidate_api_keys_cache) | `apikeys:{id}` |
//! | [`invalidate_all()`](invalidate_all) | everything |
//!
//! They act on the current cache (the innermost [`Cache::scope`](crate::Cache::scope),
//! else the global one). They never fail the caller: in disabled mode, before
//! [`init`](crate::init), or when the store misbehaves they return normally (store
//! failures are logged). Matching is segment-aligned (`user:1` never touches
//! `user:10`), costs one write whatever the number of entries, and is race-free: a
//! value computed from data read before the call is never served after it returns.

use std::fmt::Display;

use crate::global::current;
use crate::key::escaped;

/// Invalidates every entry whose key, after the prefix, equals `namespace` or starts
/// with `namespace:`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // After updating product 123 in the database:
/// cachette::invalidate_namespace("products:123").await;
/// # }
/// ```
pub async fn invalidate_namespace(namespace: &str) {
    if let Some(cache) = current() {
        cache.invalidate_namespace(namespace).await;
    }
}

/// Invalidates a user's entries: namespaces `user:{user_id}` and `users:{user_id}`
/// (what `user_scoped_key_builder` and `users_list_key_builder` write).
pub async fn invalidate_user_cache(user_id: impl Display) {
    if let Some(cache) = current() {
        // Ids are escaped like every key segment (`auth0|42` is stored as
        // `auth0%7C42`), so an id reaches its entries whatever it holds.
        let id = escaped(&user_id.to_string());
        cache.invalidate_namespace(&format!("user:{id}")).await;
        cache.invalidate_namespace(&format!("users:{id}")).await;
    }
}

/// Invalidates the paginated users list: namespace `users:list`.
pub async fn invalidate_users_list_cache() {
    if let Some(cache) = current() {
        cache.invalidate_namespace("users:list").await;
    }
}

/// Invalidates a user's API-key list: namespace `apikeys:{user_id}`.
pub async fn invalidate_api_keys_cache(user_id: impl Display) {
    if let Some(cache) = current() {
        cache
            .invalidate_namespace(&format!("apikeys:{}", escaped(&user_id.to_string())))
            .await;
    }
}

/// Invalidates every entry of the current cache.
pub async fn invalidate_all() {
    if let Some(cache) = current() {
        cache.invalidate_all().await;
    }
}
