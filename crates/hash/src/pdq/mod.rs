//! PDQ, Meta's 256-bit perceptual image hash, computed bit for bit as the reference does.
//!
//! Pipeline: RGB to luma, two passes of the Jarosz box filter, decimation to 64x64, quality from
//! the gradients, a 16x16 DCT, and one bit per coefficient above the median. The dihedral variants
//! (rotations and mirrors) come from the same DCT. `../shared/reference/pdq-spec.md` gives each
//! step; the tests check every one against the reference's outputs.

mod dct;
mod hash256;
mod jarosz;
pub(crate) mod luma;
pub(crate) mod simd;

pub use dct::{Dct16, Dihedral};
pub use hash256::{ParseHashError, PdqHash};

/// Hashes within this Hamming distance are the same picture (PDQ's published threshold).
pub const MATCH_DISTANCE: u32 = 31;

/// Hashes of lower quality than this are not to be trusted for matching: the image is too flat
/// for its bits to mean much (python-threatexchange returns no hash below it).
pub const MIN_TRUSTED_QUALITY: u8 = 50;

/// PDQ's quality score, 0 (flat, meaningless) to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Quality(u8);

impl Quality {
    /// The score, 0..=100.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Whether the hash is good enough to match on (`>= MIN_TRUSTED_QUALITY`).
    pub const fn is_trusted(self) -> bool {
        self.0 >= MIN_TRUSTED_QUALITY
    }
}

impl std::fmt::Display for Quality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A hash and its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqOutput {
    /// The 256-bit hash.
    pub hash: PdqHash,
    /// How much the hash can be trusted.
    pub quality: Quality,
}

/// The eight dihedral hashes of one image (indexed in the order of [`Dihedral::ALL`]) and its
/// quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralOutput {
    /// One hash per symmetry, in the order of [`Dihedral::ALL`].
    pub hashes: [PdqHash; 8],
    /// The quality, shared by all eight.
    pub quality: Quality,
}

impl DihedralOutput {
    /// The hash of one symmetry.
    pub fn get(&self, which: Dihedral) -> PdqHash {
        self.hashes[which as usize]
    }
}

/// The 16x16 DCT behind a hash, for checking against the reference's floats.
#[derive(Debug, Clone, PartialEq)]
pub struct DctOutput {
    /// The coefficients, row-major.
    pub coefficients: Dct16,
    /// The threshold: the lower median of the coefficients.
    pub median: f32,
    /// The quality.
    pub quality: Quality,
}

/// Why a pixel buffer cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixelBufferError {
    /// The buffer length is not `width * height * channels`.
    #[error("pixel buffer holds {actual} bytes, expected {expected} for {width}x{height} with {channels} channel(s)")]
    Length {
        /// Bytes given.
        actual: usize,
        /// Bytes implied by the dimensions.
        expected: usize,
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// Channels per pixel.
        channels: usize,
    },
    /// `width * height` does not fit in memory.
    #[error("image of {width}x{height} pixels is too large to address")]
    TooLarge {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
    },
}

fn checked_len(width: usize, height: usize, channels: usize, actual: usize) -> Result<(), PixelBufferError> {
    let expected = width.checked_mul(height).and_then(|n| n.checked_mul(channels)).ok_or(PixelBufferError::TooLarge { width, height })?;
    if expected == actual { Ok(()) } else { Err(PixelBufferError::Length { actual, expected, width, height, channels }) }
}

/// Borrowed interleaved 8-bit RGB pixels, row-major, no padding; the length is checked once here.
#[derive(Debug, Clone, Copy)]
pub struct RgbView<'a> {
    width: usize,
    height: usize,
    pixels: &'a [u8],
}

impl<'a> RgbView<'a> {
    /// Wraps `pixels`, which must hold exactly `width * height * 3` bytes.
    pub fn new(width: usize, height: usize, pixels: &'a [u8]) -> Result<Self, PixelBufferError> {
        checked_len(width, height, 3, pixels.len())?;
        Ok(Self { width, height, pixels })
    }

    /// Width in pixels.
    pub const fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub const fn height(&self) -> usize {
        self.height
    }
}

/// Borrowed f32 luma, row-major; the reference's greyscale entry point takes it as is.
#[derive(Debug, Clone, Copy)]
pub struct LumaView<'a> {
    width: usize,
    height: usize,
    pixels: &'a [f32],
}

impl<'a> LumaView<'a> {
    /// Wraps `pixels`, which must hold exactly `width * height` values.
    pub fn new(width: usize, height: usize, pixels: &'a [f32]) -> Result<Self, PixelBufferError> {
        checked_len(width, height, 1, pixels.len())?;
        Ok(Self { width, height, pixels })
    }
}

/// Resizing before hashing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Resize {
    /// Hash every pixel, as the reference outputs (and python-threatexchange, and Meta's Java)
    /// do.
    #[default]
    FullSize,
    /// What Meta's C++ command-line hasher (`pdq-photo-hasher`) does: an image larger than 512
    /// on either side is shrunk to exactly 512x512 by nearest neighbour, aspect ratio not kept.
    /// Faster on large photos, and 2 to 6 bits away from the full-size hash.
    CppCli512,
}

/// Pixels made by a [`Resize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResizedImage {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl ResizedImage {
    /// The resized pixels.
    pub fn view(&self) -> RgbView<'_> {
        RgbView { width: self.width, height: self.height, pixels: &self.pixels }
    }
}

impl Resize {
    /// The resized image, or `None` when this resize leaves `image` as it is.
    pub fn apply(self, image: RgbView<'_>) -> Option<ResizedImage> {
        const SIDE: usize = 512;
        match self {
            Resize::FullSize => None,
            Resize::CppCli512 if image.width <= SIDE && image.height <= SIDE => None,
            Resize::CppCli512 => {
                // CImg's nearest-neighbour resize: output x takes input floor(x * W / 512).
                let mut pixels = Vec::with_capacity(SIDE * SIDE * 3);
                for y in 0..SIDE {
                    let row = &image.pixels[(y * image.height / SIDE) * image.width * 3..];
                    for x in 0..SIDE {
                        let at = (x * image.width / SIDE) * 3;
                        pixels.extend_from_slice(&row[at..at + 3]);
                    }
                }
                Some(ResizedImage { width: SIDE, height: SIDE, pixels })
            }
        }
    }
}

/// A PDQ hasher that keeps its working memory between images.
///
/// The filter works a few rows at a time, so its buffers are small (about a megabyte for a
/// 12-megapixel photo); one `Hasher` per thread reuses them from one image to the next.
#[derive(Default)]
pub struct Hasher {
    scratch: jarosz::Scratch,
}

/// Whether the 64x64 input may skip the filter: the plain entry point does, the dihedral one
/// does not (a quirk of the reference that changes bits, so it is kept).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bypass {
    At64,
    Never,
}

impl Hasher {
    /// A hasher with no memory reserved yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hash of an RGB image (the reference's `pdqHash256FromFloatLuma` after RGB to luma).
    pub fn hash_rgb(&mut self, image: RgbView<'_>) -> PdqOutput {
        to_output(self.dct_rgb_with(image, Bypass::At64))
    }

    /// The eight dihedral hashes of an RGB image (the reference's `pdqDihedralHash256esFromFloatLuma`).
    pub fn hash_rgb_dihedral(&mut self, image: RgbView<'_>) -> DihedralOutput {
        match self.dct_rgb_with(image, Bypass::Never) {
            None => DihedralOutput { hashes: [PdqHash::default(); 8], quality: Quality(0) },
            Some((coefficients, quality)) => {
                DihedralOutput { hashes: Dihedral::ALL.map(|d| dct::threshold(&d.transform(&coefficients))), quality: Quality(quality) }
            }
        }
    }

    /// The hash of an RGB image with its luma summed in f32, as Meta's C++ code (and so vPDQ)
    /// computes it; [`Hasher::hash_rgb`] sums in f64, as the Python binding does. The two agree
    /// on nearly every image, not on all.
    pub fn hash_rgb_single(&mut self, image: RgbView<'_>) -> PdqOutput {
        to_output(dct_of(jarosz::Source::RgbSingle(image.pixels), image.height, image.width, &mut self.scratch, Bypass::At64))
    }

    /// The hash of a `width` x `height` image whose luma `rows` makes a few rows at a time:
    /// `rows(first, out)` fills `out` (whole rows) from row `first` on. For frames kept in
    /// another form (a video's YUV planes), converted as the filter reads them, never whole.
    pub fn hash_luma_rows(&mut self, width: usize, height: usize, rows: &dyn Fn(usize, &mut [f32])) -> PdqOutput {
        to_output(dct_of(jarosz::Source::Rows(rows), height, width, &mut self.scratch, Bypass::At64))
    }

    /// The hash of a luma image given as floats.
    pub fn hash_luma(&mut self, image: LumaView<'_>) -> PdqOutput {
        to_output(dct_of(jarosz::Source::Luma(image.pixels), image.height, image.width, &mut self.scratch, Bypass::At64))
    }

    /// The DCT coefficients, median and quality behind [`Hasher::hash_rgb`]; `None` when the image
    /// is under 5 pixels on a side (its hash is all zeros, quality 0).
    pub fn dct_rgb(&mut self, image: RgbView<'_>) -> Option<DctOutput> {
        self.dct_rgb_with(image, Bypass::At64).map(|(coefficients, q)| DctOutput {
            median: dct::median(&coefficients),
            coefficients,
            quality: Quality(q),
        })
    }

    fn dct_rgb_with(&mut self, image: RgbView<'_>, bypass: Bypass) -> Option<(Dct16, u8)> {
        dct_of(jarosz::Source::Rgb(image.pixels), image.height, image.width, &mut self.scratch, bypass)
    }
}

fn to_output(dct: Option<(Dct16, u8)>) -> PdqOutput {
    match dct {
        None => PdqOutput { hash: PdqHash::default(), quality: Quality(0) },
        Some((c, q)) => PdqOutput { hash: dct::threshold(&c), quality: Quality(q) },
    }
}

/// The reference's `pdqHash256FromFloatLuma` up to the DCT: `None` for images under 5 pixels on a
/// side, which the reference hashes as all zeros with quality 0.
fn dct_of(source: jarosz::Source<'_>, rows: usize, cols: usize, scratch: &mut jarosz::Scratch, bypass: Bypass) -> Option<(Dct16, u8)> {
    if rows < 5 || cols < 5 {
        return None;
    }
    let mut buf = [0.0f32; 4096];
    match source {
        jarosz::Source::Rgb(rgb) if bypass == Bypass::At64 && rows == 64 && cols == 64 => luma::rgb_to_luma(rgb, &mut buf),
        jarosz::Source::RgbSingle(rgb) if bypass == Bypass::At64 && rows == 64 && cols == 64 => luma::rgb_to_luma_single(rgb, &mut buf),
        jarosz::Source::Luma(luma) if bypass == Bypass::At64 && rows == 64 && cols == 64 => buf.copy_from_slice(luma),
        jarosz::Source::Rows(fill) if bypass == Bypass::At64 && rows == 64 && cols == 64 => fill(0, &mut buf),
        _ => jarosz::filter_and_decimate(source, rows, cols, scratch, &mut buf),
    }
    Some((dct::dct64_to_16(&buf), dct::quality(&buf)))
}

/// The hash of an RGB image, with a fresh [`Hasher`]; prefer one `Hasher` per thread for many.
pub fn hash_rgb(image: RgbView<'_>) -> PdqOutput {
    Hasher::new().hash_rgb(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_under_five_pixels_on_a_side_hash_to_zero_with_quality_zero() {
        let px = vec![200u8; 4 * 100 * 3];
        let out = hash_rgb(RgbView::new(4, 100, &px).expect("sized"));
        assert_eq!(out.hash, PdqHash::default());
        assert_eq!(out.quality.get(), 0);
        let d = Hasher::new().hash_rgb_dihedral(RgbView::new(100, 4, &px).expect("sized"));
        assert!(d.hashes.iter().all(|h| *h == PdqHash::default()));
    }

    #[test]
    fn a_wrongly_sized_buffer_is_refused() {
        let err = RgbView::new(10, 10, &[0u8; 299]).expect_err("too short");
        assert!(err.to_string().contains("299 bytes, expected 300"), "{err}");
        assert!(RgbView::new(usize::MAX, 3, &[]).is_err());
    }

    #[test]
    fn a_64x64_image_skips_the_filter_only_in_the_plain_entry_point() {
        let px: Vec<u8> = (0..64 * 64 * 3).map(|n| ((n * 7919) % 251) as u8).collect();
        let view = RgbView::new(64, 64, &px).expect("sized");
        let mut h = Hasher::new();
        let plain = h.hash_rgb(view);
        let dihedral = h.hash_rgb_dihedral(view);
        let mut luma = vec![0.0; 4096];
        luma::rgb_to_luma(&px, &mut luma);
        let raw: [f32; 4096] = luma.clone().try_into().expect("4096");
        assert_eq!(plain.hash, dct::threshold(&dct::dct64_to_16(&raw)));
        let mut filtered = [0.0f32; 4096];
        jarosz::filter_and_decimate(jarosz::Source::Luma(&luma), 64, 64, &mut jarosz::Scratch::default(), &mut filtered);
        assert_ne!(raw, filtered, "a window of one still rounds differently");
        assert_eq!(dihedral.get(Dihedral::Original), dct::threshold(&dct::dct64_to_16(&filtered)));
    }

    #[test]
    fn a_reused_hasher_gives_the_same_answer_as_a_fresh_one() {
        let big: Vec<u8> = (0..300 * 200 * 3).map(|n| ((n * 31) % 256) as u8).collect();
        let small: Vec<u8> = (0..70 * 90 * 3).map(|n| ((n * 17) % 256) as u8).collect();
        let mut h = Hasher::new();
        let first = h.hash_rgb(RgbView::new(300, 200, &big).expect("sized"));
        let second = h.hash_rgb(RgbView::new(70, 90, &small).expect("sized"));
        assert_eq!(first, hash_rgb(RgbView::new(300, 200, &big).expect("sized")));
        assert_eq!(second, hash_rgb(RgbView::new(70, 90, &small).expect("sized")));
    }
}
