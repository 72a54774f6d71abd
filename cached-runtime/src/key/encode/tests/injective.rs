//! Injectivity over hand-picked and generated families of values of one type.

use super::model::{Dyn, canonical_id};
use super::*;
use std::collections::{BTreeMap, HashSet};

#[test]
fn generated_strings_are_injective_and_safe() {
    let strings = all_strings(TRICKY_CHARS, 3);
    let n = strings.len();
    assert_eq!(check_injective_debug(strings), n);
    let chars: Vec<char> = TRICKY_CHARS.to_vec();
    assert_eq!(check_injective_debug(chars), TRICKY_CHARS.len());
}

#[test]
fn generated_nested_options_are_injective() {
    let strings = all_strings(TRICKY_CHARS, 2);
    let mut values: Vec<Option<Option<String>>> = vec![None, Some(None)];
    values.extend(strings.iter().cloned().map(|s| Some(Some(s))));
    let n = values.len();
    assert_eq!(check_injective_debug(values), n);

    let mut triple: Vec<Option<Option<Option<String>>>> = vec![None, Some(None), Some(Some(None))];
    triple.extend(tricky_strings().into_iter().map(|s| Some(Some(Some(s)))));
    let n = triple.len();
    assert_eq!(check_injective_debug(triple), n);

    let units: Vec<Option<Option<()>>> = vec![None, Some(None), Some(Some(()))];
    assert_eq!(check_injective_debug(units), 3);
}

#[test]
fn sequence_splits_are_injective() {
    let parts: Vec<String> = [
        "", "a", "b", ",", "a,b", "[", "]", "'", "%2C", "~", "[a", "b]", "''", "a%2Cb",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut vectors: Vec<Vec<String>> = vec![vec![]];
    let mut layer: Vec<Vec<String>> = vec![vec![]];
    for _ in 0..3 {
        let mut next = Vec::new();
        for prefix in &layer {
            for part in &parts {
                let mut v = prefix.clone();
                v.push(part.clone());
                next.push(v);
            }
        }
        vectors.extend(next.iter().cloned());
        layer = next;
    }
    let n = vectors.len();
    assert_eq!(check_injective_debug(vectors.clone()), n);

    // Nested: Vec<Vec<String>> built from pairs of the vectors above.
    let short: Vec<&Vec<String>> = vectors.iter().filter(|v| v.len() <= 1).collect();
    let mut nested = Vec::new();
    for a in &short {
        nested.push(vec![(*a).clone()]);
        for b in &short {
            nested.push(vec![(*a).clone(), (*b).clone()]);
        }
    }
    let n = nested.len();
    assert_eq!(check_injective_debug(nested), n);
}

/// A doubly optional string (absent / null / value).
type OptOpt = Option<Option<String>>;

#[test]
fn maps_with_naively_colliding_keys_are_injective() {
    let atoms = [
        "", "a", "b", "=", "a=b", "b=c", ",", "a,b=c", "c", "{", "}", "%3D", "'",
    ];
    let mut maps: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
    for k1 in atoms {
        for v1 in atoms {
            maps.push([(k1.to_owned(), v1.to_owned())].into_iter().collect());
            for k2 in atoms {
                if k2 <= k1 {
                    continue;
                }
                for v2 in ["", "a", "=", ",", "b=c"] {
                    maps.push(
                        [
                            (k1.to_owned(), v1.to_owned()),
                            (k2.to_owned(), v2.to_owned()),
                        ]
                        .into_iter()
                        .collect(),
                    );
                }
            }
        }
    }
    let n = maps.len();
    assert_eq!(check_injective_debug(maps), n);

    // Option keys and values: None/Some(None)/"" must stay apart.
    let opts = [
        None,
        Some(None),
        Some(Some(String::new())),
        Some(Some("~".to_owned())),
    ];
    let mut opt_maps: Vec<BTreeMap<OptOpt, OptOpt>> = vec![BTreeMap::new()];
    for k in &opts {
        for v in &opts {
            opt_maps.push([(k.clone(), v.clone())].into_iter().collect());
        }
    }
    let n = opt_maps.len();
    assert_eq!(check_injective_debug(opt_maps), n);
}

#[test]
fn hand_picked_families_are_injective() {
    // Integers, including extremes.
    let ints: Vec<i128> = vec![0, 1, -1, 42, -42, 10, i128::MAX, i128::MIN];
    assert_eq!(check_injective_debug(ints), 8);

    // Floats: zero signs, integral values, specials, neighbours.
    let floats = vec![
        0.0_f64,
        -0.0,
        1.0,
        -1.0,
        1.5,
        0.1,
        0.1 + 0.2,
        0.3,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        1.0 + f64::EPSILON,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        5e-324,
        1e300,
        1e21,
    ];
    let n = floats.len();
    assert_eq!(check_injective(floats, |f| f.to_bits().to_string()), n);

    // Unit-like values of different types (pinned, and all distinct
    // except the documented `()` / empty tuple struct pair).
    let unit_like = [
        key(&()),
        key(&Marker),
        key(&Empty {}),
        key(&None::<()>),
        key(""),
    ];
    assert_eq!(unit_like.iter().collect::<HashSet<_>>().len(), 5);
}

#[test]
fn enum_struct_and_mixed_families_are_injective() {
    // Every shape of one enum.
    let shapes = vec![
        Shape::Empty,
        Shape::One,
        Shape::Colon,
        Shape::Circle(0.0),
        Shape::Circle(-0.0),
        Shape::Circle(1.0),
        Shape::Rect(1, 2),
        Shape::Rect(2, 1),
        Shape::Point { x: 1, y: 2 },
        Shape::Point { x: 2, y: 1 },
        Shape::Nothing(()),
        Shape::Label(String::new()),
        Shape::Label("Empty".into()),
        Shape::Label("1".into()),
        Shape::Label("a:b".into()),
        Shape::Label("a%3Ab".into()),
        Shape::Label("(1,2)".into()),
        Shape::Maybe(None),
        Shape::Maybe(Some(None)),
        Shape::Maybe(Some(Some(0))),
        Shape::Nested(Box::new(Shape::Empty)),
        Shape::Nested(Box::new(Shape::Nested(Box::new(Shape::One)))),
        Shape::Nested(Box::new(Shape::Label("Empty".into()))),
    ];
    let n = shapes.len();
    assert_eq!(check_injective_debug(shapes), n);

    // Structs whose fields hold structural-looking strings.
    let users: Vec<User> = tricky_strings()
        .into_iter()
        .flat_map(|s| {
            [
                User {
                    id: 1,
                    name: s.clone(),
                    nick: None,
                    tags: vec![],
                },
                User {
                    id: 1,
                    name: String::new(),
                    nick: Some(s.clone()),
                    tags: vec![],
                },
                User {
                    id: 1,
                    name: String::new(),
                    nick: None,
                    tags: vec![s],
                },
            ]
        })
        .collect();
    // name="" nick=None tags=[] appears for s = "" in all three rows:
    // dedupe on Debug, then count.
    let distinct: HashSet<String> = users.iter().map(|u| format!("{u:?}")).collect();
    assert_eq!(check_injective_debug(users), distinct.len());

    // Strings vs bytes vs numbers vs bools of one dynamic type.
    let mixed = vec![
        Dyn::Str("abc".into()),
        Dyn::Bytes(b"abc".to_vec()),
        Dyn::Str("616263".into()),
        Dyn::Str("#616263".into()),
        Dyn::Str("1".into()),
        Dyn::Int(1),
        Dyn::Float(1.0),
        Dyn::Str("1.0".into()),
        Dyn::Bool(true),
        Dyn::Str("true".into()),
        Dyn::Float(f64::NAN),
        Dyn::Str("NaN".into()),
        Dyn::Float(-0.0),
        Dyn::Int(0),
        Dyn::Str("-0".into()),
        Dyn::Str(String::new()),
        Dyn::None,
        Dyn::Unit,
        Dyn::Str("()".into()),
    ];
    // Bare tokens with the same text meet ("1" and 1, "1.0" and 1.0, "true"
    // and true, "NaN" and NaN): 19 values, 14 renderings, and no other
    // collision (checked against `canonical_id`).
    assert_eq!(check_injective(mixed, canonical_id), 14);
}
