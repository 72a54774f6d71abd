use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cachette::cached;
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct AppState;

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
}

#[derive(Deserialize)]
struct Page {
    page: Option<u32>,
}

struct AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[cached(expire = 300, namespace = "user")]
async fn get_user(State(_state): State<AppState>, Path(id): Path<u64>) -> Json<User> {
    Json(User { id })
}

#[cached(namespace = "users")]
async fn list_users(State(_state): State<AppState>, Query(page): Query<Page>) -> Result<Json<Vec<User>>, AppError> {
    let _ = page.page;
    Ok(Json(vec![]))
}

#[cached(namespace = "opaque")]
async fn opaque() -> impl IntoResponse {
    (StatusCode::OK, Json(User { id: 1 }))
}

#[cached(namespace = "text")]
async fn text() -> String {
    "hello".to_owned()
}

#[cached(namespace = "response")]
async fn response() -> Response {
    "hello".into_response()
}

#[cached(namespace = "tuple")]
async fn tuple() -> (StatusCode, Json<User>) {
    (StatusCode::OK, Json(User { id: 1 }))
}

/// Borrowed data cannot be read back as a value: cached as a response.
#[cached(namespace = "static")]
async fn static_text() -> &'static str {
    "hello"
}

#[cached(namespace = "static")]
async fn static_result() -> Result<&'static [u8], StatusCode> {
    Ok(b"hello")
}

fn main() {
    let _app: Router = Router::new()
        .route("/static", get(static_text))
        .route("/static-result", get(static_result))
        .route("/users/{id}", get(get_user))
        .route("/users", get(list_users))
        .route("/opaque", get(opaque))
        .route("/text", get(text))
        .route("/response", get(response))
        .route("/tuple", get(tuple))
        .with_state(AppState);
}
