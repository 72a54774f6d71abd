//! `Cache::stats()`: what each function's calls came to (hit, miss, bypass,
//! error), per cache, for values and HTTP responses alike, and what the memory
//! store holds. The same counts go to the `metrics` facade (users-api's
//! `/metrics` test reads them through Prometheus).
#![allow(missing_docs)]

mod support;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, FunctionStats, cached};
use support::counter::Runs;
use support::http::{get as send_get, request, send};

#[cached(expire = 300, namespace = "stats:values")]
async fn lookup_row(id: u64) -> Result<u64, String> {
    if id == 0 {
        Err("no row 0".to_owned())
    } else {
        Ok(id * 10)
    }
}

/// A key builder that refuses to cache id 0.
fn only_positive(cx: &cachette::KeyContext<'_>) -> Option<String> {
    let id = cx.arg("id")?;
    (id != "0").then(|| format!("{}:{id}", cx.namespace()))
}

#[cached(expire = 300, namespace = "stats:built", key_builder = only_positive)]
async fn built_row(id: u64) -> u64 {
    id
}

#[cached(expire = 300, namespace = "stats:http")]
async fn page(State(runs): State<Runs>, Path(id): Path<u64>) -> axum::Json<String> {
    axum::Json(format!("page {id} run {}", runs.tick()))
}

fn of<'a>(stats: &'a [FunctionStats], function: &str) -> &'a FunctionStats {
    stats
        .iter()
        .find(|f| f.function == function)
        .unwrap_or_else(|| panic!("no counts for {function} in {stats:#?}"))
}

/// (hits, misses, bypasses, errors)
fn counts(f: &FunctionStats) -> (u64, u64, u64, u64) {
    (f.hits, f.misses, f.bypasses, f.errors)
}

#[tokio::test]
async fn value_calls_are_counted_by_result() {
    let cache = Cache::in_memory(Config::memory());
    cache
        .scope(async {
            assert_eq!(lookup_row(1).await, Ok(10)); // miss
            assert_eq!(lookup_row(1).await, Ok(10)); // hit
            assert_eq!(lookup_row(2).await, Ok(20)); // miss
            assert!(lookup_row(0).await.is_err()); // miss, not stored
            assert!(lookup_row(0).await.is_err()); // miss again
            assert_eq!(built_row(0).await, 0); // the builder said no: bypass
            assert_eq!(built_row(5).await, 5); // miss
            assert_eq!(built_row(5).await, 5); // hit
        })
        .await;
    let stats = cache.stats();
    let rows = of(&stats.functions, "lookup_row");
    assert_eq!(rows.namespace, "stats:values");
    assert_eq!(counts(rows), (1, 4, 0, 0));
    assert_eq!(counts(of(&stats.functions, "built_row")), (1, 1, 1, 0));
    // Three entries stored: rows 1 and 2, built 5.
    assert_eq!(stats.memory.map(|m| m.entries), Some(3));
    assert!(stats.memory.is_some_and(|m| m.bytes > 0));
}

#[tokio::test]
async fn each_cache_counts_its_own_calls() {
    let (a, b) = (
        Cache::in_memory(Config::memory()),
        Cache::in_memory(Config::memory()),
    );
    a.scope(async {
        lookup_row(7).await.ok();
        lookup_row(7).await.ok();
    })
    .await;
    b.scope(async {
        lookup_row(7).await.ok();
    })
    .await;
    // And once more through the first, after the second met the function.
    a.scope(lookup_row(7)).await.ok();
    assert_eq!(counts(of(&a.stats().functions, "lookup_row")), (2, 1, 0, 0));
    assert_eq!(counts(of(&b.stats().functions, "lookup_row")), (0, 1, 0, 0));
}

#[tokio::test]
async fn a_disabled_cache_counts_nothing() {
    let cache = Cache::disabled();
    cache.scope(lookup_row(3)).await.ok();
    let stats = cache.stats();
    assert!(stats.functions.is_empty(), "{stats:?}");
    assert_eq!(stats.memory, None);
}

#[tokio::test]
async fn http_calls_are_counted_by_result() {
    let cache = Cache::in_memory(Config::memory());
    let runs = Runs::default();
    let app = Router::new()
        .route("/pages/{id}", get(page))
        .with_state(runs.clone())
        .layer(CacheLayer::with_cache(cache.clone()));

    assert_eq!(send_get(&app, "/pages/1", &[]).await.cache(), Some("MISS"));
    assert_eq!(send_get(&app, "/pages/1", &[]).await.cache(), Some("HIT"));
    // no-cache recomputes: a miss.
    let refresh = [("cache-control", "no-cache")];
    assert_eq!(
        send_get(&app, "/pages/1", &refresh).await.cache(),
        Some("MISS")
    );
    // no-store does not use the cache: a bypass.
    send_get(&app, "/pages/1", &[("cache-control", "no-store")]).await;
    // HEAD of a stored page: a hit.
    send(&app, request("HEAD", "/pages/1", &[])).await;

    let stats = cache.stats();
    let pages = of(&stats.functions, "page");
    assert_eq!(pages.namespace, "stats:http");
    assert_eq!(counts(pages), (2, 2, 1, 0));
    assert_eq!(runs.count(), 3);
}

#[tokio::test]
async fn invalidations_leave_the_counts_and_update_the_memory() {
    let cache = Cache::in_memory(Config::memory());
    cache.scope(lookup_row(11)).await.ok();
    assert_eq!(cache.stats().memory.map(|m| m.entries), Some(1));
    cache.invalidate_all().await;
    cache.scope(lookup_row(11)).await.ok();
    let stats = cache.stats();
    assert_eq!(counts(of(&stats.functions, "lookup_row")), (0, 2, 0, 0));
}
