use cachette::cached;

/// `both!(a, b)` is the pattern `(a, b)`: the attribute cannot see its bindings.
macro_rules! both {
    ($a:ident, $b:ident) => {
        ($a, $b)
    };
}

#[cached(namespace = "sum")]
async fn sum(both!(a, b): (u32, u32)) -> u32 {
    a + b
}

fn main() {}
