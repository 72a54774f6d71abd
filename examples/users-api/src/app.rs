//! The router, its state and its layers.

use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use cachette::Cache;
use cachette::http::CacheLayer;
use sqlx::SqlitePool;

use crate::error::json_errors;
use crate::password::PasswordHashing;
use crate::routes;
use crate::token::Tokens;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database pool.
    pub db: SqlitePool,
    /// The cache the router's `CacheLayer` uses (and so the invalidation helpers the
    /// handlers call).
    pub cache: Cache,
    /// Issues and checks bearer tokens.
    pub tokens: Tokens,
    /// How new passwords are hashed.
    pub passwords: PasswordHashing,
}

/// The whole HTTP API.
///
/// Layers, outermost first (a request goes down this list, its response back up):
///
/// 1. the request log (`REQUESTS`): one line per request, whatever answered it;
/// 2. [`json_errors`]: axum's own plain-text errors become `{"detail": "..."}`;
/// 3. `CacheLayer`: answers hits, stores misses, sets `X-FastAPI-Cache`;
/// 4. the routes, whose extractors authenticate the caller before a cached
///    handler's body (and so the cache look-up) runs; see [`crate::auth`].
pub fn app(state: AppState) -> Router {
    let cache = state.cache.clone();
    Router::new()
        .merge(routes::auth::router())
        .merge(routes::users::router())
        .merge(routes::api_keys::router())
        .merge(routes::health::router())
        .with_state(state)
        .layer(CacheLayer::with_cache(cache))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn(log_request))
}

/// `GET /users/me 200 (0.31ms)` under the target `requests`: the path only, since a
/// query string may carry secrets.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        target: "requests",
        "{method} {path} {} ({:.2}ms)",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}
