//! Failing or misbehaving `Serialize` impls yield errors, never panics or partial output.

use super::model::Dyn;
use super::*;
use crate::key::encode::KeyEncodeError;
use serde::ser::{Error as _, SerializeMap};
use std::collections::BTreeMap;

/// Fails to serialize, like a custom impl refusing a value.
#[derive(Debug)]
struct Refuses;

impl Serialize for Refuses {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(S::Error::custom("refused to serialize"))
    }
}

/// Misuses the map protocol: a value without a key.
struct ValueWithoutKey;

impl Serialize for ValueWithoutKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_value(&1)?;
        map.end()
    }
}

/// Misuses the map protocol: a key without a value.
struct KeyWithoutValue;

impl Serialize for KeyWithoutValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_key(&1)?;
        map.end()
    }
}

#[test]
fn failing_serialize_yields_an_error_and_leaves_out_untouched() {
    let mut out = String::from("prefix:");
    let err = write_key_part(&mut out, &Refuses).unwrap_err();
    assert_eq!(out, "prefix:");
    assert!(err.to_string().contains("refused to serialize"), "{err}");

    let nested = (1, vec![Some(Refuses)]);
    let err = write_key_part(&mut out, &nested).unwrap_err();
    assert_eq!(out, "prefix:");
    assert!(err.to_string().contains("refused to serialize"));

    let in_value: BTreeMap<i32, (i32, Refuses)> = BTreeMap::from([(1, (2, Refuses))]);
    assert!(write_key_part(&mut out, &in_value).is_err());
    assert_eq!(out, "prefix:");

    let in_key: Vec<(Refuses, i32)> = vec![(Refuses, 1)];
    let as_map = MapOf(in_key);
    let err = write_key_part(&mut out, &as_map).unwrap_err();
    assert_eq!(out, "prefix:");
    let message = err.to_string();
    assert!(message.contains("map key"), "{message}");
    assert!(message.contains("refused to serialize"), "{message}");

    assert!(write_key_part(&mut out, &ValueWithoutKey).is_err());
    assert!(write_key_part(&mut out, &KeyWithoutValue).is_err());
    assert_eq!(out, "prefix:");
}

/// Serializes a list of pairs as a map (keys need not be `Ord`).
struct MapOf<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for MapOf<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[test]
fn error_type_behaves_like_an_error() {
    let err = KeyEncodeError::custom("boom");
    let as_dyn: &dyn std::error::Error = &err;
    assert_eq!(
        as_dyn.to_string(),
        "cannot render a cache-key argument: boom"
    );
    assert!(format!("{err:?}").contains("boom"));
    assert_eq!(err.clone(), err);
}

#[test]
fn maps_with_equal_rendered_keys_are_still_deterministic() {
    let a = MapOf(vec![(f64::NAN, 2), (f64::NAN, 1), (-f64::NAN, 3)]);
    let b = MapOf(vec![(-f64::NAN, 3), (f64::NAN, 1), (f64::NAN, 2)]);
    assert_eq!(key(&a), "{NaN=1,NaN=2,NaN=3}");
    assert_eq!(key(&a), key(&b));
}

/// A recursive type for deep nesting.
#[derive(Serialize)]
struct Deep(Option<Box<Deep>>);

/// Builds a `Deep` nested `depth` levels.
fn deep(depth: usize) -> Deep {
    let mut value = Deep(None);
    for _ in 0..depth {
        value = Deep(Some(Box::new(value)));
    }
    value
}

#[test]
fn deep_nesting_and_long_strings_do_not_panic() {
    for depth in [0, 1, 2, 3, 200] {
        let rendered = key(&deep(depth));
        assert_eq!(rendered, format!("{}~", "!".repeat(depth)));
    }
    let mut nested: Dyn = Dyn::Int(1);
    for i in 0..200 {
        nested = match i % 4 {
            0 => Dyn::Seq(vec![nested]),
            1 => Dyn::Map(vec![(nested, Dyn::Unit)]),
            2 => Dyn::NewtypeVariant("V", Box::new(nested)),
            _ => Dyn::Some(Box::new(nested)),
        };
    }
    assert_segment_safe(&key(&nested), &"nested");

    let long: String = "a:b é\n".repeat(200_000);
    let rendered = key(&long);
    assert_eq!(rendered.len(), 200_000 * "a%3Ab%20%C3%A9%0A".len());
    assert_eq!(key(&Bytes(vec![0xee; 100_000])).len(), 200_001);
}
