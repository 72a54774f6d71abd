use cachette::cached;

#[cached(key_builder = |cx| cx.namespace().to_owned())]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
