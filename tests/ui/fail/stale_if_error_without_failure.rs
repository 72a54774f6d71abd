use cachette::cached;

#[cached(expire = 60, stale_if_error = 300)]
async fn count_users(tenant: u64) -> Vec<u64> {
    vec![tenant]
}

fn main() {}
