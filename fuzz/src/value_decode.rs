//! Value decoding (`codec/`), for every coder.
//!
//! Input: the first byte picks a type (below) and a mode:
//! - arbitrary bytes decoded as the type, after a valid header for it (so the
//!   fuzzer works on the payload) or without one;
//! - a value of the type built from the rest, stored and read back.
//!
//! Properties: decoding never panics, and bytes that are not a value of the type
//! are an error (a miss); bytes that decode re-encode to bytes that decode to the
//! same value; a stored value reads back equal (options exactly: `Some(None)`
//! stays `Some(None)`); it is a miss for another function and another type.
//!
//! Coders: [`MessagePack`] and [`Json`] (only what JSON accepts must read back
//! equal: it refuses `Some(None)`, `Some(())` and non-finite floats). Another
//! coder is one [`Coder`] impl and one more line in [`check`].

use std::collections::BTreeMap;
use std::fmt::Debug;

use cachette_runtime::__fuzz;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::input::Input;

const FUNCTION: u64 = 11;

/// A way values are stored.
pub trait Coder {
    /// Whether every value encodes (MessagePack); JSON refuses what it cannot
    /// hold exactly, and only what it accepts must read back equal.
    const TOTAL: bool;
    /// Stores `value` for `function`.
    fn encode<T: Serialize>(value: &T, function: u64) -> Result<Vec<u8>, String>;
    /// Reads a `T` stored for `function`.
    fn decode<T: DeserializeOwned>(bytes: &[u8], function: u64) -> Result<T, String>;
    /// The bytes a stored `T` of `function` starts with.
    fn header<T>(function: u64) -> Vec<u8>;
}

/// The default coder: MessagePack behind the codec header.
#[derive(Debug)]
pub struct MessagePack;

impl Coder for MessagePack {
    const TOTAL: bool = true;
    fn encode<T: Serialize>(value: &T, function: u64) -> Result<Vec<u8>, String> {
        __fuzz::encode_value(value, function, cachette_runtime::Coder::MsgPack)
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8], function: u64) -> Result<T, String> {
        __fuzz::decode_value(bytes, function, cachette_runtime::Coder::MsgPack)
    }
    fn header<T>(function: u64) -> Vec<u8> {
        __fuzz::value_header::<T>(function, cachette_runtime::Coder::MsgPack)
    }
}

/// The JSON coder (`CACHE_CODER=json`): JSON behind the codec header.
#[derive(Debug)]
pub struct Json;

impl Coder for Json {
    const TOTAL: bool = false;
    fn encode<T: Serialize>(value: &T, function: u64) -> Result<Vec<u8>, String> {
        __fuzz::encode_value(value, function, cachette_runtime::Coder::Json)
    }
    fn decode<T: DeserializeOwned>(bytes: &[u8], function: u64) -> Result<T, String> {
        __fuzz::decode_value(bytes, function, cachette_runtime::Coder::Json)
    }
    fn header<T>(function: u64) -> Vec<u8> {
        __fuzz::value_header::<T>(function, cachette_runtime::Coder::Json)
    }
}

/// A struct with option, enum, sequence, map and 128-bit fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    id: u64,
    name: String,
    email: Option<String>,
    role: Role,
    tags: Vec<String>,
    nested: Option<Option<()>>,
    unit: Option<Unit>,
    big: i128,
    scores: BTreeMap<String, Option<i64>>,
    pair: (char, bool),
}

/// An enum of every variant shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Role {
    /// A unit variant.
    Admin,
    /// A newtype variant holding an option.
    Guest(Option<String>),
    /// A tuple variant.
    Pair(u8, Option<Option<u8>>),
    /// A struct variant.
    User {
        /// A level.
        level: u8,
        /// A team.
        team: Option<String>,
    },
}

/// A unit struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit;

/// A type the fuzzer can build from bytes.
pub trait Generate: Sized {
    /// A value made of the next bytes.
    fn generate(input: &mut Input<'_>) -> Self;
}

impl Generate for String {
    fn generate(input: &mut Input<'_>) -> Self {
        input.string()
    }
}

impl Generate for u64 {
    fn generate(input: &mut Input<'_>) -> Self {
        input.u64()
    }
}

impl<T: Generate> Generate for Option<T> {
    fn generate(input: &mut Input<'_>) -> Self {
        input.flag().then(|| T::generate(input))
    }
}

impl<T: Generate> Generate for Vec<T> {
    fn generate(input: &mut Input<'_>) -> Self {
        (0..input.byte() % 8).map(|_| T::generate(input)).collect()
    }
}

impl<T: Generate, E: Generate> Generate for Result<T, E> {
    fn generate(input: &mut Input<'_>) -> Self {
        if input.flag() {
            Ok(T::generate(input))
        } else {
            Err(E::generate(input))
        }
    }
}

impl Generate for () {
    fn generate(_: &mut Input<'_>) -> Self {}
}

impl Generate for i64 {
    fn generate(input: &mut Input<'_>) -> Self {
        input.i64()
    }
}

impl Generate for u8 {
    fn generate(input: &mut Input<'_>) -> Self {
        input.byte()
    }
}

impl Generate for Role {
    fn generate(input: &mut Input<'_>) -> Self {
        match input.byte() % 4 {
            0 => Role::Admin,
            1 => Role::Guest(Generate::generate(input)),
            2 => Role::Pair(input.byte(), Generate::generate(input)),
            _ => Role::User {
                level: input.byte(),
                team: Generate::generate(input),
            },
        }
    }
}

impl Generate for Record {
    fn generate(input: &mut Input<'_>) -> Self {
        Record {
            id: input.u64(),
            name: input.string(),
            email: Generate::generate(input),
            role: Role::generate(input),
            tags: Generate::generate(input),
            nested: Generate::generate(input),
            unit: input.flag().then_some(Unit),
            big: input.i128(),
            scores: (0..input.byte() % 4)
                .map(|_| (input.string(), Generate::generate(input)))
                .collect(),
            pair: (
                char::from_u32(u32::from(input.u16())).unwrap_or('\u{fffd}'),
                input.flag(),
            ),
        }
    }
}

/// The properties of one type and one coder, on `mode` and the rest of `input`.
fn properties<T, C>(mode: u8, input: &mut Input<'_>)
where
    T: Generate + Serialize + DeserializeOwned + PartialEq + Debug,
    C: Coder,
{
    match mode % 3 {
        0 => stable_if_decoded::<T, C>(input.rest()),
        1 => {
            let mut bytes = C::header::<T>(FUNCTION);
            bytes.extend_from_slice(input.rest());
            stable_if_decoded::<T, C>(&bytes);
        }
        _ => {
            let value = T::generate(input);
            let bytes = match C::encode(&value, FUNCTION) {
                Ok(bytes) => bytes,
                // Refused: served, never stored, so never read back different.
                Err(_) if !C::TOTAL => return,
                Err(error) => panic!("{value:?} does not encode: {error}"),
            };
            match C::decode::<T>(&bytes, FUNCTION) {
                Ok(back) => assert_eq!(back, value, "round trip"),
                Err(error) => panic!("{value:?} does not read back: {error}"),
            }
            assert!(
                C::decode::<T>(&bytes, FUNCTION + 1).is_err(),
                "another function's {value:?} decoded"
            );
            assert!(
                C::decode::<Wrong>(&bytes, FUNCTION).is_err(),
                "{value:?} decoded as another type"
            );
        }
    }
}

/// A type no fuzzed value is stored as.
#[derive(Debug, Deserialize)]
struct Wrong(#[allow(dead_code)] serde::de::IgnoredAny);

/// Bytes that decode as a `T` re-encode to bytes that decode to the same `T`.
fn stable_if_decoded<T, C>(bytes: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
    C: Coder,
{
    let Ok(value) = C::decode::<T>(bytes, FUNCTION) else {
        return;
    };
    let again = match C::encode(&value, FUNCTION) {
        Ok(again) => again,
        Err(_) if !C::TOTAL => return,
        Err(error) => panic!("decoded {value:?} does not encode: {error}"),
    };
    match C::decode::<T>(&again, FUNCTION) {
        Ok(back) => assert_eq!(back, value, "decode, encode, decode"),
        Err(error) => panic!("re-encoded {value:?} does not decode: {error}"),
    }
}

/// Runs the properties of the type picked by `pick` with coder `C`.
fn for_type<C: Coder>(pick: u8, input: &mut Input<'_>) {
    let mode = pick / 8;
    match pick % 8 {
        0 | 1 => properties::<Vec<String>, C>(mode, input),
        2 | 3 => properties::<Record, C>(mode, input),
        4 | 5 => properties::<Result<u64, String>, C>(mode, input),
        6 => properties::<Option<Option<Option<()>>>, C>(mode, input),
        _ => properties::<Vec<Option<Role>>, C>(mode, input),
    }
}

/// Checks the properties in the module doc on `data`, for every coder.
pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let pick = input.byte();
    for_type::<MessagePack>(pick, &mut input.clone());
    for_type::<Json>(pick, &mut input.clone());
}
