use std::collections::BTreeMap;
use std::fmt::Debug;
use std::marker::PhantomData;

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

/// The function tag the tests store values under.
const FUNCTION: u64 = 0x00C0_FFEE;

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    super::encode(value, FUNCTION)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    super::decode(bytes, FUNCTION)
}

fn write_header(out: &mut Vec<u8>, kind: Kind, type_name: &str) {
    super::write_header(out, kind, type_name, FUNCTION);
}

/// `decode(encode(v))`, asserted equal to `v`.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) {
    let bytes = encode(v).unwrap();
    let back: T = decode(&bytes).unwrap_or_else(|e| panic!("{v:?} did not decode: {e}"));
    assert_eq!(&back, v, "bytes: {:02x?}", &bytes[HEADER_LEN..]);
}

/// `bytes` with the header's type tag of `T`: what an entry written before a type
/// changed looks like to the new type.
fn retag<T>(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[3..11].copy_from_slice(&type_tag(std::any::type_name::<T>()));
    bytes
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[test]
fn round_trip_user() {
    round_trip(&User {
        id: 7,
        name: "bob".into(),
    });
}

// ---- issue 9, item 8: a hit must equal the miss for nested options ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct UnitStruct;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Patch {
    /// `None`: leave it; `Some(None)`: clear it; `Some(Some(x))`: set it.
    nickname: Option<Option<String>>,
}

#[test]
fn some_none_in_a_field_reads_back_as_some_none() {
    for nickname in [None, Some(None), Some(Some("bo".to_string()))] {
        round_trip(&Patch { nickname });
    }
}

#[test]
fn some_unit_reads_back_as_some_unit() {
    round_trip(&Some(()));
    round_trip(&Option::<()>::None);
    round_trip(&vec![Some(()), None, Some(())]);
}

#[test]
fn triple_options_read_back_at_every_depth() {
    for v in [None, Some(None), Some(Some(None)), Some(Some(Some(0u8)))] {
        round_trip(&v);
        round_trip(&vec![v, None, v]);
    }
}

#[test]
fn options_of_unit_structs_and_phantom_data_read_back() {
    round_trip(&Some(UnitStruct));
    round_trip(&Some(Some(UnitStruct)));
    round_trip(&Some(None::<UnitStruct>));
    round_trip(&Some(PhantomData::<String>));
    round_trip(&Some(Some(PhantomData::<u8>)));
}

#[test]
fn a_some_that_needs_no_marker_is_written_as_rmp_serde_writes_it() {
    // The common case costs nothing: byte for byte the version-1 payload.
    #[derive(Serialize)]
    struct Profile {
        id: u64,
        bio: Option<String>,
        tags: Vec<Option<u32>>,
        inner: Option<Option<u8>>,
    }
    let v = Profile {
        id: 1,
        bio: Some("hi".into()),
        tags: vec![Some(1), None],
        inner: Some(Some(3)),
    };
    assert_eq!(
        encode(&v).unwrap()[HEADER_LEN..],
        rmp_serde::to_vec_named(&v).unwrap()[..]
    );
    // Only the collisions are marked: an ext of type 127 holding the value.
    assert_eq!(
        encode(&Some(None::<u8>)).unwrap()[HEADER_LEN..],
        [0xd4, 0x7f, 0xc0]
    );
    assert_eq!(
        encode(&Some(Some(None::<u8>))).unwrap()[HEADER_LEN..],
        [0xc7, 0x03, 0x7f, 0xd4, 0x7f, 0xc0]
    );
}

/// rmp-serde's own ext values, which the adapter leaves to rmp-serde.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename = "_ExtStruct")]
struct Ext((i8, Bin));

#[derive(Debug, PartialEq)]
struct Bin(Vec<u8>);

impl Serialize for Bin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bin;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bin, E> {
                Ok(Bin(v.to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

#[test]
fn rmp_serde_exts_read_back_even_with_the_marker_type() {
    for tag in [0, 5, 127, -1] {
        let ext = || Ext((tag, Bin(vec![1, 2, 3])));
        round_trip(&ext());
        round_trip(&Some(ext()));
        round_trip(&Some(Some(ext())));
        round_trip(&vec![Some(ext()), None]);
    }
}

/// A type whose only nesting is options: decoding it must not recurse without
/// bound on crafted input.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Peano(Option<Box<Peano>>);

fn peano(n: usize) -> Peano {
    (0..n).fold(Peano(None), |p, _| Peano(Some(Box::new(p))))
}

/// `Tree::Seq` nested `n` deep.
fn deep_seq(n: usize) -> Tree {
    (0..n).fold(Tree::Unit, |t, _| Tree::Seq(vec![t]))
}

/// Decodes `payload` as a `T` in a thread with the stack of a tokio worker
/// (2 MiB), as the runtime does.
fn decode_on_small_stack<T: DeserializeOwned + Send + 'static>(
    payload: Vec<u8>,
) -> Result<T, DecodeError> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut bytes = Vec::new();
            write_header(&mut bytes, Kind::Value, std::any::type_name::<T>());
            bytes.extend(payload);
            decode::<T>(&bytes)
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn deep_values_are_an_error_not_a_stack_overflow() {
    // As deep as the limit allows: read back (an enum and an array a level).
    round_trip(&peano(200));
    let tree = deep_seq(100);
    let bytes = encode(&tree).unwrap();
    assert_eq!(
        decode_on_small_stack::<Tree>(bytes[HEADER_LEN..].to_vec()).unwrap(),
        tree
    );
    // Crafted: markers, arrays, enums nested far deeper.
    let err = decode_on_small_stack::<Peano>(marker::nested_markers(100_000, &[marker::NIL]))
        .unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
    let mut arrays = vec![0x91; 100_000];
    arrays.push(0xc0);
    let err = decode_on_small_stack::<Tree>(
        std::iter::repeat_n([0x81, 0xa3, b'S', b'e', b'q', 0x91], 50_000)
            .flatten()
            .chain([0xa4, b'U', b'n', b'i', b't'])
            .collect(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
    // Skipped, not read: an unknown field's value, say.
    let err = decode_on_small_stack::<serde::de::IgnoredAny>(arrays).unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
}

#[test]
fn malformed_markers_and_trailing_bytes_are_errors() {
    let with_payload = |payload: &[u8]| {
        let mut bytes = Vec::new();
        write_header(
            &mut bytes,
            Kind::Value,
            std::any::type_name::<Option<Option<u8>>>(),
        );
        bytes.extend_from_slice(payload);
        decode::<Option<Option<u8>>>(&bytes)
    };
    assert_eq!(with_payload(&[0xd4, 0x7f, 0xc0]), Ok(Some(None)));
    // The marker holds two nils, its value is one.
    assert!(with_payload(&[0xd5, 0x7f, 0xc0, 0xc0]).is_err());
    // The marker runs past the end.
    assert!(with_payload(&[0xc7, 0x10, 0x7f, 0xc0]).is_err());
    assert!(with_payload(&[0xc7]).is_err());
    // An empty marker.
    assert!(with_payload(&[0xc7, 0x00, 0x7f]).is_err());
    // A marker where no option is.
    let mut bytes = encode(&0u8).unwrap();
    bytes.truncate(HEADER_LEN);
    bytes.extend_from_slice(&[0xd4, 0x7f, 0x05]);
    assert!(decode::<u8>(&bytes).is_err());
    // Bytes after the value.
    let mut bytes = encode(&5u32).unwrap();
    bytes.push(0x01);
    let err = decode::<u32>(&bytes).unwrap_err();
    assert!(err.to_string().contains("1 bytes left"), "{err}");
}

#[test]
fn version_1_entries_are_misses() {
    // What version 1 wrote for `Some(None)`, which it read back as `None`.
    let mut bytes = vec![MAGIC, 1, Kind::Value as u8];
    bytes.extend_from_slice(&type_tag(std::any::type_name::<Option<Option<u8>>>())[..4]);
    bytes.push(0xc0);
    let err = decode::<Option<Option<u8>>>(&bytes).unwrap_err();
    assert!(err.to_string().contains("format version 1"), "{err}");
}

// ---- schema evolution: fields by name ----

mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub(super) struct Account {
        pub(super) id: u64,
        pub(super) name: String,
        pub(super) limit: Option<Option<u32>>,
    }
}

mod v2 {
    use serde::{Deserialize, Serialize};

    /// v1 with its fields reordered and one more, defaulted.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    pub(super) struct Account {
        pub(super) limit: Option<Option<u32>>,
        #[serde(default)]
        pub(super) email: Option<Option<String>>,
        pub(super) name: String,
        pub(super) id: u64,
    }
}

#[test]
fn a_struct_that_gained_a_default_field_and_reordered_reads_old_entries() {
    let old = encode(&v1::Account {
        id: 3,
        name: "ann".into(),
        limit: Some(None),
    })
    .unwrap();
    let new: v2::Account = decode(&retag::<v2::Account>(old)).unwrap();
    assert_eq!(
        new,
        v2::Account {
            limit: Some(None),
            email: None,
            name: "ann".into(),
            id: 3,
        }
    );
}

#[test]
fn a_struct_that_lost_a_field_skips_it_even_when_it_holds_a_marker() {
    let new = encode(&v2::Account {
        limit: Some(Some(9)),
        email: Some(None),
        name: "ann".into(),
        id: 3,
    })
    .unwrap();
    let old: v1::Account = decode(&retag::<v1::Account>(new)).unwrap();
    assert_eq!(old.limit, Some(Some(9)));
    assert_eq!(old.id, 3);
}

// ---- errors stay values ----

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bytes in [
        &b""[..],
        b"\xca",
        b"hello world",
        b"\xca\x02\x01\x00\x00\x00\x00",
        b"\xca\x02\x01\xff\xff\xff\xff\x93",
    ] {
        assert!(decode::<User>(bytes).is_err());
    }
    let bytes = encode(&User {
        id: 1,
        name: "x".into(),
    })
    .unwrap();
    for cut in 0..bytes.len() {
        assert!(decode::<User>(&bytes[..cut]).is_err(), "cut at {cut}");
    }
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
fn another_functions_value_is_an_error() {
    let bytes = encode(&5u32).unwrap();
    let err = super::decode::<u32>(&bytes, FUNCTION + 1).unwrap_err();
    assert!(err.to_string().contains("another function"), "{err}");
}

// ---- property tests over the serde data model ----

/// Floats compared bit for bit: -0.0 is not 0.0, a NaN equals itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct F32(f32);

impl PartialEq for F32 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct F64(f64);

impl PartialEq for F64 {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

/// Map keys that are not strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Key {
    Unit,
    Int(i64),
    Str(String),
    Opt(Option<Option<u8>>),
    Pair(u8, Option<()>),
    Named { k: Option<UnitStruct> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Newtype(Box<Tree>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    a: Option<Box<Tree>>,
    b: Option<Option<Box<Tree>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Option<u8>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    d: Vec<Tree>,
    e: (Option<()>, Option<Option<UnitStruct>>),
}

/// The serde data model, recursively: every variant shape, every primitive, and
/// options, sequences, maps, tuples, newtypes and structs around any of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Unit,
    UnitValue(()),
    UnitStruct(UnitStruct),
    Phantom(PhantomData<u8>),
    Bool(bool),
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
    F32(F32),
    F64(F64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Opt(Option<Box<Tree>>),
    OptOpt(Option<Option<Box<Tree>>>),
    Seq(Vec<Tree>),
    Map(BTreeMap<Key, Tree>),
    Keys(BTreeMap<Key, Option<Option<u8>>>),
    Tuple(Box<Tree>, Option<Box<Tree>>),
    Newtype(Newtype),
    Record(Record),
    Inline { x: Option<Box<Tree>>, y: Option<()> },
}

/// Integers with their extremes (and zero) likelier than uniform draws make them.
macro_rules! int {
    ($t:ty) => {
        prop_oneof![Just(<$t>::MIN), Just(<$t>::MAX), Just(0 as $t), any::<$t>()]
    };
}

fn f32s() -> impl Strategy<Value = F32> {
    prop_oneof![
        Just(-0.0f32),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::NAN),
        Just(f32::MIN_POSITIVE),
        any::<u32>().prop_map(f32::from_bits),
    ]
    .prop_map(F32)
}

fn f64s() -> impl Strategy<Value = F64> {
    prop_oneof![
        Just(-0.0f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(f64::MAX),
        any::<u64>().prop_map(f64::from_bits),
    ]
    .prop_map(F64)
}

/// Strings of any chars (not only printable ones).
fn strings() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)
}

fn opt2<T: Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<Option<T>>> {
    proptest::option::of(proptest::option::of(s))
}

fn keys() -> impl Strategy<Value = Key> {
    prop_oneof![
        Just(Key::Unit),
        int!(i64).prop_map(Key::Int),
        strings().prop_map(Key::Str),
        opt2(any::<u8>()).prop_map(Key::Opt),
        (any::<u8>(), proptest::option::of(Just(()))).prop_map(|(a, b)| Key::Pair(a, b)),
        proptest::option::of(Just(UnitStruct)).prop_map(|k| Key::Named { k }),
    ]
}

fn leaves() -> impl Strategy<Value = Tree> {
    prop_oneof![
        Just(Tree::Unit),
        Just(Tree::UnitValue(())),
        Just(Tree::UnitStruct(UnitStruct)),
        Just(Tree::Phantom(PhantomData)),
        any::<bool>().prop_map(Tree::Bool),
        int!(i8).prop_map(Tree::I8),
        int!(i16).prop_map(Tree::I16),
        int!(i32).prop_map(Tree::I32),
        int!(i64).prop_map(Tree::I64),
        int!(i128).prop_map(Tree::I128),
        int!(u8).prop_map(Tree::U8),
        int!(u16).prop_map(Tree::U16),
        int!(u32).prop_map(Tree::U32),
        int!(u64).prop_map(Tree::U64),
        int!(u128).prop_map(Tree::U128),
        f32s().prop_map(Tree::F32),
        f64s().prop_map(Tree::F64),
        any::<char>().prop_map(Tree::Char),
        strings().prop_map(Tree::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Tree::Bytes),
        proptest::collection::btree_map(keys(), opt2(int!(u8)), 0..4).prop_map(Tree::Keys),
    ]
}

fn trees() -> impl Strategy<Value = Tree> {
    leaves().prop_recursive(4, 48, 4, |inner| {
        let boxed = inner.clone().prop_map(Box::new);
        prop_oneof![
            proptest::option::of(boxed.clone()).prop_map(Tree::Opt),
            opt2(boxed.clone()).prop_map(Tree::OptOpt),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Tree::Seq),
            proptest::collection::btree_map(keys(), inner.clone(), 0..4).prop_map(Tree::Map),
            (boxed.clone(), proptest::option::of(boxed.clone()))
                .prop_map(|(a, b)| Tree::Tuple(a, b)),
            boxed.clone().prop_map(|t| Tree::Newtype(Newtype(t))),
            (
                proptest::option::of(boxed.clone()),
                opt2(boxed.clone()),
                opt2(any::<u8>()),
                proptest::collection::vec(inner, 0..3),
                proptest::option::of(Just(())),
                opt2(Just(UnitStruct)),
            )
                .prop_map(|(a, b, c, d, e0, e1)| {
                    Tree::Record(Record {
                        a,
                        b,
                        c,
                        d,
                        e: (e0, e1),
                    })
                }),
            (proptest::option::of(boxed), proptest::option::of(Just(())))
                .prop_map(|(x, y)| Tree::Inline { x, y }),
        ]
    })
}

/// Types read through `deserialize_any` (serde buffers their input): internally
/// tagged enums and flattened structs. Only what such types can read back from
/// rmp-serde at all (no 128-bit integers, no bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Tagged {
    A {
        x: Option<Option<u8>>,
        y: Option<()>,
        s: String,
    },
    B {
        v: Vec<Option<Option<bool>>>,
    },
    C(Inner),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    o: Option<Option<Option<u8>>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flat {
    id: u32,
    #[serde(flatten)]
    inner: Inner,
    tagged: Option<Option<Tagged>>,
}

fn tagged() -> impl Strategy<Value = Tagged> {
    prop_oneof![
        (opt2(any::<u8>()), proptest::option::of(Just(())), strings())
            .prop_map(|(x, y, s)| Tagged::A { x, y, s }),
        proptest::collection::vec(opt2(any::<bool>()), 0..4).prop_map(|v| Tagged::B { v }),
        proptest::option::of(opt2(any::<u8>())).prop_map(|o| Tagged::C(Inner { o })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn trees_read_back_exactly(tree in trees()) {
        round_trip(&tree);
    }

    #[test]
    fn trees_under_options_read_back_exactly(
        tree in proptest::option::of(opt2(trees()))
    ) {
        round_trip(&tree);
    }

    #[test]
    fn nested_options_in_containers_read_back_exactly(
        seq in proptest::collection::vec(proptest::option::of(opt2(int!(u8))), 0..6),
        map in proptest::collection::btree_map(opt2(int!(u8)), opt2(Just(())), 0..6),
        tuple in (opt2(Just(UnitStruct)), opt2(Just(PhantomData::<u8>)), opt2(strings())),
    ) {
        round_trip(&seq);
        round_trip(&map);
        round_trip(&tuple);
    }

    #[test]
    fn buffered_types_read_back_exactly(
        id in any::<u32>(),
        o in proptest::option::of(opt2(any::<u8>())),
        tagged in opt2(tagged()),
        list in proptest::collection::vec(tagged(), 0..4),
    ) {
        round_trip(&Flat { id, inner: Inner { o }, tagged });
        round_trip(&list);
    }

    #[test]
    fn corrupted_entries_are_errors_or_values_never_panics(
        tree in trees(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        noise in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let mut bytes = encode(&tree).unwrap();
        let payload = bytes.len() - HEADER_LEN;
        for (at, byte) in flips {
            bytes[HEADER_LEN + at.index(payload)] = byte;
        }
        let _ = decode::<Tree>(&bytes);
        bytes.truncate(HEADER_LEN);
        bytes.extend_from_slice(&noise);
        let _ = decode::<Tree>(&bytes);
        let _ = decode::<Option<Option<Tree>>>(&retag::<Option<Option<Tree>>>(bytes.clone()));
        let _ = decode::<serde::de::IgnoredAny>(&retag::<serde::de::IgnoredAny>(bytes));
    }

    #[test]
    fn truncated_entries_are_errors(tree in trees()) {
        let bytes = encode(&tree).unwrap();
        // Every cut inside the payload (header cuts are covered above).
        for cut in HEADER_LEN..bytes.len() {
            prop_assert!(decode::<Tree>(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
    }
}

mod exact {
    use std::collections::HashMap;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Amount {
        Exact(f64),
        Count(u64),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Extra {
        id: u64,
        #[serde(flatten)]
        rest: HashMap<String, u64>,
    }

    #[test]
    fn a_value_that_reads_back_as_another_is_refused() {
        for coder in [Coder::MsgPack, Coder::Json] {
            let error = encode_exact(&Amount::Count(5), FUNCTION, coder).unwrap_err();
            assert!(
                error.to_string().contains("reads back as another value"),
                "{error}"
            );
            assert!(encode_exact(&Amount::Exact(5.5), FUNCTION, coder).is_ok());
        }
    }

    #[test]
    fn maps_read_back_in_any_order() {
        let rest: HashMap<String, u64> = (0..32).map(|i| (format!("k{i}"), i)).collect();
        let value = Extra { id: 1, rest };
        for coder in [Coder::MsgPack, Coder::Json] {
            let bytes = encode_exact(&value, FUNCTION, coder).unwrap();
            assert_eq!(
                decode_with::<Extra>(&bytes, FUNCTION, coder).unwrap(),
                value
            );
        }
    }

    #[test]
    fn plain_values_are_stored_as_before() {
        let value = vec![Some(None::<u8>), Some(Some(3))];
        assert_eq!(
            encode_exact(&value, FUNCTION, Coder::MsgPack).unwrap(),
            super::super::encode(&value, FUNCTION).unwrap()
        );
    }
}
