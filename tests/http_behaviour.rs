//! HTTP caching for axum handlers: headers, conditional requests, Cache-Control, what
//! is stored. In process, through `tower::ServiceExt::oneshot`.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::CacheLayer;
use cachette::{Cache, Config, cached};
use serde::{Deserialize, Serialize};
use support::counter::Runs;
use support::http::{get as send_get, request, send};

#[derive(Serialize, Deserialize)]
struct Item {
    id: u64,
    run: usize,
}

#[cached(expire = 300, namespace = "items")]
async fn get_item(State(runs): State<Runs>, Path(id): Path<u64>) -> Json<Item> {
    Json(Item {
        id,
        run: runs.tick(),
    })
}

struct NotFound;
impl IntoResponse for NotFound {
    fn into_response(self) -> Response {
        (StatusCode::NOT_FOUND, "no such item").into_response()
    }
}

#[cached(expire = 300, namespace = "maybe")]
async fn maybe_item(State(runs): State<Runs>, Path(id): Path<u64>) -> Result<Json<Item>, NotFound> {
    let run = runs.tick();
    if id == 0 {
        Err(NotFound)
    } else {
        Ok(Json(Item { id, run }))
    }
}

#[cached(namespace = "created")]
async fn created(State(runs): State<Runs>) -> (StatusCode, Json<Item>) {
    (
        StatusCode::CREATED,
        Json(Item {
            id: 1,
            run: runs.tick(),
        }),
    )
}

#[cached(namespace = "opaque")]
async fn opaque(State(runs): State<Runs>) -> impl IntoResponse {
    format!("opaque run {}", runs.tick())
}

#[cached(namespace = "full")]
async fn full(State(runs): State<Runs>) -> Response {
    let mut r = format!("full run {}", runs.tick()).into_response();
    r.headers_mut()
        .insert("x-custom", HeaderValue::from_static("kept"));
    r
}

#[cached(namespace = "cookie")]
async fn sets_cookie(State(runs): State<Runs>) -> Response {
    let mut r = format!("run {}", runs.tick()).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("session=abc"));
    r
}

#[cached(namespace = "nostore")]
async fn says_no_store(State(runs): State<Runs>) -> Response {
    let mut r = format!("run {}", runs.tick()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cached(namespace = "private")]
async fn says_private(State(runs): State<Runs>) -> Response {
    let mut r = format!("run {}", runs.tick()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    r
}

#[cached(namespace = "vary")]
async fn varies(State(runs): State<Runs>) -> Response {
    let mut r = format!("run {}", runs.tick()).into_response();
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-language"));
    r
}

#[cached(namespace = "text")]
async fn text(State(runs): State<Runs>) -> String {
    format!("text run {}", runs.tick())
}

#[cached(namespace = "post")]
async fn post_item(State(runs): State<Runs>) -> Json<Item> {
    Json(Item {
        id: 9,
        run: runs.tick(),
    })
}

fn app(cache: Cache, runs: &Runs) -> Router {
    Router::new()
        .route("/items/{id}", get(get_item))
        .route("/maybe/{id}", get(maybe_item))
        .route("/created", get(created))
        .route("/opaque", get(opaque))
        .route("/full", get(full))
        .route("/cookie", get(sets_cookie))
        .route("/nostore", get(says_no_store))
        .route("/private", get(says_private))
        .route("/vary", get(varies))
        .route("/text", get(text))
        .route("/post", axum::routing::post(post_item))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(cache))
}

fn memory_app() -> (Router, Runs) {
    let runs = Runs::default();
    (app(Cache::in_memory(Config::memory()), &runs), runs)
}

fn max_age(value: Option<&str>) -> u64 {
    let value = value.unwrap_or_else(|| panic!("no Cache-Control header"));
    let n = value.rsplit("max-age=").next().unwrap_or_default();
    n.parse()
        .unwrap_or_else(|_| panic!("max-age is an integer: {value}"))
}

#[tokio::test]
async fn miss_then_hit_with_the_template_headers() {
    let (app, runs) = memory_app();
    let miss = send_get(&app, "/items/1", &[]).await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.cache(), Some("MISS"));
    assert_eq!(max_age(miss.header("cache-control")), 300);
    assert!(miss.header("age").is_none());
    let etag = miss.header("etag").unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "{etag}"
    );

    let hit = send_get(&app, "/items/1", &[]).await;
    assert_eq!(hit.cache(), Some("HIT"));
    assert_eq!(hit.body, miss.body);
    assert_eq!(hit.header("etag"), Some(etag.as_str()));
    assert_eq!(hit.header("content-type"), Some("application/json"));
    let left = max_age(hit.header("cache-control"));
    assert!(left <= 300);
    let age: u64 = hit.header("age").unwrap().parse().unwrap();
    assert!(age + left <= 300 + 1);
    assert!(!hit.header("cache-control").unwrap().contains("private"));
    assert_eq!(runs.count(), 1);

    // Another path is another entry.
    assert_eq!(send_get(&app, "/items/2", &[]).await.cache(), Some("MISS"));
    assert_eq!(runs.count(), 2);
}

#[tokio::test]
async fn etags_are_the_same_in_every_process() {
    // Two caches stand for two processes (or a restart): same body, same ETag.
    let (a, _) = memory_app();
    let (b, _) = memory_app();
    let ea = send_get(&a, "/opaque", &[]).await;
    let eb = send_get(&b, "/opaque", &[]).await;
    assert_eq!(ea.body, eb.body);
    assert_eq!(ea.header("etag"), eb.header("etag"));
    assert!(ea.header("etag").is_some());
}

#[tokio::test]
async fn disabled_mode_sends_no_cache_headers() {
    let runs = Runs::default();
    let app = app(Cache::disabled(), &runs);
    for _ in 0..2 {
        let a = send_get(&app, "/items/1", &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.cache().is_none());
        assert!(a.header("etag").is_none());
        assert!(a.header("cache-control").is_none());
    }
    assert_eq!(runs.count(), 2);
}

#[tokio::test]
async fn if_none_match_gets_304_on_hit_and_miss() {
    let (app, runs) = memory_app();
    let first = send_get(&app, "/items/7", &[]).await;
    let etag = first.header("etag").unwrap().to_owned();
    let opaque = etag.trim_matches('"').to_owned();

    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"nope\", {etag}"),
        format!("W/\"x\",W/\"{opaque}\""),
        "*".to_owned(),
    ] {
        let a = send_get(&app, "/items/7", &[("if-none-match", &inm)]).await;
        assert_eq!(a.status, StatusCode::NOT_MODIFIED, "If-None-Match: {inm}");
        assert!(a.body.is_empty());
        assert_eq!(a.header("etag"), Some(etag.as_str()));
        assert_eq!(a.cache(), Some("HIT"));
    }
    let a = send_get(&app, "/items/7", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, first.body);

    // On a miss too: the entry is new, the client already has this body.
    let (fresh, _) = memory_app();
    let other_process_body = send_get(&fresh, "/opaque", &[]).await;
    let (app2, _) = memory_app();
    let a = send_get(
        &app2,
        "/opaque",
        &[("if-none-match", other_process_body.header("etag").unwrap())],
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(a.cache(), Some("MISS"));
    assert!(a.body.is_empty());
    assert_eq!(runs.count(), 1);
}

#[tokio::test]
async fn head_is_served_like_get_without_a_body() {
    let (app, runs) = memory_app();
    // HEAD first: a miss that is not stored (no body to store).
    let head = send(&app, request("HEAD", "/items/3", &[])).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.cache(), Some("MISS"));
    let get = send_get(&app, "/items/3", &[]).await;
    assert_eq!(get.cache(), Some("MISS"));
    let head = send(&app, request("HEAD", "/items/3", &[])).await;
    assert_eq!(head.cache(), Some("HIT"));
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(runs.count(), 2);
}

#[tokio::test]
async fn request_cache_control_is_a_directive_list() {
    let (app, runs) = memory_app();
    let first = send_get(&app, "/items/5", &[]).await;
    assert_eq!(runs.count(), 1);
    let mut last = first.body.clone();
    for (name, value) in [
        ("cache-control", "no-cache"),
        ("cache-control", "No-Cache"),
        ("cache-control", "no-cache, max-age=0"),
        ("cache-control", "max-age=0"),
        ("pragma", "no-cache"),
    ] {
        let before = runs.count();
        let a = send_get(&app, "/items/5", &[(name, value)]).await;
        assert_eq!(a.cache(), Some("MISS"), "{name}: {value}");
        assert_eq!(runs.count(), before + 1, "{name}: {value} recomputes");
        assert_ne!(a.body, last);
        // ... and refreshes the entry.
        let hit = send_get(&app, "/items/5", &[]).await;
        assert_eq!(hit.cache(), Some("HIT"));
        assert_eq!(hit.body, a.body);
        last = a.body;
    }
    // Pragma does not count when Cache-Control is present.
    let a = send_get(
        &app,
        "/items/5",
        &[("pragma", "no-cache"), ("cache-control", "max-age=60")],
    )
    .await;
    assert_eq!(a.cache(), Some("HIT"));

    // no-store: neither reads nor writes.
    let before = runs.count();
    let a = send_get(&app, "/items/5", &[("cache-control", "no-store")]).await;
    assert!(a.cache().is_none());
    assert_eq!(runs.count(), before + 1);
    assert_eq!(
        send_get(&app, "/items/5", &[]).await.body,
        last,
        "the entry was not replaced"
    );
    let a = send_get(&app, "/items/6", &[("cache-control", "NO-STORE")]).await;
    assert!(a.cache().is_none());
    assert_eq!(
        send_get(&app, "/items/6", &[]).await.cache(),
        Some("MISS"),
        "nothing was written"
    );
}

#[tokio::test]
async fn only_get_and_2xx_are_stored() {
    let (app, runs) = memory_app();
    for _ in 0..2 {
        let a = send(&app, request("POST", "/post", &[])).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.cache().is_none());
    }
    assert_eq!(runs.count(), 2);

    for _ in 0..2 {
        let a = send_get(&app, "/maybe/0", &[]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert!(a.header("etag").is_none());
    }
    assert_eq!(runs.count(), 4, "the Err (404) was not stored");
    send_get(&app, "/maybe/1", &[]).await;
    assert_eq!(send_get(&app, "/maybe/1", &[]).await.cache(), Some("HIT"));

    send_get(&app, "/created", &[]).await;
    let a = send_get(&app, "/created", &[]).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.cache(), Some("HIT"));
}

#[tokio::test]
async fn responses_that_forbid_storage_are_not_stored() {
    let (app, runs) = memory_app();
    for path in ["/cookie", "/nostore", "/private", "/vary"] {
        let before = runs.count();
        let a = send_get(&app, path, &[]).await;
        assert_eq!(a.status, StatusCode::OK);
        let b = send_get(&app, path, &[]).await;
        assert_eq!(b.cache(), Some("MISS"), "{path}");
        assert_eq!(runs.count(), before + 2, "{path} is never stored");
    }
    // The cookie still reaches the client.
    assert_eq!(
        send_get(&app, "/cookie", &[]).await.header("set-cookie"),
        Some("session=abc")
    );
    // `private` is stored when the entry is the caller's own.
    send_get(&app, "/private", &[("authorization", "Bearer a")]).await;
    let a = send_get(&app, "/private", &[("authorization", "Bearer a")]).await;
    assert_eq!(a.cache(), Some("HIT"));
}

#[tokio::test]
async fn every_kind_of_handler_return_type() {
    let (app, runs) = memory_app();
    for path in ["/opaque", "/full"] {
        let miss = send_get(&app, path, &[]).await;
        let hit = send_get(&app, path, &[]).await;
        assert_eq!(
            (miss.cache(), hit.cache()),
            (Some("MISS"), Some("HIT")),
            "{path}"
        );
        assert_eq!(miss.body, hit.body);
    }
    assert_eq!(
        send_get(&app, "/full", &[]).await.header("x-custom"),
        Some("kept")
    );
    // A plain serde value (`String`) is cached as a value: no HTTP headers.
    let a = send_get(&app, "/text", &[]).await;
    let b = send_get(&app, "/text", &[]).await;
    assert_eq!(a.body, b.body);
    assert!(b.cache().is_none());
    assert_eq!(runs.count(), 3);
}

#[tokio::test]
async fn malformed_headers_are_ignored_safely() {
    let (app, _) = memory_app();
    send_get(&app, "/items/1", &[]).await;
    let huge = "x".repeat(60_000);
    let cases: Vec<Vec<(&str, HeaderValue)>> = vec![
        vec![(
            "cache-control",
            HeaderValue::from_bytes(b"\xff\xfeno-cache").unwrap(),
        )],
        vec![(
            "if-none-match",
            HeaderValue::from_bytes(b"\xff\"x\"").unwrap(),
        )],
        vec![("cache-control", HeaderValue::from_str(&huge).unwrap())],
        vec![("if-none-match", HeaderValue::from_str(&huge).unwrap())],
        vec![(
            "cache-control",
            HeaderValue::from_static(",,=,max-age=-1,max-age=abc,=="),
        )],
        vec![("if-none-match", HeaderValue::from_static("W/,\"\"\",*x"))],
        vec![("pragma", HeaderValue::from_static("=;;;"))],
    ];
    for headers in cases {
        let mut req = request("GET", "/items/1", &[]);
        for (name, value) in headers {
            req.headers_mut().append(name, value);
        }
        let a = send(&app, req).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.cache(), Some("HIT"));
    }
}

#[tokio::test]
async fn a_handler_routed_without_the_layer_runs_uncached() {
    let runs = Runs::default();
    let cache = Cache::in_memory(Config::memory());
    let app = Router::new()
        .route("/items/{id}", get(get_item))
        .with_state(runs.clone());
    for i in 1..=3 {
        // The cache is current (scope), but the request did not go through the layer.
        let a = cache.scope(send_get(&app, "/items/1", &[])).await;
        assert!(a.cache().is_none());
        let item: Item = serde_json_from(&a.body);
        assert_eq!(item.run, i, "never served from the cache");
    }
}

#[tokio::test]
async fn concurrent_misses_run_the_handler_once() {
    let (app, runs) = memory_app();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { send_get(&app, "/items/77", &[]).await.body })
        })
        .collect();
    let mut bodies = Vec::new();
    for c in calls {
        bodies.push(c.await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(runs.count(), 1);
}

#[tokio::test]
async fn invalidation_makes_the_next_request_fresh() {
    let runs = Runs::default();
    let cache = Cache::in_memory(Config::memory());
    let app = app(cache.clone(), &runs);
    send_get(&app, "/items/1", &[]).await;
    send_get(&app, "/items/2", &[]).await;
    cache.invalidate_namespace("items").await;
    assert_eq!(send_get(&app, "/items/1", &[]).await.cache(), Some("MISS"));
    assert_eq!(send_get(&app, "/items/2", &[]).await.cache(), Some("MISS"));
    assert_eq!(runs.count(), 4);
}

fn serde_json_from(body: &[u8]) -> Item {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not an item: {e}"))
}

static STATIC_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Borrowed data: cached as the response it is (it could not be read back as a
/// value, and used to be a "not general enough" compile error).
#[cached(expire = 300, namespace = "static")]
async fn static_text() -> &'static str {
    STATIC_RUNS.fetch_add(1, Ordering::SeqCst);
    "hello"
}

#[tokio::test]
async fn a_static_str_handler_is_cached_as_a_response() {
    let app = Router::new()
        .route("/static", get(static_text))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    let first = send_get(&app, "/static", &[]).await;
    let second = send_get(&app, "/static", &[]).await;
    assert_eq!(first.header("x-fastapi-cache"), Some("MISS"));
    assert_eq!(second.header("x-fastapi-cache"), Some("HIT"));
    assert_eq!(second.text(), "hello");
    assert_eq!(STATIC_RUNS.load(Ordering::SeqCst), 1);
}
