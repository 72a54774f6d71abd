//! Regressions found in review: identity in every keying path, escaped ids in the
//! invalidation helpers, numbers in query parameters, and a Redis that forgot its
//! epoch while a miss was computing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/http.rs"]
mod http_support;
#[path = "support/redis.rs"]
mod redis_support;

use std::sync::Mutex;

use axum::extract::{FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::{CacheIdentity, CacheLayer};
use cachette::{
    Cache, CacheUser, Config, cached, paginated_key_builder, user_scoped_key_builder,
    users_list_key_builder,
};
use http_support::get as send_get;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};

/// Authenticates through a header that is not in CACHE_CREDENTIAL_HEADERS.
struct TokenUser {
    id: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for TokenUser {
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(|id| TokenUser { id })
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

impl CacheUser for TokenUser {
    fn cache_user_id(&self) -> String {
        self.id.to_string()
    }
}

#[derive(Deserialize, Serialize)]
struct PageQ {
    page: Option<u32>,
}

/// The builder ignores the user argument.
#[cached(namespace = "orders", key_builder = paginated_key_builder)]
async fn my_orders(user: TokenUser, Query(_q): Query<PageQ>) -> Json<String> {
    Json(format!("orders of user {}", user.id))
}

/// Keyed by the CacheIdentity the middleware inserts; no credential header.
#[cached(namespace = "user", key_builder = user_scoped_key_builder)]
async fn me_from_identity() -> Json<String> {
    Json("me".to_owned())
}

async fn identity_from_token(mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = token {
        request.extensions_mut().insert(CacheIdentity::new(id));
    }
    next.run(request).await
}

#[tokio::test]
async fn a_known_user_makes_the_entry_private_without_credential_headers() {
    let app = Router::new()
        .route("/orders", get(my_orders))
        .route("/me", get(me_from_identity))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())))
        .layer(middleware::from_fn(identity_from_token));
    let one = send_get(&app, "/orders?page=1", &[("x-auth-token", "1")]).await;
    let two = send_get(&app, "/orders?page=1", &[("x-auth-token", "2")]).await;
    assert_eq!(one.text(), "\"orders of user 1\"");
    assert_eq!(
        two.text(),
        "\"orders of user 2\"",
        "user 2 got user 1's orders"
    );
    assert!(two.header("cache-control").unwrap().starts_with("private"));
    let me = send_get(&app, "/me", &[("x-auth-token", "1")]).await;
    assert!(
        me.header("cache-control").unwrap().starts_with("private"),
        "a CDN could store it"
    );
}

/// A serde-value handler (cached as a value, not as a response).
struct BearerUser {
    id: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for BearerUser {
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer user-"))
            .and_then(|v| v.parse().ok())
            .map(|id| BearerUser { id })
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

impl CacheUser for BearerUser {
    fn cache_user_id(&self) -> String {
        self.id.to_string()
    }
}

#[cached(namespace = "inbox", key_builder = paginated_key_builder)]
async fn inbox(user: BearerUser, Query(_q): Query<PageQ>) -> Result<String, StatusCode> {
    Ok(format!("inbox of user {}", user.id))
}

#[tokio::test]
async fn a_value_handler_whose_builder_ignores_the_user_stays_per_user() {
    let app = Router::new()
        .route("/inbox", get(inbox))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    for _ in 0..2 {
        let one = send_get(&app, "/inbox?page=1", &[("authorization", "Bearer user-1")]).await;
        let two = send_get(&app, "/inbox?page=1", &[("authorization", "Bearer user-2")]).await;
        assert_eq!(one.text(), "inbox of user 1");
        assert_eq!(two.text(), "inbox of user 2", "user 2 got user 1's inbox");
    }
}

static NAME: Mutex<&str> = Mutex::new("old");

struct Subject(String);

impl CacheUser for Subject {
    fn cache_user_id(&self) -> String {
        self.0.clone()
    }
}

#[cached(namespace = "user", key_builder = user_scoped_key_builder)]
async fn profile(user: Subject) -> String {
    format!("{}:{}", user.0, NAME.lock().unwrap())
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

static STATUS: Mutex<&str> = Mutex::new("active");

#[derive(Deserialize)]
struct ListQ {
    user_id: Option<i64>,
}

#[cached(namespace = "users", key_builder = users_list_key_builder, shared)]
async fn list_users(Query(q): Query<ListQ>) -> Json<String> {
    Json(format!("{:?}:{}", q.user_id, STATUS.lock().unwrap()))
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

// --- a Redis that loses its epoch while a miss computes -----------------------------

static VALUE: Mutex<&str> = Mutex::new("v1");
static READ: Notify = Notify::const_new();
static RELEASE: Semaphore = Semaphore::const_new(0);

#[cached(expire = 300, namespace = "slow")]
async fn slow(id: u64) -> String {
    let value = *VALUE.lock().unwrap();
    READ.notify_one();
    RELEASE.acquire().await.unwrap().forget();
    format!("{id}:{value}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_never_takes_a_value_computed_before() {
    let server = redis_support::RedisServer::start(&[]);
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(server.url())
        .build()
        .unwrap();
    let cache = Cache::new(config).await;
    for i in 0..10 {
        cache.invalidate_namespace(&format!("other:{i}")).await;
    }
    let slow_call = tokio::spawn(cache.scope(slow(1)));
    READ.notified().await;
    // Redis restarts empty (no persistence) while the miss computes.
    let mut raw = server.client().await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut raw).await.unwrap();
    *VALUE.lock().unwrap() = "v2";
    cache.invalidate_namespace("slow:1").await;
    RELEASE.add_permits(10);
    assert_eq!(slow_call.await.unwrap(), "1:v1");
    assert_eq!(
        cache.scope(slow(1)).await,
        "1:v2",
        "stale after the invalidation returned"
    );
    cache.invalidate_namespace("slow").await;
    assert_eq!(cache.scope(slow(1)).await, "1:v2");
}
