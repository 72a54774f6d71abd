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

#[path = "support/users.rs"]
mod seed;
use seed::{User, users};

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
