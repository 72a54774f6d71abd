use cachette::{cached, KeyContext};

fn my_key(_: &KeyContext<'_>) -> u64 {
    42
}

#[cached(key_builder = my_key)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
