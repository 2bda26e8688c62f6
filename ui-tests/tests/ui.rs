//! Every folder but `pass/` holds programs that must not compile, each with
//! the reviewed compiler output next to it (`.stderr`). Regenerate with
//! `TRYBUILD=overwrite cargo test -p orm-ui-tests` and read every line.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for class in [
        "type-mismatch",
        "wrong-model",
        "unknown-attribute",
        "duplicate-attribute",
        "conflicting-attribute",
        "primary-key",
        "unsupported-type",
        "shape",
        "read-only",
        "connection",
        "relations",
        "locks",
        "decimal-size",
        "queries",
        "default-value",
        "upsert",
        "cache",
    ] {
        t.compile_fail(format!("{class}/*.rs"));
    }
    t.pass("pass/*.rs");
}
