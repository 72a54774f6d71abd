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

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{self, DecodeError, EncodeError};

/// How a return type `R` is split into the part stored (`T`) and rebuilt from it.
#[derive(Debug)]
pub struct ReturnShape<R, T> {
    /// `Ok(t)`: `t` is stored; `Err(r)`: `r` is not stored (an `Err`, a `None`).
    pub(crate) split: fn(R) -> Result<T, R>,
    /// The return value a stored `T` stands for.
    pub(crate) join: fn(T) -> R,
    /// The bytes stored for `T` by the function whose tag is given.
    pub(crate) encode: fn(&T, u64) -> Result<Vec<u8>, EncodeError>,
    /// `T` back from bytes stored by the function whose tag is given.
    pub(crate) decode: fn(&[u8], u64) -> Result<T, DecodeError>,
}

impl<R, T> Clone for ReturnShape<R, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, T> Copy for ReturnShape<R, T> {}

impl<R, T> ReturnShape<R, T> {
    /// Decodes bytes stored by the function whose tag is `function` into a return
    /// value.
    pub(crate) fn rebuild(&self, bytes: &[u8], function: u64) -> Result<R, DecodeError> {
        (self.decode)(bytes, function).map(self.join)
    }
}

impl<T: Serialize + DeserializeOwned> ReturnShape<T, T> {
    /// Every value is stored.
    pub(crate) fn plain() -> Self {
        ReturnShape {
            split: Ok,
            join: |t| t,
            encode: codec::encode,
            decode: codec::decode,
        }
    }
}

impl<T: Serialize + DeserializeOwned> ReturnShape<Option<T>, T> {
    /// `Some` is stored, never `None`.
    pub(crate) fn option() -> Self {
        ReturnShape {
            split: |r| r.ok_or(None),
            join: Some,
            encode: codec::encode,
            decode: codec::decode,
        }
    }
}

impl<T: Serialize + DeserializeOwned, E> ReturnShape<Result<T, E>, T> {
    /// `Ok` is stored, never `Err`.
    pub(crate) fn result() -> Self {
        ReturnShape {
            split: |r| r.map_err(Err),
            join: Ok,
            encode: codec::encode,
            decode: codec::decode,
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
            encode: codec::encode,
            decode: codec::decode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<R, T>(shape: ReturnShape<R, T>, value: R) -> Option<R> {
        let stored = (shape.split)(value).ok()?;
        let bytes = (shape.encode)(&stored, 7).unwrap();
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
    fn what_is_not_stored_comes_back_unchanged() {
        let r = ReturnShape::<Result<u32, String>, u32>::result();
        assert_eq!((r.split)(Err("boom".into())), Err(Err("boom".to_owned())));
        let ro = ReturnShape::<Result<Option<u32>, u8>, u32>::result_option();
        assert_eq!((ro.split)(Err(7)), Err(Err(7)));
        assert_eq!((ro.split)(Ok(None)), Err(Ok(None)));
    }
}
