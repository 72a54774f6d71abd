//! Rendering of one function argument into one human-readable cache-key
//! segment, as a serde [`Serializer`](serde::Serializer).
//!
//! A key such as `fastapi-cache:user:my_app::users::get_user:42` is built by
//! the parent module; this module renders the `42` part. The cache serves
//! whatever is stored under a key, so the rendering is built to be:
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
//! * strings are not quoted (so that the id `"42"` renders `42` and
//!   `invalidate_user_cache(42)` reaches it): the string `"42"` and the number
//!   `42`, or `"true"` and `true`, meet;
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

use serde::ser::{self, Serialize};

/// Rendering of `None`; also the first character that forces a `Some` prefix.
const NONE_MARK: char = '~';
/// Prefix put before a `Some(x)` whose `x` starts with [`NONE_MARK`] or itself.
const SOME_MARK: char = '!';
/// Quote around the empty string (rendered `''`).
const QUOTE: char = '\'';
/// Prefix of a byte string.
const BYTES_MARK: char = '#';
/// Upper-case hex digits for percent escapes.
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
/// Lower-case hex digits for byte strings.
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

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
/// but the empty string maps to nothing: string *values* passed to
/// [`write_key_part`] are additionally quoted when empty or ambiguous.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    escape_bytes_into(out, s.as_bytes());
}

/// [`escape_into`] for bytes that need not be UTF-8 (a header value, a raw query):
/// the same mapping, byte by byte.
pub(crate) fn escape_bytes_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len());
    for &byte in bytes {
        if is_plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(byte >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(byte & 0x0f)]));
        }
    }
}

/// Whether `byte` may appear raw in a key when it comes from string data.
/// Non-ASCII bytes never qualify, so multi-byte characters are always escaped.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/' | b'@')
}

/// Appends a string value: escaped, and quoted when it is empty or its escaped
/// form could be mistaken for a number, a bool or a float keyword.
fn write_str_value(out: &mut String, s: &str) {
    let start = out.len();
    escape_into(out, s);
    if out.get(start..).is_some_and(reads_like_non_string) {
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
fn reads_like_non_string(escaped: &str) -> bool {
    escaped.is_empty()
}

/// Appends the `Display` form of `value`.
fn write_display(out: &mut String, value: impl Display) -> Result<(), KeyEncodeError> {
    write!(out, "{value}").map_err(|_| KeyEncodeError("a value's Display impl failed".to_owned()))
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

/// State for sequences, tuples, structs and the tuple/struct variants:
/// elements are separated by `,` and the compound is closed by `close`.
#[derive(Debug)]
struct Compound<'a> {
    /// Where the rendering goes.
    out: &'a mut String,
    /// No element has been written yet.
    first: bool,
    /// Closing bracket written by `end`.
    close: char,
}

impl<'a> Compound<'a> {
    /// Writes `open` and starts a compound closed by `close`.
    fn open(out: &'a mut String, open: char, close: char) -> Self {
        out.push(open);
        Self {
            out,
            first: true,
            close,
        }
    }

    /// Writes the separator (if needed) before the next element.
    fn separate(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// Appends one element.
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        self.separate();
        value.serialize(KeySerializer { out: self.out })
    }

    /// Appends one `name=value` field.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.separate();
        write_str_value(self.out, name);
        self.out.push('=');
        value.serialize(KeySerializer { out: self.out })
    }

    /// Closes the compound.
    fn finish(self) {
        self.out.push(self.close);
    }
}

/// State for maps: entries are rendered separately, then sorted (by rendered
/// key, then rendered value) so iteration order does not matter.
#[derive(Debug)]
struct MapCompound<'a> {
    /// Where the rendering goes.
    out: &'a mut String,
    /// Rendered `(key, value)` entries.
    entries: Vec<(String, String)>,
    /// A rendered key still waiting for its value.
    pending_key: Option<String>,
}

/// Renders `value` on its own, into a fresh string.
fn render_alone<T: Serialize + ?Sized>(value: &T) -> Result<String, KeyEncodeError> {
    let mut rendered = String::new();
    value.serialize(KeySerializer { out: &mut rendered })?;
    Ok(rendered)
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
        write_display(self.out, v)
    }

    fn serialize_i16(self, v: i16) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_i32(self, v: i32) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_i64(self, v: i64) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_i128(self, v: i128) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_u8(self, v: u8) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_u16(self, v: u16) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_u32(self, v: u32) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_u64(self, v: u64) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
    }

    fn serialize_u128(self, v: u128) -> Result<(), KeyEncodeError> {
        write_display(self.out, v)
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
        self.out.reserve(1 + 2 * v.len());
        self.out.push(BYTES_MARK);
        for &byte in v {
            self.out.push(char::from(HEX_LOWER[usize::from(byte >> 4)]));
            self.out
                .push(char::from(HEX_LOWER[usize::from(byte & 0x0f)]));
        }
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
        Ok(MapCompound {
            out: self.out,
            entries: Vec::with_capacity(len.unwrap_or(0)),
            pending_key: None,
        })
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

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        self.element(value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), KeyEncodeError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), KeyEncodeError> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeMap for MapCompound<'_> {
    type Ok = ();
    type Error = KeyEncodeError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), KeyEncodeError> {
        if self.pending_key.is_some() {
            return Err(KeyEncodeError(
                "map key serialized twice without a value in between".to_owned(),
            ));
        }
        let rendered = render_alone(key)
            .map_err(|e| KeyEncodeError(format!("map key could not be rendered: {}", e.0)))?;
        self.pending_key = Some(rendered);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), KeyEncodeError> {
        let Some(key) = self.pending_key.take() else {
            return Err(KeyEncodeError(
                "map value serialized without a key".to_owned(),
            ));
        };
        let rendered = render_alone(value)?;
        self.entries.push((key, rendered));
        Ok(())
    }

    fn end(mut self) -> Result<(), KeyEncodeError> {
        if self.pending_key.is_some() {
            return Err(KeyEncodeError(
                "map ended with a key but no value".to_owned(),
            ));
        }
        // Sort on the full (key, value) pair: even entries whose keys render
        // alike (several NaN keys, say) end up in one deterministic order.
        self.entries.sort_unstable();
        let mut compound = Compound::open(self.out, '{', '}');
        for (key, value) in &self.entries {
            compound.separate();
            compound.out.push_str(key);
            compound.out.push('=');
            compound.out.push_str(value);
        }
        compound.finish();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Pinned renderings, injectivity over hand-picked and generated values,
    //! segment safety, map-order stability and error handling.

    use super::{KeyEncodeError, escape_into, write_key_part};
    use serde::ser::{
        Error as _, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant,
        SerializeTuple, SerializeTupleVariant,
    };
    use serde::{Serialize, Serializer};
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
    use std::fmt::Debug;

    // ---------------------------------------------------------------- helpers

    /// Renders `value` on its own.
    fn key<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = String::new();
        write_key_part(&mut out, value).unwrap();
        out
    }

    /// Escapes `s` on its own.
    fn esc(s: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, s);
        out
    }

    /// Panics unless `rendered` is a safe key segment: printable ASCII only,
    /// no ':', whitespace, control, '*', '?', '\\'; every non-allow-listed
    /// character is one of the structural ones; every '%' starts `%XX` with
    /// upper-case hex.
    fn assert_segment_safe(rendered: &str, what: &dyn Debug) {
        let bytes = rendered.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(
                b.is_ascii_graphic(),
                "non-graphic byte {b:#04x} in {rendered:?} for {what:?}"
            );
            assert!(
                !matches!(b, b':' | b'*' | b'?' | b'\\' | b' ' | b'"'),
                "forbidden {:?} in {rendered:?} for {what:?}",
                char::from(b)
            );
            if b == b'%' {
                let hex = |j: usize| {
                    bytes
                        .get(j)
                        .is_some_and(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
                };
                assert!(hex(i + 1) && hex(i + 2), "bad escape in {rendered:?}");
                i += 3;
                continue;
            }
            assert!(
                b.is_ascii_alphanumeric() || b"-_./@~!'#()[]{},=".contains(&b),
                "unexpected {:?} in {rendered:?} for {what:?}",
                char::from(b)
            );
            i += 1;
        }
    }

    /// Renders every value, checks segment safety, and asserts that values
    /// with distinct identities (`identity`) never share a rendering.
    /// Returns the number of distinct renderings.
    fn check_injective<T, I>(values: I, identity: impl Fn(&T) -> String) -> usize
    where
        T: Serialize + Debug,
        I: IntoIterator<Item = T>,
    {
        let mut seen: HashMap<String, String> = HashMap::new();
        for value in values {
            let rendered = key(&value);
            assert_segment_safe(&rendered, &value);
            let id = identity(&value);
            if let Some(previous) = seen.get(&rendered) {
                assert_eq!(previous, &id, "two different values render as {rendered:?}");
            } else {
                seen.insert(rendered, id);
            }
        }
        seen.len()
    }

    /// [`check_injective`] with `Debug` as identity (the generators below only
    /// produce values whose `Debug` forms differ iff the values differ).
    fn check_injective_debug<T: Serialize + Debug>(values: impl IntoIterator<Item = T>) -> usize {
        check_injective(values, |v| format!("{v:?}"))
    }

    /// Inverse of [`escape_into`], used to prove it round-trips.
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut raw = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                raw.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                raw.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(raw).unwrap()
    }

    /// Characters that stress the escaping and the structural markers.
    const TRICKY_CHARS: &[char] = &[
        'a', 'Z', '0', '1', '-', '.', '_', '/', '@', ',', ':', ' ', '%', '~', '!', '\'', '"', '(',
        ')', '[', ']', '{', '}', '=', '#', '*', '?', '\\', '\n', '\t', '\0', 'é', '€', '\u{7f}',
        '\u{a0}',
    ];

    /// Every string over `alphabet` of length `0..=max_len`.
    fn all_strings(alphabet: &[char], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut layer = vec![String::new()];
        for _ in 0..max_len {
            let mut next = Vec::with_capacity(layer.len() * alphabet.len());
            for prefix in &layer {
                for &c in alphabet {
                    let mut s = prefix.clone();
                    s.push(c);
                    next.push(s);
                }
            }
            all.extend(next.iter().cloned());
            layer = next;
        }
        all
    }

    /// Strings that look like other tokens or like structure.
    fn tricky_strings() -> Vec<String> {
        [
            "",
            " ",
            "0",
            "1",
            "42",
            "-7",
            "-0",
            "01",
            "1.5",
            "1.0",
            "-1.5",
            ".5",
            "1.",
            "1e5",
            "-",
            "true",
            "false",
            "True",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "~",
            "!",
            "!~",
            "'",
            "''",
            "#",
            "#00",
            "()",
            "[]",
            "{}",
            "a,b",
            "a=b",
            "a:b",
            "%",
            "%25",
            "%3A",
            "V",
            "W",
            "a",
            "b",
            "bob",
            "é",
            "2024-01-01",
            "127.0.0.1",
            "x y",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    /// Serializes as serde bytes (std's `Vec<u8>` serializes as a sequence).
    #[derive(Debug, Clone, PartialEq)]
    struct Bytes(Vec<u8>);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    // ------------------------------------------------------ pinned renderings

    #[test]
    fn integers_and_bools_render_plainly() {
        assert_eq!(key(&42_u64), "42");
        assert_eq!(key(&-7_i32), "-7");
        assert_eq!(key(&0_u8), "0");
        assert_eq!(key(&i64::MIN), "-9223372036854775808");
        assert_eq!(key(&u128::MAX), "340282366920938463463374607431768211455");
        assert_eq!(key(&i128::MIN), "-170141183460469231731687303715884105728");
        assert_eq!(key(&true), "true");
        assert_eq!(key(&false), "false");
    }

    #[test]
    fn floats_render_with_shortest_round_trip_display() {
        assert_eq!(key(&1.5_f64), "1.5");
        assert_eq!(key(&-0.0_f64), "-0");
        assert_eq!(key(&0.0_f64), "0.0");
        assert_eq!(key(&1.0_f64), "1.0");
        assert_eq!(key(&-3.0_f64), "-3.0");
        assert_eq!(key(&f64::NAN), "NaN");
        assert_eq!(key(&-f64::NAN), "NaN");
        assert_eq!(key(&f64::INFINITY), "inf");
        assert_eq!(key(&f64::NEG_INFINITY), "-inf");
        assert_eq!(key(&0.1_f64), "0.1");
        assert_eq!(key(&1.1_f32), "1.1");
        assert_eq!(key(&-0.0_f32), "-0");
        assert_eq!(key(&f32::NAN), "NaN");
        assert_eq!(key(&1e21_f64), "1000000000000000000000.0");
        assert_eq!(key(&5e-324_f64), format!("{}", 5e-324_f64));
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(key("bob"), "bob");
        assert_eq!(key("a:b"), "a%3Ab");
        assert_eq!(key(" "), "%20");
        assert_eq!(key("Az09-_./@"), "Az09-_./@");
        assert_eq!(key("é"), "%C3%A9");
        assert_eq!(key("%"), "%25");
        assert_eq!(key("*?[]"), "%2A%3F%5B%5D");
        assert_eq!(key("~!'#"), "%7E%21%27%23");
        assert_eq!(key("a,b=c"), "a%2Cb%3Dc");
        assert_eq!(key("\n\t\0"), "%0A%09%00");
        assert_eq!(key(&String::from("2024-01-01")), "2024-01-01");
        assert_eq!(key("127.0.0.1"), "127.0.0.1");
        assert_eq!(key(&'x'), "x");
        assert_eq!(key(&':'), "%3A");
        assert_eq!(key(&'7'), "7");
    }

    #[test]
    fn only_the_empty_string_is_quoted() {
        assert_eq!(key(""), "''");
        // Number- and bool-like strings stay bare, so `invalidate_user_cache(42)`
        // reaches entries keyed by the `String` id "42".
        for bare in [
            "42", "-7", "-0", "01", "1.5", "true", "NaN", "-", "1.", "1e5", "-a",
        ] {
            assert_eq!(key(bare), bare);
        }
        assert_eq!(key(&String::from("42")), key(&42u64));
    }

    #[test]
    fn bytes_render_as_lower_hex() {
        assert_eq!(key(&Bytes(vec![])), "#");
        assert_eq!(key(&Bytes(vec![0x00, 0xff, 0x1a])), "#00ff1a");
        assert_eq!(key(&Bytes(b"abc".to_vec())), "#616263");
        assert_eq!(key("abc"), "abc");
        // A plain Vec<u8> is a serde sequence, not bytes.
        assert_eq!(key(&vec![1_u8, 2]), "[1,2]");
    }

    #[test]
    fn options_render_with_none_and_some_markers() {
        assert_eq!(key(&None::<i32>), "~");
        assert_eq!(key(&Some(5)), "5");
        assert_eq!(key(&Some("bob")), "bob");
        assert_eq!(key(&Some("")), "''");
        assert_eq!(key(&Some(None::<i32>)), "!~");
        assert_eq!(key(&Some(Some(None::<i32>))), "!!~");
        assert_eq!(key(&Some(Some(Some(3)))), "3");
        assert_eq!(key(&None::<Option<i32>>), "~");
        assert_eq!(key(&vec![None, Some(1)]), "[~,1]");
        assert_eq!(key(&Some(vec![None::<i32>])), "[~]");
    }

    #[derive(Serialize, Debug)]
    struct Marker;

    #[derive(Serialize, Debug)]
    struct UserId(u64);

    #[derive(Serialize, Debug)]
    struct Pair(i32, String);

    #[derive(Serialize, Debug)]
    struct Empty {}

    #[derive(Serialize, Debug)]
    struct EmptyTuple();

    #[derive(Serialize, Debug, Clone, PartialEq)]
    struct User {
        id: u64,
        name: String,
        nick: Option<String>,
        tags: Vec<String>,
    }

    #[derive(Serialize, Debug)]
    struct Outer {
        user: User,
        page: Option<u32>,
    }

    #[derive(Serialize, Debug, Clone, PartialEq)]
    enum Shape {
        Empty,
        Circle(f64),
        Rect(u32, u32),
        Point {
            x: i32,
            y: i32,
        },
        Nothing(()),
        Label(String),
        Maybe(Option<Option<i32>>),
        Nested(Box<Shape>),
        #[serde(rename = "1")]
        One,
        #[serde(rename = "a:b")]
        Colon,
    }

    #[test]
    fn compounds_render_readably() {
        assert_eq!(key(&()), "()");
        assert_eq!(key(&Marker), "Marker");
        assert_eq!(key(&UserId(42)), "42");
        assert_eq!(key(&Pair(1, "a b".into())), "(1,a%20b)");
        assert_eq!(key(&Empty {}), "{}");
        assert_eq!(key(&EmptyTuple()), "()");
        assert_eq!(key(&vec![1, 2]), "[1,2]");
        assert_eq!(key(&vec![2, 1]), "[2,1]");
        assert_eq!(key(&Vec::<i32>::new()), "[]");
        assert_eq!(key(&[1, 2, 3]), "(1,2,3)");
        assert_eq!(key(&(1, "bob")), "(1,bob)");
        assert_eq!(key(&(1,)), "(1)");
        assert_eq!(key(&vec![vec![1], vec![]]), "[[1],[]]");
        let map: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into_iter().collect();
        assert_eq!(key(&map), "{a=1,b=2}");
        assert_eq!(key(&BTreeMap::<i32, i32>::new()), "{}");
        let user = User {
            id: 1,
            name: "bob".into(),
            nick: None,
            tags: vec!["x,y".into(), String::new()],
        };
        assert_eq!(key(&user), "{id=1,name=bob,nick=~,tags=[x%2Cy,'']}");
        assert_eq!(
            key(&Outer {
                user,
                page: Some(2)
            }),
            "{user={id=1,name=bob,nick=~,tags=[x%2Cy,'']},page=2}"
        );
        let set: BTreeSet<&str> = ["b", "a"].into_iter().collect();
        assert_eq!(key(&set), "[a,b]");
    }

    #[test]
    fn enum_variants_render_readably() {
        assert_eq!(key(&Shape::Empty), "Empty");
        assert_eq!(key(&Shape::Circle(1.5)), "Circle(1.5)");
        assert_eq!(key(&Shape::Rect(2, 3)), "Rect(2,3)");
        assert_eq!(key(&Shape::Point { x: 1, y: -2 }), "Point{x=1,y=-2}");
        assert_eq!(key(&Shape::Nothing(())), "Nothing(())");
        assert_eq!(key(&Shape::Label(String::new())), "Label('')");
        assert_eq!(key(&Shape::Maybe(Some(None))), "Maybe(!~)");
        assert_eq!(key(&Shape::Nested(Box::new(Shape::Empty))), "Nested(Empty)");
        assert_eq!(key(&Shape::One), "1");
        assert_eq!(key(&Shape::Colon), "a%3Ab");
    }

    #[test]
    fn maps_are_sorted_by_rendered_key() {
        let map: HashMap<String, i32> = [("b", 2), ("a", 1), ("", 0), ("10", 3), ("9", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        // Byte order of the renderings: "''" < "10" < "9" < "a" < "b".
        assert_eq!(key(&map), "{''=0,10=3,9=4,a=1,b=2}");
        let int_keys: BTreeMap<i32, &str> = [(10, "x"), (9, "y"), (-1, "z")].into_iter().collect();
        assert_eq!(key(&int_keys), "{-1=z,10=x,9=y}");
        let tuple_keys: BTreeMap<(i32, &str), bool> =
            [((1, "b"), true), ((1, "a"), false)].into_iter().collect();
        assert_eq!(key(&tuple_keys), "{(1,a)=false,(1,b)=true}");
    }

    #[test]
    fn key_part_fits_in_a_redis_key() {
        let mut full = String::from("fastapi-cache:user:my_app::users::get_user:");
        write_key_part(&mut full, &42_u64).unwrap();
        assert_eq!(full, "fastapi-cache:user:my_app::users::get_user:42");
        full.push(':');
        write_key_part(&mut full, "a:b c").unwrap();
        assert!(full.ends_with(":42:a%3Ab%20c"));
    }

    // ------------------------------------------------------------ escape_into

    #[test]
    fn escape_into_keeps_only_the_allow_list() {
        assert_eq!(esc(""), "");
        assert_eq!(esc("Az09-_./@"), "Az09-_./@");
        assert_eq!(esc("a b:c"), "a%20b%3Ac");
        assert_eq!(esc("'"), "%27");
        assert_eq!(esc("\u{10FFFF}"), "%F4%8F%BF%BF");
        let mut out = String::from("prefix:");
        escape_into(&mut out, "x y");
        assert_eq!(out, "prefix:x%20y");
        for code in (0_u32..0x800).chain([0xfeff, 0x2028, 0x3000, 0x1_f600, 0x10_ffff]) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let s = c.to_string();
            let escaped = esc(&s);
            assert_segment_safe(&escaped, &c);
            let plain = c.is_ascii_alphanumeric() || "-_./@".contains(c);
            assert_eq!(escaped == s, plain, "{c:?}");
            assert_eq!(unescape(&escaped), s);
        }
    }

    #[test]
    fn escape_into_round_trips_generated_strings() {
        let strings = all_strings(TRICKY_CHARS, 3);
        let mut seen = HashSet::new();
        for s in &strings {
            let escaped = esc(s);
            assert_segment_safe(&escaped, s);
            assert_eq!(&unescape(&escaped), s);
            assert!(seen.insert(escaped), "escape collision for {s:?}");
        }
    }

    // ---------------------------------------------------------- injectivity

    #[test]
    fn generated_strings_are_injective_and_safe() {
        let strings = all_strings(TRICKY_CHARS, 3);
        let n = strings.len();
        assert_eq!(check_injective_debug(strings), n);
        let chars: Vec<char> = TRICKY_CHARS.to_vec();
        assert_eq!(check_injective_debug(chars), TRICKY_CHARS.len());
    }

    #[test]
    fn generated_nested_options_are_injective() {
        let strings = all_strings(TRICKY_CHARS, 2);
        let mut values: Vec<Option<Option<String>>> = vec![None, Some(None)];
        values.extend(strings.iter().cloned().map(|s| Some(Some(s))));
        let n = values.len();
        assert_eq!(check_injective_debug(values), n);

        let mut triple: Vec<Option<Option<Option<String>>>> =
            vec![None, Some(None), Some(Some(None))];
        triple.extend(tricky_strings().into_iter().map(|s| Some(Some(Some(s)))));
        let n = triple.len();
        assert_eq!(check_injective_debug(triple), n);

        let units: Vec<Option<Option<()>>> = vec![None, Some(None), Some(Some(()))];
        assert_eq!(check_injective_debug(units), 3);
    }

    #[test]
    fn sequence_splits_are_injective() {
        let parts: Vec<String> = [
            "", "a", "b", ",", "a,b", "[", "]", "'", "%2C", "~", "[a", "b]", "''", "a%2Cb",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let mut vectors: Vec<Vec<String>> = vec![vec![]];
        let mut layer: Vec<Vec<String>> = vec![vec![]];
        for _ in 0..3 {
            let mut next = Vec::new();
            for prefix in &layer {
                for part in &parts {
                    let mut v = prefix.clone();
                    v.push(part.clone());
                    next.push(v);
                }
            }
            vectors.extend(next.iter().cloned());
            layer = next;
        }
        let n = vectors.len();
        assert_eq!(check_injective_debug(vectors.clone()), n);

        // Nested: Vec<Vec<String>> built from pairs of the vectors above.
        let short: Vec<&Vec<String>> = vectors.iter().filter(|v| v.len() <= 1).collect();
        let mut nested = Vec::new();
        for a in &short {
            nested.push(vec![(*a).clone()]);
            for b in &short {
                nested.push(vec![(*a).clone(), (*b).clone()]);
            }
        }
        let n = nested.len();
        assert_eq!(check_injective_debug(nested), n);
    }

    /// A doubly optional string (absent / null / value).
    type OptOpt = Option<Option<String>>;

    #[test]
    fn maps_with_naively_colliding_keys_are_injective() {
        let atoms = [
            "", "a", "b", "=", "a=b", "b=c", ",", "a,b=c", "c", "{", "}", "%3D", "'",
        ];
        let mut maps: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
        for k1 in atoms {
            for v1 in atoms {
                maps.push([(k1.to_owned(), v1.to_owned())].into_iter().collect());
                for k2 in atoms {
                    if k2 <= k1 {
                        continue;
                    }
                    for v2 in ["", "a", "=", ",", "b=c"] {
                        maps.push(
                            [
                                (k1.to_owned(), v1.to_owned()),
                                (k2.to_owned(), v2.to_owned()),
                            ]
                            .into_iter()
                            .collect(),
                        );
                    }
                }
            }
        }
        let n = maps.len();
        assert_eq!(check_injective_debug(maps), n);

        // Option keys and values: None/Some(None)/"" must stay apart.
        let opts = [
            None,
            Some(None),
            Some(Some(String::new())),
            Some(Some("~".to_owned())),
        ];
        let mut opt_maps: Vec<BTreeMap<OptOpt, OptOpt>> = vec![BTreeMap::new()];
        for k in &opts {
            for v in &opts {
                opt_maps.push([(k.clone(), v.clone())].into_iter().collect());
            }
        }
        let n = opt_maps.len();
        assert_eq!(check_injective_debug(opt_maps), n);
    }

    #[test]
    fn hand_picked_families_are_injective() {
        // Integers, including extremes.
        let ints: Vec<i128> = vec![0, 1, -1, 42, -42, 10, i128::MAX, i128::MIN];
        assert_eq!(check_injective_debug(ints), 8);

        // Floats: zero signs, integral values, specials, neighbours.
        let floats = vec![
            0.0_f64,
            -0.0,
            1.0,
            -1.0,
            1.5,
            0.1,
            0.1 + 0.2,
            0.3,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1.0 + f64::EPSILON,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            5e-324,
            1e300,
            1e21,
        ];
        let n = floats.len();
        assert_eq!(check_injective(floats, |f| f.to_bits().to_string()), n);

        // Unit-like values of different types (pinned, and all distinct
        // except the documented `()` / empty tuple struct pair).
        let unit_like = [
            key(&()),
            key(&Marker),
            key(&Empty {}),
            key(&None::<()>),
            key(""),
        ];
        assert_eq!(unit_like.iter().collect::<HashSet<_>>().len(), 5);
    }

    #[test]
    fn enum_struct_and_mixed_families_are_injective() {
        // Every shape of one enum.
        let shapes = vec![
            Shape::Empty,
            Shape::One,
            Shape::Colon,
            Shape::Circle(0.0),
            Shape::Circle(-0.0),
            Shape::Circle(1.0),
            Shape::Rect(1, 2),
            Shape::Rect(2, 1),
            Shape::Point { x: 1, y: 2 },
            Shape::Point { x: 2, y: 1 },
            Shape::Nothing(()),
            Shape::Label(String::new()),
            Shape::Label("Empty".into()),
            Shape::Label("1".into()),
            Shape::Label("a:b".into()),
            Shape::Label("a%3Ab".into()),
            Shape::Label("(1,2)".into()),
            Shape::Maybe(None),
            Shape::Maybe(Some(None)),
            Shape::Maybe(Some(Some(0))),
            Shape::Nested(Box::new(Shape::Empty)),
            Shape::Nested(Box::new(Shape::Nested(Box::new(Shape::One)))),
            Shape::Nested(Box::new(Shape::Label("Empty".into()))),
        ];
        let n = shapes.len();
        assert_eq!(check_injective_debug(shapes), n);

        // Structs whose fields hold structural-looking strings.
        let users: Vec<User> = tricky_strings()
            .into_iter()
            .flat_map(|s| {
                [
                    User {
                        id: 1,
                        name: s.clone(),
                        nick: None,
                        tags: vec![],
                    },
                    User {
                        id: 1,
                        name: String::new(),
                        nick: Some(s.clone()),
                        tags: vec![],
                    },
                    User {
                        id: 1,
                        name: String::new(),
                        nick: None,
                        tags: vec![s],
                    },
                ]
            })
            .collect();
        // name="" nick=None tags=[] appears for s = "" in all three rows:
        // dedupe on Debug, then count.
        let distinct: HashSet<String> = users.iter().map(|u| format!("{u:?}")).collect();
        assert_eq!(check_injective_debug(users), distinct.len());

        // Strings vs bytes vs numbers vs bools of one dynamic type.
        let mixed = vec![
            Dyn::Str("abc".into()),
            Dyn::Bytes(b"abc".to_vec()),
            Dyn::Str("616263".into()),
            Dyn::Str("#616263".into()),
            Dyn::Str("1".into()),
            Dyn::Int(1),
            Dyn::Float(1.0),
            Dyn::Str("1.0".into()),
            Dyn::Bool(true),
            Dyn::Str("true".into()),
            Dyn::Float(f64::NAN),
            Dyn::Str("NaN".into()),
            Dyn::Float(-0.0),
            Dyn::Int(0),
            Dyn::Str("-0".into()),
            Dyn::Str(String::new()),
            Dyn::None,
            Dyn::Unit,
            Dyn::Str("()".into()),
        ];
        // Bare tokens with the same text meet ("1" and 1, "1.0" and 1.0, "true"
        // and true, "NaN" and NaN): 19 values, 14 renderings, and no other
        // collision (checked against `canonical_id`).
        assert_eq!(check_injective(mixed, canonical_id), 14);
    }

    // ------------------------------------- the whole data model, dynamically

    /// A value of any serde shape, chosen at run time (like an untagged enum
    /// or `serde_json::Value`).
    #[derive(Debug, Clone)]
    enum Dyn {
        Unit,
        Bool(bool),
        Int(i64),
        Float(f64),
        Str(String),
        Bytes(Vec<u8>),
        None,
        Some(Box<Dyn>),
        Seq(Vec<Dyn>),
        Tuple(Vec<Dyn>),
        Map(Vec<(Dyn, Dyn)>),
        Struct(Vec<(&'static str, Dyn)>),
        UnitVariant(&'static str),
        NewtypeVariant(&'static str, Box<Dyn>),
        TupleVariant(&'static str, Vec<Dyn>),
        StructVariant(&'static str, Vec<(&'static str, Dyn)>),
    }

    impl Serialize for Dyn {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Dyn::Unit => s.serialize_unit(),
                Dyn::Bool(b) => s.serialize_bool(*b),
                Dyn::Int(i) => s.serialize_i64(*i),
                Dyn::Float(f) => s.serialize_f64(*f),
                Dyn::Str(x) => s.serialize_str(x),
                Dyn::Bytes(b) => s.serialize_bytes(b),
                Dyn::None => s.serialize_none(),
                Dyn::Some(x) => s.serialize_some(x),
                Dyn::Seq(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(item)?;
                    }
                    seq.end()
                }
                Dyn::Tuple(items) => {
                    let mut tuple = s.serialize_tuple(items.len())?;
                    for item in items {
                        tuple.serialize_element(item)?;
                    }
                    tuple.end()
                }
                Dyn::Map(entries) => {
                    let mut map = s.serialize_map(Some(entries.len()))?;
                    for (k, v) in entries {
                        map.serialize_entry(k, v)?;
                    }
                    map.end()
                }
                Dyn::Struct(fields) => {
                    let mut st = s.serialize_struct("Dyn", fields.len())?;
                    for (name, v) in fields {
                        st.serialize_field(name, v)?;
                    }
                    st.end()
                }
                Dyn::UnitVariant(name) => s.serialize_unit_variant("Dyn", 0, name),
                Dyn::NewtypeVariant(name, v) => s.serialize_newtype_variant("Dyn", 0, name, v),
                Dyn::TupleVariant(name, items) => {
                    let mut tv = s.serialize_tuple_variant("Dyn", 0, name, items.len())?;
                    for item in items {
                        tv.serialize_field(item)?;
                    }
                    tv.end()
                }
                Dyn::StructVariant(name, fields) => {
                    let mut sv = s.serialize_struct_variant("Dyn", 0, name, fields.len())?;
                    for (field, v) in fields {
                        sv.serialize_field(field, v)?;
                    }
                    sv.end()
                }
            }
        }
    }

    /// Collapses exactly the shape pairs that the module documents as
    /// rendering alike (`Some(x)`/`x`, unit variant/string, struct/map, empty
    /// tuple/unit, one-field tuple variant/newtype variant, NaN payloads), so
    /// that anything else sharing a rendering is a real collision.
    fn canonical(value: &Dyn) -> Dyn {
        match value {
            // Bare scalar tokens meet when their text is the same (`"42"` and
            // `42`, `"true"` and `true`, a unit variant and its name): identify
            // them by that text.
            Dyn::Int(_) | Dyn::Bool(_) | Dyn::Float(_) | Dyn::Str(_) => Dyn::Str(key(value)),
            Dyn::Some(inner) => match canonical(inner) {
                c @ (Dyn::None | Dyn::Some(_)) => Dyn::Some(Box::new(c)),
                c => c,
            },
            Dyn::Seq(items) => Dyn::Seq(items.iter().map(canonical).collect()),
            Dyn::Tuple(items) if items.is_empty() => Dyn::Unit,
            Dyn::Tuple(items) => Dyn::Tuple(items.iter().map(canonical).collect()),
            Dyn::Map(entries) => {
                let mut entries: Vec<(Dyn, Dyn)> = entries
                    .iter()
                    .map(|(k, v)| (canonical(k), canonical(v)))
                    .collect();
                entries.sort_by_cached_key(|e| format!("{e:?}"));
                Dyn::Map(entries)
            }
            Dyn::Struct(fields) => canonical(&Dyn::Map(
                fields
                    .iter()
                    .map(|(name, v)| (canonical(&Dyn::Str((*name).to_owned())), v.clone()))
                    .collect(),
            )),
            Dyn::UnitVariant(name) => canonical(&Dyn::Str((*name).to_owned())),
            Dyn::NewtypeVariant(name, v) => Dyn::NewtypeVariant(name, Box::new(canonical(v))),
            Dyn::TupleVariant(name, items) if items.len() == 1 => {
                Dyn::NewtypeVariant(name, Box::new(canonical(&items[0])))
            }
            Dyn::TupleVariant(name, items) => {
                Dyn::TupleVariant(name, items.iter().map(canonical).collect())
            }
            Dyn::StructVariant(name, fields) => Dyn::StructVariant(
                name,
                fields.iter().map(|(f, v)| (*f, canonical(v))).collect(),
            ),
            other => other.clone(),
        }
    }

    /// Identity of a [`Dyn`] up to the documented equivalences. `Debug` of
    /// `f64` tells `-0.0` from `0.0`.
    fn canonical_id(value: &Dyn) -> String {
        format!("{:?}", canonical(value))
    }

    /// Leaf values of every scalar shape, with look-alike strings.
    fn dyn_leaves() -> Vec<Dyn> {
        let mut leaves = vec![
            Dyn::Unit,
            Dyn::Bool(true),
            Dyn::Bool(false),
            Dyn::None,
            Dyn::Tuple(vec![]),
            Dyn::UnitVariant("V"),
            Dyn::UnitVariant("W"),
            Dyn::UnitVariant(""),
            Dyn::UnitVariant("1"),
        ];
        leaves.extend([0, 1, -1, 42, -7, 10, i64::MIN].map(Dyn::Int));
        leaves.extend(
            [
                0.0,
                -0.0,
                1.0,
                -1.0,
                1.5,
                42.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ]
            .map(Dyn::Float),
        );
        leaves.extend(tricky_strings().into_iter().map(Dyn::Str));
        leaves.extend(
            [
                vec![],
                vec![0],
                vec![0xab, 0xcd],
                b"a".to_vec(),
                b"~".to_vec(),
            ]
            .map(Dyn::Bytes),
        );
        leaves
    }

    /// Wraps `a` (and `b`) in every compound shape.
    fn dyn_compounds(a: &Dyn, b: &Dyn, out: &mut Vec<Dyn>) {
        out.push(Dyn::Some(Box::new(a.clone())));
        out.push(Dyn::Seq(vec![a.clone()]));
        out.push(Dyn::Seq(vec![a.clone(), b.clone()]));
        out.push(Dyn::Tuple(vec![a.clone()]));
        out.push(Dyn::Tuple(vec![a.clone(), b.clone()]));
        out.push(Dyn::Map(vec![(a.clone(), b.clone())]));
        out.push(Dyn::Struct(vec![("a", a.clone()), ("b", b.clone())]));
        out.push(Dyn::NewtypeVariant("V", Box::new(a.clone())));
        out.push(Dyn::TupleVariant("V", vec![a.clone(), b.clone()]));
        out.push(Dyn::TupleVariant("W", vec![a.clone()]));
        out.push(Dyn::StructVariant("V", vec![("a", a.clone())]));
    }

    #[test]
    fn whole_data_model_is_injective_systematically() {
        let leaves = dyn_leaves();
        let mut values = leaves.clone();
        let mut level1 = Vec::new();
        for a in &leaves {
            for b in &leaves {
                dyn_compounds(a, b, &mut level1);
            }
        }
        // Level 2: compounds of a sample of level 1 with a few leaves.
        let mut level2 = Vec::new();
        let picks = [&leaves[0], &leaves[3], &leaves[5], &leaves[20], &leaves[30]];
        for (i, a) in level1.iter().enumerate().filter(|(i, _)| i % 13 == 0) {
            let b = picks[i % picks.len()];
            dyn_compounds(a, b, &mut level2);
            dyn_compounds(b, a, &mut level2);
        }
        values.extend(level1);
        values.extend(level2);
        let distinct = check_injective(values, canonical_id);
        assert!(distinct > 50_000, "only {distinct} distinct renderings");
    }

    /// Small deterministic PRNG (xorshift64*).
    struct Rng(u64);

    impl Rng {
        /// Next pseudo-random number below `n`.
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            usize::try_from(x >> 33).unwrap() % n
        }
    }

    /// A random [`Dyn`] of depth at most `depth`.
    fn random_dyn(rng: &mut Rng, leaves: &[Dyn], depth: u32) -> Dyn {
        const NAMES: [&str; 3] = ["V", "W", "a"];
        if depth == 0 || rng.below(3) == 0 {
            return leaves[rng.below(leaves.len())].clone();
        }
        let many = |rng: &mut Rng| -> Vec<Dyn> {
            (0..rng.below(4))
                .map(|_| random_dyn(rng, leaves, depth - 1))
                .collect()
        };
        match rng.below(9) {
            0 => Dyn::Some(Box::new(random_dyn(rng, leaves, depth - 1))),
            1 => Dyn::Seq(many(rng)),
            2 => Dyn::Tuple(many(rng)),
            3 => {
                let keys = many(rng);
                Dyn::Map(
                    keys.into_iter()
                        .map(|k| (k, random_dyn(rng, leaves, depth - 1)))
                        .collect(),
                )
            }
            4 => Dyn::Struct(
                many(rng)
                    .into_iter()
                    .zip(NAMES)
                    .map(|(v, n)| (n, v))
                    .collect(),
            ),
            5 => Dyn::NewtypeVariant(
                NAMES[rng.below(3)],
                Box::new(random_dyn(rng, leaves, depth - 1)),
            ),
            6 => Dyn::TupleVariant(NAMES[rng.below(3)], many(rng)),
            7 => Dyn::StructVariant(
                NAMES[rng.below(3)],
                many(rng)
                    .into_iter()
                    .zip(NAMES)
                    .map(|(v, n)| (n, v))
                    .collect(),
            ),
            _ => Dyn::Some(Box::new(Dyn::Some(Box::new(random_dyn(
                rng,
                leaves,
                depth - 1,
            ))))),
        }
    }

    #[test]
    fn whole_data_model_is_injective_randomly() {
        let leaves = dyn_leaves();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let values: Vec<Dyn> = (0..40_000)
            .map(|_| random_dyn(&mut rng, &leaves, 4))
            .collect();
        let distinct = check_injective(values, canonical_id);
        assert!(distinct > 10_000, "only {distinct} distinct renderings");
    }

    // ------------------------------------------------------------ stability

    #[test]
    fn hash_maps_render_like_the_btree_map() {
        let entries: Vec<(String, u32)> = (0_u32..50)
            .map(|i| (format!("key {i}:{}", i * 7 % 13), i))
            .collect();
        let btree: BTreeMap<String, u32> = entries.iter().cloned().collect();
        let expected = key(&btree);
        assert_segment_safe(&expected, &btree);
        let mut orders = HashSet::new();
        for round in 0..200_usize {
            let mut map = HashMap::new();
            // Vary the insertion order too.
            for j in 0..entries.len() {
                let (k, v) = &entries[(j * 7 + round) % entries.len()];
                map.insert(k.clone(), *v);
            }
            orders.insert(map.keys().cloned().collect::<Vec<_>>());
            assert_eq!(key(&map), expected);
        }
        // Sanity: the maps really did iterate in different orders.
        assert!(orders.len() > 1);

        // Keys whose natural order differs from their rendered byte order.
        let ints: HashMap<i64, i64> = (-25..25).map(|i| (i, -i)).collect();
        let ints_tree: BTreeMap<i64, i64> = ints.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(key(&ints), key(&ints_tree));
    }

    #[test]
    fn sequences_keep_their_order() {
        assert_ne!(key(&vec![1, 2]), key(&vec![2, 1]));
        let set: BTreeSet<i32> = [3, 1, 2].into_iter().collect();
        assert_eq!(key(&set), "[1,2,3]");
    }

    #[test]
    fn renderings_are_deterministic() {
        let value = (
            Shape::Point { x: 1, y: 2 },
            vec![Some("a b"), None],
            BTreeMap::from([("k", 1.5_f64)]),
        );
        let first = key(&value);
        assert_eq!(first, "(Point{x=1,y=2},[a%20b,~],{k=1.5})");
        for _ in 0..10 {
            assert_eq!(key(&value), first);
        }
    }

    // --------------------------------------------------- errors, no panics

    /// Fails to serialize, like a custom impl refusing a value.
    #[derive(Debug)]
    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("refused to serialize"))
        }
    }

    /// Misuses the map protocol: a value without a key.
    struct ValueWithoutKey;

    impl Serialize for ValueWithoutKey {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            map.serialize_value(&1)?;
            map.end()
        }
    }

    /// Misuses the map protocol: a key without a value.
    struct KeyWithoutValue;

    impl Serialize for KeyWithoutValue {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            map.serialize_key(&1)?;
            map.end()
        }
    }

    #[test]
    fn failing_serialize_yields_an_error_and_leaves_out_untouched() {
        let mut out = String::from("prefix:");
        let err = write_key_part(&mut out, &Refuses).unwrap_err();
        assert_eq!(out, "prefix:");
        assert!(err.to_string().contains("refused to serialize"), "{err}");

        let nested = (1, vec![Some(Refuses)]);
        let err = write_key_part(&mut out, &nested).unwrap_err();
        assert_eq!(out, "prefix:");
        assert!(err.to_string().contains("refused to serialize"));

        let in_value: BTreeMap<i32, (i32, Refuses)> = BTreeMap::from([(1, (2, Refuses))]);
        assert!(write_key_part(&mut out, &in_value).is_err());
        assert_eq!(out, "prefix:");

        let in_key: Vec<(Refuses, i32)> = vec![(Refuses, 1)];
        let as_map = MapOf(in_key);
        let err = write_key_part(&mut out, &as_map).unwrap_err();
        assert_eq!(out, "prefix:");
        let message = err.to_string();
        assert!(message.contains("map key"), "{message}");
        assert!(message.contains("refused to serialize"), "{message}");

        assert!(write_key_part(&mut out, &ValueWithoutKey).is_err());
        assert!(write_key_part(&mut out, &KeyWithoutValue).is_err());
        assert_eq!(out, "prefix:");
    }

    /// Serializes a list of pairs as a map (keys need not be `Ord`).
    struct MapOf<K, V>(Vec<(K, V)>);

    impl<K: Serialize, V: Serialize> Serialize for MapOf<K, V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    #[test]
    fn error_type_behaves_like_an_error() {
        let err = KeyEncodeError::custom("boom");
        let as_dyn: &dyn std::error::Error = &err;
        assert_eq!(
            as_dyn.to_string(),
            "cannot render a cache-key argument: boom"
        );
        assert!(format!("{err:?}").contains("boom"));
        assert_eq!(err.clone(), err);
    }

    #[test]
    fn maps_with_equal_rendered_keys_are_still_deterministic() {
        let a = MapOf(vec![(f64::NAN, 2), (f64::NAN, 1), (-f64::NAN, 3)]);
        let b = MapOf(vec![(-f64::NAN, 3), (f64::NAN, 1), (f64::NAN, 2)]);
        assert_eq!(key(&a), "{NaN=1,NaN=2,NaN=3}");
        assert_eq!(key(&a), key(&b));
    }

    /// A recursive type for deep nesting.
    #[derive(Serialize)]
    struct Deep(Option<Box<Deep>>);

    /// Builds a `Deep` nested `depth` levels.
    fn deep(depth: usize) -> Deep {
        let mut value = Deep(None);
        for _ in 0..depth {
            value = Deep(Some(Box::new(value)));
        }
        value
    }

    #[test]
    fn deep_nesting_and_long_strings_do_not_panic() {
        for depth in [0, 1, 2, 3, 200] {
            let rendered = key(&deep(depth));
            assert_eq!(rendered, format!("{}~", "!".repeat(depth)));
        }
        let mut nested: Dyn = Dyn::Int(1);
        for i in 0..200 {
            nested = match i % 4 {
                0 => Dyn::Seq(vec![nested]),
                1 => Dyn::Map(vec![(nested, Dyn::Unit)]),
                2 => Dyn::NewtypeVariant("V", Box::new(nested)),
                _ => Dyn::Some(Box::new(nested)),
            };
        }
        assert_segment_safe(&key(&nested), &"nested");

        let long: String = "a:b é\n".repeat(200_000);
        let rendered = key(&long);
        assert_eq!(rendered.len(), 200_000 * "a%3Ab%20%C3%A9%0A".len());
        assert_eq!(key(&Bytes(vec![0xee; 100_000])).len(), 200_001);
    }
}
