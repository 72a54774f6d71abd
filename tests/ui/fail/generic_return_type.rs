use cachette::cached;

#[cached(namespace = "generic")]
async fn load<T: serde::Serialize + serde::de::DeserializeOwned>(id: u64) -> T {
    let _ = id;
    unimplemented!()
}

fn main() {}
