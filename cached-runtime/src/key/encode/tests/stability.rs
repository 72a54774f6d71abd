//! Renderings that do not depend on iteration order, process or run.

use super::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[test]
fn hash_maps_render_like_the_btree_map() {
    let entries: Vec<(String, u32)> = (0_u32..50)
        .map(|i| (format!("key {i}:{}", i * 7 % 13), i))
        .collect();
    let btree: BTreeMap<String, u32> = entries.iter().cloned().collect();
    let expected = key(&btree);
    assert_segment_safe(&expected, &btree);
    let mut orders = HashSet::new();
    for round in 0..200_usize {
        let mut map = HashMap::new();
        // Vary the insertion order too.
        for j in 0..entries.len() {
            let (k, v) = &entries[(j * 7 + round) % entries.len()];
            map.insert(k.clone(), *v);
        }
        orders.insert(map.keys().cloned().collect::<Vec<_>>());
        assert_eq!(key(&map), expected);
    }
    // Sanity: the maps really did iterate in different orders.
    assert!(orders.len() > 1);

    // Keys whose natural order differs from their rendered byte order.
    let ints: HashMap<i64, i64> = (-25..25).map(|i| (i, -i)).collect();
    let ints_tree: BTreeMap<i64, i64> = ints.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(key(&ints), key(&ints_tree));
}

#[test]
fn sequences_keep_their_order() {
    assert_ne!(key(&vec![1, 2]), key(&vec![2, 1]));
    let set: BTreeSet<i32> = [3, 1, 2].into_iter().collect();
    assert_eq!(key(&set), "[1,2,3]");
}

#[test]
fn renderings_are_deterministic() {
    let value = (
        Shape::Point { x: 1, y: 2 },
        vec![Some("a b"), None],
        BTreeMap::from([("k", 1.5_f64)]),
    );
    let first = key(&value);
    assert_eq!(first, "(Point{x=1,y=2},[a%20b,~],{k=1.5})");
    for _ in 0..10 {
        assert_eq!(key(&value), first);
    }
}
