//! The serializing half of the exact-`Option` adapter (see the module doc of
//! [`codec`](super) for the format).
//!
//! [`Ser`] forwards every call to the wrapped serializer (rmp-serde's) and wraps every
//! nested value in [`Wrap`], so nested values go through the adapter too. Only
//! `serialize_some` differs: the value inside goes to [`SomeSer`], which counts the
//! `Some`s it is under and looks at the value's *first* call. A value that starts
//! with something other than nil or an ext (a number, a string, a struct, a
//! sequence...) is written as it is: the `Some`s are implicit, as rmp-serde writes
//! them. A value that would start with nil (`None`, `()`) or with an ext is written
//! inside one marker per `Some`. Nothing is serialized twice and nothing is buffered
//! but in those rare cases.

use serde::ser::{
    self, Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant,
    SerializeTuple, SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use super::marker::{EXT_STRUCT, SOME_TAG, nested_markers};

/// A serializer that writes options exactly (see the module doc).
pub(super) struct Ser<S>(pub(super) S);

/// A value serialized through [`Ser`] by whatever serializer receives it: how the
/// adapter reaches the elements of sequences, maps, structs and variants.
struct Wrap<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Wrap<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Ser(serializer))
    }
}

/// The serializer of the value inside `somes` (≥ 1) `Some`s.
struct SomeSer<S> {
    ser: S,
    somes: usize,
}

/// The ext payload rmp-serde expects for its `_ExtStruct` newtype: `(tag, bytes)`.
struct ExtBody<'a>(i8, &'a [u8]);

impl Serialize for ExtBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Bin<'a>(&'a [u8]);
        impl Serialize for Bin<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&self.0)?;
        tuple.serialize_element(&Bin(self.1))?;
        tuple.end()
    }
}

impl<S: Serializer> SomeSer<S> {
    /// Writes `inner` (the bytes of a value that starts with nil or an ext) inside
    /// one `Some` marker per pending `Some`.
    fn write_marked(self, inner: &[u8]) -> Result<S::Ok, S::Error> {
        // The outermost marker goes through the serializer (its ext support), the
        // ones inside it are laid out here.
        let payload = nested_markers(self.somes - 1, inner);
        self.ser
            .serialize_newtype_struct(EXT_STRUCT, &ExtBody(SOME_TAG, &payload))
    }
}

/// The methods of [`SomeSer`] that hand the value to [`Ser`]: a value whose first
/// call is one of these is written as it is, its `Some`s implicit.
macro_rules! forward_to_plain {
    () => {
        fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_bool(v)
        }
        fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_i8(v)
        }
        fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_i16(v)
        }
        fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_i32(v)
        }
        fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_i64(v)
        }
        fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_i128(v)
        }
        fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_u8(v)
        }
        fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_u16(v)
        }
        fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_u32(v)
        }
        fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_u64(v)
        }
        fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_u128(v)
        }
        fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_f32(v)
        }
        fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_f64(v)
        }
        fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_char(v)
        }
        fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_str(v)
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_bytes(v)
        }
        fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_unit_struct(name)
        }
        fn serialize_unit_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
        ) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_unit_variant(name, index, variant)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<S::Ok, S::Error> {
            Ser(self.ser).serialize_newtype_variant(name, index, variant, value)
        }
        fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
            Ser(self.ser).serialize_seq(len)
        }
        fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
            Ser(self.ser).serialize_tuple(len)
        }
        fn serialize_tuple_struct(
            self,
            name: &'static str,
            len: usize,
        ) -> Result<Self::SerializeTupleStruct, S::Error> {
            Ser(self.ser).serialize_tuple_struct(name, len)
        }
        fn serialize_tuple_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<Self::SerializeTupleVariant, S::Error> {
            Ser(self.ser).serialize_tuple_variant(name, index, variant, len)
        }
        fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
            Ser(self.ser).serialize_map(len)
        }
        fn serialize_struct(
            self,
            name: &'static str,
            len: usize,
        ) -> Result<Self::SerializeStruct, S::Error> {
            Ser(self.ser).serialize_struct(name, len)
        }
        fn serialize_struct_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<Self::SerializeStructVariant, S::Error> {
            Ser(self.ser).serialize_struct_variant(name, index, variant, len)
        }
        fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
            Ser(self.ser).collect_str(value)
        }
        fn is_human_readable(&self) -> bool {
            self.ser.is_human_readable()
        }
    };
}

/// The compound serializers of [`Ser`]: the wrapped one's, with every element,
/// key and value wrapped.
pub(super) struct Compound<C>(C);

impl<S: Serializer> Serializer for Ser<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    fn serialize_bool(self, v: bool) -> Result<S::Ok, S::Error> {
        self.0.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<S::Ok, S::Error> {
        self.0.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<S::Ok, S::Error> {
        self.0.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<S::Ok, S::Error> {
        self.0.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<S::Ok, S::Error> {
        self.0.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<S::Ok, S::Error> {
        self.0.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<S::Ok, S::Error> {
        self.0.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<S::Ok, S::Error> {
        self.0.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<S::Ok, S::Error> {
        self.0.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<S::Ok, S::Error> {
        self.0.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<S::Ok, S::Error> {
        self.0.serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        self.0.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        self.0.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<S::Ok, S::Error> {
        self.0.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<S::Ok, S::Error> {
        self.0.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<S::Ok, S::Error> {
        self.0.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(SomeSer {
            ser: self.0,
            somes: 1,
        })
    }
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        if name == EXT_STRUCT {
            // An rmp-serde ext: its `(tag, bytes)` content is the format's own.
            self.0.serialize_newtype_struct(name, value)
        } else {
            self.0.serialize_newtype_struct(name, &Wrap(value))
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Wrap(value))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Compound)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Compound)
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Compound)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Compound)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Compound)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Compound)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Compound)
    }
    fn collect_str<T: std::fmt::Display + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.collect_str(value)
    }
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<S: Serializer> Serializer for SomeSer<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    forward_to_plain!();

    /// `Some(None)` (under any number of `Some`s): nil inside markers.
    fn serialize_none(self) -> Result<S::Ok, S::Error> {
        self.write_marked(&[super::marker::NIL])
    }
    /// `Some(())`: like `Some(None)`, nil inside markers.
    fn serialize_unit(self) -> Result<S::Ok, S::Error> {
        self.write_marked(&[super::marker::NIL])
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(SomeSer {
            ser: self.ser,
            somes: self.somes + 1,
        })
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        if name == EXT_STRUCT {
            // A value of its own that is an ext: marked, so that an ext at the
            // place of an option is always a marker.
            let mut raw = rmp_serde::Serializer::new(Vec::new()).with_struct_map();
            (&mut raw)
                .serialize_newtype_struct(name, value)
                .map_err(ser::Error::custom)?;
            self.write_marked(&raw.into_inner())
        } else {
            // rmp-serde writes a newtype struct as its content: what decides is the
            // content's first call.
            value.serialize(self)
        }
    }
}

impl<C: SerializeSeq> SerializeSeq for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&Wrap(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTuple> SerializeTuple for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_element(&Wrap(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTupleStruct> SerializeTupleStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&Wrap(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeTupleVariant> SerializeTupleVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_field(&Wrap(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeMap> SerializeMap for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), C::Error> {
        self.0.serialize_key(&Wrap(key))
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), C::Error> {
        self.0.serialize_value(&Wrap(value))
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeStruct> SerializeStruct for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Wrap(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}

impl<C: SerializeStructVariant> SerializeStructVariant for Compound<C> {
    type Ok = C::Ok;
    type Error = C::Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), C::Error> {
        self.0.serialize_field(key, &Wrap(value))
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), C::Error> {
        self.0.skip_field(key)
    }
    fn end(self) -> Result<C::Ok, C::Error> {
        self.0.end()
    }
}
