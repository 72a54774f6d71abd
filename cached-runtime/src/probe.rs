//! Compile-time dispatch on types for the code `#[cached]` generates.
//!
//! Rust has no specialization, so "cache `Ok` but not `Err`", "an argument that
//! implements `CacheUser` is the user", and "a type that is neither a serde value nor
//! an HTTP response is a compile error" are chosen by method resolution over
//! auto-referenced receivers (the "autoref specialization" technique): the generated
//! code calls a method on `&&&&&&probe`, and the impl with the most references whose
//! bounds hold wins. Everything here is `#[doc(hidden)]` plumbing.

use std::future::Future;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::ValueCodec;
use crate::key::{CacheUser, KeyArgs};

// ---------------------------------------------------------------------------
// Return types
// ---------------------------------------------------------------------------

/// Carries the return type `R` of a `#[cached]` function.
#[derive(Debug)]
pub struct ReturnProbe<R>(PhantomData<fn() -> R>);

impl<R> ReturnProbe<R> {
    /// The probe for the output of `future` (the function's body).
    pub fn of<F: Future<Output = R>>(_future: &F) -> Self {
        ReturnProbe(PhantomData)
    }
}

/// How a return type is cached. Implemented by the strategies the probe can pick;
/// a type none of them accepts gets this error.
#[diagnostic::on_unimplemented(
    message = "#[cached] cannot cache this function's return type",
    label = "this return type is neither a serde value nor an HTTP response",
    note = "derive `serde::Serialize` and `serde::Deserialize` for the returned type (inside `Result`/`Option`, only the `Ok`/`Some` value needs them), or return an axum response type (`Json<T>`, `Response`, `impl IntoResponse`) from a handler"
)]
pub trait CacheStrategy<R> {
    /// `true` when `R` is an HTTP response to be cached through the tower layer.
    const HTTP: bool;
    /// How values are stored, for types cached as values.
    fn codec(&self) -> Option<ValueCodec<R>>;
}

/// `R` is stored as a MessagePack value.
#[derive(Debug)]
pub struct ValueStrategy<R>(ValueCodec<R>);

impl<R> CacheStrategy<R> for ValueStrategy<R> {
    const HTTP: bool = false;
    fn codec(&self) -> Option<ValueCodec<R>> {
        Some(self.0)
    }
}

/// `R` is an HTTP response: cached as the response's bytes by the tower layer.
#[derive(Debug)]
pub struct HttpStrategy<R>(PhantomData<fn() -> R>);

impl<R> HttpStrategy<R> {
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn new() -> Self {
        HttpStrategy(PhantomData)
    }
}

impl<R> CacheStrategy<R> for HttpStrategy<R> {
    const HTTP: bool = true;
    fn codec(&self) -> Option<ValueCodec<R>> {
        None
    }
}

/// `R` cannot be cached: no `CacheStrategy` impl, hence the compile error above.
#[derive(Debug)]
pub struct Uncacheable<R>(PhantomData<fn() -> R>);

/// `Result<Option<T>, E>`: stores `Ok(Some(_))`.
pub trait ReturnResultOption<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResultOption<Result<Option<T>, E>>
    for &&&&&ReturnProbe<Result<Option<T>, E>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<Option<T>, E>> {
        ValueStrategy(ValueCodec::result_option())
    }
}

/// `Result<T, E>`: stores `Ok(_)`.
pub trait ReturnResult<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResult<Result<T, E>>
    for &&&&ReturnProbe<Result<T, E>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<T, E>> {
        ValueStrategy(ValueCodec::result())
    }
}

/// `Option<T>`: stores `Some(_)`.
pub trait ReturnOption<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R>;
}
impl<T: Serialize + DeserializeOwned> ReturnOption<Option<T>> for &&&ReturnProbe<Option<T>> {
    fn __cachette_strategy(&self) -> ValueStrategy<Option<T>> {
        ValueStrategy(ValueCodec::option())
    }
}

/// Any other serde value: stored as is.
pub trait ReturnValue<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R>;
}
impl<T: Serialize + DeserializeOwned> ReturnValue<T> for &&ReturnProbe<T> {
    fn __cachette_strategy(&self) -> ValueStrategy<T> {
        ValueStrategy(ValueCodec::plain())
    }
}

/// An axum response type: cached by the HTTP layer.
pub trait ReturnHttp<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> HttpStrategy<R>;
}
#[cfg(feature = "axum")]
impl<T: axum::response::IntoResponse> ReturnHttp<T> for &ReturnProbe<T> {
    fn __cachette_strategy(&self) -> HttpStrategy<T> {
        HttpStrategy(PhantomData)
    }
}

/// Nothing fits.
pub trait ReturnNone<R> {
    /// Picks the (failing) strategy.
    fn __cachette_strategy(&self) -> Uncacheable<R>;
}
impl<T> ReturnNone<T> for ReturnProbe<T> {
    fn __cachette_strategy(&self) -> Uncacheable<T> {
        Uncacheable(PhantomData)
    }
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/// Carries a reference to one key-relevant argument.
#[derive(Debug)]
pub struct KeyProbe<'a, A: ?Sized>(pub &'a A);

/// What the probe did with an argument. Only [`KeyArgDone`] passes the check; an
/// argument no rule accepts yields [`NotAKey`] and a compile error.
#[diagnostic::on_unimplemented(
    message = "this argument cannot be part of the cache key",
    label = "its type implements neither `serde::Serialize` nor `cachette::CacheUser`",
    note = "derive `serde::Serialize` for it, implement `cachette::CacheUser` if it is the authenticated user, or add its name to `skip(...)` in #[cached(...)] if it does not change the result"
)]
pub trait KeyArgCheck {}

/// The argument was handled.
#[derive(Debug)]
pub struct KeyArgDone;
impl KeyArgCheck for KeyArgDone {}

/// The argument could not be handled (see [`KeyArgCheck`]).
#[derive(Debug)]
pub struct NotAKey<A: ?Sized>(PhantomData<A>);

/// Compiles only for handled arguments.
pub fn check_key_arg<C: KeyArgCheck>(_: C) {}

/// The argument is the authenticated user.
pub trait ArgUser {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: CacheUser + ?Sized> ArgUser for &&&&&KeyProbe<'_, A> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_user(name, Some(self.0.cache_user_id()));
        KeyArgDone
    }
}

/// The argument is an optional user (an optional auth extractor).
pub trait ArgOptionalUser {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: CacheUser> ArgOptionalUser for &&&&KeyProbe<'_, Option<A>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_user(name, self.0.as_ref().map(CacheUser::cache_user_id));
        KeyArgDone
    }
}

/// The argument is a serde value.
pub trait ArgValue {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: Serialize + ?Sized> ArgValue for &&&KeyProbe<'_, A> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_value(name, self.0);
        KeyArgDone
    }
}

/// The argument is an extractor around a serde value (`Path<u64>`, `Query<Params>`).
pub trait ArgInnerValue {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A> ArgInnerValue for &&KeyProbe<'_, A>
where
    A: Wrapper + ?Sized,
    A::Inner: Serialize,
{
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_value_covered(name, self.0.inner(), A::COVERED_BY_REQUEST);
        KeyArgDone
    }
}

/// The argument is an extractor with its own rule (`State`, a `Query` of a type that
/// is not `Serialize`, ...).
pub trait ArgSpecial {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: SpecialArg + ?Sized> ArgSpecial for &KeyProbe<'_, A> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, _: &'static str) -> KeyArgDone {
        self.0.add_to(args);
        KeyArgDone
    }
}

/// Nothing fits.
pub trait ArgNone<A: ?Sized> {
    /// Yields the failing marker.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> NotAKey<A>;
}
impl<A: ?Sized> ArgNone<A> for KeyProbe<'_, A> {
    fn __cachette_key_arg(&self, _: &mut KeyArgs, _: &'static str) -> NotAKey<A> {
        NotAKey(PhantomData)
    }
}

/// An extractor that wraps one value.
pub trait Wrapper {
    /// `true` when the request URI holds the value (`Path`, `Query`).
    const COVERED_BY_REQUEST: bool;
    /// The wrapped type.
    type Inner: ?Sized;
    /// The wrapped value.
    fn inner(&self) -> &Self::Inner;
}

/// Extractor types with their own key rule (see the table in [`crate::key`]).
pub trait SpecialArg {
    /// Adds `self` to `args`.
    fn add_to(&self, args: &mut KeyArgs);
}

#[cfg(feature = "axum")]
mod axum_args {
    use axum::extract::{OriginalUri, Path, Query, State};
    use http::{Method, Uri};

    use super::{KeyArgs, SpecialArg, Wrapper};

    /// `State` is the same for every call: never part of the key.
    impl<S> SpecialArg for State<S> {
        fn add_to(&self, _: &mut KeyArgs) {}
    }

    macro_rules! request_covered {
        ($($ty:ident),*) => {$(
            impl<T> Wrapper for $ty<T> {
                const COVERED_BY_REQUEST: bool = true;
                type Inner = T;
                fn inner(&self) -> &T {
                    &self.0
                }
            }
            /// Covered by the request URI, which HTTP keys include; outside an HTTP
            /// request the call runs uncached.
            impl<T> SpecialArg for $ty<T> {
                fn add_to(&self, args: &mut KeyArgs) {
                    args.mark_needs_request();
                }
            }
        )*};
    }
    request_covered!(Path, Query);

    macro_rules! request_only {
        ($($ty:ty),*) => {$(
            /// Covered by the request, which HTTP keys include; outside an HTTP
            /// request the call runs uncached.
            impl SpecialArg for $ty {
                fn add_to(&self, args: &mut KeyArgs) {
                    args.mark_needs_request();
                }
            }
        )*};
    }
    request_only!(Uri, OriginalUri, Method);

    impl<T: crate::CacheUser> crate::CacheUser for axum::extract::Extension<T> {
        fn cache_user_id(&self) -> String {
            self.0.cache_user_id()
        }
    }

    impl<T> Wrapper for axum::extract::Extension<T> {
        const COVERED_BY_REQUEST: bool = false;
        type Inner = T;
        fn inner(&self) -> &T {
            &self.0
        }
    }
}
