//! Hash banks over HTTP, and the matcher behind `/v1/scan` and `/v1/lookup`: an in-memory index
//! of every bank's PDQ hashes (the index crate, exact within the banks' thresholds) and exact
//! maps for digests and URLs, kept up to date by following the store's change numbers, so that
//! a change made by this node or by another process on the same database is matched without a
//! restart.

pub mod matches;
pub mod sharing;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, header};
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_hash::pdq::{Dihedral, PdqHash};
use tocsin_index::Index;
use tocsin_index::video::{Frame, Shares, VideoIndex};
use tocsin_model::{
    BankAction, BankName, Labels, MAX_PDQ_THRESHOLD, Signal, SignalState, SignalType, VPDQ_MIN_QUALITY, Verdict, VideoRule,
};
use tocsin_store::{BankSignal, Provenance, SignalKey};
use utoipa::{IntoParams, ToSchema};

use crate::State;
use crate::node::accounts::Caller;
use crate::node::blobs::hex;
use crate::node::problem::{JsonBody, Problem, printable};

/// Roles that may scan and look up (a platform's upload service and its staff).
const SCANNERS: &[&str] = &["admin", "operator", "reviewer"];
/// Roles that may read banks.
const READERS: &[&str] = &["admin", "operator", "reviewer", "issuer", "oversight"];
/// Roles that may add signals and change their state.
pub(crate) const CURATORS: &[&str] = &["admin", "operator", "reviewer", "issuer"];
/// Largest body `/v1/scan` reads (an image upload).
pub const MAX_SCAN_BYTES: usize = 32 << 20;
/// Largest body of a batch of signals.
pub const MAX_SIGNALS_BYTES: usize = 4 << 20;
/// Most signals in one lookup or one added batch.
pub const MAX_SIGNALS: usize = 10_000;
/// Scans hashing at once: one a core.
pub fn scan_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Memory one pixel costs while a scan decodes and hashes it, with room to spare: a
/// 169-megapixel GIF took 1.1 GiB (6.8 bytes a pixel) in the measurement issue 15 reports.
const BYTES_PER_PIXEL: u64 = 8;

/// The memory the node may count on: its control group's limit when it has one (a container),
/// else the machine's; `None` where neither can be read.
pub fn memory_budget() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<u64>().ok());
    let machine = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let kb = t.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
        Some(kb * 1024)
    });
    match (cgroup, machine) {
        (Some(c), Some(m)) => Some(c.min(m)),
        (c, m) => c.or(m),
    }
}

/// The largest image a scan decodes unless configured: Pillow's decompression-bomb limit, or
/// fewer pixels when every hashing thread decoding the largest image at once would take more
/// than half of `memory`.
pub fn default_scan_max_pixels(workers: usize, memory: Option<u64>) -> u64 {
    let by_memory = memory.map_or(u64::MAX, |m| m / 2 / (workers.max(1) as u64) / BYTES_PER_PIXEL);
    tocsin_hash::decode::DEFAULT_MAX_PIXELS.min(by_memory)
}

/// Places in the scan queue and among the hashing threads, given back when the hashing ends,
/// not when the client leaves: a client that hangs up does not free a place while its image is
/// still being decoded.
struct ScanPlaces {
    state: Arc<State>,
    /// Holds a place in the scan queue.
    queued: bool,
    /// Holds a hashing thread.
    working: bool,
    /// Holds a video place.
    video: bool,
}

impl Drop for ScanPlaces {
    fn drop(&mut self) {
        let banks = &self.state.banks;
        for (held, places) in [(self.queued, &banks.scan_queue), (self.working, &banks.scan_workers), (self.video, &banks.video_scans)] {
            if held {
                places.add_permits(1);
            }
        }
    }
}

/// How a bank's matches are judged, as the matcher keeps it.
#[derive(Debug, Clone, Copy)]
struct Rule {
    action: BankAction,
    pdq_threshold: u32,
    video: VideoRule,
}

/// The in-memory side of every bank.
#[derive(Debug)]
pub struct Matcher {
    /// The last change applied.
    seq: i64,
    /// PDQ hashes, by signal number.
    pdq: Index,
    /// Digests and URLs, to the numbers of the signals that hold them (one per bank).
    exact: HashMap<Signal, Vec<i64>>,
    /// Banked videos' trusted frames, by signal number.
    videos: VideoIndex,
    /// Each bank's action and threshold.
    rules: HashMap<String, Rule>,
}

impl Matcher {
    /// Applies changed signals; `seen_through` is the last change applied before them, so a
    /// signal numbered past it cannot be in the matcher yet.
    fn apply(&mut self, changes: &[SignalKey]) {
        let seen_through = self.seq;
        for s in changes {
            let live = s.state != SignalState::Withdrawn;
            let maybe_present = s.num <= seen_through;
            if s.signal.kind() == SignalType::Vpdq {
                if maybe_present {
                    self.videos.remove(s.num as u64);
                }
                if live && let Some(frames) = vpdq_frames(&s.signal) {
                    // Signal numbers are far below the index's key space; a refusal would only
                    // leave this video out of the matcher.
                    let _ = self.videos.insert(s.num as u64, &frames);
                }
            } else if s.signal.kind() == SignalType::Pdq {
                if let Some(words) = pdq_words(&s.signal) {
                    if maybe_present {
                        self.pdq.remove(s.num as u64);
                    }
                    if live {
                        self.pdq.insert(s.num as u64, words);
                    }
                }
            } else {
                if maybe_present && let Some(nums) = self.exact.get_mut(&s.signal) {
                    nums.retain(|&n| n != s.num);
                    if nums.is_empty() {
                        self.exact.remove(&s.signal);
                    }
                }
                if live {
                    self.exact.entry(s.signal.clone()).or_default().push(s.num);
                }
            }
            self.seq = self.seq.max(s.seq);
        }
    }

    /// The largest PDQ threshold of any bank: the radius to search.
    fn radius(&self) -> u32 {
        self.rules.values().map(|r| r.pdq_threshold).max().unwrap_or(0).min(MAX_PDQ_THRESHOLD)
    }

    /// Candidate hits for `queries`. PDQ queries given together as `dihedral` variants of one
    /// image are searched as one; a video's frames are searched at each bank threshold in use.
    fn candidates(&self, queries: &[Probe]) -> Vec<Hit> {
        let radius = self.radius();
        let mut out = Vec::new();
        for (q, query) in queries.iter().enumerate() {
            match query {
                Probe::Exact(signal) => {
                    for &num in self.exact.get(signal).map_or(&[][..], Vec::as_slice) {
                        out.push(Hit { query: q, num, distance: None, video: None });
                    }
                }
                Probe::Pdq(variants) => {
                    for m in self.pdq.search_any(variants, radius) {
                        out.push(Hit { query: q, num: m.id as i64, distance: Some(m.distance), video: None });
                    }
                }
                Probe::Video(frames) => {
                    let radii: std::collections::BTreeSet<u32> =
                        self.rules.values().map(|r| r.pdq_threshold.min(MAX_PDQ_THRESHOLD)).collect();
                    for r in radii {
                        for m in self.videos.search(frames, r) {
                            out.push(Hit { query: q, num: m.video as i64, distance: Some(r), video: Some((m.shares, m.query_hits)) });
                        }
                    }
                }
            }
        }
        out
    }
}

impl Default for Matcher {
    fn default() -> Self {
        Self { seq: 0, pdq: Index::new(), exact: HashMap::new(), videos: VideoIndex::new(VPDQ_MIN_QUALITY), rules: HashMap::new() }
    }
}

fn pdq_words(signal: &Signal) -> Option<[u64; 4]> {
    signal.value().parse::<PdqHash>().ok().map(|h| h.words())
}

/// A vPDQ signal's frames, as the video index takes them.
fn vpdq_frames(signal: &Signal) -> Option<Vec<Frame>> {
    let features = tocsin_model::VpdqFeatures::parse(signal.value()).ok()?;
    features.0.iter().map(|f| Some(Frame { bits: f.hex.parse::<PdqHash>().ok()?.words(), quality: f.quality })).collect()
}

/// One thing to look for.
enum Probe {
    Exact(Signal),
    /// A PDQ hash with its dihedral variants (or just itself).
    Pdq(Vec<[u64; 4]>),
    /// A video's frames.
    Video(Vec<Frame>),
}

/// A banked signal a query found, before the store and the bank's rule have their say.
struct Hit {
    /// Which query.
    query: usize,
    /// The signal's number.
    num: i64,
    /// PDQ distance; for a video, the threshold its frames were compared at.
    distance: Option<u32>,
    /// For a video, what the two share, and which of the query's frames matched.
    video: Option<(Shares, Vec<u32>)>,
}

/// Brings the matcher up to date with the store: every change after the last it applied. One
/// follow runs at a time, so batches are applied in the order they were read.
pub async fn follow(state: &State) -> Result<(), tocsin_store::StoreError> {
    let _one_at_a_time = state.banks.follow.lock().await;
    let rules = state.store.banks().await?;
    let rules: HashMap<String, Rule> = rules
        .into_iter()
        .map(|b| (b.name.as_str().to_owned(), Rule { action: b.action, pdq_threshold: b.pdq_threshold, video: b.video }))
        .collect();
    lock_write(&state.banks.matcher).rules = rules;
    if lock_read(&state.banks.matcher).seq == 0 {
        load(state).await?;
    }
    loop {
        let after = lock_read(&state.banks.matcher).seq;
        let changes = state.store.signal_keys(after, 100_000).await?;
        if changes.is_empty() {
            return Ok(());
        }
        let matcher = state.banks.matcher.clone();
        // Building or repacking the index is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || lock_write(&matcher).apply(&changes))
            .await
            .map_err(|_| tocsin_store::StoreError::Inconsistent("the matcher's update failed"))?;
    }
}

/// The first load: every live signal read, then the PDQ index built in one go (a counting sort,
/// seconds at 10 million) rather than grown one insert at a time, whose unpacked part would slow
/// every search until the next repack.
async fn load(state: &State) -> Result<(), tocsin_store::StoreError> {
    let (mut pairs, mut exact, mut videos, mut seq) = (Vec::new(), HashMap::<Signal, Vec<i64>>::new(), Vec::new(), 0);
    loop {
        let page = state.store.signal_keys(seq, 100_000).await?;
        let Some(last) = page.last() else { break };
        seq = last.seq;
        for s in page.into_iter().filter(|s| s.state != SignalState::Withdrawn) {
            match s.signal.kind() {
                SignalType::Pdq => pairs.extend(pdq_words(&s.signal).map(|words| (s.num as u64, words))),
                SignalType::Vpdq => videos.extend(vpdq_frames(&s.signal).map(|frames| (s.num as u64, frames))),
                _ => exact.entry(s.signal).or_default().push(s.num),
            }
        }
    }
    let (pdq, videos) = tokio::task::spawn_blocking(move || {
        let index = VideoIndex::build(VPDQ_MIN_QUALITY, videos.iter().map(|(num, frames)| (*num, &frames[..])));
        (Index::from_pairs(pairs), index)
    })
    .await
    .map_err(|_| tocsin_store::StoreError::Inconsistent("building the matcher's index failed"))?;
    let videos = videos.map_err(|_| tocsin_store::StoreError::Inconsistent("a banked video does not fit the video index"))?;
    let mut matcher = lock_write(&state.banks.matcher);
    // Changes a concurrent follow applied meanwhile are newer than this load: keep the later.
    if matcher.seq < seq {
        (matcher.pdq, matcher.exact, matcher.videos, matcher.seq) = (pdq, exact, videos, seq);
    }
    Ok(())
}

/// [`follow`] for a request that changed a bank: a failure is logged (the follower tries again
/// within a second), not the request's.
pub(crate) async fn follow_now(state: &State) {
    if let Err(e) = follow(state).await {
        tracing::warn!(error = %e, "following bank changes");
    }
}

/// Runs until the process ends: follows bank changes every second, for changes made by another
/// process on the same database (this process's own changes are followed as they are made).
pub async fn run_bank_follower(state: Arc<State>) {
    loop {
        if let Err(e) = follow(&state).await {
            tracing::warn!(error = %e, "following bank changes");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// A panic while holding the lock leaves the matcher as it was between two changes, which is
// still a consistent matcher: carry on with it.
fn lock_read(m: &RwLock<Matcher>) -> std::sync::RwLockReadGuard<'_, Matcher> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock_write(m: &RwLock<Matcher>) -> std::sync::RwLockWriteGuard<'_, Matcher> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A signal in a request or a response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalBody {
    /// `pdq`, `sha256`, `md5` or `url`.
    #[serde(rename = "type")]
    kind: String,
    /// The value: hex for hashes and digests, a URL.
    value: String,
}

impl SignalBody {
    fn parse(&self) -> Result<Signal, Problem> {
        let kind: SignalType = self
            .kind
            .parse()
            .map_err(|e: tocsin_model::BankError| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        Signal::new(kind, &self.value).map_err(|e| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    }
}

impl From<&Signal> for SignalBody {
    fn from(s: &Signal) -> Self {
        Self { kind: s.kind().as_str().to_owned(), value: s.value().to_owned() }
    }
}

/// Where a matched signal came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvenanceView {
    /// `order`, `account`, `import` or `exchange`.
    source: String,
    /// The order id, account, or publishing node.
    reference: String,
    /// The URL removed, the file imported, ...
    detail: String,
}

impl From<&Provenance> for ProvenanceView {
    fn from(p: &Provenance) -> Self {
        Self { source: p.source.clone(), reference: p.reference.clone(), detail: p.detail.clone() }
    }
}

/// One match.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// The bank.
    bank: String,
    /// The bank's signal number.
    num: i64,
    /// The bank's signal.
    signal: SignalBody,
    /// The signal of the request or content that matched it.
    matched: SignalBody,
    /// Hamming distance, for PDQ (for a video's frame against an image, that frame's).
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<u32>,
    /// For a banked video: what the scanned video and it share.
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<VideoMatchView>,
    /// What the signal shows.
    #[schema(value_type = Object)]
    labels: Labels,
    /// Where it came from.
    provenance: ProvenanceView,
    /// `active` or `disputed`.
    state: String,
    /// The bank's action.
    action: String,
    /// What this match alone calls for.
    #[schema(value_type = String)]
    verdict: Verdict,
}

/// What a scanned video shares with a banked one (Meta's vPDQ rule: frames within the bank's
/// PDQ threshold, both of quality 50 or more).
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoMatchView {
    /// The share of the scanned video's trusted frames found in the banked video, percent.
    query_percent: f64,
    /// The share of the banked video's trusted frames found in the scanned video, percent.
    target_percent: f64,
    /// Trusted frames of the scanned video, and how many matched.
    query_frames: u32,
    query_matched: u32,
    /// Trusted frames of the banked video, and how many matched.
    target_frames: u32,
    target_matched: u32,
    /// The bank's rule: which share (`query` or `target`) must reach `percent`.
    share: String,
    percent: u8,
    /// Times (seconds) in the scanned video of up to eight of its frames that matched, spread
    /// over them: the key frames a moderator is shown.
    matched_seconds: Vec<f64>,
}

/// Key frames shown for a video match.
pub const KEY_FRAMES: usize = 8;

impl VideoMatchView {
    fn new(s: Shares, rule: VideoRule, query: &Signal, hits: &[u32]) -> Self {
        let times: Vec<u64> =
            tocsin_model::VpdqFeatures::parse(query.value()).map(|f| f.0.iter().map(|f| f.millis).collect()).unwrap_or_default();
        // Up to eight, spread evenly over the matched frames.
        let step = hits.len().div_ceil(KEY_FRAMES).max(1);
        let matched_seconds =
            hits.iter().step_by(step).filter_map(|&h| times.get(h as usize)).map(|&ms| ms as f64 / 1000.0).take(KEY_FRAMES).collect();
        // Two decimals, as Meta's tools print them.
        let round = |p: f64| (p * 100.0).round() / 100.0;
        Self {
            query_percent: round(s.query_percent()),
            target_percent: round(s.target_percent()),
            query_frames: s.query_frames,
            query_matched: s.query_matched,
            target_frames: s.target_frames,
            target_matched: s.target_matched,
            share: rule.share.as_str().to_owned(),
            percent: rule.percent,
            matched_seconds,
        }
    }
}

/// How a banked signal is named in a match: as it is, except a video, whose features (up to
/// 1.5 MB) are named by `sha256:` and their SHA-256, as the store tells signals apart; the
/// features themselves are in the bank's signal list.
fn named(signal: &Signal) -> SignalBody {
    match signal.kind() {
        SignalType::Vpdq => {
            SignalBody { kind: "vpdq".to_owned(), value: format!("sha256:{}", hex(&Sha256::digest(signal.value().as_bytes()))) }
        }
        _ => signal.into(),
    }
}

/// What a scan or lookup found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// `block`, `review` or `none`: the strongest verdict of the matches.
    #[schema(value_type = String)]
    verdict: Verdict,
    /// The signals looked up (for a scan, those computed from the content).
    signals: Vec<SignalBody>,
    /// PDQ quality (0-100) of a scanned image; below 50 its hash is not trusted by partners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_quality: Option<u8>,
    /// Every match, strongest verdict first, then by distance.
    matches: Vec<MatchView>,
    /// The id under which a scan or lookup that matched is kept (`GET /v1/matches`); absent
    /// when nothing matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    match_id: Option<String>,
}

/// Keeps a scan or lookup that matched, for the matches per bank and, when a bank asks for
/// review, for the moderators' queue, with a copy of scanned `content` (SHA-256 hex, content
/// type, bytes) for them to look at.
async fn keep(
    state: &State,
    caller: &Caller,
    source: &str,
    result: &mut ScanResult,
    content: Option<(String, String, Bytes)>,
) -> Result<(), Problem> {
    if result.matches.is_empty() {
        return Ok(());
    }
    let id = crate::node::new_id()?.to_string();
    if result.verdict == Verdict::Review
        && let Some((sha256, _, bytes)) = &content
    {
        let path = crate::node::blobs::review_path(&state.config.data, sha256);
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || crate::node::blobs::store_blob(&path, &bytes)).await.map_err(|_| Problem::Internal)?.map_err(
            |e| {
                tracing::error!(error = %e, "a copy for review could not be written");
                Problem::Internal
            },
        )?;
    }
    let verdict = match result.verdict {
        Verdict::Block => "block",
        Verdict::Review => "review",
        Verdict::None => "report",
    };
    let matches = serde_json::to_string(&result.matches).map_err(|_| Problem::Internal)?;
    let banks: Vec<String> = result.matches.iter().map(|m| m.bank.clone()).collect();
    let (sha256, content_type) = match &content {
        Some((sha256, content_type, _)) => (Some(sha256.as_str()), Some(content_type.as_str())),
        None => (None, None),
    };
    let new = tocsin_store::NewMatch {
        id: &id,
        source,
        verdict,
        account: &caller.0.name,
        sha256,
        content_type,
        matches: &matches,
        banks: &banks,
    };
    state.store.record_match(new).await?;
    result.match_id = Some(id);
    Ok(())
}

/// Matches `queries` (labelled by `labels`, the signals reported back) against every bank.
async fn judge(state: &State, queries: Vec<Probe>, labels: Vec<Signal>, pdq_quality: Option<u8>) -> Result<ScanResult, Problem> {
    let (hits, rules) = {
        let matcher = lock_read(&state.banks.matcher);
        (matcher.candidates(&queries), matcher.rules.clone())
    };
    let nums: Vec<i64> = hits.iter().map(|h| h.num).collect();
    let found: HashMap<i64, BankSignal> = state.store.signals_by_num(&nums).await?.into_iter().map(|s| (s.num, s)).collect();
    let mut matches = Vec::new();
    for Hit { query: q, num, distance, video } in hits {
        // The store has the last word: a signal changed since the matcher last followed is
        // judged as it is now.
        let Some(s) = found.get(&num) else { continue };
        let Some(rule) = rules.get(&s.bank) else { continue };
        if s.state == SignalState::Withdrawn {
            continue;
        }
        let (distance, video) = match video {
            // A video was compared at every threshold in use: only at its bank's counts.
            Some((shares, hits)) => {
                if distance != Some(rule.pdq_threshold.min(MAX_PDQ_THRESHOLD))
                    || !rule.video.matches(shares.query_percent(), shares.target_percent())
                {
                    continue;
                }
                (None, Some(VideoMatchView::new(shares, rule.video, &labels[q], &hits)))
            }
            None if distance.is_some_and(|d| d > rule.pdq_threshold) => continue,
            None => (distance, None),
        };
        matches.push(MatchView {
            bank: s.bank.clone(),
            num,
            signal: named(&s.signal),
            matched: (&labels[q]).into(),
            distance,
            video,
            labels: s.labels.clone(),
            provenance: (&s.provenance).into(),
            state: s.state.as_str().to_owned(),
            action: rule.action.as_str().to_owned(),
            verdict: rule.action.verdict(s.state),
        });
    }
    matches.sort_by(|a, b| b.verdict.cmp(&a.verdict).then(a.distance.cmp(&b.distance)).then(a.num.cmp(&b.num)));
    // Several frames of a video may find one image: it is listed once, at its closest.
    let mut listed = std::collections::HashSet::new();
    matches.retain(|m| listed.insert(m.num));
    let verdict = matches.iter().map(|m| m.verdict).max().unwrap_or(Verdict::None);
    Ok(ScanResult { verdict, signals: labels.iter().map(Into::into).collect(), pdq_quality, matches, match_id: None })
}

/// Signals to look up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// At most 10,000. (A hash alone cannot be turned into its image's rotations and mirrors:
    /// send those hashes as signals of their own, or scan the content.)
    signals: Vec<SignalBody>,
}

/// Looks up signals computed elsewhere (for platforms that never send content) in every bank.
#[utoipa::path(post, path = "/v1/lookup", tag = "banks", security(("bearer" = [])), request_body = LookupRequest,
    responses((status = 200, description = "The verdict and every match", body = ScanResult)))]
pub async fn lookup(caller: Caller, Shared(state): Shared<Arc<State>>, body: JsonBody<LookupRequest>) -> Result<Json<ScanResult>, Problem> {
    caller.require(SCANNERS)?;
    let body = body.parse()?;
    if body.signals.is_empty() || body.signals.len() > MAX_SIGNALS {
        return Err(Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, format!("1 to {MAX_SIGNALS} signals")));
    }
    let signals = body.signals.iter().map(SignalBody::parse).collect::<Result<Vec<_>, _>>()?;
    let queries = signals
        .iter()
        .map(|s| match s.kind() {
            SignalType::Pdq => pdq_words(s).map_or_else(|| Probe::Exact(s.clone()), |words| Probe::Pdq(vec![words])),
            SignalType::Vpdq => vpdq_frames(s).map_or_else(|| Probe::Exact(s.clone()), Probe::Video),
            _ => Probe::Exact(s.clone()),
        })
        .collect();
    let mut result = judge(&state, queries, signals, None).await?;
    keep(&state, &caller, "lookup", &mut result, None).await?;
    Ok(Json(result))
}

/// What hashing an upload gave.
struct Hashed {
    sha256: Signal,
    md5: Signal,
    /// The PDQ hash, its quality, and all eight dihedral hashes (itself first).
    pdq: Option<(Signal, u8, Vec<[u64; 4]>)>,
    /// A video's vPDQ features (one frame a second) and its frames.
    video: Option<(Signal, Vec<Frame>)>,
}

/// How an upload is read: its kind by `Content-Type`, and the limits the node sets.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Digests only.
    Bytes,
    /// An image, of at most so many pixels.
    Image { max_pixels: u64 },
    /// A video within these limits.
    Video(tocsin_media::Limits),
}

/// Seconds between the frames of an uploaded video that are hashed: one a second, as Meta's
/// Python library; banked videos are hashed at every frame, so the phase does not matter.
pub const SCAN_SECONDS_PER_HASH: f64 = 1.0;

/// The longest a scanned video's decode may take.
pub const VIDEO_DECODE_TIME: Duration = Duration::from_secs(600);

/// A video's features as a `vpdq` signal and as the index's frames.
pub fn video_signal(features: &[tocsin_hash::video::Feature]) -> Option<(Signal, Vec<Frame>)> {
    let text: Vec<String> = features.iter().map(|f| format!("{},{},{:.3}", f.hash, f.quality.get(), f.timestamp)).collect();
    let signal = Signal::new(SignalType::Vpdq, &text.join(";")).ok()?;
    let frames = features.iter().map(|f| Frame { bits: f.hash.words(), quality: f.quality.get() }).collect();
    Some((signal, frames))
}

thread_local! {
    // PDQ's buffers, kept per blocking thread between scans.
    static HASHER: RefCell<tocsin_hash::pdq::Hasher> = RefCell::new(tocsin_hash::pdq::Hasher::new());
}

/// Digests of any content; the PDQ hash and its dihedral variants of an image; a video's
/// features.
fn hash_upload(bytes: &[u8], reading: Reading) -> Result<Hashed, Problem> {
    let digest = |kind, hex: String| Signal::new(kind, &hex).expect("a digest is hex of its length");
    let sha256 = digest(SignalType::Sha256, hex(&Sha256::digest(bytes)));
    let md5 = digest(SignalType::Md5, hex(&Md5::digest(bytes)));
    let unprocessable = |e: String| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e);
    let video = if let Reading::Video(limits) = reading {
        use tocsin_media::{DecodeError, Input, hash};
        let mut features = Vec::new();
        hash(Input::Memory(bytes), SCAN_SECONDS_PER_HASH, &limits, |f| {
            features.push(*f);
            Ok(())
        })
        .map_err(|e| match e {
            DecodeError::Tools(why) => {
                tracing::error!(error = %why, "the FFmpeg tools failed");
                Problem::Internal
            }
            e => unprocessable(e.to_string()),
        })?;
        Some(video_signal(&features).ok_or_else(|| unprocessable("the video gave no frames to hash".to_owned()))?)
    } else {
        None
    };
    let pdq = if let Reading::Image { max_pixels } = reading {
        let options = tocsin_hash::HashOptions { dihedral: true, ..Default::default() };
        let decode = tocsin_hash::DecodeOptions { max_pixels, ..Default::default() };
        let hashed =
            HASHER.with_borrow_mut(|h| tocsin_hash::hash_bytes(h, bytes, &decode, &options)).map_err(|e| unprocessable(e.to_string()))?;
        let variants = hashed.dihedral.map_or_else(Vec::new, |d| Dihedral::ALL.iter().map(|&w| d.get(w).words()).collect());
        let signal = digest(SignalType::Pdq, hashed.pdq.hash.to_string());
        Some((signal, hashed.pdq.quality.get(), if variants.is_empty() { vec![hashed.pdq.hash.words()] } else { variants }))
    } else {
        None
    };
    Ok(Hashed { sha256, md5, pdq, video })
}

/// Hashes the uploaded content (an image: its PDQ hash, with the seven rotations and mirrors
/// searched too; a video: its vPDQ features, one frame a second, against banked videos by
/// Meta's share-of-frames rule and each frame against image banks; any content: SHA-256 and
/// MD5) and matches it against every bank. The body is the content, with its `Content-Type`;
/// `image/*` and `video/*` must decode.
#[utoipa::path(post, path = "/v1/scan", tag = "banks", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The content: at most 32 MiB, or for `video/*` the node's video limit (256 MiB unless configured)"),
    responses(
        (status = 200, description = "The verdict and every match", body = ScanResult),
        (status = 413, description = "The content is larger than the node takes", body = crate::node::problem::Body, content_type = "application/problem+json"),
        (status = 503, description = "Too many scans waiting; try again after the Retry-After seconds", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn scan(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<ScanResult>, Problem> {
    caller.require(SCANNERS)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_owned();
    let lower = content_type.trim_start().to_ascii_lowercase();
    let (reading, limit) = if tocsin_media::is_video(&lower) {
        let limits = tocsin_media::Limits {
            max_pixels: state.banks.scan_max_pixels.min(tocsin_media::Limits::default().max_pixels),
            max_seconds: state.config.scan_video_max_seconds as f64,
            max_time: VIDEO_DECODE_TIME,
            // Parallelism comes from concurrent scans, one a core.
            threads: 1,
            max_memory: tocsin_media::Limits::default().max_memory,
        };
        (Reading::Video(limits), state.config.scan_video_max_bytes)
    } else if lower.starts_with("image/") {
        (Reading::Image { max_pixels: state.banks.scan_max_pixels }, MAX_SCAN_BYTES)
    } else {
        (Reading::Bytes, MAX_SCAN_BYTES)
    };
    let bytes = read_limited(body, limit).await?;
    if bytes.is_empty() {
        return Err(Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "empty body: send the content itself".to_owned()));
    }
    // A video takes a video place first, given back with the others when its hashing ends:
    // long decodes never fill every place that image scans need.
    let video = matches!(reading, Reading::Video(_));
    if video {
        let Ok(place) = state.banks.video_scans.try_acquire() else { return Err(Problem::Busy) };
        place.forget();
    }
    let mut places = ScanPlaces { state: state.clone(), queued: false, working: false, video };
    // A place in the queue or a clear "busy": never an unbounded pile of decodes.
    let Ok(queued) = state.banks.scan_queue.try_acquire() else { return Err(Problem::Busy) };
    queued.forget();
    places.queued = true;
    state.banks.scan_workers.acquire().await.map_err(|_| Problem::Internal)?.forget();
    places.working = true;
    let upload = bytes.clone();
    let hashed = tokio::task::spawn_blocking(move || {
        let _places = places;
        hash_upload(&upload, reading)
    })
    .await
    .map_err(|_| Problem::Internal)??;
    let mut queries = vec![Probe::Exact(hashed.sha256.clone()), Probe::Exact(hashed.md5.clone())];
    let sha256 = hashed.sha256.value().to_owned();
    let mut labels = vec![hashed.sha256, hashed.md5];
    let quality = hashed.pdq.as_ref().map(|(_, q, _)| *q);
    if let Some((signal, _, variants)) = hashed.pdq {
        queries.push(Probe::Pdq(variants));
        labels.push(signal);
    }
    if let Some((signal, frames)) = hashed.video {
        // Each trusted frame against the image banks (a propaganda still inside a video).
        for frame in frames.iter().filter(|f| f.quality >= VPDQ_MIN_QUALITY) {
            queries.push(Probe::Pdq(vec![frame.bits]));
            labels.push(Signal::new(SignalType::Pdq, &PdqHash::from_words(frame.bits).to_string()).map_err(|_| Problem::Internal)?);
        }
        queries.push(Probe::Video(frames));
        labels.push(signal);
    }
    let mut result = judge(&state, queries, labels, quality).await?;
    // The frames' PDQ hashes are the video's signal again: reported once, as the video.
    result.signals.retain(|s| s.kind != "pdq" || quality.is_some());
    keep(&state, &caller, "scan", &mut result, Some((sha256, content_type, bytes))).await?;
    Ok(Json(result))
}

/// The body, refused with 413 past `limit` bytes (before they are read, when the length is
/// stated).
async fn read_limited(body: axum::body::Body, limit: usize) -> Result<Bytes, Problem> {
    use http_body::Body as _;
    let too_large = || Problem::BadBody(axum::http::StatusCode::PAYLOAD_TOO_LARGE, format!("the content is larger than {limit} bytes"));
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut body = body;
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| Problem::BadBody(axum::http::StatusCode::BAD_REQUEST, format!("reading the content: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}

/// A bank, with its signal counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BankView {
    name: String,
    /// The publishing node's fingerprint; empty for this node's own banks.
    owner: String,
    description: String,
    /// `block`, `review` or `report`.
    action: String,
    pdq_threshold: u32,
    /// How videos match: `query` or `target`.
    video_share: String,
    /// The share of frames (percent) a video match needs.
    video_percent: u8,
    created_by: String,
    created_at: String,
    active: u64,
    disputed: u64,
    withdrawn: u64,
}

fn bank_view(b: tocsin_store::Bank, counts: [u64; 3]) -> BankView {
    BankView {
        name: b.name.to_string(),
        owner: b.owner,
        description: b.description,
        action: b.action.as_str().to_owned(),
        pdq_threshold: b.pdq_threshold,
        video_share: b.video.share.as_str().to_owned(),
        video_percent: b.video.percent,
        created_by: b.created_by,
        created_at: crate::node::time::rfc3339_ms(b.created_at),
        active: counts[0],
        disputed: counts[1],
        withdrawn: counts[2],
    }
}

/// Every bank on this node with its counts.
#[utoipa::path(get, path = "/v1/banks", operation_id = "list_banks", tag = "banks", security(("bearer" = [])),
    responses((status = 200, description = "The banks, by name", body = [BankView])))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<BankView>>, Problem> {
    caller.require(READERS)?;
    let counts = state.store.bank_counts().await?;
    let banks = state.store.banks().await?;
    Ok(Json(
        banks
            .into_iter()
            .map(|b| {
                let c = counts.get(b.name.as_str()).copied().unwrap_or_default();
                bank_view(b, c)
            })
            .collect(),
    ))
}

/// A new bank.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBankRequest {
    /// 1 to 64 lower-case letters, digits, `-`, `_` or `.`.
    #[schema(pattern = "^[a-z0-9._-]{1,64}$")]
    name: String,
    /// What it holds.
    #[serde(default)]
    description: String,
    /// `block`, `review` or `report`.
    #[schema(pattern = "^(block|review|report)$")]
    action: String,
    /// PDQ matches within this many bits count (0 to 63; 31 when left out), for images and for
    /// each frame of a video.
    #[serde(default)]
    #[schema(maximum = 63)]
    pdq_threshold: Option<u32>,
    /// How videos match: `query` (the default: the share of the upload's frames found in a
    /// banked video) or `target` (the share of the banked video's frames found in the upload).
    #[serde(default)]
    #[schema(pattern = "^(query|target)$")]
    video_share: Option<String>,
    /// The share of frames a video match needs, 1 to 100 (80 when left out).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    video_percent: Option<u32>,
}

/// A bank's video rule from a request's fields, with the defaults for those left out.
pub(crate) fn video_rule(share: Option<&str>, percent: Option<u32>) -> Result<VideoRule, Problem> {
    let bad = |e: tocsin_model::BankError| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let default = VideoRule::default();
    let share = share.map_or(Ok(default.share), str::parse).map_err(bad)?;
    VideoRule::new(share, percent.unwrap_or(u32::from(default.percent))).map_err(bad)
}

/// Makes a bank (admin).
#[utoipa::path(post, path = "/v1/banks", operation_id = "create_bank", tag = "banks", security(("bearer" = [])), request_body = CreateBankRequest,
    responses((status = 201, description = "Made", body = BankView),
        (status = 409, description = "A bank of that name exists", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn create(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<CreateBankRequest>,
) -> Result<(axum::http::StatusCode, Json<BankView>), Problem> {
    caller.require(&["admin"])?;
    let body = body.parse()?;
    let unprocessable = |e: tocsin_model::BankError| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    let name: BankName = body.name.parse().map_err(unprocessable)?;
    let action: BankAction = body.action.parse().map_err(unprocessable)?;
    let pdq_threshold = body.pdq_threshold.unwrap_or(tocsin_model::DEFAULT_PDQ_THRESHOLD);
    if pdq_threshold > MAX_PDQ_THRESHOLD {
        return Err(Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, format!("pdq_threshold: 0 to {MAX_PDQ_THRESHOLD}")));
    }
    let video = video_rule(body.video_share.as_deref(), body.video_percent)?;
    printable("description", &body.description, 0, 1000)?;
    let new = tocsin_store::NewBank { name, description: body.description, action, pdq_threshold, video };
    let bank = state.store.create_bank(&new, "", &caller.0.name).await?;
    // Into the matcher before the answer: a lookup right after an addition sees it.
    follow_now(&state).await;
    Ok((axum::http::StatusCode::CREATED, Json(bank_view(bank, [0; 3]))))
}

pub(crate) fn bank_name(name: &str) -> Result<BankName, Problem> {
    name.parse().map_err(|_| Problem::NotFound(format!("no bank named {:?}", name.chars().take(64).collect::<String>())))
}

/// One bank with its counts.
#[utoipa::path(get, path = "/v1/banks/{name}", operation_id = "show_bank", tag = "banks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The bank")),
    responses((status = 200, description = "The bank", body = BankView), (status = 404, description = "No such bank", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn show(caller: Caller, Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Result<Json<BankView>, Problem> {
    caller.require(READERS)?;
    let name = bank_name(&name)?;
    let bank = state.store.bank(name.as_str()).await?.ok_or_else(|| Problem::NotFound(format!("no bank named {:?}", name.as_str())))?;
    let counts = state.store.bank_counts().await?.get(name.as_str()).copied().unwrap_or_default();
    Ok(Json(bank_view(bank, counts)))
}

/// A page of a bank's signals.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignalsQuery {
    /// Only signals changed after this change number (0, or left out: from the start).
    #[serde(default)]
    after: u64,
    /// At most this many (1 to 10,000; 1,000 when left out).
    #[serde(default)]
    limit: Option<u32>,
}

/// One signal of a bank.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalView {
    num: i64,
    #[serde(rename = "type")]
    kind: String,
    value: String,
    #[schema(value_type = Object)]
    labels: Labels,
    provenance: ProvenanceView,
    added_at: String,
    state: String,
    /// The number of its latest change: pass the last one seen as `after` for the next page.
    seq: i64,
}

impl From<&BankSignal> for SignalView {
    fn from(s: &BankSignal) -> Self {
        Self {
            num: s.num,
            kind: s.signal.kind().as_str().to_owned(),
            value: s.signal.value().to_owned(),
            labels: s.labels.clone(),
            provenance: (&s.provenance).into(),
            added_at: crate::node::time::rfc3339_ms(s.added_at),
            state: s.state.as_str().to_owned(),
            seq: s.seq,
        }
    }
}

/// A bank's signals in change order, a page at a time (export, and what subscribers follow).
#[utoipa::path(get, path = "/v1/banks/{name}/signals", tag = "banks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The bank"), SignalsQuery),
    responses((status = 200, description = "Signals changed after `after`, in change order", body = [SignalView]),
        (status = 404, description = "No such bank", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn signals(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    query: Result<Query<SignalsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SignalView>>, Problem> {
    caller.require(READERS)?;
    let Query(query) = query.map_err(|e| Problem::BadQuery(e.body_text()))?;
    let name = bank_name(&name)?;
    state.store.bank(name.as_str()).await?.ok_or_else(|| Problem::NotFound(format!("no bank named {:?}", name.as_str())))?;
    let limit = query.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(Problem::BadQuery("limit: 1 to 10000".to_owned()));
    }
    let after = i64::try_from(query.after).map_err(|_| Problem::BadQuery("after: too large".to_owned()))?;
    let rows = state.store.bank_signals(name.as_str(), after, i64::from(limit)).await?;
    Ok(Json(rows.iter().map(Into::into).collect()))
}

/// A signal to add, with what it shows.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignal {
    #[serde(rename = "type")]
    kind: String,
    value: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    labels: Labels,
    /// `active` (the default), `disputed` or `withdrawn`: for imports of a Tocsin export.
    #[serde(default)]
    state: Option<String>,
    /// Where it came from, for imports of a Tocsin export that says; otherwise the account
    /// adding it (and the file, for imports). The log records who added it either way.
    #[serde(default)]
    provenance: Option<ProvenanceBody>,
}

/// Provenance as a Tocsin export gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceBody {
    source: String,
    reference: String,
    #[serde(default)]
    detail: String,
}

/// Signals to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSignalsRequest {
    /// 1 to 10,000.
    signals: Vec<NewSignal>,
    /// Where they come from: a file name, a programme, ... (the provenance's detail).
    #[serde(default)]
    detail: String,
    /// `account` (added by hand, the default) or `import` (from a file).
    #[serde(default)]
    source: Option<String>,
}

/// What adding did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddSignalsResult {
    /// New to the bank.
    added: u64,
    /// Already there (first provenance kept).
    known: u64,
}

/// Adds signals to a bank; all are checked first, and one bad signal refuses the batch, naming it.
#[utoipa::path(post, path = "/v1/banks/{name}/signals", operation_id = "add_signals", tag = "banks", security(("bearer" = [])),
    params(("name" = String, Path, description = "The bank")), request_body = AddSignalsRequest,
    responses((status = 200, description = "Added", body = AddSignalsResult), (status = 404, description = "No such bank", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn add(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<AddSignalsRequest>,
) -> Result<Json<AddSignalsResult>, Problem> {
    caller.require(CURATORS)?;
    let name = bank_name(&name)?;
    let body = body.parse()?;
    let bad = |detail: String| Problem::BadBody(axum::http::StatusCode::UNPROCESSABLE_ENTITY, detail);
    if body.signals.is_empty() || body.signals.len() > MAX_SIGNALS {
        return Err(bad(format!("1 to {MAX_SIGNALS} signals")));
    }
    let source = body.source.as_deref().unwrap_or("account");
    if !["account", "import"].contains(&source) {
        return Err(bad(format!("source {source:?}: account or import")));
    }
    printable("detail", &body.detail, 0, 500)?;
    let mut signals = Vec::with_capacity(body.signals.len());
    for (i, s) in body.signals.into_iter().enumerate() {
        let kind: SignalType = s.kind.parse().map_err(|e: tocsin_model::BankError| bad(format!("signals[{i}]: {e}")))?;
        let signal = Signal::new(kind, &s.value).map_err(|e| bad(format!("signals[{i}]: {e}")))?;
        let labels = s.labels.checked().map_err(|e| bad(format!("signals[{i}]: {e}")))?;
        let signal_state = match s.state {
            Some(state) => state.parse().map_err(|e: tocsin_model::BankError| bad(format!("signals[{i}]: {e}")))?,
            None => SignalState::Active,
        };
        let provenance = match s.provenance {
            Some(p) => {
                let printable = |t: &str, max: usize| {
                    t.chars().count() <= max && !t.chars().any(|c| c.is_control() || tocsin_model::is_bidi_control(c))
                };
                if !["order", "account", "import", "exchange"].contains(&p.source.as_str())
                    || !printable(&p.reference, 200)
                    || !printable(&p.detail, 2000)
                {
                    return Err(bad(format!(
                        "signals[{i}]: provenance: source order, account, import or exchange; printable reference and detail"
                    )));
                }
                // Only orders this node has may be cited: a signal claiming an order lends the
                // order's authority to a hash nobody ordered removed.
                if p.source == "order" && state.store.order(&p.reference).await?.is_none() {
                    return Err(Problem::Refused(format!(
                        "signals[{i}]: provenance cites order {:?}, which this node does not have; import it with source import",
                        p.reference.chars().take(40).collect::<String>()
                    )));
                }
                Some(Provenance { source: p.source, reference: p.reference, detail: p.detail })
            }
            None => None,
        };
        signals.push(tocsin_store::NewSignal { signal, labels, state: signal_state, provenance });
    }
    let provenance = Provenance { source: source.to_owned(), reference: caller.0.name.clone(), detail: body.detail };
    let added = state.store.add_signals(name.as_str(), &signals, &provenance).await?;
    // Into the matcher before the answer: a lookup right after an addition sees it.
    follow_now(&state).await;
    Ok(Json(AddSignalsResult { added: added.added, known: added.known }))
}

/// What the banks' handlers and workers share.
#[derive(Debug)]
pub struct Runtime {
    /// Every bank's signals in memory, for scans and lookups.
    pub matcher: Arc<std::sync::RwLock<Matcher>>,
    /// Held while the matcher follows the store, so that follows do not interleave.
    pub follow: tokio::sync::Mutex<()>,
    /// Wakes the bank puller when a subscription is made.
    pub pulls: tokio::sync::Notify,
    /// Places for scans, running and waiting (`Config::scan_queue`); when none is free, 503.
    pub scan_queue: tokio::sync::Semaphore,
    /// Scans hashing at once: one a core.
    pub scan_workers: tokio::sync::Semaphore,
    /// The most pixels a scanned image may have (`Config::scan_max_pixels`, or what fits memory).
    pub scan_max_pixels: u64,
    /// Places for video scans (`Config::scan_video_queue`), taken before a general place.
    pub video_scans: tokio::sync::Semaphore,
}

impl Runtime {
    /// An empty matcher (`follow` loads it) and the scans' places for this machine.
    pub fn new(config: &crate::Config) -> Self {
        let scan_max_pixels = config.scan_max_pixels.unwrap_or_else(|| default_scan_max_pixels(scan_workers(), memory_budget()));
        Self {
            matcher: Default::default(),
            follow: tokio::sync::Mutex::new(()),
            pulls: tokio::sync::Notify::new(),
            scan_queue: tokio::sync::Semaphore::new(scan_workers() + config.scan_queue),
            scan_workers: tokio::sync::Semaphore::new(scan_workers()),
            scan_max_pixels,
            video_scans: tokio::sync::Semaphore::new(config.scan_video_queue),
        }
    }
}

/// The banks API: banks and signals, lookups and scans, sharing, matches, for [`crate::api`] to merge.
pub(crate) fn routes() -> axum::Router<Arc<crate::State>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/banks", get(list).post(create))
        .route("/v1/banks/{name}", get(show))
        .route("/v1/banks/{name}/signals", get(signals).post(add).layer(axum::extract::DefaultBodyLimit::max(MAX_SIGNALS_BYTES)))
        .route("/v1/banks/{name}/signals/{num}/state", post(sharing::set_state))
        .route("/v1/banks/{name}/subscribers", post(sharing::publish))
        .route("/v1/banks/{name}/changes", get(sharing::changes))
        .route("/v1/subscriptions", get(sharing::subscriptions).post(sharing::subscribe))
        .route("/v1/matches", get(matches::list))
        .route("/v1/matches/{id}/decision", post(matches::decide))
        .route("/v1/lookup", post(lookup).layer(axum::extract::DefaultBodyLimit::max(MAX_SIGNALS_BYTES)))
        // The body's limit depends on its type: `scan` reads it with its own.
        .route("/v1/scan", post(scan).layer(axum::extract::DefaultBodyLimit::disable()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_pixel_limit_fits_every_hashing_thread_in_half_the_memory() {
        let gib = 1u64 << 30;
        assert_eq!(super::default_scan_max_pixels(2, Some(24 * gib)), tocsin_hash::decode::DEFAULT_MAX_PIXELS, "Pillow's limit fits");
        assert_eq!(super::default_scan_max_pixels(2, Some(2 * gib)), 67_108_864, "a 2 GiB container: 2 threads x 8 bytes x 64 Mpx = 1 GiB");
        assert_eq!(super::default_scan_max_pixels(64, Some(24 * gib)), 25_165_824, "64 threads share 12 GiB");
        assert_eq!(super::default_scan_max_pixels(4, None), tocsin_hash::decode::DEFAULT_MAX_PIXELS, "memory unknown");
    }
}
