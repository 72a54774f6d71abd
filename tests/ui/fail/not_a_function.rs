use cachette::cached;

#[cached(expire = 60)]
struct User {
    id: u64,
}

fn main() {}
