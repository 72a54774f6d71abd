use cachette::cached;

// 400 days: longer than any entry may live (CACHE_MAX_TTL is at most 365 days).
#[cached(expire = 60, stale_while_revalidate = 34_560_000)]
async fn get_user(id: u64) -> u64 {
    id
}

fn main() {}
