use cachette::cached;

#[cached(expire = 60, early_refresh = 1)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
