//! From the 64x64 buffer to bits: quality, the 16x16 DCT, the median threshold and the eight
//! dihedral variants, with the reference's float order of operations.

use std::sync::OnceLock;

use super::hash256::PdqHash;

/// The 16x16 DCT coefficients, row-major (`i * 16 + j`), as the reference computes them.
pub type Dct16 = [f32; 256];

/// The 16x64 DCT matrix without its DC row:
/// `(float)((double)(float)sqrt(2/64) * cos(pi / 128 * (i + 1) * (2j + 1)))`.
fn dct_matrix() -> &'static [f32; 1024] {
    static MATRIX: OnceLock<[f32; 1024]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = f64::from((2.0f64 / 64.0).sqrt() as f32);
        std::array::from_fn(|n| {
            let (i, j) = ((n / 64) as f64, (n % 64) as f64);
            (scale * (std::f64::consts::PI / 2.0 / 64.0 * (i + 1.0) * (2.0 * j + 1.0)).cos()) as f32
        })
    })
}

/// The same matrix transposed (64x16), so the second product runs along contiguous rows.
fn dct_matrix_transposed() -> &'static [f32; 1024] {
    static MATRIX: OnceLock<[f32; 1024]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let d = dct_matrix();
        std::array::from_fn(|n| d[(n % 16) * 64 + n / 16])
    })
}

super::simd::avx2_dispatch! {
    /// [`dct64_to_16_portable`], in AVX2 code when the CPU has it.
    fn dct64_to_16(a: &[f32; 4096]) -> Dct16 => dct64_to_16_portable
}

/// `B = D * A * D^T` for the 64x64 buffer `A`, every sum accumulated in f32 with `k` ascending
/// and no fused multiply-add, as the reference's `dct64To16`.
///
/// The loops run over `j` innermost so each step of every sum is one vector lane; each output
/// element still sees exactly the reference's sequence of roundings.
#[inline(always)]
pub(crate) fn dct64_to_16_portable(a: &[f32; 4096]) -> Dct16 {
    let d = dct_matrix();
    let dt = dct_matrix_transposed();
    let mut t = [0.0f32; 16 * 64];
    for i in 0..16 {
        let acc = &mut t[i * 64..(i + 1) * 64];
        for k in 0..64 {
            let dik = d[i * 64 + k];
            for (s, x) in acc.iter_mut().zip(&a[k * 64..(k + 1) * 64]) {
                *s += dik * *x;
            }
        }
    }
    let mut b = [0.0f32; 256];
    for i in 0..16 {
        let acc = &mut b[i * 16..(i + 1) * 16];
        for k in 0..64 {
            let tik = t[i * 64 + k];
            for (s, x) in acc.iter_mut().zip(&dt[k * 16..(k + 1) * 16]) {
                *s += tik * *x;
            }
        }
    }
    b
}

/// The reference's quality: the sum of truncated, scaled gradients between neighbours in the
/// 64x64 buffer, divided by 90 and capped at 100.
pub(crate) fn quality(buf: &[f32; 4096]) -> u8 {
    fn step(u: f32, v: f32) -> i32 {
        // `(int)` in C truncates toward zero, as `as` does.
        (((u - v) * 100.0) / 255.0) as i32
    }
    let mut gradient_sum: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            gradient_sum += i64::from(step(buf[i * 64 + j], buf[(i + 1) * 64 + j]).abs());
        }
    }
    for i in 0..64 {
        for j in 0..63 {
            gradient_sum += i64::from(step(buf[i * 64 + j], buf[i * 64 + j + 1]).abs());
        }
    }
    // Capped at 100, so the cast cannot truncate.
    (gradient_sum / 90).min(100) as u8
}

/// The lower median of the 256 coefficients (the 128th smallest), which is what the reference's
/// Torben median returns for an even count.
pub(crate) fn median(dct: &Dct16) -> f32 {
    let mut v = *dct;
    let (_, m, _) = v.select_nth_unstable_by(127, f32::total_cmp);
    *m
}

/// Bit `i * 16 + j` is set when coefficient `(i, j)` is strictly above the median.
pub(crate) fn threshold(dct: &Dct16) -> PdqHash {
    let m = median(dct);
    let mut h = PdqHash::default();
    for (k, &x) in dct.iter().enumerate() {
        if x > m {
            h.set_bit(k);
        }
    }
    h
}

/// The eight symmetries of the square, in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Dihedral {
    /// The image as it is.
    Original,
    /// Rotated 90 degrees (the reference's `rot90`).
    Rot90,
    /// Rotated 180 degrees.
    Rot180,
    /// Rotated 270 degrees.
    Rot270,
    /// Mirrored left to right (the reference's `flipX`).
    FlipX,
    /// Mirrored top to bottom (`flipY`).
    FlipY,
    /// Mirrored about the main diagonal (`flipPlus1`).
    FlipPlus1,
    /// Mirrored about the anti-diagonal (`flipMinus1`).
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference's order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The reference's lower-case name (`orig`, `rot90`, ..., `flipminus1`).
    pub const fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rot90 => "rot90",
            Dihedral::Rot180 => "rot180",
            Dihedral::Rot270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipplus1",
            Dihedral::FlipMinus1 => "flipminus1",
        }
    }

    /// The DCT of the transformed image, from the DCT of the original: cosine basis functions
    /// are even or odd about the centre, so a flip negates the odd ones and a transpose swaps
    /// the indices.
    pub fn transform(self, a: &Dct16) -> Dct16 {
        let odd = |n: usize| n % 2 == 1;
        let mut b = [0.0f32; 256];
        for i in 0..16 {
            for j in 0..16 {
                let x = a[i * 16 + j];
                let (dest, negate) = match self {
                    Dihedral::Original => ((i, j), false),
                    Dihedral::Rot90 => ((j, i), !odd(j)),
                    Dihedral::Rot180 => ((i, j), odd(i + j)),
                    Dihedral::Rot270 => ((j, i), !odd(i)),
                    Dihedral::FlipX => ((i, j), !odd(i)),
                    Dihedral::FlipY => ((i, j), !odd(j)),
                    Dihedral::FlipPlus1 => ((j, i), false),
                    Dihedral::FlipMinus1 => ((j, i), odd(i + j)),
                };
                b[dest.0 * 16 + dest.1] = if negate { -x } else { x };
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dct_matrix_rows_are_the_scaled_cosines() {
        let d = dct_matrix();
        // Row 0 is the first AC basis: scale * cos(pi/128 * (2j + 1)); spot values.
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        assert!((d[0] - scale * (std::f32::consts::PI / 128.0).cos()).abs() < 1e-6);
        assert!((d[63] + scale * (std::f32::consts::PI / 128.0).cos()).abs() < 1e-6);
        assert_eq!(dct_matrix_transposed()[5 * 16 + 3], d[3 * 64 + 5]);
    }

    #[test]
    fn a_flat_buffer_has_no_ac_energy_and_zero_quality() {
        let flat = [128.0f32; 4096];
        let b = dct64_to_16(&flat);
        assert!(b.iter().all(|x| x.abs() < 1e-3), "AC coefficients of a constant are ~0");
        assert_eq!(quality(&flat), 0);
    }

    #[test]
    fn quality_truncates_each_gradient_then_divides_by_90() {
        let mut buf = [0.0f32; 4096];
        // One column of 51 at j = 10: 64 horizontal pairs on each side of it change by 51,
        // each contributing (51 * 100) / 255 = 20; 2560 / 90 = 28 in integer division.
        for i in 0..64 {
            buf[i * 64 + 10] = 51.0;
        }
        assert_eq!(quality(&buf), 28);
        // A ramp of 2.0 per column: each horizontal step is trunc(200 / 255) = 0.
        let ramp: [f32; 4096] = std::array::from_fn(|n| (n % 64) as f32 * 2.0);
        assert_eq!(quality(&ramp), 0);
        // Strong noise saturates at 100.
        let noise: [f32; 4096] = std::array::from_fn(|n| if (n / 64 + n % 64) % 2 == 0 { 255.0 } else { 0.0 });
        assert_eq!(quality(&noise), 100);
    }

    #[test]
    fn the_median_is_the_lower_middle_value() {
        let v: Dct16 = std::array::from_fn(|n| (255 - n) as f32);
        assert_eq!(median(&v), 127.0);
        let h = threshold(&v);
        // Values 128..=255 sit at indices 0..=127.
        assert_eq!(h.count_ones(), 128);
        assert!(h.bit(0) && h.bit(127) && !h.bit(128));
    }

    #[test]
    fn dihedral_transforms_compose_like_the_symmetries_they_name() {
        let a: Dct16 = std::array::from_fn(|n| n as f32 + 1.0);
        let apply = |d: Dihedral, x: &Dct16| d.transform(x);
        // Four quarter turns, two half turns and any mirror twice are the identity.
        let r4 = apply(Dihedral::Rot90, &apply(Dihedral::Rot90, &apply(Dihedral::Rot90, &apply(Dihedral::Rot90, &a))));
        assert_eq!(r4, a);
        assert_eq!(apply(Dihedral::Rot90, &apply(Dihedral::Rot90, &a)), apply(Dihedral::Rot180, &a));
        assert_eq!(apply(Dihedral::Rot90, &apply(Dihedral::Rot180, &a)), apply(Dihedral::Rot270, &a));
        for m in [Dihedral::FlipX, Dihedral::FlipY, Dihedral::FlipPlus1, Dihedral::FlipMinus1] {
            assert_eq!(apply(m, &apply(m, &a)), a, "{m:?} twice");
        }
        assert_eq!(apply(Dihedral::FlipX, &apply(Dihedral::FlipY, &a)), apply(Dihedral::Rot180, &a));
    }
}
