use cachette::cached;

struct Pool;

#[cached(namespace = "user")]
async fn get_user(pool: &Pool, id: u64) -> u64 {
    let _ = pool;
    id
}

fn main() {}
