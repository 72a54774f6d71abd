//! The attribute's compile errors (`ui/fail`: one mistake per file, named for it,
//! with the expected message in the `.stderr` beside it) and what must compile
//! (`ui/pass`).
#![allow(missing_docs)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
