use cachette::cached;

#[cached(shared = true)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
