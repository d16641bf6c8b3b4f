//! Content to signals: PDQ perceptual hashes of images, bit-exact with Meta's reference.
//!
//! This crate does no I/O and no async: callers hand in bytes (an uploaded file, a file read by
//! the CLI) or already-decoded pixels, and get hashes back. It is the compute core that the CLI
//! and the server share.
//!
//! ```
//! use tocsin_hash::pdq::{Hasher, RgbView};
//!
//! // A 100x80 gradient as interleaved RGB.
//! let pixels: Vec<u8> = (0..100 * 80).flat_map(|n| [(n % 100) as u8 * 2, (n / 100) as u8 * 3, 7]).collect();
//! let out = Hasher::new().hash_rgb(RgbView::new(100, 80, &pixels)?);
//! assert_eq!(out.hash.to_string().len(), 64);
//! # Ok::<(), tocsin_hash::pdq::PixelBufferError>(())
//! ```

pub mod decode;
pub mod pdq;
pub mod video;

pub use decode::{DecodeError, DecodeOptions, Format, RgbImage, decode_rgb};

/// One image's PDQ hash together with what was learned decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHash {
    /// The hash and quality.
    pub pdq: pdq::PdqOutput,
    /// The eight dihedral hashes, when asked for.
    pub dihedral: Option<pdq::DihedralOutput>,
    /// Width of the hashed pixels (after any resize).
    pub width: u32,
    /// Height of the hashed pixels (after any resize).
    pub height: u32,
    /// The container format.
    pub format: Format,
}

/// What to compute besides the plain hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashOptions {
    /// Also compute the seven rotations and mirrors.
    pub dihedral: bool,
    /// Resize before hashing (the default is none: the reference hashes full size).
    pub resize: pdq::Resize,
}

/// Decodes `bytes` and hashes the pixels.
///
/// `hasher` keeps its buffers between calls; keep one per thread.
pub fn hash_bytes(hasher: &mut pdq::Hasher, bytes: &[u8], decode: &DecodeOptions, options: &HashOptions) -> Result<ImageHash, DecodeError> {
    let image = decode_rgb(bytes, decode)?;
    hash_decoded(hasher, &image, options)
}

/// Hashes an already-decoded image.
pub fn hash_decoded(hasher: &mut pdq::Hasher, image: &RgbImage, options: &HashOptions) -> Result<ImageHash, DecodeError> {
    let view = pdq::RgbView::new(image.width as usize, image.height as usize, &image.pixels)
        .map_err(|e| DecodeError::Corrupt { format: image.format, reason: e.to_string() })?;
    let resized = options.resize.apply(view);
    let view = resized.as_ref().map_or(view, pdq::ResizedImage::view);
    let pdq = hasher.hash_rgb(view);
    let dihedral = options.dihedral.then(|| hasher.hash_rgb_dihedral(view));
    // The reported size is what was hashed, as in the reference's resized outputs.
    let (width, height) = (view.width() as u32, view.height() as u32);
    Ok(ImageHash { pdq, dihedral, width, height, format: image.format })
}
