//! Which computation a key names: a key covers the `Self` type and the trait of a
//! method and the generic arguments of a function, so two computations that share a
//! name never share an entry (issue 9, items 1 and 2).
//!
//! Every function here returns a value that tells which computation produced it, and
//! counts its runs: a wrong value means two computations shared an entry; a run
//! count above one per computation means the fix stopped caching instead.
#![allow(missing_docs)]

mod support;

use std::any::type_name;
use std::marker::PhantomData;

use cachette::cached;
use serde::Serialize;
// `Counter` is taken: a trait of this file names the computations under test.
use support::counter::Counter as Runs;
use support::memory;

// --- methods of two types with the same name ------------------------------------------

#[derive(Default)]
struct UserRepo {
    runs: Runs,
}

#[derive(Default)]
struct OrderRepo {
    runs: Runs,
}

impl UserRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        self.runs.tick();
        3
    }
}

impl OrderRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        self.runs.tick();
        7
    }
}

// issue 9, item 1: same-named inherent methods of two types shared one entry.
#[tokio::test]
async fn same_named_methods_of_two_types_never_share_an_entry() {
    let users = UserRepo::default();
    let orders = OrderRepo::default();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(users.count().await, 3, "UserRepo::count");
                assert_eq!(
                    orders.count().await,
                    7,
                    "OrderRepo::count was served UserRepo::count's entry"
                );
            }
        })
        .await;
    assert_eq!(
        (users.runs.count(), orders.runs.count()),
        (1, 1),
        "each method is computed once, then hit"
    );
}

// --- a trait's default method, used by two impls --------------------------------------

trait Labelled {
    fn label(&self) -> &'static str;
    fn runs(&self) -> &Runs;

    #[cached(namespace = "describe", skip(self))]
    async fn describe(&self, n: u32) -> String {
        self.runs().tick();
        format!("{} #{n}", self.label())
    }
}

impl Labelled for UserRepo {
    fn label(&self) -> &'static str {
        "user"
    }
    fn runs(&self) -> &Runs {
        &self.runs
    }
}

impl Labelled for OrderRepo {
    fn label(&self) -> &'static str {
        "order"
    }
    fn runs(&self) -> &Runs {
        &self.runs
    }
}

// issue 9, item 1: a trait's default method shared one entry between its impls.
#[tokio::test]
async fn a_default_trait_method_is_keyed_by_its_self_type() {
    let users = UserRepo::default();
    let orders = OrderRepo::default();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(users.describe(1).await, "user #1");
                assert_eq!(
                    orders.describe(1).await,
                    "order #1",
                    "OrderRepo was served UserRepo's describe(1)"
                );
            }
        })
        .await;
    assert_eq!((users.runs.count(), orders.runs.count()), (1, 1));
}

/// Two traits with a default method of the same name, both implemented by one type.
trait Audited {
    fn audit_runs(&self) -> &Runs;

    #[cached(namespace = "summary", skip(self))]
    async fn summary(&self) -> String {
        self.audit_runs().tick();
        "audited".to_owned()
    }
}

trait Billed {
    fn billing_runs(&self) -> &Runs;

    #[cached(namespace = "summary", skip(self))]
    async fn summary(&self) -> String {
        self.billing_runs().tick();
        "billed".to_owned()
    }
}

#[derive(Default)]
struct Account {
    audit: Runs,
    billing: Runs,
}

impl Audited for Account {
    fn audit_runs(&self) -> &Runs {
        &self.audit
    }
}

impl Billed for Account {
    fn billing_runs(&self) -> &Runs {
        &self.billing
    }
}

// issue 9, item 1: two traits' same-named default methods on one type shared one entry.
#[tokio::test]
async fn same_named_default_methods_of_two_traits_never_share_an_entry() {
    let account = Account::default();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(Audited::summary(&account).await, "audited");
                assert_eq!(
                    Billed::summary(&account).await,
                    "billed",
                    "Billed::summary was served Audited::summary's entry"
                );
            }
        })
        .await;
    assert_eq!((account.audit.count(), account.billing.count()), (1, 1));
}

// --- one trait method, implemented by two types (and an inherent method of that name) --

trait Counter {
    async fn count(&self) -> u64;
}

impl Counter for UserRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        self.runs.tick();
        30
    }
}

impl Counter for OrderRepo {
    #[cached(namespace = "count", skip(self))]
    async fn count(&self) -> u64 {
        self.runs.tick();
        70
    }
}

// issue 9, item 1: two impls of one trait method (and the inherent method of the same
// name) shared one entry.
#[tokio::test]
async fn trait_impls_of_one_method_never_share_an_entry() {
    let users = UserRepo::default();
    let orders = OrderRepo::default();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(<UserRepo as Counter>::count(&users).await, 30);
                assert_eq!(
                    <OrderRepo as Counter>::count(&orders).await,
                    70,
                    "<OrderRepo as Counter>::count was served UserRepo's entry"
                );
                assert_eq!(
                    UserRepo::count(&users).await,
                    3,
                    "the inherent UserRepo::count was served the trait method's entry"
                );
            }
        })
        .await;
    assert_eq!((users.runs.count(), orders.runs.count()), (2, 1));
}

// --- generic functions and methods -----------------------------------------------------

trait Table {
    const ROWS: u64;
    fn runs() -> &'static Runs;
}

struct Users;
struct Orders;

static USERS_RUNS: Runs = Runs::new();
static ORDERS_RUNS: Runs = Runs::new();

impl Table for Users {
    const ROWS: u64 = 100;
    fn runs() -> &'static Runs {
        &USERS_RUNS
    }
}

impl Table for Orders {
    const ROWS: u64 = 200;
    fn runs() -> &'static Runs {
        &ORDERS_RUNS
    }
}

#[cached(namespace = "rows")]
async fn row_count<T: Table>() -> u64 {
    T::runs().tick();
    T::ROWS
}

// issue 9, item 2: `row_count::<Users>()` and `row_count::<Orders>()` shared one entry.
#[tokio::test]
async fn a_generic_function_is_keyed_by_its_type_arguments() {
    let before = (USERS_RUNS.count(), ORDERS_RUNS.count());
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(row_count::<Users>().await, 100);
                assert_eq!(
                    row_count::<Orders>().await,
                    200,
                    "row_count::<Orders> was served row_count::<Users>'s entry"
                );
            }
        })
        .await;
    assert_eq!(
        (
            USERS_RUNS.count() - before.0,
            ORDERS_RUNS.count() - before.1
        ),
        (1, 1)
    );
}

struct Repo<T> {
    runs: Runs,
    table: PhantomData<fn() -> T>,
}

impl<T> Repo<T> {
    fn new() -> Self {
        Repo {
            runs: Runs::default(),
            table: PhantomData,
        }
    }
}

impl<T: Table> Repo<T> {
    #[cached(namespace = "repo_rows", skip(self))]
    async fn rows(&self, offset: u64) -> u64 {
        self.runs.tick();
        T::ROWS + offset
    }
}

// issue 9, item 2: a method of `impl<T> Repo<T>` shared one entry between `Repo<A>`
// and `Repo<B>`.
#[tokio::test]
async fn a_method_of_a_generic_type_is_keyed_by_its_type_arguments() {
    let users = Repo::<Users>::new();
    let orders = Repo::<Orders>::new();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(users.rows(1).await, 101);
                assert_eq!(
                    orders.rows(1).await,
                    201,
                    "Repo<Orders>::rows was served Repo<Users>::rows's entry"
                );
            }
        })
        .await;
    assert_eq!((users.runs.count(), orders.runs.count()), (1, 1));
}

static ECHO_RUNS: Runs = Runs::new();

/// Returns the type it was instantiated with: `5u8` and `5u64` render alike in a key
/// (`5`), only the type argument tells them apart.
#[cached(namespace = "echo_type")]
async fn echo_type<T: Serialize + Send>(value: T) -> String {
    ECHO_RUNS.tick();
    let _ = value;
    type_name::<T>().to_owned()
}

fn type_of<T>(_: &T) -> String {
    type_name::<T>().to_owned()
}

static IMPL_RUNS: Runs = Runs::new();

/// The same with an anonymous type parameter (`impl Trait` in argument position).
#[cached(namespace = "impl_type")]
async fn impl_type(value: impl Serialize + Send) -> String {
    IMPL_RUNS.tick();
    type_of(&value)
}

// issue 9, item 2: instantiations whose arguments render alike (`5u8`, `5u64`, `Some(5)`)
// shared one entry.
#[tokio::test]
async fn instantiations_whose_arguments_render_alike_never_share_an_entry() {
    let before = (ECHO_RUNS.count(), IMPL_RUNS.count());
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(echo_type(5u8).await, "u8");
                assert_eq!(echo_type(5u64).await, "u64", "u64 was served u8's entry");
                assert_eq!(
                    echo_type(Some(5i32)).await,
                    type_name::<Option<i32>>(),
                    "Option<i32> was served u8's entry"
                );
                assert_eq!(impl_type(5u8).await, "u8");
                assert_eq!(impl_type(5u64).await, "u64", "u64 was served u8's entry");
            }
        })
        .await;
    assert_eq!(
        (ECHO_RUNS.count() - before.0, IMPL_RUNS.count() - before.1),
        (3, 2)
    );
}

static CHUNK_RUNS: Runs = Runs::new();

#[cached(namespace = "chunk")]
async fn chunk_size<const N: usize>() -> usize {
    CHUNK_RUNS.tick();
    N
}

// issue 9, item 2: const generic arguments are generic arguments too.
#[tokio::test]
async fn a_const_generic_function_is_keyed_by_its_const_arguments() {
    let before = CHUNK_RUNS.count();
    memory()
        .scope(async {
            for _ in 0..2 {
                assert_eq!(chunk_size::<16>().await, 16);
                assert_eq!(
                    chunk_size::<32>().await,
                    32,
                    "chunk_size::<32> was served chunk_size::<16>'s entry"
                );
            }
        })
        .await;
    assert_eq!(CHUNK_RUNS.count() - before, 2);
}
