use cachette::cached;

#[cached(crate = my_lib::cachette)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
