//! In-process HTTP helpers (`tower::ServiceExt::oneshot`).

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A response, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    /// The cache header (`X-FastAPI-Cache`), if any.
    pub(crate) fn cache(&self) -> Option<&str> {
        self.headers
            .get("x-fastapi-cache")
            .and_then(|v| v.to_str().ok())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` to `app` and reads the answer.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// `GET uri` with extra headers.
pub(crate) async fn get(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    send(app, request("GET", uri, headers)).await
}

pub(crate) fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("invalid test request: {e}"))
}
