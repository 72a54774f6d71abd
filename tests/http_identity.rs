//! Whose entry a response goes to: credentials, users, shared handlers, the
//! template's key builders, and 100 users on one URL.
#![allow(missing_docs)]

mod support;

use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::{CacheIdentity, CacheLayer};
use cachette::{
    Cache, CacheUser, Config, KeyContext, api_key_single_key_builder, api_keys_list_key_builder,
    cached, paginated_key_builder, user_scoped_key_builder, users_list_key_builder,
};
use serde::{Deserialize, Serialize};
use support::counter::Runs;
use support::http::get as send_get;
use support::lock;

/// `Authorization: Bearer user-<id>` → the user; the extractor an app writes.
struct CurrentUser {
    id: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let id = header
            .and_then(|h| h.strip_prefix("Bearer user-"))
            .and_then(|id| id.parse().ok())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        Ok(CurrentUser { id })
    }
}

impl CacheUser for CurrentUser {
    fn cache_user_id(&self) -> String {
        self.id.to_string()
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Me {
    id: u64,
    run: usize,
}

#[cached(expire = 300, namespace = "user", key_builder = user_scoped_key_builder)]
async fn get_my_user(State(runs): State<Runs>, user: CurrentUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        run: runs.tick(),
    })
}

/// Reads the identity from the extensions (no user argument).
#[cached(expire = 300, namespace = "user", key_builder = user_scoped_key_builder)]
async fn get_me_from_middleware(State(runs): State<Runs>) -> Json<Me> {
    Json(Me {
        id: 0,
        run: runs.tick(),
    })
}

/// The default key, credentials in the request.
#[cached(namespace = "feed")]
async fn feed(State(runs): State<Runs>) -> String2 {
    String2(format!("feed run {}", runs.tick()))
}

#[cached(namespace = "news", shared)]
async fn news(State(runs): State<Runs>) -> String2 {
    String2(format!("news run {}", runs.tick()))
}

/// A response type (so the HTTP path is used) carrying text.
struct String2(String);
impl axum::response::IntoResponse for String2 {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    page: Option<u32>,
}

#[cached(namespace = "items", key_builder = paginated_key_builder)]
async fn list_items(State(runs): State<Runs>, Query(_page): Query<Page>) -> String2 {
    String2(format!("items run {}", runs.tick()))
}

fn identity_from_header(request: &Request) -> Option<CacheIdentity> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    Some(CacheIdentity::new(header.strip_prefix("Bearer user-")?))
}

async fn auth(mut request: Request, next: Next) -> Response {
    if let Some(identity) = identity_from_header(&request) {
        request.extensions_mut().insert(identity);
    }
    next.run(request).await
}

fn app(cache: Cache, runs: &Runs) -> Router {
    Router::new()
        .route("/users/me", get(get_my_user))
        .route("/me", get(get_me_from_middleware))
        .route("/feed", get(feed))
        .route("/news", get(news))
        .route("/items", get(list_items))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(cache))
        // Added after the cache layer: runs before it.
        .layer(middleware::from_fn(auth))
}

fn bearer(id: u64) -> String {
    format!("Bearer user-{id}")
}

#[tokio::test]
async fn requests_with_credentials_get_their_own_entries() {
    let runs = Runs::default();
    let app = app(Cache::in_memory(Config::memory()), &runs);
    let anonymous = send_get(&app, "/feed", &[]).await;
    assert_eq!(anonymous.cache(), Some("MISS"));
    assert!(
        !anonymous
            .header("cache-control")
            .unwrap()
            .contains("private")
    );
    assert_eq!(send_get(&app, "/feed", &[]).await.cache(), Some("HIT"));

    for (name, value) in [
        ("authorization", "Bearer token-a"),
        ("cookie", "session=a"),
        ("x-api-key", "key-a"),
    ] {
        let before = runs.count();
        let first = send_get(&app, "/feed", &[(name, value)]).await;
        assert_eq!(
            first.cache(),
            Some("MISS"),
            "{name} makes the entry per identity"
        );
        assert!(
            first
                .header("cache-control")
                .unwrap()
                .starts_with("private")
        );
        let again = send_get(&app, "/feed", &[(name, value)]).await;
        assert_eq!(again.cache(), Some("HIT"));
        assert_eq!(again.body, first.body);
        let other = send_get(&app, "/feed", &[(name, &format!("{value}-other"))]).await;
        assert_eq!(
            other.cache(),
            Some("MISS"),
            "another {name} is another identity"
        );
        assert_eq!(runs.count(), before + 2);
    }
}

#[tokio::test]
async fn shared_handlers_share_across_credentials() {
    let runs = Runs::default();
    let app = app(Cache::in_memory(Config::memory()), &runs);
    let a = send_get(&app, "/news", &[("authorization", "Bearer a")]).await;
    let b = send_get(&app, "/news", &[("authorization", "Bearer b")]).await;
    assert_eq!((a.cache(), b.cache()), (Some("MISS"), Some("HIT")));
    assert_eq!(a.body, b.body);
    assert!(!b.header("cache-control").unwrap().contains("private"));
    assert_eq!(runs.count(), 1);
}

#[tokio::test]
async fn user_scoped_entries_and_invalidate_user_cache() {
    let runs = Runs::default();
    let cache = Cache::in_memory(Config::memory());
    let app = app(cache.clone(), &runs);
    for id in [1, 10] {
        let a = send_get(&app, "/users/me", &[("authorization", &bearer(id))]).await;
        assert_eq!(a.cache(), Some("MISS"));
        assert!(
            a.header("cache-control")
                .unwrap()
                .starts_with("private, max-age=")
        );
        let b = send_get(&app, "/users/me", &[("authorization", &bearer(id))]).await;
        assert_eq!(b.cache(), Some("HIT"));
        let me: Me = serde_json::from_slice(&b.body).unwrap();
        assert_eq!(me.id, id);
    }
    // `user:1` never touches `user:10`.
    cache.scope(cachette::invalidate_user_cache(1)).await;
    assert_eq!(
        send_get(&app, "/users/me", &[("authorization", &bearer(1))])
            .await
            .cache(),
        Some("MISS")
    );
    assert_eq!(
        send_get(&app, "/users/me", &[("authorization", &bearer(10))])
            .await
            .cache(),
        Some("HIT")
    );
    // Without a user the extractor rejects: 401, nothing stored.
    let a = send_get(&app, "/users/me", &[]).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn identity_from_middleware_and_no_user_means_no_cache() {
    let runs = Runs::default();
    let cache = Cache::in_memory(Config::memory());
    let app = app(cache.clone(), &runs);
    send_get(&app, "/me", &[("authorization", &bearer(5))]).await;
    assert_eq!(
        send_get(&app, "/me", &[("authorization", &bearer(5))])
            .await
            .cache(),
        Some("HIT")
    );
    assert_eq!(
        send_get(&app, "/me", &[("authorization", &bearer(6))])
            .await
            .cache(),
        Some("MISS")
    );
    cache.scope(cachette::invalidate_user_cache(5)).await;
    assert_eq!(
        send_get(&app, "/me", &[("authorization", &bearer(5))])
            .await
            .cache(),
        Some("MISS")
    );

    // No user at all: user_scoped_key_builder declines; never one shared entry.
    let before = runs.count();
    for _ in 0..3 {
        let a = send_get(&app, "/me", &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.cache().is_none());
    }
    assert_eq!(runs.count(), before + 3);
}

#[tokio::test]
async fn builder_keys_get_the_identity_when_they_do_not_read_the_user() {
    let runs = Runs::default();
    let app = app(Cache::in_memory(Config::memory()), &runs);
    // Anonymous: one entry per page, whatever the parameter order.
    send_get(&app, "/items?page=2&size=10", &[]).await;
    assert_eq!(
        send_get(&app, "/items?size=10&page=2", &[]).await.cache(),
        Some("HIT")
    );
    assert_eq!(
        send_get(&app, "/items?page=3", &[]).await.cache(),
        Some("MISS")
    );
    // With credentials the caller gets their own entry.
    let a = send_get(
        &app,
        "/items?page=2&size=10",
        &[("authorization", &bearer(1))],
    )
    .await;
    assert_eq!(a.cache(), Some("MISS"));
    let b = send_get(
        &app,
        "/items?page=2&size=10",
        &[("authorization", &bearer(2))],
    )
    .await;
    assert_eq!(b.cache(), Some("MISS"));
    assert_eq!(
        send_get(
            &app,
            "/items?page=2&size=10",
            &[("authorization", &bearer(2))]
        )
        .await
        .cache(),
        Some("HIT")
    );
}

// --- a user the key builder ignores, known without credential headers ------------------

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_users_on_one_url_only_see_their_own_data() {
    let runs = Runs::default();
    let app = app(Cache::in_memory(Config::memory()), &runs);
    for round in 0..3 {
        let calls: Vec<_> = (1..=100u64)
            .map(|id| {
                let app = app.clone();
                tokio::spawn(async move {
                    let a = send_get(&app, "/users/me", &[("authorization", &bearer(id))]).await;
                    (id, a.status, a.cache().map(str::to_owned), a.body)
                })
            })
            .collect();
        for call in calls {
            let (id, status, cache, body) = call.await.unwrap();
            assert_eq!(status, StatusCode::OK);
            let me: Me = serde_json::from_slice(&body).unwrap();
            assert_eq!(me.id, id, "user {id} saw user {}'s data", me.id);
            let expected = if round == 0 { "MISS" } else { "HIT" };
            assert_eq!(cache.as_deref(), Some(expected));
        }
    }
    assert_eq!(runs.count(), 100);
}

// --- the template's builders, their exact key strings --------------------------------

/// Records the key a builder produced, through a wrapping builder.
static LAST_KEY: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn record(key: Option<String>) -> Option<String> {
    *lock(&LAST_KEY) = key.clone();
    key
}

fn rec_users_list(cx: &KeyContext<'_>) -> Option<String> {
    record(Some(users_list_key_builder(cx)))
}
fn rec_paginated(cx: &KeyContext<'_>) -> Option<String> {
    record(Some(paginated_key_builder(cx)))
}
fn rec_api_keys(cx: &KeyContext<'_>) -> Option<String> {
    record(api_keys_list_key_builder(cx))
}
fn rec_api_key(cx: &KeyContext<'_>) -> Option<String> {
    record(api_key_single_key_builder(cx))
}
fn rec_user_scoped(cx: &KeyContext<'_>) -> Option<String> {
    record(user_scoped_key_builder(cx))
}

#[cached(namespace = "users", key_builder = rec_users_list, shared)]
async fn list_users() -> String2 {
    String2("users".into())
}

#[cached(namespace = "users", key_builder = rec_paginated, shared)]
async fn paged() -> String2 {
    String2("paged".into())
}

#[cached(namespace = "apikeys", key_builder = rec_api_keys)]
async fn list_api_keys(_user: CurrentUser) -> String2 {
    String2("keys".into())
}

#[cached(namespace = "apikeys", key_builder = rec_api_keys)]
async fn list_user_api_keys(Path(user_id): Path<u64>, _admin: CurrentUser) -> String2 {
    String2(format!("keys of {user_id}"))
}

#[cached(namespace = "apikey", key_builder = rec_api_key)]
async fn get_api_key(Path(key_id): Path<u64>, _user: CurrentUser) -> String2 {
    String2(format!("key {key_id}"))
}

#[cached(namespace = "user", key_builder = rec_user_scoped)]
async fn get_my_user_keyed(_user: CurrentUser) -> String2 {
    String2("me".into())
}

#[tokio::test]
async fn the_template_builders_make_the_template_keys() {
    let app = Router::new()
        .route("/users/", get(list_users))
        .route("/paged", get(paged))
        .route("/api/keys", get(list_api_keys))
        .route("/admin/users/{user_id}/keys", get(list_user_api_keys))
        .route("/api/keys/{key_id}", get(get_api_key))
        .route("/users/me", get(get_my_user_keyed))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    let auth = [("authorization", "Bearer user-42")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 9] = [
        ("/users/", &[], "fastapi-cache:users:list:page:1:size:50"),
        (
            "/users/?page=3&size=20",
            &[],
            "fastapi-cache:users:list:page:3:size:20",
        ),
        ("/users/?user_id=7", &[], "fastapi-cache:users:7:single"),
        ("/paged", &[], "fastapi-cache:users:paged:page:1:size:50"),
        (
            "/paged?size=5&page=2",
            &[],
            "fastapi-cache:users:paged:page:2:size:5",
        ),
        ("/api/keys", &auth, "fastapi-cache:apikeys:42:list_api_keys"),
        (
            "/admin/users/9/keys",
            &auth,
            "fastapi-cache:apikeys:9:list_user_api_keys",
        ),
        ("/api/keys/5", &auth, "fastapi-cache:apikey:42:5"),
        (
            "/users/me",
            &auth,
            "fastapi-cache:user:42:get_my_user_keyed",
        ),
    ];
    for (uri, headers, expected) in cases {
        *LAST_KEY.lock().unwrap() = None;
        let a = send_get(&app, uri, headers).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        assert_eq!(LAST_KEY.lock().unwrap().as_deref(), Some(expected), "{uri}");
    }
    // A query parameter never points the key away from the path argument the
    // handler reads.
    send_get(&app, "/api/keys/5?key_id=6", &auth).await;
    assert_eq!(
        LAST_KEY.lock().unwrap().as_deref(),
        Some("fastapi-cache:apikey:42:5")
    );
    send_get(&app, "/admin/users/9/keys?user_id=10", &auth).await;
    assert_eq!(
        LAST_KEY.lock().unwrap().as_deref(),
        Some("fastapi-cache:apikeys:9:list_user_api_keys")
    );
    // A value that tries to forge segments is escaped.
    send_get(&app, "/users/?user_id=7:single:x", &[]).await;
    assert_eq!(
        LAST_KEY.lock().unwrap().as_deref(),
        Some("fastapi-cache:users:7%3Asingle%3Ax:single")
    );
}

// --- key builders that read request headers ------------------------------------------

fn by_language(cx: &KeyContext<'_>) -> Option<String> {
    let language = cx.header("accept-language").unwrap_or("en");
    Some(format!(
        "{}:{}:{}",
        cx.namespace(),
        language,
        cx.function_name()
    ))
}

#[cached(namespace = "greeting", key_builder = by_language, skip(headers))]
async fn greeting(State(runs): State<Runs>, headers: axum::http::HeaderMap) -> String2 {
    let _ = runs.tick();
    let language = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en")
        .to_owned();
    String2(format!("hello in {language}"))
}

#[tokio::test]
async fn a_builder_reading_headers_never_gets_a_wrong_key() {
    let runs = Runs::default();
    let app = Router::new()
        .route("/greeting", get(greeting))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    // The layer keeps request headers only once a builder asked: that first request
    // runs uncached rather than being keyed without its header.
    let first = send_get(&app, "/greeting", &[("accept-language", "fr")]).await;
    assert_eq!(first.text(), "hello in fr");
    assert!(first.cache().is_none());
    for (language, expected) in [("fr", "MISS"), ("de", "MISS"), ("fr", "HIT"), ("de", "HIT")] {
        let a = send_get(&app, "/greeting", &[("accept-language", language)]).await;
        assert_eq!(a.text(), format!("hello in {language}"));
        assert_eq!(a.cache(), Some(expected), "{language}");
    }
}
