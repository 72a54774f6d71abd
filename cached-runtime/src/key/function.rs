//! Which computation a key belongs to: the function's full path, with the `Self`
//! type and trait of a method and the generic arguments of the call.
//!
//! The attribute sees one function definition, not the `impl` block around it nor the
//! types a generic function is called with. The generated code therefore reads the
//! type name of a closure written in the function's body
//! (`__private::function_path(&|| ())`): a closure's type carries every generic
//! parameter in scope, so its name is the *instantiated* path of the function:
//!
//! | function | path |
//! |---|---|
//! | `async fn get_user(id: u64)` in `my_app::repo` | `my_app::repo::get_user` |
//! | `UserRepo::count(&self)` | `my_app::repo::UserRepo::count` |
//! | a trait's method, default or implemented, called on `UserRepo` | `<my_app::repo::UserRepo as my_app::repo::Count>::count` |
//! | `row_count::<Users>()` | `my_app::repo::row_count<my_app::Users>` |
//! | `Repo::<Users>::all()` in `impl<T> Repo<T>` | `my_app::repo::Repo<my_app::Users>::all` |
//!
//! In a default key the path is one segment, `::` written `.` (so `:` stays the only
//! segment separator), every other byte outside `A-Za-z0-9_<>,()[]&;` escaped like
//! argument strings: `my_app.repo.UserRepo.count`,
//! `<my_app.repo.UserRepo%20as%20my_app.repo.Count>.count`. Two functions, two
//! methods of different types, or two instantiations of a generic function never
//! share a default key.
//!
//! The path comes from `std::any::type_name`, whose text the compiler does not
//! promise to keep between versions: a toolchain upgrade may change keys (a miss,
//! never another function's value). Lifetimes are not part of it (`Repo<&'a str>` and
//! `Repo<&'b str>` are one computation).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// `path::to::function::{{closure}}::{{closure}}` → `path::to::function`.
pub(crate) fn strip_closures(type_name: &'static str) -> &'static str {
    let mut path = type_name;
    while let Some(shorter) = path.strip_suffix("::{{closure}}") {
        path = shorter;
    }
    path
}

/// The bytes of a path escaped in its segment: all but ASCII letters, digits and
/// `_<>,()[]&;`. `.` is escaped too: in the segment it only ever comes from `::`.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'<')
    .remove(b'>')
    .remove(b',')
    .remove(b'(')
    .remove(b')')
    .remove(b'[')
    .remove(b']')
    .remove(b'&')
    .remove(b';');

/// Appends `path` as one key segment (see the module docs).
pub(crate) fn push_segment(out: &mut String, path: &str) {
    for (i, part) in path.split("::").enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.extend(utf8_percent_encode(part, ESCAPED));
    }
}

/// FNV-1a (64 bits) of the path and the definition's fingerprint (a hash of the
/// function's tokens, made by the attribute): a fixed, seedless tag, the same in
/// every process and build of the same code, that stored values carry so that two
/// functions whose keys meet (a key builder's choice, or two functions whose paths
/// print alike: same name in two blocks) never read each other's values.
pub(crate) fn tag(path: &str, definition: u64) -> u64 {
    fnv(path.bytes().chain(definition.to_le_bytes()))
}

/// FNV-1a (64 bits) of a string (the codec's type tags).
pub(crate) fn fnv_str(text: &str) -> u64 {
    fnv(text.bytes())
}

fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Whether the function's own path (outside generic arguments) goes through a scope
/// other functions' paths can print alike: an anonymous `const _` block (`::_::`, a
/// common shape of macro-generated code) or a closure or `async` body
/// (`::{{closure}}::`, which is every closure of a function). Such a function's key
/// segment ends with its definition's fingerprint, so two of them do not share a
/// key (and evict each other) even though their paths print alike.
pub(crate) fn path_is_ambiguous(path: &str) -> bool {
    let mut depth = 0usize;
    let mut outside = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside.contains("::_::") || outside.starts_with("_::") || outside.contains("{{closure}}")
}

/// Whether a generic argument of the path is a type whose name is not unique: a
/// closure (every closure of a function prints `f::{{closure}}`) or a type declared
/// in an anonymous `const _` block (`_` in its path). Two instantiations with such
/// arguments print alike, so neither key nor tag could tell them apart.
///
/// Types declared in two blocks of one function also print alike (`f::Rule`) and
/// cannot be detected: do not pass such types to a generic `#[cached]` function.
pub(crate) fn has_unnamed_type_argument(path: &str) -> bool {
    let mut depth = 0usize;
    let bytes = path.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {
                let rest = &path[i..];
                if rest.starts_with("{{closure}}") || rest.starts_with("::_::") {
                    return true;
                }
                let after_open = bytes
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| matches!(p, b'<' | b' '));
                if after_open && rest.starts_with("_::") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(path: &str) -> String {
        let mut out = String::new();
        push_segment(&mut out, path);
        out
    }

    #[test]
    fn closures_are_stripped() {
        assert_eq!(
            strip_closures("a::b::f::{{closure}}::{{closure}}"),
            "a::b::f"
        );
        assert_eq!(strip_closures("a::b::f"), "a::b::f");
        assert_eq!(strip_closures("{{closure}}"), "{{closure}}");
        assert_eq!(
            strip_closures("a::{{closure}}::f::{{closure}}"),
            "a::{{closure}}::f"
        );
    }

    #[test]
    fn segments_are_readable_and_colon_free() {
        assert_eq!(segment("my_app::repo::get_user"), "my_app.repo.get_user");
        assert_eq!(
            segment("<my_app::UserRepo as my_app::Count>::count"),
            "<my_app.UserRepo%20as%20my_app.Count>.count"
        );
        assert_eq!(
            segment("m::row_count<alloc::vec::Vec<(u8, &str)>>"),
            "m.row_count<alloc.vec.Vec<(u8,%20&str)>>"
        );
        assert_eq!(
            segment("m::f<[u8; 3], dyn m::T + Send>"),
            "m.f<[u8;%203],%20dyn%20m.T%20%2B%20Send>"
        );
        for path in ["a::b", "<a as b>::c", "x<y:: z>"] {
            assert!(!segment(path).contains(':'), "{path}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Two paths never make one segment: the rendering is injective (`::` is the
        /// only source of `.`, every other byte outside the kept set is escaped).
        #[test]
        fn segments_are_injective(
            a in "([a-z<>:, &;\\[\\]()%.{}+'*]|::){0,12}",
            b in "([a-z<>:, &;\\[\\]()%.{}+'*]|::){0,12}",
        ) {
            proptest::prop_assume!(a != b);
            proptest::prop_assert_ne!(segment(&a), segment(&b));
        }
    }

    #[test]
    fn tags_differ_and_are_stable() {
        assert_ne!(tag("m::UserRepo::count", 1), tag("m::OrderRepo::count", 1));
        assert_ne!(tag("m::f", 1), tag("m::f", 2));
        // FNV-1a 64 of the empty string: its offset basis.
        assert_eq!(fnv_str(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn ambiguous_paths_are_detected() {
        assert!(path_is_ambiguous("m::_::value"));
        assert!(path_is_ambiguous("m::outer::{{closure}}::lookup"));
        assert!(!path_is_ambiguous("m::outer::lookup"));
        assert!(!path_is_ambiguous("m::apply<m::_::Rule>"));
        assert!(!path_is_ambiguous("<m::UserRepo as m::Count>::count"));
    }

    #[test]
    fn unnamed_type_arguments_are_detected() {
        assert!(has_unnamed_type_argument("m::apply<m::main::{{closure}}>"));
        assert!(has_unnamed_type_argument("m::apply<m::_::Rule>"));
        assert!(has_unnamed_type_argument("m::apply<u8, _::Rule>"));
        assert!(has_unnamed_type_argument(
            "<m::Repo<m::f::{{closure}}> as m::T>::count"
        ));
        assert!(!has_unnamed_type_argument("m::apply<m::Rule>"));
        assert!(!has_unnamed_type_argument("m::main::{{closure}}::inner"));
        assert!(!has_unnamed_type_argument("m::_::value"));
        assert!(!has_unnamed_type_argument("m::row_count<my_app::Users>"));
    }
}
