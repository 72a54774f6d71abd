//! The JSON coder (`CACHE_CODER=json`, `#[cached(coder = json)]`): values stored as
//! JSON after the same header as MessagePack's, so they read as text in
//! `redis-cli`. Written and read by `serde_json`.
//!
//! # A hit equals the miss, or nothing is stored
//!
//! JSON cannot write every serde value so that it reads back the same. Two cases
//! would come back different, so the coder refuses to *store* them (the caller
//! still gets its value; the cache logs why and counts an error), instead of
//! serving something else later:
//!
//! - a `Some` of a value that JSON writes as `null` (`Some(None)`, `Some(())`,
//!   `Some` of a unit struct, at any depth): it would read back as `None`;
//! - a float that is not finite (`NaN`, `inf`): JSON writes `null`, which does not
//!   read back as a float.
//!
//! Both are found by walking the value once before writing it ([`Check`]), which
//! costs about what the writing does, on misses only. Map keys JSON cannot hold
//! (anything but strings, numbers, `bool`s and `char`s) are refused by `serde_json`
//! itself. MessagePack, the default, has neither limit (see the [module
//! docs](super)).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{self, Serializer};

use super::{DecodeError, EncodeError};

/// Appends `value` as JSON to `out`, or says why JSON cannot hold it exactly.
pub(super) fn encode<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    value
        .serialize(Check { in_some: false })
        .map_err(|e| EncodeError(format!("JSON cannot store this value exactly: {}", e.0)))?;
    serde_json::to_writer(out, value).map_err(|e| EncodeError(format!("JSON encoding failed: {e}")))
}

/// Reads what [`encode`] wrote (the payload after the header).
pub(super) fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(payload).map_err(|e| DecodeError(format!("JSON: {e}")))
}

/// Why a value cannot be stored as JSON exactly.
#[derive(Debug)]
pub(super) struct Inexact(String);

impl std::fmt::Display for Inexact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Inexact {}

impl ser::Error for Inexact {
    fn custom<M: std::fmt::Display>(message: M) -> Self {
        Inexact(message.to_string())
    }
}

/// A serializer that writes nothing and fails on what JSON cannot hold exactly.
/// `in_some`: the value being walked is the content of a `Some`, and this is its
/// first call (a value that starts with `null` there is ambiguous).
#[derive(Clone, Copy)]
struct Check {
    in_some: bool,
}

const OPEN: Check = Check { in_some: false };

impl Check {
    fn null(self, what: &str) -> Result<(), Inexact> {
        if self.in_some {
            Err(Inexact(format!(
                "Some({what}) is written as null and would read back as None"
            )))
        } else {
            Ok(())
        }
    }

    fn float(value: f64) -> Result<(), Inexact> {
        if value.is_finite() {
            Ok(())
        } else {
            Err(Inexact(format!(
                "the float {value} is written as null and would not read back"
            )))
        }
    }
}

macro_rules! fine {
    ($($method:ident($type:ty)),* $(,)?) => {$(
        fn $method(self, _: $type) -> Result<(), Inexact> {
            Ok(())
        }
    )*};
}

impl Serializer for Check {
    type Ok = ();
    type Error = Inexact;
    type SerializeSeq = Check;
    type SerializeTuple = Check;
    type SerializeTupleStruct = Check;
    type SerializeTupleVariant = Check;
    type SerializeMap = Check;
    type SerializeStruct = Check;
    type SerializeStructVariant = Check;

    fine!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
    );

    fn serialize_f32(self, v: f32) -> Result<(), Inexact> {
        Check::float(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Inexact> {
        Check::float(v)
    }

    fn serialize_none(self) -> Result<(), Inexact> {
        self.null("None")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Inexact> {
        value.serialize(Check { in_some: true })
    }

    fn serialize_unit(self) -> Result<(), Inexact> {
        self.null("()")
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Inexact> {
        self.null(name)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Inexact> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Inexact> {
        // Transparent in JSON: its content is what a `Some` around it holds.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Inexact> {
        value.serialize(OPEN)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_tuple(self, _: usize) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Check, Inexact> {
        Ok(OPEN)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Check, Inexact> {
        Ok(OPEN)
    }
}

macro_rules! elements {
    ($($trait:ident::$method:ident),* $(,)?) => {$(
        impl ser::$trait for Check {
            type Ok = ();
            type Error = Inexact;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Inexact> {
                value.serialize(OPEN)
            }

            fn end(self) -> Result<(), Inexact> {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for Check {
    type Ok = ();
    type Error = Inexact;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Inexact> {
        key.serialize(OPEN)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Inexact> {
        value.serialize(OPEN)
    }

    fn end(self) -> Result<(), Inexact> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for Check {
            type Ok = ();
            type Error = Inexact;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                _: &'static str,
                value: &T,
            ) -> Result<(), Inexact> {
                value.serialize(OPEN)
            }

            fn end(self) -> Result<(), Inexact> {
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);
