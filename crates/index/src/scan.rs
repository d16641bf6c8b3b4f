//! Brute force: XOR and popcount against every stored hash, compiled for the best popcount the
//! CPU has (AVX-512 VPOPCNTDQ, AVX2, the POPCNT instruction, or plain integer code).

use crate::{Bits, Match};

/// Appends to `out` every `(ids[i], distance)` with `distance(hashes[i], query) <= radius`, for
/// the slots where `live[i]` (all slots when `live` is `None`). Order follows the slots.
pub fn scan(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
    assert_eq!(hashes.len(), ids.len(), "one id per hash");
    if let Some(live) = live {
        assert_eq!(live.len(), hashes.len(), "one liveness flag per hash");
    }
    dispatch(hashes, ids, live, query, radius, out);
}

#[inline(always)]
fn scan_portable(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
    // Distances are computed in blocks so the popcounts vectorise; the rare hits are then
    // picked out one by one.
    const BLOCK: usize = 64;
    let mut d = [0u32; BLOCK];
    for (start, block) in (0..hashes.len()).step_by(BLOCK).zip(hashes.chunks(BLOCK)) {
        for (slot, h) in d.iter_mut().zip(block) {
            *slot = crate::distance(h, query);
        }
        for (k, &dist) in d[..block.len()].iter().enumerate() {
            let i = start + k;
            if dist <= radius && live.is_none_or(|l| l[i]) {
                out.push(Match { distance: dist, id: ids[i] });
            }
        }
    }
}

/// Which build of the scan this CPU runs, for benchmarks and reports.
pub fn level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vpopcntdq") && std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512-vpopcntdq";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
            return "avx2";
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            return "popcnt";
        }
    }
    "portable"
}

#[allow(unsafe_code)]
fn dispatch(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vpopcntdq,avx2,popcnt")]
        fn avx512(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
            scan_portable(hashes, ids, live, query, radius, out);
        }
        #[target_feature(enable = "avx2,popcnt")]
        fn avx2(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
            scan_portable(hashes, ids, live, query, radius, out);
        }
        #[target_feature(enable = "popcnt")]
        fn popcnt(hashes: &[Bits], ids: &[u64], live: Option<&[bool]>, query: &Bits, radius: u32, out: &mut Vec<Match>) {
            scan_portable(hashes, ids, live, query, radius, out);
        }
        match level() {
            // SAFETY: `level` reported that this CPU has every feature the build enables.
            "avx512-vpopcntdq" => return unsafe { avx512(hashes, ids, live, query, radius, out) },
            // SAFETY: as above.
            "avx2" => return unsafe { avx2(hashes, ids, live, query, radius, out) },
            // SAFETY: as above.
            "popcnt" => return unsafe { popcnt(hashes, ids, live, query, radius, out) },
            _ => {}
        }
    }
    scan_portable(hashes, ids, live, query, radius, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cpu_build_finds_the_same_matches_as_the_portable_one() {
        let mut random = crate::test_hashes(0x9e37_79b9_7f4a_7c15, 1001);
        let base: Bits = random.pop().expect("one more than the random ones");
        // Hashes at every distance from 0 to 256 from the base, plus random ones.
        let mut hashes: Vec<Bits> = (0..=256usize)
            .map(|d| {
                let mut h = base;
                for bit in 0..d {
                    h[bit / 64] ^= 1 << (bit % 64);
                }
                h
            })
            .collect();
        hashes.extend(random);
        let ids: Vec<u64> = (0..hashes.len() as u64).collect();
        let live: Vec<bool> = (0..hashes.len()).map(|i| i % 7 != 3).collect();
        for radius in [0, 1, 31, 63, 128, 256] {
            for live in [None, Some(&live[..])] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                scan(&hashes, &ids, live, &base, radius, &mut fast);
                scan_portable(&hashes, &ids, live, &base, radius, &mut slow);
                assert_eq!(fast, slow, "radius {radius}");
                let expected = (0..=radius as usize).filter(|&d| live.is_none_or(|l| l[d])).count();
                assert!(fast.len() >= expected, "radius {radius}: the constructed hashes are found");
            }
        }
    }
}
