//! Over a real TCP listener with a real HTTP client, with the log lines checked.
#![allow(missing_docs)]

mod support;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, cached};
use support::logs::Logs;

#[cached(expire = 120, namespace = "items")]
async fn item(Path(id): Path<u64>) -> axum::Json<Vec<u64>> {
    axum::Json(vec![id; 3])
}

// Single-threaded: the connection tasks run on this thread, under this test's
// log subscriber.
#[tokio::test]
async fn a_real_server_and_client() {
    let (logs, _guard) = Logs::capture_here();

    let app = Router::new()
        .route("/items/{id}", get(item))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let url = format!("http://{address}/items/1?token=query-secret");
    let secret_headers = [
        ("authorization", "Bearer secret-token-123"),
        ("cookie", "session=cookie-secret"),
    ];
    let mut seen = Vec::new();
    for _ in 0..2 {
        let mut request = client.get(&url);
        for (name, value) in secret_headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let cache = response.headers()["x-fastapi-cache"]
            .to_str()
            .unwrap()
            .to_owned();
        let control = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(control.starts_with("private, max-age="), "{control}");
        assert_eq!(response.text().await.unwrap(), "[1,1,1]");
        seen.push(cache);
    }
    assert_eq!(seen, ["MISS", "HIT"]);
    // A conditional request over the wire.
    let etag = client.get(&url).send().await.unwrap().headers()["etag"].clone();
    let not_modified = client
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    server.abort();

    let text = logs.text();
    assert!(text.contains("CACHE MISS: GET /items/1 ("), "{text}");
    assert!(text.contains("CACHE HIT: GET /items/1 ("), "{text}");
    assert!(text.contains("ms)"), "{text}");
    // One line per request: with credentials a miss then a hit; without them (the
    // ETag fetch, the conditional request) another identity: a miss then a hit.
    assert_eq!(text.matches("CACHE MISS:").count(), 2, "{text}");
    assert_eq!(text.matches("CACHE HIT:").count(), 2, "{text}");
    for secret in ["secret-token-123", "cookie-secret", "query-secret"] {
        assert!(!text.contains(secret), "a log line leaks {secret}:\n{text}");
    }
}
