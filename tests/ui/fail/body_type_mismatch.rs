use cachette::cached;

#[cached(namespace = "user")]
async fn get_name(id: u64) -> String {
    id
}

fn main() {}
