use cachette::cached;

#[cached(namespace = "user", lock = "off")]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
