use cachette::cached;

#[cached(expire = 60, namespace = "user", expire = 120)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
