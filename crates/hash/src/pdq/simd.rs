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

#[cfg(test)]
mod tests {
    use super::super::{dct, jarosz, luma};

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

            let (mut fast64, mut portable64) = ([0.0f32; 4096], [0.0f32; 4096]);
            jarosz::filter_and_decimate(&fast, rows, cols, &mut jarosz::Scratch::default(), &mut fast64);
            jarosz::filter_and_decimate_portable(&fast, rows, cols, &mut jarosz::Scratch::default(), &mut portable64);
            assert!(fast64.iter().zip(&portable64).all(|(a, b)| a.to_bits() == b.to_bits()), "filter {rows}x{cols}");

            let (d1, d2) = (dct::dct64_to_16(&fast64), dct::dct64_to_16_portable(&fast64));
            assert!(d1.iter().zip(&d2).all(|(a, b)| a.to_bits() == b.to_bits()), "dct {rows}x{cols}");
        }
    }
}
