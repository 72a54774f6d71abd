//! Red team, issue 11 (commit 504cf24, "a hit without a future"): `entry::cached`
//! plans a call synchronously and answers a hit the store holds in memory (memory
//! mode, a Redis near copy, the fallback while the breaker is open) before any
//! future is built. What must not change: whose entry a call reads, that an
//! invalidation that returned is never undone by a synchronous hit, the HTTP
//! headers of a hit, the value a hit returns, and that a `Send` body gives a
//! `Send` future.
//!
//! Keys byte-for-byte against cc30b24 are a unit test (private items):
//! `cached-runtime/src/key/red_team_old_key.rs`.
#![allow(missing_docs)]

mod support;

use std::any::type_name;
use std::marker::PhantomData;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use cachette::http::CacheLayer;
use cachette::{Cache, Config, RedisHealth, cached};
use serde::{Deserialize, Serialize};
use support::counter::{Counter, Runs};
use support::http::{get as send_get, request, send};
use support::redis::{RedisServer, near_cache};
use support::wait::until;
use support::{current, lock, memory};

// --- (5) Send-ness -------------------------------------------------------------------------

// A `Send` body whose output is not `Send` (`Result<_, Box<dyn Error>>`, the usual
// application result) gives a `Send` future, and its second call (a synchronous
// hit) runs in a spawned task. This file does not compile otherwise (504cf24
// broke it: `entry::run`'s future held the plan's hit, and with it the output
// type; fixed by `entry::Running`).
#[cached(namespace = "sync-send")]
async fn double_boxed_error(x: u32) -> Result<u32, Box<dyn std::error::Error>> {
    tokio::task::yield_now().await;
    Ok(x * 2)
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_a_send_body_with_a_non_send_output_still_gives_a_send_future() {
    let cache = memory();
    for _ in 0..2 {
        let doubled =
            tokio::spawn(assert_send(cache.scope(async {
                double_boxed_error(1).await.map_err(|e| e.to_string())
            })))
            .await
            .expect("the task");
        assert_eq!(doubled, Ok(2));
    }
}

// --- (2) whose entry: instantiations, types, caches ----------------------------------------

static GENERIC_RUNS: Counter = Counter::new();

/// Its value names the instantiation: a hit of another one is a wrong value.
#[cached(namespace = "sync-gen")]
async fn instance<T: 'static>(id: u32) -> String {
    GENERIC_RUNS.tick();
    format!("{}#{id}", type_name::<T>())
}

// HOLDS: instantiations alternate, the second round is all synchronous hits, and
// each returns its own instantiation's value (the function identity compared by
// address never mixes them).
#[tokio::test]
async fn generic_instantiations_never_get_each_others_hits() {
    let cache = memory();
    let expected = |t: &str, id: u32| format!("{t}#{id}");
    for round in 0..3 {
        for id in [1, 2] {
            assert_eq!(cache.scope(instance::<u16>(id)).await, expected("u16", id));
            assert_eq!(cache.scope(instance::<u8>(id)).await, expected("u8", id));
            assert_eq!(
                cache.scope(instance::<PhantomData<String>>(id)).await,
                expected(type_name::<PhantomData<String>>(), id)
            );
        }
        assert_eq!(GENERIC_RUNS.count(), 6, "round {round} recomputed");
    }
}

struct Users;
struct Orders;

static METHOD_RUNS: Counter = Counter::new();

impl Users {
    #[cached(namespace = "sync-method", skip(self))]
    async fn count(&self, id: u32) -> String {
        METHOD_RUNS.tick();
        format!("users#{id}")
    }
}

impl Orders {
    #[cached(namespace = "sync-method", skip(self))]
    async fn count(&self, id: u32) -> String {
        METHOD_RUNS.tick();
        format!("orders#{id}")
    }
}

// HOLDS: same name, same namespace, same arguments, two types.
#[tokio::test]
async fn methods_of_two_types_never_get_each_others_hits() {
    let cache = memory();
    for _ in 0..3 {
        assert_eq!(cache.scope(Users.count(7)).await, "users#7");
        assert_eq!(cache.scope(Orders.count(7)).await, "orders#7");
    }
    assert_eq!(METHOD_RUNS.count(), 2);
}

static SCOPED: Mutex<&str> = Mutex::new("a");
static SCOPED_RUNS: Counter = Counter::new();

#[cached(namespace = "sync-scope")]
async fn scoped(id: u32) -> String {
    SCOPED_RUNS.tick();
    format!("{}#{id}", current(&SCOPED))
}

// HOLDS: two caches; a hit of one never answers a call scoped to the other, and
// the global cache (initialised here) is a third one.
#[tokio::test]
async fn two_caches_and_the_global_one_never_share_a_synchronous_hit() {
    cachette::init(Config::memory()).await.unwrap();
    let a = memory();
    let b = memory();
    *lock(&SCOPED) = "a";
    assert_eq!(a.scope(scoped(1)).await, "a#1");
    assert_eq!(a.scope(scoped(1)).await, "a#1");
    *lock(&SCOPED) = "b";
    assert_eq!(b.scope(scoped(1)).await, "b#1", "b answered a's entry");
    assert_eq!(b.scope(scoped(1)).await, "b#1");
    *lock(&SCOPED) = "g";
    assert_eq!(
        scoped(1).await,
        "g#1",
        "the global cache answered a scoped entry"
    );
    assert_eq!(scoped(1).await, "g#1");
    assert_eq!(a.scope(scoped(1)).await, "a#1");
    // A scoped call nested in an unscoped task, and the reverse.
    assert_eq!(a.scope(async { scoped(1).await }).await, "a#1");
    assert_eq!(SCOPED_RUNS.count(), 3);
    // Built outside the scope, polled inside it: the scope decides.
    let built = scoped(1);
    assert_eq!(b.scope(built).await, "b#1");
    assert_eq!(SCOPED_RUNS.count(), 3);
}

// --- (3) invalidation ----------------------------------------------------------------------

static MEM: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "sync-inv")]
async fn mem_value(id: u32) -> String {
    format!("{}#{id}", current(&MEM))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Typed {
    text: String,
    n: Vec<u32>,
}

static TYPED: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "sync-inv:typed")]
async fn typed_value(id: u32) -> Typed {
    Typed {
        text: current(&TYPED).to_owned(),
        n: vec![id; 3],
    }
}

// HOLDS: memory mode, a value call whose entry is warm (synchronous hits), a
// typed one too: once invalidate_namespace returned, the next call recomputes.
#[tokio::test]
async fn memory_no_synchronous_hit_after_an_invalidation_returned() {
    let cache = memory();
    for round in 0..20u32 {
        let before = if round % 2 == 0 { "v1" } else { "v2" };
        let after = if round % 2 == 0 { "v2" } else { "v1" };
        assert_eq!(cache.scope(mem_value(1)).await, format!("{before}#1"));
        assert_eq!(cache.scope(typed_value(1)).await.text, before);
        *lock(&MEM) = after;
        *lock(&TYPED) = after;
        if round % 3 == 0 {
            cache.invalidate_namespace("sync-inv").await;
        } else if round % 3 == 1 {
            cache.invalidate_namespace("sync-inv:1").await;
            cache.invalidate_namespace("sync-inv:typed").await;
        } else {
            cache.invalidate_all().await;
        }
        assert_eq!(cache.scope(mem_value(1)).await, format!("{after}#1"));
        assert_eq!(cache.scope(typed_value(1)).await.text, after);
    }
}

static NEAR: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "sync-near")]
async fn near_value(id: u32) -> String {
    format!("{}#{id}", current(&NEAR))
}

// HOLDS: Redis near mode, the invalidating instance itself: once
// invalidate_namespace returned, its own near copy is not served.
#[tokio::test]
async fn near_no_synchronous_hit_after_an_invalidation_returned() {
    let server = RedisServer::start(&[]);
    let cache = near_cache(&server, true).await;
    for round in 0..10u32 {
        let before = if round % 2 == 0 { "v1" } else { "v2" };
        let after = if round % 2 == 0 { "v2" } else { "v1" };
        for _ in 0..3 {
            assert_eq!(cache.scope(near_value(3)).await, format!("{before}#3"));
        }
        *lock(&NEAR) = after;
        cache.invalidate_namespace("sync-near:3").await;
        assert_eq!(
            cache.scope(near_value(3)).await,
            format!("{after}#3"),
            "round {round}: a near copy outlived the invalidation"
        );
    }
}

static FALLBACK: Mutex<&str> = Mutex::new("v1");
static FALLBACK_RUNS: Counter = Counter::new();

#[cached(expire = 300, namespace = "sync-fallback")]
async fn fallback_value(id: u32) -> String {
    FALLBACK_RUNS.tick();
    format!("{}#{id}", current(&FALLBACK))
}

// HOLDS: while the breaker is open the fallback answers synchronously; an
// invalidation that returned reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_open_no_synchronous_fallback_hit_after_an_invalidation_returned() {
    let mut server = RedisServer::start(&[]);
    let cache = Cache::new(
        support::redis::config(server.url())
            .redis_timeout(std::time::Duration::from_millis(200))
            .redis_connect_timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap(),
    )
    .await;
    server.kill();
    for id in 0..10 {
        cache.scope(fallback_value(100 + id)).await;
        if *cache.redis_health().unwrap().borrow() == RedisHealth::Down {
            break;
        }
    }
    until(&cache, RedisHealth::Down).await;
    assert_eq!(cache.scope(fallback_value(1)).await, "v1#1");
    let runs = FALLBACK_RUNS.count();
    assert_eq!(cache.scope(fallback_value(1)).await, "v1#1");
    assert_eq!(FALLBACK_RUNS.count(), runs, "the fallback did not answer");
    *lock(&FALLBACK) = "v2";
    cache.invalidate_namespace("sync-fallback").await;
    assert_eq!(cache.scope(fallback_value(1)).await, "v2#1");
}

// --- (4) HTTP ------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct Item {
    id: u64,
    run: usize,
}

static ITEM_DATA: Mutex<&str> = Mutex::new("v1");

#[cached(expire = 300, namespace = "sync-items")]
async fn item(State(runs): State<Runs>, Path(id): Path<u64>) -> axum::Json<(Item, String)> {
    axum::Json((
        Item {
            id,
            run: runs.tick(),
        },
        current(&ITEM_DATA).to_owned(),
    ))
}

static NESTED_RUNS: Counter = Counter::new();

/// Called by a handler: not the request's first `#[cached]` call of HTTP type.
#[cached(expire = 300, namespace = "sync-nested")]
async fn nested_response() -> axum::response::Response {
    use axum::response::IntoResponse;
    format!("nested {}", NESTED_RUNS.tick()).into_response()
}

#[cached(expire = 300, namespace = "sync-outer")]
async fn outer(State(runs): State<Runs>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let inner = nested_response().await;
    let bytes = http_body_util::BodyExt::collect(inner.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    format!(
        "outer {} / {}",
        runs.tick(),
        String::from_utf8_lossy(&bytes)
    )
    .into_response()
}

fn app(cache: Cache, runs: &Runs) -> Router {
    Router::new()
        .route("/items/{id}", get(item).post(item))
        .route("/outer", get(outer))
        .route("/post-only", post(item_post))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(cache))
}

#[cached(expire = 300, namespace = "sync-post")]
async fn item_post(State(runs): State<Runs>) -> axum::Json<String> {
    axum::Json(format!("post {}", runs.tick()))
}

// HOLDS: a synchronous HTTP hit carries the template headers, answers HEAD and
// If-None-Match like before, and no-cache / no-store / POST never get one.
#[tokio::test]
async fn memory_http_synchronous_hits_keep_headers_and_bypasses() {
    let runs = Runs::default();
    let app = app(memory(), &runs);
    let miss = send_get(&app, "/items/1", &[]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    let etag = miss.header("etag").unwrap().to_owned();
    let hit = send_get(&app, "/items/1", &[]).await;
    assert_eq!(hit.cache(), Some("HIT"));
    assert_eq!(hit.body, miss.body);
    assert_eq!(hit.header("etag"), Some(etag.as_str()));
    assert!(hit.header("age").is_some());
    assert!(hit.header("cache-control").unwrap().contains("max-age="));
    assert_eq!(runs.count(), 1);

    let head = send(&app, request("HEAD", "/items/1", &[])).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.cache(), Some("HIT"));
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let not_modified = send_get(&app, "/items/1", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(runs.count(), 1);

    let no_cache = send_get(&app, "/items/1", &[("cache-control", "no-cache")]).await;
    assert_eq!(runs.count(), 2, "no-cache was answered from the cache");
    assert_ne!(no_cache.cache(), Some("HIT"));
    let no_store = send_get(&app, "/items/1", &[("cache-control", "no-store")]).await;
    assert_eq!(runs.count(), 3, "no-store was answered from the cache");
    assert_ne!(no_store.cache(), Some("HIT"));
    let posted = send(&app, request("POST", "/items/1", &[])).await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(runs.count(), 4, "a POST was answered from the GET's entry");
    assert_ne!(posted.cache(), Some("HIT"));
    for _ in 0..2 {
        send(&app, request("POST", "/post-only", &[])).await;
    }
    assert_eq!(runs.count(), 6, "a POST was cached");
}

// HOLDS: a handler's entry follows an invalidation that returned (memory mode).
#[tokio::test]
async fn memory_http_no_synchronous_hit_after_an_invalidation_returned() {
    let runs = Runs::default();
    let cache = memory();
    let app = app(cache.clone(), &runs);
    *lock(&ITEM_DATA) = "v1";
    send_get(&app, "/items/5", &[]).await;
    assert_eq!(send_get(&app, "/items/5", &[]).await.cache(), Some("HIT"));
    *lock(&ITEM_DATA) = "v2";
    cache.invalidate_namespace("sync-items").await;
    let after = send_get(&app, "/items/5", &[]).await;
    assert_ne!(after.cache(), Some("HIT"));
    assert!(after.text().contains("v2"), "{}", after.text());
}

// HOLDS: two users' credentials never share a synchronous hit.
#[tokio::test]
async fn memory_http_two_users_never_share_a_synchronous_hit() {
    let runs = Runs::default();
    let app = app(memory(), &runs);
    let alice = send_get(&app, "/items/9", &[("authorization", "Bearer alice")]).await;
    let alice_again = send_get(&app, "/items/9", &[("authorization", "Bearer alice")]).await;
    assert_eq!(alice_again.cache(), Some("HIT"));
    assert_eq!(alice_again.body, alice.body);
    let bob = send_get(&app, "/items/9", &[("authorization", "Bearer bob")]).await;
    assert_eq!(bob.cache(), Some("MISS"), "bob got alice's entry");
    let anonymous = send_get(&app, "/items/9", &[]).await;
    assert_eq!(
        anonymous.cache(),
        Some("MISS"),
        "no credentials got alice's entry"
    );
    assert_eq!(runs.count(), 3);
}

// HOLDS: a handler whose body calls another `#[cached]` function returning a
// response: the nested one is not the request's handler (runs uncached, warned),
// the outer one hits synchronously with the nested result it stored.
#[tokio::test]
async fn memory_http_a_nested_response_call_is_not_the_handler() {
    let runs = Runs::default();
    let app = app(memory(), &runs);
    let first = send_get(&app, "/outer", &[]).await;
    assert_eq!(first.cache(), Some("MISS"));
    let second = send_get(&app, "/outer", &[]).await;
    assert_eq!(second.cache(), Some("HIT"));
    assert_eq!(second.body, first.body);
    assert_eq!(runs.count(), 1);
    assert_eq!(NESTED_RUNS.count(), 1);
}

// HOLDS: Redis near mode, an HTTP hit answered from the near copy keeps the
// headers, and an invalidation that returned reaches it.
#[tokio::test]
async fn near_http_synchronous_hits_keep_headers_and_follow_invalidation() {
    let server = RedisServer::start(&[]);
    let cache = near_cache(&server, true).await;
    let runs = Runs::default();
    let app = app(cache.clone(), &runs);
    *lock(&ITEM_DATA) = "v1";
    let miss = send_get(&app, "/items/77", &[]).await;
    assert_eq!(miss.cache(), Some("MISS"));
    let etag = miss.header("etag").unwrap().to_owned();
    for _ in 0..3 {
        let hit = send_get(&app, "/items/77", &[]).await;
        assert_eq!(hit.cache(), Some("HIT"));
        assert_eq!(hit.body, miss.body);
        assert_eq!(hit.header("etag"), Some(etag.as_str()));
        assert!(hit.header("age").is_some());
    }
    let not_modified = send_get(&app, "/items/77", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(runs.count(), 1);
    *lock(&ITEM_DATA) = "v2";
    cache.invalidate_namespace("sync-items").await;
    let after = send_get(&app, "/items/77", &[]).await;
    assert_ne!(after.cache(), Some("HIT"));
    assert!(after.text().contains("v2"), "{}", after.text());
}

// --- (7) hits equal the miss ---------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Odd {
    neg: i128,
    big: u128,
    text: String,
    nested: Option<Vec<(i8, String)>>,
}

fn odd(seed: u32) -> Odd {
    Odd {
        neg: i128::MIN + i128::from(seed),
        big: u128::MAX - u128::from(seed),
        text: format!(":%{seed}:"),
        nested: Some(vec![(i8::MIN, "é:".into()), (0, String::new())]),
    }
}

#[cached(namespace = "sync-odd")]
async fn odd_typed(seed: u32) -> Odd {
    odd(seed)
}

#[cached(namespace = "sync-odd", typed = false)]
async fn odd_bytes(seed: u32) -> Odd {
    odd(seed)
}

#[cached(namespace = "sync-odd")]
async fn odd_result(seed: u32) -> Result<Option<Odd>, String> {
    Ok(Some(odd(seed)))
}

// HOLDS: typed hits, bytes hits and Result<Option<_>> hits equal the miss.
#[tokio::test]
async fn synchronous_hits_equal_the_miss() {
    let cache = memory();
    for seed in [0, 1, 7] {
        let miss = cache.scope(odd_typed(seed)).await;
        assert_eq!(cache.scope(odd_typed(seed)).await, miss);
        let miss = cache.scope(odd_bytes(seed)).await;
        assert_eq!(cache.scope(odd_bytes(seed)).await, miss);
        let miss = cache.scope(odd_result(seed)).await;
        assert_eq!(cache.scope(odd_result(seed)).await, miss);
        assert_eq!(miss, Ok(Some(odd(seed))));
    }
}
