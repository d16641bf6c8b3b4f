//! Fuzzes the video input path as an upload takes it: any bytes, handed to the FFmpeg tools from
//! memory and their output to the vPDQ hasher, must give features or an error, never a crash or
//! a hang past the deadline.
#![no_main]

use std::time::Duration;

use tocsin_media::{Input, Limits, hash};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Small limits keep each run short: a second of decoding, small frames, a minute of video.
    let limits = Limits { max_pixels: 1 << 20, max_seconds: 60.0, max_time: Duration::from_secs(2), threads: 1, max_memory: 1 << 30 };
    let mut features = 0u64;
    if let Ok(frames) = hash(Input::Memory(data), 1.0, &limits, |f| {
        assert!(f.quality.get() <= 100);
        features += 1;
        Ok(())
    }) {
        assert!(frames > 0 && features > 0 && features <= frames);
    }
});
