//! What each write invalidates, so the next read is fresh.
//!
//! | write | entries dropped (namespaces, after `fastapi-cache:`) |
//! |---|---|
//! | `POST /register` | `users:list` (the paginated list) |
//! | `PUT /users/{id}`, `make-admin`, `ban`, `unban` | `user:{id}` (`/users/me`), `users:{id}` (`/users/?user_id={id}`), `users:list` |
//! | `DELETE /users/{id}` | the above, and `apikeys:{id}`, `apikey:{id}` (every key of the user) |
//! | `POST`, `PATCH`, `DELETE /api/keys...` | `apikeys:{user}` (the list), `apikey:{user}:{key}` (that key) |
//!
//! Each call is one O(1) write whatever the number of entries, and race-free: a
//! response computed from data read before the call returned is never served after
//! it. So every call here comes *after* the database write committed. The helpers
//! act on the current cache: inside a request, the one `CacheLayer` serves it with.

/// A user's profile, role or ban changed.
pub async fn user_changed(user_id: i64) {
    cachette::invalidate_user_cache(user_id).await;
    cachette::invalidate_users_list_cache().await;
}

/// A user registered: the list has one more.
pub async fn user_registered() {
    cachette::invalidate_users_list_cache().await;
}

/// A user and their API keys were deleted.
pub async fn user_deleted(user_id: i64) {
    user_changed(user_id).await;
    cachette::invalidate_api_keys_cache(user_id).await;
    // Segment-aligned: `apikey:7` reaches `apikey:7:{key}` for every key, never
    // `apikey:70:...`.
    cachette::invalidate_namespace(&format!("apikey:{user_id}")).await;
}

/// API key `key_id` of `user_id` was created, changed or deleted.
pub async fn api_key_changed(user_id: i64, key_id: i64) {
    cachette::invalidate_api_keys_cache(user_id).await;
    cachette::invalidate_namespace(&format!("apikey:{user_id}:{key_id}")).await;
}
