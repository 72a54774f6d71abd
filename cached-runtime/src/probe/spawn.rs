//! Whether a call's future may run in the background, which a refresh needs
//! (`stale_while_revalidate`, `early_refresh`: the caller gets the stored value at
//! once, and the function runs on in a task of its own).
//!
//! The future of a `#[cached]` call owns its arguments (`async move`), so it can be
//! spawned when it is `Send + 'static`. The attribute asks for [`spawnable`] (a
//! compile error on the argument that needs it) when `stale_while_revalidate` or
//! `early_refresh` is written on the function, and passes [`NoSpawn`] otherwise.
//!
//! Why not decide by type, as the other choices are (`probe`'s ladders)? Whether an
//! async block is `Send` cannot be known while the function that defines it is
//! type-checked: an autoref ladder takes its `Send` rung for every future, and a
//! body holding an `Rc` across an await would stop compiling. Lifetimes take no
//! part in method resolution either, so `'static` could not be chosen on. A
//! function without the arguments therefore refreshes in line when a configured
//! default (`CACHE_STALE_WHILE_REVALIDATE`) makes a refresh due.

use std::future::Future;

use crate::refresh::Refresh;

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
