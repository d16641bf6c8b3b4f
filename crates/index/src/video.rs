//! Video matching by shares of matched frames (Meta's vPDQ rule): two frames match when both are
//! trusted (quality at least the minimum) and their hashes are within a distance; a video is
//! judged by the share of the query's trusted frames that match some frame of the banked video,
//! and the share of the banked video's trusted frames that match some frame of the query.
//!
//! [`shares`] is the reference's brute force (`matchTwoHashBrute` in Meta's C++, with the
//! distance inclusive as Tocsin's thresholds are everywhere; on Meta's shipped files the result
//! is the same either way). [`VideoIndex`] keeps every banked video's trusted frames in one
//! [`Index`], so a query's frames find their candidate videos in one pass; its shares are
//! exactly those of [`shares`].

use std::collections::{HashMap, HashSet};

use crate::{Bits, Index, distance};

/// One hashed frame: its PDQ hash and quality (0 to 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The PDQ hash.
    pub bits: Bits,
    /// PDQ's quality; frames below the minimum are not trusted and never match.
    pub quality: u8,
}

/// What two videos share, as counts of trusted frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shares {
    /// Trusted query frames matching some trusted frame of the other video.
    pub query_matched: u32,
    /// Trusted query frames.
    pub query_frames: u32,
    /// Trusted frames of the other video matching some trusted query frame.
    pub target_matched: u32,
    /// Trusted frames of the other video.
    pub target_frames: u32,
}

impl Shares {
    /// The share of the query's trusted frames matched, in percent; 0 when either video has no
    /// trusted frame (as the reference).
    pub fn query_percent(&self) -> f64 {
        self.percent(self.query_matched, self.query_frames)
    }

    /// The share of the other video's trusted frames matched, in percent; 0 when either video
    /// has no trusted frame.
    pub fn target_percent(&self) -> f64 {
        self.percent(self.target_matched, self.target_frames)
    }

    fn percent(&self, matched: u32, of: u32) -> f64 {
        if self.query_frames == 0 || self.target_frames == 0 { 0.0 } else { f64::from(matched) * 100.0 / f64::from(of) }
    }
}

/// Meta's brute-force comparison of two videos' frames.
pub fn shares(query: &[Frame], target: &[Frame], radius: u32, min_quality: u8) -> Shares {
    let trusted = |frames: &[Frame]| frames.iter().filter(|f| f.quality >= min_quality).map(|f| f.bits).collect::<Vec<_>>();
    let (q, t) = (trusted(query), trusted(target));
    let near = |a: &Bits, others: &[Bits]| others.iter().any(|b| distance(a, b) <= radius);
    Shares {
        query_matched: count(q.iter().filter(|a| near(a, &t))),
        query_frames: count(q.iter()),
        target_matched: count(t.iter().filter(|b| near(b, &q))),
        target_frames: count(t.iter()),
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// Bits of an index id that number a frame within its video; the video's key sits above them.
const FRAME_BITS: u32 = 24;

/// The most trusted frames a video may bring to the index (2^24: over 77 hours at 60 frames a
/// second).
pub const MAX_FRAMES: usize = 1 << FRAME_BITS;

/// The largest video key (2^40 - 1).
pub const MAX_VIDEO_KEY: u64 = (1 << (64 - FRAME_BITS)) - 1;

/// Why a video was not indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoIndexError {
    /// The key does not fit.
    #[error("video key {0} is above {MAX_VIDEO_KEY}")]
    Key(u64),
    /// Too many trusted frames.
    #[error("{0} trusted frames: at most {MAX_FRAMES}")]
    Frames(usize),
}

/// A video that a query's frames found, with what the two share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoMatch {
    /// The key the video was indexed under.
    pub video: u64,
    /// The counts behind the two percentages.
    pub shares: Shares,
    /// Which of the query's frames matched (their places in the query as given), in order:
    /// the key frames a moderator looks at.
    pub query_hits: Vec<u32>,
}

/// Every banked video's trusted frames in one exact Hamming index, each stored under its
/// video's key and its place among the video's trusted frames.
#[derive(Debug, Clone)]
pub struct VideoIndex {
    frames: Index,
    /// Trusted frames of each video indexed.
    videos: HashMap<u64, u32>,
    min_quality: u8,
}

impl VideoIndex {
    /// An empty index that keeps frames of at least `min_quality`.
    pub fn new(min_quality: u8) -> Self {
        Self { frames: Index::new(), videos: HashMap::new(), min_quality }
    }

    /// Builds an index of `videos` (key and frames) in one go (packed tables).
    pub fn build<'a>(min_quality: u8, videos: impl IntoIterator<Item = (u64, &'a [Frame])>) -> Result<Self, VideoIndexError> {
        let mut pairs = Vec::new();
        let mut counts = HashMap::new();
        for (video, frames) in videos {
            let before = pairs.len();
            push_trusted(video, frames, min_quality, &mut pairs)?;
            counts.insert(video, (pairs.len() - before) as u32);
        }
        Ok(Self { frames: Index::from_pairs(pairs), videos: counts, min_quality })
    }

    /// Adds a video (replacing any video indexed under the same key).
    pub fn insert(&mut self, video: u64, frames: &[Frame]) -> Result<(), VideoIndexError> {
        let mut pairs = Vec::new();
        push_trusted(video, frames, self.min_quality, &mut pairs)?;
        self.remove(video);
        self.videos.insert(video, pairs.len() as u32);
        for (id, bits) in pairs {
            self.frames.insert(id, bits);
        }
        Ok(())
    }

    /// Removes a video; false when it was not indexed.
    pub fn remove(&mut self, video: u64) -> bool {
        if self.videos.remove(&video).is_none() {
            return false;
        }
        self.frames.remove_ids(video << FRAME_BITS..=(video << FRAME_BITS | (MAX_FRAMES as u64 - 1)));
        true
    }

    /// Number of videos indexed.
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// Whether no video is indexed.
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Trusted frames indexed, over every video.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// Every video sharing at least one frame match with `query` within `radius`, with the
    /// counts [`shares`] would give, by key.
    pub fn search(&self, query: &[Frame], radius: u32) -> Vec<VideoMatch> {
        // The trusted frames, with their places in the query as given.
        let trusted: Vec<(u32, &Frame)> =
            query.iter().enumerate().filter(|(_, f)| f.quality >= self.min_quality).map(|(i, f)| (i as u32, f)).collect();
        // Per video: the query frames that found it, and its frames found.
        let mut found: HashMap<u64, (HashSet<u32>, HashSet<u32>)> = HashMap::new();
        for &(q, frame) in &trusted {
            for m in self.frames.search(&frame.bits, radius) {
                let (video, place) = (m.id >> FRAME_BITS, (m.id & (MAX_FRAMES as u64 - 1)) as u32);
                let entry = found.entry(video).or_default();
                entry.0.insert(q);
                entry.1.insert(place);
            }
        }
        let query_frames = count(trusted.iter());
        let mut out: Vec<VideoMatch> = found
            .into_iter()
            .map(|(video, (queries, places))| {
                let mut query_hits: Vec<u32> = queries.into_iter().collect();
                query_hits.sort_unstable();
                VideoMatch {
                    video,
                    shares: Shares {
                        query_matched: count(query_hits.iter()),
                        query_frames,
                        target_matched: count(places.iter()),
                        target_frames: self.videos.get(&video).copied().unwrap_or_default(),
                    },
                    query_hits,
                }
            })
            .collect();
        out.sort_unstable_by_key(|m| m.video);
        out
    }
}

fn push_trusted(video: u64, frames: &[Frame], min_quality: u8, pairs: &mut Vec<(u64, Bits)>) -> Result<(), VideoIndexError> {
    if video > MAX_VIDEO_KEY {
        return Err(VideoIndexError::Key(video));
    }
    let trusted = frames.iter().filter(|f| f.quality >= min_quality);
    let n = trusted.clone().count();
    if n > MAX_FRAMES {
        return Err(VideoIndexError::Frames(n));
    }
    pairs.extend(trusted.enumerate().map(|(place, f)| (video << FRAME_BITS | place as u64, f.bits)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(seed: u64, n: usize, quality: u8) -> Vec<Frame> {
        crate::test_hashes(seed, n).into_iter().map(|bits| Frame { bits, quality }).collect()
    }

    #[test]
    fn a_video_against_itself_shares_every_trusted_frame() {
        let mut v = frames(1, 10, 100);
        v[3].quality = 49;
        let s = shares(&v, &v, 0, 50);
        assert_eq!(s, Shares { query_matched: 9, query_frames: 9, target_matched: 9, target_frames: 9 });
        assert_eq!(s.query_percent(), 100.0);
    }

    #[test]
    fn no_trusted_frame_on_either_side_gives_zero_percent() {
        let (a, b) = (frames(1, 4, 100), frames(2, 4, 10));
        assert_eq!(shares(&a, &b, 256, 50).query_percent(), 0.0);
        assert_eq!(shares(&b, &a, 256, 50).target_percent(), 0.0);
    }

    #[test]
    fn a_removed_video_is_no_longer_found_and_its_keys_neighbours_stay() {
        let (a, b) = (frames(1, 30, 80), frames(2, 30, 80));
        let mut index = VideoIndex::build(50, [(7, &a[..]), (8, &b[..])]).expect("fits");
        assert_eq!(index.search(&a, 0).iter().map(|m| m.video).collect::<Vec<_>>(), [7]);
        assert!(index.remove(7));
        assert!(index.search(&a, 0).is_empty());
        assert_eq!(index.search(&b, 0).len(), 1);
        assert_eq!(index.frames(), 30);
    }

    #[test]
    fn keys_beyond_the_id_space_are_refused() {
        let mut index = VideoIndex::new(50);
        assert_eq!(index.insert(MAX_VIDEO_KEY + 1, &frames(1, 2, 90)), Err(VideoIndexError::Key(MAX_VIDEO_KEY + 1)));
        assert!(index.is_empty());
    }
}
