use cachette::cached;

struct Report {
    rows: Vec<u64>,
}

#[cached(namespace = "reports")]
async fn build_report(id: u64) -> Report {
    Report { rows: vec![id] }
}

fn main() {}
