//! Red team (issue 11, sync hits): the default key built in the arguments' buffer
//! (`take_rendered`, `insert_str` at the front, integers through itoa, function
//! identity by the marker's type name) is byte-identical to what commit cc30b24
//! built. The oracle below is cc30b24's `default_value_key`, its Display-based
//! integer rendering, its function segment (from the *stripped* path) and its
//! normalisation (`needs_work` only, no colon counting), ported as they were.
//! Private items are needed (KeyArgs::push_value, default_value_key, CacheKey),
//! hence a unit test.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::function::{path_is_ambiguous, push_segment, strip_closures};
use super::normalize::{MAX_SEGMENT, MAX_SEGMENTS};
use super::{CacheKey, KeyArgs, default_value_key};
use crate::Spec;

/// One argument, and how cc30b24 rendered it.
#[derive(Debug, Clone)]
enum Arg {
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    Usize(usize),
    Text(String),
    Ints(Vec<i128>),
    Maybe(Option<i64>),
}

impl Arg {
    fn push(&self, args: &mut KeyArgs) {
        match self {
            Arg::I8(v) => args.push_value("a", v),
            Arg::I16(v) => args.push_value("a", v),
            Arg::I32(v) => args.push_value("a", v),
            Arg::I64(v) => args.push_value("a", v),
            Arg::I128(v) => args.push_value("a", v),
            Arg::U8(v) => args.push_value("a", v),
            Arg::U16(v) => args.push_value("a", v),
            Arg::U32(v) => args.push_value("a", v),
            Arg::U64(v) => args.push_value("a", v),
            Arg::U128(v) => args.push_value("a", v),
            Arg::Usize(v) => args.push_value("a", v),
            Arg::Text(v) => args.push_value("a", v),
            Arg::Ints(v) => args.push_value("a", v),
            Arg::Maybe(v) => args.push_value("a", v),
        }
    }

    /// cc30b24: `write_display` for every integer (`write!(out, "{value}")`);
    /// strings, sequences and options went through the serializer unchanged by
    /// 504cf24, whose integer leaves were Display too.
    fn old(&self) -> String {
        match self {
            Arg::I8(v) => v.to_string(),
            Arg::I16(v) => v.to_string(),
            Arg::I32(v) => v.to_string(),
            Arg::I64(v) => v.to_string(),
            Arg::I128(v) => v.to_string(),
            Arg::U8(v) => v.to_string(),
            Arg::U16(v) => v.to_string(),
            Arg::U32(v) => v.to_string(),
            Arg::U64(v) => v.to_string(),
            Arg::U128(v) => v.to_string(),
            Arg::Usize(v) => v.to_string(),
            Arg::Text(v) => {
                let mut out = String::new();
                super::encode::write_key_part(&mut out, v).unwrap();
                out
            }
            Arg::Ints(v) => {
                // The sequence's frame, from the serializer, with Display leaves:
                // rendered with a placeholder element set, then compared leaf by
                // leaf would be circular; instead render each leaf with Display
                // and check the frame against an all-zero rendering.
                let zeros: Vec<u8> = vec![0; v.len()];
                let mut frame = String::new();
                super::encode::write_key_part(&mut frame, &zeros).unwrap();
                let mut leaves = v.iter().map(ToString::to_string);
                let mut out = String::new();
                for c in frame.chars() {
                    if c == '0' {
                        out.push_str(&leaves.next().unwrap());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            Arg::Maybe(v) => {
                let mut frame = String::new();
                super::encode::write_key_part(&mut frame, &v.map(|_| 0u8)).unwrap();
                match v {
                    Some(n) => frame.replacen('0', &n.to_string(), 1),
                    None => frame,
                }
            }
        }
    }
}

/// cc30b24's `FunctionId::new(path, ..).segment`, from the stripped path.
fn old_segment(type_name: &str, definition: u64) -> String {
    let mut path = type_name;
    while let Some(shorter) = path.strip_suffix("::{{closure}}") {
        path = shorter;
    }
    let mut segment = String::new();
    push_segment(&mut segment, path);
    if path_is_ambiguous(path) {
        segment.push_str(&format!("~{definition:016x}"));
    }
    segment
}

/// cc30b24's `normalize_prefix` (one `needs_work` pass for every key).
fn old_normalize(rest: &str) -> String {
    let needs_work = rest.split(':').count() > MAX_SEGMENTS
        || rest.split(':').any(|segment| segment.len() > MAX_SEGMENT);
    if !needs_work {
        return rest.to_owned();
    }
    let mut out = String::new();
    for (i, segment) in rest.splitn(MAX_SEGMENTS, ':').enumerate() {
        if i > 0 {
            out.push(':');
        }
        if segment.len() > MAX_SEGMENT || (i == MAX_SEGMENTS - 1 && segment.contains(':')) {
            out.push('$');
            out.push_str(&hex::encode(&Sha256::digest(segment.as_bytes())[..16]));
        } else {
            out.push_str(segment);
        }
    }
    out
}

/// cc30b24's whole default key, normalised.
fn old_key(prefix: &str, namespace: &str, args: &[Arg], type_name: &str, def: u64) -> String {
    let rendered: Vec<String> = args.iter().map(Arg::old).collect();
    let rendered = rendered.join(":");
    let mut rest = String::new();
    rest.push_str(namespace);
    rest.push(':');
    if !rendered.is_empty() {
        rest.push_str(&rendered);
        rest.push(':');
    }
    rest.push_str(&old_segment(type_name, def));
    format!("{prefix}:{}", old_normalize(&rest))
}

/// 504cf24's key, as `cached::value_key` builds it (no request).
fn new_key(prefix: &str, spec: &'static Spec, args: &[Arg], type_name: &'static str) -> String {
    let mut key_args = KeyArgs::new(type_name);
    for arg in args {
        arg.push(&mut key_args);
    }
    assert!(key_args.error().is_none());
    let function = spec.function_id(key_args.type_name());
    let built = default_value_key(prefix, spec, &function, &mut key_args);
    CacheKey::from_string(built, prefix.len() + 1)
        .full()
        .to_owned()
}

fn spec(namespace: &'static str, definition: u64) -> &'static Spec {
    Box::leak(Box::new(Spec::new(
        namespace, "f", "app", None, None, false, definition,
    )))
}

const TYPE_NAMES: &[&str] = &[
    "app::f::{{closure}}",
    "app::f::{{closure}}::{{closure}}",
    "<app::A as app::Repo>::count::{{closure}}",
    "app::Repo<app::Users>::all::{{closure}}",
    "app::row_count<app::Users>::{{closure}}",
    "app::row_count<alloc::vec::Vec<(u8, &str)>>::{{closure}}",
    "app::test::{{closure}}::inner::{{closure}}",
    "app::_::f::{{closure}}",
    "_::f::{{closure}}",
    "app::a%b::c::{{closure}}",
];

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        prop_oneof![Just(i8::MIN), Just(-1i8), Just(0i8), any::<i8>()].prop_map(Arg::I8),
        any::<i16>().prop_map(Arg::I16),
        any::<i32>().prop_map(Arg::I32),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>()].prop_map(Arg::I64),
        prop_oneof![
            Just(i128::MIN),
            Just(i128::MAX),
            Just(-1i128),
            any::<i128>()
        ]
        .prop_map(Arg::I128),
        any::<u8>().prop_map(Arg::U8),
        any::<u16>().prop_map(Arg::U16),
        any::<u32>().prop_map(Arg::U32),
        any::<u64>().prop_map(Arg::U64),
        prop_oneof![Just(u128::MAX), Just(0u128), any::<u128>()].prop_map(Arg::U128),
        any::<usize>().prop_map(Arg::Usize),
        prop_oneof![
            "[a:%~$ ]{0,8}",
            "[a-z:%]{120,200}",
            Just(String::new()),
            Just(":".repeat(40)),
        ]
        .prop_map(Arg::Text),
        proptest::collection::vec(any::<i128>(), 0..4).prop_map(Arg::Ints),
        proptest::option::of(any::<i64>()).prop_map(Arg::Maybe),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]
    #[test]
    fn default_keys_are_byte_identical_to_cc30b24(
        args in proptest::collection::vec(arg(), 0..40),
        type_name in proptest::sample::select(TYPE_NAMES),
        namespace in proptest::sample::select(&["ns", "a:b", "x"][..]),
        definition in any::<u64>(),
        prefix in proptest::sample::select(&["fastapi-cache", "p", "a:b"][..]),
    ) {
        let spec = spec(namespace, definition);
        prop_assert_eq!(
            new_key(prefix, spec, &args, type_name),
            old_key(prefix, namespace, &args, type_name, definition)
        );
    }
}

#[test]
fn extremes_and_shapes_are_byte_identical_to_cc30b24() {
    let long = "L".repeat(129);
    let mut cases: Vec<Vec<Arg>> = vec![
        vec![],
        vec![Arg::I8(i8::MIN)],
        vec![Arg::I128(i128::MIN), Arg::U128(u128::MAX), Arg::I64(0)],
        vec![Arg::Text(String::new())],
        vec![Arg::Text(long), Arg::I32(-5)],
        vec![
            Arg::Text(":%:%".into()),
            Arg::Maybe(None),
            Arg::Maybe(Some(-7)),
        ],
        (0..40).map(|i| Arg::I64(-i)).collect(),
        (0..31).map(Arg::U8).collect(),
        (0..30).map(Arg::U8).collect(),
        (0..29).map(Arg::U8).collect(),
    ];
    cases.push(vec![Arg::Text(":".repeat(MAX_SEGMENT))]);
    for (i, args) in cases.iter().enumerate() {
        for &type_name in TYPE_NAMES {
            let definition = 0x5eed_0000 + i as u64;
            let spec = spec("ns", definition);
            assert_eq!(
                new_key("fastapi-cache", spec, args, type_name),
                old_key("fastapi-cache", "ns", args, type_name, definition),
                "case {i}: {args:?} in {type_name}"
            );
        }
    }
    // A long function path (> 128 bytes, hashed as a segment).
    let path: &'static str =
        Box::leak(format!("app::{}::f::{{{{closure}}}}", "m".repeat(140)).into_boxed_str());
    let spec = spec("ns", 1);
    assert_eq!(
        new_key("fastapi-cache", spec, &[Arg::U8(1)], path),
        old_key("fastapi-cache", "ns", &[Arg::U8(1)], path, 1)
    );
    let _ = strip_closures(path);
}

/// Two instantiations seen by one Spec, alternately: each call gets its own
/// segment (the first one is kept, compared by address; the other is built).
#[test]
fn alternating_instantiations_keep_their_own_segment() {
    let spec = spec("ns", 9);
    let a = "app::row_count<app::Users>::{{closure}}";
    let b = "app::row_count<app::Orders>::{{closure}}";
    // A copy of `a` at another address: the same instantiation.
    let a_copy: &'static str = Box::leak(a.to_owned().into_boxed_str());
    for type_name in [a, b, a_copy, b, a] {
        assert_eq!(
            new_key("p", spec, &[Arg::U8(1)], type_name),
            old_key("p", "ns", &[Arg::U8(1)], type_name, 9),
            "{type_name}"
        );
    }
}
