use cachette::cached;

#[cached(coder = "json")]
async fn settings(user: u64) -> Vec<String> {
    vec![user.to_string()]
}

fn main() {}
