//! Key encoding (`key/`): default keys of calls with fuzzed arguments.
//!
//! Input: an argument count, then per argument a type (string, integers, float,
//! options, sequences, maps, tuples, a struct with an enum) and two values of it,
//! the second equal to the first when a flag says so. Together these are two
//! calls of one function with the same parameter types.
//!
//! Properties (`key/encode.rs` claims injectivity per type, `key/normalize.rs`
//! that hashing long segments keeps distinct keys distinct):
//! - the two keys are equal exactly when the two argument tuples are (floats:
//!   by bits, every NaN alike, as documented);
//! - each argument renders as exactly one segment, with no whitespace, control
//!   character, `*` or `?`;
//! - the same call renders the same key twice;
//! - escaping round-trips: a string's escaped form percent-decodes back to it.
//!
//! Keys have no decoder: the escape round trip is the only one there is.

use std::collections::BTreeMap;

use cachette_runtime::__fuzz::{KeyArgs, escaped};
use serde::Serialize;

use super::input::Input;

/// One argument's value; both calls put the same variant at each position.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Arg {
    Str(String),
    Int(i64),
    Wide(i128),
    Float(f64),
    Char(char),
    Bool(bool),
    OptStr(Option<String>),
    Nested(Option<Option<i32>>),
    List(Vec<String>),
    Map(BTreeMap<String, i8>),
    Tuple((String, u8)),
    Struct(Filter),
    Unit(()),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Filter {
    page: u32,
    sort: Option<Sort>,
    query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
enum Sort {
    Asc,
    Desc,
    By(String),
    Near { lat: i32, lon: i32 },
}

impl Arg {
    fn generate(kind: u8, input: &mut Input<'_>) -> Arg {
        match kind % 13 {
            0 => Arg::Str(input.string()),
            1 => Arg::Int(input.i64()),
            2 => Arg::Wide(input.i128()),
            3 => Arg::Float(f64::from_bits(input.u64())),
            4 => Arg::Char(char::from_u32(u32::from(input.u16())).unwrap_or('\u{fffd}')),
            5 => Arg::Bool(input.flag()),
            6 => Arg::OptStr(input.flag().then(|| input.string())),
            7 => Arg::Nested(
                input
                    .flag()
                    .then(|| input.flag().then(|| input.i64() as i32)),
            ),
            8 => Arg::List((0..input.byte() % 6).map(|_| input.string()).collect()),
            9 => Arg::Map(
                (0..input.byte() % 6)
                    .map(|_| (input.string(), input.byte() as i8))
                    .collect(),
            ),
            10 => Arg::Tuple((input.string(), input.byte())),
            11 => Arg::Struct(Filter {
                page: u32::from(input.u16()),
                sort: match input.byte() % 5 {
                    0 => None,
                    1 => Some(Sort::Asc),
                    2 => Some(Sort::Desc),
                    3 => Some(Sort::By(input.string())),
                    _ => Some(Sort::Near {
                        lat: i32::from(input.u16() as i16),
                        lon: i32::from(input.u16() as i16),
                    }),
                },
                query: input.flag().then(|| input.string()),
            }),
            _ => Arg::Unit(()),
        }
    }

    /// Equality of values of one type, floats as the key documents them.
    fn same(&self, other: &Arg) -> bool {
        match (self, other) {
            (Arg::Float(a), Arg::Float(b)) => {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
            (Arg::Str(a), Arg::Str(b)) => a == b,
            (Arg::Int(a), Arg::Int(b)) => a == b,
            (Arg::Wide(a), Arg::Wide(b)) => a == b,
            (Arg::Char(a), Arg::Char(b)) => a == b,
            (Arg::Bool(a), Arg::Bool(b)) => a == b,
            (Arg::OptStr(a), Arg::OptStr(b)) => a == b,
            (Arg::Nested(a), Arg::Nested(b)) => a == b,
            (Arg::List(a), Arg::List(b)) => a == b,
            (Arg::Map(a), Arg::Map(b)) => a == b,
            (Arg::Tuple(a), Arg::Tuple(b)) => a == b,
            (Arg::Struct(a), Arg::Struct(b)) => a == b,
            (Arg::Unit(()), Arg::Unit(())) => true,
            _ => panic!("two calls with different parameter types: {self:?} / {other:?}"),
        }
    }

    /// Pushes the value as its own type (the untagged enum is transparent).
    fn push(&self, args: &mut KeyArgs) {
        args.push(self);
    }
}

fn render(args: &[Arg]) -> (String, String) {
    let mut key_args = KeyArgs::default();
    for arg in args {
        arg.push(&mut key_args);
    }
    assert_eq!(key_args.error(), None, "{args:?} does not render");
    let rendered = key_args.rendered().to_owned();
    (rendered, key_args.key("fastapi-cache"))
}

/// `%XX` sequences decoded.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Checks the properties in the module doc on `data`.
pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let count = input.byte() % 40;
    let mut first = Vec::new();
    let mut second = Vec::new();
    for _ in 0..count {
        let kind = input.byte();
        let same = input.flag();
        let a = Arg::generate(kind, &mut input);
        let b = if same {
            a.clone()
        } else {
            Arg::generate(kind, &mut input)
        };
        first.push(a);
        second.push(b);
    }

    let (rendered_a, key_a) = render(&first);
    let (rendered_b, key_b) = render(&second);
    for (args, rendered) in [(&first, &rendered_a), (&second, &rendered_b)] {
        let segments = if args.is_empty() {
            0
        } else {
            rendered.split(':').count()
        };
        assert_eq!(segments, args.len(), "{args:?} renders as {rendered:?}");
        assert!(
            !rendered
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '*' || c == '?'),
            "{rendered:?} is not segment-safe"
        );
    }
    assert_eq!(render(&first).1, key_a, "the same call keyed twice differs");

    let equal = first.iter().zip(&second).all(|(a, b)| a.same(b));
    assert_eq!(
        key_a == key_b,
        equal,
        "{first:?} and {second:?}: keys {key_a:?} and {key_b:?}"
    );

    for arg in &first {
        if let Arg::Str(text) = arg {
            let escaped = escaped(text);
            assert_eq!(percent_decode(&escaped), text.as_bytes(), "{escaped:?}");
        }
    }
}
