//! Image bytes to 8-bit RGB, converted the way Pillow's `convert("RGB")` does, since that is how
//! the reference hashes (and our partners' hashes) were made.
//!
//! Decoding reads only the bytes it is given; the caller does the file or network I/O.

mod jpeg;

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};

/// The image formats Tocsin decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Format {
    /// JPEG (JFIF or Exif).
    Jpeg,
    /// PNG.
    Png,
    /// WebP, lossy or lossless.
    Webp,
    /// GIF (the first frame).
    Gif,
    /// Windows bitmap.
    Bmp,
    /// TIFF (the first page).
    Tiff,
}

impl Format {
    /// The lower-case name used in JSON output.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
        }
    }

    fn to_image(self) -> image::ImageFormat {
        match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Webp => image::ImageFormat::WebP,
            Format::Gif => image::ImageFormat::Gif,
            Format::Bmp => image::ImageFormat::Bmp,
            Format::Tiff => image::ImageFormat::Tiff,
        }
    }

    fn from_image(f: image::ImageFormat) -> Option<Self> {
        Some(match f {
            image::ImageFormat::Jpeg => Format::Jpeg,
            image::ImageFormat::Png => Format::Png,
            image::ImageFormat::WebP => Format::Webp,
            image::ImageFormat::Gif => Format::Gif,
            image::ImageFormat::Bmp => Format::Bmp,
            image::ImageFormat::Tiff => Format::Tiff,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Pillow's default decompression-bomb limit (`2 * Image.MAX_IMAGE_PIXELS`): images with more
/// pixels than this are refused before any pixel memory is reserved.
pub const DEFAULT_MAX_PIXELS: u64 = 178_956_970;

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Rotate and mirror as the EXIF orientation tag says. Off by default: the reference hashes
    /// the stored pixels, so turning it on gives hashes that partners will not reproduce.
    pub apply_exif_orientation: bool,
    /// Refuse images with more pixels than this (decompression bombs).
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { apply_exif_orientation: false, max_pixels: DEFAULT_MAX_PIXELS }
    }
}

/// A decoded image as 8-bit RGB, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels (after any EXIF orientation).
    pub width: u32,
    /// Height in pixels (after any EXIF orientation).
    pub height: u32,
    /// The container format.
    pub format: Format,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}

/// Why bytes could not be turned into pixels. Each is the input's fault, not ours.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No bytes at all.
    #[error("empty file")]
    Empty,
    /// The bytes start like no supported format.
    #[error("not an image in a supported format (JPEG, PNG, WebP, GIF, BMP, TIFF)")]
    UnknownFormat,
    /// A format that is recognised but not supported.
    #[error("unsupported image format {0}")]
    Unsupported(String),
    /// More pixels than allowed: a decompression bomb, or just too big.
    #[error("image of {width}x{height} pixels exceeds the limit of {limit} pixels")]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit in force.
        limit: u64,
    },
    /// The data is damaged or truncated.
    #[error("corrupt or truncated {format} data: {reason}")]
    Corrupt {
        /// The format being decoded.
        format: Format,
        /// The decoder's explanation.
        reason: String,
    },
}

/// Decodes `bytes` to 8-bit RGB the way Pillow's `Image.open(..).convert("RGB")` does.
///
/// Conversions: greyscale is copied to the three channels; alpha is dropped (not composited);
/// palettes are looked up; 16-bit RGB keeps the high byte of each sample; 16-bit greyscale is
/// clipped to 255, as Pillow's `I;16` to `RGB` conversion does (so such images come out nearly
/// white, exactly as for any partner hashing with Pillow).
pub fn decode_rgb(bytes: &[u8], options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let guessed = image::guess_format(bytes).map_err(|_| DecodeError::UnknownFormat)?;
    let format = Format::from_image(guessed).ok_or_else(|| DecodeError::Unsupported(format!("{guessed:?}")))?;
    if format == Format::Jpeg {
        return jpeg::decode(bytes, options);
    }
    // The pure-Rust decoders return errors for the damage we and the fuzzer have thrown at
    // them; should one still panic on some new malformation, that file fails, not the run.
    std::panic::catch_unwind(|| decode_with_image(bytes, format, options))
        .unwrap_or_else(|_| Err(DecodeError::Corrupt { format, reason: "the decoder gave up on malformed data".to_owned() }))
}

fn decode_with_image(bytes: &[u8], format: Format, options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    let reader = ImageReader::with_format(Cursor::new(bytes), format.to_image());
    let corrupt = |e: image::ImageError| classify(format, e, options.max_pixels);

    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > options.max_pixels {
        return Err(DecodeError::TooLarge { width, height, limit: options.max_pixels });
    }
    let orientation = if options.apply_exif_orientation { decoder.orientation().ok() } else { None };
    let mut limits = image::Limits::default();
    // Room for the decoded buffer at 16 bits per channel with alpha, plus the decoder's own.
    limits.max_alloc = Some(options.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    decoder.set_limits(limits).map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    Ok(RgbImage { width: image.width(), height: image.height(), format, pixels: to_rgb8_like_pillow(image) })
}

/// Rotates and mirrors decoded pixels as an EXIF orientation says.
fn orient(image: RgbImage, orientation: Orientation) -> RgbImage {
    let RgbImage { width, height, format, pixels } = image;
    let Some(buffer) = image::RgbImage::from_raw(width, height, pixels) else {
        unreachable!("RgbImage always holds width * height * 3 bytes")
    };
    let mut dynamic = DynamicImage::ImageRgb8(buffer);
    dynamic.apply_orientation(orientation);
    RgbImage { width: dynamic.width(), height: dynamic.height(), format, pixels: dynamic.into_rgb8().into_raw() }
}

fn classify(format: Format, e: image::ImageError, limit: u64) -> DecodeError {
    match e {
        image::ImageError::Limits(_) => {
            DecodeError::Corrupt { format, reason: format!("decoding would need more memory than a {limit}-pixel image") }
        }
        image::ImageError::Unsupported(u) => DecodeError::Unsupported(u.to_string()),
        other => DecodeError::Corrupt { format, reason: other.to_string() },
    }
}

/// Pillow's `convert("RGB")` for each pixel layout the decoders produce.
fn to_rgb8_like_pillow(image: DynamicImage) -> Vec<u8> {
    fn spread<T: Copy>(src: &[T], channels: usize, f: impl Fn(&[T]) -> [u8; 3]) -> Vec<u8> {
        let mut out = Vec::with_capacity(src.len() / channels * 3);
        for px in src.chunks_exact(channels) {
            out.extend_from_slice(&f(px));
        }
        out
    }
    let high = |v: u16| (v >> 8) as u8;
    let clip = |v: u16| v.min(255) as u8;
    match image {
        DynamicImage::ImageRgb8(b) => b.into_raw(),
        DynamicImage::ImageRgba8(b) => spread(b.as_raw(), 4, |p| [p[0], p[1], p[2]]),
        DynamicImage::ImageLuma8(b) => spread(b.as_raw(), 1, |p| [p[0]; 3]),
        DynamicImage::ImageLumaA8(b) => spread(b.as_raw(), 2, |p| [p[0]; 3]),
        DynamicImage::ImageRgb16(b) => spread(b.as_raw(), 3, |p| [high(p[0]), high(p[1]), high(p[2])]),
        DynamicImage::ImageRgba16(b) => spread(b.as_raw(), 4, |p| [high(p[0]), high(p[1]), high(p[2])]),
        DynamicImage::ImageLuma16(b) => spread(b.as_raw(), 1, |p| [clip(p[0]); 3]),
        DynamicImage::ImageLumaA16(b) => spread(b.as_raw(), 2, |p| [high(p[0]); 3]),
        other => other.to_rgb8().into_raw(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unknown_inputs_are_told_apart() {
        assert!(matches!(decode_rgb(b"", &DecodeOptions::default()), Err(DecodeError::Empty)));
        assert!(matches!(decode_rgb(b"hello, not an image", &DecodeOptions::default()), Err(DecodeError::UnknownFormat)));
    }

    #[test]
    fn a_bomb_header_is_refused_before_any_pixel_memory_is_reserved() {
        let png = include_bytes!("../../../../tests/data/bomb-100000x100000.png");
        match decode_rgb(png, &DecodeOptions::default()) {
            Err(DecodeError::TooLarge { width: 100_000, height: 100_000, limit }) => assert_eq!(limit, DEFAULT_MAX_PIXELS),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
}
