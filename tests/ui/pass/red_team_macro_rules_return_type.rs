// Red team: `#[cached]` on a function whose return type is a `macro_rules!`
// parameter (`-> $ty`), inside a function that another attribute macro re-emits
// (`#[tokio::main]`, `#[tokio::test]`: the usual shape of table-driven async tests).
//
// BREAKS: does not compile. Observed: error[E0425]: cannot find value
// `__cachette_fut` in this scope (and `__cachette_args`), pointing at `$ty`, with
// "an identifier with the same name is defined here, but is not accessible due to
// macro hygiene". The attribute builds the strategy probe's call with
// `quote_spanned!` at the return type's span, so the local names it uses there take
// the hygiene of the `$ty` tokens instead of the call site's, where the attribute
// declared them. (Without the outer attribute macro it compiles; spanning with
// `Span::call_site().located_at(ret_span)` would keep the error location without
// changing hygiene.)
use cachette::cached;

macro_rules! cached_case {
    ($name:ident -> $ty:ty = $value:expr) => {
        #[tokio::main(flavor = "current_thread")]
        async fn $name() {
            #[cached(namespace = "getters")]
            async fn compute() -> $ty {
                $value
            }
            let _ = compute().await;
        }
    };
}

cached_case!(answer -> u32 = 42);
cached_case!(names -> Vec<String> = vec!["a".to_owned()]);

fn main() {
    answer();
    names();
}
