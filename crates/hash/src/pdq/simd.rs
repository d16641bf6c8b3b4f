//! Runtime selection of AVX2 code for the hot loops, with no hand-written intrinsics.
//!
//! The loops are written so independent float operations sit side by side; compiled for AVX2
//! the same source uses 8-lane registers instead of 4. Instruction selection never changes a
//! result here: every operation is an IEEE add, subtract, multiply, divide or conversion, and
//! Rust never fuses a multiply and an add on its own, so both builds give the same bits
//! (`tests::the_avx2_build_equals_the_portable_build` checks it).

/// Defines `pub(crate) fn $name(args) -> ret` that calls `$portable` compiled for AVX2 when the
/// CPU has it, and compiled for the baseline target otherwise. `$portable` must be
/// `#[inline(always)]` so that its body is compiled inside each version.
macro_rules! avx2_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $portable:path) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn with_avx2($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    #[allow(unsafe_code)]
                    // SAFETY: `with_avx2` only needs the CPU to support AVX2, checked just above.
                    return unsafe { with_avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}

pub(crate) use avx2_dispatch;

/// Turns eight rows into one strip of 8-lane columns and back, with AVX shuffles.
///
/// The row pass of the box filter runs eight rows side by side; reading eight floats from eight
/// rows for every step is slow, so each group of rows is transposed once, in 8x8 blocks of
/// registers, filtered as contiguous vectors, and transposed back. Without AVX2 the filter reads
/// the rows directly instead (`Transposer::detect` returns `None`).
#[derive(Clone, Copy)]
pub(crate) struct Transposer {
    /// Only [`Transposer::detect`] makes one, and only on a CPU with AVX2.
    _avx2_checked: (),
}

impl Transposer {
    /// A transposer if this CPU has AVX2.
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Some(Self { _avx2_checked: () });
        }
        None
    }

    /// `strip[x][k] = rows[k][x]` for `x < strip.len()`; every row must be at least that long.
    pub(crate) fn rows_to_lanes(self, rows: &[&[f32]; 8], strip: &mut [[f32; 8]]) {
        assert!(rows.iter().all(|r| r.len() >= strip.len()), "rows shorter than the strip");
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: a `Transposer` exists only where `detect` found AVX2 on this CPU.
        unsafe {
            x86::rows_to_lanes(rows, strip)
        }
    }

    /// `rows[k][x] = strip[x][k]` for `x < strip.len()`; every row must be at least that long.
    pub(crate) fn lanes_to_rows(self, strip: &[[f32; 8]], rows: &mut [&mut [f32]; 8]) {
        assert!(rows.iter().all(|r| r.len() >= strip.len()), "rows shorter than the strip");
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        // SAFETY: a `Transposer` exists only where `detect` found AVX2 on this CPU.
        unsafe {
            x86::lanes_to_rows(strip, rows)
        }
    }
}

/// The portable meaning of [`Transposer::rows_to_lanes`], used for the tail and by the tests.
pub(crate) fn rows_to_lanes_scalar(rows: &[&[f32]; 8], strip: &mut [[f32; 8]], from: usize) {
    for (x, lane) in strip.iter_mut().enumerate().skip(from) {
        *lane = std::array::from_fn(|k| rows[k][x]);
    }
}

/// The portable meaning of [`Transposer::lanes_to_rows`], used for the tail and by the tests.
pub(crate) fn lanes_to_rows_scalar(strip: &[[f32; 8]], rows: &mut [&mut [f32]; 8], from: usize) {
    for (x, lane) in strip.iter().enumerate().skip(from) {
        for (row, v) in rows.iter_mut().zip(lane) {
            row[x] = *v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::{
        __m256, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };

    /// Transposes the 8x8 matrix whose rows are `r`.
    #[target_feature(enable = "avx2")]
    fn transpose(r: [__m256; 8]) -> [__m256; 8] {
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the classic
        // three-stage 8x8 transpose, 24 shuffles for 64 floats.
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }

    /// # Safety
    /// The CPU must support AVX2, and every row must hold at least `strip.len()` floats.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn rows_to_lanes(rows: &[&[f32]; 8], strip: &mut [[f32; 8]]) {
        let whole = strip.len() / 8 * 8;
        for x0 in (0..whole).step_by(8) {
            // SAFETY: x0 + 8 <= whole <= strip.len() <= every row's length (the caller's
            // promise), so each unaligned 8-float load stays inside its row.
            let r = rows.map(|row| unsafe { _mm256_loadu_ps(row.as_ptr().add(x0)) });
            for (lane, v) in strip[x0..x0 + 8].iter_mut().zip(transpose(r)) {
                // SAFETY: `lane` is a [f32; 8], exactly the 32 bytes written.
                unsafe { _mm256_storeu_ps(lane.as_mut_ptr(), v) };
            }
        }
        super::rows_to_lanes_scalar(rows, strip, whole);
    }

    /// # Safety
    /// The CPU must support AVX2, and every row must hold at least `strip.len()` floats.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn lanes_to_rows(strip: &[[f32; 8]], rows: &mut [&mut [f32]; 8]) {
        let whole = strip.len() / 8 * 8;
        for x0 in (0..whole).step_by(8) {
            // SAFETY: each `strip[x]` is a [f32; 8], exactly the 32 bytes read.
            let lanes: [__m256; 8] = std::array::from_fn(|j| unsafe { _mm256_loadu_ps(strip[x0 + j].as_ptr()) });
            for (row, v) in rows.iter_mut().zip(transpose(lanes)) {
                // SAFETY: x0 + 8 <= strip.len() <= the row's length (the caller's promise).
                unsafe { _mm256_storeu_ps(row.as_mut_ptr().add(x0), v) };
            }
        }
        super::lanes_to_rows_scalar(strip, rows, whole);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{dct, jarosz, luma};
    use super::{Transposer, lanes_to_rows_scalar, rows_to_lanes_scalar};

    #[test]
    fn the_avx2_transposes_equal_the_scalar_ones() {
        let Some(t) = Transposer::detect() else {
            return; // Nothing to compare on a CPU without AVX2; the CI machines have it.
        };
        for cols in [0, 1, 7, 8, 9, 64, 77] {
            let data: Vec<Vec<f32>> = (0..8).map(|k| (0..cols + 3).map(|x| (k * 1000 + x) as f32).collect()).collect();
            let rows: [&[f32]; 8] = std::array::from_fn(|k| &data[k][..]);
            let (mut fast, mut slow) = (vec![[0.0f32; 8]; cols], vec![[0.0f32; 8]; cols]);
            t.rows_to_lanes(&rows, &mut fast);
            rows_to_lanes_scalar(&rows, &mut slow, 0);
            assert_eq!(fast, slow, "rows to lanes, {cols} columns");
            assert!(cols == 0 || slow[cols - 1] == std::array::from_fn(|k| (k * 1000 + cols - 1) as f32));

            let (mut back_fast, mut back_slow) = (vec![vec![-1.0f32; cols + 3]; 8], vec![vec![-1.0f32; cols + 3]; 8]);
            {
                let mut rf: [&mut [f32]; 8] = back_fast.iter_mut().map(|r| &mut r[..]).collect::<Vec<_>>().try_into().expect("8");
                t.lanes_to_rows(&fast, &mut rf);
                let mut rs: [&mut [f32]; 8] = back_slow.iter_mut().map(|r| &mut r[..]).collect::<Vec<_>>().try_into().expect("8");
                lanes_to_rows_scalar(&slow, &mut rs, 0);
            }
            assert_eq!(back_fast, back_slow, "lanes to rows, {cols} columns");
            for (k, row) in back_fast.iter().enumerate() {
                assert_eq!(&row[..cols], &data[k][..cols], "round trip row {k}");
                assert_eq!(&row[cols..], &[-1.0; 3], "wrote past the strip");
            }
        }
    }

    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn the_avx2_build_equals_the_portable_build() {
        // On a CPU without AVX2 both sides run the portable build and this checks nothing new;
        // the CI machines have AVX2.
        for (i, &(rows, cols)) in [(5, 7), (64, 64), (200, 333), (723, 1152)].iter().enumerate() {
            let rgb = noise(rows * cols * 3, i as u32 + 7);
            let (mut fast, mut portable) = (vec![0.0f32; rows * cols], vec![0.0f32; rows * cols]);
            luma::rgb_to_luma(&rgb, &mut fast);
            luma::rgb_to_luma_portable(&rgb, &mut portable);
            assert!(fast.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "luma {rows}x{cols}");
            let (mut fast_single, mut portable_single) = (vec![0.0f32; rows * cols], vec![0.0f32; rows * cols]);
            luma::rgb_to_luma_single(&rgb, &mut fast_single);
            luma::rgb_to_luma_single_portable(&rgb, &mut portable_single);
            assert!(fast_single.iter().zip(&portable_single).all(|(a, b)| a.to_bits() == b.to_bits()), "f32 luma {rows}x{cols}");

            let (mut fast64, mut portable64) = ([0.0f32; 4096], [0.0f32; 4096]);
            jarosz::filter_and_decimate(jarosz::Source::Luma(&fast), rows, cols, &mut jarosz::Scratch::default(), &mut fast64);
            jarosz::filter_and_decimate_portable(jarosz::Source::Luma(&fast), rows, cols, &mut jarosz::Scratch::default(), &mut portable64);
            assert!(fast64.iter().zip(&portable64).all(|(a, b)| a.to_bits() == b.to_bits()), "filter {rows}x{cols}");

            let (d1, d2) = (dct::dct64_to_16(&fast64), dct::dct64_to_16_portable(&fast64));
            assert!(d1.iter().zip(&d2).all(|(a, b)| a.to_bits() == b.to_bits()), "dct {rows}x{cols}");
        }
    }
}
