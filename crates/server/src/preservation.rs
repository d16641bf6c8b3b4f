//! Preservation (TCO Art. 6): for every URL the platform blocked, fetch the content from the
//! platform's origin, keep it as a content-addressed blob in the data folder for six months, and
//! hash it (SHA-256, MD5, and PDQ for images) into the stay-down bank with the order as
//! provenance. Runs after the block, so that preservation never delays removal; picked up from
//! the database, so a crash only delays it; a failed fetch is tried again a few times.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};
use tocsin_model::{CanonicalUrl, Signal, SignalType};

use crate::State;
use crate::time::now_ms;

/// The most bytes preserved of one URL.
pub const MAX_CONTENT_BYTES: u64 = 64 * 1024 * 1024;

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

/// Redirects followed within the origin before giving up.
const MAX_REDIRECTS: usize = 5;

/// `scheme://host[:port]` of an absolute URL, as written (the origin is configured, not typed by
/// an outsider, so comparing its spelling is enough).
fn base_of(url: &str) -> Option<&str> {
    let rest = url.find("://").map(|i| i + 3)?;
    let end = url[rest..].find(['/', '?', '#']).map_or(url.len(), |i| rest + i);
    Some(&url[..end])
}

/// Where a redirect from the origin points, if it stays on the origin: a path, or an absolute
/// URL on the origin's own scheme, host and port. Anything else (another host, an internal
/// service, a scheme-relative `//host`) is refused: what is kept as evidence, and hashed into
/// the authority's bank, must be what the platform serves.
fn redirect_within(origin: &str, location: &str) -> Option<String> {
    let origin = origin.trim_end_matches('/');
    if location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\") {
        return Some(format!("{origin}{location}"));
    }
    let base = base_of(origin)?;
    (base_of(location)?.eq_ignore_ascii_case(base)).then(|| location.to_owned())
}

/// Fetches `url`'s path from the origin, naming the original host; follows redirects only
/// within the origin.
pub(crate) fn fetch(origin: &str, url: &CanonicalUrl) -> Result<(Vec<u8>, Option<String>), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).max_redirects(0).build().into();
    let mut target = format!("{}{}", origin.trim_end_matches('/'), url.path_and_query());
    for _ in 0..=MAX_REDIRECTS {
        let mut response = agent
            .get(&target)
            .header("X-Forwarded-Host", url.host())
            .header("X-Forwarded-Proto", url.scheme())
            .call()
            .map_err(|e| format!("GET {target}: {e}"))?;
        if response.status().is_redirection() {
            let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("");
            target = redirect_within(origin, location)
                .ok_or_else(|| format!("GET {target}: {} to {location:?}, outside the origin: not followed", response.status().as_u16()))?;
            continue;
        }
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = response.body_mut().with_config().limit(MAX_CONTENT_BYTES).read_to_vec().map_err(|e| format!("GET {target}: {e}"))?;
        return Ok((bytes, content_type));
    }
    Err(format!("GET {target}: more than {MAX_REDIRECTS} redirects"))
}

/// Fetches, stores and hashes one blocked URL: the evidence row to record.
fn preserve(data: &Path, origin: &str, block: &tocsin_store::Block) -> tocsin_store::Evidence {
    let fetched_at = now_ms() as i64;
    let mut evidence = tocsin_store::Evidence {
        order_id: block.order_id.clone(),
        url: block.url.clone(),
        status: "failed".to_owned(),
        sha256: None,
        md5: None,
        size: None,
        content_type: None,
        pdq: None,
        pdq_quality: None,
        fetched_at,
        retain_until: None,
        error: None,
    };
    let outcome = CanonicalUrl::parse(&block.url).map_err(|e| e.to_string()).and_then(|url| fetch(origin, &url));
    let (bytes, content_type) = match outcome {
        Ok(fetched) => fetched,
        Err(e) => {
            evidence.error = Some(e);
            return evidence;
        }
    };
    let sha256 = hex(&Sha256::digest(&bytes));
    if let Err(e) = store_blob(&blob_path(data, &sha256), &bytes) {
        evidence.error = Some(format!("keeping the content: {e}"));
        return evidence;
    }
    evidence.md5 = Some(hex(&Md5::digest(&bytes)));
    evidence.size = Some(bytes.len() as i64);
    evidence.content_type = content_type;
    // Anything that decodes as an image gets its PDQ hash, whatever the origin called it.
    let mut hasher = tocsin_hash::pdq::Hasher::new();
    if let Ok(image) = tocsin_hash::hash_bytes(&mut hasher, &bytes, &Default::default(), &Default::default()) {
        evidence.pdq = Some(image.pdq.hash.to_string());
        evidence.pdq_quality = Some(i64::from(image.pdq.quality.get()));
    }
    evidence.sha256 = Some(sha256);
    evidence.status = "preserved".to_owned();
    evidence.retain_until = Some(fetched_at + tocsin_store::RETENTION_MS);
    evidence
}

/// The message that gives the issuing authority the hashes of what was removed (for its own
/// stay-down bank, which it may share with other platforms): id, peer, URL and JWS, when the
/// content was preserved and the order came from a peer.
async fn removed_content_message(
    state: &Arc<State>,
    e: &tocsin_store::Evidence,
) -> Result<Option<(String, String, String, String)>, tocsin_store::StoreError> {
    if e.status != "preserved" {
        return Ok(None);
    }
    let Some((order, _)) = state.store.order(&e.order_id).await? else { return Ok(None) };
    let Some(peer) = state.store.peer_by_fingerprint(&order.peer).await? else { return Ok(None) };
    let mut signals = Vec::new();
    for (kind, value) in [(SignalType::Sha256, &e.sha256), (SignalType::Md5, &e.md5), (SignalType::Pdq, &e.pdq)] {
        if let Some(signal) = value.as_deref().and_then(|v| Signal::new(kind, v).ok()) {
            signals.push(signal);
        }
    }
    let body = crate::sharing::RemovedContentBody { order_id: e.order_id.clone(), url: e.url.clone(), signals };
    let Ok(id) = crate::new_id() else { return Ok(None) };
    let jws = crate::seal(state, tocsin_wire::Kind::RemovedContent, id, &peer.fingerprint, serde_json::to_value(&body).unwrap_or_default());
    Ok(Some((id.to_string(), peer.fingerprint, peer.url, jws)))
}

/// Runs until the process ends: preserves what is blocked and not yet preserved, then sleeps
/// until notified (or a minute).
pub async fn run_preserver(state: Arc<State>) {
    loop {
        if let Err(e) = preserve_waiting(&state).await {
            tracing::warn!(error = %e, "preserving content");
        }
        if let Err(e) = expire_old(&state).await {
            tracing::warn!(error = %e, "expiring preserved content");
        }
        // Failed fetches come due again within seconds; look again soon while any wait.
        let _ = tokio::time::timeout(Duration::from_secs(2), state.preserver.notified()).await;
    }
}

/// Deletes content whose six months are over (and nothing else still keeps), marking it
/// expired on the record: kept as long as the law asks, not longer.
async fn expire_old(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    for (order_id, url, sha256) in state.store.expired_evidence(now_ms() as i64).await? {
        let still_kept = state.store.expire_evidence(&order_id, &url, &sha256).await?;
        if !still_kept {
            let path = blob_path(&state.config.data, &sha256);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::error!(path = %path.display(), error = %e, "deleting expired content");
            }
        }
        tracing::info!(order = %order_id, %url, "preserved content expired");
    }
    Ok(())
}

async fn preserve_waiting(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    let Some(origin) = state.config.origin.clone() else { return Ok(()) };
    for block in state.store.blocks_to_preserve(now_ms() as i64).await? {
        let (data, origin) = (state.config.data.clone(), origin.clone());
        let evidence = match tokio::task::spawn_blocking(move || preserve(&data, &origin, &block)).await {
            Ok(evidence) => evidence,
            Err(e) => {
                tracing::error!(error = %e, "preservation task failed");
                continue;
            }
        };
        match &evidence.error {
            None => tracing::info!(order = %evidence.order_id, url = %evidence.url, "content preserved"),
            Some(error) => tracing::warn!(order = %evidence.order_id, url = %evidence.url, %error, "content not preserved"),
        }
        let tell = removed_content_message(state, &evidence).await?;
        let tell_ref = tell.as_ref().map(|(id, fp, url, jws)| (id.as_str(), fp.as_str(), url.as_str(), "removed_content", jws.as_str()));
        state.store.record_evidence(&evidence, tell_ref).await?;
        if tell.is_some() {
            state.outbox.notify_one();
        }
        // Its hashes are in the stay-down bank now: into the matcher at once.
        crate::banks::follow_now(state).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redirects_are_followed_within_the_origin_only() {
        let origin = "http://127.0.0.1:8090";
        assert_eq!(super::redirect_within(origin, "/v/1.jpg").as_deref(), Some("http://127.0.0.1:8090/v/1.jpg"));
        assert_eq!(super::redirect_within(origin, "http://127.0.0.1:8090/x").as_deref(), Some("http://127.0.0.1:8090/x"));
        for away in [
            "http://127.0.0.1:9000/admin",
            "//169.254.169.254/latest",
            "http://127.0.0.1:8090.evil.example/",
            "https://127.0.0.1:8090/x",
            "file:///etc/passwd",
            "",
            "x",
        ] {
            assert_eq!(super::redirect_within(origin, away), None, "{away}");
        }
    }
}
