//! The in-memory mode on a realistic payload: the 50 users of the template's seed
//! data. Hit and miss through `#[cached]`, key building, encode and decode.
//!
//! ```text
//! cargo bench --bench memory
//! ```
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use cachette::{Cache, Config, cached};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_verified: bool,
    created: String,
}

fn users() -> Vec<User> {
    (1..=50)
        .map(|i| User {
            id: i,
            email: format!("user{i:03}@example.com"),
            first_name: ["Ada", "Grace", "Alan", "Linus", "Barbara"][i as usize % 5].into(),
            last_name: ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov"][i as usize % 5]
                .into(),
            role: if i % 10 == 1 { "admin" } else { "user" }.into(),
            is_verified: i % 3 != 0,
            created: format!("2024-01-01T{:02}:00:00", i % 24),
        })
        .collect()
}

#[cached(expire = 300, namespace = "users")]
async fn list_users(page: u32) -> Result<Vec<User>, String> {
    let _ = page;
    Ok(users())
}

/// Every call a new key: a miss that computes, encodes and stores.
static NEXT: AtomicU64 = AtomicU64::new(0);

#[cached(expire = 300, namespace = "users-miss")]
async fn list_users_miss(n: u64) -> Result<Vec<User>, String> {
    let _ = n;
    Ok(users())
}

fn memory(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cache = Cache::in_memory(Config::memory());
    let mut group = c.benchmark_group("memory");
    runtime.block_on(cache.scope(list_users(1))).expect("users");
    group.bench_function("hit_50_users", |b| {
        b.iter(|| runtime.block_on(cache.scope(list_users(black_box(1)))))
    });
    group.bench_function("miss_50_users", |b| {
        b.iter(|| {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            runtime.block_on(cache.scope(list_users_miss(black_box(n))))
        })
    });
    group.bench_function("compute_50_users_uncached", |b| {
        b.iter(|| black_box(users()))
    });
    group.finish();

    let mut group = c.benchmark_group("codec");
    let value = users();
    let encoded = rmp_serde::to_vec_named(&value).expect("encodes");
    group.bench_function("encode_50_users_msgpack_named", |b| {
        b.iter(|| rmp_serde::to_vec_named(black_box(&value)).expect("encodes"))
    });
    group.bench_function("decode_50_users_msgpack_named", |b| {
        b.iter(|| rmp_serde::from_slice::<Vec<User>>(black_box(&encoded)).expect("decodes"))
    });
    group.finish();
}

criterion_group!(benches, memory);
criterion_main!(benches);
