//! Key injectivity, as a property: in one memory-mode cache, every call of every cached
//! function returns exactly its own function's value for its own arguments, whatever
//! was called before (issue 9, item 8).
//!
//! Each function returns a string naming the function and its arguments, so a call
//! served another computation's entry is a wrong value. The functions mix what could
//! collide: same-named functions in two modules, same-named methods of two types,
//! instantiations of one generic function (including arguments that render alike,
//! `5u8` and `5u64`), a destructuring pattern, a namespace containing `:`, and two
//! functions sharing one key builder in different namespaces. Arguments come from
//! small pools of awkward values (`:`, `%`, escapes already escaped, unicode, empty
//! strings, long strings that get hashed, nested options, negative numbers) mixed with
//! random ones, so that sequences repeat arguments and hit entries.
#![allow(missing_docs)]

use std::any::type_name;
use std::fmt::Debug;

use cachette::{Cache, Config, KeyContext, cached};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde::Serialize;

/// What a function called `name` returns for `args`.
fn value(name: &str, args: impl Debug) -> String {
    format!("{name}{args:?}")
}

mod first {
    use cachette::cached;

    #[cached(namespace = "inj")]
    pub(crate) async fn lookup(s: String) -> String {
        super::value("first::lookup", (s,))
    }
}

mod second {
    use cachette::cached;

    #[cached(namespace = "inj")]
    pub(crate) async fn lookup(s: String) -> String {
        super::value("second::lookup", (s,))
    }
}

#[cached(namespace = "inj")]
async fn numbers(a: i64, b: u8) -> String {
    value("numbers", (a, b))
}

#[cached(namespace = "inj")]
async fn texts(s: String, o: Option<Option<String>>) -> String {
    value("texts", (s, o))
}

/// A namespace that is another namespace plus a segment.
#[cached(namespace = "inj:texts")]
async fn texts_sub(s: String) -> String {
    value("texts_sub", (s,))
}

#[cached(namespace = "inj")]
async fn seq(v: Vec<i32>, flag: bool) -> String {
    value("seq", (v, flag))
}

#[cached(namespace = "inj")]
async fn pair((s, n): (String, i64)) -> String {
    value("pair", (s, n))
}

#[cached(namespace = "inj")]
async fn nothing() -> String {
    value("nothing", ())
}

struct UserRepo;
struct OrderRepo;

impl UserRepo {
    #[cached(namespace = "inj", skip(self))]
    async fn find(&self, s: String) -> String {
        value("UserRepo::find", (s,))
    }
}

impl OrderRepo {
    #[cached(namespace = "inj", skip(self))]
    async fn find(&self, s: String) -> String {
        value("OrderRepo::find", (s,))
    }
}

trait Named {
    const NAME: &'static str;
}

struct A;
struct B;

impl Named for A {
    const NAME: &'static str = "A";
}

impl Named for B {
    const NAME: &'static str = "B";
}

#[cached(namespace = "inj")]
async fn generic<T: Named>(x: i64) -> String {
    value(&format!("generic::<{}>", T::NAME), (x,))
}

#[cached(namespace = "inj")]
async fn echo<T: Serialize + Debug + Send>(v: T) -> String {
    value(&format!("echo::<{}>", type_name::<T>()), (v,))
}

/// One key builder for two functions: the namespace tells them apart.
fn by_args(cx: &KeyContext<'_>) -> String {
    format!("{}:{}", cx.namespace(), cx.args())
}

#[cached(namespace = "kb_one", key_builder = by_args)]
async fn kb_one(s: String) -> String {
    value("kb_one", (s,))
}

#[cached(namespace = "kb_two", key_builder = by_args)]
async fn kb_two(s: String) -> String {
    value("kb_two", (s,))
}

/// One call of one function.
#[derive(Debug, Clone)]
enum Call {
    FirstLookup(String),
    SecondLookup(String),
    Numbers(i64, u8),
    Texts(String, Option<Option<String>>),
    TextsSub(String),
    Seq(Vec<i32>, bool),
    Pair(String, i64),
    Nothing,
    UserFind(String),
    OrderFind(String),
    GenericA(i64),
    GenericB(i64),
    EchoU8(u8),
    EchoU64(u64),
    EchoOption(Option<u8>),
    EchoString(String),
    KbOne(String),
    KbTwo(String),
}

impl Call {
    /// What the call must return.
    fn expected(&self) -> String {
        match self.clone() {
            Call::FirstLookup(s) => value("first::lookup", (s,)),
            Call::SecondLookup(s) => value("second::lookup", (s,)),
            Call::Numbers(a, b) => value("numbers", (a, b)),
            Call::Texts(s, o) => value("texts", (s, o)),
            Call::TextsSub(s) => value("texts_sub", (s,)),
            Call::Seq(v, flag) => value("seq", (v, flag)),
            Call::Pair(s, n) => value("pair", (s, n)),
            Call::Nothing => value("nothing", ()),
            Call::UserFind(s) => value("UserRepo::find", (s,)),
            Call::OrderFind(s) => value("OrderRepo::find", (s,)),
            Call::GenericA(x) => value("generic::<A>", (x,)),
            Call::GenericB(x) => value("generic::<B>", (x,)),
            Call::EchoU8(v) => value(&format!("echo::<{}>", type_name::<u8>()), (v,)),
            Call::EchoU64(v) => value(&format!("echo::<{}>", type_name::<u64>()), (v,)),
            Call::EchoOption(v) => value(&format!("echo::<{}>", type_name::<Option<u8>>()), (v,)),
            Call::EchoString(v) => value(&format!("echo::<{}>", type_name::<String>()), (v,)),
            Call::KbOne(s) => value("kb_one", (s,)),
            Call::KbTwo(s) => value("kb_two", (s,)),
        }
    }

    /// Makes the call.
    async fn run(self) -> String {
        match self {
            Call::FirstLookup(s) => first::lookup(s).await,
            Call::SecondLookup(s) => second::lookup(s).await,
            Call::Numbers(a, b) => numbers(a, b).await,
            Call::Texts(s, o) => texts(s, o).await,
            Call::TextsSub(s) => texts_sub(s).await,
            Call::Seq(v, flag) => seq(v, flag).await,
            Call::Pair(s, n) => pair((s, n)).await,
            Call::Nothing => nothing().await,
            Call::UserFind(s) => UserRepo.find(s).await,
            Call::OrderFind(s) => OrderRepo.find(s).await,
            Call::GenericA(x) => generic::<A>(x).await,
            Call::GenericB(x) => generic::<B>(x).await,
            Call::EchoU8(v) => echo(v).await,
            Call::EchoU64(v) => echo(v).await,
            Call::EchoOption(v) => echo(v).await,
            Call::EchoString(v) => echo(v).await,
            Call::KbOne(s) => kb_one(s).await,
            Call::KbTwo(s) => kb_two(s).await,
        }
    }
}

/// Awkward strings, often; random ones otherwise.
fn text() -> impl Strategy<Value = String> {
    let awkward: Vec<String> = vec![
        String::new(),
        ":".into(),
        "a:b".into(),
        "a%3Ab".into(),
        "%".into(),
        "%25".into(),
        "~".into(),
        "!~".into(),
        "''".into(),
        "5".into(),
        "-5".into(),
        "(a,b)".into(),
        "[1,2]".into(),
        "{a=1}".into(),
        "é".into(),
        "😀 x".into(),
        "x".repeat(200),
        format!("{}y", "x".repeat(199)),
    ];
    prop_oneof![3 => select(awkward), 1 => any::<String>()]
}

/// Small numbers, often (so that calls repeat); any number otherwise.
fn number() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -3i64..=5, 1 => any::<i64>()]
}

fn small_u8() -> impl Strategy<Value = u8> {
    prop_oneof![3 => 0u8..=5, 1 => any::<u8>()]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        text().prop_map(Call::FirstLookup),
        text().prop_map(Call::SecondLookup),
        (number(), small_u8()).prop_map(|(a, b)| Call::Numbers(a, b)),
        (text(), proptest::option::of(proptest::option::of(text())))
            .prop_map(|(s, o)| Call::Texts(s, o)),
        text().prop_map(Call::TextsSub),
        (proptest::collection::vec(-2i32..=2, 0..3), any::<bool>())
            .prop_map(|(v, flag)| Call::Seq(v, flag)),
        (text(), number()).prop_map(|(s, n)| Call::Pair(s, n)),
        Just(Call::Nothing),
        text().prop_map(Call::UserFind),
        text().prop_map(Call::OrderFind),
        number().prop_map(Call::GenericA),
        number().prop_map(Call::GenericB),
        small_u8().prop_map(Call::EchoU8),
        small_u8().prop_map(|v| Call::EchoU64(v.into())),
        proptest::option::of(small_u8()).prop_map(Call::EchoOption),
        text().prop_map(Call::EchoString),
        text().prop_map(Call::KbOne),
        text().prop_map(Call::KbTwo),
    ]
}

// issue 9, item 8: two computations (methods of two types, generic instantiations) got
// one key, so a call was served another computation's value.
#[test]
fn every_call_returns_its_own_functions_value_for_its_own_arguments() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(call(), 1..80), |calls| {
        let cache = Cache::in_memory(Config::memory());
        runtime.block_on(cache.scope(async {
            for call in calls {
                let expected = call.expected();
                let got = call.clone().run().await;
                prop_assert_eq!(&got, &expected, "{:?} was served another entry", call);
            }
            Ok::<(), TestCaseError>(())
        }))
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
