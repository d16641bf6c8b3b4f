//! vPDQ (Meta's video PDQ, ThreatExchange `vpdq/` 0.2.5): PDQ on sampled whole frames, each
//! feature `{frame number, quality, hash, timestamp}`. No decoding here: the caller hands in
//! decoded 4:2:0 frames in decoder output order (the boundary the crate is handed frames
//! through), and [`VpdqHasher`] converts each sampled frame to RGB24 exactly as the reference's
//! portable path does ([`yuv`]) and hashes it with the crate's PDQ, its luma summed in f32 as
//! Meta's C++ does ([`crate::pdq::Hasher::hash_rgb_single`]).

pub mod yuv;

use crate::pdq::{Hasher, PdqHash, Quality, RgbView};

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
    info: StreamInfo,
    /// A frame is hashed when its number is a multiple of this.
    every: u64,
    next: u64,
    convert: yuv::YuvToRgb,
    rgb: Vec<u8>,
    pdq: Hasher,
}

impl VpdqHasher {
    /// A hasher for `info`, hashing one frame every `seconds_per_hash` (0: every frame), as
    /// the reference samples: frame n when `n % int(seconds_per_hash * fps) == 0`.
    pub fn new(info: StreamInfo, seconds_per_hash: f64) -> Result<Self, VideoError> {
        if info.frame_rate.num == 0 || info.frame_rate.den == 0 {
            return Err(VideoError::NoFrameRate);
        }
        if !yuv::YuvToRgb::supports(info.width, info.height) || info.width < 6 || info.height < 6 {
            return Err(VideoError::Dimensions(info.width, info.height));
        }
        if seconds_per_hash.is_nan() || seconds_per_hash < 0.0 {
            return Err(VideoError::Interval);
        }
        // The reference truncates the product to an int and takes 0 as 1.
        let every = ((seconds_per_hash * info.frame_rate.per_second()) as u64).max(1);
        Ok(Self {
            info,
            every,
            next: 0,
            convert: yuv::YuvToRgb::new(info.full_range),
            rgb: vec![0; info.width * info.height * 3],
            pdq: Hasher::new(),
        })
    }

    /// Takes the next decoded frame's planes (rows packed: `y` of width x height, `u` and `v`
    /// of half each way); its feature when it is one the sampling keeps.
    pub fn push(&mut self, y: &[u8], u: &[u8], v: &[u8]) -> Result<Option<Feature>, VideoError> {
        let (width, height) = (self.info.width, self.info.height);
        let chroma = width.div_ceil(2) * height.div_ceil(2);
        if y.len() != width * height || u.len() != chroma || v.len() != chroma {
            return Err(VideoError::FrameSize(width, height));
        }
        let frame = self.next;
        self.next += 1;
        if !frame.is_multiple_of(self.every) {
            return Ok(None);
        }
        self.convert.convert(width, height, y, u, v, &mut self.rgb);
        let view = RgbView::new(width, height, &self.rgb).map_err(|_| VideoError::FrameSize(width, height))?;
        // vPDQ's frame hasher is Meta's C++: luma summed in f32.
        let out = self.pdq.hash_rgb_single(view);
        Ok(Some(Feature { frame, hash: out.hash, quality: out.quality, timestamp: frame as f64 / self.info.frame_rate.per_second() }))
    }

    /// Frames seen so far.
    pub fn frames(&self) -> u64 {
        self.next
    }
}
