//! Meta's needles-versus-haystack regression data, searched through the index.

use std::collections::BTreeSet;

use tocsin_index::{Index, Strategy};

use crate::helpers::hash_list;

#[test]
fn the_index_reproduces_the_needles_vs_haystack_golden_file() {
    let (needles, haystack) = (hash_list("needles.txt"), hash_list("haystack.txt"));
    let index = Index::from_pairs(haystack.iter().enumerate().map(|(i, h)| (i as u64, *h)));
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq/expected/needles-vs-haystack-bruteforce-d63.csv");
    let expected: BTreeSet<(u64, u64, u32)> = std::fs::read_to_string(path)
        .expect("golden file")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().expect("needle"), f[1].parse().expect("haystack"), f[2].parse().expect("distance"))
        })
        .collect();
    for strategy in [Strategy::Auto, Strategy::MultiIndex, Strategy::Scan] {
        for radius in [31, 63] {
            // A list, not a set, so a pair reported twice would show.
            let mut found = Vec::new();
            for (n, needle) in needles.iter().enumerate() {
                let matches = index.search_using(needle, radius, strategy);
                assert!(matches.windows(2).all(|w| w[0] <= w[1]), "sorted by distance, then id");
                found.extend(matches.iter().map(|m| (n as u64, m.id, m.distance)));
            }
            found.sort_unstable();
            let want: Vec<_> = expected.iter().copied().filter(|&(_, _, d)| d <= radius).collect();
            assert_eq!(found, want, "{strategy:?} at radius {radius}");
        }
    }
}
