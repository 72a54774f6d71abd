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

// How the documentation is split: the reference (arguments, what is stored, keys,
// concurrency, with examples) is `docs/cached.md`, included on the re-export
// `cachette::cached`, where its examples compile as doctests of `cachette` (a
// proc-macro crate's doctests cannot use `cachette`). rustdoc shows a re-export's
// docs followed by the item's own: the section below, the list of the errors this
// crate emits (kept next to `args` and `validate`, which emit them), ends that page.
// It has no code to compile and no intra-doc links (they would resolve here, where
// `cachette` is unknown). Only this crate's own docs (`cfg(doc)`) get the first line.
#[cfg_attr(
    doc,
    doc = "Caches the result of an `async fn`: see `cachette::cached` for the reference.\n"
)]
/// # Errors at compile time
///
/// Every mistake is an error on the token at fault that says how to fix it. The
/// attribute's own checks (arguments, the function) report every problem at once and
/// emit the function unchanged, so the rest of the crate keeps compiling; type errors
/// come from the compiler once those pass.
///
/// Arguments:
/// - an unknown argument, with a hint for common names (`ttl` → `expire`, `ns` →
///   `namespace`, `key_fn` → `key_builder`, `exclude` → `skip(...)`); a repeated one;
///   `expire`, `namespace` or `key_builder` without `= value`;
/// - `expire` that is not a whole number of seconds, is negative, `0`, or above one
///   year (31,536,000); an `expire = CONST` outside that range fails a constant
///   assertion;
/// - `namespace` that is not a string literal, is empty, has an empty segment
///   (`"user:"`, `"a::b"`), a control character, or more than 128 bytes;
/// - `key_builder` that is not a path;
/// - `skip` without a list of names, an empty list, a name that is not an argument
///   or binding of the function (the error lists them), a name given twice;
/// - `shared` with a value; `near`, `typed` or `lock` without `= true` or `= false`,
///   or with another value;
/// - `coder` in quotes (`coder = "json"`: write `coder = json`), or anything but
///   `msgpack`, `json` or a path; a path to something that is not a `static`
///   implementing `CustomCoder` (reported by the compiler, on the path);
/// - `crate` that is not a string, a string that is not a path, or a path where
///   cachette is not found (one error, on the string);
/// - `stale_while_revalidate` or `stale_if_error` that is not a whole number of
///   seconds, is negative, or above 365 days (31,536,000, the most `CACHE_MAX_TTL`
///   allows); `early_refresh` without `= true` or `= false`.
///
/// Staleness against the function:
/// - `stale_if_error = N` (N > 0) on a function whose return type obviously has no
///   failure (`()`, a tuple, a number, `String`, `Vec<..>`...): only an `Err`, a
///   `None` or a 5xx response counts, plus a panic;
/// - `early_refresh = true` without `expire = N`: it needs a known TTL;
/// - `stale_while_revalidate = N` (N > 0) or `early_refresh = true` on a function
///   whose future is not `Send + 'static` (a borrowed argument, `&self`, an `Rc`
///   held across an await): reported by the compiler, on that argument.
///
/// The function:
/// - not an `async fn` with a body (a struct, a `fn`, a declaration without body);
/// - variadic;
/// - returning a bare type parameter (`-> T`): whether it is a `Result` or an
///   `Option` is unknown, so `Err`/`None` could be stored;
/// - an argument pattern written by a macro, whose bindings cannot be keyed.
///
/// Types (reported by the compiler through cachette's traits):
/// - "#[cached] cannot cache this function's return type": neither a serde value
///   (inside `Result`/`Option`, the `Ok`/`Some` type) nor an axum response;
/// - "this argument cannot be part of the cache key": an argument, a pattern's
///   binding or `self` that is neither `Serialize` nor `CacheUser` (nor an axum
///   extractor) and not in `skip(...)`;
/// - a key builder whose signature is not `fn(&KeyContext<'_>) -> String` (mismatched
///   types on its path), or whose return type is not a key (`IntoKey` not
///   implemented);
/// - type errors in the body are reported as without the attribute, against the
///   declared return type.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::cached(args.into(), item.into()).into()
}
