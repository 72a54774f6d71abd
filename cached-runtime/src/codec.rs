//! How values are stored: MessagePack behind a small versioned header.
//!
//! Every stored value starts with a 7-byte header: a magic byte, the format version,
//! the kind of payload (a MessagePack value, or an HTTP response) and a 32-bit tag
//! of the Rust type's name. A value whose header does not match (another format
//! version, another type after a deploy, garbage written by hand) is a decode error:
//! the runtime treats it as a miss, logs a warning and overwrites it. Nothing stored
//! can run code when read (MessagePack via `rmp-serde`, never a format like pickle).
//!
//! Structs are written with field names (`rmp_serde::to_vec_named`), so a struct that
//! gained a field with `#[serde(default)]` still reads old entries, and one whose
//! fields were reordered never reads them wrongly.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

const MAGIC: u8 = 0xCA;
const VERSION: u8 = 1;
const HEADER_LEN: usize = 7;

/// What follows the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// A MessagePack value of the function's return type.
    Value = 1,
    /// An HTTP response: status, headers, body.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    Http = 2,
}

/// Why a stored value could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
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
pub struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

/// FNV-1a: a fixed, seedless hash, identical in every process and build.
fn type_tag(name: &str) -> [u8; 4] {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_le_bytes()
}

pub(crate) fn write_header(out: &mut Vec<u8>, kind: Kind, type_name: &str) {
    out.extend_from_slice(&[MAGIC, VERSION, kind as u8]);
    out.extend_from_slice(&type_tag(type_name));
}

/// Checks the header and returns the payload after it.
pub(crate) fn read_header<'a>(
    bytes: &'a [u8],
    kind: Kind,
    type_name: &str,
) -> Result<&'a [u8], DecodeError> {
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError(format!(
            "{} bytes is too short for a cachette value",
            bytes.len()
        )));
    }
    if bytes[0] != MAGIC {
        return Err(DecodeError("not a cachette value (bad magic byte)".into()));
    }
    if bytes[1] != VERSION {
        return Err(DecodeError(format!(
            "format version {} (this build reads version {VERSION})",
            bytes[1]
        )));
    }
    if bytes[2] != kind as u8 {
        return Err(DecodeError(format!(
            "payload kind {} (expected {})",
            bytes[2], kind as u8
        )));
    }
    if bytes[3..HEADER_LEN] != type_tag(type_name) {
        return Err(DecodeError(format!(
            "stored for another type than `{type_name}`"
        )));
    }
    Ok(&bytes[HEADER_LEN..])
}

/// Encodes `value` as header + MessagePack.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    write_header(&mut out, Kind::Value, std::any::type_name::<T>());
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| EncodeError(format!("MessagePack encoding failed: {e}")))?;
    Ok(out)
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let payload = read_header(bytes, Kind::Value, std::any::type_name::<T>())?;
    rmp_serde::from_slice(payload).map_err(|e| DecodeError(format!("MessagePack: {e}")))
}

/// Encodes a value, or says it is not to be stored (`None`).
pub(crate) type EncodeFn<R> = fn(&R) -> Option<Result<Vec<u8>, EncodeError>>;

/// What a return type stores and how it reads back: chosen by type (see
/// `probe::ReturnProbe`), so `Err` and `None` are never stored.
#[derive(Debug)]
pub struct ValueCodec<R> {
    /// `None`: this value is not stored (an `Err`, a `None`).
    pub(crate) encode: EncodeFn<R>,
    pub(crate) decode: fn(&[u8]) -> Result<R, DecodeError>,
}

impl<R> Clone for ValueCodec<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for ValueCodec<R> {}

impl<T: Serialize + DeserializeOwned> ValueCodec<T> {
    /// The codec that stores every value.
    pub(crate) fn plain() -> Self {
        ValueCodec {
            encode: |v| Some(encode(v)),
            decode: decode::<T>,
        }
    }
}

impl<T: Serialize + DeserializeOwned> ValueCodec<Option<T>> {
    /// Stores `Some`, never `None`.
    pub(crate) fn option() -> Self {
        ValueCodec {
            encode: |v| v.as_ref().map(encode),
            decode: |b| decode::<T>(b).map(Some),
        }
    }
}

impl<T: Serialize + DeserializeOwned, E> ValueCodec<Result<T, E>> {
    /// Stores `Ok`, never `Err`.
    pub(crate) fn result() -> Self {
        ValueCodec {
            encode: |v| v.as_ref().ok().map(encode),
            decode: |b| decode::<T>(b).map(Ok),
        }
    }
}

impl<T: Serialize + DeserializeOwned, E> ValueCodec<Result<Option<T>, E>> {
    /// Stores `Ok(Some)`, never `Ok(None)` or `Err`.
    pub(crate) fn result_option() -> Self {
        ValueCodec {
            encode: |v| match v {
                Ok(Some(v)) => Some(encode(v)),
                _ => None,
            },
            decode: |b| decode::<T>(b).map(|v| Ok(Some(v))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct User {
        id: u64,
        name: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct UserV2 {
        name: String,
        id: u64,
    }

    #[test]
    fn round_trip() {
        let u = User {
            id: 7,
            name: "bob".into(),
        };
        let bytes = encode(&u).unwrap();
        assert_eq!(decode::<User>(&bytes).unwrap(), u);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\xca",
            b"hello world",
            b"\xca\x01\x01\x00\x00\x00\x00",
            b"\xca\x01\x01\xff\xff\xff\xff\x93",
        ] {
            assert!(decode::<User>(bytes).is_err());
        }
        let mut bytes = encode(&User {
            id: 1,
            name: "x".into(),
        })
        .unwrap();
        bytes.truncate(bytes.len() - 1);
        assert!(decode::<User>(&bytes).is_err());
    }

    #[test]
    fn other_version_or_type_is_an_error() {
        let mut bytes = encode(&5u32).unwrap();
        assert!(decode::<u64>(&bytes).is_err(), "type tag must differ");
        bytes[1] = 99;
        let err = decode::<u32>(&bytes).unwrap_err();
        assert!(err.to_string().contains("version 99"), "{err}");
    }

    #[test]
    fn result_and_option_store_only_success() {
        let c = ValueCodec::<Result<u32, String>>::result();
        assert!((c.encode)(&Err("boom".into())).is_none());
        let bytes = (c.encode)(&Ok(3)).unwrap().unwrap();
        assert_eq!((c.decode)(&bytes).unwrap(), Ok(3));

        let c = ValueCodec::<Option<u32>>::option();
        assert!((c.encode)(&None).is_none());
        let bytes = (c.encode)(&Some(4)).unwrap().unwrap();
        assert_eq!((c.decode)(&bytes).unwrap(), Some(4));

        let c = ValueCodec::<Result<Option<u32>, ()>>::result_option();
        assert!((c.encode)(&Ok(None)).is_none());
        assert!((c.encode)(&Err(())).is_none());
        let bytes = (c.encode)(&Ok(Some(5))).unwrap().unwrap();
        assert_eq!((c.decode)(&bytes).unwrap(), Ok(Some(5)));
    }

    #[test]
    fn named_fields_survive_reordering() {
        let bytes = rmp_serde::to_vec_named(&User {
            id: 1,
            name: "a".into(),
        })
        .unwrap();
        let v2: UserV2 = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(v2.id, 1);
        assert_eq!(v2.name, "a");
    }
}
