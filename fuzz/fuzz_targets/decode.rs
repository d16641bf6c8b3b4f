//! Fuzzes the decoder entry point: any bytes must give a hash or an error, never a crash.
#![no_main]

use tocsin_hash::pdq::Hasher;
use tocsin_hash::{DecodeOptions, HashOptions, hash_bytes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // A small pixel limit keeps the fuzzer from spending its time on legitimately huge images.
    let options = DecodeOptions { max_pixels: 1 << 22, ..DecodeOptions::default() };
    if let Ok(h) = hash_bytes(&mut Hasher::new(), data, &options, &HashOptions { dihedral: true, ..HashOptions::default() }) {
        assert!(h.width > 0 && h.height > 0);
    }
});
