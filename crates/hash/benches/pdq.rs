//! PDQ speed on one thread against the `pdqhash` crate, decode excluded and included.
//!
//! Run with `cargo bench -p tocsin-hash --bench pdq`; `bench/reference.py` times Meta's C++
//! (PyPI `pdqhash` over Pillow) on the same files. Results go to `bench/RESULTS.md`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin_hash::pdq::{Hasher, RgbView};
use tocsin_hash::{DecodeOptions, HashOptions, decode_rgb, hash_bytes};

/// The benchmark images: about 256x256, 1024x768 and 4000x3000, all JPEG.
const IMAGES: [(&str, &str); 3] = [
    ("256x256", "bridge-mods/square-256x256.jpg"),
    ("1152x723", "bridge-mods/shrink-a-little.jpg"),
    ("4032x3024", "reg-test-input/exif-rotn/exif-rotn-1.jpg"),
];

fn read(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/pdq").join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let options = DecodeOptions::default();
    for (label, file) in IMAGES {
        let bytes = read(file);
        let decoded = decode_rgb(&bytes, &options).expect("decodes");
        let theirs = pdqhash::image::load_from_memory(&bytes).expect("decodes");

        let mut group = c.benchmark_group(format!("pdq/{label}"));
        group.throughput(Throughput::Elements(1));
        if decoded.width > 2000 {
            group.sample_size(10).measurement_time(Duration::from_secs(8));
        }
        let mut hasher = Hasher::new();
        let view = RgbView::new(decoded.width as usize, decoded.height as usize, &decoded.pixels).expect("sized");
        group.bench_function("hash-only/tocsin", |b| b.iter(|| hasher.hash_rgb(black_box(view))));
        group.bench_function("hash-only/pdqhash-crate", |b| b.iter(|| pdqhash::generate_pdq_full_size(black_box(&theirs))));
        group.bench_function("decode+hash/tocsin", |b| {
            b.iter(|| hash_bytes(&mut hasher, black_box(&bytes), &options, &HashOptions::default()))
        });
        group.bench_function("decode+hash/pdqhash-crate", |b| {
            b.iter(|| {
                let image = pdqhash::image::load_from_memory(black_box(&bytes)).expect("decodes");
                pdqhash::generate_pdq_full_size(&image)
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
