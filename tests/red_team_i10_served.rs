//! Red team, issue 10: value calls made while the HTTP layer serves a request, now
//! seen by the core through the `Served` hook: whose entry they read, what their key
//! builders see (`user_id`, `query_param`, `header`), and the keep-headers path.
#![allow(missing_docs)]

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use cachette::http::{CacheIdentity, CacheLayer};
use cachette::{Cache, KeyContext, cached};
use support::gate::{Gate, gate};
use support::http::{Answer, get as send_get};

static NESTED_RUNS: AtomicUsize = AtomicUsize::new(0);
static QUERY_RUNS: AtomicUsize = AtomicUsize::new(0);
static USER_RUNS: AtomicUsize = AtomicUsize::new(0);
static HANDLER_RUNS: AtomicUsize = AtomicUsize::new(0);
static TENANT_RUNS: AtomicUsize = AtomicUsize::new(0);

/// No argument: what makes it per user is the request being served.
#[cached(namespace = "rt10nested")]
async fn nested_profile() -> String {
    format!("profile run {}", NESTED_RUNS.fetch_add(1, Ordering::SeqCst))
}

fn by_query(cx: &KeyContext<'_>) -> Option<String> {
    Some(format!("{}:{}", cx.namespace(), cx.query_param("q")?))
}

#[cached(namespace = "rt10query", key_builder = by_query)]
async fn nested_search() -> String {
    format!("search run {}", QUERY_RUNS.fetch_add(1, Ordering::SeqCst))
}

fn by_user(cx: &KeyContext<'_>) -> Option<String> {
    Some(format!("{}:{}", cx.namespace(), cx.user_id()?))
}

#[cached(namespace = "rt10user", key_builder = by_user)]
async fn nested_mine() -> String {
    format!("mine run {}", USER_RUNS.fetch_add(1, Ordering::SeqCst))
}

/// A handler returning a value (a `String`): it claims the request.
#[cached(namespace = "rt10valuehandler")]
async fn value_handler(Query(q): Query<HashMap<String, String>>) -> String {
    format!(
        "handler {:?} run {}",
        q.get("q"),
        HANDLER_RUNS.fetch_add(1, Ordering::SeqCst)
    )
}

fn by_tenant(cx: &KeyContext<'_>) -> Option<String> {
    Some(format!("{}:{}", cx.namespace(), cx.header("x-tenant")?))
}

#[cached(namespace = "rt10tenant", shared, key_builder = by_tenant)]
async fn tenant_data() -> String {
    format!("tenant run {}", TENANT_RUNS.fetch_add(1, Ordering::SeqCst))
}

async fn profile_page() -> String {
    nested_profile().await
}

async fn search_page() -> String {
    nested_search().await
}

async fn mine_page() -> String {
    nested_mine().await
}

/// Not cached itself: calls the header-keyed value, then, with `?hold`, waits.
async fn tenant_page(
    State(g): State<Arc<Gate>>,
    Query(q): Query<HashMap<String, String>>,
) -> String {
    let data = tenant_data().await;
    if q.contains_key("hold") {
        g.pass().await;
    }
    data
}

async fn auth(mut request: Request, next: Next) -> Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(user) = user {
        request.extensions_mut().insert(CacheIdentity::new(user));
    }
    next.run(request).await
}

fn app(cache: &Cache, g: &Arc<Gate>) -> Router {
    Router::new()
        .route("/profile", get(profile_page))
        .route("/search", get(search_page))
        .route("/mine", get(mine_page))
        .route("/handler", get(value_handler))
        .route("/tenant", get(tenant_page))
        .with_state(Arc::clone(g))
        .layer(CacheLayer::with_cache(cache.clone()))
        .layer(middleware::from_fn(auth))
}

async fn as_user(app: &Router, uri: &str, user: &str) -> String {
    send_get(app, uri, &[("x-user", user)]).await.text()
}

/// A value call nested in a handler, keyed by the default key: per user.
#[tokio::test]
async fn rt10_nested_default_key_is_per_user() {
    let cache = support::memory();
    let app = app(&cache, &gate(10_101));
    let one = as_user(&app, "/profile", "1").await;
    let two = as_user(&app, "/profile", "2").await;
    assert_ne!(one, two, "user 2 got user 1's entry");
    assert_eq!(as_user(&app, "/profile", "1").await, one, "user 1 hits");
    assert_eq!(as_user(&app, "/profile", "2").await, two, "user 2 hits");
}

/// A key builder reading `query_param` only: the identity is appended.
#[tokio::test]
async fn rt10_nested_query_builder_is_per_user() {
    let cache = support::memory();
    let app = app(&cache, &gate(10_102));
    let one = as_user(&app, "/search?q=x", "1").await;
    let two = as_user(&app, "/search?q=x", "2").await;
    assert_ne!(one, two, "user 2 got user 1's entry");
    assert_eq!(as_user(&app, "/search?q=x", "1").await, one);
    let other = as_user(&app, "/search?q=y", "1").await;
    assert_ne!(one, other, "another query, another entry");
}

/// A key builder reading `user_id`: keyed by the user it read.
#[tokio::test]
async fn rt10_nested_user_builder_is_per_user() {
    let cache = support::memory();
    let app = app(&cache, &gate(10_103));
    let one = as_user(&app, "/mine", "1").await;
    let two = as_user(&app, "/mine", "2").await;
    assert_ne!(one, two, "user 2 got user 1's entry");
    assert_eq!(as_user(&app, "/mine", "1").await, one);
    cache.invalidate_namespace("rt10user:1").await;
    assert_ne!(
        as_user(&app, "/mine", "1").await,
        one,
        "user 1's entry invalidated"
    );
    assert_eq!(as_user(&app, "/mine", "2").await, two, "user 2's untouched");
}

/// A handler returning a value claims the request: keyed by its request line and
/// its identity.
#[tokio::test]
async fn rt10_value_handler_is_per_request_and_user() {
    let cache = support::memory();
    let app = app(&cache, &gate(10_104));
    let one = as_user(&app, "/handler?q=a", "1").await;
    let two = as_user(&app, "/handler?q=a", "2").await;
    assert_ne!(one, two, "user 2 got user 1's entry");
    assert_eq!(as_user(&app, "/handler?q=a", "1").await, one);
    let raw = as_user(&app, "/handler?q=%61", "1").await;
    assert_ne!(raw, one, "another raw query is another entry");
}

async fn tenant(app: &Router, uri: &str, tenant: &str) -> Answer {
    send_get(app, uri, &[("x-tenant", tenant)]).await
}

/// The keep-headers path: the first request runs its header-keyed call uncached,
/// never under a wrong key; later requests are keyed by the header.
#[tokio::test]
async fn rt10_header_builder_first_request_uncached_then_keyed() {
    let cache = support::memory();
    let app = app(&cache, &gate(10_105));
    let acme = tenant(&app, "/tenant", "acme").await.text();
    let globex = tenant(&app, "/tenant", "globex").await.text();
    assert_ne!(acme, globex, "globex got acme's value");
    let globex_again = tenant(&app, "/tenant", "globex").await.text();
    assert_eq!(globex_again, globex, "headers kept: globex hits");
    let acme_again = tenant(&app, "/tenant", "acme").await.text();
    assert_ne!(acme_again, globex);
    assert_eq!(tenant(&app, "/tenant", "acme").await.text(), acme_again);
}

/// A key builder's wish for headers takes effect at once: a request starting while
/// the first one is still being served keeps its headers (the refactor first set
/// the flag only when the first request ended; each request now shares the
/// cache's flag).
#[tokio::test]
async fn rt10_header_wish_takes_effect_before_the_first_request_ends() {
    let g = gate(10_106);
    let cache = support::memory();
    let app = app(&cache, &g);
    let first = {
        let app = app.clone();
        tokio::spawn(async move { tenant(&app, "/tenant?hold", "acme").await })
    };
    g.read.notified().await;
    // The first request ran its call (uncached) and is still being served.
    let second = tenant(&app, "/tenant", "acme").await.text();
    let third = tenant(&app, "/tenant", "acme").await.text();
    g.release.add_permits(1);
    first.await.unwrap();
    assert_eq!(
        third, second,
        "the second request (started after the builder asked for headers) kept them and stored its value"
    );
}
