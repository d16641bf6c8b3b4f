//! The multi-index: the hash cut into 11 parts, one table per part mapping the part's value to the
//! hashes that have it; plus the hashes themselves for the brute-force path and the final check.
//!
//! Exactness rests on the generalised pigeonhole principle: give part `i` a threshold `t_i`; if
//! the sum of `t_i + 1` over the parts exceeds the radius, every hash within the radius is within
//! `t_i` of the query on some part `i`. The parts here are ten of 23 bits (threshold 2) and one of
//! 26 bits (threshold 1): 10 x 3 + 2 = 32, exact up to radius 31, PDQ's match threshold. Longer
//! parts than Meta's 16 x 16 bits mean far fewer candidates (about 330 a part at 10 million
//! random hashes instead of 2,600 a word), which is what a search costs: each candidate is a
//! random read of its hash.

use std::collections::HashMap;

use crate::big::Big;
use crate::{Bits, Match, distance, scan};

/// One part of the hash: bits `start .. start + len`. Its table is keyed by the low `primary`
/// bits; the other `len - primary` bits (at most 8) sit beside each posting, so that most
/// postings are dropped without reading their hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Part {
    start: u32,
    len: u32,
    pub(crate) primary: u32,
    /// Threshold at radius 31.
    t31: u8,
}

const fn part(start: u32, len: u32, primary: u32, t31: u8) -> Part {
    Part { start, len, primary, t31 }
}

/// The parts, covering bits 0 to 255 once each.
pub(crate) const PARTS: [Part; 11] = [
    part(0, 23, 18, 2),
    part(23, 23, 18, 2),
    part(46, 23, 18, 2),
    part(69, 23, 18, 2),
    part(92, 23, 18, 2),
    part(115, 23, 18, 2),
    part(138, 23, 18, 2),
    part(161, 23, 18, 2),
    part(184, 23, 18, 2),
    part(207, 23, 18, 2),
    part(230, 26, 18, 1),
];

/// The largest radius the multi-index answers exactly; past it the scan does.
pub(crate) const MAX_INDEXED_RADIUS: u32 = 31;

/// Below this many live hashes a scan beats the multi-index, whose enumeration of about 1,400
/// table groups costs some 25 microseconds a query whatever the size. Measured with random
/// queries (`cargo bench -p tocsin-index --bench index`, first table; `bench/RESULTS.md`): at
/// 4,096 hashes the scan is 3x faster, at 16,384 they are even, at 65,536 the index is 2.7x faster.
const SCAN_BELOW: usize = 16_384;

/// Part `p` of `x`, as an integer of `p.len` bits.
#[inline(always)]
pub(crate) fn part_value(x: &Bits, p: &Part) -> u32 {
    let (w, s) = ((p.start / 64) as usize, p.start % 64);
    let mut v = x[w] >> s;
    if s + p.len > 64 {
        // `s > 32` here (parts are at most 32 bits), so the shift is in range.
        v |= x[w + 1] << (64 - s);
    }
    // At most 32 bits survive the mask.
    (v & ((1u64 << p.len) - 1)) as u32
}

/// The table key (low `primary` bits) and the residual kept beside the posting.
#[inline(always)]
fn split(value: u32, p: &Part) -> (u32, u8) {
    // The residual has at most 8 bits (checked by a test over `PARTS`).
    (value & ((1 << p.primary) - 1), (value >> p.primary) as u8)
}

/// Per-part thresholds for `radius` (at most 31): as low as they can be while the sum of
/// `t + 1` still exceeds the radius; `-1` leaves a part out.
fn thresholds(radius: u32) -> [i8; PARTS.len()] {
    debug_assert!(radius <= MAX_INDEXED_RADIUS);
    let mut t = PARTS.map(|p| p.t31 as i8);
    let mut spare = PARTS.iter().map(|p| u32::from(p.t31) + 1).sum::<u32>() - (radius + 1);
    while spare > 0 {
        // Lower the highest threshold first: its part brings the most candidates.
        let (i, _) = t.iter().enumerate().max_by_key(|&(i, &t)| (t, std::cmp::Reverse(i))).expect("parts");
        t[i] -= 1;
        spare -= 1;
    }
    t
}

/// Calls `f(v', k)` for every `v'` within `t` bits (at most 3) of `v` on its low `bits` bits,
/// `k` being the number of bits flipped.
#[inline(always)]
fn variants(v: u32, bits: u32, t: u32, mut f: impl FnMut(u32, u32)) {
    debug_assert!(t <= 3);
    f(v, 0);
    if t == 0 {
        return;
    }
    for a in 0..bits {
        let va = v ^ (1 << a);
        f(va, 1);
        if t >= 2 {
            for b in a + 1..bits {
                let vb = va ^ (1 << b);
                f(vb, 2);
                if t >= 3 {
                    for c in b + 1..bits {
                        f(vb ^ (1 << c), 3);
                    }
                }
            }
        }
    }
}

/// One part's table in compressed form. The postings with key `v` are the group
/// `offsets[v]..offsets[v + 1]` (in slot order); a group of `c` postings starting at posting `a`
/// fills `groups[5a..5(a + c)]`: first the `c` residuals (a byte each), then the `c` slots
/// (`u32`, little-endian). Residuals and slots side by side mean that the slot of a posting
/// whose residual passes is in the cache lines just read, not one more random read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub(crate) offsets: Big<u32>,
    pub(crate) groups: Big<u8>,
}

/// Bytes a posting takes in [`Table::groups`].
pub(crate) const POSTING: usize = 5;

impl Table {
    /// Counting sort of the slots by their key for part `p`.
    fn build(hashes: &[Bits], p: &Part) -> Self {
        let mut offsets = vec![0u32; (1 << p.primary) + 1];
        for h in hashes {
            offsets[split(part_value(h, p), p).0 as usize + 1] += 1;
        }
        for v in 0..1 << p.primary {
            offsets[v + 1] += offsets[v];
        }
        let mut filled = vec![0u32; 1 << p.primary];
        let mut groups = Big::zeroed(hashes.len() * POSTING);
        for (slot, h) in hashes.iter().enumerate() {
            let (key, residual) = split(part_value(h, p), p);
            let key = key as usize;
            let (a, c) = (offsets[key] as usize, (offsets[key + 1] - offsets[key]) as usize);
            let i = filled[key] as usize;
            groups[POSTING * a + i] = residual;
            // Slots are below 2^32: `insert` and `from_pairs` refuse more.
            groups[POSTING * a + c + 4 * i..][..4].copy_from_slice(&(slot as u32).to_le_bytes());
            filled[key] += 1;
        }
        Self { offsets: offsets.into(), groups }
    }

    /// The group of postings under `key`: its residuals and its slots' bytes.
    #[inline(always)]
    fn group(&self, key: u32) -> (&[u8], &[u8]) {
        let (a, b) = (self.offsets[key as usize] as usize, self.offsets[key as usize + 1] as usize);
        self.groups[POSTING * a..POSTING * b].split_at(b - a)
    }

    /// Where the group under `key` starts in memory (for prefetching) and how many bytes it has.
    #[inline(always)]
    fn group_bytes(&self, key: u32) -> (*const u8, usize) {
        let (a, b) = (self.offsets[key as usize] as usize, self.offsets[key as usize + 1] as usize);
        (self.groups[(POSTING * a).min(self.groups.len())..].as_ptr(), POSTING * (b - a))
    }

    /// Appends the slots of the postings under `key` whose residual is within `allowed` bits of
    /// `residual`.
    #[inline(always)]
    fn collect(&self, key: u32, residual: u8, allowed: u32, out: &mut Vec<u32>) {
        let (residuals, slots) = self.group(key);
        // Bit masks of 32 residuals at a time, so the comparisons vectorise; the few that pass
        // are then picked out.
        for (start, rs) in (0..).step_by(32).zip(residuals.chunks(32)) {
            let mut mask = 0u32;
            if allowed == 0 {
                for (k, &r) in rs.iter().enumerate() {
                    mask |= u32::from(r == residual) << k;
                }
            } else {
                for (k, &r) in rs.iter().enumerate() {
                    mask |= u32::from((r ^ residual).count_ones() <= allowed) << k;
                }
            }
            while mask != 0 {
                let at = 4 * (start + mask.trailing_zeros() as usize);
                out.push(u32::from_le_bytes(slots[at..at + 4].try_into().expect("4 bytes")));
                mask &= mask - 1;
            }
        }
    }
}

/// How a search looks for matches. All give the same answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The multi-index for radii below 32 on indexes of a few thousand hashes or more, else the
    /// scan.
    #[default]
    Auto,
    /// The multi-index wherever it is exact (radius below 32), else the scan.
    MultiIndex,
    /// Compare against every hash.
    Scan,
}

/// Sizes, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Hashes that can be found.
    pub live: usize,
    /// Slots of removed hashes not yet reclaimed.
    pub removed: usize,
    /// Bytes of memory the index holds (hashes, ids, tables), not counting allocator slack.
    pub bytes: usize,
}

/// An exact Hamming-space index over 256-bit hashes, each stored under a caller's id.
///
/// Hashes given at build time go into packed tables (a counting sort per part: 5 bytes a hash a
/// part, no per-bucket allocations). Hashes inserted later go into small per-part maps; removal
/// only marks a slot dead. When the later inserts or the dead slots grow large, everything live is
/// packed again. An id may carry several hashes (one picture's dihedral variants, say);
/// [`Index::remove`] drops all of them.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub(crate) hashes: Big<Bits>,
    pub(crate) ids: Big<u64>,
    live: Vec<bool>,
    live_count: usize,
    /// Slots `0..packed_len` are in `tables`; later ones in `recent`.
    packed_len: usize,
    pub(crate) tables: Vec<Table>,
    recent: Vec<HashMap<u32, Vec<u32>>>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from `(id, hash)` pairs.
    ///
    /// # Panics
    /// With 2^32 pairs or more.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, Bits)>) -> Self {
        let (mut ids, mut hashes) = (Big::new(), Big::new());
        for (id, bits) in pairs {
            ids.push(id);
            hashes.push(bits);
        }
        assert!(u32::try_from(hashes.len()).is_ok(), "an index holds at most 2^32 hashes");
        let tables = PARTS.iter().map(|p| Table::build(&hashes, p)).collect();
        Self::from_tables(hashes, ids, tables)
    }

    /// An index over tables built here or read back by `format`, all slots live.
    pub(crate) fn from_tables(hashes: Big<Bits>, ids: Big<u64>, tables: Vec<Table>) -> Self {
        let n = hashes.len();
        Self { live: vec![true; n], live_count: n, packed_len: n, tables, recent: Vec::new(), hashes, ids }
    }

    /// Whether every slot is live and in the packed tables.
    pub(crate) fn is_fully_packed(&self) -> bool {
        self.tables.len() == PARTS.len() && self.packed_len == self.hashes.len() && self.live_count == self.hashes.len()
    }

    /// A packed index of the live hashes.
    pub(crate) fn packed_copy(&self) -> Self {
        Self::from_pairs((0..self.hashes.len()).filter(|&i| self.live[i]).map(|i| (self.ids[i], self.hashes[i])))
    }

    /// Number of hashes that can be found.
    pub fn len(&self) -> usize {
        self.live_count
    }

    /// Whether no hash can be found.
    pub fn is_empty(&self) -> bool {
        self.live_count == 0
    }

    /// Sizes, for reports.
    pub fn stats(&self) -> IndexStats {
        let tables: usize = self.tables.iter().map(|t| t.offsets.len() * 4 + t.groups.len()).sum();
        let recent: usize = self.recent.iter().flat_map(|m| m.values()).map(|v| v.len() * 4 + 32).sum();
        let bytes = self.hashes.len() * (32 + 8 + 1) + tables + recent;
        IndexStats { live: self.live_count, removed: self.hashes.len() - self.live_count, bytes }
    }

    /// Stores `bits` under `id`.
    ///
    /// # Panics
    /// When the index already holds 2^32 slots (live or removed).
    pub fn insert(&mut self, id: u64, bits: Bits) {
        let slot = u32::try_from(self.hashes.len()).expect("an index holds at most 2^32 hashes");
        self.hashes.push(bits);
        self.ids.push(id);
        self.live.push(true);
        self.live_count += 1;
        if self.recent.is_empty() {
            self.recent = vec![HashMap::new(); PARTS.len()];
        }
        for (p, table) in PARTS.iter().zip(&mut self.recent) {
            table.entry(split(part_value(&bits, p), p).0).or_default().push(slot);
        }
        // Many small maps cost more than a repack once they hold a good share of the index.
        if self.hashes.len() - self.packed_len > self.packed_len / 4 + SCAN_BELOW {
            self.repack();
        }
    }

    /// Removes every hash stored under `id`; returns how many there were.
    ///
    /// Finding them is a pass over the ids (a millisecond per million hashes): removals are
    /// rare next to searches, and an id map would cost more memory than the hashes.
    pub fn remove(&mut self, id: u64) -> usize {
        self.remove_ids(id..=id)
    }

    /// Removes every hash stored under an id in `ids`, in one pass; returns how many there were.
    pub fn remove_ids(&mut self, ids: std::ops::RangeInclusive<u64>) -> usize {
        let mut removed = 0;
        for slot in 0..self.ids.len() {
            if ids.contains(&self.ids[slot]) && self.live[slot] {
                self.live[slot] = false;
                self.live_count -= 1;
                removed += 1;
            }
        }
        if self.hashes.len() > 2 * self.live_count + SCAN_BELOW {
            self.repack();
        }
        removed
    }

    /// Packs every live hash again, dropping removed slots and emptying the recent maps.
    fn repack(&mut self) {
        *self = self.packed_copy();
    }

    /// Every stored hash within `radius` of `query`, sorted by distance, then id.
    pub fn search(&self, query: &Bits, radius: u32) -> Vec<Match> {
        self.search_using(query, radius, Strategy::Auto)
    }

    /// [`Index::search`] with the strategy chosen by the caller (for tests and benchmarks).
    pub fn search_using(&self, query: &Bits, radius: u32, strategy: Strategy) -> Vec<Match> {
        let mut out = Vec::new();
        if self.use_scan(radius, strategy) {
            scan::scan(&self.hashes, &self.ids, Some(&self.live), query, radius, &mut out);
        } else {
            self.probe(query, radius, |slot, d| out.push(Match { distance: d, id: self.ids[slot] }));
        }
        out.sort_unstable();
        out
    }

    /// Every stored hash within `radius` of any of `queries` (a picture's eight dihedral
    /// variants, say), each once at its smallest distance, sorted by distance, then id.
    pub fn search_any(&self, queries: &[Bits], radius: u32) -> Vec<Match> {
        let mut best: HashMap<u32, u32> = HashMap::new();
        let mut keep = |slot: usize, d: u32| {
            // Slots are below 2^32 by construction.
            let e = best.entry(slot as u32).or_insert(d);
            *e = (*e).min(d);
        };
        for query in queries {
            if self.use_scan(radius, Strategy::Auto) {
                for (slot, h) in self.hashes.iter().enumerate() {
                    let d = distance(h, query);
                    if d <= radius && self.live[slot] {
                        keep(slot, d);
                    }
                }
            } else {
                self.probe(query, radius, &mut keep);
            }
        }
        let mut out: Vec<Match> = best.into_iter().map(|(slot, d)| Match { distance: d, id: self.ids[slot as usize] }).collect();
        out.sort_unstable();
        out
    }

    /// The multi-index is exact up to radius 31; past that, or on a small index, the scan is
    /// cheaper.
    fn use_scan(&self, radius: u32, strategy: Strategy) -> bool {
        let exact = radius <= MAX_INDEXED_RADIUS;
        match strategy {
            Strategy::Auto => !exact || self.live_count < SCAN_BELOW,
            Strategy::MultiIndex => !exact,
            Strategy::Scan => true,
        }
    }

    /// Calls `found(slot, distance)` once for every live slot within `radius` (at most 31),
    /// compiled for AVX2 and POPCNT when the CPU has them, with software prefetches.
    #[allow(unsafe_code)]
    fn probe(&self, query: &Bits, radius: u32, mut found: impl FnMut(usize, u32)) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
            let mut hits = Vec::new();
            // SAFETY: AVX2 and POPCNT, the only features `probe_avx2` enables, were detected just
            // above.
            unsafe { self.probe_avx2(query, radius, &mut hits) };
            for (slot, d) in hits {
                found(slot, d);
            }
            return;
        }
        self.probe_portable(query, radius, |_| {}, found);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn probe_avx2(&self, query: &Bits, radius: u32, hits: &mut Vec<(usize, u32)>) {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        // A prefetch only hints at an address; it reads nothing, so any pointer will do.
        self.probe_portable(query, radius, |at: *const u8| _mm_prefetch::<_MM_HINT_T1>(at.cast()), |slot, d| hits.push((slot, d)));
    }

    /// The search proper. Nearly all its time is random reads: a table's offsets, its group of
    /// residuals, a posting's slot, a candidate's hash. So it goes in stages, breadth first:
    /// each stage asks for all the memory the next one will read (`prefetch`) before using any
    /// of it, keeping dozens of reads in flight instead of waiting for them one by one.
    #[inline(always)]
    fn probe_portable(&self, query: &Bits, radius: u32, prefetch: impl Fn(*const u8), mut found: impl FnMut(usize, u32)) {
        let ts = thresholds(radius);
        // (part, key, bits the residual may differ by) for every group to read.
        let mut groups: Vec<(u8, u32, u32)> = Vec::with_capacity(2048);
        for (i, p) in PARTS.iter().enumerate() {
            let Ok(t) = u32::try_from(ts[i]) else { continue };
            let key = split(part_value(query, p), p).0;
            // At most 11 parts, so `i` fits a byte.
            variants(key, p.primary, t, |v, k| groups.push((i as u8, v, t - k)));
        }
        let residuals = PARTS.map(|p| split(part_value(query, &p), &p).1);
        // Candidates as (part, slot).
        let mut candidates: Vec<(u8, u32)> = Vec::with_capacity(4096);
        if self.tables.len() == PARTS.len() {
            for &(i, v, _) in &groups {
                prefetch(self.tables[usize::from(i)].offsets[v as usize..].as_ptr().cast());
            }
            for &(i, v, _) in &groups {
                let (start, len) = self.tables[usize::from(i)].group_bytes(v);
                // Every cache line of the group, the last one too when the group starts mid-line.
                for line in (0..len).step_by(64).chain(len.checked_sub(1)) {
                    prefetch(start.wrapping_add(line));
                }
            }
            let mut slots = Vec::with_capacity(64);
            for &(i, v, allowed) in &groups {
                slots.clear();
                self.tables[usize::from(i)].collect(v, residuals[usize::from(i)], allowed, &mut slots);
                candidates.extend(slots.iter().map(|&slot| (i, slot)));
            }
            for &(_, slot) in &candidates {
                prefetch(self.hashes[slot as usize..].as_ptr().cast());
            }
        }
        // Inserts since the last pack are few: their slots go straight to the check.
        if !self.recent.is_empty() {
            for &(i, v, _) in &groups {
                for &slot in self.recent[usize::from(i)].get(&v).map_or(&[][..], Vec::as_slice) {
                    candidates.push((i, slot));
                }
            }
        }
        for &(i, slot) in &candidates {
            if let Some(d) = self.check(query, &ts, radius, usize::from(i), slot as usize) {
                found(slot as usize, d);
            }
        }
    }

    /// The distance of the hash in `slot`, a candidate from part `i`, when it is to be reported
    /// there: live, within `radius`, and `i` the first part where it is within the part's
    /// threshold (so that each hash is reported once, whichever parts found it).
    #[inline(always)]
    fn check(&self, query: &Bits, ts: &[i8; PARTS.len()], radius: u32, i: usize, slot: usize) -> Option<u32> {
        let h = &self.hashes[slot];
        let x = [h[0] ^ query[0], h[1] ^ query[1], h[2] ^ query[2], h[3] ^ query[3]];
        let near = |j: usize| ts[j] >= 0 && part_value(&x, &PARTS[j]).count_ones() <= ts[j] as u32;
        if !near(i) {
            return None;
        }
        for j in 0..i {
            if near(j) {
                return None;
            }
        }
        let d = x.iter().map(|w| w.count_ones()).sum::<u32>();
        // Liveness last: it is one more random read, needed only for the few hits.
        (d <= radius && self.live[slot]).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_cover_every_bit_once_and_keep_residuals_to_a_byte() {
        let mut next = 0;
        for p in &PARTS {
            assert_eq!(p.start, next, "parts are contiguous");
            assert!(p.len <= 32 && p.len - p.primary <= 8 && p.primary >= 12, "part at bit {}", p.start);
            next += p.len;
        }
        assert_eq!(next, 256);
        let h: Bits = [u64::MAX, 0, 0, 1 << 63];
        // Part 2 (bits 46..69) holds bits 46..63 of word 0 (set) and 0..4 of word 1 (clear).
        assert_eq!(part_value(&h, &PARTS[2]), (1 << 18) - 1);
        assert_eq!(part_value(&h, &PARTS[10]), 1 << 25);
    }

    #[test]
    fn thresholds_keep_the_pigeonhole_exact_at_every_indexed_radius() {
        for radius in 0..=MAX_INDEXED_RADIUS {
            let t = thresholds(radius);
            let sum: i32 = t.iter().map(|&t| i32::from(t) + 1).sum();
            assert_eq!(sum, radius as i32 + 1, "radius {radius}: {t:?}");
            assert!(t.iter().zip(&PARTS).all(|(&t, p)| t >= -1 && t <= p.t31 as i8));
        }
        assert_eq!(thresholds(0).iter().filter(|&&t| t >= 0).count(), 1, "an exact query probes one part");
    }

    #[test]
    fn variants_are_every_value_within_the_threshold_once() {
        for t in 0..=3 {
            let mut seen = std::collections::HashSet::new();
            variants(0b1010, 6, t, |v, k| {
                assert_eq!((v ^ 0b1010).count_ones(), k);
                assert!(seen.insert(v), "{v:b} twice");
            });
            let expected: u32 = (0..=t).map(|k| (0..k).fold(1, |c, i| c * (6 - i) / (i + 1))).sum();
            assert_eq!(seen.len() as u32, expected, "t = {t}");
        }
    }

    #[test]
    fn an_index_grown_one_insert_at_a_time_repacks_and_still_finds_everything() {
        let hashes = crate::test_hashes(0x2545_f491_4f6c_dd1d, 24_000);
        let mut index = Index::new();
        for (i, h) in hashes.iter().enumerate() {
            index.insert(i as u64, *h);
        }
        assert!(index.packed_len > SCAN_BELOW, "inserts past the threshold were packed");
        assert!(index.hashes.len() > index.packed_len, "and later ones wait in the recent maps");
        for (i, h) in hashes.iter().enumerate().step_by(97) {
            let mut q = *h;
            q[1] ^= 0b1011; // three bits off
            let want = vec![Match { distance: 3, id: i as u64 }];
            assert_eq!(index.search_using(&q, 31, Strategy::MultiIndex), want);
        }
    }

    #[test]
    fn an_index_whose_arrays_live_in_mapped_memory_finds_what_the_scan_finds() {
        // 150,000 hashes are 4.8 MB, past the size from which arrays are mapped (`big.rs`); the
        // inserts after the build grow the mapped arrays, the removals mark slots dead.
        let hashes = crate::test_hashes(0x9e37_79b9_7f4a_7c15, 150_000);
        let mut index = Index::from_pairs(hashes[..140_000].iter().enumerate().map(|(i, h)| (i as u64, *h)));
        for (i, h) in hashes.iter().enumerate().skip(140_000) {
            index.insert(i as u64, *h);
        }
        for id in (0..150_000).step_by(1_000) {
            assert_eq!(index.remove(id), 1);
        }
        let loaded = Index::from_bytes(&index.to_bytes()).expect("loads");
        for (i, h) in hashes.iter().enumerate().step_by(499) {
            let mut q = *h;
            q[i % 4] ^= 0x0f0f; // eight bits off
            let want = index.search_using(&q, 31, Strategy::Scan);
            assert_eq!(want.is_empty(), i % 1_000 == 0, "only removed hashes are missing");
            assert_eq!(index.search_using(&q, 31, Strategy::MultiIndex), want);
            assert_eq!(loaded.search_using(&q, 31, Strategy::MultiIndex), want);
        }
    }

    #[test]
    fn an_empty_index_saves_and_loads() {
        let loaded = Index::from_bytes(&Index::new().to_bytes()).expect("loads");
        assert!(loaded.is_empty());
        assert_eq!(loaded.search(&[0; 4], 63), vec![]);
    }

    #[test]
    fn removing_an_id_drops_all_its_hashes_and_only_those() {
        let a: Bits = [1, 2, 3, 4];
        let b: Bits = [1, 2, 3, 5];
        let mut index = Index::from_pairs([(7, a), (7, b), (8, a)]);
        assert_eq!(index.remove(7), 2);
        assert_eq!(index.remove(7), 0);
        assert_eq!(index.search(&a, 0), vec![Match { distance: 0, id: 8 }]);
        let stats = index.stats();
        assert_eq!((stats.live, stats.removed), (1, 2));
    }
}
