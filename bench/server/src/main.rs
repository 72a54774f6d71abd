//! The Rust side of the side-by-side HTTP benchmark: the interface of the Python
//! reference in `../shared/peer/` (FastAPI + fastapi-cache2), cached with cachette.
//!
//! ```text
//! cargo build --release -p bench-server
//! CACHE_BACKEND=memory DB_PATH=/tmp/peer-app.db target/release/bench-server
//! ```
//!
//! Environment (as the reference's `run.sh` sets it): `CACHE_BACKEND` =
//! `none|memory|redis|redis-near` (`redis-near`: Redis mode with the near cache
//! on, `REDIS_NEAR_CACHE=true`), `REDIS_URL`, `DB_PATH` (a SQLite file the reference's
//! `app.seed()` created), `HOST`, `PORT`.
//!
//! Endpoints:
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /users` | the 50 users, a real `SELECT`; `#[cached(expire = 300, namespace = "users")]` |
//! | `GET /users/{id}` | one user; namespace `user` |
//! | `GET /users/{id}/keys` | that user's API keys; namespace `user-keys` |
//! | `POST /users/{id}/touch` | changes the user, then invalidates `user:{id}`, `user` and `users` |
//! | `GET /users/static` | ceiling: the `/users` body as pre-serialised bytes, no cache work |
//! | `GET /users/redis-raw` | ceiling (redis): the body from one plain `GET` on a multiplexed connection |
//! | `GET /users/peer` | peer: the `/users` handler (uncached) behind axum-response-cache 0.5's layer (TTL 300 s) |
//!
//! The server runs on one thread (the reference's uvicorn runs one worker, and
//! `run.sh` pins both to one core).

mod data;

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use cachette::http::CacheLayer;
use cachette::{Config, cached};

use data::{Db, Key, User};

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    db: Db,
    /// `/users` serialised once, for the static ceiling.
    static_body: Bytes,
    /// A plain Redis connection for the raw ceiling (`CACHE_BACKEND=redis`).
    redis: Option<redis::aio::ConnectionManager>,
}

/// The raw ceiling's key.
const RAW_KEY: &str = "bench:users-raw";

#[cached(expire = 300, namespace = "users")]
async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<User>>, Failure> {
    Ok(Json(state.db.users().await?))
}

#[cached(expire = 300, namespace = "user")]
async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<User>, Failure> {
    state.db.user(id).await?.map(Json).ok_or(Failure::NotFound)
}

#[cached(expire = 300, namespace = "user-keys")]
async fn list_user_keys(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Key>>, Failure> {
    Ok(Json(state.db.keys(id).await?))
}

/// The reference's touch: change the user, then invalidate what changed.
async fn touch_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, Failure> {
    let last_name = state.db.touch(id).await?.ok_or(Failure::NotFound)?;
    cachette::invalidate_namespace(&format!("user:{id}")).await;
    cachette::invalidate_namespace("user").await;
    cachette::invalidate_namespace("users").await;
    Ok(Json(
        serde_json::json!({ "id": id, "last_name": last_name, "cleared": {} }),
    ))
}

async fn users_static(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.static_body,
    )
        .into_response()
}

/// `/users` without cachette: the peer's layer caches it (`/users/peer`).
async fn users_peer(State(state): State<AppState>) -> Result<Json<Vec<User>>, Failure> {
    Ok(Json(state.db.users().await?))
}

async fn users_redis_raw(State(state): State<AppState>) -> Response {
    let Some(mut redis) = state.redis else {
        return (
            StatusCode::NOT_FOUND,
            "CACHE_BACKEND=redis or redis-near only",
        )
            .into_response();
    };
    match redis::cmd("GET")
        .arg(RAW_KEY)
        .query_async::<Option<Vec<u8>>>(&mut redis)
        .await
    {
        Ok(Some(body)) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "raw key missing").into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// A failed request (never cached: it is not a 2xx).
enum Failure {
    NotFound,
    Database(String),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Database(e.to_string())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::NotFound => (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({"detail": "User not found"})),
            )
                .into_response(),
            Failure::Database(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({"detail": e})),
            )
                .into_response(),
        }
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .init();
    let backend = env("CACHE_BACKEND", "memory");
    let redis_url = env("REDIS_URL", "redis://127.0.0.1:6390/0");
    let db = Db::open(&env("DB_PATH", "/tmp/peer-app.db")).await?;

    let config = Config::builder().prefix("fastapi-cache");
    let config = match backend.as_str() {
        "none" => config.enabled(false),
        "memory" => config.enabled(true).redis_enabled(false),
        "redis" | "redis-near" => config
            .enabled(true)
            .redis_enabled(true)
            .redis_url(redis_url.clone())
            .redis_near_cache(backend == "redis-near"),
        other => {
            return Err(format!(
                "CACHE_BACKEND must be none|memory|redis|redis-near, got {other:?}"
            )
            .into());
        }
    };
    cachette::init(config.build()?).await?;

    let static_body = Bytes::from(serde_json::to_vec(&db.users().await?)?);
    let redis = if backend.starts_with("redis") {
        let client = redis::Client::open(redis_url)?;
        let mut connection = redis::aio::ConnectionManager::new(client).await?;
        redis::cmd("SET")
            .arg(RAW_KEY)
            .arg(static_body.as_ref())
            .query_async::<()>(&mut connection)
            .await?;
        Some(connection)
    } else {
        None
    };
    let state = AppState {
        db,
        static_body,
        redis,
    };
    let cached = Router::new()
        .route("/users", get(list_users))
        .route("/users/{id}", get(get_user))
        .route("/users/{id}/keys", get(list_user_keys))
        .route("/users/{id}/touch", post(touch_user))
        .layer(CacheLayer::new());
    // The ceilings and the peer do not go through cachette's layer.
    let peer = axum_response_cache::CacheLayer::with_lifespan(Duration::from_secs(300));
    let app = cached
        .route("/users/static", get(users_static))
        .route("/users/redis-raw", get(users_redis_raw))
        .route("/users/peer", get(users_peer).layer(peer))
        .with_state(state);

    let address = format!("{}:{}", env("HOST", "127.0.0.1"), env("PORT", "8000"));
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
