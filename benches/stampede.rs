//! 1,000 concurrent requests on a cold key: how many times the handler runs, in
//! memory mode and in Redis mode (one process).
//!
//! ```text
//! cargo bench --bench stampede              # starts its own redis-server
//! ```
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

#[path = "../tests/support/redis.rs"]
mod redis_support;

use redis_support::RedisServer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, cached};
use tower::ServiceExt;

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// A slow handler (10 ms of "database"), so that the requests overlap.
#[cached(expire = 300, namespace = "cold")]
async fn cold() -> axum::Json<Vec<u64>> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    axum::Json((0..50).collect())
}

async fn stampede(cache: Cache, label: &str) {
    RUNS.store(0, Ordering::SeqCst);
    let app = Router::new()
        .route("/cold", get(cold))
        .layer(CacheLayer::with_cache(cache));
    let start = Instant::now();
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app
                    .oneshot(Request::get("/cold").body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                response.status().as_u16()
            })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        if call.await.unwrap() == 200 {
            ok += 1;
        }
    }
    println!(
        "| {label} | 1000 | {ok} | {} | {:.1} |",
        RUNS.load(Ordering::SeqCst),
        start.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        println!("| mode | concurrent requests | 200 OK | handler runs | wall ms |");
        println!("|---|---:|---:|---:|---:|");
        stampede(Cache::in_memory(Config::memory()), "memory").await;
        let server = RedisServer::start(&[]);
        let config = Config::builder()
            .enabled(true)
            .redis_enabled(true)
            .redis_url(server.url())
            .build()
            .unwrap();
        stampede(Cache::new(config).await, "redis").await;
    });
}
