//! The spawn ladder: whether a call's future may run in the background, which a
//! refresh needs (`stale_while_revalidate`, `early_refresh`: the caller gets the
//! stored value at once, and the function runs on in a task of its own).
//!
//! The future of a `#[cached]` call owns its arguments (`async move`), so it can be
//! spawned when it is `Send + 'static`. Lifetimes take no part in method
//! resolution, so the ladder only looks at `Send`: the attribute uses it only for
//! functions whose signature owns everything (no reference, lifetime, generic or
//! `self` receiver), and asks for [`spawnable`] (a compile error on the argument
//! that needs it) when `stale_while_revalidate` or `early_refresh` is written on
//! the function.

use std::future::Future;
use std::marker::PhantomData;

use crate::refresh::Refresh;

ladder! {
    /// Wraps a spawn probe to the top of its ladder:
    /// `spawn_ladder(probe).__cachette_spawn()` picks the mode.
    fn spawn_ladder, traits spawn_rungs, at spawn_at:
    SpawnSend > SpawnNot
}

/// Carries the type of a call's future, to pick a [`SpawnMode`].
#[derive(Debug)]
pub struct SpawnProbe<F>(PhantomData<fn() -> F>);

impl<F> SpawnProbe<F> {
    /// The probe for `future`.
    pub fn of(_future: &F) -> Self {
        SpawnProbe(PhantomData)
    }
}

/// The future is `Send` (and, the attribute checked, `'static`).
pub trait SpawnSend {
    /// Picks the mode.
    fn __cachette_spawn(&self) -> CanSpawn;
}
impl<F: Future + Send> SpawnSend for spawn_at::SpawnSend<SpawnProbe<F>> {
    fn __cachette_spawn(&self) -> CanSpawn {
        CanSpawn
    }
}

/// Any future.
pub trait SpawnNot {
    /// Picks the mode.
    fn __cachette_spawn(&self) -> NoSpawn;
}
impl<F> SpawnNot for spawn_at::SpawnNot<SpawnProbe<F>> {
    fn __cachette_spawn(&self) -> NoSpawn {
        NoSpawn
    }
}

/// The call's future runs in a background task when a refresh is due.
#[derive(Debug, Clone, Copy)]
pub struct CanSpawn;

/// The call's future cannot be spawned: when a stale entry is due for a refresh,
/// the call that would have started it refreshes in line (it waits, every other
/// call gets the stale value at once).
#[derive(Debug, Clone, Copy)]
pub struct NoSpawn;

/// `future` may run in the background: a compile error, spanned at the attribute
/// argument that asks for it, when it is not `Send + 'static`.
#[inline(always)]
pub fn spawnable<F>(_future: &F) -> CanSpawn
where
    F: Future + Send + 'static,
{
    CanSpawn
}

/// How a call whose entry is due for a refresh runs its future: in a task of its
/// own ([`CanSpawn`]), or not at all, handing it back ([`NoSpawn`]).
#[diagnostic::on_unimplemented(
    message = "this function's future cannot run in the background",
    label = "`stale_while_revalidate` and `early_refresh` run the function in a task of its own",
    note = "the future of the call must be `Send + 'static`: take owned arguments (`String`, `Arc<T>`) rather than references"
)]
pub trait SpawnMode<F: Future, T>: Copy {
    /// Spawns `refresh` of `body`, or gives both back.
    // The error hands the future back unchanged: boxing it would cost a
    // refresh an allocation for nothing.
    #[allow(clippy::type_complexity, clippy::result_large_err)]
    fn spawn_refresh(
        self,
        body: F,
        refresh: Refresh<F::Output, T>,
    ) -> Result<(), (F, Refresh<F::Output, T>)>;
}

impl<F: Future, T> SpawnMode<F, T> for NoSpawn {
    fn spawn_refresh(
        self,
        body: F,
        refresh: Refresh<F::Output, T>,
    ) -> Result<(), (F, Refresh<F::Output, T>)> {
        Err((body, refresh))
    }
}

impl<F, T> SpawnMode<F, T> for CanSpawn
where
    F: Future + Send + 'static,
    F::Output: 'static,
    T: 'static,
{
    fn spawn_refresh(
        self,
        body: F,
        refresh: Refresh<F::Output, T>,
    ) -> Result<(), (F, Refresh<F::Output, T>)> {
        refresh.spawn(body)
    }
}
