//! JPEG through libjpeg-turbo's decoder (as built by `mozjpeg-sys`), because that is the decoder
//! behind Pillow and so behind every PDQ hash a partner computes with Python: a different IDCT
//! or upsampler moves pixels by one level and flips hash bits.

use std::io::{BufRead, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use mozjpeg::{ColorSpace, Decompress, Marker};

use super::{DecodeError, DecodeOptions, Format, RgbImage};

/// A byte source that notices when libjpeg asks for more than the file holds. The wrapper crate
/// then feeds libjpeg a fake end-of-image marker and the missing rows come out grey; Pillow
/// refuses such a file ("image file is truncated"), and so do we.
struct EofWatch<'a> {
    rest: &'a [u8],
    ran_dry: bool,
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.ran_dry |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl BufRead for EofWatch<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.ran_dry |= self.rest.is_empty();
        Ok(self.rest)
    }

    fn consume(&mut self, amt: usize) {
        self.rest = &self.rest[amt..];
    }
}

fn corrupt(reason: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt { format: Format::Jpeg, reason: reason.into() }
}

/// Decodes a JPEG to RGB as Pillow does: YCbCr and RGB through libjpeg's own conversion,
/// greyscale replicated, CMYK and YCCK read as Adobe-inverted CMYK and converted with Pillow's
/// integer formula.
pub(super) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    // libjpeg reports fatal errors by unwinding through the wrapper; nothing is shared with the
    // closure but the input slice and the output, so a caught unwind leaves no broken state.
    match catch_unwind(AssertUnwindSafe(|| decode_inner(bytes, options))) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("libjpeg error");
            Err(corrupt(message.trim_start_matches("libjpeg fatal error: ")))
        }
    }
}

fn decode_inner(bytes: &[u8], options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    let markers: &[Marker] = if options.apply_exif_orientation { &[Marker::APP(1)] } else { &[] };
    let source = EofWatch { rest: bytes, ran_dry: false };
    let decompress = Decompress::with_markers(markers).from_reader(source).map_err(|e| corrupt(e.to_string()))?;
    let (width, height) = decompress.size();
    let (w32, h32) = (u32::try_from(width).map_err(|_| corrupt("width"))?, u32::try_from(height).map_err(|_| corrupt("height"))?);
    if u64::from(w32) * u64::from(h32) > options.max_pixels {
        return Err(DecodeError::TooLarge { width: w32, height: h32, limit: options.max_pixels });
    }
    if width == 0 || height == 0 {
        return Err(corrupt("zero width or height"));
    }
    let orientation = decompress
        .markers()
        .filter(|m| m.marker == Marker::APP(1))
        .find_map(|m| m.data.strip_prefix(b"Exif\0\0"))
        .and_then(image::metadata::Orientation::from_exif_chunk);

    let cmyk = matches!(decompress.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK);
    let out_space = if cmyk { ColorSpace::JCS_CMYK } else { ColorSpace::JCS_RGB };
    let mut started = decompress.to_colorspace(out_space).map_err(|e| corrupt(e.to_string()))?;
    let raw: Vec<u8> = started.read_scanlines().map_err(|e| corrupt(e.to_string()))?;
    let source = started.finish_into_inner().map_err(|e| corrupt(e.to_string()))?;
    if source.ran_dry {
        return Err(corrupt("truncated: the data ends before the image does"));
    }
    let pixels = if cmyk { pillow_cmyk_to_rgb(&raw) } else { raw };
    if pixels.len() != width * height * 3 {
        return Err(corrupt("decoder returned fewer rows than the header announces"));
    }
    let mut image = RgbImage { width: w32, height: h32, format: Format::Jpeg, pixels };
    if let Some(o) = orientation {
        image = super::orient(image, o);
    }
    Ok(image)
}

/// Pillow's `CMYK;I` unpacking (Adobe JPEGs store CMYK inverted) followed by its `cmyk2rgb`:
/// `nk = 255 - k; out = nk - round(c * nk / 255)` with Pillow's integer rounding.
fn pillow_cmyk_to_rgb(raw: &[u8]) -> Vec<u8> {
    fn muldiv255(a: u32, b: u32) -> u32 {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    }
    let mut out = Vec::with_capacity(raw.len() / 4 * 3);
    for px in raw.chunks_exact(4) {
        let [c, m, y, k] = [px[0], px[1], px[2], px[3]].map(|v| 255 - u32::from(v));
        let nk = 255 - k;
        // `nk - muldiv255(x, nk)` lies in 0..=255 for x, nk in 0..=255, so the casts are exact.
        out.extend([c, m, y].map(|x| (nk - muldiv255(x, nk)) as u8));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pillow_cmyk_conversion_matches_hand_values() {
        // Stored inverted: raw 255 means ink 0. No ink, no black: white.
        assert_eq!(pillow_cmyk_to_rgb(&[255, 255, 255, 255]), [255, 255, 255]);
        // Full black ink: black whatever the rest.
        assert_eq!(pillow_cmyk_to_rgb(&[255, 0, 128, 0]), [0, 0, 0]);
        // Full cyan, no black: no red.
        assert_eq!(pillow_cmyk_to_rgb(&[0, 255, 255, 255]), [0, 255, 255]);
        // Half cyan (ink 128) under half black (k 128, nk 127): 127 - muldiv255(128, 127) = 127 - 64.
        assert_eq!(pillow_cmyk_to_rgb(&[127, 255, 255, 127]), [63, 127, 127]);
    }
}
