//! How values are stored: MessagePack behind a small versioned header.
//!
//! Every stored value starts with a 19-byte header: a magic byte, the format version,
//! the kind of payload (a MessagePack value, or an HTTP response), a 64-bit tag of
//! the Rust type's name and a 64-bit tag of the function that stored it (its full
//! path, see `key::function`). A value whose header does not match (another format
//! version, another type after a deploy, another function whose key builder made the
//! same key, garbage written by hand) is a decode error: the runtime treats it as a
//! miss, logs a warning and overwrites it. Nothing stored can run code when read
//! (MessagePack, never a format like pickle).
//!
//! Structs are written with field names (as `rmp_serde::to_vec_named` does), so a
//! struct that gained a field with `#[serde(default)]` still reads old entries, and
//! one whose fields were reordered never reads them wrongly.
//!
//! # Options, exactly
//!
//! A hit must equal the miss for every serde type. rmp-serde alone writes `Some(x)`
//! as `x` and both `None` and `()` as nil, so `Some(None)`, `Some(())` or
//! `Some(Some(None))` read back as `None`. Format version 2 changes only how an
//! option is written, everywhere in a value (a field, a sequence element, a map
//! key or value, a variant's content, a newtype's, at any depth):
//!
//! - `None` is nil, as before.
//! - `Some(x)` is `x`, as before, when `x` starts with anything but nil or an ext:
//!   a number, a string, a struct, a sequence, a unit struct (`[]`)... This is
//!   nearly every `Some` in practice, and it costs nothing: no byte, no copy.
//! - Otherwise (`x` is `None`, `()`, or a value whose Serialize writes a unit, or
//!   an rmp-serde ext) `Some(x)` is a *marker*: a MessagePack ext of type 127
//!   whose payload is `x`, written the same way. `Some(None)` is the 3 bytes
//!   `d4 7f c0`; `Some(Some(None))` is a marker holding that one.
//!
//! Reading an option looks at the next byte: nil is `None`, a marker is `Some` of
//! what it holds, anything else is `Some` of itself. That accepts exactly what the
//! writer produces: a value read as `Some` of itself never starts with nil or a
//! marker, since those are always wrapped.
//!
//! Why not simply always wrap `Some(x)`? A marker has to hold its payload's length,
//! and so needs `x` serialized first; a one-element array instead would cost a
//! byte per `Some` and still be ambiguous with values that are themselves
//! one-element arrays unless those are wrapped too. Wrapping only what collides
//! keeps the common case byte-for-byte what rmp-serde writes, and the result valid
//! MessagePack that any tool can read.
//!
//! Writing is rmp-serde's serializer behind an adapter ([`ser`]) that wraps every
//! nested value and decides from the first call a value makes whether its `Some`
//! needs a marker, so nothing is serialized twice. Reading is a deserializer of
//! this module ([`de`], [`read`]) that reads rmp-serde's representations as
//! rmp-serde does (structs as maps or arrays, enums as a name or a one-entry map,
//! unit structs as `[]`, 128-bit integers as 16 bytes, exts) and options as above:
//! rmp-serde's deserializer cannot be asked for the next byte. Both cost what
//! rmp-serde alone costs (decoding 50 users: 2% fewer instructions).
//!
//! One limit: a value that carries its own rmp-serde ext of type 127 and is read
//! through `deserialize_any` (an untagged enum, a flattened field) has that ext
//! read as a marker, and does not decode: a miss. Everywhere else a value's own
//! exts read back (an ext where an option is read is always a marker).

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod custom;
mod de;
mod json;
mod marker;
mod read;
mod ser;
pub(crate) mod size;

pub use custom::{CoderError, CustomCoder};
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_json;

const MAGIC: u8 = 0xCA;
/// 2: options written exactly (see the module doc), and the function in the
/// header; entries of version 1 are misses.
const VERSION: u8 = 2;
const HEADER_LEN: usize = 19;

/// What follows the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A MessagePack value of the function's return type.
    Value = 1,
    /// An HTTP response: status, headers, body.
    Http = 2,
}

/// Why a stored value could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(String);

impl DecodeError {
    pub(crate) fn new(reason: String) -> Self {
        DecodeError(reason)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// How a value is written after the header: `CACHE_CODER`, or per function
/// `#[cached(coder = ...)]`.
///
/// The coder is recorded in every stored value (with the type's tag), so an
/// entry written with one coder is a miss for a function that reads with the
/// other (recomputed and overwritten), never an error. HTTP responses are stored
/// in their own format whatever the coder.
#[derive(Clone, Copy, Default)]
#[non_exhaustive]
pub enum Coder {
    /// MessagePack (the default): compact, and exact for every serde value
    /// (`Some(None)` reads back as `Some(None)`).
    #[default]
    MsgPack,
    /// JSON: readable in `redis-cli`. A value JSON cannot hold exactly (a `Some`
    /// of a value written as `null`, such as `Some(None)` or `Some(())`; a float
    /// that is not finite) is served but not stored, with a warning.
    Json,
    /// A coder of your own (see [`CustomCoder`]), for `#[cached(coder =
    /// MY_CODER)]` or [`ConfigBuilder::coder`](crate::ConfigBuilder::coder).
    Custom(&'static dyn CustomCoder),
}

impl PartialEq for Coder {
    /// Coders are the same when their names are.
    fn eq(&self, other: &Coder) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Coder {}

impl std::hash::Hash for Coder {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Debug for Coder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coder::MsgPack => f.write_str("MsgPack"),
            Coder::Json => f.write_str("Json"),
            Coder::Custom(coder) => f.debug_tuple("Custom").field(&coder.name()).finish(),
        }
    }
}

impl Coder {
    /// The name `CACHE_CODER` and the attribute take: `msgpack` or `json`; a
    /// custom coder's own.
    pub fn name(self) -> &'static str {
        match self {
            Coder::MsgPack => "msgpack",
            Coder::Json => "json",
            Coder::Custom(coder) => coder.name(),
        }
    }

    /// The built-in coder called `name` (any case), if there is one.
    pub fn from_name(name: &str) -> Option<Coder> {
        [Coder::MsgPack, Coder::Json]
            .into_iter()
            .find(|coder| coder.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Coder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// FNV-1a (64 bits): a fixed, seedless hash, identical in every process and build.
fn type_tag(name: &str) -> [u8; 8] {
    crate::key::function::fnv_str(name).to_le_bytes()
}

/// The tag of type `name` written with `coder`: MessagePack's is the type's own
/// (what every version before coders wrote), another coder's mixes its name in,
/// so a value written with one coder is never read with another.
fn coded_type_tag(name: &str, coder: Coder) -> [u8; 8] {
    if coder == Coder::MsgPack {
        return type_tag(name);
    }
    let mut tagged = String::with_capacity(name.len() + 16);
    tagged.push_str(name);
    tagged.push_str("\0coder:");
    tagged.push_str(coder.name());
    type_tag(&tagged)
}

/// Writes the header of a value of `kind` and type `type_name`, stored by the
/// function whose tag is `function`.
pub(crate) fn write_header(out: &mut Vec<u8>, kind: Kind, type_name: &str, function: u64) {
    out.extend_from_slice(&[MAGIC, VERSION, kind as u8]);
    out.extend_from_slice(&type_tag(type_name));
    out.extend_from_slice(&function.to_le_bytes());
}

/// Writes the header of a value of type `type_name` written with `coder`, stored
/// by the function whose tag is `function`.
pub(crate) fn write_value_header(out: &mut Vec<u8>, type_name: &str, coder: Coder, function: u64) {
    out.extend_from_slice(&[MAGIC, VERSION, Kind::Value as u8]);
    out.extend_from_slice(&coded_type_tag(type_name, coder));
    out.extend_from_slice(&function.to_le_bytes());
}

/// Checks the header and returns the payload after it.
pub(crate) fn read_header<'a>(
    bytes: &'a [u8],
    kind: Kind,
    type_name: &str,
    function: u64,
) -> Result<&'a [u8], DecodeError> {
    read_coded_header(bytes, kind, type_name, Coder::MsgPack, function)
}

/// [`read_header`] of a value written with `coder`.
fn read_coded_header<'a>(
    bytes: &'a [u8],
    kind: Kind,
    type_name: &str,
    coder: Coder,
    function: u64,
) -> Result<&'a [u8], DecodeError> {
    match bytes {
        [] | [_] => {
            return Err(DecodeError(format!(
                "{} bytes is too short for a cachette value",
                bytes.len()
            )));
        }
        [magic, ..] if *magic != MAGIC => {
            return Err(DecodeError("not a cachette value (bad magic byte)".into()));
        }
        [_, version, ..] if *version != VERSION => {
            return Err(DecodeError(format!(
                "format version {version} (this build reads version {VERSION})"
            )));
        }
        _ if bytes.len() < HEADER_LEN => {
            return Err(DecodeError(format!(
                "{} bytes is too short for a cachette value",
                bytes.len()
            )));
        }
        _ => {}
    }
    if bytes[2] != kind as u8 {
        return Err(DecodeError(format!(
            "payload kind {} (expected {})",
            bytes[2], kind as u8
        )));
    }
    if bytes[3..11] != coded_type_tag(type_name, coder) {
        return Err(DecodeError(format!(
            "stored for another type than `{type_name}`, or with another coder than {coder}"
        )));
    }
    if bytes[11..HEADER_LEN] != function.to_le_bytes() {
        return Err(DecodeError(
            "stored by another function (two functions make the same key: give them different namespaces, or key builders that tell them apart)".into(),
        ));
    }
    Ok(&bytes[HEADER_LEN..])
}

/// Encodes `value`, stored by the function whose tag is `function`, as header +
/// MessagePack.
#[cfg(test)]
pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    function: u64,
) -> Result<Vec<u8>, EncodeError> {
    encode_with(value, function, Coder::MsgPack)
}

/// Encodes `value`, stored by the function whose tag is `function`, as header +
/// what `coder` writes.
pub(crate) fn encode_with<T: Serialize + ?Sized>(
    value: &T,
    function: u64,
    coder: Coder,
) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    write_value_header(&mut out, std::any::type_name::<T>(), coder, function);
    match coder {
        Coder::MsgPack => {}
        Coder::Json => {
            json::encode(value, &mut out)?;
            return Ok(shrunk(out));
        }
        Coder::Custom(custom) => {
            custom::encode(custom, value, &mut out)?;
            return Ok(shrunk(out));
        }
    }
    let mut serializer = rmp_serde::Serializer::new(out).with_struct_map();
    value
        .serialize(ser::Ser(&mut serializer))
        .map_err(|e| EncodeError(format!("MessagePack encoding failed: {e}")))?;
    Ok(shrunk(serializer.into_inner()))
}

/// `out`, copied to a buffer of its length when much of it is spare.
fn shrunk(mut out: Vec<u8>) -> Vec<u8> {
    // The buffer grew by doubling: up to half of it is spare, and an entry holds
    // its whole allocation (`Bytes::from(Vec)` keeps it) while weighing only its
    // length. A copy of exactly its length is what the entry keeps: shrinking in
    // place would leave the spare tail as a hole between entries, too small for
    // the next value's buffer (measured: 1.30x the bound in RSS instead of 1.1x);
    // the whole buffer freed is reused by the next encoding instead.
    if out.capacity() - out.len() > out.len() / 8 {
        out = out.as_slice().to_vec();
    }
    out
}

/// [`encode_with`], refusing a value that would not read back as itself: what
/// the cache stores for values (`returns::ReturnShape`), so a hit is the miss.
///
/// MessagePack reads every value back exactly (see the module docs) but one way:
/// a type that serde reads through `deserialize_any` (an untagged or internally
/// tagged enum, a flattened field) picks what it builds from the data, and
/// overlapping forms come back as another value (`Count(5)` as `Exact(5.0)`,
/// `Labeled { x, label: None }` as `Point { x }`). So the stored value is read
/// back once, here, on every miss (a decode: misses only), and when a
/// self-describing read was involved, what came back is written again and
/// compared with what was stored, maps compared as sets: a difference is not
/// stored (the caller still gets its value; the cache logs why). A value that
/// does not decode at all is not stored either.
pub(crate) fn encode_exact<T: Serialize + DeserializeOwned>(
    value: &T,
    function: u64,
    coder: Coder,
) -> Result<Vec<u8>, EncodeError> {
    let bytes = encode_with(value, function, coder)?;
    let packed_here;
    let packed: &[u8] = if coder == Coder::MsgPack {
        &bytes
    } else {
        packed_here = encode_with(value, function, Coder::MsgPack)?;
        &packed_here
    };
    let mut reader = de::De::new(&packed[HEADER_LEN..]);
    if let Err(error) = T::deserialize(&mut reader) {
        return Err(EncodeError(format!(
            "the value does not read back: {error}"
        )));
    }
    if !reader.self_describing() && coder == Coder::MsgPack {
        return Ok(bytes);
    }
    let back: T = decode_with(&bytes, function, coder)
        .map_err(|error| EncodeError(format!("the value does not read back: {error}")))?;
    if reader.self_describing() {
        let again = encode_with(&back, function, Coder::MsgPack)?;
        if canonical(&packed[HEADER_LEN..]) != canonical(&again[HEADER_LEN..]) {
            return Err(EncodeError(
                "the value reads back as another value (an untagged or internally tagged enum, or a flattened field, whose forms overlap): not stored".into(),
            ));
        }
    }
    Ok(bytes)
}

/// A MessagePack payload as a value tree whose maps are in a fixed order (by
/// their keys' bytes), so that two encodings of one value compare equal
/// whatever order their maps were written in (a `HashMap`'s).
fn canonical(payload: &[u8]) -> Option<rmpv::Value> {
    fn sort(value: &mut rmpv::Value) {
        match value {
            rmpv::Value::Array(items) => items.iter_mut().for_each(sort),
            rmpv::Value::Map(entries) => {
                for (key, item) in entries.iter_mut() {
                    sort(key);
                    sort(item);
                }
                entries.sort_by_cached_key(|(key, _)| {
                    let mut bytes = Vec::new();
                    // Writing into a Vec cannot fail.
                    let _ = rmpv::encode::write_value(&mut bytes, key);
                    bytes
                });
            }
            _ => {}
        }
    }
    let mut value = rmpv::decode::read_value(&mut &payload[..]).ok()?;
    sort(&mut value);
    Some(value)
}

/// Decodes what [`encode`] wrote for the function whose tag is `function`.
#[cfg(test)]
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], function: u64) -> Result<T, DecodeError> {
    decode_with(bytes, function, Coder::MsgPack)
}

/// Decodes what [`encode_with`] wrote with `coder` for the function whose tag is
/// `function`; a value written with another coder is an error (a miss).
pub(crate) fn decode_with<T: DeserializeOwned>(
    bytes: &[u8],
    function: u64,
    coder: Coder,
) -> Result<T, DecodeError> {
    let type_name = std::any::type_name::<T>();
    let payload = read_coded_header(bytes, Kind::Value, type_name, coder, function)?;
    match coder {
        Coder::MsgPack => {}
        Coder::Json => return json::decode(payload),
        Coder::Custom(custom) => return custom::decode(custom, payload),
    }
    let mut deserializer = de::De::new(payload);
    let value =
        T::deserialize(&mut deserializer).map_err(|e| DecodeError(format!("MessagePack: {e}")))?;
    deserializer
        .end()
        .map_err(|e| DecodeError(format!("MessagePack: {e}")))?;
    Ok(value)
}
