use cachette::cached;

#[cached(near = true, namespace = "user", near = false)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
