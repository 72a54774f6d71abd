use cachette::cached;

#[cached(lock = false, namespace = "user", lock = true)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
