use cachette::cached;

#[cached(stale_if_error = 60, namespace = "user", stale_if_error = 300)]
async fn get_user(id: u64) -> Result<u64, String> {
    Ok(id)
}

fn main() {}
