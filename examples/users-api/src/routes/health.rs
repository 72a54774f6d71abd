//! `GET /heartbeat`: liveness, never cached.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::AppState;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/heartbeat", get(heartbeat))
}

/// `{"status": "ok"}`. Not `#[cached]`: it must say whether the process answers now.
async fn heartbeat() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
