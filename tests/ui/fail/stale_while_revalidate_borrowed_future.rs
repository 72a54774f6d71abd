use cachette::cached;

// The refresh runs the call's future in a task of its own, which cannot hold
// the caller's `&str`.
#[cached(expire = 60, stale_while_revalidate = 5)]
async fn greet(name: &str) -> String {
    format!("hello {name}")
}

fn main() {}
