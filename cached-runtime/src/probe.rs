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

use crate::key::{CacheUser, KeyArgs};
use crate::returns::ReturnShape;

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
pub trait CacheStrategy<R>: StoredType {
    /// `true` when `R` is an HTTP response to be cached through the tower layer.
    const HTTP: bool;
    /// How values are stored, for types cached as values.
    fn shape(&self) -> Option<ReturnShape<R, Self::Stored>>;
}

/// The part of a return value that is stored (`T` of `Result<T, E>`); `()` when the
/// value is not stored as a serde value (HTTP responses, uncacheable types).
pub trait StoredType {
    /// What is stored.
    type Stored;
}

/// `R` is stored as a MessagePack value of `T`.
#[derive(Debug)]
pub struct ValueStrategy<R, T>(ReturnShape<R, T>);

impl<R, T> StoredType for ValueStrategy<R, T> {
    type Stored = T;
}

impl<R, T> CacheStrategy<R> for ValueStrategy<R, T> {
    const HTTP: bool = false;
    fn shape(&self) -> Option<ReturnShape<R, T>> {
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

impl<R> StoredType for HttpStrategy<R> {
    type Stored = ();
}

impl<R> CacheStrategy<R> for HttpStrategy<R> {
    const HTTP: bool = true;
    fn shape(&self) -> Option<ReturnShape<R, ()>> {
        None
    }
}

/// `R` holds borrowed data (`&'static str`, `&'static [u8]`, maybe inside a
/// `Result`): it cannot be read back as a value, so it is cached as an HTTP response
/// when it is one, and is a compile error otherwise (never the "not general enough"
/// error the value rungs would give).
#[derive(Debug)]
pub struct BorrowedStrategy<R>(PhantomData<fn() -> R>);

impl<R> StoredType for BorrowedStrategy<R> {
    type Stored = ();
}

#[cfg(feature = "axum")]
impl<R: axum::response::IntoResponse> CacheStrategy<R> for BorrowedStrategy<R> {
    const HTTP: bool = true;
    fn shape(&self) -> Option<ReturnShape<R, ()>> {
        None
    }
}

/// `&'static str`, `&'static [u8]`, and a `Result` of either: borrowed data, above
/// the value rungs of the same shape.
pub trait ReturnBorrowed<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> BorrowedStrategy<R>;
}
macro_rules! borrowed_rungs {
    ($($ty:ty),*) => {$(
        impl<E> ReturnBorrowed<Result<$ty, E>> for &&&&&ReturnProbe<Result<$ty, E>> {
            fn __cachette_strategy(&self) -> BorrowedStrategy<Result<$ty, E>> {
                BorrowedStrategy(PhantomData)
            }
        }
        impl ReturnBorrowed<$ty> for &&&ReturnProbe<$ty> {
            fn __cachette_strategy(&self) -> BorrowedStrategy<$ty> {
                BorrowedStrategy(PhantomData)
            }
        }
    )*};
}
borrowed_rungs!(&'static str, &'static [u8]);

/// `R` cannot be cached: no `CacheStrategy` impl, hence the compile error above.
#[derive(Debug)]
pub struct Uncacheable<R>(PhantomData<fn() -> R>);

impl<R> StoredType for Uncacheable<R> {
    type Stored = ();
}

/// `Result<Option<T>, E>`: stores `Ok(Some(_))`.
pub trait ReturnResultOption<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResultOption<Result<Option<T>, E>, T>
    for &&&&&ReturnProbe<Result<Option<T>, E>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<Option<T>, E>, T> {
        ValueStrategy(ReturnShape::result_option())
    }
}

/// `Result<T, E>`: stores `Ok(_)`.
pub trait ReturnResult<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResult<Result<T, E>, T>
    for &&&&ReturnProbe<Result<T, E>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<T, E>, T> {
        ValueStrategy(ReturnShape::result())
    }
}

/// `Option<T>`: stores `Some(_)`.
pub trait ReturnOption<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned> ReturnOption<Option<T>, T> for &&&ReturnProbe<Option<T>> {
    fn __cachette_strategy(&self) -> ValueStrategy<Option<T>, T> {
        ValueStrategy(ReturnShape::option())
    }
}

/// Any other serde value: stored as is.
pub trait ReturnValue<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, R>;
}
impl<T: Serialize + DeserializeOwned> ReturnValue<T> for &&ReturnProbe<T> {
    fn __cachette_strategy(&self) -> ValueStrategy<T, T> {
        ValueStrategy(ReturnShape::plain())
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
// Storing without holding a value that is not `Send`
// ---------------------------------------------------------------------------

/// Carries the stored type `T` of a strategy, to pick a `PutMode`.
#[derive(Debug)]
pub struct PutProbe<T>(PhantomData<fn() -> T>);

impl<T> PutProbe<T> {
    /// The probe for what `strategy` stores.
    pub fn of<S: StoredType<Stored = T>>(_strategy: &S) -> Self {
        PutProbe(PhantomData)
    }
}

/// How the value path finishes a store: by awaiting it while it holds the stored
/// value (`AwaitPut`, when that value is `Send`), or by handing the store to a
/// background task and returning at once (`SpawnPut`), so that a `Send` body
/// never makes a `!Send` future.
///
/// Only `Self::Held` lives across the store's await. It is `T` for `AwaitPut`, and
/// the uninhabited, `Send` `Infallible` for `SpawnPut`, which returns before any
/// await: the compiler then sees no `T` held across an await point.
pub trait PutMode<T> {
    /// What lives across the store's await.
    type Held;
    /// `Ok(t)`: return `t` now, the store finishes in the background; `Err(held)`:
    /// await the store, then `PutMode::release` `held`.
    fn hold(value: T) -> Result<T, Self::Held>;
    /// The stored value back after the store's await.
    fn release(held: Self::Held) -> T;
}

/// The stored value is `Send`: the store is awaited before the call returns, so the
/// value is in the store (shared with other processes, in Redis mode) by then.
#[derive(Debug, Clone, Copy)]
pub struct AwaitPut;

impl<T> PutMode<T> for AwaitPut {
    type Held = T;
    fn hold(value: T) -> Result<T, T> {
        Err(value)
    }
    fn release(held: T) -> T {
        held
    }
}

/// The stored value is not `Send`: the call returns at once and the store finishes in
/// a background task; until it has, the call's single flight stays open, so this
/// process's next calls on the key wait for it rather than computing again.
#[derive(Debug, Clone, Copy)]
pub struct SpawnPut;

impl<T> PutMode<T> for SpawnPut {
    type Held = std::convert::Infallible;
    fn hold(value: T) -> Result<T, std::convert::Infallible> {
        Ok(value)
    }
    fn release(held: std::convert::Infallible) -> T {
        match held {}
    }
}

/// The stored value is `Send`.
pub trait PutAwait {
    /// Picks the mode.
    fn __cachette_put(&self) -> AwaitPut;
}
impl<T: Send> PutAwait for &PutProbe<T> {
    fn __cachette_put(&self) -> AwaitPut {
        AwaitPut
    }
}

/// Any stored value.
pub trait PutSpawn {
    /// Picks the mode.
    fn __cachette_put(&self) -> SpawnPut;
}
impl<T> PutSpawn for PutProbe<T> {
    fn __cachette_put(&self) -> SpawnPut {
        SpawnPut
    }
}

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/// Carries a reference to one key-relevant argument.
#[derive(Debug)]
pub struct KeyProbe<'a, A: ?Sized>(pub &'a A);

/// What the probe did with an argument. Only `KeyArgDone` passes the check; an
/// argument no rule accepts yields `NotAKey` and a compile error.
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

/// The argument could not be handled (see `KeyArgCheck`).
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
        if A::COVERED_BY_REQUEST {
            args.mark_extractor();
        }
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
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        self.0.add_to(args, name);
        KeyArgDone
    }
}

/// Nothing fits.
pub trait ArgNone<A: ?Sized> {
    /// Yields the failing marker.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> NotAKey<A>;
}
impl<A: ?Sized> ArgNone<A> for KeyProbe<'_, A> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, _: &'static str) -> NotAKey<A> {
        // Only reached for a binding of a `Path`/`Query` pattern (anything else is a
        // compile error): the request URI covers it.
        args.mark_needs_request();
        NotAKey(PhantomData)
    }
}

// ---------------------------------------------------------------------------
// Destructuring patterns
// ---------------------------------------------------------------------------

/// Carries a reference to a parameter written as a destructuring pattern
/// (`Path(id): Path<u64>`, `Ctx { db, tenant }: Ctx`), to decide how its bindings
/// are keyed:
///
/// | the whole parameter | its bindings |
/// |---|---|
/// | implements `CacheUser` | not keyed: the user's id is (`PatternUser`) |
/// | `State<S>` | not keyed (`PatternIgnore`) |
/// | `Path<T>` / `Query<T>` | keyed when they can be; the others are covered by the request URI (`PatternRequest`) |
/// | anything else | each keyed, or a compile error on the binding that cannot be (`PatternBindings`) |
#[derive(Debug)]
pub struct PatternProbe<'a, A: ?Sized>(pub &'a A);

/// The bindings are not keyed: the whole is the application state.
#[derive(Debug)]
#[cfg_attr(not(feature = "axum"), allow(dead_code, unreachable_pub))]
pub struct PatternIgnore;
/// The bindings are not keyed: the whole is the user, keyed by its id.
#[derive(Debug)]
pub struct PatternUser;
/// The bindings of a `Path`/`Query`: keyed when they can be, else covered by the
/// request URI.
#[derive(Debug)]
#[cfg_attr(not(feature = "axum"), allow(dead_code, unreachable_pub))]
pub struct PatternRequest;
/// Every binding is keyed.
#[derive(Debug)]
pub struct PatternBindings;

/// How a pattern's bindings are keyed.
pub trait PatternMode {
    /// Whether the bindings are rendered into the key at all.
    const KEYED: bool;
    /// Whether the request URI already holds them (`Path`, `Query`).
    const COVERED_BY_REQUEST: bool;
}
impl PatternMode for PatternIgnore {
    const KEYED: bool = false;
    const COVERED_BY_REQUEST: bool = false;
}
impl PatternMode for PatternUser {
    const KEYED: bool = false;
    const COVERED_BY_REQUEST: bool = false;
}
impl PatternMode for PatternRequest {
    const KEYED: bool = true;
    const COVERED_BY_REQUEST: bool = true;
}
impl PatternMode for PatternBindings {
    const KEYED: bool = true;
    const COVERED_BY_REQUEST: bool = false;
}

/// Whether a binding whose probe gave `R` is acceptable under this mode: always,
/// but under `PatternBindings`, where it must have been keyed (`KeyArgCheck`,
/// whose error names the binding).
pub trait AcceptBinding<R> {}
impl<R> AcceptBinding<R> for PatternIgnore {}
impl<R> AcceptBinding<R> for PatternUser {}
impl<R> AcceptBinding<R> for PatternRequest {}
impl<R: KeyArgCheck> AcceptBinding<R> for PatternBindings {}

/// Keys one binding of a pattern (`key` renders it into `args`, and checks it with
/// [`check_binding`]) when `mode` keys bindings.
pub fn key_binding<M: PatternMode>(
    mode: &M,
    args: &mut KeyArgs,
    key: impl FnOnce(&mut KeyArgs, &M),
) {
    if M::KEYED {
        args.set_covered(M::COVERED_BY_REQUEST);
        key(args, mode);
        args.set_covered(false);
    }
}

/// Compiles only when a binding whose probe gave `R` is acceptable under `mode`
/// (the error points at the binding).
pub fn check_binding<M: AcceptBinding<R>, R>(_mode: &M, _probed: R) {}

/// The whole is the user.
pub trait PatternUserRule {
    /// Keys the user; its bindings are not keyed.
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> PatternUser;
}
impl<A: CacheUser + ?Sized> PatternUserRule for &&PatternProbe<'_, A> {
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> PatternUser {
        args.push_user(name, Some(self.0.cache_user_id()));
        PatternUser
    }
}

/// The whole has its own rule (`State`, `Path`, `Query`).
pub trait PatternRuleProbe<M> {
    /// Its mode.
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> M;
}
impl<A: PatternRule + ?Sized> PatternRuleProbe<A::Mode> for &PatternProbe<'_, A> {
    fn __cachette_pattern(&self, args: &mut KeyArgs, _: &'static str) -> A::Mode {
        // `State`, `Path`, `Query`: extractors of the request.
        args.mark_extractor();
        A::MODE
    }
}

/// Anything else: every binding is keyed.
pub trait PatternDefault {
    /// Its mode.
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> PatternBindings;
}
impl<A: ?Sized> PatternDefault for PatternProbe<'_, A> {
    fn __cachette_pattern(&self, _: &mut KeyArgs, _: &'static str) -> PatternBindings {
        PatternBindings
    }
}

/// Extractor types whose patterns have their own rule (see `PatternProbe`).
pub trait PatternRule {
    /// The mode.
    type Mode: PatternMode;
    /// The mode's value.
    const MODE: Self::Mode;
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

/// Extractor types with their own key rule (see the table in `crate::key`).
pub trait SpecialArg {
    /// Adds `self`, the argument called `name`, to `args`.
    fn add_to(&self, args: &mut KeyArgs, name: &'static str);
}

#[cfg(feature = "axum")]
mod axum_args {
    use axum::extract::{OriginalUri, Path, Query, RawQuery, State};
    use http::{Method, Uri};

    use super::{KeyArgs, PatternIgnore, PatternRequest, PatternRule, SpecialArg, Wrapper};

    /// `State` is not rendered: it is the same for every call of one route and
    /// host, which a handler's key covers (its request line).
    impl<S> SpecialArg for State<S> {
        fn add_to(&self, args: &mut KeyArgs, _: &'static str) {
            args.mark_extractor();
        }
    }

    impl<S> PatternRule for State<S> {
        type Mode = PatternIgnore;
        const MODE: PatternIgnore = PatternIgnore;
    }

    impl<T> PatternRule for Path<T> {
        type Mode = PatternRequest;
        const MODE: PatternRequest = PatternRequest;
    }

    impl<T> PatternRule for Query<T> {
        type Mode = PatternRequest;
        const MODE: PatternRequest = PatternRequest;
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
            /// Covered by the request URI, which HTTP keys include; a value call
            /// that is not the handler of the request being served runs uncached.
            impl<T> SpecialArg for $ty<T> {
                fn add_to(&self, args: &mut KeyArgs, _: &'static str) {
                    args.mark_needs_request();
                }
            }
        )*};
    }
    request_covered!(Path, Query);

    /// Parts of the request line, keyed by their value (so a `Uri` built by hand is
    /// keyed by itself, not by the request being served), marked covered: HTTP keys
    /// hold the target and the query already, and GET and HEAD share entries.
    impl SpecialArg for Uri {
        fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
            args.mark_extractor();
            args.push_value_covered(name, &self.to_string(), true);
        }
    }

    impl SpecialArg for OriginalUri {
        fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
            args.mark_extractor();
            args.push_value_covered(name, &self.0.to_string(), true);
        }
    }

    impl SpecialArg for Method {
        fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
            args.mark_extractor();
            args.push_value_covered(name, self.as_str(), true);
        }
    }

    impl SpecialArg for RawQuery {
        fn add_to(&self, args: &mut KeyArgs, name: &'static str) {
            args.mark_extractor();
            args.push_value_covered(name, &self.0, true);
        }
    }

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
