//! The invalidation helpers of the template (`invalidate_user_cache`) reach every
//! key its builders made for that user, however the key writes the user: an id
//! that keys escape, a number written with leading zeros in a query.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, CacheUser, Config, cached, user_scoped_key_builder, users_list_key_builder};
use serde::Deserialize;
use support::current;
use support::http::get as send_get;

// --- an id that keys escape ---------------------------------------------------------------

/// The data `profile` reads.
static NAME: Mutex<&str> = Mutex::new("old");

struct Subject(String);

impl CacheUser for Subject {
    fn cache_user_id(&self) -> String {
        self.0.clone()
    }
}

#[cached(namespace = "user", key_builder = user_scoped_key_builder)]
async fn profile(user: Subject) -> String {
    format!("{}:{}", user.0, current(&NAME))
}

#[tokio::test]
async fn invalidate_user_cache_reaches_ids_that_keys_escape() {
    Cache::in_memory(Config::memory())
        .scope(async {
            let id = "auth0|5f7c8ec7 é";
            assert_eq!(profile(Subject(id.into())).await, format!("{id}:old"));
            *NAME.lock().unwrap() = "new";
            cachette::invalidate_user_cache(id).await;
            assert_eq!(profile(Subject(id.into())).await, format!("{id}:new"));
        })
        .await;
}

// --- a number written with leading zeros -------------------------------------------------

/// The data `list_users` reads.
static STATUS: Mutex<&str> = Mutex::new("active");

#[derive(Deserialize)]
struct ListQ {
    user_id: Option<i64>,
}

#[cached(namespace = "users", key_builder = users_list_key_builder, shared)]
async fn list_users(Query(q): Query<ListQ>) -> Json<String> {
    Json(format!("{:?}:{}", q.user_id, current(&STATUS)))
}

#[tokio::test]
async fn a_number_with_leading_zeros_keys_and_invalidates_like_the_number() {
    let cache = Cache::in_memory(Config::memory());
    let app = Router::new()
        .route("/users/", get(list_users))
        .layer(CacheLayer::with_cache(cache.clone()));
    send_get(&app, "/users/?user_id=05", &[]).await;
    *STATUS.lock().unwrap() = "banned";
    cache.scope(cachette::invalidate_user_cache(5)).await;
    let after = send_get(&app, "/users/?user_id=05", &[]).await;
    assert!(after.text().contains("banned"), "{}", after.text());
}
