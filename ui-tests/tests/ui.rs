//! Every folder but `pass/` holds programs that must not compile, each with
//! the reviewed compiler output next to it (`.stderr`); `pass/` holds
//! programs that must. Folders are found, not listed, so a new failure
//! class runs as soon as it exists. Regenerate the output of one folder
//! with `TRYBUILD=overwrite cargo test -p orm-ui-tests --test ui -- ui
//! trybuild=<folder>/` and read every line. See README.md.

mod support;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for class in support::compile_fail_folders() {
        t.compile_fail(format!("{class}/*.rs"));
    }
    t.pass(format!("{}/*.rs", support::PASS));
}
