use cachette::cached;

#[cached(expire = 0, namespace = 5, colour = "red")]
fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
