//! The multi-index: 16 tables, one per 16-bit word of the hash, each mapping a word value to the
//! hashes that have it; plus the hashes themselves for the brute-force path and the final check.

use std::collections::HashMap;

use crate::{Bits, Match, distance, scan};

/// Words per hash in the multi-index (16 words of 16 bits, as Meta's reference index).
const WORDS: usize = 16;

/// Below this many live hashes a scan beats building candidate lists.
const SCAN_BELOW: usize = 4096;

/// Word `w` of a hash: bits `16 w .. 16 w + 15`.
#[inline]
fn word(h: &Bits, w: usize) -> u16 {
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

fn empty_tables() -> Vec<Vec<Vec<u32>>> {
    vec![vec![Vec::new(); 1 << 16]; WORDS]
}

/// Sizes, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Hashes that can be found.
    pub live: usize,
    /// Slots of removed hashes not yet reclaimed.
    pub removed: usize,
}

/// An exact Hamming-space index over 256-bit hashes, each stored under a caller's id.
///
/// An id may carry several hashes (one picture's dihedral variants, say); [`Index::remove`] drops
/// all of them. Inserting and removing never rebuilds the tables; removed slots are reclaimed when
/// they outnumber the live ones.
#[derive(Debug, Clone, Default)]
pub struct Index {
    hashes: Vec<Bits>,
    ids: Vec<u64>,
    live: Vec<bool>,
    live_count: usize,
    /// `tables[w][v]`: the slots whose word `w` is `v` (direct-addressed: 65,536 lists a word).
    tables: Vec<Vec<Vec<u32>>>,
    by_id: HashMap<u64, Vec<u32>>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self { tables: empty_tables(), ..Self::default() }
    }

    /// Builds an index from `(id, hash)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, Bits)>) -> Self {
        let mut index = Self::new();
        for (id, bits) in pairs {
            index.insert(id, bits);
        }
        index
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
        if self.tables.is_empty() {
            self.tables = empty_tables();
        }
        let slot = u32::try_from(self.hashes.len()).expect("an index holds at most 2^32 hashes");
        self.hashes.push(bits);
        self.ids.push(id);
        self.live.push(true);
        self.live_count += 1;
        for (w, table) in self.tables.iter_mut().enumerate() {
            table[usize::from(word(&bits, w))].push(slot);
        }
        self.by_id.entry(id).or_default().push(slot);
    }

    /// Removes every hash stored under `id`; returns how many there were.
    pub fn remove(&mut self, id: u64) -> usize {
        let Some(slots) = self.by_id.remove(&id) else { return 0 };
        for &slot in &slots {
            let i = slot as usize;
            self.live[i] = false;
            self.live_count -= 1;
            for (w, table) in self.tables.iter_mut().enumerate() {
                table[usize::from(word(&self.hashes[i], w))].retain(|&s| s != slot);
            }
        }
        if self.hashes.len() > 2 * self.live_count + SCAN_BELOW {
            self.reclaim();
        }
        slots.len()
    }

    /// Rebuilds without the removed slots.
    fn reclaim(&mut self) {
        let pairs: Vec<(u64, Bits)> = (0..self.hashes.len()).filter(|&i| self.live[i]).map(|i| (self.ids[i], self.hashes[i])).collect();
        *self = Self::from_pairs(pairs);
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

    /// Calls `found(slot, distance)` once for every live slot within `radius` (< 32).
    fn probe(&self, query: &Bits, radius: u32, mut found: impl FnMut(usize, u32)) {
        let per_word = radius / WORDS as u32;
        debug_assert!(per_word <= 1);
        for (w, table) in self.tables.iter().enumerate() {
            let qw = word(query, w);
            let flips = if per_word == 0 { 0 } else { 16 };
            for probe in std::iter::once(qw).chain((0..flips).map(|b| qw ^ (1 << b))) {
                for &slot in &table[usize::from(probe)] {
                    let h = &self.hashes[slot as usize];
                    // Each hash within the radius agrees with the query to within `per_word`
                    // bits in at least one word (pigeonhole); report it at the first such word
                    // only.
                    if (0..w).any(|t| (word(h, t) ^ word(query, t)).count_ones() <= per_word) {
                        continue;
                    }
                    let d = distance(h, query);
                    if d <= radius {
                        found(slot as usize, d);
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
