//! One test per rung of every ladder: which rung a type lands on, called exactly as
//! the generated code calls it (the ladder's function, its traits glob-imported).
//! A type on the wrong rung fails to compile (the `let` annotations) or fails the
//! assertion on what the rung did.
#![allow(clippy::unwrap_used)]

use serde::Serialize;

use super::*;
use crate::key::{CacheUser, KeyArgs};

/// The strategy the return ladder picks for `$r`.
macro_rules! strategy {
    ($r:ty) => {{
        #[allow(unused_imports)]
        use super::return_rungs::*;
        return_ladder(ReturnProbe::<$r>::new()).__cachette_strategy()
    }};
}

/// The key arguments after keying `$value` as the argument `arg`, and what the
/// argument ladder returned.
macro_rules! key_arg {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use super::key_rungs::*;
        let mut args = KeyArgs::new("f");
        let done = key_ladder(KeyProbe(&$value)).__cachette_key_arg(&mut args, "arg");
        (args, done)
    }};
}

/// The mode the pattern ladder picks for `$value`, and the key arguments after.
macro_rules! pattern {
    ($value:expr) => {{
        #[allow(unused_imports)]
        use super::pattern_rungs::*;
        let mut args = KeyArgs::new("f");
        let mode = pattern_ladder(PatternProbe(&$value)).__cachette_pattern(&mut args, "arg");
        (args, mode)
    }};
}

/// The mode the store ladder picks for a stored `$t`.
macro_rules! put {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use super::put_rungs::*;
        put_ladder(PutProbe::<$t>::new()).__cachette_put()
    }};
}

#[derive(Serialize)]
struct User {
    id: u64,
    email: &'static str,
}

impl CacheUser for User {
    fn cache_user_id(&self) -> String {
        self.id.to_string()
    }
}

/// Neither serde nor a response nor a user.
struct Opaque;

// Return ladder.

#[test]
fn borrowed_returns_land_on_return_borrowed() {
    let _: BorrowedStrategy<&'static str> = strategy!(&'static str);
    let _: BorrowedStrategy<&'static [u8]> = strategy!(&'static [u8]);
    let _: BorrowedStrategy<Result<&'static str, String>> = strategy!(Result<&'static str, String>);
}

#[test]
fn result_of_option_lands_on_return_result_option() {
    let s: ValueStrategy<Result<Option<u32>, String>, u32> = strategy!(Result<Option<u32>, String>);
    assert_eq!((s.0.split)(Ok(Some(1))), Ok(1));
    assert!((s.0.split)(Ok(None)).is_err());
    assert!((s.0.split)(Err("no".into())).is_err());
}

#[test]
fn result_lands_on_return_result() {
    let s: ValueStrategy<Result<u32, String>, u32> = strategy!(Result<u32, String>);
    assert_eq!((s.0.split)(Ok(1)), Ok(1));
    assert!((s.0.split)(Err("no".into())).is_err());
}

#[test]
fn option_lands_on_return_option() {
    let s: ValueStrategy<Option<u32>, u32> = strategy!(Option<u32>);
    assert_eq!((s.0.split)(Some(1)), Ok(1));
    assert!((s.0.split)(None).is_err());
}

#[test]
fn serde_value_lands_on_return_value() {
    let s: ValueStrategy<Vec<u32>, Vec<u32>> = strategy!(Vec<u32>);
    assert_eq!((s.0.split)(vec![1]), Ok(vec![1]));
}

/// A serde type that is not `Clone`: its rungs are the ones below the typed twins.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct NotClone(u32);

#[test]
fn clone_types_land_on_the_typed_rungs_and_others_below() {
    let typed: ValueStrategy<Result<Vec<u32>, String>, Vec<u32>> =
        strategy!(Result<Vec<u32>, String>);
    assert!(typed.0.typed.is_some());
    let typed: ValueStrategy<Option<u32>, u32> = strategy!(Option<u32>);
    assert!(typed.0.typed.is_some());
    let typed: ValueStrategy<Result<Option<u32>, ()>, u32> = strategy!(Result<Option<u32>, ()>);
    assert!(typed.0.typed.is_some());
    let typed: ValueStrategy<String, String> = strategy!(String);
    assert!(typed.0.typed.is_some());

    let bytes: ValueStrategy<Result<NotClone, String>, NotClone> =
        strategy!(Result<NotClone, String>);
    assert!(bytes.0.typed.is_none());
    let bytes: ValueStrategy<Option<NotClone>, NotClone> = strategy!(Option<NotClone>);
    assert!(bytes.0.typed.is_none());
    let bytes: ValueStrategy<Result<Option<NotClone>, ()>, NotClone> =
        strategy!(Result<Option<NotClone>, ()>);
    assert!(bytes.0.typed.is_none());
    let bytes: ValueStrategy<NotClone, NotClone> = strategy!(NotClone);
    assert!(bytes.0.typed.is_none());
    // `Cell` is `Clone` but not `Sync`: through bytes too.
    let bytes: ValueStrategy<std::cell::Cell<u32>, std::cell::Cell<u32>> =
        strategy!(std::cell::Cell<u32>);
    assert!(bytes.0.typed.is_none());
}

/// `String` is both a serde value and a response: the value rung is higher, on
/// purpose (see the module doc). `tests/value_handlers.rs` depends on it.
#[cfg(feature = "axum")]
#[test]
fn string_is_a_value_not_a_response() {
    fn is_response<R: axum::response::IntoResponse>() {}
    is_response::<String>();
    let s: ValueStrategy<String, String> = strategy!(String);
    const { assert!(!<ValueStrategy<String, String> as CacheStrategy<String>>::HTTP) };
    assert_eq!((s.0.split)("hi".into()), Ok("hi".to_string()));
}

#[cfg(feature = "axum")]
#[test]
fn response_lands_on_return_http() {
    let _: HttpStrategy<axum::response::Response> = strategy!(axum::response::Response);
    const {
        assert!(<HttpStrategy<axum::response::Response> as CacheStrategy<axum::response::Response>>::HTTP)
    };
}

#[test]
fn anything_else_lands_on_return_none() {
    let _: Uncacheable<Opaque> = strategy!(Opaque);
}

// Argument ladder.

#[test]
fn user_lands_on_arg_user_before_arg_value() {
    // `User` is `Serialize` too: keyed by its id, never by its fields.
    let (args, _done): (_, KeyArgDone) = key_arg!(User {
        id: 7,
        email: "a@b"
    });
    assert_eq!(args.user(), Some("7"));
    assert_eq!(args.get("arg"), Some("7"));
}

#[test]
fn optional_user_lands_on_arg_optional_user() {
    let (args, _done): (_, KeyArgDone) = key_arg!(Some(User {
        id: 7,
        email: "a@b"
    }));
    assert_eq!(args.user(), Some("7"));
    let (args, _done): (_, KeyArgDone) = key_arg!(None::<User>);
    assert_eq!(args.user(), None);
    assert_eq!(args.get("arg"), Some("~"));
}

#[test]
fn serde_value_lands_on_arg_value() {
    let (args, _done): (_, KeyArgDone) = key_arg!(42u64);
    assert_eq!(args.get("arg"), Some("42"));
    assert_eq!(args.user(), None);
    assert!(!args.has_extractor());
}

#[cfg(feature = "axum")]
#[test]
fn extractor_of_a_value_lands_on_arg_inner_value() {
    let (args, _done): (_, KeyArgDone) = key_arg!(axum::extract::Path(42u64));
    assert_eq!(args.get("arg"), Some("42"));
    assert!(args.has_extractor());
    let (args, _done): (_, KeyArgDone) = key_arg!(axum::extract::Extension(5u64));
    assert_eq!(args.get("arg"), Some("5"));
    assert!(!args.has_extractor());
}

#[cfg(feature = "axum")]
#[test]
fn extension_of_a_user_lands_on_arg_user() {
    let (args, _done): (_, KeyArgDone) = key_arg!(axum::extract::Extension(User {
        id: 9,
        email: "a@b"
    }));
    assert_eq!(args.user(), Some("9"));
}

#[cfg(feature = "axum")]
#[test]
fn extractor_with_a_rule_lands_on_arg_special() {
    let (args, _done): (_, KeyArgDone) = key_arg!(axum::extract::State(Opaque));
    assert_eq!(args.get("arg"), None);
    assert!(args.has_extractor());
    assert!(!args.needs_request());
}

#[test]
fn anything_else_lands_on_arg_none() {
    let (args, _not): (_, NotAKey<Opaque>) = key_arg!(Opaque);
    assert!(args.needs_request());
}

// Pattern ladder.

#[test]
fn user_pattern_lands_on_pattern_user_rule() {
    let (args, _mode): (_, PatternUser) = pattern!(User {
        id: 3,
        email: "a@b"
    });
    assert_eq!(args.user(), Some("3"));
}

#[cfg(feature = "axum")]
#[test]
fn extractor_patterns_land_on_pattern_rule_probe() {
    let (args, _mode): (_, PatternIgnore) = pattern!(axum::extract::State(Opaque));
    assert!(args.has_extractor());
    let (_, _mode): (_, PatternRequest) = pattern!(axum::extract::Path(1u32));
    let (_, _mode): (_, PatternRequest) = pattern!(axum::extract::Query(1u32));
}

#[test]
fn other_patterns_land_on_pattern_default() {
    let (args, _mode): (_, PatternBindings) = pattern!((1u32, 2u32));
    assert!(!args.has_extractor());
}

// Store ladder.

#[test]
fn send_value_lands_on_put_await() {
    let _: AwaitPut = put!(String);
}

#[test]
fn value_that_is_not_send_lands_on_put_spawn() {
    let _: SpawnPut = put!(std::rc::Rc<String>);
}
