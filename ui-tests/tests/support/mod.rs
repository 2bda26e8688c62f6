//! The cases of the ui-tests, read from the folders: shared by `ui.rs`,
//! which runs them, and `readme.rs`, which counts their errors and keeps
//! README.md's table of them. Each test binary uses part of it.
#![allow(dead_code)]

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
