//! Loaders for the reference data in `tests/data/pdq` (Meta's images and the expected outputs).

use std::path::PathBuf;

use tocsin_hash::pdq::{Hasher, PdqHash};
use tocsin_hash::{DecodeOptions, HashOptions, ImageHash, hash_bytes};

/// `tests/data/pdq` at the workspace root.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq")
}

/// Reads a file below `tests/data/pdq`.
pub fn read(relative: &str) -> Vec<u8> {
    let path = data_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows of a CSV file below `expected/`, header dropped, split on commas.
pub fn csv(name: &str) -> Vec<Vec<String>> {
    let text = String::from_utf8(read(&format!("expected/{name}"))).expect("utf-8");
    text.lines().skip(1).filter(|l| !l.is_empty()).map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

/// Parses a 64-hex-digit hash from the expected files.
pub fn hash(text: &str) -> PdqHash {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Decodes and hashes one reference image with default options.
pub fn hash_file(relative: &str, dihedral: bool) -> ImageHash {
    hash_bytes(&mut Hasher::new(), &read(relative), &DecodeOptions::default(), &HashOptions { dihedral, ..HashOptions::default() })
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}
