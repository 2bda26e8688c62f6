//! Guards of the ui-tests themselves, fast (nothing is compiled):
//!
//! - every compile-fail case prints exactly one error. trybuild already
//!   checks that each `.stderr` is the compiler's output, so counting the
//!   errors in the `.stderr` counts what the user sees;
//! - no `.stderr` is left without its case;
//! - README.md's table lists every case with its guarantee and error
//!   count. `UPDATE_UI_README=1 cargo test -p orm-ui-tests --test readme`
//!   rewrites it from the files.

mod support;

use std::fmt::Write as _;
use std::fs;

/// The variable that makes `readme_table_is_current` rewrite the table.
const UPDATE: &str = "UPDATE_UI_README";

/// The lines around the generated part of README.md.
const BEGIN: &str =
    "<!-- cases: generated from the files by tests/readme.rs; do not edit by hand -->";
const END: &str = "<!-- end of cases -->";

/// A case that must not compile prints one error, never a cascade: more
/// than one means the mistake is reported twice or drags others along.
#[test]
fn every_case_prints_one_error() {
    let mut faults = Vec::new();
    for case in support::cases().iter().filter(|c| !c.passes) {
        match &case.stderr {
            None => faults.push(format!(
                "{} has no {}: run it with TRYBUILD=overwrite and review the output",
                case.file,
                case.stderr_file()
            )),
            Some(_) if case.errors() != 1 => faults.push(format!(
                "{} holds {} errors; a case holds one mistake and prints one error",
                case.stderr_file(),
                case.errors()
            )),
            Some(_) => {}
        }
    }
    assert!(
        faults.is_empty(),
        "{} ui-test case(s) do not print exactly one error:\n  {}",
        faults.len(),
        faults.join("\n  ")
    );
}

/// Every `.stderr` belongs to a case: one left behind by a renamed or
/// split case is reviewed output that nothing checks any more.
#[test]
fn every_output_has_its_case() {
    let orphans = support::orphan_outputs();
    assert!(
        orphans.is_empty(),
        "these .stderr files have no case next to them (a case renamed or removed?); delete them:\n  {}",
        orphans.join("\n  ")
    );
}

/// README.md's table is the one the files give; with `UPDATE_UI_README=1`
/// it is rewritten instead.
#[test]
fn readme_table_is_current() {
    let path = support::root().join("README.md");
    let readme = fs::read_to_string(&path).expect("ui-tests/README.md is readable");
    let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("ui-tests/README.md lacks the lines `{BEGIN}` and `{END}` around the table");
    };
    let current = &readme[begin + BEGIN.len()..end];
    let table = table(&support::cases());
    if current == table {
        return;
    }
    if std::env::var_os(UPDATE).is_some_and(|v| v == "1") {
        let updated = format!("{}{BEGIN}{table}{}", &readme[..begin], &readme[end..]);
        fs::write(&path, updated).expect("ui-tests/README.md is writable");
        return;
    }
    panic!(
        "ui-tests/README.md's table of cases is out of date; regenerate it with \
         `{UPDATE}=1 cargo test -p orm-ui-tests --test readme` and commit it"
    );
}

/// The generated part of README.md: a summary line and one row per case.
fn table(cases: &[support::Case]) -> String {
    let failing: Vec<_> = cases.iter().filter(|c| !c.passes).collect();
    let one = failing.iter().filter(|c| c.errors() == 1).count();
    let passing = cases.len() - failing.len();
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} compile-fail cases, {one} of them printing exactly one error; {passing} compile-pass programs.",
        failing.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| guarantee | case | errors |");
    let _ = writeln!(out, "|---|---|---|");
    for case in cases {
        let errors = if case.passes {
            "0 (compiles)".to_owned()
        } else if case.stderr.is_none() {
            "no .stderr yet".to_owned()
        } else {
            case.errors().to_string()
        };
        let _ = writeln!(
            out,
            "| {} | [{}]({}) | {errors} |",
            case.guarantee.replace('|', "\\|"),
            case.file,
            case.file
        );
    }
    out
}
