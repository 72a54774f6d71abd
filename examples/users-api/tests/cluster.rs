//! The service on a local 3-master Redis Cluster, configured as its README says:
//! `REDIS_CLUSTER=true` and `REDIS_URL` listing the masters, read by the service's
//! own `cache_config` (in-process) or by the binary. Entries are shared through the
//! cluster, a write's invalidation reaches them, and they spread over the masters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use cachette::{Cache, Mode, RedisHealth};
use harness::cluster::RedisCluster;
use serde_json::json;
use support::child::read_until;
use support::{TestApp, assert_cache};
use users_api::config::{Env, cache_config};

/// The cache the service builds from `REDIS_CLUSTER=true REDIS_URL=<seeds>` (no
/// `REDIS_ENABLED`), once it is connected to every master. The command timeout is
/// generous: a spurious timeout on a busy machine would turn an expected HIT into a
/// fallback MISS.
async fn cluster_cache(cluster: &RedisCluster) -> Cache {
    let seeds = cluster.seeds();
    let env = Env::from_pairs([
        ("REDIS_CLUSTER", "true"),
        ("REDIS_URL", seeds.as_str()),
        ("REDIS_TIMEOUT_MS", "2000"),
    ]);
    let config = cache_config(&env).unwrap();
    assert_eq!(config.mode(), Mode::Redis, "REDIS_CLUSTER=true uses Redis");
    assert!(config.redis().cluster());
    assert_eq!(config.redis().seeds().len(), 3, "{seeds}");
    let cache = Cache::new(config).await;
    let mut health = cache.redis_health().expect("redis mode");
    tokio::time::timeout(
        Duration::from_secs(20),
        health.wait_for(|h| *h == RedisHealth::Up),
    )
    .await
    .expect("the cache reached the cluster within 20 s")
    .unwrap();
    cache
}

/// Every key of every master matching `pattern`, as `(port, keys)`.
async fn keys_on_masters(cluster: &RedisCluster, pattern: &str) -> Vec<(u16, Vec<String>)> {
    let mut found = Vec::new();
    for node in cluster.masters() {
        let mut client = node.client().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut client)
            .await
            .unwrap();
        found.push((node.port(), keys));
    }
    found
}

/// The key pattern of `GET /users/me`'s entry for `user` in any stripe:
/// `{fastapi-cache/s.j}:user:{id}:get_my_user`.
fn my_user_entry(user: &str) -> String {
    format!("{{fastapi-cache/*}}:user:{user}:get_my_user")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_shared_through_the_cluster_and_a_write_invalidates_them() {
    let cluster = RedisCluster::start(3, 0).await;
    let a = TestApp::start(cluster_cache(&cluster).await).await;
    let b = a.another_instance(cluster_cache(&cluster).await).await;
    let ada = a.register("ada@example.com").await;

    assert_cache(&a.get("/users/me", &ada.auth()).await, "MISS");
    assert_cache(&a.get("/users/me", &ada.auth()).await, "HIT");
    // The other instance has no copy of its own: the entry is in the cluster.
    assert_cache(&b.get("/users/me", &ada.auth()).await, "HIT");
    let stored: Vec<String> = keys_on_masters(&cluster, &my_user_entry(&ada.id.to_string()))
        .await
        .into_iter()
        .flat_map(|(_, keys)| keys)
        .collect();
    assert_eq!(stored.len(), 1, "one entry, on one master: {stored:?}");

    // A write through B: the next read through A (and B) is fresh, then cached.
    let answer = b
        .put(
            &format!("/users/{}", ada.id),
            &ada.auth(),
            json!({"first_name": "Augusta"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let me = a.get("/users/me", &ada.auth()).await;
    assert_cache(&me, "MISS");
    assert_eq!(me.json["first_name"], "Augusta");
    let me = a.get("/users/me", &ada.auth()).await;
    assert_cache(&me, "HIT");
    assert_eq!(me.json["first_name"], "Augusta");
    let me = b.get("/users/me", &ada.auth()).await;
    assert_cache(&me, "HIT");
    assert_eq!(me.json["first_name"], "Augusta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_spread_over_the_masters() {
    let cluster = RedisCluster::start(3, 0).await;
    let app = TestApp::start(cluster_cache(&cluster).await).await;
    const USERS: usize = 12;
    for n in 0..USERS {
        let user = app.register(&format!("user{n}@example.com")).await;
        assert_cache(&app.get("/users/me", &user.auth()).await, "MISS");
    }

    let entries = keys_on_masters(&cluster, &my_user_entry("*")).await;
    let counts: Vec<(u16, usize)> = entries
        .iter()
        .map(|(port, keys)| (*port, keys.len()))
        .collect();
    let sizes = cluster.keys_per_master().await;
    assert_eq!(
        counts.iter().map(|(_, n)| n).sum::<usize>(),
        USERS,
        "every entry is in the cluster, once: {counts:?}"
    );
    assert!(
        counts.iter().filter(|(_, n)| *n > 0).count() > 1,
        "the entries are on one master only: {counts:?} (DBSIZE per master: {sizes:?})"
    );
    // DBSIZE counts the entries and each stripe's own keys (epoch, versions).
    for ((port, entries), (_, size)) in counts.iter().zip(&sizes) {
        assert!(
            *size >= *entries as u64,
            "master {port}: DBSIZE {size} < {entries} entries"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_caches_on_the_cluster_redis_url_names() {
    let cluster = RedisCluster::start(3, 0).await;
    let dir = std::env::temp_dir().join(format!("users-api-bin-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = cluster.seeds();
    let mut child = Command::new(env!("CARGO_BIN_EXE_users-api"))
        .current_dir(&dir)
        .env_clear()
        .envs([
            ("PORT", "0"),
            ("SEED_DEMO", "false"),
            ("REDIS_CLUSTER", "true"),
            ("REDIS_URL", seeds.as_str()),
            ("REDIS_TIMEOUT_MS", "2000"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let output = read_until(&mut child, "2nd:");
    let stored = keys_on_masters(&cluster, &my_user_entry("*")).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(exit.success(), "{exit:?}\n{output}");

    assert!(output.contains("connected to Redis"), "{output}");
    assert!(output.contains("cache: redis cluster"), "{output}");
    assert!(output.contains("(cache: Redis Cluster)"), "{output}");
    assert!(
        output.contains("1st: 200, X-FastAPI-Cache: MISS"),
        "{output}"
    );
    assert!(
        output.contains("2nd: 200, X-FastAPI-Cache: HIT"),
        "{output}"
    );
    let entries: Vec<&String> = stored.iter().flat_map(|(_, keys)| keys).collect();
    assert_eq!(entries.len(), 1, "the demo's entry: {stored:?}");
}
