//! Runs the real `tocsin` binary and finds the reference data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/data/pdq` at the workspace root.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq")
}

/// The outcome of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tocsin ARGS` in `dir`.
pub fn tocsin_in(dir: &Path, args: &[&str]) -> Run {
    let Output { status, stdout, stderr } =
        Command::new(env!("CARGO_BIN_EXE_tocsin")).args(args).current_dir(dir).output().expect("tocsin runs");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    }
}

/// The expected `(hash, quality)` of a reference image, from `pdqhash-0.2.8-fullsize.csv`.
pub fn expected(relative: &str) -> (String, String) {
    let csv = std::fs::read_to_string(data_dir().join("expected/pdqhash-0.2.8-fullsize.csv")).expect("csv");
    let row = csv.lines().find(|l| l.starts_with(&format!("{relative},"))).unwrap_or_else(|| panic!("{relative} not in csv"));
    let f: Vec<&str> = row.split(',').collect();
    (f[4].to_owned(), f[5].to_owned())
}
