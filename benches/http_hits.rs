//! HTTP memory hits in process, side by side with the fastest Rust peer (issue 11):
//! the same handler (the 50 users of the template's seed data as `Json`), served
//! through cachette's `CacheLayer` (a `#[cached]` handler, global memory cache) and
//! through axum-response-cache 0.5's layer, plus the handler behind no cache and the
//! body as pre-serialised bytes (the ceiling). One group: compare the lines.
//!
//! ```text
//! cargo bench --bench http_hits
//! ```
//!
//! Each request goes through the whole router (`tower::ServiceExt::oneshot`) with
//! the `Host` header a client sends, and its body is collected, as a server would
//! write it out.
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cachette::http::CacheLayer;
use cachette::{Config, cached};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "support/users.rs"]
mod seed;
use seed::{User, users};

#[cached(expire = 300, namespace = "users")]
async fn list_users() -> Json<Vec<User>> {
    Json(users())
}

async fn list_users_uncached() -> Json<Vec<User>> {
    Json(users())
}

fn request(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:8000")
        .body(Body::empty())
        .expect("a request")
}

async fn serve(app: &Router, path: &str) -> Bytes {
    let response = app
        .clone()
        .oneshot(request(path))
        .await
        .expect("a response");
    response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes()
}

fn http_hits(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime
        .block_on(cachette::init(Config::memory()))
        .expect("init");
    let body = Bytes::from(serde_json::to_vec(&users()).expect("json"));
    let static_body = body.clone();
    let peer = axum_response_cache::CacheLayer::with_lifespan(Duration::from_secs(300));
    let app = Router::new()
        .route("/users", get(list_users))
        .layer(CacheLayer::new())
        .route(
            "/users/static",
            get(move || {
                let body = static_body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
            }),
        )
        .route("/users/peer", get(list_users_uncached).layer(peer))
        .route("/users/uncached", get(list_users_uncached));
    for path in ["/users", "/users/peer", "/users/static", "/users/uncached"] {
        // Fill the caches, and check each route serves the same JSON.
        runtime.block_on(serve(&app, path));
        assert_eq!(runtime.block_on(serve(&app, path)), body, "{path}");
    }
    let hit: Response = runtime
        .block_on(app.clone().oneshot(request("/users")))
        .expect("hit");
    assert_eq!(hit.headers()["x-fastapi-cache"], "HIT");

    let mut group = c.benchmark_group("http_hits");
    for (name, path) in [
        ("cachette_hit", "/users"),
        ("axum_response_cache_hit", "/users/peer"),
        ("static_ceiling", "/users/static"),
        ("uncached_handler", "/users/uncached"),
    ] {
        // One `block_on` per sample, not per request: its cost would blur the lines.
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(serve(&app, path).await);
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, http_hits);
criterion_main!(benches);
