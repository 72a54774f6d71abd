//! The return-type ladder: what a `#[cached]` function's return type stores (see
//! the table in the module above).

use std::future::Future;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::returns::ReturnShape;

ladder! {
    /// Wraps a return probe to the top of its ladder:
    /// `return_ladder(probe).__cachette_strategy()` picks the strategy.
    fn return_ladder, traits return_rungs, at return_at:
    ReturnBorrowed > ReturnResultOptionTyped > ReturnResultOption > ReturnResultTyped
        > ReturnResult > ReturnOptionTyped > ReturnOption > ReturnValueTyped > ReturnValue
        > ReturnHttp > ReturnNone
}

/// Carries the return type `R` of a `#[cached]` function.
#[derive(Debug)]
pub struct ReturnProbe<R>(PhantomData<fn() -> R>);

impl<R> ReturnProbe<R> {
    /// The probe for the output of `future` (the function's body).
    pub fn of<F: Future<Output = R>>(_future: &F) -> Self {
        ReturnProbe(PhantomData)
    }

    /// The probe for `R` itself.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
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
    /// How `R` becomes a response, for types cached as HTTP responses (a
    /// handler's background refresh stores it).
    #[cfg(feature = "axum")]
    #[doc(hidden)]
    fn respond(&self) -> Option<fn(R) -> axum::response::Response> {
        None
    }
}

/// The part of a return value that is stored (`T` of `Result<T, E>`); `()` when the
/// value is not stored as a serde value (HTTP responses, uncacheable types).
pub trait StoredType {
    /// What is stored.
    type Stored;
}

/// `R` is stored as a MessagePack value of `T`.
#[derive(Debug)]
pub struct ValueStrategy<R, T>(pub(crate) ReturnShape<R, T>);

impl<R, T> StoredType for ValueStrategy<R, T> {
    type Stored = T;
}

#[diagnostic::do_not_recommend]
impl<R, T> CacheStrategy<R> for ValueStrategy<R, T> {
    const HTTP: bool = false;
    fn shape(&self) -> Option<ReturnShape<R, T>> {
        Some(self.0)
    }
}

/// `R` is an HTTP response: cached as the response's bytes by the tower layer.
#[derive(Debug)]
pub struct HttpStrategy<R> {
    /// `R`'s `IntoResponse`.
    #[cfg(feature = "axum")]
    respond: fn(R) -> axum::response::Response,
    _returns: PhantomData<fn() -> R>,
}

#[cfg(feature = "axum")]
impl<R: axum::response::IntoResponse> HttpStrategy<R> {
    pub(crate) fn new() -> Self {
        HttpStrategy {
            respond: R::into_response,
            _returns: PhantomData,
        }
    }
}

impl<R> StoredType for HttpStrategy<R> {
    type Stored = ();
}

#[diagnostic::do_not_recommend]
impl<R> CacheStrategy<R> for HttpStrategy<R> {
    const HTTP: bool = true;
    fn shape(&self) -> Option<ReturnShape<R, ()>> {
        None
    }
    #[cfg(feature = "axum")]
    fn respond(&self) -> Option<fn(R) -> axum::response::Response> {
        Some(self.respond)
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
#[diagnostic::do_not_recommend]
impl<R: axum::response::IntoResponse> CacheStrategy<R> for BorrowedStrategy<R> {
    const HTTP: bool = true;
    fn shape(&self) -> Option<ReturnShape<R, ()>> {
        None
    }
    fn respond(&self) -> Option<fn(R) -> axum::response::Response> {
        Some(R::into_response)
    }
}

/// `R` cannot be cached: no `CacheStrategy` impl, hence the compile error above.
#[derive(Debug)]
pub struct Uncacheable<R>(PhantomData<fn() -> R>);

impl<R> StoredType for Uncacheable<R> {
    type Stored = ();
}

/// `&'static str`, `&'static [u8]`, and a `Result` of either: borrowed data.
pub trait ReturnBorrowed<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> BorrowedStrategy<R>;
}
macro_rules! borrowed_rungs {
    ($($ty:ty),*) => {$(
        impl<E> ReturnBorrowed<Result<$ty, E>> for return_at::ReturnBorrowed<ReturnProbe<Result<$ty, E>>> {
            fn __cachette_strategy(&self) -> BorrowedStrategy<Result<$ty, E>> {
                BorrowedStrategy(PhantomData)
            }
        }
        impl ReturnBorrowed<$ty> for return_at::ReturnBorrowed<ReturnProbe<$ty>> {
            fn __cachette_strategy(&self) -> BorrowedStrategy<$ty> {
                BorrowedStrategy(PhantomData)
            }
        }
    )*};
}
borrowed_rungs!(&'static str, &'static [u8]);

/// `Result<Option<T>, E>`, the stored value `Clone + Send + Sync + 'static`: kept decoded in its
/// entry, so a hit is a clone (see `returns`, "Typed hits").
pub trait ReturnResultOptionTyped<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T, E> ReturnResultOptionTyped<Result<Option<T>, E>, T>
    for return_at::ReturnResultOptionTyped<ReturnProbe<Result<Option<T>, E>>>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<Option<T>, E>, T> {
        ValueStrategy(ReturnShape::result_option().typed())
    }
}

/// `Result<Option<T>, E>`: stores `Ok(Some(_))`.
pub trait ReturnResultOption<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResultOption<Result<Option<T>, E>, T>
    for return_at::ReturnResultOption<ReturnProbe<Result<Option<T>, E>>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<Option<T>, E>, T> {
        ValueStrategy(ReturnShape::result_option())
    }
}

/// `Result<T, E>`, the stored value `Clone + Send + Sync + 'static`: kept decoded in its
/// entry, so a hit is a clone (see `returns`, "Typed hits").
pub trait ReturnResultTyped<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T, E> ReturnResultTyped<Result<T, E>, T>
    for return_at::ReturnResultTyped<ReturnProbe<Result<T, E>>>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<T, E>, T> {
        ValueStrategy(ReturnShape::result().typed())
    }
}

/// `Result<T, E>`: stores `Ok(_)`.
pub trait ReturnResult<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned, E> ReturnResult<Result<T, E>, T>
    for return_at::ReturnResult<ReturnProbe<Result<T, E>>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Result<T, E>, T> {
        ValueStrategy(ReturnShape::result())
    }
}

/// `Option<T>`, the stored value `Clone + Send + Sync + 'static`: kept decoded in its
/// entry, so a hit is a clone (see `returns`, "Typed hits").
pub trait ReturnOptionTyped<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T> ReturnOptionTyped<Option<T>, T> for return_at::ReturnOptionTyped<ReturnProbe<Option<T>>>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn __cachette_strategy(&self) -> ValueStrategy<Option<T>, T> {
        ValueStrategy(ReturnShape::option().typed())
    }
}

/// `Option<T>`: stores `Some(_)`.
pub trait ReturnOption<R, T> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, T>;
}
impl<T: Serialize + DeserializeOwned> ReturnOption<Option<T>, T>
    for return_at::ReturnOption<ReturnProbe<Option<T>>>
{
    fn __cachette_strategy(&self) -> ValueStrategy<Option<T>, T> {
        ValueStrategy(ReturnShape::option())
    }
}

/// Any other serde value, `Clone + Send + Sync + 'static`: kept decoded in its
/// entry (see `returns`, "Typed hits").
pub trait ReturnValueTyped<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, R>;
}
impl<T> ReturnValueTyped<T> for return_at::ReturnValueTyped<ReturnProbe<T>>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn __cachette_strategy(&self) -> ValueStrategy<T, T> {
        ValueStrategy(ReturnShape::plain().typed())
    }
}

/// Any other serde value: stored as is. Above `ReturnHttp`: see the module doc for
/// why `String` is a value.
pub trait ReturnValue<R> {
    /// Picks the strategy.
    fn __cachette_strategy(&self) -> ValueStrategy<R, R>;
}
impl<T: Serialize + DeserializeOwned> ReturnValue<T> for return_at::ReturnValue<ReturnProbe<T>> {
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
impl<T: axum::response::IntoResponse> ReturnHttp<T> for return_at::ReturnHttp<ReturnProbe<T>> {
    fn __cachette_strategy(&self) -> HttpStrategy<T> {
        HttpStrategy::new()
    }
}

/// Nothing fits.
pub trait ReturnNone<R> {
    /// Picks the (failing) strategy.
    fn __cachette_strategy(&self) -> Uncacheable<R>;
}
impl<T> ReturnNone<T> for return_at::ReturnNone<ReturnProbe<T>> {
    fn __cachette_strategy(&self) -> Uncacheable<T> {
        Uncacheable(PhantomData)
    }
}
