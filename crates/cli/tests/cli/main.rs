//! The `tocsin` command line, run as a user would run it.

mod banks;
mod blocklist;
mod browser;
mod console;
mod durability;
mod gate;
mod helpers;
mod investigations;
mod law;
mod log;
mod orders;
mod package;
mod peer;
mod serve;
mod sharing;
mod video;

use std::os::unix::ffi::OsStrExt;

use helpers::{data_dir, expected, tocsin_in};
use serde_json::Value;

#[test]
fn tsv_lines_carry_hash_quality_and_the_path_as_find_prints_it() {
    let run = tocsin_in(&data_dir(), &["hash", "bridge-mods/", "misc-images/wee.jpg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 13);
    // Folder entries in name order, the folder as named joined with the file name.
    assert!(lines[0].ends_with("\tbridge-mods/aaa-orig.jpg"), "{}", lines[0]);
    assert!(lines[11].ends_with("\tbridge-mods/square-512x512.jpg"), "{}", lines[11]);
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "{line}");
        let (hash, quality) = expected(f[2].trim_start_matches("./"));
        assert_eq!((f[0], f[1]), (hash.as_str(), quality.as_str()), "{line}");
    }
}

#[test]
fn json_lines_add_size_format_and_on_request_the_dihedral_variants() {
    let run = tocsin_in(&data_dir(), &["hash", "--format", "json", "--dihedral", "reg-test-input/pen-and-coaster.png"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object");
    let (hash, quality) = expected("reg-test-input/pen-and-coaster.png");
    assert_eq!(v["path"], "reg-test-input/pen-and-coaster.png");
    assert_eq!(v["hash"], hash.as_str());
    assert_eq!(v["quality"].to_string(), quality);
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(924), Some(735)));
    assert_eq!(v["format"], "png");
    let dihedral_csv = std::fs::read_to_string(data_dir().join("expected/pdqhash-0.2.8-dihedral.csv")).expect("csv");
    let row: Vec<&str> =
        dihedral_csv.lines().find(|l| l.starts_with("reg-test-input/pen-and-coaster.png,")).expect("row").split(',').collect();
    for (k, name) in ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"].iter().enumerate() {
        assert_eq!(v["dihedral"][name], row[k + 1], "{name}");
    }
}

#[test]
fn bad_files_are_reported_one_by_one_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read(data_dir().join("misc-images/wee.jpg")).expect("read");
    std::fs::write(dir.path().join("a-empty.png"), b"").expect("write");
    std::fs::write(dir.path().join("b-truncated.jpg"), &good[..good.len() / 2]).expect("write");
    std::fs::write(dir.path().join("c-notes.txt"), b"meeting at noon").expect("write");
    std::fs::copy(data_dir().join("../bomb-100000x100000.png"), dir.path().join("d-bomb.png")).expect("copy");
    std::fs::write(dir.path().join("e-good.jpg"), &good).expect("write");
    let run = tocsin_in(dir.path(), &["hash", ".", "missing.jpg"]);
    assert_eq!(run.code, 1, "some files failed: {}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(run.stdout.ends_with("\t./e-good.jpg\n"), "{}", run.stdout);
    for (file, reason) in [
        ("./a-empty.png", "empty file"),
        ("./b-truncated.jpg", "truncated"),
        ("./c-notes.txt", "not an image"),
        ("./d-bomb.png", "100000x100000 pixels exceeds the limit"),
        ("missing.jpg", "no such file"),
    ] {
        let line = run.stderr.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("no error for {file}: {}", run.stderr));
        assert!(line.contains(reason), "{file}: {line}");
    }
    assert!(run.stderr.contains("5 of 6 path(s) could not be hashed"), "{}", run.stderr);
}

#[test]
fn the_output_does_not_depend_on_the_number_of_workers() {
    let one = tocsin_in(&data_dir(), &["hash", "--jobs", "1", "misc-images", "bridge-mods"]);
    let three = tocsin_in(&data_dir(), &["hash", "-j", "3", "misc-images", "bridge-mods"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.stdout, three.stdout);
    assert_eq!(one.stdout.lines().count(), 12 + 17);
}

#[test]
fn exif_orientation_is_applied_only_when_asked() {
    let file = "reg-test-input/exif-rotn/exif-rotn-6.jpg";
    let plain = tocsin_in(&data_dir(), &["hash", "--format", "json", file]);
    let turned = tocsin_in(&data_dir(), &["hash", "--format", "json", "--exif-orientation", file]);
    let (p, t): (Value, Value) = (serde_json::from_str(&plain.stdout).expect("json"), serde_json::from_str(&turned.stdout).expect("json"));
    assert_eq!(p["hash"], expected(file).0.as_str());
    assert_eq!((p["width"].as_u64(), t["width"].as_u64()), (Some(4032), Some(3024)));
    assert_ne!(p["hash"], t["hash"]);
}

#[test]
fn usage_errors_exit_with_status_2() {
    let run = tocsin_in(&data_dir(), &["hash"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("PATH"), "{}", run.stderr);
    assert_eq!(tocsin_in(&data_dir(), &["hash", "--jobs", "0", "x"]).code, 2);
}

#[test]
fn resize_512_hashes_as_meta_s_cpp_command_line_tool_does() {
    let run = tocsin_in(&data_dir(), &["hash", "--format", "json", "--resize-512", "bridge-mods/aaa-orig.jpg", "misc-images/wee.jpg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    let csv = std::fs::read_to_string(data_dir().join("expected/pdqhash-0.2.8-cimg512.csv")).expect("csv");
    for v in &lines {
        let path = v["path"].as_str().expect("path");
        let row: Vec<&str> = csv.lines().find(|l| l.starts_with(&format!("{path},"))).expect("row").split(',').collect();
        assert_eq!(v["hash"], row[3], "{path}");
        assert_eq!((v["width"].to_string(), v["height"].to_string()), (row[1].to_owned(), row[2].to_owned()), "{path}");
    }
    // The large photo is shrunk; the small one is hashed as it is.
    assert_eq!((lines[0]["width"].as_u64(), lines[1]["width"].as_u64()), (Some(512), Some(34)));
}

#[test]
fn a_folder_walk_reads_regular_files_only_and_keeps_names_as_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = data_dir().join("misc-images/wee.jpg");
    // A pipe would block a reader forever; a walk must pass it by, as `find -type f` does.
    let made = std::process::Command::new("mkfifo").arg(dir.path().join("a-pipe")).status().expect("mkfifo runs");
    assert!(made.success());
    std::fs::copy(&image, dir.path().join("b.jpg")).expect("copy");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("c-loop")).expect("symlink");
    let odd = std::ffi::OsStr::from_bytes(b"d-caf\xe9.jpg");
    std::fs::copy(&image, dir.path().join(odd)).expect("copy");
    let run = tocsin_in(dir.path(), &["hash", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let paths: Vec<&str> = run.stdout.lines().map(|l| l.rsplit('\t').next().expect("path")).collect();
    assert_eq!(paths, ["./b.jpg", "./d-caf\u{fffd}.jpg"]);
    // The name that is not UTF-8 comes out byte for byte, not with a replacement character.
    assert!(run.stdout_bytes.ends_with(b"\t./d-caf\xe9.jpg\n"), "{:?}", String::from_utf8_lossy(&run.stdout_bytes));
}

#[test]
fn match_finds_every_bank_hash_within_the_distance_in_query_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (orig, _) = expected("bridge-mods/aaa-orig.jpg");
    let (blur, _) = expected("bridge-mods/blur-a-lot.jpg");
    let (rotated, _) = expected("reg-test-input/dih/bridge-2-rotate-90.jpg");
    std::fs::write(dir.path().join("bank.txt"), format!("{blur} case-7/blurred\n\n{rotated}\n{orig}\tcase-7/original\n")).expect("write");
    // Queries straight from `tocsin hash`, in the order it prints them.
    let hashed = tocsin_in(&data_dir(), &["hash", "bridge-mods/aaa-orig.jpg", "misc-images/wee.jpg"]);
    std::fs::write(dir.path().join("queries.tsv"), &hashed.stdout).expect("write");
    let run = tocsin_in(dir.path(), &["match", "--bank", "bank.txt", "queries.tsv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let d = |a: &str, b: &str| tocsin_hash::pdq::PdqHash::distance(&a.parse().expect("hex"), &b.parse().expect("hex"));
    assert_eq!(
        run.stdout,
        format!("{orig}\t{orig}\t0\tcase-7/original\n{orig}\t{blur}\t{}\tcase-7/blurred\n", d(&orig, &blur)),
        "the rotated copy is far away and wee.jpg matches nothing"
    );
    // Every pair, sorted by distance, at the widest radius asked.
    let wide = tocsin_in(dir.path(), &["match", "--bank", "bank.txt", "--max-distance", "256", "queries.tsv"]);
    assert_eq!(wide.stdout.lines().count(), 6);
}

#[test]
fn match_names_the_line_of_a_bad_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (orig, _) = expected("bridge-mods/aaa-orig.jpg");
    std::fs::write(dir.path().join("bank.txt"), format!("{orig}\nnot-a-hash id\n")).expect("write");
    let run = tocsin_in(dir.path(), &["match", "--bank", "bank.txt", "bank.txt"]);
    assert_eq!(run.code, 2, "a bad bank stops the run");
    assert!(run.stderr.contains("bank.txt:2:") && run.stderr.contains("64 hex digits"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    std::fs::write(dir.path().join("good.txt"), format!("{orig}\n")).expect("write");
    std::fs::write(dir.path().join("queries.txt"), format!("zz\n{orig}\n")).expect("write");
    let run = tocsin_in(dir.path(), &["match", "--bank", "good.txt", "queries.txt"]);
    assert_eq!(run.code, 1, "bad query lines are skipped and counted");
    assert!(run.stderr.contains("queries.txt:1:"), "{}", run.stderr);
    assert_eq!(run.stdout, format!("{orig}\t{orig}\t0\t\n"));
}

#[test]
fn an_index_built_once_answers_as_the_text_bank_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hashed = tocsin_in(&data_dir(), &["hash", "bridge-mods", "reg-test-input/dih"]);
    // The bank: every hash with its path as the id.
    let bank: String = hashed
        .stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{} {}\n", f[0], f[2])
        })
        .collect();
    std::fs::write(dir.path().join("bank.txt"), bank).expect("write");
    std::fs::write(dir.path().join("queries.tsv"), &hashed.stdout).expect("write");
    let built = tocsin_in(dir.path(), &["index", "build", "bank.txt", "-o", "bank.idx"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(built.stderr.contains("indexed 20 hash(es)"), "{}", built.stderr);
    let from_text = tocsin_in(dir.path(), &["match", "--bank", "bank.txt", "queries.tsv"]);
    let from_index = tocsin_in(dir.path(), &["match", "--index", "bank.idx", "queries.tsv"]);
    assert_eq!(from_index.code, 0, "{}", from_index.stderr);
    assert!(from_text.stdout.lines().count() >= 20, "every image matches itself at least");
    assert_eq!(from_index.stdout, from_text.stdout);

    // A damaged index is refused, not searched.
    let mut bytes = std::fs::read(dir.path().join("bank.idx")).expect("read");
    bytes.truncate(bytes.len() - 3);
    std::fs::write(dir.path().join("cut.idx"), bytes).expect("write");
    let cut = tocsin_in(dir.path(), &["match", "--index", "cut.idx", "queries.tsv"]);
    assert_eq!(cut.code, 2);
    assert!(cut.stderr.contains("cut.idx:"), "{}", cut.stderr);
}

/// `tests/data/vpdq` at the workspace root.
fn vpdq_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/vpdq")
}

#[test]
fn a_video_hashed_every_frame_gives_meta_s_reference_file_byte_for_byte() {
    for name in ["pattern-sd-with-small-logo-bar", "doorknob-hd-no-bar"] {
        let video = vpdq_dir().join(format!("sample-videos/{name}.mp4"));
        let run = tocsin_in(&vpdq_dir(), &["hash", "--format", "vpdq", "--seconds-per-hash", "0", video.to_str().expect("utf-8")]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let expected = std::fs::read_to_string(vpdq_dir().join(format!("sample-hashes/{name}.txt"))).expect("expected file");
        assert!(run.stdout == expected, "{name}: the output differs from Meta's file");
    }
    // One hash a second by default: 4 of doorknob's 120 frames at 30 a second.
    let video = vpdq_dir().join("sample-videos/doorknob-hd-no-bar.mp4");
    let run = tocsin_in(&vpdq_dir(), &["hash", "--format", "vpdq", video.to_str().expect("utf-8")]);
    let frames: Vec<&str> = run.stdout.lines().map(|l| l.split(',').next().expect("a frame number")).collect();
    assert_eq!(frames, ["0", "30", "60", "90"], "{}", run.stderr);
}

#[test]
fn what_is_not_a_video_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.mp4"), b"not a video at all").expect("write");
    let video = std::fs::read(vpdq_dir().join("sample-videos/pattern-sd-grey-bar.mp4")).expect("video");
    std::fs::write(dir.path().join("cut.mp4"), &video[..video.len() / 3]).expect("write");
    for (file, reason) in [("notes.mp4", "not a video"), ("cut.mp4", "")] {
        let run = tocsin_in(dir.path(), &["hash", "--format", "vpdq", file]);
        assert_eq!(run.code, 1, "{file}: {}", run.stdout);
        assert!(run.stderr.contains(file) && run.stderr.contains(reason), "{file}: {}", run.stderr);
    }
}

#[test]
fn videos_in_a_folder_are_found_by_their_content_and_hashed_beside_the_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().join("seized");
    std::fs::create_dir(&folder).expect("mkdir");
    // A video under a name that says nothing, an image, and a cut video.
    std::fs::copy(vpdq_dir().join("sample-videos/doorknob-hd-no-bar.mp4"), folder.join("a.bin")).expect("copy");
    std::fs::copy(data_dir().join("bridge-mods/aaa-orig.jpg"), folder.join("b.jpg")).expect("copy");
    let video = std::fs::read(vpdq_dir().join("sample-videos/pattern-sd-grey-bar.mp4")).expect("video");
    std::fs::write(folder.join("c.mp4"), &video[..video.len() / 3]).expect("write");

    let run = tocsin_in(dir.path(), &["hash", "seized"]);
    assert_eq!(run.code, 1, "the cut video fails: {}", run.stderr);
    assert!(run.stderr.contains("seized/c.mp4"), "{}", run.stderr);
    let lines: Vec<Vec<&str>> = run.stdout.lines().map(|l| l.split('\t').collect()).collect();
    // Doorknob at one hash a second: frames 0, 30, 60 and 90, each with its time; then the image.
    let expected = std::fs::read_to_string(vpdq_dir().join("sample-hashes/doorknob-hd-no-bar.txt")).expect("Meta's file");
    let want: Vec<Vec<String>> = expected
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| f[0].parse::<u64>().is_ok_and(|n| n % 30 == 0))
        .map(|f| vec![f[2].clone(), f[1].clone(), "seized/a.bin".to_owned(), f[3].clone()])
        .collect();
    assert_eq!(lines[..4], want.iter().map(|w| w.iter().map(String::as_str).collect::<Vec<_>>()).collect::<Vec<_>>()[..]);
    assert_eq!((lines.len(), lines[4][2]), (5, "seized/b.jpg"));

    let run = tocsin_in(dir.path(), &["hash", "--format", "json", "--seconds-per-hash", "0", "seized/a.bin"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let record: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON line");
    assert_eq!((record["path"].as_str(), record["format"].as_str()), (Some("seized/a.bin"), Some("vpdq")));
    let features = record["features"].as_array().expect("features");
    assert_eq!(features.len(), expected.lines().count(), "every frame");
    let first: Vec<&str> = expected.lines().next().expect("a line").split(',').collect();
    assert_eq!((features[0]["hash"].as_str(), features[0]["quality"].as_u64()), (Some(first[2]), first[1].parse().ok()));
}
