use std::rc::Rc;

use cachette::cached;

async fn load() -> u64 {
    42
}

// The `Rc` lives across the await: the future is not `Send`, so it cannot run
// in a task of its own.
#[cached(expire = 60, stale_while_revalidate = 5)]
async fn count(id: u64) -> u64 {
    let shared = Rc::new(id);
    let loaded = load().await;
    *shared + loaded
}

fn main() {}
