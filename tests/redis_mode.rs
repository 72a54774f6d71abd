//! The Redis mode against a real `redis-server` (started by the tests on a free
//! port): shared entries and invalidations, key layout, race-freedom, bad values.
#![allow(missing_docs)]

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cachette::{Cache, cached};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use support::current;
use support::redis::{RedisServer, redis_cache as cache};
use support::wait::permit;
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

static USER_RUNS: AtomicUsize = AtomicUsize::new(0);
static USER_NAME: Mutex<&str> = Mutex::new("ada");

#[cached(expire = 120, namespace = "user")]
async fn get_user(id: u64) -> Result<User, String> {
    USER_RUNS.fetch_add(1, Ordering::SeqCst);
    if id == 0 {
        return Err("no such user".into());
    }
    Ok(User {
        id,
        name: current(&USER_NAME).to_owned(),
    })
}

#[tokio::test]
async fn two_instances_share_entries_and_invalidations() {
    let server = RedisServer::start(&[]);
    let a = cache(&server).await;
    let b = cache(&server).await;

    assert_eq!(a.scope(get_user(7)).await.unwrap().name, "ada");
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 1);
    // Another instance (another process, as far as Redis knows) gets the entry.
    assert_eq!(b.scope(get_user(7)).await.unwrap().name, "ada");
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 1);

    // Err is not stored.
    assert!(a.scope(get_user(0)).await.is_err());
    assert!(b.scope(get_user(0)).await.is_err());
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 3);

    // An invalidation through A is visible to B as soon as it returns.
    *USER_NAME.lock().unwrap() = "grace";
    a.scope(cachette::invalidate_user_cache(7)).await;
    assert_eq!(b.scope(get_user(7)).await.unwrap().name, "grace");
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 4);
    assert_eq!(a.scope(get_user(7)).await.unwrap().name, "grace");
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 4);

    // `user:7` never touches `user:70`.
    a.scope(get_user(70)).await.unwrap();
    a.scope(cachette::invalidate_user_cache(7)).await;
    b.scope(get_user(70)).await.unwrap();
    assert_eq!(USER_RUNS.load(Ordering::SeqCst), 5);
}

#[cached(expire = 90, namespace = "layout")]
async fn layout(id: u64) -> u64 {
    id
}

#[tokio::test]
async fn keys_are_readable_and_everything_written_has_a_ttl() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    cache.scope(layout(42)).await;
    cache.invalidate_namespace("layout:1").await;
    let mut redis = server.client().await;
    let mut keys: Vec<String> = redis.keys("*").await.unwrap();
    keys.sort();
    let entry = "fastapi-cache:layout:42:redis_mode.layout";
    assert!(keys.contains(&entry.to_owned()), "{keys:?}");
    assert!(
        keys.contains(&"fastapi-cache#v:layout:1".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"fastapi-cache#epoch".to_owned()), "{keys:?}");
    for key in &keys {
        let ttl: i64 = redis.pttl(key).await.unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    let ttl: i64 = redis.pttl(entry).await.unwrap();
    assert!(ttl <= 90_000 && ttl > 80_000, "{ttl}");
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    bio: String,
}

static PROFILE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(namespace = "profile")]
async fn profile(id: u64) -> Profile {
    PROFILE_RUNS.fetch_add(1, Ordering::SeqCst);
    Profile {
        id,
        bio: "hello".into(),
    }
}

#[tokio::test]
async fn corrupt_values_are_misses_that_get_overwritten() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let key = "fastapi-cache:profile:1:redis_mode.profile";
    let mut redis = server.client().await;
    for garbage in [
        &b"garbage written with redis-cli"[..],
        b"",
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\xe8\xca\x01\x01junk",
    ] {
        let _: () = redis.set_ex(key, garbage, 60).await.unwrap();
        let before = PROFILE_RUNS.load(Ordering::SeqCst);
        assert_eq!(cache.scope(profile(1)).await.bio, "hello");
        assert_eq!(PROFILE_RUNS.load(Ordering::SeqCst), before + 1);
        // Overwritten: the next call is a hit.
        assert_eq!(cache.scope(profile(1)).await.bio, "hello");
        assert_eq!(PROFILE_RUNS.load(Ordering::SeqCst), before + 1);
    }
}

// --- the slow-miss race, on Redis ----------------------------------------------------

static ITEM: Mutex<&str> = Mutex::new("v1");
static ITEM_READS: AtomicUsize = AtomicUsize::new(0);
static ITEM_READ_DONE: Notify = Notify::const_new();
static ITEM_RELEASE: Semaphore = Semaphore::const_new(0);

#[cached(namespace = "item")]
async fn read_item(id: u64) -> String {
    let value = current(&ITEM);
    if ITEM_READS.fetch_add(1, Ordering::SeqCst) == 0 {
        ITEM_READ_DONE.notify_one();
        permit(&ITEM_RELEASE).await;
    }
    format!("{id}:{value}")
}

#[tokio::test]
async fn a_slow_miss_never_writes_stale_data_back_on_redis() {
    let server = RedisServer::start(&[]);
    let writer = cache(&server).await;
    let reader = cache(&server).await;
    let slow = tokio::spawn(reader.scope(read_item(1)));
    ITEM_READ_DONE.notified().await;
    *ITEM.lock().unwrap() = "v2";
    // Invalidated from another instance, while the slow miss holds v1.
    writer.invalidate_namespace("item:1").await;
    ITEM_RELEASE.add_permits(1);
    assert_eq!(slow.await.unwrap(), "1:v1");
    assert_eq!(reader.scope(read_item(1)).await, "1:v2");
    assert_eq!(writer.scope(read_item(1)).await, "1:v2");
}

// --- concurrent misses -----------------------------------------------------------------

static STAMPEDE_RUNS: AtomicUsize = AtomicUsize::new(0);
static STAMPEDE_GATE: Semaphore = Semaphore::const_new(0);

#[cached(namespace = "stampede")]
async fn cold(id: u64) -> u64 {
    STAMPEDE_RUNS.fetch_add(1, Ordering::SeqCst);
    permit(&STAMPEDE_GATE).await;
    id
}

#[tokio::test]
async fn concurrent_misses_run_once_per_process() {
    let server = RedisServer::start(&[]);
    let cache = cache(&server).await;
    let calls: Vec<_> = (0..200)
        .map(|_| tokio::spawn(cache.scope(cold(5))))
        .collect();
    // Let them all reach the flight, then release the one computation.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    STAMPEDE_GATE.add_permits(1000);
    for call in calls {
        assert_eq!(call.await.unwrap(), 5);
    }
    assert_eq!(STAMPEDE_RUNS.load(Ordering::SeqCst), 1);
}

// --- HTTP responses on Redis ---------------------------------------------------------

static PAGE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 60, namespace = "pages")]
async fn page(axum::extract::Path(id): axum::extract::Path<u64>) -> axum::Json<Vec<u64>> {
    PAGE_RUNS.fetch_add(1, Ordering::SeqCst);
    axum::Json(vec![id; 4])
}

#[tokio::test]
async fn http_responses_are_shared_through_redis() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let server = RedisServer::start(&[]);
    let app = |cache: Cache| {
        axum::Router::new()
            .route("/pages/{id}", axum::routing::get(page))
            .layer(cachette::http::CacheLayer::with_cache(cache))
    };
    let one = app(cache(&server).await);
    let two = app(cache(&server).await);
    let get = |app: axum::Router| async move {
        let response = app
            .oneshot(Request::get("/pages/3").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let cache = response.headers()["x-fastapi-cache"]
            .to_str()
            .unwrap()
            .to_owned();
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (cache, etag, body)
    };
    let (c1, e1, b1) = get(one.clone()).await;
    let (c2, e2, b2) = get(two.clone()).await;
    assert_eq!((c1.as_str(), c2.as_str()), ("MISS", "HIT"));
    assert_eq!((e1, b1), (e2, b2));
    assert_eq!(PAGE_RUNS.load(Ordering::SeqCst), 1);
}
