//! Every folder but `pass/` holds programs that must not compile, each with
//! the reviewed compiler output next to it (`.stderr`); `pass/` holds
//! programs that must. Folders are found, not listed, so a new failure
//! class runs as soon as it exists. Regenerate the output of one folder
//! with `TRYBUILD=overwrite cargo test -p orm-ui-tests --test ui -- ui
//! trybuild=<folder>/` and read every line. See README.md.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for class in support::compile_fail_folders() {
        t.compile_fail(format!("{class}/*.rs"));
    }
    t.pass(format!("{}/*.rs", support::PASS));
}

/// The cases of the ui-tests, read from the folders: shared by [`ui`],
/// which runs them, and [`readme`], which counts their errors and keeps
/// README.md's table of them (one file, so that no helper file sits among
/// the cases).
mod support {
    use std::fs;
    use std::path::{Path, PathBuf};

    /// The folder of compile-pass programs; every other folder holds
    /// compile-fail cases.
    pub const PASS: &str = "pass";

    /// Folders under `ui-tests/` that hold no cases.
    const NOT_CASES: &[&str] = &["tests", "target", "wip"];

    /// `ui-tests/`.
    pub fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The folders of cases, by name, sorted: one per failure class, and `pass`.
    pub fn folders() -> Vec<String> {
        let mut folders: Vec<String> = fs::read_dir(root())
            .expect("ui-tests/ is readable")
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let name = entry.file_name().into_string().ok()?;
                let is_cases = entry.file_type().ok()?.is_dir()
                    && !name.starts_with('.')
                    && !NOT_CASES.contains(&name.as_str());
                is_cases.then_some(name)
            })
            .collect();
        folders.sort();
        folders
    }

    /// The folders of compile-fail cases.
    pub fn compile_fail_folders() -> Vec<String> {
        folders().into_iter().filter(|f| f != PASS).collect()
    }

    /// One case: a program in one of the folders.
    pub struct Case {
        /// Relative to `ui-tests/`, with `/`: `shape/enum.rs`.
        pub file: String,
        /// Whether the program must compile (it is in `pass/`).
        pub passes: bool,
        /// The guarantee in words: the comment the file opens with, else its
        /// name in words.
        pub guarantee: String,
        /// The reviewed compiler output next to a compile-fail case, if any.
        pub stderr: Option<String>,
    }

    impl Case {
        /// The `.stderr` file's path, relative to `ui-tests/`.
        pub fn stderr_file(&self) -> String {
            format!("{}.stderr", self.file.trim_end_matches(".rs"))
        }

        /// The errors the case prints: lines of its `.stderr` that start an
        /// error (`error:` or `error[E0277]:`). rustc's `note:`, `help:` and
        /// warnings are not errors, and trybuild leaves out the final
        /// "aborting due to" line. 0 for a program that compiles.
        pub fn errors(&self) -> usize {
            self.stderr.as_deref().map_or(0, count_errors)
        }
    }

    /// Lines of compiler output that start an error.
    pub fn count_errors(stderr: &str) -> usize {
        stderr
            .lines()
            .filter(|line| line.starts_with("error:") || line.starts_with("error["))
            .count()
    }

    /// Every case, sorted by folder, then file name.
    pub fn cases() -> Vec<Case> {
        let root = root();
        let mut cases = Vec::new();
        for folder in folders() {
            let mut files: Vec<PathBuf> = fs::read_dir(root.join(&folder))
                .expect("a folder of cases is readable")
                .filter_map(|entry| Some(entry.ok()?.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "rs"))
                .collect();
            files.sort();
            for path in files {
                let source = fs::read_to_string(&path).expect("a case is readable");
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let passes = folder == PASS;
                let stderr = if passes {
                    None
                } else {
                    fs::read_to_string(path.with_extension("stderr")).ok()
                };
                cases.push(Case {
                    file: format!("{folder}/{name}"),
                    passes,
                    guarantee: guarantee(&source, &path),
                    stderr,
                });
            }
        }
        cases
    }

    /// The comment a case opens with (`//` or `//!` lines, joined), else the
    /// file name in words: `auto-on-string.rs` -> "Auto on string.".
    fn guarantee(source: &str, path: &Path) -> String {
        let comment: Vec<&str> = source
            .lines()
            .map_while(|line| {
                let line = line.trim();
                let text = line
                    .strip_prefix("//!")
                    .or_else(|| line.strip_prefix("//"))?;
                Some(text.trim())
            })
            .filter(|text| !text.is_empty())
            .collect();
        if !comment.is_empty() {
            return comment.join(" ");
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let mut words = stem.replace('-', " ");
        if let Some(first) = words.get(..1) {
            words.replace_range(..1, &first.to_uppercase());
        }
        format!("{words}.")
    }

    /// `.stderr` files with no case next to them (left behind by a rename), and
    /// any in `pass/`, relative to `ui-tests/`.
    pub fn orphan_outputs() -> Vec<String> {
        let root = root();
        let mut orphans = Vec::new();
        for folder in folders() {
            let Ok(entries) = fs::read_dir(root.join(&folder)) else {
                continue;
            };
            for path in entries.filter_map(|entry| Some(entry.ok()?.path())) {
                let is_output = path.extension().is_some_and(|e| e == "stderr");
                if is_output && (folder == PASS || !path.with_extension("rs").exists()) {
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    orphans.push(format!("{folder}/{name}"));
                }
            }
        }
        orphans.sort();
        orphans
    }
}

/// Guards of the ui-tests themselves, fast (nothing is compiled):
///
/// - every compile-fail case prints exactly one error. trybuild already
///   checks that each `.stderr` is the compiler's output, so counting the
///   errors in the `.stderr` counts what the user sees;
/// - no `.stderr` is left without its case;
/// - README.md's table lists every case with its guarantee and error
///   count. `UPDATE_UI_README=1 cargo test -p orm-ui-tests --test ui -- readme`
///   rewrites it from the files.
mod readme {
    use std::fmt::Write as _;
    use std::fs;

    /// The variable that makes `readme_table_is_current` rewrite the table.
    const UPDATE: &str = "UPDATE_UI_README";

    /// The lines around the generated part of README.md.
    const BEGIN: &str =
        "<!-- cases: generated from the files by tests/ui.rs; do not edit by hand -->";
    const END: &str = "<!-- end of cases -->";

    /// A case that must not compile prints one error, never a cascade: more
    /// than one means the mistake is reported twice or drags others along.
    #[test]
    fn every_case_prints_one_error() {
        let mut faults = Vec::new();
        for case in super::support::cases().iter().filter(|c| !c.passes) {
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
        let orphans = super::support::orphan_outputs();
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
        let path = super::support::root().join("README.md");
        let readme = fs::read_to_string(&path).expect("ui-tests/README.md is readable");
        let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
            panic!("ui-tests/README.md lacks the lines `{BEGIN}` and `{END}` around the table");
        };
        let current = &readme[begin + BEGIN.len()..end];
        let table = table(&super::support::cases());
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
             `{UPDATE}=1 cargo test -p orm-ui-tests --test ui -- readme` and commit it"
        );
    }

    /// The generated part of README.md: a summary line and one row per case.
    fn table(cases: &[super::support::Case]) -> String {
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
}
