use cachette::cached;

struct Db;
struct Ctx {
    db: Db,
    tenant: String,
}

// `db` is neither `Serialize` nor a `CacheUser`: it must be skipped.
#[cached(namespace = "report")]
async fn tenant_report(Ctx { db, tenant }: Ctx) -> String {
    let _ = db;
    tenant
}

fn main() {}
