//! A cached repository function: misses, hits, invalidation and concurrent callers.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Runs on the embedded defaults (in-memory cache); nothing to install.
#![allow(clippy::print_stdout)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cachette::{Config, cached};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
}

static QUERIES: AtomicUsize = AtomicUsize::new(0);

/// Stands for a database query that takes 20 ms.
#[cached(expire = 300, namespace = "user")]
async fn get_user(id: u64) -> Result<User, String> {
    QUERIES.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(User {
        id,
        email: format!("user{id}@example.com"),
    })
}

async fn timed(label: &str, id: u64) {
    let start = Instant::now();
    let user = get_user(id).await;
    println!(
        "{label:<34} {:>9.3} ms  queries so far: {}  -> {:?}",
        start.elapsed().as_secs_f64() * 1000.0,
        QUERIES.load(Ordering::SeqCst),
        user.map(|u| u.email)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The template's variables (CACHE_ENABLED, CACHE_DEFAULT_TTL, ...) apply when set;
    // this example turns the in-memory cache on when CACHE_ENABLED is not given.
    let mut config = Config::from_env()?;
    if std::env::var_os("CACHE_ENABLED").is_none() {
        config = config.to_builder().enabled(true).build()?;
    }
    let cache = cachette::init(config).await?;
    println!("cachette mode: {}\n", cache.mode());

    timed("first call (miss)", 42).await;
    timed("second call (hit)", 42).await;
    cachette::invalidate_user_cache(42).await;
    timed("after invalidate_user_cache(42)", 42).await;
    timed("another user (miss)", 7).await;

    let before = QUERIES.load(Ordering::SeqCst);
    cachette::invalidate_namespace("user").await;
    let calls: Vec<_> = (0..100).map(|_| tokio::spawn(get_user(42))).collect();
    for call in calls {
        call.await??;
    }
    println!(
        "\n100 concurrent calls after invalidate_namespace(\"user\"): {} query",
        QUERIES.load(Ordering::SeqCst) - before
    );
    Ok(())
}
