//! Red team, promise 1 (issue 9): "the key names the computation — module, `Self`
//! type and trait of a method, generic arguments (taken from a closure's
//! `type_name` in the body)", and stored values carry a 64-bit tag of the function
//! "so two functions whose key builders make the same key never read each other's
//! values".
//!
//! `std::any::type_name` is not injective: it prints a path without the
//! disambiguators the compiler uses, so distinct items can print alike:
//! - items of two anonymous `const _: () = { .. };` blocks of one module (a common
//!   macro-generated shape) both print `module::_::item`;
//! - items of two blocks (or two closures) of one function both print
//!   `module::function::item` (`module::function::{{closure}}::item`);
//! - every closure of one function prints `module::function::{{closure}}`, so a
//!   generic function instantiated with two closures (or with two same-named types
//!   of two blocks) gets one path.
//!
//! The same text gives the same default key *and* the same tag, so the tag does
//! not tell them apart either: the second computation is served the first's value.
//!
//! Every function here returns which computation produced it, and counts its runs.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use cachette::http::CacheLayer;
use cachette::{KeyContext, cached};
use support::memory;

// --- two anonymous const blocks ---------------------------------------------------------

struct FromA;
struct FromB;

static CONST_A_RUNS: AtomicUsize = AtomicUsize::new(0);
static CONST_B_RUNS: AtomicUsize = AtomicUsize::new(0);

const _: () = {
    #[cached(namespace = "anon")]
    async fn value(id: u32) -> String {
        CONST_A_RUNS.fetch_add(1, Ordering::SeqCst);
        format!("A{id}")
    }

    impl FromA {
        async fn get(id: u32) -> String {
            value(id).await
        }
    }
};

const _: () = {
    #[cached(namespace = "anon")]
    async fn value(id: u32) -> String {
        CONST_B_RUNS.fetch_add(1, Ordering::SeqCst);
        format!("B{id}")
    }

    impl FromB {
        async fn get(id: u32) -> String {
            value(id).await
        }
    }
};

// BREAKS promise 1 (function identity): two distinct functions, each in its own
// `const _` block of this module, print the same path (`red_team_identity::_::value`),
// so they get one default key and one tag. Observed: `FromB::get(1)` returns "A1"
// (block A's value) and block B's body never runs.
#[tokio::test]
async fn functions_of_two_anonymous_const_blocks_never_share_an_entry() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(FromA::get(1).await, "A1");
                assert_eq!(
                    FromB::get(1).await,
                    "B1",
                    "block B's function was served block A's entry"
                );
            }
        })
        .await;
    assert_eq!(
        (
            CONST_A_RUNS.load(Ordering::SeqCst),
            CONST_B_RUNS.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
}

// --- two blocks of one function -----------------------------------------------------------

static BLOCK_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Two same-named functions, each in its own block of one function body.
async fn two_blocks(id: u32) -> (String, String) {
    let first = {
        #[cached(namespace = "blocks")]
        async fn lookup(id: u32) -> String {
            BLOCK_RUNS.fetch_add(1, Ordering::SeqCst);
            format!("first {id}")
        }
        lookup(id).await
    };
    let second = {
        #[cached(namespace = "blocks")]
        async fn lookup(id: u32) -> String {
            BLOCK_RUNS.fetch_add(1, Ordering::SeqCst);
            format!("second {id}")
        }
        lookup(id).await
    };
    (first, second)
}

// BREAKS promise 1 ("nested functions, functions in blocks"): both `lookup`s print
// `red_team_identity::two_blocks::lookup`. Observed: the second block's function
// returns "first 7".
#[tokio::test]
async fn same_named_functions_of_two_blocks_never_share_an_entry() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(
                    two_blocks(7).await,
                    ("first 7".to_owned(), "second 7".to_owned()),
                    "the second block's function was served the first's entry"
                );
            }
        })
        .await;
    assert_eq!(BLOCK_RUNS.load(Ordering::SeqCst), 2);
}

// --- a generic function instantiated with two closures ----------------------------------

/// A computation chosen by type.
trait Formula {
    fn compute(x: u32) -> u32;
}

static FORMULA_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Keyed by `x` and by its type argument `F` (promise 1: generic arguments name the
/// computation).
#[cached(namespace = "formula")]
async fn apply<F: Formula>(x: u32) -> u32 {
    FORMULA_RUNS.fetch_add(1, Ordering::SeqCst);
    F::compute(x)
}

/// Two blocks of one function each declare a `struct Rule` with its own formula:
/// `type_name` prints both `red_team_identity::formulas::Rule`.
async fn formulas(x: u32) -> (u32, u32) {
    let doubled = {
        #[derive(Default)]
        struct Rule;
        impl Formula for Rule {
            fn compute(x: u32) -> u32 {
                x * 2
            }
        }
        apply::<Rule>(x).await
    };
    let squared = {
        #[derive(Default)]
        struct Rule;
        impl Formula for Rule {
            fn compute(x: u32) -> u32 {
                x * x
            }
        }
        apply::<Rule>(x).await
    };
    (doubled, squared)
}

// BREAKS promise 1 ("generic arguments"): `apply::<Rule>` of two blocks' `Rule`s
// prints `red_team_identity::apply<red_team_identity::formulas::Rule>` both times.
// Observed: the second instantiation returns 20 (10 * 2) instead of 100 (10 * 10).
#[tokio::test]
async fn a_generic_function_instantiated_with_two_same_named_types_never_shares_an_entry() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(
                    formulas(10).await,
                    (20, 100),
                    "apply::<second Rule> was served apply::<first Rule>'s entry"
                );
            }
        })
        .await;
}

// --- the same with closures (no user-declared types at all) -----------------------------

static CLOSURE_RUNS: AtomicUsize = AtomicUsize::new(0);

trait Op {
    fn run(&self, x: u32) -> u32;
}

impl<F: Fn(u32) -> u32> Op for F {
    fn run(&self, x: u32) -> u32 {
        self(x)
    }
}

/// `op` is a captureless closure: its *type* is the whole computation, and the
/// type is a generic argument, which the key covers. Skipping the value is what a
/// user must write (a closure is not `Serialize`); the key still holds `F`.
#[cached(namespace = "closure_op", skip(op))]
async fn with_op<F: Op + Send>(x: u32, op: F) -> u32 {
    CLOSURE_RUNS.fetch_add(1, Ordering::SeqCst);
    op.run(x)
}

// BREAKS promise 1 ("generic arguments"): every closure of this test prints
// `red_team_identity::..::{{closure}}`, so `with_op::<closure 1>` and
// `with_op::<closure 2>` share a path, a key and a tag. Observed: the second call
// returns 4 (3 + 1) instead of 30 (3 * 10).
#[tokio::test]
async fn a_generic_function_instantiated_with_two_closures_never_shares_an_entry() {
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(with_op(3, |x| x + 1).await, 4);
                assert_eq!(
                    with_op(3, |x| x * 10).await,
                    30,
                    "with_op::<second closure> was served with_op::<first closure>'s entry"
                );
            }
        })
        .await;
}

// --- key builders that collide on purpose: the tag must tell them apart (holds) ---------

fn same_key(cx: &KeyContext<'_>) -> String {
    format!("{}:fixed", cx.namespace())
}

mod left {
    use super::*;
    #[cached(namespace = "collide", key_builder = same_key)]
    pub(super) async fn thing() -> String {
        "left".to_owned()
    }
}

mod right {
    use super::*;
    #[cached(namespace = "collide", key_builder = same_key)]
    pub(super) async fn thing() -> String {
        "right".to_owned()
    }
}

// HOLDS (kept as coverage): two same-named functions of two modules whose key
// builder makes the very same key read only their own values (the tag differs),
// however often they overwrite each other.
#[tokio::test]
async fn same_named_functions_of_two_modules_with_one_key_read_only_their_own_values() {
    memory()
        .scope(async {
            for _ in 0..3 {
                assert_eq!(left::thing().await, "left");
                assert_eq!(right::thing().await, "right");
            }
        })
        .await;
}

// --- HTTP: two handlers of two const blocks, one path, two hosts ---------------------

const _: () = {
    #[cached(namespace = "pages")]
    pub(crate) async fn page() -> Html<&'static str> {
        Html("site A")
    }
    pub(crate) fn site_a() -> Router {
        Router::new().route("/", get(page))
    }
    impl FromA {
        fn router() -> Router {
            site_a()
        }
    }
};

const _: () = {
    #[cached(namespace = "pages")]
    pub(crate) async fn page() -> Html<&'static str> {
        Html("site B")
    }
    pub(crate) fn site_b() -> Router {
        Router::new().route("/", get(page))
    }
    impl FromB {
        fn router() -> Router {
            site_b()
        }
    }
};

// BREAKS promise 1 for HTTP ("HTTP responses too"): two handlers, each from its
// own `const _` block, served at `/` of two apps (two sites, one cache). HTTP keys
// name the handler by its bare name (`page`) and the tag is the same
// (`red_team_identity::_::page`). Observed: site B answers "site A" (a HIT).
#[tokio::test]
async fn handlers_of_two_anonymous_const_blocks_never_share_a_response() {
    let cache = memory();
    let a = FromA::router().layer(CacheLayer::with_cache(cache.clone()));
    let b = FromB::router().layer(CacheLayer::with_cache(cache.clone()));
    for _ in 0..2 {
        assert_eq!(support::http::get(&a, "/", &[]).await.text(), "site A");
        let answer = support::http::get(&b, "/", &[]).await;
        assert_eq!(
            answer.text(),
            "site B",
            "site B was served site A's response ({:?})",
            answer.cache()
        );
    }
}
