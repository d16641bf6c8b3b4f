//! RGB to luma: `0.299 R + 0.587 G + 0.114 B`, summed left to right, in one of two precisions.
//!
//! Meta's C++ code (its command-line tool, and vPDQ's frame hasher) does this sum in f32; the
//! Python binding that produced our image expected files (PyPI `pdqhash`, over the same C++
//! hashing core) does it in f64 and casts. On the 47 reference images both give the same hash
//! bits, but only the f64 form reproduces the reference's 16x16 DCT floats exactly
//! (`tests/reference.rs`), so images use it; vPDQ's reference files need the f32 form (one frame
//! of `pattern-sd-with-small-logo-bar` differs by two bits otherwise: `tests/hash/vpdq.rs`).

super::simd::avx2_dispatch! {
    /// Converts interleaved RGB8 pixels to f32 luma; `out.len()` pixels are converted.
    fn rgb_to_luma(rgb: &[u8], out: &mut [f32]) => rgb_to_luma_portable
}

#[inline(always)]
pub(crate) fn rgb_to_luma_portable(rgb: &[u8], out: &mut [f32]) {
    debug_assert_eq!(rgb.len(), out.len() * 3);
    let t = tables();
    for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        // Each product is the same f64 as `0.299 * r` computed on the spot, so table lookups
        // followed by the same two additions give the same bits as `luma`.
        *o = (t.r[usize::from(px[0])] + t.g[usize::from(px[1])] + t.b[usize::from(px[2])]) as f32;
    }
}

super::simd::avx2_dispatch! {
    /// [`rgb_to_luma`] with the sum in f32, as Meta's C++ code computes it.
    fn rgb_to_luma_single(rgb: &[u8], out: &mut [f32]) => rgb_to_luma_single_portable
}

#[inline(always)]
pub(crate) fn rgb_to_luma_single_portable(rgb: &[u8], out: &mut [f32]) {
    debug_assert_eq!(rgb.len(), out.len() * 3);
    let t = tables_single();
    for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        // Each table entry is the f32 product `0.299f * r` the C++ computes; the two f32
        // additions follow in the same order.
        *o = t.r[usize::from(px[0])] + t.g[usize::from(px[1])] + t.b[usize::from(px[2])];
    }
}

/// The f32 channel products for every 8-bit value.
struct TablesSingle {
    r: [f32; 256],
    g: [f32; 256],
    b: [f32; 256],
}

fn tables_single() -> &'static TablesSingle {
    static TABLES: std::sync::OnceLock<TablesSingle> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| TablesSingle {
        r: std::array::from_fn(|v| 0.299f32 * v as f32),
        g: std::array::from_fn(|v| 0.587f32 * v as f32),
        b: std::array::from_fn(|v| 0.114f32 * v as f32),
    })
}

/// The three channel products for every 8-bit value.
struct Tables {
    r: [f64; 256],
    g: [f64; 256],
    b: [f64; 256],
}

fn tables() -> &'static Tables {
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| Tables {
        r: std::array::from_fn(|v| 0.299f64 * v as f64),
        g: std::array::from_fn(|v| 0.587f64 * v as f64),
        b: std::array::from_fn(|v| 0.114f64 * v as f64),
    })
}

/// The definition the tables implement, kept for the tests.
#[cfg(test)]
fn luma(r: u8, g: u8, b: u8) -> f32 {
    (0.299f64 * f64::from(r) + 0.587f64 * f64::from(g) + 0.114f64 * f64::from(b)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_sums_in_f64_and_rounds_once() {
        let mut out = [0.0f32; 3];
        rgb_to_luma(&[255, 255, 255, 0, 0, 0, 10, 20, 30], &mut out);
        assert_eq!(out[0], 255.0);
        assert_eq!(out[1], 0.0);
        assert_eq!(out[2].to_bits(), ((0.299f64 * 10.0 + 0.587 * 20.0 + 0.114 * 30.0) as f32).to_bits());
    }

    #[test]
    fn the_tables_give_the_definition_for_every_colour() {
        // All 16.7 million colours, in rows of one red and green and every blue.
        let mut rgb = Vec::with_capacity(256 * 3);
        let mut out = [0.0f32; 256];
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                rgb.clear();
                for b in 0..=255u8 {
                    rgb.extend_from_slice(&[r, g, b]);
                }
                rgb_to_luma(&rgb, &mut out);
                for (b, o) in out.iter().enumerate() {
                    assert_eq!(o.to_bits(), luma(r, g, b as u8).to_bits(), "{r} {g} {b}");
                }
            }
        }
    }

    #[test]
    fn the_f64_sum_differs_from_an_f32_sum_for_some_colours() {
        // Why the precision is spelled out: the two orders disagree in the last bit for some
        // inputs, and that last bit reaches the DCT floats.
        let differs = (0..=255u8).any(|v| {
            let f32_sum = 0.299f32 * f32::from(v) + 0.587f32 * f32::from(255 - v) + 0.114f32 * 77.0;
            f32_sum.to_bits() != luma(v, 255 - v, 77).to_bits()
        });
        assert!(differs);
    }
}
