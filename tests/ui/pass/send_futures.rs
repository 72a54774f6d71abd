// issue 9, item 7: a non-`Send` output (`Box<dyn Error>` errors) with a `Send` body
// gives a `Send` future.
use std::error::Error;

use cachette::cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
}

type AppResult<T> = Result<T, Box<dyn Error>>;

#[cached(namespace = "double")]
async fn double(x: u32) -> AppResult<u32> {
    Ok(x * 2)
}

#[cached(namespace = "find")]
async fn find(id: u64) -> Result<Option<User>, Box<dyn Error>> {
    Ok(Some(User { id }))
}

struct Repo;

impl Repo {
    #[cached(namespace = "repo", skip(self))]
    async fn get(&self, id: u64) -> AppResult<User> {
        Ok(User { id })
    }
}

#[cached(namespace = "generic")]
async fn generic<T: Serialize + Send>(value: T) -> AppResult<u32> {
    let _ = value;
    Ok(1)
}

fn assert_send<T: Send>(_: T) {}

#[tokio::main]
async fn main() {
    assert_send(double(1));
    assert_send(find(1));
    assert_send(Repo.get(1));
    assert_send(generic(1u8));
    // `tokio::spawn` also needs a `Send` output: convert the error inside the task.
    let doubled = tokio::spawn(async { double(1).await.map_err(|e| e.to_string()) })
        .await
        .unwrap();
    assert_eq!(doubled, Ok(2));
}
