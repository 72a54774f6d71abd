//! Tests of the key rendering: pinned renderings, injectivity over hand-picked and
//! generated values, segment safety, map-order stability and error handling.
//!
//! This file holds the helpers and fixture types the test files share; the data
//! model used to check injectivity over every serde shape is in [`model`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod injective;
mod model;
mod rendering;
mod stability;

use super::{escape_into, write_key_part};
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::fmt::Debug;

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
    'a', 'Z', '0', '1', '-', '.', '_', '/', '@', ',', ':', ' ', '%', '~', '!', '\'', '"', '(', ')',
    '[', ']', '{', '}', '=', '#', '*', '?', '\\', '\n', '\t', '\0', 'é', '€', '\u{7f}', '\u{a0}',
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
