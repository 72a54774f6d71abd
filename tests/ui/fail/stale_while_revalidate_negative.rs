use cachette::cached;

#[cached(expire = 60, stale_while_revalidate = -5)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
