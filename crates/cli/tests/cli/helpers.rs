//! Runs the real `tocsin` binary and finds the reference data.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `tests/data/pdq` at the workspace root.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq")
}

/// The outcome of one run.
pub struct Run {
    pub code: i32,
    /// Standard output, with any bytes that are not UTF-8 replaced.
    pub stdout: String,
    /// Standard output as written.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

/// Runs `tocsin ARGS` in `dir`; a run that takes over a minute is killed and fails the test.
pub fn tocsin_in(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tocsin starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    // Read the pipes on their own threads so a chatty run cannot fill them and stall.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tocsin {args:?} still running after a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().expect("reader").expect("stdout");
    let stderr = err.join().expect("reader").expect("stderr");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stdout_bytes: stdout,
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
