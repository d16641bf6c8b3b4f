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
        let luma_at = |k: i64| -> u8 {
            let v = (-(384i64 << 16) - oy + (base + k) * cy + 0x8000) >> 16;
            v.clamp(0, 255) as u8
        };
        let luma = (0..2 * LUMA_BIAS + 256).map(|i| luma_at(i64::from(i - LUMA_BIAS))).collect();
        Self { red_v: offsets(rv), green_u: offsets(gu), green_v: offsets(gv), blue_u: offsets(bu), luma }
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
            let out = &mut rgb[row * width * 3..(row + 1) * width * 3];
            for (x, (&luma, pixel)) in luma_row.iter().zip(out.chunks_exact_mut(3)).enumerate() {
                let (cu, cv) = (u[chroma + x / 2] as usize, v[chroma + x / 2] as usize);
                let at = |offset: i32| self.luma[(i32::from(luma) + offset + LUMA_BIAS) as usize];
                pixel[0] = at(self.red_v[cv]);
                pixel[1] = at(self.green_u[cu] + self.green_v[cv]);
                pixel[2] = at(self.blue_u[cu]);
            }
        }
    }

    /// Whether swscale's C path converts a frame of these dimensions whole (even width and
    /// height).
    pub fn supports(width: usize, height: usize) -> bool {
        width.is_multiple_of(2) && height.is_multiple_of(2) && width > 0 && height > 0
    }
}
