//! The reading half of the format (see the module doc of [`codec`](super)): a
//! MessagePack deserializer over a byte slice that reads what rmp-serde's
//! serializer writes, as rmp-serde's deserializer reads it, and options exactly.
//!
//! Reading an option has to look at the next byte before deciding, which
//! rmp-serde's deserializer does not let an adapter do but through its copying
//! `Read` path (measured: 43% more instructions to decode 50 users than its slice
//! path). Reading the slice here costs what rmp-serde's slice path costs, borrows
//! strings and bytes the same way, and bounds nesting the same way.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

use super::marker::{EXT_STRUCT, Front, front};
use super::read::{Bytes, Error, Head};

/// How deep arrays, maps, enums and `Some` markers may nest, so that a crafted
/// entry cannot exhaust the stack (a 2 MiB thread's, in a debug build). Twice
/// serde_json's limit: a value that came in as JSON is never deeper.
const MAX_DEPTH: u16 = 256;

/// Reads one value from a payload.
#[derive(Debug)]
pub(super) struct De<'de> {
    input: Bytes<'de>,
    depth: u16,
    /// Some part of the value was read through `deserialize_any` (an untagged
    /// or internally tagged enum, a flattened field): the one way a value may
    /// read back as another (see `codec::encode_exact`).
    self_describing: bool,
}

impl<'de> De<'de> {
    pub(super) fn new(payload: &'de [u8]) -> Self {
        De {
            input: Bytes(payload),
            depth: MAX_DEPTH,
            self_describing: false,
        }
    }

    /// Whether some part of what was read went through `deserialize_any`.
    pub(super) fn self_describing(&self) -> bool {
        self.self_describing
    }

    /// Fails if bytes are left after the value.
    pub(super) fn end(&self) -> Result<(), Error> {
        match self.input.0.len() {
            0 => Ok(()),
            n => Err(Error(format!("{n} bytes left after the value"))),
        }
    }

    /// Runs `read` one level deeper.
    fn nested<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        self.depth = self
            .depth
            .checked_sub(1)
            .ok_or_else(|| Error(format!("values nested deeper than {MAX_DEPTH}")))?;
        let out = read(self);
        self.depth += 1;
        out
    }

    /// The `Some` marker at the front (`header` bytes, then `len` of payload):
    /// `read` reads the value inside it, which must take exactly the payload.
    fn enter<V: Visitor<'de>>(
        &mut self,
        header: usize,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.input.take(header)?;
        let payload = self.input.take(len)?;
        let mut inner = De {
            input: Bytes(payload),
            depth: self.depth,
            self_describing: false,
        };
        let value = inner.nested(|inner| visitor.visit_some(inner));
        self.self_describing |= inner.self_describing;
        let value = value?;
        match inner.input.0.len() {
            0 => Ok(value),
            left => Err(Error(format!(
                "a Some marker holds {len} bytes but its value took {}",
                len - left
            ))),
        }
    }

    /// The next value as its MessagePack type says; `bytes`: a binary may be read
    /// as bytes (otherwise as a sequence of `u8`, as rmp-serde does for sequence
    /// hints).
    fn any<V: Visitor<'de>>(&mut self, visitor: V, bytes: bool) -> Result<V::Value, Error> {
        let head = self.input.head()?;
        self.visit(head, visitor, bytes)
    }

    fn visit<V: Visitor<'de>>(
        &mut self,
        head: Head<'de>,
        visitor: V,
        bytes: bool,
    ) -> Result<V::Value, Error> {
        match head {
            Head::Nil => visitor.visit_unit(),
            Head::Bool(v) => visitor.visit_bool(v),
            Head::U8(v) => visitor.visit_u8(v),
            Head::U16(v) => visitor.visit_u16(v),
            Head::U32(v) => visitor.visit_u32(v),
            Head::U64(v) => visitor.visit_u64(v),
            Head::I8(v) => visitor.visit_i8(v),
            Head::I16(v) => visitor.visit_i16(v),
            Head::I32(v) => visitor.visit_i32(v),
            Head::I64(v) => visitor.visit_i64(v),
            Head::F32(v) => visitor.visit_f32(v),
            Head::F64(v) => visitor.visit_f64(v),
            Head::Str(raw) => match std::str::from_utf8(raw) {
                Ok(s) => visitor.visit_borrowed_str(s),
                // As rmp-serde: invalid UTF-8 may still be read as bytes.
                Err(e) => visitor
                    .visit_borrowed_bytes(raw)
                    .map_err(|_: Error| Error(format!("a string is not UTF-8: {e}"))),
            },
            Head::Bin(raw) if bytes => visitor.visit_borrowed_bytes(raw),
            Head::Bin(raw) => {
                let mut seq = de::value::SeqDeserializer::new(raw.iter().copied());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Head::Array(len) => self.nested(|de| {
                let mut seq = Seq { de, left: len };
                let value = visitor.visit_seq(&mut seq)?;
                seq.end(len, "array")?;
                Ok(value)
            }),
            Head::Map(len) => self.nested(|de| {
                let mut map = Seq { de, left: len };
                let value = visitor.visit_map(&mut map)?;
                map.end(len, "map")?;
                Ok(value)
            }),
            Head::Ext(tag, data) => visitor.visit_newtype_struct(Ext { tag, data }),
        }
    }

    /// A 128-bit integer: any integer, or the 16 big-endian bytes rmp-serde writes.
    fn int128<V: Visitor<'de>>(&mut self, visitor: V, signed: bool) -> Result<V::Value, Error> {
        match self.input.head()? {
            Head::Bin(raw) => match <[u8; 16]>::try_from(raw) {
                Ok(raw) if signed => visitor.visit_i128(i128::from_be_bytes(raw)),
                Ok(raw) => visitor.visit_u128(u128::from_be_bytes(raw)),
                Err(_) => Err(Error(format!(
                    "a 128-bit integer is 16 bytes, not {}",
                    raw.len()
                ))),
            },
            head @ (Head::U8(_)
            | Head::U16(_)
            | Head::U32(_)
            | Head::U64(_)
            | Head::I8(_)
            | Head::I16(_)
            | Head::I32(_)
            | Head::I64(_)) => self.visit(head, visitor, true),
            head => Err(Error(format!(
                "expected a 128-bit integer, found {}",
                head.kind()
            ))),
        }
    }
}

/// The elements of an array, or the entries of a map.
struct Seq<'a, 'de> {
    de: &'a mut De<'de>,
    left: usize,
}

impl Seq<'_, '_> {
    /// Fails if the visitor stopped before the end.
    fn end(&self, len: usize, what: &str) -> Result<(), Error> {
        match self.left {
            0 => Ok(()),
            left => Err(Error(format!(
                "an {what} of {len} was read to {}",
                len - left
            ))),
        }
    }
}

impl<'de> SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> MapAccess<'de> for Seq<'_, 'de> {
    type Error = Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// An ext read as rmp-serde hands it out: a newtype of `(tag, bytes)`.
struct Ext<'de> {
    tag: i8,
    data: &'de [u8],
}

impl<'de> Deserializer<'de> for Ext<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut seq = ExtFields { ext: self, next: 0 };
        let value = visitor.visit_seq(&mut seq)?;
        match seq.next {
            2 => Ok(value),
            _ => Err(Error("an ext is read as (tag, bytes)".into())),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        struct enum identifier ignored_any
    }
}

struct ExtFields<'de> {
    ext: Ext<'de>,
    next: u8,
}

impl<'de> SeqAccess<'de> for ExtFields<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.next {
            0 => {
                self.next = 1;
                seed.deserialize(self.ext.tag.into_deserializer()).map(Some)
            }
            1 => {
                self.next = 2;
                seed.deserialize(de::value::BorrowedBytesDeserializer::new(self.ext.data))
                    .map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// An enum's variant: a map of one entry (name → content), or the name alone
/// for a unit variant.
struct Variant<'a, 'de> {
    de: &'a mut De<'de>,
    /// The name alone: a unit variant.
    unit: bool,
}

impl<'de> EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name = seed.deserialize(&mut *self.de)?;
        Ok((name, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        if self.unit {
            Ok(())
        } else {
            <() as de::Deserialize>::deserialize(self.de)
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        if self.unit {
            return Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            ));
        }
        seed.deserialize(self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        if self.unit {
            return Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            ));
        }
        self.de.any(visitor, false)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if self.unit {
            return Err(Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            ));
        }
        self.de.any(visitor, false)
    }
}

/// Forwards `deserialize_*` methods to [`De::any`].
macro_rules! any {
    ($bytes:expr => $($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $(_: $ty,)* visitor: V) -> Result<V::Value, Error> {
            self.any(visitor, $bytes)
        }
    )*};
}

impl<'de> Deserializer<'de> for &mut De<'de> {
    type Error = Error;

    /// A `Some` marker is `Some`; nil stays a unit, which serde reads as `None`
    /// where an option is expected (self-describing reads: untagged and
    /// internally tagged enums, flattened fields).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.self_describing = true;
        match front(self.input.0) {
            Front::Some { header, len } => self.enter(header, len, visitor),
            Front::Nil | Front::OtherExt | Front::Value => self.any(visitor, true),
        }
    }

    /// Exactly what the writer does: nil is `None`, a `Some` marker is `Some` of
    /// what it holds, anything else is `Some` of itself.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match front(self.input.0) {
            Front::Nil => {
                self.input.take(1)?;
                visitor.visit_none()
            }
            Front::Some { header, len } => self.enter(header, len, visitor),
            Front::OtherExt | Front::Value => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name != EXT_STRUCT {
            // rmp-serde writes a newtype struct as its content.
            return visitor.visit_newtype_struct(self);
        }
        match self.input.head()? {
            Head::Ext(tag, data) => visitor.visit_newtype_struct(Ext { tag, data }),
            head => Err(Error(format!("expected an ext, found {}", head.kind()))),
        }
    }

    /// rmp-serde writes a unit struct as an empty array (and reads nil too).
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.input.peek() {
            Some(0x90 | 0xc0) => {
                self.input.take(1)?;
                visitor.visit_unit()
            }
            _ => self.any(visitor, true),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.input.peek() {
            Some(0x80..=0x8f | 0xde | 0xdf) => match self.input.head()? {
                Head::Map(1) => self.nested(|de| visitor.visit_enum(Variant { de, unit: false })),
                head => Err(Error(format!(
                    "an enum is a map of one entry, not {}",
                    match head {
                        Head::Map(len) => format!("{len} entries"),
                        other => other.kind().to_string(),
                    }
                ))),
            },
            _ => visitor.visit_enum(Variant {
                de: self,
                unit: true,
            }),
        }
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int128(visitor, true)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.int128(visitor, false)
    }

    any! { true =>
        deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_u8() deserialize_u16() deserialize_u32()
        deserialize_u64() deserialize_f32() deserialize_f64() deserialize_char()
        deserialize_str() deserialize_string() deserialize_bytes() deserialize_byte_buf()
        deserialize_unit() deserialize_map() deserialize_identifier()
        deserialize_ignored_any()
    }

    any! { false =>
        deserialize_seq() deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}
