use cachette::cached;

fn my_key(id: u64) -> String {
    id.to_string()
}

#[cached(key_builder = my_key)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
