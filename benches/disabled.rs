//! Disabled mode: a `#[cached]` call against the same plain call.
//!
//! ```text
//! cargo bench --bench disabled
//! ```
//!
//! Each iteration creates the function's future and polls it once with a no-op
//! waker (the body never waits), so the measurement is the call itself: what the
//! attribute adds is one relaxed atomic load and a slightly larger future.
#![allow(missing_docs, clippy::expect_used)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use cachette::{Config, cached};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

async fn plain_add(a: u64, b: u64) -> u64 {
    a.wrapping_mul(31).wrapping_add(b)
}

#[cached(expire = 60, namespace = "bench")]
async fn cached_add(a: u64, b: u64) -> u64 {
    a.wrapping_mul(31).wrapping_add(b)
}

async fn plain_user(id: u64, name: &'static str) -> Result<User, String> {
    Ok(User {
        id,
        name: name.to_owned(),
    })
}

#[cached(expire = 60, namespace = "bench")]
async fn cached_user(id: u64, name: &'static str) -> Result<User, String> {
    Ok(User {
        id,
        name: name.to_owned(),
    })
}

/// Polls a future that completes without waiting.
#[inline(always)]
fn run<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the benchmarked body never waits"),
    }
}

fn disabled(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime
        .block_on(cachette::init(Config::disabled()))
        .expect("first init");

    let mut group = c.benchmark_group("disabled");
    group.bench_function("plain_add", |b| {
        b.iter(|| run(plain_add(black_box(7), black_box(9))))
    });
    group.bench_function("cached_add", |b| {
        b.iter(|| run(cached_add(black_box(7), black_box(9))))
    });
    group.bench_function("plain_user", |b| {
        b.iter(|| run(plain_user(black_box(7), black_box("ada"))))
    });
    group.bench_function("cached_user", |b| {
        b.iter(|| run(cached_user(black_box(7), black_box("ada"))))
    });
    group.finish();
}

criterion_group!(benches, disabled);
criterion_main!(benches);
