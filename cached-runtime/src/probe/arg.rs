//! The argument ladder: what one key-relevant argument (or binding of a pattern)
//! puts in the key.

use std::marker::PhantomData;

use serde::Serialize;

use crate::key::{CacheUser, KeyArgs};

ladder! {
    /// Wraps a key probe to the top of its ladder:
    /// `key_ladder(KeyProbe(&arg)).__cachette_key_arg(args, name)` keys `arg`.
    fn key_ladder, traits key_rungs, at key_at:
    ArgUser > ArgOptionalUser > ArgValue > ArgInnerValue > ArgSpecial > ArgNone
}

/// Carries a reference to one key-relevant argument.
#[derive(Debug)]
pub struct KeyProbe<'a, A: ?Sized>(pub &'a A);

impl<'a, A: ?Sized> KeyProbe<'a, A> {
    /// The argument, from any rung (method calls deref through the `Rung`s).
    fn probed(&self) -> &'a A {
        self.0
    }
}

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
#[diagnostic::do_not_recommend]
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
impl<A: CacheUser + ?Sized> ArgUser for key_at::ArgUser<KeyProbe<'_, A>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_user(name, Some(self.probed().cache_user_id()));
        KeyArgDone
    }
}

/// The argument is an optional user (an optional auth extractor).
pub trait ArgOptionalUser {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: CacheUser> ArgOptionalUser for key_at::ArgOptionalUser<KeyProbe<'_, Option<A>>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_user(name, self.probed().as_ref().map(CacheUser::cache_user_id));
        KeyArgDone
    }
}

/// The argument is a serde value.
pub trait ArgValue {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: Serialize + ?Sized> ArgValue for key_at::ArgValue<KeyProbe<'_, A>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        args.push_value(name, self.probed());
        KeyArgDone
    }
}

/// The argument is an extractor around a serde value (`Path<u64>`, `Query<Params>`).
pub trait ArgInnerValue {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A> ArgInnerValue for key_at::ArgInnerValue<KeyProbe<'_, A>>
where
    A: Wrapper + ?Sized,
    A::Inner: Serialize,
{
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        if A::COVERED_BY_REQUEST {
            args.mark_extractor();
        }
        args.push_value_covered(name, self.probed().inner(), A::COVERED_BY_REQUEST);
        KeyArgDone
    }
}

/// The argument is an extractor with its own rule (`State`, a `Query` of a type that
/// is not `Serialize`, ...).
pub trait ArgSpecial {
    /// Adds the argument to `args`.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone;
}
impl<A: SpecialArg + ?Sized> ArgSpecial for key_at::ArgSpecial<KeyProbe<'_, A>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> KeyArgDone {
        self.probed().add_to(args, name);
        KeyArgDone
    }
}

/// Nothing fits.
pub trait ArgNone<A: ?Sized> {
    /// Yields the failing marker.
    fn __cachette_key_arg(&self, args: &mut KeyArgs, name: &'static str) -> NotAKey<A>;
}
impl<A: ?Sized> ArgNone<A> for key_at::ArgNone<KeyProbe<'_, A>> {
    fn __cachette_key_arg(&self, args: &mut KeyArgs, _: &'static str) -> NotAKey<A> {
        // Only reached for a binding of a `Path`/`Query` pattern (anything else is a
        // compile error): the request URI covers it.
        args.mark_needs_request();
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

/// Extractor types with their own key rule (see the table in `crate::key`).
pub trait SpecialArg {
    /// Adds `self`, the argument called `name`, to `args`.
    fn add_to(&self, args: &mut KeyArgs, name: &'static str);
}
