//! Two functions whose key builders make the same key never read each other's values
//! (issue 9, items 1 and 2, key builders): stored values carry a tag of the function
//! that stored them, and a value of another function is a miss.
#![allow(missing_docs)]

mod support;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{Cache, Config, KeyContext, cached};

/// One key for every function of the namespace: a builder that forgot the function.
fn same_key(cx: &KeyContext<'_>) -> String {
    format!("{}:the-only-key", cx.namespace())
}

#[cached(namespace = "clash", key_builder = same_key)]
async fn users() -> Vec<String> {
    vec!["ada".into()]
}

#[cached(namespace = "clash", key_builder = same_key)]
async fn orders() -> Vec<String> {
    vec!["order-1".into()]
}

#[tokio::test]
async fn values_of_two_functions_under_one_key_never_mix() {
    let cache = Cache::in_memory(Config::memory());
    cache
        .scope(async {
            for _ in 0..3 {
                assert_eq!(users().await, ["ada"]);
                assert_eq!(orders().await, ["order-1"]);
            }
        })
        .await;
}

#[cached(namespace = "clash", key_builder = same_key)]
async fn page_a() -> Html<String> {
    Html("page a".into())
}

#[cached(namespace = "clash", key_builder = same_key)]
async fn page_b() -> Html<String> {
    Html("page b".into())
}

#[tokio::test]
async fn responses_of_two_handlers_under_one_key_never_mix() {
    let app = Router::new()
        .route("/a", get(page_a))
        .route("/b", get(page_b))
        .layer(CacheLayer::with_cache(Cache::in_memory(Config::memory())));
    for _ in 0..3 {
        assert_eq!(support::http::get(&app, "/a", &[]).await.text(), "page a");
        assert_eq!(support::http::get(&app, "/b", &[]).await.text(), "page b");
    }
}
