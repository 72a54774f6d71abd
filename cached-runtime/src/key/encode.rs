//! Rendering of one function argument into one human-readable cache-key
//! segment, as a serde [`Serializer`](serde::Serializer).
//!
//! A key such as `fastapi-cache:user:42:my_app.repo.get_user` is built by the
//! parent module (see its *Key format*); this module renders the `42` part. The
//! cache serves whatever is stored under a key, so the rendering is built to be:
//!
//! * **Injective per type**: two different values of one Rust type never
//!   render to the same string (see *Collisions* below for the exact limits).
//! * **Segment-safe**: the output never contains `:`, whitespace, control
//!   characters, `*` or `?`. Every character that comes from string, char or
//!   bytes data is kept raw only if it is an ASCII letter, an ASCII digit or one
//!   of `-_./@`; anything else is percent-encoded as `%XX` per UTF-8 byte
//!   (upper-case hex). The structural characters emitted by this module
//!   (`~ ! ' # ( ) [ ] { } , =`, plus `%` from escapes) are all outside that
//!   allow-list, so string data can never produce them raw.
//! * **Stable** across processes, builds and platforms: no addresses, no
//!   seeded hashing, and map entries are sorted by their rendering.
//!
//! # Rendering rules
//!
//! | serde value                        | rendering                              | example                    |
//! |------------------------------------|----------------------------------------|----------------------------|
//! | integer (any width, incl. 128-bit) | decimal                                | `42`, `-7`                 |
//! | `bool`                             | `true` / `false`                       | `true`                     |
//! | float (`f32`, `f64`)               | shortest round-trip `Display`; `.0` appended to an integral value other than `-0` | `1.5`, `1.0`, `-0`, `NaN`, `inf`, `-inf` |
//! | string, `char`                     | escaped (see above)                    | `bob`, `a%3Ab`, `%20`      |
//! | the empty string                   | `''`                                   | `''`                       |
//! | bytes                              | `#` + lower-case hex                   | `#00ff`, `#` (empty)       |
//! | `None`                             | `~`                                    | `~`                        |
//! | `Some(x)`                          | `x`, or `!x` when `x` starts with `~` or `!` | `5`, `!~`, `!!~`     |
//! | `()`                               | `()`                                   | `()`                       |
//! | unit struct                        | its name (as a string)                 | `Marker`                   |
//! | newtype struct                     | the inner value                        | `42`                       |
//! | sequence                           | `[a,b]`, order kept                    | `[1,2]`, `[]`              |
//! | tuple, tuple struct                | `(a,b)`                                | `(1,bob)`                  |
//! | map                                | `{k=v,k2=v2}`, sorted by rendered entry | `{a=1,b=2}`               |
//! | struct                             | `{field=value,...}`, declaration order | `{id=1,name=bob}`          |
//! | unit variant                       | the variant name (as a string)         | `Red`                      |
//! | newtype variant                    | `Variant(x)`                           | `Id(42)`                   |
//! | tuple variant                      | `Variant(a,b)`                         | `Pair(1,2)`                |
//! | struct variant                     | `Variant{a=1,...}`                     | `Point{x=1,y=2}`           |
//!
//! Names (of fields, variants and unit structs) are rendered with the string
//! rule too, so a name chosen with `#[serde(rename = "...")]` is escaped (and
//! quoted when empty).
//!
//! Why this is injective: every rendering is self-delimiting (`,`, `=` and
//! closing brackets only appear inside a bracket the same rendering opened,
//! and string data never produces them raw), and its first character tells
//! its shape: `~`/`!` an option, `''` the empty string, `#` bytes, `(`/`[`/`{`
//! a compound. A bare token made only of allow-listed characters and escapes
//! is a number, a bool, a float keyword, a name or a string: one Rust type
//! only ever puts one of these at a given place, so a rendering parses back to
//! its value, up to the shape pairs listed below.
//!
//! # Collisions and stability limits
//!
//! Values of *one* type that serialize through *different* serde shapes can
//! still meet when the shapes are, by design, rendered alike. These only
//! matter for types whose `Serialize` picks the shape at run time (untagged
//! enums, `serde_json::Value`-like types, hand-written impls):
//!
//! * strings are not quoted, only escaped (so that the id `"42"` renders `42`
//!   and `invalidate_user_cache(42)` reaches it; the empty string alone is
//!   quoted, as `''`, since it would otherwise render as nothing): the string
//!   `"42"` and the number `42`, or `"true"` and `true`, meet;
//! * `Some(x)` renders as `x` (like JSON), so `Some(1)` and `1` meet;
//! * a unit variant or unit struct name and a string with the same text meet
//!   (e.g. `Sort::Asc` and an `#[serde(untagged)] Other("Asc".into())`);
//! * integers of different widths, `f32`/`f64` with the same printed value, a
//!   `char` and the one-character string, a struct and a map with the same
//!   entries, a tuple and a tuple struct, `()` and an empty tuple, and a
//!   newtype variant and a one-field tuple variant of the same name meet;
//! * all NaNs render as `NaN` (sign and payload are dropped).
//!
//! Sequences keep their order (`[1,2]` differs from `[2,1]`). A `HashSet`
//! argument is serialized as a sequence in its (randomly seeded) iteration
//! order, so its key is **unstable** across processes and even across sets:
//! that causes cache misses, never wrong data. Use a `BTreeSet` (or sort
//! before calling) for a stable key. Maps, including `HashMap`, are sorted
//! here and are stable.

use std::fmt::{self, Display, Write as _};

#[cfg(test)]
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde::ser::{self, Serialize};

use compound::{Compound, MapCompound};

mod compound;

/// Rendering of `None`; also the first character that forces a `Some` prefix.
const NONE_MARK: char = '~';
/// Prefix put before a `Some(x)` whose `x` starts with [`NONE_MARK`] or itself.
const SOME_MARK: char = '!';
/// Quote around the empty string (rendered `''`).
const QUOTE: char = '\'';
/// Prefix of a byte string.
const BYTES_MARK: char = '#';
/// The bytes string data may not keep raw in a key: every byte but ASCII letters,
/// ASCII digits and `-_./@` (bytes outside ASCII are always escaped). The escaper
/// ([`escape_bytes_into`]) writes what `percent_encode` writes with this set; a
/// test holds them equal.
#[cfg(test)]
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'/')
    .remove(b'@');

/// Why a value could not be rendered into a key segment: a custom
/// `Serialize` impl returned an error, or a map key could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyEncodeError(String);

impl Display for KeyEncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot render a cache-key argument: {}", self.0)
    }
}

impl std::error::Error for KeyEncodeError {}

impl ser::Error for KeyEncodeError {
    fn custom<T: Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Appends the key rendering of `value` to `out`.
///
/// # Errors
///
/// Fails when `value`'s `Serialize` impl (or that of anything inside it)
/// returns an error, or drives the map protocol inconsistently. On error
/// `out` is left exactly as it was before the call.
pub(crate) fn write_key_part<T: Serialize + ?Sized>(
    out: &mut String,
    value: &T,
) -> Result<(), KeyEncodeError> {
    let start = out.len();
    let result = value.serialize(KeySerializer { out: &mut *out });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Appends `s` escaped so that it can be one segment of a key (used for
/// strings, and by other modules for path/query pieces).
///
/// ASCII letters, ASCII digits and `-_./@` are kept; every other byte of the
/// UTF-8 encoding becomes `%XX` (upper-case hex). The mapping is injective,
/// but the empty string maps to nothing: a string *value* passed to
/// [`write_key_part`] is therefore quoted (`''`) when empty, and only then.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    // What `percent_encode(s, ESCAPED)` writes, run by run: every key is built with
    // it (paths, queries, host names), so it is on every request's path.
    out.reserve(s.len());
    let mut start = 0;
    for (at, &byte) in s.as_bytes().iter().enumerate() {
        if KEPT[usize::from(byte)] {
            continue;
        }
        // Kept bytes are ASCII, so `start..at` lies on character boundaries.
        out.push_str(s.get(start..at).unwrap_or_default());
        push_escaped(out, byte);
        start = at + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

/// [`escape_into`] for bytes that need not be UTF-8 (a header value, a raw query):
/// the same mapping, byte by byte.
pub(crate) fn escape_bytes_into(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => escape_into(out, text),
        Err(_) => {
            out.reserve(bytes.len());
            for &byte in bytes {
                if KEPT[usize::from(byte)] {
                    out.push(char::from(byte));
                } else {
                    push_escaped(out, byte);
                }
            }
        }
    }
}

/// Appends `%XX` for `byte`.
fn push_escaped(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

/// The bytes [`escape_into`] keeps: ASCII letters and digits, and `-_./@`.
const KEPT: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'@');
        byte += 1;
    }
    table
};

/// [`escape_into`] into a new string: an id or a value as a key segment holds it
/// (`auth0|42` becomes `auth0%7C42`).
pub(crate) fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// Appends a string value: escaped, and quoted (`''`) when empty.
fn write_str_value(out: &mut String, s: &str) {
    let start = out.len();
    escape_into(out, s);
    if out.get(start..).is_some_and(needs_quotes) {
        out.insert(start, QUOTE);
        out.push(QUOTE);
    }
}

/// Whether an escaped string must be quoted: only the empty string, which would
/// otherwise render as nothing.
///
/// Strings that look like numbers or booleans stay bare on purpose: the id `"42"`
/// renders `42` like the number 42, so `invalidate_user_cache(42)` (which targets
/// `user:42`) also reaches entries keyed by a `String` id. The price: a type whose
/// shape is chosen at run time (`serde_json::Value`, an untagged enum) renders the
/// string `"42"` and the number `42` alike; key such arguments by a typed struct.
fn needs_quotes(escaped: &str) -> bool {
    escaped.is_empty()
}

/// Appends the `Display` form of `value`.
fn write_display(out: &mut String, value: impl Display) -> Result<(), KeyEncodeError> {
    write!(out, "{value}").map_err(|_| KeyEncodeError("a value's Display impl failed".to_owned()))
}

/// Appends an integer in decimal, as its `Display` would (without going through
/// `fmt`: integers are the most common key arguments).
#[inline]
fn write_int(out: &mut String, value: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends a float: its shortest round-trip `Display`, plus `.0` when that
/// reads like an integer (so a float never renders like an integer). `-0` is
/// already distinct from every integer and is kept as is.
fn write_float(out: &mut String, value: impl Display, finite: bool) -> Result<(), KeyEncodeError> {
    let start = out.len();
    write_display(out, value)?;
    let looks_integral = out
        .get(start..)
        .is_some_and(|s| s != "-0" && !s.contains('.'));
    if finite && looks_integral {
        out.push_str(".0");
    }
    Ok(())
}

/// The serializer: appends the rendering of one value to `out`.
#[derive(Debug)]
struct KeySerializer<'a> {
    /// Where the rendering goes.
    out: &'a mut String,
}

impl<'a> ser::Serializer for KeySerializer<'a> {
    type Ok = ();
    type Error = KeyEncodeError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = MapCompound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), KeyEncodeError> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<(), KeyEncodeError> {
        write_int(self.out, v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), KeyEncodeError> {
        write_float(self.out, v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<(), KeyEncodeError> {
        write_float(self.out, v, v.is_finite())
    }

    fn serialize_char(self, v: char) -> Result<(), KeyEncodeError> {
        write_str_value(self.out, v.encode_utf8(&mut [0_u8; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), KeyEncodeError> {
        write_str_value(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), KeyEncodeError> {
        self.out.push(BYTES_MARK);
        self.out.push_str(&hex::encode(v));
        Ok(())
    }

    fn serialize_none(self) -> Result<(), KeyEncodeError> {
        self.out.push(NONE_MARK);
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), KeyEncodeError> {
        let out = self.out;
        let start = out.len();
        value.serialize(KeySerializer { out: &mut *out })?;
        if out
            .get(start..)
            .is_some_and(|inner| inner.starts_with([NONE_MARK, SOME_MARK]))
        {
            out.insert(start, SOME_MARK);
        }
        Ok(())
    }

    fn serialize_unit(self) -> Result<(), KeyEncodeError> {
        self.out.push_str("()");
        Ok(())
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<(), KeyEncodeError> {
        write_str_value(self.out, name);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
    ) -> Result<(), KeyEncodeError> {
        write_str_value(self.out, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        write_str_value(self.out, variant);
        let mut compound = Compound::open(self.out, '(', ')');
        compound.element(value)?;
        compound.finish();
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, KeyEncodeError> {
        Ok(Compound::open(self.out, '[', ']'))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, KeyEncodeError> {
        Ok(Compound::open(self.out, '(', ')'))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyEncodeError> {
        Ok(Compound::open(self.out, '(', ')'))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyEncodeError> {
        write_str_value(self.out, variant);
        Ok(Compound::open(self.out, '(', ')'))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapCompound<'a>, KeyEncodeError> {
        Ok(MapCompound::new(self.out, len))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyEncodeError> {
        Ok(Compound::open(self.out, '{', '}'))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _variant_index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, KeyEncodeError> {
        write_str_value(self.out, variant);
        Ok(Compound::open(self.out, '{', '}'))
    }
}

#[cfg(test)]
mod tests;
