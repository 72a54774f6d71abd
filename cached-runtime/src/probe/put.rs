//! The store ladder: whether the value path awaits a store while it holds the
//! stored value, or hands the store to a background task.

use std::marker::PhantomData;

use super::StoredType;

ladder! {
    /// Wraps a put probe to the top of its ladder:
    /// `put_ladder(probe).__cachette_put()` picks the mode.
    fn put_ladder, traits put_rungs, at put_at:
    PutAwait > PutSpawn
}

/// Carries the stored type `T` of a strategy, to pick a `PutMode`.
#[derive(Debug)]
pub struct PutProbe<T>(PhantomData<fn() -> T>);

impl<T> PutProbe<T> {
    /// The probe for what `strategy` stores.
    pub fn of<S: StoredType<Stored = T>>(_strategy: &S) -> Self {
        PutProbe(PhantomData)
    }

    /// The probe for the output of `future` (the function's return value):
    /// whether the call may hold it across an await (`stale_if_error`'s check
    /// of its fallback on Redis, see `cached::compute`).
    pub fn output_of<F: std::future::Future<Output = T>>(_future: &F) -> Self {
        PutProbe(PhantomData)
    }

    /// The probe for `T` itself.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
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
impl<T: Send> PutAwait for put_at::PutAwait<PutProbe<T>> {
    fn __cachette_put(&self) -> AwaitPut {
        AwaitPut
    }
}

/// Any stored value.
pub trait PutSpawn {
    /// Picks the mode.
    fn __cachette_put(&self) -> SpawnPut;
}
impl<T> PutSpawn for put_at::PutSpawn<PutProbe<T>> {
    fn __cachette_put(&self) -> SpawnPut {
        SpawnPut
    }
}

/// The two modes the generated code passes as its `put` argument: how the
/// stored value `T` is stored (`Put`), and whether the output `R` may be held
/// across an await (`Output`: `AwaitPut` when `R` is `Send`). Implemented for
/// the pair `(put, output)`.
pub trait Modes<T, R> {
    /// How the stored value is stored.
    type Put: PutMode<T>;
    /// Whether the output may be held across an await.
    type Output: PutMode<R>;
}

impl<T, R, A: PutMode<T>, B: PutMode<R>> Modes<T, R> for (A, B) {
    type Put = A;
    type Output = B;
}
