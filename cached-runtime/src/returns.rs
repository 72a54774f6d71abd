//! [`ReturnShape`]: what a return type stores of a value, and how it rebuilds one.
//!
//! `Result<T, E>` stores the `T` of an `Ok` and never an `Err`; `Option<T>` the `T` of
//! a `Some`; `Result<Option<T>, E>` the `T` of an `Ok(Some(_))`; any other serde type
//! the value itself. The shape is picked by type at compile time (see
//! `probe::ReturnProbe`), so what is cached is decided by types, not by spelling.
//!
//! Splitting first matters beyond choosing what to store: from the moment the function
//! returned, the value path holds only the stored part `T` (never the whole return
//! value) across the store's await. A `Result<T, Box<dyn Error>>` is not `Send`, but
//! its `T` usually is, so the cached function's future stays `Send` whenever its
//! body's is (see `probe::PutProbe` for a `T` that is not `Send` either).
//!
//! # Typed hits
//!
//! When `T` is `Clone + Send + Sync + 'static` (picked by type too: the `...Typed`
//! rungs of `probe::ret`), the shape also has [`TypedOps`]: the caller that
//! computed a value keeps a clone of it in the entry ([`Entry::decoded`], as a
//! [`Kept`]), and a hit clones it out: no decoding. The kept form carries the tag
//! of the function that stored it, as the bytes' header does, so two functions
//! whose key builders make the same key never read each other's value, even with
//! the same `T`; a kept form of another type or function is read as if it were
//! not there (the bytes decide, and in memory mode, where a typed entry keeps no
//! bytes, that is a miss). Other types go through the bytes on every hit.
//!
//! A typed hit is a `Clone` of the kept value, as with every in-process cache
//! (moka, the `cached` crate): for a type whose `Clone` shares state (`Arc`,
//! `Rc`, `Arc<Mutex<_>>`, other interior mutability), the caller that computed
//! the value and every hit share it, and a change one makes shows in the next
//! hit. Return owned data, or write `#[cached(typed = false)]`: every hit then
//! decodes the stored bytes and no two callers share anything
//! (`ReturnShape::untyped`).
//!
//! One limit: the rungs choose by trait bounds, and method resolution ignores
//! lifetimes, so a return type that is `Clone` but borrows from an argument
//! (`Cow<'a, str>` for an argument `&'a str`) lands on a typed rung and fails its
//! `'static` bound ("lifetime may not live long enough"). Return an owned type
//! (`String`, `Cow<'static, str>`): a hit never borrows from the call anyway.
//!
//! [`Entry::decoded`]: crate::backend::Entry

use std::any::Any;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::Decoded;
use crate::codec::{self, Coder, DecodeError, EncodeError};

/// How a return type `R` is split into the part stored (`T`) and rebuilt from it.
#[derive(Debug)]
pub struct ReturnShape<R, T> {
    /// `Ok(t)`: `t` is stored; `Err(r)`: `r` is not stored (an `Err`, a `None`).
    pub(crate) split: fn(R) -> Result<T, R>,
    /// The return value a stored `T` stands for.
    pub(crate) join: fn(T) -> R,
    /// The bytes stored for `T` by the function whose tag is given, with the
    /// coder given.
    pub(crate) encode: fn(&T, u64, Coder) -> Result<Vec<u8>, EncodeError>,
    /// `T` back from bytes stored by the function whose tag is given, with the
    /// coder given.
    pub(crate) decode: fn(&[u8], u64, Coder) -> Result<T, DecodeError>,
    /// How `T` is kept decoded in an entry, when it can be (see the module doc).
    pub(crate) typed: Option<TypedOps<T>>,
}

impl<R, T> Clone for ReturnShape<R, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, T> Copy for ReturnShape<R, T> {}

/// A value kept decoded in an entry, with the tag of the function that stored it.
#[derive(Debug)]
pub(crate) struct Kept<T> {
    function: u64,
    value: T,
}

/// How a `T` that is `Clone + Send + Sync + 'static` is kept in an entry and read
/// back (see the module doc).
#[derive(Debug)]
pub(crate) struct TypedOps<T> {
    /// The kept form of a clone of the value stored by the function whose tag is
    /// given.
    pub(crate) keep: fn(&T, u64) -> Decoded,
    /// The estimated size in memory of a kept value (`codec::size`): what a
    /// memory entry that keeps it weighs for it.
    pub(crate) size: fn(&T) -> usize,
    /// A clone of the value kept in a kept form, if it is a `T` stored by the
    /// function whose tag is given.
    pub(crate) read: fn(&(dyn Any + Send + Sync), u64) -> Option<T>,
}

impl<T> Clone for TypedOps<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TypedOps<T> {}

impl<T: Serialize + Clone + Send + Sync + 'static> TypedOps<T> {
    fn new() -> Self {
        TypedOps {
            keep: |value, function| {
                Arc::new(Kept {
                    function,
                    value: value.clone(),
                })
            },
            size: codec::size::estimate,
            read: |kept, function| match kept.downcast_ref::<Kept<T>>() {
                Some(kept) if kept.function == function => Some(kept.value.clone()),
                _ => None,
            },
        }
    }
}

impl<R, T> ReturnShape<R, T> {
    /// Decodes bytes stored by the function whose tag is `function` into a return
    /// value.
    #[cfg(test)]
    pub(crate) fn rebuild(&self, bytes: &[u8], function: u64) -> Result<R, DecodeError> {
        (self.decode)(bytes, function, Coder::MsgPack).map(self.join)
    }
}

impl<R, T> ReturnShape<R, T> {
    /// The same shape, reading every hit from the bytes (`#[cached(typed = false)]`).
    pub(crate) fn untyped(mut self) -> Self {
        self.typed = None;
        self
    }
}

impl<R, T: Serialize + Clone + Send + Sync + 'static> ReturnShape<R, T> {
    /// The same shape, keeping values decoded in their entries.
    pub(crate) fn typed(mut self) -> Self {
        self.typed = Some(TypedOps::new());
        self
    }
}

impl<T: Serialize + DeserializeOwned> ReturnShape<T, T> {
    /// Every value is stored.
    pub(crate) fn plain() -> Self {
        ReturnShape {
            split: Ok,
            join: |t| t,
            encode: codec::encode_exact,
            decode: codec::decode_with,
            typed: None,
        }
    }
}

impl<T: Serialize + DeserializeOwned> ReturnShape<Option<T>, T> {
    /// `Some` is stored, never `None`.
    pub(crate) fn option() -> Self {
        ReturnShape {
            split: |r| r.ok_or(None),
            join: Some,
            encode: codec::encode_exact,
            decode: codec::decode_with,
            typed: None,
        }
    }
}

impl<T: Serialize + DeserializeOwned, E> ReturnShape<Result<T, E>, T> {
    /// `Ok` is stored, never `Err`.
    pub(crate) fn result() -> Self {
        ReturnShape {
            split: |r| r.map_err(Err),
            join: Ok,
            encode: codec::encode_exact,
            decode: codec::decode_with,
            typed: None,
        }
    }
}

impl<T: Serialize + DeserializeOwned, E> ReturnShape<Result<Option<T>, E>, T> {
    /// `Ok(Some)` is stored, never `Ok(None)` or `Err`.
    pub(crate) fn result_option() -> Self {
        ReturnShape {
            split: |r| match r {
                Ok(Some(t)) => Ok(t),
                other => Err(other),
            },
            join: |t| Ok(Some(t)),
            encode: codec::encode_exact,
            decode: codec::decode_with,
            typed: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<R, T>(shape: ReturnShape<R, T>, value: R) -> Option<R> {
        let stored = (shape.split)(value).ok()?;
        let bytes = (shape.encode)(&stored, 7, Coder::MsgPack).unwrap();
        Some(shape.rebuild(&bytes, 7).unwrap())
    }

    #[test]
    fn only_success_is_stored() {
        let r = ReturnShape::<Result<u32, String>, u32>::result();
        assert_eq!(round_trip(r, Ok(3)), Some(Ok(3)));
        assert_eq!(round_trip(r, Err("boom".into())), None);

        let o = ReturnShape::<Option<u32>, u32>::option();
        assert_eq!(round_trip(o, Some(4)), Some(Some(4)));
        assert_eq!(round_trip(o, None), None);

        let ro = ReturnShape::<Result<Option<u32>, ()>, u32>::result_option();
        assert_eq!(round_trip(ro, Ok(Some(5))), Some(Ok(Some(5))));
        assert_eq!(round_trip(ro, Ok(None)), None);
        assert_eq!(round_trip(ro, Err(())), None);

        let p = ReturnShape::<String, String>::plain();
        assert_eq!(round_trip(p, "x".to_owned()), Some("x".to_owned()));
    }

    #[test]
    fn a_stored_some_none_is_a_hit_of_some_none() {
        let o = ReturnShape::<Option<Option<u32>>, Option<u32>>::option();
        assert_eq!(round_trip(o, Some(None)), Some(Some(None)));
    }

    #[test]
    fn a_kept_value_is_read_only_by_its_type_and_function() {
        let shape = ReturnShape::<Result<Vec<String>, ()>, Vec<String>>::result().typed();
        let typed = shape.typed.unwrap();
        let value = vec!["ada".to_owned()];
        let (kept, size) = ((typed.keep)(&value, 7), (typed.size)(&value));
        assert!(size >= 3 + std::mem::size_of::<Vec<String>>());
        assert_eq!((typed.read)(&*kept, 7), Some(value));
        assert_eq!((typed.read)(&*kept, 8), None, "another function's value");
        let other = ReturnShape::<Vec<u64>, Vec<u64>>::plain()
            .typed()
            .typed
            .unwrap();
        assert_eq!((other.read)(&*kept, 7), None, "another type's value");
    }

    #[test]
    fn what_is_not_stored_comes_back_unchanged() {
        let r = ReturnShape::<Result<u32, String>, u32>::result();
        assert_eq!((r.split)(Err("boom".into())), Err(Err("boom".to_owned())));
        let ro = ReturnShape::<Result<Option<u32>, u8>, u32>::result_option();
        assert_eq!((ro.split)(Err(7)), Err(Err(7)));
        assert_eq!((ro.split)(Ok(None)), Err(Ok(None)));
    }
}
