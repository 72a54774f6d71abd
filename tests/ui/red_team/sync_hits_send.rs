// Red team, issue 11 (504cf24): a `#[cached]` function whose body's future is
// `Send` but whose output is not (`Box<dyn Error>` errors, the usual application
// result) must still give a `Send` future: spawned, in memory mode, with its
// second call a synchronous hit. Not run by tests/ui.rs (it does not compile on
// 504cf24); see tests/red_team_sync_hits.rs.
use std::error::Error;

use cachette::cached;

#[cached(namespace = "sync-send")]
async fn double(x: u32) -> Result<u32, Box<dyn Error>> {
    tokio::task::yield_now().await;
    Ok(x * 2)
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::main]
async fn main() {
    let cache = cachette::Cache::in_memory(cachette::Config::memory());
    assert_send(&double(1));
    for _ in 0..2 {
        let doubled = tokio::spawn(cache.scope(async { double(1).await.map_err(|e| e.to_string()) }))
            .await
            .unwrap();
        assert_eq!(doubled, Ok(2));
    }
}
