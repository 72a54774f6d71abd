use cachette::cached;

/// Not a `CustomCoder`.
static PLAIN: u32 = 7;

#[cached(coder = PLAIN)]
async fn settings(user: u64) -> Vec<String> {
    vec![user.to_string()]
}

fn main() {}
