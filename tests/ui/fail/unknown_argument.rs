use cachette::cached;

#[cached(ttl = 60)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
