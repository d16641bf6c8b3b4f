//! Golden tests against Meta's reference outputs (`tests/data/pdq/expected`, made with PyPI
//! `pdqhash` 0.2.8, Meta's C++, over Pillow's decode with libjpeg-turbo 3.2).

use std::collections::BTreeSet;

use crate::helpers::{csv, hash, hash_file, read};
use serde_json::Value;
use tocsin_hash::pdq::{Dihedral, Hasher, PdqHash, Resize, RgbView};
use tocsin_hash::{DecodeOptions, HashOptions, decode_rgb};

#[test]
fn every_reference_image_hashes_exactly_as_the_reference() {
    let rows = csv("pdqhash-0.2.8-fullsize.csv");
    assert_eq!(rows.len(), 47, "the reference set has 47 images");
    let mut wrong = Vec::new();
    for row in &rows {
        let got = hash_file(&row[0], false);
        let (w, h): (u32, u32) = (row[1].parse().expect("width"), row[2].parse().expect("height"));
        assert_eq!((got.width, got.height), (w, h), "{}", row[0]);
        let expected = hash(&row[4]);
        let quality: u8 = row[5].parse().expect("quality");
        if got.pdq.hash != expected || got.pdq.quality.get() != quality {
            wrong.push(format!(
                "{}: {} q{} (expected {} q{}, {} bits apart)",
                row[0],
                got.pdq.hash,
                got.pdq.quality,
                expected,
                quality,
                got.pdq.hash.distance(&expected)
            ));
        }
    }
    // JPEGs included: the libjpeg-turbo decoder reproduces Pillow's pixels, so no distance is
    // tolerated for any format.
    assert!(wrong.is_empty(), "differences from the reference:\n{}", wrong.join("\n"));
}

#[test]
fn the_eight_dihedral_hashes_match_the_reference() {
    let rows = csv("pdqhash-0.2.8-dihedral.csv");
    assert_eq!(rows.len(), 47);
    for row in &rows {
        let got = hash_file(&row[0], true).dihedral.expect("asked for");
        for (k, which) in Dihedral::ALL.iter().enumerate() {
            assert_eq!(got.get(*which), hash(&row[1 + k]), "{} {}", row[0], which.name());
        }
        assert_eq!(got.quality.get().to_string(), row[9], "{} quality", row[0]);
    }
}

#[test]
fn the_dct_floats_of_lossless_inputs_match_the_reference_bit_for_bit() {
    let json: Value = serde_json::from_slice(&read("expected/pdqhash-0.2.8-dct16x16-png.json")).expect("json");
    let files = json.as_object().expect("object");
    assert_eq!(files.len(), 7);
    let bits = |v: &Value| u32::from_str_radix(v.as_str().expect("hex string"), 16).expect("hex");
    for (file, expected) in files {
        let image = decode_rgb(&read(file), &DecodeOptions::default()).expect("decodes");
        let view = RgbView::new(image.width as usize, image.height as usize, &image.pixels).expect("sized");
        let dct = Hasher::new().dct_rgb(view).expect("large enough");
        let want: Vec<u32> = expected["dct16x16_row_major_f32_bits"].as_array().expect("array").iter().map(bits).collect();
        let got: Vec<u32> = dct.coefficients.iter().map(|f| f.to_bits()).collect();
        assert_eq!(got, want, "{file}: DCT floats");
        assert_eq!(dct.median.to_bits(), bits(&expected["median_f32_bits"]), "{file}: median");
    }
}

#[test]
fn brute_force_distances_reproduce_the_needles_vs_haystack_golden_file() {
    let lines = |name: &str| -> Vec<PdqHash> {
        String::from_utf8(read(&format!("reg-test-input/{name}"))).expect("utf-8").lines().map(hash).collect()
    };
    let (needles, haystack) = (lines("needles.txt"), lines("haystack.txt"));
    let mut found = BTreeSet::new();
    for (i, n) in needles.iter().enumerate() {
        for (j, h) in haystack.iter().enumerate() {
            let d = n.distance(h);
            if d <= 63 {
                found.insert((i, j, d));
            }
        }
    }
    let expected: BTreeSet<(usize, usize, u32)> = csv("needles-vs-haystack-bruteforce-d63.csv")
        .iter()
        .map(|r| (r[0].parse().expect("n"), r[1].parse().expect("h"), r[2].parse().expect("d")))
        .collect();
    assert_eq!(expected.len(), 352);
    assert_eq!(found, expected);
    assert_eq!(found.iter().filter(|(_, _, d)| *d <= 31).count(), 250);
}

#[test]
fn exif_orientation_is_ignored_by_default_and_applied_on_request() {
    let upright = hash_file("reg-test-input/exif-rotn/exif-rotn-1.jpg", false);
    let stored = hash_file("reg-test-input/exif-rotn/exif-rotn-6.jpg", false);
    assert_eq!((stored.width, stored.height), (4032, 3024), "stored pixels, as the reference hashes them");
    let options = DecodeOptions { apply_exif_orientation: true, ..DecodeOptions::default() };
    let bytes = read("reg-test-input/exif-rotn/exif-rotn-6.jpg");
    let oriented = tocsin_hash::hash_bytes(&mut Hasher::new(), &bytes, &options, &HashOptions::default()).expect("decodes");
    assert_eq!((oriented.width, oriented.height), (3024, 4032), "orientation 6 turns the picture upright");
    assert_ne!(oriented.pdq.hash, stored.pdq.hash);
    // The flag must not change images without a rotation tag.
    let plain =
        tocsin_hash::hash_bytes(&mut Hasher::new(), &read("reg-test-input/exif-rotn/exif-rotn-1.jpg"), &options, &HashOptions::default())
            .expect("decodes");
    assert_eq!(plain.pdq.hash, upright.pdq.hash);
}

#[test]
fn every_format_and_colour_mode_converts_to_rgb_as_pillow_does() {
    // GIF (animated too: the first frame counts), BMP, TIFF, CMYK, greyscale and progressive JPEG, lossy WebP with alpha, 1-bit, 16-bit and
    // palette PNGs, made with Pillow and hashed by the reference (`generated/make.py`).
    let rows = csv("../generated/expected.csv");
    assert_eq!(rows.len(), 20);
    let mut wrong = Vec::new();
    for row in &rows {
        let got = hash_file(&format!("generated/{}", row[0]), false);
        assert_eq!((got.width.to_string(), got.height.to_string()), (row[1].clone(), row[2].clone()), "{}", row[0]);
        let expected = hash(&row[4]);
        if got.pdq.hash != expected || got.pdq.quality.get().to_string() != row[5] {
            wrong.push(format!("{} ({}): {} bits apart", row[0], row[3], got.pdq.hash.distance(&expected)));
        }
    }
    assert!(wrong.is_empty(), "differences from Pillow + reference:\n{}", wrong.join("\n"));
}

#[test]
fn the_cpp_cli_512_resize_reproduces_the_reference_emulation() {
    // `pdqhash-0.2.8-cimg512.csv`: Meta's C++ command-line hasher shrinks anything over 512 on
    // a side to 512x512 by nearest neighbour; emulated over Pillow's pixels.
    let rows = csv("pdqhash-0.2.8-cimg512.csv");
    assert_eq!(rows.len(), 47);
    let options = HashOptions { resize: Resize::CppCli512, ..HashOptions::default() };
    let mut resized = 0;
    for row in &rows {
        let got = tocsin_hash::hash_bytes(&mut Hasher::new(), &read(&row[0]), &DecodeOptions::default(), &options).expect("decodes");
        assert_eq!((got.width.to_string(), got.height.to_string()), (row[1].clone(), row[2].clone()), "{}", row[0]);
        assert_eq!(got.pdq.hash, hash(&row[3]), "{}", row[0]);
        assert_eq!(got.pdq.quality.get().to_string(), row[4], "{}", row[0]);
        resized += usize::from(row[1] == "512" && row[2] == "512");
    }
    assert!(resized > 30, "most reference images are larger than 512 and get resized");
}
