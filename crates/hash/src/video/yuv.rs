//! 4:2:0 YUV to RGB24 exactly as FFmpeg's portable (non-SIMD) swscale path computes it at
//! native size, which is what Meta's native-resolution vPDQ reference files were made with
//! (`../shared/reference/vpdq-notes.md` §1.2): the default BT.601 matrix whatever the stream's
//! tags, chroma taken per 2x2 block without interpolation, and every channel read from one
//! table of clipped luma values indexed by `Y` plus a per-chroma offset. The offsets and the
//! table are the same fixed-point numbers swscale derives (16.16 coefficients, divided by the
//! luma scale with rounding), so each output byte is identical, not merely close.

/// BT.601 (swscale's default matrix): V to red, U to blue, U to green, V to green, in 16.16.
const BT601: [i64; 4] = [104_597, 132_201, 25_675, 53_279];

/// The conversion of one colour range.
#[derive(Debug, Clone)]
pub struct YuvToRgb {
    /// Per V: the offset into `luma` for red.
    red_v: [i32; 256],
    /// Per U: the offset for green from U.
    green_u: [i32; 256],
    /// Per V: the offset for green from V.
    green_v: [i32; 256],
    /// Per U: the offset for blue.
    blue_u: [i32; 256],
    /// Clipped luma ramp; index `Y + offset + LUMA_BIAS`.
    luma: Vec<u8>,
    /// The ramp as arithmetic, for code that computes rather than looks up: entry `k` is
    /// `clamp(((base + k) * cy + k0) >> 16, 0, 255)`, all within i32.
    base: i32,
    cy: i32,
    k0: i32,
}

/// Where index 0 of the conceptual table sits in `luma`: chroma offsets reach about ±450.
const LUMA_BIAS: i32 = 1024;

impl YuvToRgb {
    /// The conversion for limited-range ("MPEG", 16-235) or full-range ("JPEG") input.
    pub fn new(full_range: bool) -> Self {
        let [mut rv, mut bu, mut gu, mut gv] = BT601;
        // The luma scale and offset, in 16.16: limited range stretches 219 steps to 255.
        let (cy, oy, base) = if full_range {
            for c in [&mut rv, &mut bu, &mut gu, &mut gv] {
                *c = *c * 224 / 255;
            }
            (1i64 << 16, 0i64, 384i64)
        } else {
            ((1i64 << 16) * 255 / 219, 16i64 << 16, 326i64)
        };
        // Green's coefficients enter negated; every chroma coefficient is then divided by the
        // luma scale, rounded, so that one luma table serves all three channels.
        let scaled = |c: i64| ((c << 16) + 0x8000) / cy;
        let (rv, bu, gu, gv) = (scaled(rv), scaled(bu), scaled(-gu), scaled(-gv));
        // The offset of chroma value `x` for coefficient `c`: centred on 128 by the `c >> 9`
        // term (c * 128 / 65536), floored as an arithmetic shift floors.
        let offsets = |c: i64| std::array::from_fn::<i32, 256, _>(|x| (-(c >> 9) + ((x as i64 * c) >> 16)) as i32);
        let k0 = -(384i64 << 16) - oy + 0x8000;
        let luma_at = |k: i64| -> u8 {
            let v = (k0 + (base + k) * cy) >> 16;
            v.clamp(0, 255) as u8
        };
        let luma = (0..2 * LUMA_BIAS + 256).map(|i| luma_at(i64::from(i - LUMA_BIAS))).collect();
        // (base + Y + offset) * cy stays below 2^27 and k0 above -2^25: i32 holds every step.
        let narrow = |x: i64| i32::try_from(x).expect("the ramp's constants fit i32");
        Self {
            red_v: offsets(rv),
            green_u: offsets(gu),
            green_v: offsets(gv),
            blue_u: offsets(bu),
            luma,
            base: narrow(base),
            cy: narrow(cy),
            k0: narrow(k0),
        }
    }

    /// Converts one planar 4:2:0 frame (`y` of `width * height`, `u` and `v` of
    /// `ceil(width/2) * ceil(height/2)`, rows packed) into interleaved RGB24 in `rgb`.
    ///
    /// swscale's C path writes pixel pairs of two-row blocks: a width of 8k + 4 + 2 is covered;
    /// an odd last column is left as it was in the destination, and swscale takes another path
    /// for an odd height, so both are refused here by the caller's checks ([`Self::supports`]).
    pub fn convert(&self, width: usize, height: usize, y: &[u8], u: &[u8], v: &[u8], rgb: &mut [u8]) {
        let chroma_width = width.div_ceil(2);
        for row in 0..height {
            let luma_row = &y[row * width..(row + 1) * width];
            let chroma = (row / 2) * chroma_width;
            let (u_row, v_row) = (&u[chroma..chroma + chroma_width], &v[chroma..chroma + chroma_width]);
            let out = &mut rgb[row * width * 3..(row + 1) * width * 3];
            // A pair of pixels shares its chroma, so its three tables (the luma ramp shifted by
            // each channel's offset) are found once; indexing a 256-entry table with a byte
            // then needs no bounds check.
            for ((pair, pixels), (&cu, &cv)) in luma_row.chunks(2).zip(out.chunks_mut(6)).zip(u_row.iter().zip(v_row)) {
                let (cu, cv) = (usize::from(cu), usize::from(cv));
                let red = self.shifted(self.red_v[cv]);
                let green = self.shifted(self.green_u[cu] + self.green_v[cv]);
                let blue = self.shifted(self.blue_u[cu]);
                for (&luma, pixel) in pair.iter().zip(pixels.chunks_exact_mut(3)) {
                    let luma = usize::from(luma);
                    pixel[0] = red[luma];
                    pixel[1] = green[luma];
                    pixel[2] = blue[luma];
                }
            }
        }
    }

    /// The clipped luma ramp shifted by a channel's chroma `offset`: entry `Y` is the channel's
    /// value for luma `Y`.
    #[inline(always)]
    fn shifted(&self, offset: i32) -> &[u8; 256] {
        // Offsets stay within ±LUMA_BIAS (they reach about ±450), so the window is inside.
        let start = (offset + LUMA_BIAS) as usize;
        self.luma[start..start + 256].try_into().expect("chroma offsets stay within the table")
    }

    /// Whether swscale's C path converts a frame of these dimensions whole (even width and
    /// height).
    pub fn supports(width: usize, height: usize) -> bool {
        width.is_multiple_of(2) && height.is_multiple_of(2) && width > 0 && height > 0
    }
}

crate::pdq::simd::avx2_dispatch! {
    /// PDQ's f32 luma (`0.299 R + 0.587 G + 0.114 B`, summed left to right, as Meta's C++) of
    /// rows `first..` of a 4:2:0 frame, exactly as [`YuvToRgb::convert`] followed by the f32
    /// luma would give it, computed without the RGB image: `out` holds whole rows.
    fn luma_rows(c: &YuvToRgb, width: usize, y: &[u8], u: &[u8], v: &[u8], first: usize, out: &mut [f32]) => luma_rows_portable
}

/// Pixels converted at a time: their chroma offsets are spread into small arrays first, so the
/// arithmetic after runs on whole vectors.
const CHUNK: usize = 64;

#[inline(always)]
pub(crate) fn luma_rows_portable(c: &YuvToRgb, width: usize, y: &[u8], u: &[u8], v: &[u8], first: usize, out: &mut [f32]) {
    let chroma_width = width.div_ceil(2);
    let (base, cy, k0) = (c.base, c.cy, c.k0);
    for (i, out_row) in out.chunks_exact_mut(width).enumerate() {
        let row = first + i;
        let luma_row = &y[row * width..(row + 1) * width];
        let chroma = (row / 2) * chroma_width;
        let (u_row, v_row) = (&u[chroma..chroma + chroma_width], &v[chroma..chroma + chroma_width]);
        for ((ys, outs), (us, vs)) in
            luma_row.chunks(CHUNK).zip(out_row.chunks_mut(CHUNK)).zip(u_row.chunks(CHUNK / 2).zip(v_row.chunks(CHUNK / 2)))
        {
            let (mut red, mut green, mut blue) = ([0i32; CHUNK], [0i32; CHUNK], [0i32; CHUNK]);
            for (p, (&cu, &cv)) in us.iter().zip(vs).enumerate() {
                let (cu, cv) = (usize::from(cu), usize::from(cv));
                (red[2 * p], red[2 * p + 1]) = (c.red_v[cv], c.red_v[cv]);
                let g = c.green_u[cu] + c.green_v[cv];
                (green[2 * p], green[2 * p + 1]) = (g, g);
                (blue[2 * p], blue[2 * p + 1]) = (c.blue_u[cu], c.blue_u[cu]);
            }
            for (x, (&luma, o)) in ys.iter().zip(outs.iter_mut()).enumerate() {
                let at = i32::from(luma) + base;
                // The ramp's entry for this luma shifted by the channel's offset, as a float.
                let channel = |offset: i32| (((at + offset) * cy + k0) >> 16).clamp(0, 255) as f32;
                *o = 0.299f32 * channel(red[x]) + 0.587f32 * channel(green[x]) + 0.114f32 * channel(blue[x]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of pseudo-random planes (xorshift), chroma included, so every table entry and
    /// clamp is reached somewhere.
    fn planes(width: usize, height: usize, seed: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut x = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        };
        let chroma = width.div_ceil(2) * height.div_ceil(2);
        ((0..width * height).map(|_| next()).collect(), (0..chroma).map(|_| next()).collect(), (0..chroma).map(|_| next()).collect())
    }

    #[test]
    fn luma_from_the_planes_is_the_f32_luma_of_the_converted_rgb_with_simd_and_without() {
        for (width, height, full_range) in [(64, 64, false), (130, 36, true), (1282, 6, false), (6, 10, true)] {
            let (y, u, v) = planes(width, height, (width * height) as u64 | 1);
            let c = YuvToRgb::new(full_range);
            let mut rgb = vec![0u8; width * height * 3];
            c.convert(width, height, &y, &u, &v, &mut rgb);
            let mut want = vec![0f32; width * height];
            crate::pdq::luma::rgb_to_luma_single_portable(&rgb, &mut want);
            // Rows in the groups the filter asks for, from a row other than the first too.
            let (mut fast, mut portable) = (vec![0f32; width * height], vec![0f32; width * height]);
            for first in (0..height).step_by(4) {
                let rows = (first..height.min(first + 4)).len() * width;
                luma_rows(&c, width, &y, &u, &v, first, &mut fast[first * width..first * width + rows]);
                luma_rows_portable(&c, width, &y, &u, &v, first, &mut portable[first * width..first * width + rows]);
            }
            let bits = |l: &[f32]| l.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&portable), bits(&want), "{width}x{height}: portable");
            assert_eq!(bits(&fast), bits(&want), "{width}x{height}: dispatched (AVX2 where the CPU has it)");
        }
    }
}
