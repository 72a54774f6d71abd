use cachette::cached;

#[cached(namespace = "user", early_refresh = true)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
