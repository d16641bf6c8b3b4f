//! Damaged input gets an error, never a panic, a hang or a huge allocation.

use proptest::prelude::*;
use tocsin_hash::pdq::Hasher;
use tocsin_hash::{DecodeError, DecodeOptions, HashOptions, hash_bytes};

use crate::helpers::read;

/// Small files in every supported format, the seeds that get damaged.
const SEEDS: [&str; 8] = [
    "misc-images/wee.jpg",
    "generated/pen-422-progressive.jpg",
    "generated/pen-palette-trns.png",
    "generated/pen-alpha-lossy.webp",
    "generated/pen-transparent.gif",
    "generated/pen-palette.bmp",
    "generated/pen-lzw.tif",
    "generated/pen-rgb16.png",
];

/// How a file gets damaged.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(prop::sample::Index),
    Flip(Vec<(prop::sample::Index, u8)>),
    Splice(prop::sample::Index, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Truncate),
        prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..16).prop_map(Damage::Flip),
        (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(i, b)| Damage::Splice(i, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, how: &Damage) -> Vec<u8> {
    match how {
        Damage::Truncate(at) => bytes.truncate(at.index(bytes.len())),
        Damage::Flip(flips) => {
            for (at, mask) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
        }
        Damage::Splice(at, junk) => {
            let i = at.index(bytes.len());
            bytes.splice(i..i, junk.iter().copied());
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_images_give_an_error_or_a_hash_never_a_panic(seed in 0..SEEDS.len(), how in damage()) {
        let bytes = apply(read(SEEDS[seed]), &how);
        // A small pixel limit keeps a corrupted header from asking for gigabytes.
        let options = DecodeOptions { max_pixels: 4_000_000, ..DecodeOptions::default() };
        match hash_bytes(&mut Hasher::new(), &bytes, &options, &HashOptions { dihedral: true, ..HashOptions::default() }) {
            Ok(h) => {
                prop_assert!(h.width > 0 && h.height > 0);
                prop_assert!(h.pdq.quality.get() <= 100);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn a_truncated_file_of_each_format_is_refused_not_padded() {
    // Pillow refuses truncated files ("image file is truncated"); hashing the grey padding a
    // lenient decoder would add gives a hash no partner can reproduce.
    for seed in SEEDS {
        let bytes = read(seed);
        let cut = &bytes[..bytes.len() * 2 / 3];
        let result = hash_bytes(&mut Hasher::new(), cut, &DecodeOptions::default(), &HashOptions::default());
        assert!(matches!(result, Err(DecodeError::Corrupt { .. })), "{seed}: {result:?}");
    }
}
