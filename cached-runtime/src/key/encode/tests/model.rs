//! The whole serde data model, chosen at run time (like an untagged enum or
//! `serde_json::Value`), with a small PRNG: checks that two values share a
//! rendering only where the module documents it.

use super::*;
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleVariant,
};

/// A value of any serde shape, chosen at run time (like an untagged enum
/// or `serde_json::Value`).
#[derive(Debug, Clone)]
pub(super) enum Dyn {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    None,
    Some(Box<Dyn>),
    Seq(Vec<Dyn>),
    Tuple(Vec<Dyn>),
    Map(Vec<(Dyn, Dyn)>),
    Struct(Vec<(&'static str, Dyn)>),
    UnitVariant(&'static str),
    NewtypeVariant(&'static str, Box<Dyn>),
    TupleVariant(&'static str, Vec<Dyn>),
    StructVariant(&'static str, Vec<(&'static str, Dyn)>),
}

impl Serialize for Dyn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Dyn::Unit => s.serialize_unit(),
            Dyn::Bool(b) => s.serialize_bool(*b),
            Dyn::Int(i) => s.serialize_i64(*i),
            Dyn::Float(f) => s.serialize_f64(*f),
            Dyn::Str(x) => s.serialize_str(x),
            Dyn::Bytes(b) => s.serialize_bytes(b),
            Dyn::None => s.serialize_none(),
            Dyn::Some(x) => s.serialize_some(x),
            Dyn::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Dyn::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                for item in items {
                    tuple.serialize_element(item)?;
                }
                tuple.end()
            }
            Dyn::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Dyn::Struct(fields) => {
                let mut st = s.serialize_struct("Dyn", fields.len())?;
                for (name, v) in fields {
                    st.serialize_field(name, v)?;
                }
                st.end()
            }
            Dyn::UnitVariant(name) => s.serialize_unit_variant("Dyn", 0, name),
            Dyn::NewtypeVariant(name, v) => s.serialize_newtype_variant("Dyn", 0, name, v),
            Dyn::TupleVariant(name, items) => {
                let mut tv = s.serialize_tuple_variant("Dyn", 0, name, items.len())?;
                for item in items {
                    tv.serialize_field(item)?;
                }
                tv.end()
            }
            Dyn::StructVariant(name, fields) => {
                let mut sv = s.serialize_struct_variant("Dyn", 0, name, fields.len())?;
                for (field, v) in fields {
                    sv.serialize_field(field, v)?;
                }
                sv.end()
            }
        }
    }
}

/// Collapses exactly the shape pairs that the module documents as
/// rendering alike (`Some(x)`/`x`, unit variant/string, struct/map, empty
/// tuple/unit, one-field tuple variant/newtype variant, NaN payloads), so
/// that anything else sharing a rendering is a real collision.
fn canonical(value: &Dyn) -> Dyn {
    match value {
        // Bare scalar tokens meet when their text is the same (`"42"` and
        // `42`, `"true"` and `true`, a unit variant and its name): identify
        // them by that text.
        Dyn::Int(_) | Dyn::Bool(_) | Dyn::Float(_) | Dyn::Str(_) => Dyn::Str(key(value)),
        Dyn::Some(inner) => match canonical(inner) {
            c @ (Dyn::None | Dyn::Some(_)) => Dyn::Some(Box::new(c)),
            c => c,
        },
        Dyn::Seq(items) => Dyn::Seq(items.iter().map(canonical).collect()),
        Dyn::Tuple(items) if items.is_empty() => Dyn::Unit,
        Dyn::Tuple(items) => Dyn::Tuple(items.iter().map(canonical).collect()),
        Dyn::Map(entries) => {
            let mut entries: Vec<(Dyn, Dyn)> = entries
                .iter()
                .map(|(k, v)| (canonical(k), canonical(v)))
                .collect();
            entries.sort_by_cached_key(|e| format!("{e:?}"));
            Dyn::Map(entries)
        }
        Dyn::Struct(fields) => canonical(&Dyn::Map(
            fields
                .iter()
                .map(|(name, v)| (canonical(&Dyn::Str((*name).to_owned())), v.clone()))
                .collect(),
        )),
        Dyn::UnitVariant(name) => canonical(&Dyn::Str((*name).to_owned())),
        Dyn::NewtypeVariant(name, v) => Dyn::NewtypeVariant(name, Box::new(canonical(v))),
        Dyn::TupleVariant(name, items) if items.len() == 1 => {
            Dyn::NewtypeVariant(name, Box::new(canonical(&items[0])))
        }
        Dyn::TupleVariant(name, items) => {
            Dyn::TupleVariant(name, items.iter().map(canonical).collect())
        }
        Dyn::StructVariant(name, fields) => Dyn::StructVariant(
            name,
            fields.iter().map(|(f, v)| (*f, canonical(v))).collect(),
        ),
        other => other.clone(),
    }
}

/// Identity of a [`Dyn`] up to the documented equivalences. `Debug` of
/// `f64` tells `-0.0` from `0.0`.
pub(super) fn canonical_id(value: &Dyn) -> String {
    format!("{:?}", canonical(value))
}

/// Leaf values of every scalar shape, with look-alike strings.
fn dyn_leaves() -> Vec<Dyn> {
    let mut leaves = vec![
        Dyn::Unit,
        Dyn::Bool(true),
        Dyn::Bool(false),
        Dyn::None,
        Dyn::Tuple(vec![]),
        Dyn::UnitVariant("V"),
        Dyn::UnitVariant("W"),
        Dyn::UnitVariant(""),
        Dyn::UnitVariant("1"),
    ];
    leaves.extend([0, 1, -1, 42, -7, 10, i64::MIN].map(Dyn::Int));
    leaves.extend(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            42.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]
        .map(Dyn::Float),
    );
    leaves.extend(tricky_strings().into_iter().map(Dyn::Str));
    leaves.extend(
        [
            vec![],
            vec![0],
            vec![0xab, 0xcd],
            b"a".to_vec(),
            b"~".to_vec(),
        ]
        .map(Dyn::Bytes),
    );
    leaves
}

/// Wraps `a` (and `b`) in every compound shape.
fn dyn_compounds(a: &Dyn, b: &Dyn, out: &mut Vec<Dyn>) {
    out.push(Dyn::Some(Box::new(a.clone())));
    out.push(Dyn::Seq(vec![a.clone()]));
    out.push(Dyn::Seq(vec![a.clone(), b.clone()]));
    out.push(Dyn::Tuple(vec![a.clone()]));
    out.push(Dyn::Tuple(vec![a.clone(), b.clone()]));
    out.push(Dyn::Map(vec![(a.clone(), b.clone())]));
    out.push(Dyn::Struct(vec![("a", a.clone()), ("b", b.clone())]));
    out.push(Dyn::NewtypeVariant("V", Box::new(a.clone())));
    out.push(Dyn::TupleVariant("V", vec![a.clone(), b.clone()]));
    out.push(Dyn::TupleVariant("W", vec![a.clone()]));
    out.push(Dyn::StructVariant("V", vec![("a", a.clone())]));
}

#[test]
fn whole_data_model_is_injective_systematically() {
    let leaves = dyn_leaves();
    let mut values = leaves.clone();
    let mut level1 = Vec::new();
    for a in &leaves {
        for b in &leaves {
            dyn_compounds(a, b, &mut level1);
        }
    }
    // Level 2: compounds of a sample of level 1 with a few leaves.
    let mut level2 = Vec::new();
    let picks = [&leaves[0], &leaves[3], &leaves[5], &leaves[20], &leaves[30]];
    for (i, a) in level1.iter().enumerate().filter(|(i, _)| i % 13 == 0) {
        let b = picks[i % picks.len()];
        dyn_compounds(a, b, &mut level2);
        dyn_compounds(b, a, &mut level2);
    }
    values.extend(level1);
    values.extend(level2);
    let distinct = check_injective(values, canonical_id);
    assert!(distinct > 50_000, "only {distinct} distinct renderings");
}

/// Small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    /// Next pseudo-random number below `n`.
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        usize::try_from(x >> 33).unwrap() % n
    }
}

/// A random [`Dyn`] of depth at most `depth`.
fn random_dyn(rng: &mut Rng, leaves: &[Dyn], depth: u32) -> Dyn {
    const NAMES: [&str; 3] = ["V", "W", "a"];
    if depth == 0 || rng.below(3) == 0 {
        return leaves[rng.below(leaves.len())].clone();
    }
    let many = |rng: &mut Rng| -> Vec<Dyn> {
        (0..rng.below(4))
            .map(|_| random_dyn(rng, leaves, depth - 1))
            .collect()
    };
    match rng.below(9) {
        0 => Dyn::Some(Box::new(random_dyn(rng, leaves, depth - 1))),
        1 => Dyn::Seq(many(rng)),
        2 => Dyn::Tuple(many(rng)),
        3 => {
            let keys = many(rng);
            Dyn::Map(
                keys.into_iter()
                    .map(|k| (k, random_dyn(rng, leaves, depth - 1)))
                    .collect(),
            )
        }
        4 => Dyn::Struct(
            many(rng)
                .into_iter()
                .zip(NAMES)
                .map(|(v, n)| (n, v))
                .collect(),
        ),
        5 => Dyn::NewtypeVariant(
            NAMES[rng.below(3)],
            Box::new(random_dyn(rng, leaves, depth - 1)),
        ),
        6 => Dyn::TupleVariant(NAMES[rng.below(3)], many(rng)),
        7 => Dyn::StructVariant(
            NAMES[rng.below(3)],
            many(rng)
                .into_iter()
                .zip(NAMES)
                .map(|(v, n)| (n, v))
                .collect(),
        ),
        _ => Dyn::Some(Box::new(Dyn::Some(Box::new(random_dyn(
            rng,
            leaves,
            depth - 1,
        ))))),
    }
}

#[test]
fn whole_data_model_is_injective_randomly() {
    let leaves = dyn_leaves();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let values: Vec<Dyn> = (0..40_000)
        .map(|_| random_dyn(&mut rng, &leaves, 4))
        .collect();
    let distinct = check_injective(values, canonical_id);
    assert!(distinct > 10_000, "only {distinct} distinct renderings");
}
