//! The deserializing half of the exact-`Option` adapter (see the module doc of
//! [`codec`](super) for the format).
//!
//! [`De`] forwards every call to rmp-serde's deserializer and wraps what it hands
//! back (visitors, sequence, map and enum accesses, seeds), so nested values go
//! through the adapter too. Only `deserialize_option` (and `deserialize_any`, for
//! the types that buffer their input, like untagged enums) differ: they look at the
//! next byte of the input, which rmp-serde does not expose, so the input is an
//! [`Input`] shared by rmp-serde's reader and the adapter. rmp-serde keeps a
//! marker it has read ahead only inside its own `deserialize_option` (never called
//! here) and while reading an enum's variant name (which the adapter passes to it
//! untouched), so whenever the adapter looks, the shared position is the start of
//! the next value.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::marker::{EXT_STRUCT, Front, front};

/// How many `Some` markers may nest on one path: far more than any type has,
/// few enough that a crafted input cannot exhaust the stack (rmp-serde bounds
/// the nesting of arrays and maps, not this).
const MAX_SOME_DEPTH: u16 = 256;

/// The payload being decoded and how far it has been read.
#[derive(Debug)]
pub(super) struct Input<'a> {
    bytes: &'a [u8],
    pos: Cell<usize>,
}

impl<'a> Input<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Input {
            bytes,
            pos: Cell::new(0),
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos.get()..).unwrap_or_default()
    }

    /// How many bytes are left unread.
    pub(super) fn remaining(&self) -> usize {
        self.rest().len()
    }
}

/// rmp-serde's reader of an [`Input`].
#[derive(Debug)]
pub(super) struct InputReader<'a>(pub(super) &'a Input<'a>);

impl Read for InputReader<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.0.rest();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.0.pos.set(self.0.pos.get() + n);
        Ok(n)
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let rest = self.0.rest();
        let Some(src) = rest.get(..buf.len()) else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        buf.copy_from_slice(src);
        self.0.pos.set(self.0.pos.get() + buf.len());
        Ok(())
    }
}

/// What every wrapper carries: the shared input and how many more `Some`
/// markers may nest.
#[derive(Debug, Clone, Copy)]
struct Ctx<'a> {
    input: &'a Input<'a>,
    depth: u16,
}

/// A deserializer that reads options exactly (see the module doc).
pub(super) struct De<'a, D> {
    de: D,
    ctx: Ctx<'a>,
}

impl<'a, D> De<'a, D> {
    /// `de` reads `input` (through an [`InputReader`]).
    pub(super) fn new(de: D, input: &'a Input<'a>) -> Self {
        De {
            de,
            ctx: Ctx {
                input,
                depth: MAX_SOME_DEPTH,
            },
        }
    }
}

impl<'a, 'de, D: Deserializer<'de>> De<'a, D> {
    /// Reads the `Some` marker at the front (`header` bytes, then a payload of
    /// `len`), and the value inside it with `read`, which must take exactly the
    /// payload.
    fn enter<T>(
        self,
        header: usize,
        len: usize,
        read: impl FnOnce(Self) -> Result<T, D::Error>,
    ) -> Result<T, D::Error> {
        let depth = self.ctx.depth.checked_sub(1).ok_or_else(|| {
            D::Error::custom(format!("options nested deeper than {MAX_SOME_DEPTH}"))
        })?;
        let input = self.ctx.input;
        let start = input.pos.get() + header;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= input.bytes.len())
            .ok_or_else(|| D::Error::custom("a Some marker runs past the end of the value"))?;
        input.pos.set(start);
        let value = read(De {
            de: self.de,
            ctx: Ctx { input, depth },
        })?;
        let read_to = input.pos.get();
        if read_to != end {
            return Err(D::Error::custom(format!(
                "a Some marker holds {len} bytes but its value took {}",
                read_to.wrapping_sub(start)
            )));
        }
        Ok(value)
    }

    #[inline]
    fn visitor<V>(&self, visitor: V) -> Wrapped<'a, V> {
        Wrapped {
            inner: visitor,
            ctx: self.ctx,
        }
    }
}

/// A visitor, access or seed of the wrapped deserializer's, with the context
/// to wrap what it hands on.
struct Wrapped<'a, T> {
    inner: T,
    ctx: Ctx<'a>,
}

/// Forwards `deserialize_*` methods to the wrapped deserializer with a wrapped
/// visitor.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let visitor = self.visitor(visitor);
            self.de.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for De<'_, D> {
    type Error = D::Error;

    /// Exactly what `Ser` writes: nil is `None`, a `Some` marker is `Some` of
    /// what it holds, anything else is `Some` of itself.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let input = self.ctx.input;
        match front(input.rest()) {
            Front::Nil => {
                input.pos.set(input.pos.get() + 1);
                visitor.visit_none()
            }
            Front::Some { header, len } => self.enter(header, len, |de| visitor.visit_some(de)),
            Front::OtherExt | Front::Value => visitor.visit_some(self),
        }
    }

    /// For self-describing reads (untagged and internally tagged enums,
    /// flattened fields): a `Some` marker is a `Some`, nil stays a unit (which
    /// serde reads as `None` where an option is expected).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        match front(self.ctx.input.rest()) {
            Front::Some { header, len } => self.enter(header, len, |de| visitor.visit_some(de)),
            // A value's own ext: its content is rmp-serde's alone.
            Front::OtherExt => self.de.deserialize_any(visitor),
            Front::Nil | Front::Value => {
                let visitor = self.visitor(visitor);
                self.de.deserialize_any(visitor)
            }
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if name == EXT_STRUCT {
            self.de.deserialize_newtype_struct(name, visitor)
        } else {
            // What rmp-serde does for any other newtype struct, but with the
            // adapter as the deserializer of the content.
            visitor.visit_newtype_struct(self)
        }
    }

    /// Skipping a value (an unknown field) needs no adapter: a `Some` marker is
    /// one MessagePack value.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    forward! {
        deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_i128() deserialize_u8() deserialize_u16()
        deserialize_u32() deserialize_u64() deserialize_u128() deserialize_f32()
        deserialize_f64() deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf() deserialize_unit()
        deserialize_unit_struct(name: &'static str)
        deserialize_seq() deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier()
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// Forwards `visit_*` methods that carry no deserializer.
macro_rules! forward_visit {
    ($($method:ident($($ty:ty)?))*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, $(v: $ty)?) -> Result<V::Value, E> {
            self.inner.$method($(forward_visit!(@arg v $ty))?)
        }
    )*};
    (@arg $v:ident $ty:ty) => { $v };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrapped<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
        visit_none() visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(De {
            de: d,
            ctx: self.ctx,
        })
    }

    /// Only rmp-serde's reading of an ext gets here (the adapter reads newtype
    /// structs itself): a value's own ext, whose content is rmp-serde's alone.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(d)
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Wrapped {
            inner: seq,
            ctx: self.ctx,
        })
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Wrapped {
            inner: map,
            ctx: self.ctx,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Wrapped {
            inner: data,
            ctx: self.ctx,
        })
    }
}

/// A seed whose deserializer is wrapped.
impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrapped<'_, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(De {
            de: d,
            ctx: self.ctx,
        })
    }
}

impl<'a, 'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrapped<'a, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Wrapped {
            inner: seed,
            ctx: self.ctx,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'de, A: MapAccess<'de>> MapAccess<'de> for Wrapped<'a, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(Wrapped {
            inner: seed,
            ctx: self.ctx,
        })
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Wrapped {
            inner: seed,
            ctx: self.ctx,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Wrapped<'a, A> {
    type Error = A::Error;
    type Variant = Wrapped<'a, A::Variant>;

    /// The variant's name is written by rmp-serde alone: it is read unwrapped.
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            Wrapped {
                inner: variant,
                ctx: self.ctx,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Wrapped<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Wrapped {
            inner: seed,
            ctx: self.ctx,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.tuple_variant(
            len,
            Wrapped {
                inner: visitor,
                ctx: self.ctx,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.struct_variant(
            fields,
            Wrapped {
                inner: visitor,
                ctx: self.ctx,
            },
        )
    }
}
