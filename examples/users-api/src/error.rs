//! Errors as FastAPI sends them: a status and a JSON body `{"detail": "..."}`.
//!
//! Handlers return [`AppError`]. What axum answers by itself (a body that is not
//! JSON, a missing field, a path id that is not a number, an unknown route, a wrong
//! method) is plain text; [`json_errors`] rewrites those answers into the same JSON
//! shape, so every 4xx and 5xx a client sees has a `detail`.

use std::fmt;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error response: its status and the `detail` shown to the client.
///
/// Internal errors are logged where they are created and sent as a generic 500: the
/// client never sees a database message.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    detail: String,
}

impl AppError {
    fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        AppError {
            status,
            detail: detail.into(),
        }
    }

    /// 400: the request cannot be served as sent.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: no credentials, or credentials that are not valid. Sent with
    /// `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404: no such resource (or one the caller may not know about).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409: the write conflicts with existing data (a duplicate email).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422: well-formed JSON whose values are not accepted (FastAPI's validation
    /// status).
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 500: logs `error` and answers "Internal Server Error".
    pub fn internal(error: impl fmt::Display) -> Self {
        tracing::error!(target: "users_api", %error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `detail` sent to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl std::error::Error for AppError {}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::internal(format_args!("database: {error}"))
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    detail: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                detail: &self.detail,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The most of a plain-text error body that is kept as `detail`.
const MAX_DETAIL_BYTES: usize = 4 * 1024;

/// Response middleware (`axum::middleware::map_response`): rewrites every 4xx/5xx
/// response that is not JSON already into `{"detail": "..."}`, keeping its status and
/// headers. The detail is axum's rejection text (`Failed to parse the request body as
/// JSON: ...`), or the status's reason when the body is empty (`Not Found`).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_DETAIL_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    let body = serde_json::to_vec(&ErrorBody { detail: &detail })
        .unwrap_or_else(|_| br#"{"detail":"Error"}"#.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
