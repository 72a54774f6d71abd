use cachette::cached;

struct Repo;

impl Repo {
    #[cached(namespace = "user")]
    async fn get_user(&self, id: u64) -> u64 {
        id
    }
}

fn main() {}
