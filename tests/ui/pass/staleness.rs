// issue 13: the staleness arguments on functions whose future can run in the
// background, and functions without them that must keep compiling whatever their
// future is (a refresh then runs in the call that finds it due).
use std::marker::PhantomData;
use std::rc::Rc;

use axum::Json;
use axum::extract::Path;
use axum::response::IntoResponse;
use cachette::cached;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct User {
    id: u64,
}

// Owned arguments, every staleness argument.
#[cached(
    expire = 60,
    namespace = "user",
    stale_while_revalidate = 30,
    stale_if_error = 300,
    early_refresh = true
)]
async fn get_user(id: u64, name: String) -> Result<User, String> {
    let _ = name;
    Ok(User { id })
}

// `Option`: a `None` is a failure.
#[cached(expire = 60, stale_if_error = 60)]
async fn find(id: u64) -> Option<User> {
    Some(User { id })
}

// A handler: a 5xx response is a failure; `impl IntoResponse` borrows nothing.
#[cached(expire = 60, stale_while_revalidate = 10, stale_if_error = 60)]
async fn user_page(Path(id): Path<u64>) -> impl IntoResponse {
    Json(User { id })
}

// `'static` borrows are owned enough.
#[cached(expire = 60, stale_while_revalidate = 10)]
async fn label(prefix: &'static str, id: u64) -> String {
    format!("{prefix}{id}")
}

// 0 turns a `CACHE_STALE_*` default off for one function: no background task, so
// the future need not be `'static`, and a plain value may turn stale_if_error off
// (a panic is a failure too).
#[cached(expire = 60, stale_while_revalidate = 0, stale_if_error = 0, early_refresh = false)]
async fn greet(name: &str) -> String {
    format!("hello {name}")
}

// No staleness argument: borrowed, `self` and generic futures still compile.
struct Repo;

impl Repo {
    #[cached(namespace = "repo", skip(self))]
    async fn get(&self, id: u64) -> u64 {
        id
    }
}

struct Typed<T>(PhantomData<fn() -> T>);

impl<T> Typed<T> {
    #[cached(namespace = "typed")]
    async fn make(id: u64) -> Vec<u64> {
        vec![id]
    }
}

#[cached(namespace = "generic")]
async fn generic<T: Serialize + Send>(value: T) -> u32 {
    let _ = value;
    1
}

// No staleness argument and a future that is not `Send`: it compiles (no task).
#[cached(namespace = "local")]
async fn local(id: u64) -> u64 {
    let shared = Rc::new(id);
    tokio::task::yield_now().await;
    *shared
}

fn assert_send<T: Send>(_: T) {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_send(get_user(1, "ada".into()));
    assert_send(find(1));
    assert_send(user_page(Path(1)));
    assert_send(label("user:", 1));
    assert_send(greet("ada"));
    assert_send(Repo.get(1));
    assert_send(Typed::<u8>::make(1));
    assert_send(generic(1u8));
    assert_eq!(get_user(1, "ada".into()).await.map(|u| u.id), Ok(1));
    assert_eq!(local(3).await, 3);
}
