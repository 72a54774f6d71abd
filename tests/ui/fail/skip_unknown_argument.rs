use cachette::cached;

#[cached(skip(pool))]
async fn get_user(db: u32, id: u64) -> u64 {
    let _ = db;
    id
}

fn main() {}
