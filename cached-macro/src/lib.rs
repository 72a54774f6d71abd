//! The `#[cached]` attribute of [cachette](https://docs.rs/cachette).
//!
//! Use it through the `cachette` crate (`use cachette::cached;`), whose documentation
//! describes what it does. This crate only parses and expands: the arguments are
//! parsed into a typed struct (`args`), checked against the function (`validate`),
//! and the body is turned into an `async move` block handed to one runtime function
//! (`expand`). Every mistake is a compile error on the token at fault; when there is
//! one, the original function is still emitted so IDEs keep working.

mod args;
mod expand;
mod params;
mod validate;

use proc_macro::TokenStream;

/// Caches the result of an `async fn`. See the `cachette` crate for the full
/// documentation.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::cached(args.into(), item.into()).into()
}
