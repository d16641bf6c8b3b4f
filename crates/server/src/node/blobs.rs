//! Content-addressed files in the node's data folder: preserved evidence and moderators'
//! review copies, each named by its SHA-256, written durably. Used by preservation, scanning and
//! the console alike.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the blob with SHA-256 `hex` lives: `DATA/evidence/sha256/ab/cdef...`.
pub fn blob_path(data: &Path, hex: &str) -> PathBuf {
    data.join("evidence").join("sha256").join(&hex[..2]).join(&hex[2..])
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a moderator's copy of scanned content with SHA-256 `hex` lives while its match waits
/// for review: `DATA/review/sha256/ab/cdef...` (apart from evidence, which has its own
/// retention).
pub fn review_path(data: &Path, hex: &str) -> PathBuf {
    data.join("review").join("sha256").join(&hex[..2]).join(&hex[2..])
}

/// Writes `bytes` at `path` (named by their hash), durably (temporary file, fsync, rename); an
/// existing file is the same content and is left alone.
pub(crate) fn store_blob(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    let temp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
