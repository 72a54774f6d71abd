//! Redis failing under the cache: killed, restarted, frozen, misconfigured. No
//! request may fail, none may hang, and nothing invalidated may come back.
#![allow(missing_docs)]

mod support;

use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cachette::{Cache, Config, RedisHealth, cached};
use support::current;
use support::redis::RedisServer;
use support::wait::until;

/// Short timeouts: the tests below wait on them.
fn config(url: &str, timeout_ms: u64) -> cachette::ConfigBuilder {
    support::redis::config(url)
        .redis_timeout(Duration::from_millis(timeout_ms))
        .redis_connect_timeout(Duration::from_millis(500))
}

static DATA: Mutex<&str> = Mutex::new("v1");
static RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 300, namespace = "data")]
async fn data(id: u64) -> String {
    RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{id}:{}", current(&DATA))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_then_restarted_under_traffic() {
    let mut server = RedisServer::start(&[]);
    let cache = Cache::new(config(&server.url(), 200).build().unwrap()).await;
    until(&cache, RedisHealth::Up).await;

    let traffic = |cache: Cache, rounds: u64| {
        tokio::spawn(async move {
            for i in 0..rounds {
                let id = i % 20;
                let value = cache.scope(data(id)).await;
                assert_eq!(value, format!("{id}:v1"), "a request got a wrong value");
            }
        })
    };
    let workers: Vec<_> = (0..4).map(|_| traffic(cache.clone(), 300)).collect();
    server.kill();
    for w in workers {
        w.await.expect("no request fails while Redis dies");
    }
    until(&cache, RedisHealth::Down).await;
    // Served from the fallback meanwhile.
    for _ in 0..100 {
        assert_eq!(cache.scope(data(3)).await, "3:v1");
    }

    server.restart();
    until(&cache, RedisHealth::Up).await;
    // Hits come from Redis again: another instance sees what this one stores now.
    let other = Cache::new(config(&server.url(), 200).build().unwrap()).await;
    cache.scope(data(99)).await;
    let runs = RUNS.load(Ordering::SeqCst);
    assert_eq!(other.scope(data(99)).await, "99:v1");
    assert_eq!(
        RUNS.load(Ordering::SeqCst),
        runs,
        "served from Redis, not recomputed"
    );
}

static FROZEN: Mutex<&str> = Mutex::new("v1");
static FROZEN_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(expire = 300, namespace = "frozen")]
async fn frozen(id: u64) -> String {
    FROZEN_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{id}:{}", current(&FROZEN))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_never_hangs_and_writes_made_meanwhile_stick() {
    let server = RedisServer::start(&[]);
    let timeout_ms = 300;
    let a = Cache::new(config(&server.url(), timeout_ms).build().unwrap()).await;
    let b = Cache::new(config(&server.url(), timeout_ms).build().unwrap()).await;
    assert_eq!(a.scope(frozen(1)).await, "1:v1");
    assert_eq!(
        b.scope(frozen(1)).await,
        "1:v1",
        "stored in Redis before the freeze"
    );

    server.freeze();
    // Every call answers (within the timeout plus the function's time), and the
    // breaker opens after a few failures.
    for _ in 0..5 {
        let answer = tokio::time::timeout(Duration::from_secs(5), a.scope(frozen(2))).await;
        assert_eq!(answer.expect("no call hangs on a frozen Redis"), "2:v1");
    }
    until(&a, RedisHealth::Down).await;
    // Now calls do not wait on Redis at all: 50 of them take less than one timeout.
    let start = Instant::now();
    for _ in 0..50 {
        a.scope(frozen(2)).await;
    }
    assert!(
        start.elapsed() < Duration::from_millis(timeout_ms),
        "{:?}",
        start.elapsed()
    );

    // A write and its invalidation while Redis is frozen.
    *FROZEN.lock().unwrap() = "v2";
    a.scope(cachette::invalidate_namespace("frozen:1")).await;
    assert_eq!(a.scope(frozen(1)).await, "1:v2", "applied locally at once");

    server.thaw();
    until(&a, RedisHealth::Up).await;
    // The invalidation was replayed before Redis served again: v1 never comes back,
    // here or in the instance that did not see it happen.
    assert_eq!(a.scope(frozen(1)).await, "1:v2");
    until(&b, RedisHealth::Up).await;
    assert_eq!(b.scope(frozen(1)).await, "1:v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_up_then_back() {
    let mut server = RedisServer::start(&[]);
    let url = server.url();
    server.kill();
    let cache = Cache::new(config(&url, 200).build().unwrap()).await;
    assert_eq!(*cache.redis_health().unwrap().borrow(), RedisHealth::Down);
    // Usable through the fallback.
    assert_eq!(cache.scope(data(500)).await, "500:v1");
    server.restart();
    until(&cache, RedisHealth::Up).await;
    assert_eq!(cache.scope(data(500)).await, "500:v1");
}

// --- bad settings: a clear warning naming the setting, never the password --------

/// Creates a cache with `config` and returns what it logged.
async fn start_up_logs(config: Config) -> (Cache, String) {
    let (logs, _guard) = support::logs::Logs::capture_here();
    let cache = Cache::new(config).await;
    (cache, logs.text())
}

#[tokio::test]
async fn a_wrong_password_is_a_warning_that_names_the_setting() {
    let server = RedisServer::start(&["--requirepass", "right-secret"]);
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_host("127.0.0.1")
        .redis_port(server.port())
        .redis_password("wrong-secret-9f2")
        .build()
        .unwrap();
    let (cache, logs) = start_up_logs(config).await;
    assert_eq!(*cache.redis_health().unwrap().borrow(), RedisHealth::Down);
    assert!(logs.contains("REDIS_PASSWORD"), "{logs}");
    assert!(
        !logs.contains("wrong-secret-9f2") && !logs.contains("right-secret"),
        "{logs}"
    );
    // Still usable, through the fallback.
    assert_eq!(cache.scope(data(600)).await, "600:v1");

    // The right password works.
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_url(format!("redis://:right-secret@127.0.0.1:{}", server.port()))
        .build()
        .unwrap();
    let (cache, logs) = start_up_logs(config).await;
    assert_eq!(
        *cache.redis_health().unwrap().borrow(),
        RedisHealth::Up,
        "{logs}"
    );
    assert!(!logs.contains("right-secret"), "{logs}");
}

#[tokio::test]
async fn a_database_out_of_range_is_a_warning_that_names_redis_db() {
    let server = RedisServer::start(&["--databases", "2"]);
    let config = Config::builder()
        .enabled(true)
        .redis_enabled(true)
        .redis_host("127.0.0.1")
        .redis_port(server.port())
        .redis_db(5)
        .build()
        .unwrap();
    let (cache, logs) = start_up_logs(config).await;
    assert_eq!(*cache.redis_health().unwrap().borrow(), RedisHealth::Down);
    assert!(logs.contains("REDIS_DB=5"), "{logs}");
    assert_eq!(cache.scope(data(601)).await, "601:v1");
}

#[tokio::test]
async fn a_server_that_is_not_redis_is_a_warning() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let config = config(&format!("redis://127.0.0.1:{port}"), 200)
        .build()
        .unwrap();
    let (cache, logs) = start_up_logs(config).await;
    assert_eq!(*cache.redis_health().unwrap().borrow(), RedisHealth::Down);
    assert!(logs.contains("Redis is not usable at start-up"), "{logs}");
    assert_eq!(cache.scope(data(602)).await, "602:v1");
}

#[test]
fn a_url_that_does_not_parse_is_a_start_up_error() {
    for url in [
        "http://localhost:6379",
        "redis://:pa ss@/0",
        "redis://host:notaport",
    ] {
        let error = Config::builder()
            .enabled(true)
            .redis_enabled(true)
            .redis_url(url)
            .build()
            .unwrap_err();
        assert!(
            error.to_string().contains("redis_url") || error.to_string().contains("REDIS_URL"),
            "{error}"
        );
        assert!(!error.to_string().contains("pa ss"), "{error}");
    }
}
