//! The handles an application shares between tasks and threads stay `Send + Sync`:
//! a change that breaks it fails to compile here, not in a user's `tokio::spawn`.
#![allow(missing_docs)]

fn assert_send_sync<T: Send + Sync + 'static>() {}

#[test]
fn cache_config_and_layer_are_send_and_sync() {
    assert_send_sync::<cachette::Cache>();
    assert_send_sync::<cachette::Config>();
    assert_send_sync::<cachette::MemoryUsage>();
    #[cfg(feature = "axum")]
    assert_send_sync::<cachette::http::CacheLayer>();
}
