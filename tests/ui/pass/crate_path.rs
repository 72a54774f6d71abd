//! `#[cached(crate = "...")]`: a crate that re-exports cachette (here a module
//! standing for it) names that path, and the generated code reaches the runtime
//! through it.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Stands for a library that re-exports cachette to its users.
mod my_lib {
    pub mod deps {
        pub use ::cachette;
    }
}

use my_lib::deps::cachette::{Cache, Config};

static RUNS: AtomicUsize = AtomicUsize::new(0);

#[my_lib::deps::cachette::cached(crate = "my_lib::deps::cachette", namespace = "user")]
async fn get_user(id: u64) -> Option<u64> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    Some(id)
}

/// An absolute path, a method, and a pattern argument.
struct Repo;

impl Repo {
    #[my_lib::deps::cachette::cached(crate = "crate::my_lib::deps::cachette", skip(self))]
    async fn count(&self, (a, b): (u32, u32)) -> u32 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        a + b
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cache = Cache::in_memory(Config::memory());
    runtime.block_on(cache.scope(async {
        assert_eq!(get_user(7).await, Some(7));
        assert_eq!(get_user(7).await, Some(7));
        assert_eq!(RUNS.load(Ordering::SeqCst), 1, "the second call is a hit");
        assert_eq!(Repo.count((1, 2)).await, 3);
        assert_eq!(Repo.count((1, 2)).await, 3);
        assert_eq!(RUNS.load(Ordering::SeqCst), 2, "the second call is a hit");
    }));
}
