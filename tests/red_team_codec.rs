//! Red team, promise 4 (issue 9): "hit == miss for every serde type". Each case is
//! a `#[cached]` function (memory mode, which stores the codec's bytes) called twice:
//! the second call must be a hit (the body ran once) and return what the first
//! returned.
//!
//! The codec's own property tests cover the serde data model, internally tagged
//! enums and flattened structs; these cases add untagged and adjacently tagged
//! enums, `serde_json::Value` (also flattened), `#[serde(with)]`, borrowed-looking
//! types, floats bit for bit, bytes, non-string map keys, std types with a compact
//! (non human-readable) form, and options around newtypes.
#![allow(missing_docs)]

mod support;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use cachette::cached;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};
use support::memory;

/// One test: a cached function returning `$value`, called twice.
macro_rules! hit_equals_miss {
    ($name:ident: $ty:ty = $value:expr) => {
        hit_equals_miss!($name: $ty = $value; |a, b| a == b);
    };
    ($name:ident: $ty:ty = $value:expr; $eq:expr) => {
        #[tokio::test]
        async fn $name() {
            static RUNS: AtomicUsize = AtomicUsize::new(0);
            // An alias: `-> $ty` does not compile (see
            // tests/ui/pass/red_team_macro_rules_return_type.rs).
            type Out = $ty;
            #[cached(namespace = "codec")]
            async fn compute() -> Out {
                RUNS.fetch_add(1, Ordering::SeqCst);
                $value
            }
            let (miss, hit) = memory()
                .scope(async { (compute().await, compute().await) })
                .await;
            assert_eq!(
                RUNS.load(Ordering::SeqCst),
                1,
                "the second call was not a hit (the stored value did not decode); miss {miss:?}"
            );
            let eq: fn(&$ty, &$ty) -> bool = $eq;
            assert!(eq(&miss, &hit), "the hit differs from the miss:\n miss {miss:?}\n hit  {hit:?}");
        }
    };
}

// --- untagged enums (read through `deserialize_any`) ---------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Int(i64),
    Text(String),
    List(Vec<u8>),
    Pair { a: u8, b: Option<()> },
    Deep(Option<Option<u8>>, bool),
}

hit_equals_miss!(untagged_enums: Vec<Untagged> = vec![
    Untagged::Int(-5),
    Untagged::Int(i64::MIN),
    Untagged::Text("x".into()),
    Untagged::List(vec![1, 2, 3]),
    Untagged::Pair { a: 1, b: Some(()) },
    Untagged::Pair { a: 1, b: None },
    Untagged::Deep(Some(None), true),
    Untagged::Deep(None, false),
    Untagged::Deep(Some(Some(7)), false),
]);

/// Bytes, written with `serialize_bytes` and read with `visit_bytes`/`visit_byte_buf`
/// (what `serde_bytes::ByteBuf` does).
#[derive(Debug, Clone, PartialEq)]
struct Bin(Vec<u8>);

impl Serialize for Bin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bin;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bin, E> {
                Ok(Bin(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bin, E> {
                Ok(Bin(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum BytesOrText {
    Bytes(Bin),
    Text(String),
}

hit_equals_miss!(bytes_everywhere: (Bin, Option<Bin>, Vec<BytesOrText>, BTreeMap<String, Bin>) = (
    Bin(vec![0, 255, 1]),
    Some(Bin(vec![])),
    vec![BytesOrText::Bytes(Bin(vec![9; 40])), BytesOrText::Text("t".into())],
    BTreeMap::from([("k".to_owned(), Bin(vec![7]))]),
));

// --- adjacently tagged -------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Unit,
    New(Option<Option<u8>>),
    Tup(u8, Option<()>),
    Named {
        x: Option<()>,
        y: Vec<Option<Option<()>>>,
    },
}

hit_equals_miss!(adjacently_tagged: Vec<Adjacent> = vec![
    Adjacent::Unit,
    Adjacent::New(Some(None)),
    Adjacent::New(None),
    Adjacent::New(Some(Some(0))),
    Adjacent::Tup(3, Some(())),
    Adjacent::Named { x: Some(()), y: vec![None, Some(None), Some(Some(()))] },
]);

// --- serde_json::Value -------------------------------------------------------------------

hit_equals_miss!(json_values: Vec<Value> = vec![
    json!(null),
    json!({"a": null, "b": [1, -1, 1.5, 2.0, u64::MAX, i64::MIN, "s", true, {}, []], "c": {"d": null}}),
    json!([[null], {"": ""}, -0.0, 1e300]),
]);

hit_equals_miss!(optional_json_values: Vec<Option<Value>> = vec![Some(Value::Null), None, Some(json!([null]))]);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WithExtra {
    id: u32,
    maybe: Option<Option<u8>>,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

hit_equals_miss!(flattened_json_extra: Vec<WithExtra> = vec![
    WithExtra {
        id: 1,
        maybe: Some(None),
        extra: BTreeMap::from([
            ("n".to_owned(), json!(null)),
            ("big".to_owned(), json!(u64::MAX)),
            ("f".to_owned(), json!(0.5)),
            ("o".to_owned(), json!({"x": [null, 1]})),
        ]),
    },
    WithExtra { id: 2, maybe: None, extra: BTreeMap::new() },
]);

// --- options in maps, around newtypes ----------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MaybeByte(Option<u8>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UnitInside(());

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Transparent(Option<Option<()>>);

hit_equals_miss!(options_around_newtypes: (Vec<Option<MaybeByte>>, Vec<Option<UnitInside>>, Vec<Option<Transparent>>) = (
    vec![Some(MaybeByte(None)), None, Some(MaybeByte(Some(1)))],
    vec![Some(UnitInside(())), None],
    vec![Some(Transparent(None)), Some(Transparent(Some(None))), Some(Transparent(Some(Some(())))), None],
));

hit_equals_miss!(options_in_maps: (BTreeMap<String, Option<()>>, HashMap<String, Option<Option<()>>>, BTreeMap<Option<()>, Option<Option<u8>>>) = (
    BTreeMap::from([("some".to_owned(), Some(())), ("none".to_owned(), None)]),
    HashMap::from([("a".to_owned(), Some(None)), ("b".to_owned(), None), ("c".to_owned(), Some(Some(())))]),
    BTreeMap::from([(None, Some(None)), (Some(()), Some(Some(3)))]),
));

hit_equals_miss!(top_level_some_none: Option<Option<()>> = Some(None));

hit_equals_miss!(results_inside_values: Vec<Result<Option<()>, String>> = vec![Ok(Some(())), Ok(None), Err("e".into())]);

// --- `#[serde(with)]`, borrowed-looking and std types ------------------------------------

mod as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Odd {
    #[serde(with = "as_string")]
    id: u64,
    name: Box<str>,
    cow: Cow<'static, str>,
    bytes: Cow<'static, [u8]>,
    list: Box<[u32]>,
    big: (u128, i128),
    chars: Vec<char>,
    pairs: HashMap<(u32, String), u8>,
    time: (Duration, SystemTime),
    addresses: (IpAddr, SocketAddr),
}

hit_equals_miss!(odd_types: Odd = Odd {
    id: u64::MAX,
    name: "boxed".into(),
    cow: Cow::Borrowed("borrowed"),
    bytes: Cow::Borrowed(&[0, 1, 255]),
    list: vec![1, 2].into_boxed_slice(),
    big: (u128::MAX, i128::MIN),
    chars: vec!['\0', 'a', '\u{FFFF}', '\u{10FFFF}'],
    pairs: HashMap::from([((1, "a".to_owned()), 1), ((1, "b".to_owned()), 2)]),
    time: (Duration::new(5, 999_999_999), SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789)),
    addresses: (IpAddr::V6(Ipv6Addr::LOCALHOST), "127.0.0.1:8080".parse().unwrap()),
});

// --- floats, bit for bit -----------------------------------------------------------------

hit_equals_miss!(floats_bit_for_bit: (f64, f64, f32, f32, f64, Vec<f64>) = (
    f64::NAN,
    -0.0,
    f32::from_bits(0x7fc0_0001),
    -0.0,
    f64::from_bits(0xfff8_0000_0000_0001),
    vec![f64::INFINITY, f64::MIN_POSITIVE, 5e-324],
); |a, b| {
    a.0.to_bits() == b.0.to_bits()
        && a.1.to_bits() == b.1.to_bits()
        && a.2.to_bits() == b.2.to_bits()
        && a.3.to_bits() == b.3.to_bits()
        && a.4.to_bits() == b.4.to_bits()
        && a.5.iter().map(|f| f.to_bits()).eq(b.5.iter().map(|f| f.to_bits()))
});

hit_equals_miss!(top_level_nan: f64 = f64::NAN; |a, b| a.to_bits() == b.to_bits());
