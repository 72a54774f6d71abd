//! Compile-time dispatch on types for the code `#[cached]` generates.
//!
//! Rust has no specialization, so "cache `Ok` but not `Err`", "an argument that
//! implements `CacheUser` is the user", and "a type that is neither a serde value nor
//! an HTTP response is a compile error" are chosen by method resolution (the
//! "autoref/autoderef specialization" technique). Each decision is a *ladder*: a
//! probe value wrapped in [`Rung`]s, one per rung, each of which derefs to the one
//! below. Every rung is a trait with one method name, implemented for the wrapper
//! depth of its rung; method resolution tries the outermost type first and derefs
//! one level at a time, so the highest rung whose bounds hold wins, and the probe
//! itself (the lowest rung) always matches.
//!
//! Each ladder is declared once, by [`ladder!`], from its rungs in priority order:
//! that one list makes the wrapper depths, the function that wraps a probe to the
//! top ([`return_ladder`], [`key_ladder`], ...), and the module of the ladder's
//! traits that the generated code glob-imports. The attribute only calls
//! `return_ladder(probe).__cachette_strategy()`: it never counts rungs.
//!
//! # The ladders, highest rung first
//!
//! **Return type** ([`return_ladder`], `__cachette_strategy`; see `ret.rs`):
//!
//! | rung | takes | cached as |
//! |---|---|---|
//! | `ReturnBorrowed` | `&'static str`, `&'static [u8]`, a `Result` of one | the HTTP response (a compile error outside a handler) |
//! | `ReturnResultOptionTyped` | `Result<Option<T>, E>`, `T` serde and [typed] | a value: `Ok(Some)` only, kept typed |
//! | `ReturnResultOption` | `Result<Option<T>, E>`, `T` serde | a value: `Ok(Some)` only |
//! | `ReturnResultTyped` | `Result<T, E>`, `T` serde and [typed] | a value: `Ok` only, kept typed |
//! | `ReturnResult` | `Result<T, E>`, `T` serde | a value: `Ok` only |
//! | `ReturnOptionTyped` | `Option<T>`, `T` serde and [typed] | a value: `Some` only, kept typed |
//! | `ReturnOption` | `Option<T>`, `T` serde | a value: `Some` only |
//! | `ReturnValueTyped` | `T: Serialize + DeserializeOwned` and [typed] | a value, every one, kept typed |
//! | `ReturnValue` | `T: Serialize + DeserializeOwned` | a value, every one |
//! | `ReturnHttp` | `T: IntoResponse` (feature `axum`) | the HTTP response |
//! | `ReturnNone` | anything | a compile error (`CacheStrategy` unimplemented) |
//!
//! [typed]: `Clone + Send + Sync + 'static`: a hit clones the value kept in its
//! entry instead of decoding bytes (`returns`, "Typed hits"); each value rung has
//! a typed twin just above it, so a type that is not `Clone` still caches, through
//! bytes.
//!
//! Borrowed types come first so that they never reach a value rung, where
//! `DeserializeOwned` would fail with a "not general enough" error instead of a
//! choice. A type that is both a serde value and a response (`String`, `Vec<u8>`,
//! `()`...) is cached **as a value**, on purpose: a return type does not say
//! whether the function is a handler, and the value path works for every caller
//! (a handler, a function it calls, a background job), keys a handler's value by
//! its request and identity like a response (see `crate::key`), and returns the
//! same value, which axum turns into the same response. Write `-> impl IntoResponse`
//! or `-> Response` to cache the response itself (headers included).
//!
//! **Argument** ([`key_ladder`], `__cachette_key_arg`; see `arg.rs`):
//!
//! | rung | takes | in the key |
//! |---|---|---|
//! | `ArgUser` | `A: CacheUser` | the user's id |
//! | `ArgOptionalUser` | `Option<A>`, `A: CacheUser` | the user's id, or no user |
//! | `ArgValue` | `A: Serialize` | the value |
//! | `ArgInnerValue` | an extractor around a serde value (`Path<T>`, `Query<T>`, `Extension<T>`) | the inner value |
//! | `ArgSpecial` | an extractor with its own rule (`State`, `Uri`, `Method`, ...) | its rule |
//! | `ArgNone` | anything | a compile error (`NotAKey`), or, for a binding of a `Path`/`Query` pattern, the request |
//!
//! `CacheUser` comes before `Serialize`: a user type that also derives `Serialize`
//! is keyed by its stable id, not by every field it holds.
//!
//! **Pattern parameter** ([`pattern_ladder`], `__cachette_pattern`; see
//! `pattern.rs`): `PatternUserRule` (the whole is a `CacheUser`: only its id is
//! keyed) > `PatternRuleProbe` (`State`, `Path`, `Query`: their own mode) >
//! `PatternDefault` (every binding keyed).
//!
//! **Store** ([`put_ladder`], `__cachette_put`; see `put.rs`): `PutAwait` (the
//! stored value is `Send`: await the store) > `PutSpawn` (store in the background).
//!
//! **Spawn** (`spawn.rs`) is not a ladder: whether an async block is `Send` is
//! not known inside the function that defines it (see there).
//!
//! Everything here is `#[doc(hidden)]` plumbing, reached through `__private`.

/// One rung of a ladder above the one it derefs to (see the module doc).
#[derive(Debug)]
pub struct Rung<P>(P);

impl<P> std::ops::Deref for Rung<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

/// Declares a ladder from its rung traits, highest first, the last being the probe
/// itself:
///
/// ```text
/// ladder! {
///     /// Wraps a probe to the top of the ladder.
///     fn return_ladder, traits return_rungs, at return_at:
///     ReturnBorrowed > ReturnResult > ReturnNone
/// }
/// ```
///
/// declares `return_at::ReturnBorrowed<P> = Rung<Rung<P>>`,
/// `return_at::ReturnResult<P> = Rung<P>`, `return_at::ReturnNone<P> = P` (the type
/// each rung's trait is implemented for, `P` being the probe), `return_ladder(probe)`
/// (the probe wrapped to the top), and `return_rungs`, the traits as `_` imports.
macro_rules! ladder {
    (
        $(#[$doc:meta])*
        fn $climb:ident, traits $traits:ident, at $at:ident:
        $top:ident $(> $rung:ident)*
    ) => {
        $(#[$doc])*
        #[inline(always)]
        pub fn $climb<P>(probe: P) -> $at::$top<P> {
            ladder!(@climb probe; $top $($rung)*)
        }

        /// The ladder's traits, which the generated code glob-imports: `_` imports
        /// bring their methods into scope and no name.
        pub mod $traits {
            pub use super::{$top as _, $($rung as _),*};
        }

        /// The type each rung's trait is implemented for, named after the trait.
        pub(crate) mod $at {
            ladder!(@at $top $($rung)*);
        }
    };
    (@at $last:ident) => {
        pub(crate) type $last<P> = P;
    };
    (@at $rung:ident $next:ident $($rest:ident)*) => {
        pub(crate) type $rung<P> = $crate::probe::Rung<$next<P>>;
        ladder!(@at $next $($rest)*);
    };
    (@climb $probe:expr; $last:ident) => {
        $probe
    };
    (@climb $probe:expr; $rung:ident $($rest:ident)+) => {
        $crate::probe::Rung(ladder!(@climb $probe; $($rest)+))
    };
}

mod arg;
#[cfg(feature = "axum")]
mod axum_args;
mod pattern;
mod put;
mod ret;
mod spawn;
#[cfg(test)]
mod tests;

pub use arg::*;
pub use pattern::*;
pub use put::*;
pub use ret::*;
pub use spawn::*;
