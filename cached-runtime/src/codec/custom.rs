//! Coders of your own: [`CustomCoder`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DecodeError, EncodeError};

/// The error a [`CustomCoder`] returns.
pub type CoderError = Box<dyn std::error::Error + Send + Sync>;

/// A coder of your own, for `#[cached(coder = MY_CODER)]` (a `static` implementing
/// it) or [`ConfigBuilder::coder`](crate::ConfigBuilder::coder) with
/// [`Coder::Custom`](crate::Coder::Custom). Values are handed over through
/// [`erased_serde`](https://docs.rs/erased-serde), so the trait stays object-safe:
/// wrap your format's serializer and deserializer with `erase`.
///
/// What the cache keeps for you: the header before your bytes (the type, the
/// function, and your coder's [`name`](Self::name), so a value another coder
/// wrote is a miss, recomputed and overwritten, never handed to you), the size
/// limit, and treating any error you return as "not stored" (encode) or a miss
/// (decode). What is yours: a value must read back equal to what was written, or
/// a hit would differ from the miss (MessagePack, the default, is exact for every
/// serde type; see [`Coder`](crate::Coder)).
///
/// ```
/// use cachette::erased_serde;
/// use cachette::{CoderError, CustomCoder};
///
/// /// JSON, written by serde_json, for the sake of the example.
/// struct PrettyJson;
///
/// impl CustomCoder for PrettyJson {
///     fn name(&self) -> &'static str {
///         "pretty-json"
///     }
///
///     fn encode(
///         &self,
///         value: &dyn erased_serde::Serialize,
///         out: &mut Vec<u8>,
///     ) -> Result<(), CoderError> {
///         let mut json = serde_json::Serializer::pretty(out);
///         value.erased_serialize(&mut <dyn erased_serde::Serializer>::erase(&mut json))?;
///         Ok(())
///     }
///
///     fn decode(
///         &self,
///         bytes: &[u8],
///         read: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
///     ) -> Result<(), CoderError> {
///         let mut json = serde_json::Deserializer::from_slice(bytes);
///         read(&mut <dyn erased_serde::Deserializer<'_>>::erase(&mut json))?;
///         json.end()?;
///         Ok(())
///     }
/// }
///
/// static PRETTY: PrettyJson = PrettyJson;
///
/// #[cachette::cached(expire = 60, coder = PRETTY)]
/// async fn settings(user: u64) -> Vec<String> {
///     vec![format!("user {user}")]
/// }
/// ```
pub trait CustomCoder: Send + Sync + 'static {
    /// The coder's name: recorded (hashed, with the type) in every value it
    /// writes. Keep it stable, and unique among your coders; `msgpack` and
    /// `json` are the built-ins'.
    fn name(&self) -> &'static str;

    /// Appends `value`, written in your format, to `out`.
    ///
    /// # Errors
    ///
    /// When the value cannot be written: it is then served, not stored.
    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CoderError>;

    /// Reads `bytes` (what [`encode`](Self::encode) wrote): hands `read` a
    /// deserializer of them, once.
    ///
    /// # Errors
    ///
    /// When the bytes do not read as the value, or `read` failed: a miss.
    fn decode(
        &self,
        bytes: &[u8],
        read: &mut dyn FnMut(
            &mut dyn erased_serde::Deserializer<'_>,
        ) -> Result<(), erased_serde::Error>,
    ) -> Result<(), CoderError>;
}

/// A `?Sized` value as a sized one, to be erased.
struct Erase<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Erase<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Appends `value` as `coder` writes it.
pub(super) fn encode<T: Serialize + ?Sized>(
    coder: &dyn CustomCoder,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    coder
        .encode(&Erase(value), out)
        .map_err(|e| EncodeError(format!("coder {}: {e}", coder.name())))
}

/// Reads a `T` from what `coder` wrote.
pub(super) fn decode<T: DeserializeOwned>(
    coder: &dyn CustomCoder,
    payload: &[u8],
) -> Result<T, DecodeError> {
    let mut value = None;
    coder
        .decode(payload, &mut |deserializer| {
            value = Some(erased_serde::deserialize::<T>(deserializer)?);
            Ok(())
        })
        .map_err(|e| DecodeError(format!("coder {}: {e}", coder.name())))?;
    value.ok_or_else(|| DecodeError(format!("coder {} read nothing", coder.name())))
}
