//! trybuild: `tests/pass/*.rs` compile, `tests/ui/*.rs` fail with the messages in
//! `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`, then read every one).

#[test]
fn ui() {
    // trybuild compiles the cases in a crate of its own under the target directory; the
    // macros resolve `schema/` and relative paths from this crate's directory instead.
    // SAFETY: the only test of this binary, before any thread that reads the environment.
    unsafe { std::env::set_var("JOBPILOT_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR")) };
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
