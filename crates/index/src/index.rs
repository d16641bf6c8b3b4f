//! The multi-index: 16 tables, one per 16-bit word of the hash, each mapping a word value to the
//! hashes that have it; plus the hashes themselves for the brute-force path and the final check.

use std::collections::HashMap;

use crate::{Bits, Match, distance, scan};

/// Words per hash in the multi-index (16 words of 16 bits, as Meta's reference index).
pub(crate) const WORDS: usize = 16;

/// Below this many live hashes a scan beats building candidate lists.
const SCAN_BELOW: usize = 4096;

/// Word `w` of a hash: bits `16 w .. 16 w + 15`.
#[inline(always)]
pub(crate) fn word(h: &Bits, w: usize) -> u16 {
    // The shift keeps the 16 wanted bits at the bottom; the cast drops the rest.
    (h[w / 4] >> ((w % 4) * 16)) as u16
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
}

/// One word's table in compressed form: the slots with word value `v` are
/// `postings[offsets[v]..offsets[v + 1]]`, in slot order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    pub(crate) offsets: Vec<u32>,
    pub(crate) postings: Vec<u32>,
}

impl Packed {
    /// Counting sort of `slots` by their word `w`.
    fn build(hashes: &[Bits], w: usize) -> Self {
        let mut offsets = vec![0u32; (1 << 16) + 1];
        for h in hashes {
            offsets[usize::from(word(h, w)) + 1] += 1;
        }
        for v in 0..1 << 16 {
            offsets[v + 1] += offsets[v];
        }
        let mut next = offsets.clone();
        let mut postings = vec![0u32; hashes.len()];
        for (slot, h) in hashes.iter().enumerate() {
            let v = usize::from(word(h, w));
            // Slots are below 2^32: `insert` and `from_pairs` refuse more.
            postings[next[v] as usize] = slot as u32;
            next[v] += 1;
        }
        Self { offsets, postings }
    }

    fn get(&self, v: u16) -> &[u32] {
        if self.offsets.is_empty() {
            return &[];
        }
        let v = usize::from(v);
        &self.postings[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }
}

/// An exact Hamming-space index over 256-bit hashes, each stored under a caller's id.
///
/// Hashes given at build time go into packed tables (a counting sort per word: 4 bytes a hash a
/// word, no per-bucket allocations). Hashes inserted later go into small per-word maps; removal
/// only marks a slot dead. When the later inserts or the dead slots grow large, everything live is
/// packed again. An id may carry several hashes (one picture's dihedral variants, say);
/// [`Index::remove`] drops all of them.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub(crate) hashes: Vec<Bits>,
    pub(crate) ids: Vec<u64>,
    live: Vec<bool>,
    live_count: usize,
    /// Slots `0..packed_len` are in `packed`; later ones in `recent`.
    packed_len: usize,
    pub(crate) packed: Vec<Packed>,
    recent: Vec<HashMap<u16, Vec<u32>>>,
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
        let (ids, hashes): (Vec<u64>, Vec<Bits>) = pairs.into_iter().unzip();
        assert!(u32::try_from(hashes.len()).is_ok(), "an index holds at most 2^32 hashes");
        let n = hashes.len();
        let packed = (0..WORDS).map(|w| Packed::build(&hashes, w)).collect();
        Self { live: vec![true; n], live_count: n, packed_len: n, packed, recent: Vec::new(), hashes, ids }
    }

    /// An index over tables read back by `format`, all slots live.
    pub(crate) fn from_packed(hashes: Vec<Bits>, ids: Vec<u64>, packed: Vec<Packed>) -> Self {
        let n = hashes.len();
        Self { live: vec![true; n], live_count: n, packed_len: n, packed, recent: Vec::new(), hashes, ids }
    }

    /// Whether every slot is live and in the packed tables.
    pub(crate) fn is_fully_packed(&self) -> bool {
        self.packed.len() == WORDS && self.packed_len == self.hashes.len() && self.live_count == self.hashes.len()
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
        IndexStats { live: self.live_count, removed: self.hashes.len() - self.live_count }
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
            self.recent = vec![HashMap::new(); WORDS];
        }
        for (w, table) in self.recent.iter_mut().enumerate() {
            table.entry(word(&bits, w)).or_default().push(slot);
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
        let mut removed = 0;
        for slot in 0..self.ids.len() {
            if self.ids[slot] == id && self.live[slot] {
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

    /// Multi-index hashing is exact while the per-word radius is at most 1 (radius < 32); past
    /// that, or on a small index, the scan is cheaper.
    fn use_scan(&self, radius: u32, strategy: Strategy) -> bool {
        let exact = radius < 2 * WORDS as u32;
        match strategy {
            Strategy::Auto => !exact || self.live_count < SCAN_BELOW,
            Strategy::MultiIndex => !exact,
            Strategy::Scan => true,
        }
    }

    /// Calls `found(slot, distance)` once for every live slot within `radius` (< 32), using the
    /// POPCNT instruction when the CPU has it (a quarter faster than the portable bit-twiddling).
    #[allow(unsafe_code)]
    fn probe(&self, query: &Bits, radius: u32, mut found: impl FnMut(usize, u32)) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            let mut hits = Vec::new();
            // SAFETY: POPCNT, the only feature `probe_popcnt` enables, was detected just above.
            unsafe { self.probe_popcnt(query, radius, &mut hits) };
            for (slot, d) in hits {
                found(slot, d);
            }
            return;
        }
        self.probe_portable(query, radius, found);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn probe_popcnt(&self, query: &Bits, radius: u32, hits: &mut Vec<(usize, u32)>) {
        self.probe_portable(query, radius, |slot, d| hits.push((slot, d)));
    }

    #[inline(always)]
    fn probe_portable(&self, query: &Bits, radius: u32, mut found: impl FnMut(usize, u32)) {
        let per_word = radius / WORDS as u32;
        debug_assert!(per_word <= 1);
        let flips = if per_word == 0 { 0 } else { 16 };
        for w in 0..WORDS {
            let qw = word(query, w);
            for probe in std::iter::once(qw).chain((0..flips).map(|b| qw ^ (1 << b))) {
                let packed = self.packed.get(w).map_or(&[][..], |t| t.get(probe));
                let recent = self.recent.get(w).and_then(|t| t.get(&probe)).map_or(&[][..], Vec::as_slice);
                for &slot in packed.iter().chain(recent) {
                    let slot = slot as usize;
                    let h = &self.hashes[slot];
                    // Each hash within the radius agrees with the query to within `per_word`
                    // bits in at least one word (pigeonhole); report it at the first such word
                    // only.
                    if (0..w).any(|t| (word(h, t) ^ word(query, t)).count_ones() <= per_word) {
                        continue;
                    }
                    let d = distance(h, query);
                    // Liveness last: it is one more random read, needed only for the few hits.
                    if d <= radius && self.live[slot] {
                        found(slot, d);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_taken_from_the_least_significant_bits_up() {
        let h: Bits = [0x4444_3333_2222_1111, 0, 0, 0xffff_0000_0000_0000];
        assert_eq!(word(&h, 0), 0x1111);
        assert_eq!(word(&h, 3), 0x4444);
        assert_eq!(word(&h, 4), 0);
        assert_eq!(word(&h, 15), 0xffff);
    }

    #[test]
    fn an_index_grown_one_insert_at_a_time_repacks_and_still_finds_everything() {
        let hashes = crate::test_hashes(0x2545_f491_4f6c_dd1d, 6000);
        let mut index = Index::new();
        for (i, h) in hashes.iter().enumerate() {
            index.insert(i as u64, *h);
        }
        assert!(index.packed_len > 4096, "inserts past the threshold were packed");
        assert!(index.hashes.len() > index.packed_len, "and later ones wait in the recent maps");
        for (i, h) in hashes.iter().enumerate().step_by(97) {
            let mut q = *h;
            q[1] ^= 0b1011; // three bits off
            assert_eq!(index.search_using(&q, 31, Strategy::MultiIndex), vec![Match { distance: 3, id: i as u64 }]);
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
        assert_eq!(index.stats(), IndexStats { live: 1, removed: 2 });
    }
}
