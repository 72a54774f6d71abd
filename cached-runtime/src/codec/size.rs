//! An estimate of the memory a value takes in process: what a typed entry (a
//! decoded value kept in memory, see `returns::Typed`) weighs against
//! `CACHE_MAX_MEMORY`.
//!
//! Rust cannot tell the heap size of a `T` in general, but every cached value is
//! `Serialize`, so one walk over it with a serializer that allocates nothing counts
//! what it holds, by the shape serde reports:
//!
//! | serde shape | counted |
//! |---|---|
//! | bool, integers, floats, char | their size (`u8` 1 byte, `u64` 8, ...) |
//! | string, bytes | 24 (the `String`/`Vec` itself) + its length + [`ALLOCATION`] |
//! | sequence, tuple, map | 24 + [`ALLOCATION`] + its elements (keys and values) |
//! | struct, tuple struct | its fields |
//! | `None`, unit | 8 |
//! | `Some(x)` | 8 + `x` |
//! | enum variant | 8 + its content |
//!
//! It ignores padding and spare capacity (a typed entry is a clone, whose `Vec`s
//! and `String`s are allocated to their length), and overestimates borrowed or
//! shared data (an `Arc<str>` counted once per occurrence, a `&'static str` as if
//! owned): an estimate erring on the heavy side keeps the bound. The cost is one
//! walk per stored value, no allocation, paid on a miss only.

use serde::ser::{self, Serialize};

/// What one heap allocation costs beyond its bytes: the allocator's header and
/// rounding to its size classes (glibc malloc: 8 to 16 bytes, more for odd sizes).
pub(crate) const ALLOCATION: usize = 16;

/// The estimated size of `value` in memory, inline part and heap.
pub(crate) fn estimate<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut size = Size(0);
    // The walk cannot fail (no error is ever raised); a value whose own
    // `Serialize` fails is counted up to where it failed.
    let _ = value.serialize(&mut size);
    size.0
}

/// A string or byte buffer of `len` bytes.
fn buffer(len: usize) -> usize {
    24 + ALLOCATION + len
}

/// A collection's own part (its elements are counted as they are serialized).
const COLLECTION: usize = 24 + ALLOCATION;

/// A discriminant, a `None`, a unit.
const TAG: usize = 8;

struct Size(usize);

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("size estimate")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Never
    }
}

macro_rules! scalar {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, _: $ty) -> Result<(), Never> {
            self.0 += std::mem::size_of::<$ty>();
            Ok(())
        }
    )*};
}

impl ser::Serializer for &mut Size {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    scalar!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char
    );

    fn serialize_str(self, v: &str) -> Result<(), Never> {
        self.0 += buffer(v.len());
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Never> {
        self.0 += buffer(v.len());
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Never> {
        self.0 += TAG;
        Ok(())
    }

    fn serialize_some<V: Serialize + ?Sized>(self, value: &V) -> Result<(), Never> {
        self.0 += TAG;
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Never> {
        self.0 += TAG;
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        self.0 += TAG;
        Ok(())
    }

    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<(), Never> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &V,
    ) -> Result<(), Never> {
        self.0 += TAG;
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Never> {
        self.0 += COLLECTION;
        Ok(self)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        self.0 += TAG;
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, Never> {
        self.0 += COLLECTION;
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        self.0 += TAG;
        Ok(self)
    }
}

macro_rules! elements {
    ($($trait:ident: $method:ident),*) => {$(
        impl ser::$trait for &mut Size {
            type Ok = ();
            type Error = Never;
            fn $method<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Never> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}
elements!(
    SerializeSeq: serialize_element,
    SerializeTuple: serialize_element,
    SerializeTupleStruct: serialize_field,
    SerializeTupleVariant: serialize_field
);

impl ser::SerializeMap for &mut Size {
    type Ok = ();
    type Error = Never;
    fn serialize_key<V: Serialize + ?Sized>(&mut self, key: &V) -> Result<(), Never> {
        key.serialize(&mut **self)
    }
    fn serialize_value<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Size {
            type Ok = ();
            type Error = Never;
            fn serialize_field<V: Serialize + ?Sized>(
                &mut self,
                _: &'static str,
                value: &V,
            ) -> Result<(), Never> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct User {
        id: u64,
        name: String,
        tags: Vec<String>,
        admin: Option<bool>,
    }

    #[test]
    fn counts_buffers_and_elements() {
        assert_eq!(estimate(&7u64), 8);
        assert_eq!(estimate("abc"), buffer(3));
        assert_eq!(estimate(&vec![0u8; 1000]), COLLECTION + 1000);
        let user = User {
            id: 1,
            name: "Ada".into(),
            tags: vec!["a".into(), "bc".into()],
            admin: Some(true),
        };
        assert_eq!(
            estimate(&user),
            8 + buffer(3) + COLLECTION + buffer(1) + buffer(2) + TAG + 1
        );
    }

    #[test]
    fn never_below_the_heap_a_byte_vector_holds() {
        // The bound relies on the estimate not being light: a `Vec<u8>` holds its
        // length on the heap, plus its own 24 bytes.
        let v = vec![1u8; 16 << 10];
        assert!(estimate(&v) >= v.len() + std::mem::size_of::<Vec<u8>>());
    }
}
