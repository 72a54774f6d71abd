//! The pattern ladder: how the bindings of a parameter written as a pattern are
//! keyed, decided by the type of the whole.

use crate::key::{CacheUser, KeyArgs};

use super::KeyArgCheck;

ladder! {
    /// Wraps a pattern probe to the top of its ladder:
    /// `pattern_ladder(PatternProbe(&whole)).__cachette_pattern(args, name)` gives
    /// the mode its bindings are keyed under.
    fn pattern_ladder, traits pattern_rungs, at pattern_at:
    PatternUserRule > PatternRuleProbe > PatternDefault
}

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

impl<'a, A: ?Sized> PatternProbe<'a, A> {
    /// The parameter, from any rung (method calls deref through the `Rung`s).
    fn probed(&self) -> &'a A {
        self.0
    }
}

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
impl<A: CacheUser + ?Sized> PatternUserRule for pattern_at::PatternUserRule<PatternProbe<'_, A>> {
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> PatternUser {
        args.push_user(name, Some(self.probed().cache_user_id()));
        PatternUser
    }
}

/// The whole has its own rule (`State`, `Path`, `Query`).
pub trait PatternRuleProbe<M> {
    /// Its mode.
    fn __cachette_pattern(&self, args: &mut KeyArgs, name: &'static str) -> M;
}
impl<A: PatternRule + ?Sized> PatternRuleProbe<A::Mode>
    for pattern_at::PatternRuleProbe<PatternProbe<'_, A>>
{
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
impl<A: ?Sized> PatternDefault for pattern_at::PatternDefault<PatternProbe<'_, A>> {
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
