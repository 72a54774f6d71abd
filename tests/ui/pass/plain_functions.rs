use cachette::cached;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct User {
    id: u64,
}

#[derive(Serialize)]
struct Filter {
    active: bool,
}

type AppResult<T> = Result<T, std::io::Error>;

#[cached]
async fn no_arguments() -> u32 {
    1
}

#[cached(expire = 300, namespace = "user")]
async fn get_user(id: u64, filter: &Filter, (page, size): (u32, u32)) -> AppResult<Option<User>> {
    let _ = (filter.active, page, size);
    Ok(Some(User { id }))
}

#[cached(expire = 60, namespace = "near", near = true)]
async fn near_on(id: u64) -> u64 {
    id
}

#[cached(namespace = "strict", near = false, shared)]
async fn near_off(id: u64) -> u64 {
    id
}

#[cached(namespace = "generic")]
async fn generic<T>(value: T) -> Vec<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send,
{
    vec![value]
}

#[cached(namespace = "impl")]
async fn impl_arg(value: impl Serialize + Send) -> String {
    let _ = value;
    String::new()
}

struct Pool;

struct Repo {
    pool: Pool,
}

impl Repo {
    #[cached(namespace = "repo", skip(self))]
    async fn find(&self, id: u64) -> Result<User, String> {
        let _ = &self.pool;
        Ok(User { id })
    }

    #[cached(namespace = "repo", skip(self, pool))]
    async fn with_pool(&self, pool: &Pool, mut id: u64) -> u64 {
        let _ = pool;
        id += 1;
        id
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(get_user(1, &Filter { active: true }, (1, 50)));
    assert_send(no_arguments());
    assert_send(near_on(1));
    assert_send(near_off(1));
    assert_send(generic(1u8));
    assert_send(impl_arg(1u8));
    let repo = Repo { pool: Pool };
    assert_send(repo.find(1));
    assert_send(repo.with_pool(&Pool, 1));
}
