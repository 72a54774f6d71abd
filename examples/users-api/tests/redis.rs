//! The service in Redis mode, on a redis-server of its own (a free loopback port,
//! stopped by PID): entries shared by two instances, invalidations seen by both, and
//! Redis failing under traffic without a request failing or stale data coming back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/support/redis.rs"]
mod redis_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use cachette::{Cache, Config, RedisHealth};
use redis::AsyncCommands;
use redis_support::RedisServer;
use serde_json::json;
use support::{TestApp, assert_cache};

/// A Redis-mode cache on `server`. `timeout_ms` bounds every Redis command: short
/// where a test makes Redis fail (each failure waits for it until the breaker
/// opens), generous where a spurious timeout on a busy machine would turn an
/// expected HIT into a fallback MISS.
async fn redis_cache(server: &RedisServer, timeout_ms: u64) -> Cache {
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(server.url())
        .redis_timeout(Duration::from_millis(timeout_ms))
        .redis_connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    Cache::new(config).await
}

/// Waits (bounded) until the cache reports `health`.
async fn until(cache: &Cache, health: RedisHealth) {
    let mut rx = cache.redis_health().expect("redis mode");
    tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|h| *h == health))
        .await
        .unwrap_or_else(|_| panic!("Redis health never became {health:?}"))
        .unwrap();
}

#[tokio::test]
async fn two_instances_share_entries_and_invalidations() {
    let server = RedisServer::start(&[]);
    let a = TestApp::start(redis_cache(&server, 2000).await).await;
    let b = a.another_instance(redis_cache(&server, 2000).await).await;
    let ada = a.register("ada@example.com").await;

    assert_cache(&a.get("/users/me", &ada.auth()).await, "MISS");
    // Stored in Redis under the template's key, and served to the other instance.
    let mut redis = server.client().await;
    let stored: Option<Vec<u8>> = redis
        .get(format!("fastapi-cache:user:{}:get_my_user", ada.id))
        .await
        .unwrap();
    assert!(
        stored.is_some(),
        "the entry is in Redis under the template's key"
    );
    assert_cache(&b.get("/users/me", &ada.auth()).await, "HIT");

    // Every cached route under the template's key (an admin's list entries end
    // with the admin's id: the builder does not read the user).
    let (key_id, _) = a.create_key(&ada, &["read"]).await;
    let admin = a.admin.auth();
    let reads = [
        ("/users/?page=1&size=50".to_owned(), admin.clone()),
        (format!("/users/?user_id={}", ada.id), admin.clone()),
        ("/api/keys".to_owned(), ada.auth()),
        (format!("/api/keys/{key_id}"), ada.auth()),
    ];
    for (path, auth) in &reads {
        assert_cache(&a.get(path, auth).await, "MISS");
    }
    let (admin_id, ada_id) = (a.admin.id, ada.id);
    for key in [
        format!("fastapi-cache:users:list:page:1:size:50:{admin_id}"),
        format!("fastapi-cache:users:{ada_id}:single:{admin_id}"),
        format!("fastapi-cache:apikeys:{ada_id}:list_api_keys"),
        format!("fastapi-cache:apikey:{ada_id}:{key_id}"),
    ] {
        let exists: bool = redis.exists(&key).await.unwrap();
        assert!(exists, "{key} is not in Redis");
    }
    for (path, auth) in &reads {
        assert_cache(&b.get(path, auth).await, "HIT");
    }

    b.delete(&format!("/api/keys/{key_id}"), &ada.auth()).await;
    assert_cache(&a.get("/api/keys", &ada.auth()).await, "MISS");
    assert_cache(&b.get("/api/keys", &ada.auth()).await, "HIT");

    // A write through B is seen by A at once.
    let answer = b
        .put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"first_name": "Augusta"}),
        )
        .await;
    assert_eq!(answer.status, 200);
    let me = a.get("/users/me", &ada.auth()).await;
    assert_cache(&me, "MISS");
    assert_eq!(me.json["first_name"], "Augusta");
    b.create_key(&ada, &["read"]).await;
    let keys = a.get("/api/keys", &ada.auth()).await;
    assert_cache(&keys, "MISS");
    assert_eq!(keys.json.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_traffic_fails_no_request() {
    let mut server = RedisServer::start(&[]);
    let app = Arc::new(TestApp::start(redis_cache(&server, 500).await).await);
    until(&app.cache, RedisHealth::Up).await;
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(app.register(&format!("user{n}@example.com")).await);
    }

    // Each worker reports its progress, so Redis is killed mid-traffic, not before
    // it or after it.
    const ROUNDS: usize = 40;
    let (progress, mut done) = tokio::sync::watch::channel(0_usize);
    let progress = Arc::new(progress);
    let workers: Vec<_> = users
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, user)| {
            let app = Arc::clone(&app);
            let progress = Arc::clone(&progress);
            tokio::spawn(async move {
                for i in 0..ROUNDS {
                    let me = app.get("/users/me", &user.auth()).await;
                    assert_eq!(me.status, 200, "{me:?}");
                    assert_eq!(me.json["id"], user.id, "{me:?}");
                    assert!(me.cache().is_some());
                    if i % 10 == 0 {
                        let name = format!("name {n}.{i}");
                        let put = app
                            .put(
                                &format!("/users/{}", user.id),
                                &user.auth(),
                                json!({"first_name": name}),
                            )
                            .await;
                        assert_eq!(put.status, 200, "{put:?}");
                        let me = app.get("/users/me", &user.auth()).await;
                        assert_eq!(me.json["first_name"], name.as_str(), "fresh after a write");
                    }
                    let keys = app.get("/api/keys", &user.auth()).await;
                    assert_eq!(keys.status, 200, "{keys:?}");
                    progress.send_modify(|count| *count += 1);
                }
            })
        })
        .collect();
    done.wait_for(|count| *count >= 20).await.unwrap();
    server.kill();
    let at_kill = *done.borrow();
    assert!(
        at_kill < users.len() * ROUNDS,
        "the traffic ended before the kill"
    );
    for worker in workers {
        worker.await.expect("no request fails while Redis dies");
    }
    until(&app.cache, RedisHealth::Down).await;
    // Served from the memory fallback meanwhile: still cached, still fresh.
    let ada = &users[0];
    app.get("/users/me", &ada.auth()).await;
    assert_cache(&app.get("/users/me", &ada.auth()).await, "HIT");

    server.restart();
    until(&app.cache, RedisHealth::Up).await;
    let me = app.get("/users/me", &ada.auth()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["first_name"], "name 0.30");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_during_an_outage_never_lets_stale_redis_data_back() {
    let server = RedisServer::start(&[]);
    let a = TestApp::start(redis_cache(&server, 500).await).await;
    let b = a.another_instance(redis_cache(&server, 500).await).await;
    let ada = a.register("ada@example.com").await;
    // Cached in Redis with the old name, seen by both instances.
    assert_cache(&a.get("/users/me", &ada.auth()).await, "MISS");
    assert_cache(&b.get("/users/me", &ada.auth()).await, "HIT");

    // Redis hangs (the process is stopped: connections open, no answers).
    server.freeze();
    let answer = a
        .put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"first_name": "During"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let me = a.get("/users/me", &ada.auth()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["first_name"], "During");
    until(&a.cache, RedisHealth::Down).await;

    // Back: the invalidation made meanwhile was replayed before Redis served again,
    // so the old entry still in Redis is never served, by either instance.
    server.thaw();
    until(&a.cache, RedisHealth::Up).await;
    for app in [&a, &b] {
        let me = app.get("/users/me", &ada.auth()).await;
        assert_eq!(me.status, 200, "{me:?}");
        assert_eq!(me.json["first_name"], "During", "{me:?}");
    }
}
