//! vPDQ (Meta's video PDQ, ThreatExchange `vpdq/` 0.2.5): PDQ on sampled whole frames, each
//! feature `{frame number, quality, hash, timestamp}`. No decoding here: the caller hands in
//! decoded 4:2:0 frames in decoder output order (the boundary the crate is handed frames
//! through), and [`VpdqHasher`] converts each sampled frame to RGB24 exactly as the reference's
//! portable path does ([`yuv`]) and hashes it with the crate's PDQ, its luma summed in f32 as
//! Meta's C++ does ([`crate::pdq::Hasher::hash_rgb_single`]).

pub mod yuv;

use crate::pdq::{Hasher, PdqHash, Quality};

/// A stream's frame rate as its container states it (`avg_frame_rate`), a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRate {
    /// Frames...
    pub num: u32,
    /// ...per this many seconds.
    pub den: u32,
}

impl FrameRate {
    /// Frames a second, as the reference computes with it (a double).
    pub fn per_second(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

/// What a hasher needs to know of a video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamInfo {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The stream's average frame rate.
    pub frame_rate: FrameRate,
    /// Full-range ("JPEG", `yuvj420p`) samples rather than limited range.
    pub full_range: bool,
}

/// Why a stream cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VideoError {
    /// The frame rate is zero or undefined.
    #[error("the stream states no frame rate")]
    NoFrameRate,
    /// Width or height odd, zero, or too small for PDQ.
    #[error("{0}x{1} frames: vPDQ needs even dimensions of at least 6 pixels")]
    Dimensions(usize, usize),
    /// A frame's planes are not the stream's size.
    #[error("a frame's planes do not match {0}x{1}")]
    FrameSize(usize, usize),
    /// `seconds_per_hash` is negative or not a number.
    #[error("seconds per hash must be 0 (every frame) or more")]
    Interval,
}

/// One hashed frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    /// The frame's number in decoder output order, from 0.
    pub frame: u64,
    /// Its PDQ hash.
    pub hash: PdqHash,
    /// Its PDQ quality.
    pub quality: Quality,
    /// `frame / frames per second`, in seconds.
    pub timestamp: f64,
}

impl Feature {
    /// The line the reference tool writes for it: `frame,quality,hex,timestamp` with the
    /// timestamp to three decimals.
    pub fn reference_line(&self) -> String {
        format!("{},{},{},{:.3}", self.frame, self.quality, self.hash, self.timestamp)
    }
}

/// Hashes a stream's frames as they are decoded.
pub struct VpdqHasher {
    /// A frame is hashed when its number is a multiple of this.
    every: u64,
    next: u64,
    frames: FrameHasher,
}

/// The step between the frames the reference hashes: `int(seconds_per_hash * fps)`, 0 taken
/// as 1 (every frame).
pub fn sampling_step(info: &StreamInfo, seconds_per_hash: f64) -> Result<u64, VideoError> {
    if info.frame_rate.num == 0 || info.frame_rate.den == 0 {
        return Err(VideoError::NoFrameRate);
    }
    if seconds_per_hash.is_nan() || seconds_per_hash < 0.0 {
        return Err(VideoError::Interval);
    }
    // The reference truncates the product to an int and takes 0 as 1.
    Ok(((seconds_per_hash * info.frame_rate.per_second()) as u64).max(1))
}

impl VpdqHasher {
    /// A hasher for `info`, hashing one frame every `seconds_per_hash` (0: every frame), as
    /// the reference samples: frame n when `n % int(seconds_per_hash * fps) == 0`.
    pub fn new(info: StreamInfo, seconds_per_hash: f64) -> Result<Self, VideoError> {
        let every = sampling_step(&info, seconds_per_hash)?;
        Ok(Self { every, next: 0, frames: FrameHasher::new(info)? })
    }

    /// Takes the next decoded frame's planes (rows packed: `y` of width x height, `u` and `v`
    /// of half each way); its feature when it is one the sampling keeps.
    pub fn push(&mut self, y: &[u8], u: &[u8], v: &[u8]) -> Result<Option<Feature>, VideoError> {
        self.frames.check(y, u, v)?;
        let frame = self.next;
        self.next += 1;
        if !frame.is_multiple_of(self.every) {
            return Ok(None);
        }
        self.frames.hash(frame, y, u, v).map(Some)
    }

    /// Frames seen so far.
    pub fn frames(&self) -> u64 {
        self.next
    }
}

/// Hashes single frames whose numbers the caller knows (frames sampled before they reach this
/// process, or hashed on several threads): each conversion and hash exactly as
/// [`VpdqHasher::push`] does for the same frame.
pub struct FrameHasher {
    info: StreamInfo,
    convert: yuv::YuvToRgb,
    pdq: Hasher,
}

impl FrameHasher {
    /// A frame hasher for `info`'s frames.
    pub fn new(info: StreamInfo) -> Result<Self, VideoError> {
        if info.frame_rate.num == 0 || info.frame_rate.den == 0 {
            return Err(VideoError::NoFrameRate);
        }
        if !yuv::YuvToRgb::supports(info.width, info.height) || info.width < 6 || info.height < 6 {
            return Err(VideoError::Dimensions(info.width, info.height));
        }
        Ok(Self { info, convert: yuv::YuvToRgb::new(info.full_range), pdq: Hasher::new() })
    }

    /// Bytes of one frame's three planes, packed one after the other.
    pub fn frame_bytes(&self) -> usize {
        let (width, height) = (self.info.width, self.info.height);
        width * height + 2 * width.div_ceil(2) * height.div_ceil(2)
    }

    fn check(&self, y: &[u8], u: &[u8], v: &[u8]) -> Result<(), VideoError> {
        let (width, height) = (self.info.width, self.info.height);
        let chroma = width.div_ceil(2) * height.div_ceil(2);
        if y.len() != width * height || u.len() != chroma || v.len() != chroma {
            return Err(VideoError::FrameSize(width, height));
        }
        Ok(())
    }

    /// The feature of frame number `frame`, given its planes.
    pub fn hash(&mut self, frame: u64, y: &[u8], u: &[u8], v: &[u8]) -> Result<Feature, VideoError> {
        self.check(y, u, v)?;
        let (width, height) = (self.info.width, self.info.height);
        // vPDQ's frame hasher is Meta's C++: RGB24 from swscale's C path, luma summed in f32;
        // the luma is computed from the planes as the filter reads rows, the RGB never stored.
        let convert = &self.convert;
        let rows = |first: usize, out: &mut [f32]| yuv::luma_rows(convert, width, y, u, v, first, out);
        let out = self.pdq.hash_luma_rows(width, height, &rows);
        Ok(Feature { frame, hash: out.hash, quality: out.quality, timestamp: frame as f64 / self.info.frame_rate.per_second() })
    }

    /// [`Self::hash`] of a frame given as its three planes packed (`y`, then `u`, then `v`).
    pub fn hash_packed(&mut self, frame: u64, planes: &[u8]) -> Result<Feature, VideoError> {
        let luma = self.info.width * self.info.height;
        let chroma = self.info.width.div_ceil(2) * self.info.height.div_ceil(2);
        if planes.len() != luma + 2 * chroma {
            return Err(VideoError::FrameSize(self.info.width, self.info.height));
        }
        let (y, uv) = planes.split_at(luma);
        let (u, v) = uv.split_at(chroma);
        self.hash(frame, y, u, v)
    }
}
