//! What the code `#[cached]` generates calls. Not a public API: names and signatures
//! change without notice.

pub use crate::entry::{Call, cached};
pub use crate::key::args::KeyArgs;
pub use crate::key::context::{IntoKey, KeyContext};
pub use crate::probe::{
    CacheStrategy, KeyProbe, PatternProbe, PutProbe, ReturnProbe, SpawnPut, check_binding,
    check_key_arg, key_binding, key_ladder, key_rungs, pattern_ladder, pattern_rungs, put_ladder,
    put_rungs, return_ladder, return_rungs, spawnable,
};
// Named in compile errors: re-exported here so that the errors name them by a path
// of the crate the user depends on, not by the runtime's internal modules.
pub use crate::codec::Coder;
pub use crate::probe::{
    AcceptBinding, BorrowedStrategy, CanSpawn, HttpStrategy, KeyArgCheck, KeyArgDone, Modes,
    NoSpawn, NotAKey, PatternBindings, SpawnMode, Uncacheable, ValueStrategy,
};
pub use crate::refresh::Refresh;
pub use crate::spec::{KeyBuilderFn, Spec};

/// `false` when no enabled cache can be current, so `#[cached]` calls the function
/// directly. One relaxed atomic load.
#[inline(always)]
pub fn active() -> bool {
    crate::global::active()
}

/// Checks that the strategy the probe picked can cache `future`'s output (a
/// compile error on the return type otherwise).
#[inline(always)]
pub fn check_strategy<F, S>(_future: &F, strategy: S) -> S
where
    F: std::future::Future,
    S: CacheStrategy<F::Output>,
{
    strategy
}

/// The strategy of a function declared `-> impl IntoResponse`.
#[cfg(feature = "axum")]
#[inline(always)]
pub fn http_strategy<F>(_future: &F) -> crate::probe::HttpStrategy<F::Output>
where
    F: std::future::Future,
    F::Output: axum::response::IntoResponse,
{
    crate::probe::HttpStrategy::new()
}

/// The type name of `marker`, a closure written in the body of the function:
/// its path followed by `::{{closure}}`s (`my_app::repo::UserRepo::count`,
/// `<my_app::A as my_app::Repo>::count`, `my_app::row_count<my_app::Users>`; the
/// runtime strips the closures, once per function). A closure's type name carries
/// the impl's `Self` type, the trait, and every generic argument of the call,
/// which the attribute cannot see; it is a constant, so this costs nothing at run
/// time.
#[inline(always)]
pub fn function_path<F>(_marker: &F) -> &'static str {
    std::any::type_name::<F>()
}

/// Adapts a key builder's return value.
#[inline]
pub fn into_key<K: IntoKey>(key: K) -> Option<String> {
    key.into_key()
}

/// Runs `f` out of line: the key rendering of the enabled path is kept out of the
/// caller's code, so that the disabled path compiles to almost a plain call.
#[cold]
#[inline(never)]
pub fn cold<R>(f: impl FnOnce() -> R) -> R {
    f()
}
