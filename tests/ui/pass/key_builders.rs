use cachette::{cached, KeyContext};

const FIVE_MINUTES: u64 = 300;

fn always(cx: &KeyContext<'_>) -> String {
    format!("{}:{}", cx.namespace(), cx.function_name())
}

fn sometimes(cx: &KeyContext<'_>) -> Option<String> {
    Some(format!("{}:{}", cx.namespace(), cx.arg("id")?))
}

mod keys {
    pub fn nested(cx: &cachette::KeyContext<'_>) -> String {
        cx.namespace().to_owned()
    }
}

#[cached(expire = FIVE_MINUTES, key_builder = always)]
async fn a(id: u64) -> u64 {
    id
}

#[cached(namespace = "b", key_builder = sometimes)]
async fn b(id: u64) -> u64 {
    id
}

#[cached(namespace = "c", key_builder = keys::nested)]
async fn c(id: u64) -> u64 {
    id
}

fn main() {
    let _ = (a(1), b(2), c(3));
}
