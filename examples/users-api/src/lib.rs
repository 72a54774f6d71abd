//! The FastAPI template's users and API-keys service, in Rust, cached with cachette.
//!
//! The binary (`cargo run -p users-api`, see `main.rs`) assembles these pieces; tests
//! drive [`app()`] directly with their own database and [`cachette::Cache`].
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | settings from the environment and `.env` |
//! | [`logging`] | `LOG_CATEGORIES` → `tracing` targets |
//! | [`db`] | the pool, the migrations, the first start's seed data |
//! | [`repo`] | the SQL, one module per table |
//! | [`auth`] | the `CurrentUser` / `AdminUser` extractors, and how the cache finds the user |
//! | [`routes`] | the handlers; the `#[cached]` ones are the reads |
//! | [`invalidate`] | what each write invalidates |
//! | [`app`](mod@app) | the router and its layers |
//! | [`error`] | `{"detail": "..."}` errors, axum's rejections included |
//! | [`demo`] | the start-up demonstration (MISS, then HIT) |
//! | [`metrics`] | `GET /metrics` (Prometheus) |
//! | [`password`], [`token`], [`secret`], [`validate`] | argon2, bearer tokens, API keys, input checks |

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod invalidate;
pub mod logging;
pub mod metrics;
pub mod password;
pub mod repo;
pub mod routes;
pub mod secret;
pub mod token;
pub mod validate;

pub use app::{AppState, app};
