//! The JSON coder: exact round trips, or refused; never read as the other coder.

use std::collections::BTreeMap;
use std::fmt::Debug;

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

const FUNCTION: u64 = 0x00C0_FFEE;

fn json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    encode_with(value, FUNCTION, Coder::Json)
}

fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with(bytes, FUNCTION, Coder::Json)
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) {
    let bytes = json(v).unwrap_or_else(|e| panic!("{v:?} did not encode: {e}"));
    let back: T = from_json(&bytes).unwrap_or_else(|e| panic!("{v:?} did not decode: {e}"));
    assert_eq!(&back, v);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    email: String,
    nickname: Option<String>,
    scores: Vec<f64>,
    role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    Admin,
    Member { since: u32 },
    Guest(String),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Unit;

#[test]
fn values_read_back_equal() {
    round_trip(&User {
        id: u64::MAX,
        email: "a@example.com".into(),
        nickname: None,
        scores: vec![0.1, -0.0, 1e300, f64::MIN_POSITIVE],
        role: Role::Member { since: 7 },
    });
    round_trip(&Some(Some(5_u8)));
    round_trip(&Option::<u8>::None);
    round_trip(&vec![Some(1_i128), None, Some(i128::MIN)]);
    round_trip(&BTreeMap::from([
        (1_u32, "one".to_owned()),
        (2, "two".into()),
    ]));
    round_trip(&Role::Guest("g".into()));
    round_trip(&Role::Admin);
    round_trip(&());
    round_trip(&Unit);
    round_trip(&'x');
    round_trip(&Ok::<u8, String>(1));
}

#[test]
fn the_payload_is_readable_json() {
    let bytes = json(&vec!["a", "b"]).unwrap();
    assert_eq!(&bytes[HEADER_LEN..], br#"["a","b"]"#);
}

#[test]
fn values_json_cannot_hold_exactly_are_refused() {
    for (what, error) in [
        ("Some(None)", json(&Some(Option::<u8>::None))),
        ("Some(())", json(&Some(()))),
        ("Some(Unit)", json(&Some(Unit))),
        ("Some(Some(None))", json(&Some(Some(Option::<u8>::None)))),
        ("[Some(None)]", json(&vec![Some(Option::<u8>::None)])),
        ("NaN", json(&f64::NAN)),
        ("inf in a struct", json(&vec![f32::INFINITY])),
    ] {
        let error = error.expect_err(what);
        assert!(
            error.to_string().contains("JSON cannot store"),
            "{what}: {error}"
        );
    }
    // Map keys JSON has no form for: serde_json's own refusal.
    assert!(json(&BTreeMap::from([((1_u8, 2_u8), 3_u8)])).is_err());
}

#[test]
fn a_value_written_with_one_coder_is_not_read_with_the_other() {
    let packed = encode_with(&7_u32, FUNCTION, Coder::MsgPack).unwrap();
    let error = from_json::<u32>(&packed).unwrap_err();
    assert!(error.to_string().contains("another coder"), "{error}");
    let text = json(&7_u32).unwrap();
    let error = decode_with::<u32>(&text, FUNCTION, Coder::MsgPack).unwrap_err();
    assert!(error.to_string().contains("another coder"), "{error}");
    // Same header layout: only the tag differs.
    assert_eq!(packed[..3], text[..3]);
    assert_eq!(packed[11..HEADER_LEN], text[11..HEADER_LEN]);
}

#[test]
fn coder_names() {
    assert_eq!(Coder::from_name("JSON"), Some(Coder::Json));
    assert_eq!(Coder::from_name("msgpack"), Some(Coder::MsgPack));
    assert_eq!(Coder::from_name("pickle"), None);
    assert_eq!(Coder::default(), Coder::MsgPack);
    assert_eq!(Coder::Json.to_string(), "json");
}

/// The values the property test below writes.
type Mixed = (Vec<u64>, Vec<Option<String>>, Option<Option<i32>>, f64, f32);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Whatever JSON accepts reads back equal; what it refuses never reaches Redis.
    #[test]
    fn accepted_values_read_back_equal(
        ids in proptest::collection::vec(any::<u64>(), 0..8),
        names in proptest::collection::vec(proptest::option::of(".*"), 0..8),
        nested in proptest::option::of(proptest::option::of(any::<i32>())),
        float in any::<f64>(),
        small in any::<f32>(),
    ) {
        let value = (ids, names, nested, float, small);
        match json(&value) {
            Ok(bytes) => {
                let back: Mixed = from_json(&bytes).unwrap();
                prop_assert_eq!(back.0, value.0);
                prop_assert_eq!(back.1, value.1);
                prop_assert_eq!(back.2, value.2);
                prop_assert_eq!(back.3.to_bits(), value.3.to_bits());
                prop_assert_eq!(back.4.to_bits(), value.4.to_bits());
            }
            Err(_) => prop_assert!(
                value.2 == Some(None) || !value.3.is_finite() || !value.4.is_finite()
            ),
        }
    }
}
