//! Red team, issue 10: HTTP requests that meet on one key while a handler computes it
//! (the flights the refactor made common to value and HTTP caching, which now publish
//! the stored `Arc<Entry>`). In process, single-threaded: each `yield_now` runs the
//! spawned requests up to their next wait, so the interleavings are the ones written.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, KeyContext, cached};
use support::gate::{Gate, gate};
use support::http::{Answer, get as send_get, request, send};

/// A gated handler: reads the gate's data, waits to be released, answers it. The
/// data `"fail"` makes a 500 (not cacheable).
#[cached(expire = 300, namespace = "rt10")]
async fn slow(State(g): State<Arc<Gate>>, Path(id): Path<u64>) -> Response {
    let value = g.pass().await;
    if value == "fail" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "failed").into_response();
    }
    format!("{id}:{value}").into_response()
}

/// One key for two handlers (a key builder that ignores the function).
fn same_key(cx: &KeyContext<'_>) -> String {
    format!("{}:fixed", cx.namespace())
}

#[cached(expire = 300, namespace = "rt10same", key_builder = same_key)]
async fn handler_a(State(g): State<Arc<Gate>>) -> Response {
    let value = g.pass().await;
    format!("A:{value}").into_response()
}

#[cached(expire = 300, namespace = "rt10same", key_builder = same_key)]
async fn handler_b(State(g): State<Arc<Gate>>) -> Response {
    let value = g.pass().await;
    format!("B:{value}").into_response()
}

fn app(cache: &Cache, g: &Arc<Gate>) -> Router {
    Router::new()
        .route("/s/{id}", get(slow))
        .route("/a", get(handler_a))
        .route("/b", get(handler_b))
        .with_state(Arc::clone(g))
        .layer(CacheLayer::with_cache(cache.clone()))
}

fn spawn_get(
    app: &Router,
    uri: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> tokio::task::JoinHandle<Answer> {
    let app = app.clone();
    tokio::spawn(async move { send_get(&app, uri, headers).await })
}

fn spawn_method(
    app: &Router,
    method: &'static str,
    uri: &'static str,
) -> tokio::task::JoinHandle<Answer> {
    let app = app.clone();
    tokio::spawn(async move { send(&app, request(method, uri, &[])).await })
}

async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

fn runs(g: &Gate) -> usize {
    g.runs.load(Ordering::SeqCst)
}

/// A request that joins a computing handler's flight answers HIT with exactly what the
/// leader answered (body, ETag, content type), and the handler runs once.
#[tokio::test]
async fn rt10_waiter_of_a_stored_response_is_a_hit_equal_to_the_miss() {
    let g = gate(10_001);
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/1", &[]);
    g.read.notified().await;
    let waiter = spawn_get(&app, "/s/1", &[]);
    settle().await;
    g.release.add_permits(2);
    let leader = leader.await.unwrap();
    let waiter = waiter.await.unwrap();
    let later = send_get(&app, "/s/1", &[]).await;
    assert_eq!(leader.cache(), Some("MISS"));
    assert_eq!(
        waiter.cache(),
        Some("HIT"),
        "the waiter took the leader's entry"
    );
    assert_eq!(runs(&g), 1, "the handler ran once");
    for answer in [&waiter, &later] {
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.text(), leader.text());
        assert_eq!(answer.header("etag"), leader.header("etag"));
        assert_eq!(answer.header("content-type"), leader.header("content-type"));
        assert_eq!(
            answer.header("content-length"),
            leader.header("content-length")
        );
    }
    assert_eq!(later.cache(), Some("HIT"));
}

/// A request started after an invalidation returned never takes the response a
/// handler computed from data read before it, even by joining its flight.
#[tokio::test]
async fn rt10_waiter_after_an_invalidation_never_takes_the_older_response() {
    let g = gate(10_002);
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/2", &[]);
    g.read.notified().await;
    g.set("v2");
    cache.invalidate_namespace("rt10").await;
    let waiter = spawn_get(&app, "/s/2", &[]);
    settle().await;
    g.release.add_permits(2);
    assert_eq!(leader.await.unwrap().text(), "2:v1");
    let waiter = waiter.await.unwrap();
    assert_eq!(waiter.text(), "2:v2", "started after the invalidation");
    let later = send_get(&app, "/s/2", &[]).await;
    assert_eq!(later.text(), "2:v2", "v1 was not stored");
}

/// The one deliberate change: a request that waited on a leader whose response was
/// not cacheable runs its handler, answers MISS, and stores its own response.
#[tokio::test]
async fn rt10_waiter_of_an_uncacheable_leader_stores_its_own() {
    let g = gate(10_003);
    g.set("fail");
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/3", &[]);
    g.read.notified().await;
    let waiter = spawn_get(&app, "/s/3", &[]);
    settle().await;
    g.set("v2");
    g.release.add_permits(2);
    let leader = leader.await.unwrap();
    assert_eq!(leader.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(leader.cache(), Some("MISS"));
    let waiter = waiter.await.unwrap();
    assert_eq!(waiter.status, StatusCode::OK);
    assert_eq!(waiter.text(), "3:v2");
    assert_eq!(waiter.cache(), Some("MISS"), "it ran its own handler");
    assert_eq!(runs(&g), 2);
    let later = send_get(&app, "/s/3", &[]).await;
    assert_eq!(
        (later.text().as_str(), later.cache()),
        ("3:v2", Some("HIT"))
    );
    assert_eq!(runs(&g), 2, "the waiter's response was stored");
}

/// HEAD does not join a GET's flight: it runs its handler (nothing to store).
#[tokio::test]
async fn rt10_head_does_not_join_a_flight() {
    let g = gate(10_004);
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/4", &[]);
    g.read.notified().await;
    let head = spawn_method(&app, "HEAD", "/s/4");
    settle().await;
    assert_eq!(runs(&g), 2, "HEAD ran its own handler instead of waiting");
    g.release.add_permits(2);
    let head = head.await.unwrap();
    assert_eq!(head.cache(), Some("MISS"));
    assert!(head.body.is_empty());
    assert_eq!(leader.await.unwrap().cache(), Some("MISS"));
}

/// `Cache-Control: no-cache` does not join a flight that started before it: it
/// computes, with the data as of its own start.
#[tokio::test]
async fn rt10_no_cache_does_not_join_a_flight() {
    let g = gate(10_005);
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/5", &[]);
    g.read.notified().await;
    g.set("v2");
    let fresh = spawn_get(&app, "/s/5", &[("cache-control", "no-cache")]);
    settle().await;
    assert_eq!(
        runs(&g),
        2,
        "no-cache ran its own handler instead of waiting"
    );
    g.release.add_permits(2);
    let fresh = fresh.await.unwrap();
    assert_eq!(fresh.text(), "5:v2");
    assert_eq!(fresh.cache(), Some("MISS"));
    assert_eq!(leader.await.unwrap().text(), "5:v1");
}

/// A leader whose request is dropped (client gone) hands over to a waiter, which runs
/// the handler, answers MISS and stores.
#[tokio::test]
async fn rt10_a_cancelled_leader_hands_over_to_a_waiter() {
    let g = gate(10_006);
    let cache = support::memory();
    let app = app(&cache, &g);
    let leader = spawn_get(&app, "/s/6", &[]);
    g.read.notified().await;
    let waiter = spawn_get(&app, "/s/6", &[]);
    settle().await;
    leader.abort();
    assert!(matches!(leader.await, Err(e) if e.is_cancelled()));
    g.release.add_permits(1);
    let waiter = waiter.await.unwrap();
    assert_eq!(waiter.text(), "6:v1");
    assert_eq!(waiter.cache(), Some("MISS"));
    assert_eq!(runs(&g), 2);
    let later = send_get(&app, "/s/6", &[]).await;
    assert_eq!(later.cache(), Some("HIT"));
    assert_eq!(runs(&g), 2);
}

/// Two handlers whose key builder makes the same key: a request for one that joins
/// the other's flight (whose entry holds the other's parsed response) never answers
/// with the other's response.
#[tokio::test]
async fn rt10_a_waiter_never_takes_another_handlers_response() {
    let g = gate(10_007);
    let cache = support::memory();
    let app = app(&cache, &g);
    let a = spawn_get(&app, "/a", &[]);
    g.read.notified().await;
    let b = spawn_get(&app, "/b", &[]);
    settle().await;
    g.release.add_permits(2);
    assert_eq!(a.await.unwrap().text(), "A:v1");
    let b = b.await.unwrap();
    assert_eq!(b.text(), "B:v1", "B answered with A's response");
    assert_eq!(b.cache(), Some("MISS"));
    // Sequentially, each over the other's entry.
    g.release.add_permits(4);
    assert_eq!(send_get(&app, "/a", &[]).await.text(), "A:v1");
    assert_eq!(send_get(&app, "/b", &[]).await.text(), "B:v1");
    assert_eq!(send_get(&app, "/b", &[]).await.cache(), Some("HIT"));
    assert_eq!(send_get(&app, "/a", &[]).await.text(), "A:v1");
}
