//! Preservation (TCO Art. 6): for every URL the platform blocked, stream the content from the
//! platform's origin into a content-addressed blob in the data folder, kept six calendar months
//! from the removal or for as long as the issuing authority asks, and hash it (SHA-256, MD5, and
//! PDQ for images) into the stay-down bank with the order as provenance. Runs after the block,
//! so that preservation never delays removal; picked up from the database, so a crash only
//! delays it; a failed fetch is tried again for two days, and the escalation webhook hears when
//! it keeps failing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};
use tocsin_model::{CanonicalUrl, Signal, SignalType};

use crate::State;
use crate::node::blobs::{blob_path, hex};
use crate::node::time::now_ms;

/// The most bytes a moderator's preview fetches from the origin (preservation has no limit).
pub const MAX_CONTENT_BYTES: u64 = 64 * 1024 * 1024;

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

/// Asks the origin for `url`'s path, naming the original host, and follows redirects only
/// within the origin: the final response.
fn ask_origin(agent: &ureq::Agent, origin: &str, url: &CanonicalUrl) -> Result<(String, ureq::http::Response<ureq::Body>), String> {
    let mut target = format!("{}{}", origin.trim_end_matches('/'), url.path_and_query());
    for _ in 0..=MAX_REDIRECTS {
        let response = agent
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
        return Ok((target, response));
    }
    Err(format!("GET {target}: more than {MAX_REDIRECTS} redirects"))
}

fn content_type(response: &ureq::http::Response<ureq::Body>) -> Option<String> {
    response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Fetches `url`'s path from the origin into memory, at most [`MAX_CONTENT_BYTES`] (a
/// moderator's preview).
pub(crate) fn fetch(origin: &str, url: &CanonicalUrl) -> Result<(Vec<u8>, Option<String>), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).max_redirects(0).build().into();
    let (target, mut response) = ask_origin(&agent, origin, url)?;
    let content_type = content_type(&response);
    let bytes = response.body_mut().with_config().limit(MAX_CONTENT_BYTES).read_to_vec().map_err(|e| format!("GET {target}: {e}"))?;
    Ok((bytes, content_type))
}

/// How long the origin may be silent, answering or sending the body, before a preservation
/// fetch gives up (and is tried again later): there is no limit on the whole, since a long
/// video over a slow link takes as long as it takes.
const STALL: Duration = Duration::from_secs(60);

/// What a preservation fetch kept on disk.
struct Kept {
    sha256: String,
    md5: String,
    size: u64,
    content_type: Option<String>,
}

/// Streams `url`'s content from the origin into its content-addressed blob under `data`,
/// hashing it on the way (any size: nothing is held in memory), durably (temporary file, fsync,
/// rename).
fn fetch_to_blob(data: &Path, origin: &str, url: &CanonicalUrl) -> Result<Kept, String> {
    use std::io::Read;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(STALL))
        .timeout_per_read(Some(STALL))
        .max_redirects(0)
        .build()
        .into();
    let (target, mut response) = ask_origin(&agent, origin, url)?;
    if !response.status().is_success() {
        return Err(format!("GET {target}: {}", response.status().as_u16()));
    }
    let content_type = content_type(&response);
    let incoming = data.join("evidence").join("incoming");
    std::fs::create_dir_all(&incoming).map_err(|e| format!("keeping the content: {e}"))?;
    // Named for this fetch alone; removed if the fetch fails (`Partial`'s drop).
    let name = hex(&Sha256::digest(format!("{url}\n{}\n{:?}", std::process::id(), std::time::Instant::now()).as_bytes()));
    let temp = Partial(incoming.join(format!("{}.part", &name[..32])));
    let file = std::fs::File::create(&temp.0).map_err(|e| format!("keeping the content: {e}"))?;
    let (mut sha, mut md5, mut size) = (Sha256::new(), Md5::new(), 0u64);
    let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
    let mut writer = std::io::BufWriter::new(&file);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer).map_err(|e| format!("GET {target}: {e}"))?;
        if n == 0 {
            break;
        }
        sha.update(&buffer[..n]);
        md5.update(&buffer[..n]);
        size += n as u64;
        writer.write_all(&buffer[..n]).map_err(|e| format!("keeping the content: {e}"))?;
    }
    writer.flush().map_err(|e| format!("keeping the content: {e}"))?;
    drop(writer);
    file.sync_all().map_err(|e| format!("keeping the content: {e}"))?;
    let sha256 = hex(&sha.finalize());
    let path = blob_path(data, &sha256);
    if !path.exists() {
        let dir = path.parent().ok_or("no parent")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("keeping the content: {e}"))?;
        std::fs::rename(&temp.0, &path).map_err(|e| format!("keeping the content: {e}"))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("keeping the content: {e}"))?;
    }
    Ok(Kept { sha256, md5: hex(&md5.finalize()), size, content_type })
}

/// A file being fetched, deleted when dropped unless it was renamed into place.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Content up to this size is tried as an image for its PDQ hash; larger content (a video) is
/// kept and hashed with SHA-256 and MD5 only.
const MAX_IMAGE_BYTES: u64 = MAX_CONTENT_BYTES;

/// The most bytes of related data a preservation webhook may answer.
const MAX_RELATED_BYTES: u64 = 64 * 1024;

/// Asks the platform's preservation webhook for the related data its systems hold on a URL
/// (`call`: delivery id, URL, signed body, signature, as for the other webhooks): the JSON object
/// it answers, or `{"error": ...}` saying why there is none.
fn related_data(call: &(String, String, String, String)) -> String {
    let (delivery, url, body, signature) = call;
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).http_status_as_error(false).build().into();
    let answer = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Tocsin-Delivery", delivery)
        .header("Tocsin-Signature", signature)
        .send(body.as_bytes())
        .map_err(|e| format!("POST {url}: {e}"))
        .and_then(|mut response| {
            let status = response.status().as_u16();
            let text =
                response.body_mut().with_config().limit(MAX_RELATED_BYTES).read_to_string().map_err(|e| format!("POST {url}: {e}"))?;
            if status != 200 {
                return Err(format!("POST {url}: {status}"));
            }
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("POST {url}: not JSON: {e}"))?;
            if value.is_object() { Ok(value) } else { Err(format!("POST {url}: not a JSON object")) }
        });
    match answer {
        Ok(value) => value.to_string(),
        Err(error) => serde_json::json!({ "error": error }).to_string(),
    }
}

/// Fetches, stores and hashes one blocked URL: the evidence row to record, with the related data
/// the preservation webhook gives (`related`: its call, when there is one). Kept six calendar
/// months from the removal (TCO Art. 6(2)).
fn preserve(
    data: &Path,
    origin: &str,
    block: &tocsin_store::Block,
    related: Option<(String, String, String, String)>,
) -> tocsin_store::Evidence {
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
        vpdq: None,
        fetched_at,
        retain_until: None,
        error: None,
        related_data: related.as_ref().map(related_data),
    };
    let kept = match CanonicalUrl::parse(&block.url).map_err(|e| e.to_string()).and_then(|url| fetch_to_blob(data, origin, &url)) {
        Ok(kept) => kept,
        Err(e) => {
            evidence.error = Some(e);
            return evidence;
        }
    };
    // Anything that decodes as an image gets its PDQ hash, whatever the origin called it.
    if kept.size <= MAX_IMAGE_BYTES
        && let Ok(bytes) = std::fs::read(blob_path(data, &kept.sha256))
    {
        let mut hasher = tocsin_hash::pdq::Hasher::new();
        if let Ok(image) = tocsin_hash::hash_bytes(&mut hasher, &bytes, &Default::default(), &Default::default()) {
            evidence.pdq = Some(image.pdq.hash.to_string());
            evidence.pdq_quality = Some(i64::from(image.pdq.quality.get()));
        }
    }
    // A video (by its type, or content that is no image) gets its vPDQ features from the kept
    // file itself: the evidence is on disk already, so no other copy is made.
    if evidence.pdq.is_none() && kept.content_type.as_deref().is_none_or(|t| tocsin_media::is_video(t) || !t.starts_with("text/")) {
        match bank_video(&blob_path(data, &kept.sha256)) {
            Ok(features) => evidence.vpdq = Some(features),
            Err(e) if kept.content_type.as_deref().is_some_and(tocsin_media::is_video) => {
                tracing::warn!(order = %block.order_id, error = %e, "a preserved video could not be hashed");
            }
            Err(_) => {}
        }
    }
    evidence.md5 = Some(kept.md5);
    evidence.size = Some(i64::try_from(kept.size).unwrap_or(i64::MAX));
    evidence.content_type = kept.content_type;
    evidence.sha256 = Some(kept.sha256);
    evidence.status = "preserved".to_owned();
    evidence.retain_until = Some(tocsin_store::retain_until(block.blocked_at));
    evidence
}

/// A video's vPDQ features as a bank keeps them: every frame hashed (so that an upload sampled
/// once a second at any phase finds its frames), repeated pictures dropped, and, past what one
/// signal holds, every n-th frame kept.
pub(crate) fn bank_video(path: &Path) -> Result<String, tocsin_media::DecodeError> {
    use tocsin_media::{Input, Limits, hash};
    let mut features = Vec::new();
    let mut seen = std::collections::HashSet::new();
    hash(Input::Path(path), 0.0, &Limits { threads: 1, ..Limits::default() }, |f| {
        if seen.insert(f.hash) {
            features.push(*f);
        }
        Ok(())
    })?;
    let step = features.len().div_ceil(tocsin_model::MAX_VPDQ_FRAMES).max(1);
    let kept: Vec<_> = features.into_iter().step_by(step).collect();
    let (signal, _) = crate::banks::video_signal(&kept).ok_or_else(|| tocsin_media::DecodeError::Unreadable("no frames".to_owned()))?;
    Ok(signal.value().to_owned())
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
    for (kind, value) in
        [(SignalType::Sha256, &e.sha256), (SignalType::Md5, &e.md5), (SignalType::Pdq, &e.pdq), (SignalType::Vpdq, &e.vpdq)]
    {
        if let Some(signal) = value.as_deref().and_then(|v| Signal::new(kind, v).ok()) {
            signals.push(signal);
        }
    }
    let body = tocsin_wire::body::RemovedContentBody { order_id: e.order_id.clone(), url: e.url.clone(), signals };
    let Ok(id) = crate::node::new_id() else { return Ok(None) };
    let jws = crate::node::seal(state, id, &peer.fingerprint, &tocsin_wire::Body::RemovedContent(body));
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
        let _ = tokio::time::timeout(Duration::from_secs(2), state.orders.preserver.notified()).await;
    }
}

/// Deletes content whose six months are over, unless the issuing authority asked to keep it
/// (and unless other evidence keeps the same content), marking it expired on the record.
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

/// Tells the escalation webhook, once per piece of evidence, that preserving it keeps failing
/// (`preservation.failing`), with a log entry; it is still tried for two days.
async fn alert_failing(state: &Arc<State>, e: &tocsin_store::Evidence, attempts: i64) -> Result<(), tocsin_store::StoreError> {
    let webhook = state.config.escalation_webhook.as_deref().and_then(|url| {
        let event = serde_json::json!({
            "event": "preservation.failing", "order_id": e.order_id, "url": e.url, "attempts": attempts, "error": e.error,
        });
        state.webhook_call(url, event)
    });
    let call = webhook.as_ref().map(|(id, url, body, signature)| (id.as_str(), url.as_str(), body.as_str(), signature.as_str()));
    if state.store.preservation_failing(&e.order_id, &e.url, call).await? {
        tracing::error!(order = %e.order_id, attempts, "preservation keeps failing");
        state.webhooks.notify_one();
    }
    Ok(())
}

async fn preserve_waiting(state: &Arc<State>) -> Result<(), tocsin_store::StoreError> {
    let Some(origin) = state.config.origin.clone() else { return Ok(()) };
    for block in state.store.blocks_to_preserve(now_ms() as i64).await? {
        let (data, origin) = (state.config.data.clone(), origin.clone());
        let related = state.config.preservation_webhook.as_deref().and_then(|url| {
            let event = serde_json::json!({
                "event": "preservation.related_data", "order_id": block.order_id, "url": block.url, "blocked_at": block.blocked_at,
            });
            state.webhook_call(url, event)
        });
        let evidence = match tokio::task::spawn_blocking(move || preserve(&data, &origin, &block, related)).await {
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
        let attempts = state.store.record_evidence(&evidence, tell_ref).await?;
        if evidence.status == "failed" && attempts >= tocsin_store::PRESERVATION_ALERT_AFTER {
            alert_failing(state, &evidence, attempts).await?;
        }
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
