//! Pinned renderings of every serde shape, and the segment escaping on its own.

use super::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[test]
fn integers_and_bools_render_plainly() {
    assert_eq!(key(&42_u64), "42");
    assert_eq!(key(&-7_i32), "-7");
    assert_eq!(key(&0_u8), "0");
    assert_eq!(key(&i64::MIN), "-9223372036854775808");
    assert_eq!(key(&u128::MAX), "340282366920938463463374607431768211455");
    assert_eq!(key(&i128::MIN), "-170141183460469231731687303715884105728");
    assert_eq!(key(&true), "true");
    assert_eq!(key(&false), "false");
}

#[test]
fn floats_render_with_shortest_round_trip_display() {
    assert_eq!(key(&1.5_f64), "1.5");
    assert_eq!(key(&-0.0_f64), "-0");
    assert_eq!(key(&0.0_f64), "0.0");
    assert_eq!(key(&1.0_f64), "1.0");
    assert_eq!(key(&-3.0_f64), "-3.0");
    assert_eq!(key(&f64::NAN), "NaN");
    assert_eq!(key(&-f64::NAN), "NaN");
    assert_eq!(key(&f64::INFINITY), "inf");
    assert_eq!(key(&f64::NEG_INFINITY), "-inf");
    assert_eq!(key(&0.1_f64), "0.1");
    assert_eq!(key(&1.1_f32), "1.1");
    assert_eq!(key(&-0.0_f32), "-0");
    assert_eq!(key(&f32::NAN), "NaN");
    assert_eq!(key(&1e21_f64), "1000000000000000000000.0");
    assert_eq!(key(&5e-324_f64), format!("{}", 5e-324_f64));
}

#[test]
fn strings_are_escaped() {
    assert_eq!(key("bob"), "bob");
    assert_eq!(key("a:b"), "a%3Ab");
    assert_eq!(key(" "), "%20");
    assert_eq!(key("Az09-_./@"), "Az09-_./@");
    assert_eq!(key("é"), "%C3%A9");
    assert_eq!(key("%"), "%25");
    assert_eq!(key("*?[]"), "%2A%3F%5B%5D");
    assert_eq!(key("~!'#"), "%7E%21%27%23");
    assert_eq!(key("a,b=c"), "a%2Cb%3Dc");
    assert_eq!(key("\n\t\0"), "%0A%09%00");
    assert_eq!(key(&String::from("2024-01-01")), "2024-01-01");
    assert_eq!(key("127.0.0.1"), "127.0.0.1");
    assert_eq!(key(&'x'), "x");
    assert_eq!(key(&':'), "%3A");
    assert_eq!(key(&'7'), "7");
}

#[test]
fn only_the_empty_string_is_quoted() {
    assert_eq!(key(""), "''");
    // Number- and bool-like strings stay bare, so `invalidate_user_cache(42)`
    // reaches entries keyed by the `String` id "42".
    for bare in [
        "42", "-7", "-0", "01", "1.5", "true", "NaN", "-", "1.", "1e5", "-a",
    ] {
        assert_eq!(key(bare), bare);
    }
    assert_eq!(key(&String::from("42")), key(&42u64));
}

#[test]
fn bytes_render_as_lower_hex() {
    assert_eq!(key(&Bytes(vec![])), "#");
    assert_eq!(key(&Bytes(vec![0x00, 0xff, 0x1a])), "#00ff1a");
    assert_eq!(key(&Bytes(b"abc".to_vec())), "#616263");
    assert_eq!(key("abc"), "abc");
    // A plain Vec<u8> is a serde sequence, not bytes.
    assert_eq!(key(&vec![1_u8, 2]), "[1,2]");
}

#[test]
fn options_render_with_none_and_some_markers() {
    assert_eq!(key(&None::<i32>), "~");
    assert_eq!(key(&Some(5)), "5");
    assert_eq!(key(&Some("bob")), "bob");
    assert_eq!(key(&Some("")), "''");
    assert_eq!(key(&Some(None::<i32>)), "!~");
    assert_eq!(key(&Some(Some(None::<i32>))), "!!~");
    assert_eq!(key(&Some(Some(Some(3)))), "3");
    assert_eq!(key(&None::<Option<i32>>), "~");
    assert_eq!(key(&vec![None, Some(1)]), "[~,1]");
    assert_eq!(key(&Some(vec![None::<i32>])), "[~]");
}

#[test]
fn compounds_render_readably() {
    assert_eq!(key(&()), "()");
    assert_eq!(key(&Marker), "Marker");
    assert_eq!(key(&UserId(42)), "42");
    assert_eq!(key(&Pair(1, "a b".into())), "(1,a%20b)");
    assert_eq!(key(&Empty {}), "{}");
    assert_eq!(key(&EmptyTuple()), "()");
    assert_eq!(key(&vec![1, 2]), "[1,2]");
    assert_eq!(key(&vec![2, 1]), "[2,1]");
    assert_eq!(key(&Vec::<i32>::new()), "[]");
    assert_eq!(key(&[1, 2, 3]), "(1,2,3)");
    assert_eq!(key(&(1, "bob")), "(1,bob)");
    assert_eq!(key(&(1,)), "(1)");
    assert_eq!(key(&vec![vec![1], vec![]]), "[[1],[]]");
    let map: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into_iter().collect();
    assert_eq!(key(&map), "{a=1,b=2}");
    assert_eq!(key(&BTreeMap::<i32, i32>::new()), "{}");
    let user = User {
        id: 1,
        name: "bob".into(),
        nick: None,
        tags: vec!["x,y".into(), String::new()],
    };
    assert_eq!(key(&user), "{id=1,name=bob,nick=~,tags=[x%2Cy,'']}");
    assert_eq!(
        key(&Outer {
            user,
            page: Some(2)
        }),
        "{user={id=1,name=bob,nick=~,tags=[x%2Cy,'']},page=2}"
    );
    let set: BTreeSet<&str> = ["b", "a"].into_iter().collect();
    assert_eq!(key(&set), "[a,b]");
}

#[test]
fn enum_variants_render_readably() {
    assert_eq!(key(&Shape::Empty), "Empty");
    assert_eq!(key(&Shape::Circle(1.5)), "Circle(1.5)");
    assert_eq!(key(&Shape::Rect(2, 3)), "Rect(2,3)");
    assert_eq!(key(&Shape::Point { x: 1, y: -2 }), "Point{x=1,y=-2}");
    assert_eq!(key(&Shape::Nothing(())), "Nothing(())");
    assert_eq!(key(&Shape::Label(String::new())), "Label('')");
    assert_eq!(key(&Shape::Maybe(Some(None))), "Maybe(!~)");
    assert_eq!(key(&Shape::Nested(Box::new(Shape::Empty))), "Nested(Empty)");
    assert_eq!(key(&Shape::One), "1");
    assert_eq!(key(&Shape::Colon), "a%3Ab");
}

#[test]
fn maps_are_sorted_by_rendered_key() {
    let map: HashMap<String, i32> = [("b", 2), ("a", 1), ("", 0), ("10", 3), ("9", 4)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    // Byte order of the renderings: "''" < "10" < "9" < "a" < "b".
    assert_eq!(key(&map), "{''=0,10=3,9=4,a=1,b=2}");
    let int_keys: BTreeMap<i32, &str> = [(10, "x"), (9, "y"), (-1, "z")].into_iter().collect();
    assert_eq!(key(&int_keys), "{-1=z,10=x,9=y}");
    let tuple_keys: BTreeMap<(i32, &str), bool> =
        [((1, "b"), true), ((1, "a"), false)].into_iter().collect();
    assert_eq!(key(&tuple_keys), "{(1,a)=false,(1,b)=true}");
}

#[test]
fn key_part_fits_in_a_redis_key() {
    let mut full = String::from("fastapi-cache:user:my_app::users::get_user:");
    write_key_part(&mut full, &42_u64).unwrap();
    assert_eq!(full, "fastapi-cache:user:my_app::users::get_user:42");
    full.push(':');
    write_key_part(&mut full, "a:b c").unwrap();
    assert!(full.ends_with(":42:a%3Ab%20c"));
}

// ------------------------------------------------------------ escape_into

#[test]
fn escape_into_keeps_only_the_allow_list() {
    assert_eq!(esc(""), "");
    assert_eq!(esc("Az09-_./@"), "Az09-_./@");
    assert_eq!(esc("a b:c"), "a%20b%3Ac");
    assert_eq!(esc("'"), "%27");
    assert_eq!(esc("\u{10FFFF}"), "%F4%8F%BF%BF");
    let mut out = String::from("prefix:");
    escape_into(&mut out, "x y");
    assert_eq!(out, "prefix:x%20y");
    for code in (0_u32..0x800).chain([0xfeff, 0x2028, 0x3000, 0x1_f600, 0x10_ffff]) {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let s = c.to_string();
        let escaped = esc(&s);
        assert_segment_safe(&escaped, &c);
        let plain = c.is_ascii_alphanumeric() || "-_./@".contains(c);
        assert_eq!(escaped == s, plain, "{c:?}");
        assert_eq!(unescape(&escaped), s);
    }
}

#[test]
fn escape_into_round_trips_generated_strings() {
    let strings = all_strings(TRICKY_CHARS, 3);
    let mut seen = HashSet::new();
    for s in &strings {
        let escaped = esc(s);
        assert_segment_safe(&escaped, s);
        assert_eq!(&unescape(&escaped), s);
        assert!(seen.insert(escaped), "escape collision for {s:?}");
    }
}

/// The escaper writes exactly what `percent_encode` writes with the documented
/// set, for every byte and for runs of them.
mod escaper {
    use crate::key::encode::{ESCAPED, escape_bytes_into};
    use proptest::prelude::*;

    fn reference(bytes: &[u8]) -> String {
        percent_encoding::percent_encode(bytes, ESCAPED).to_string()
    }

    fn escaped(bytes: &[u8]) -> String {
        let mut out = String::from("x");
        escape_bytes_into(&mut out, bytes);
        out.split_off(1)
    }

    #[test]
    fn every_byte_alone_and_between_kept_ones() {
        for byte in 0..=255u8 {
            assert_eq!(escaped(&[byte]), reference(&[byte]), "byte {byte:#x}");
            let framed = [b'a', byte, byte, b'/'];
            assert_eq!(escaped(&framed), reference(&framed), "byte {byte:#x}");
        }
        assert_eq!(escaped(b""), "");
        assert_eq!(escaped("caf\u{e9}:~".as_bytes()), "caf%C3%A9%3A%7E");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(escaped(&bytes), reference(&bytes));
        }
    }
}
