//! `tocsin package`: files that the stock `age` tool reads, and files it wrote, read back.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::tocsin_in;

fn age(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("age")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("age runs (scripts/test installs the Debian package age)");
    // Written from a thread: age writes as it reads, and a full output pipe would stall both.
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().expect("age ends");
    writer.join().expect("joins").expect("writes");
    assert!(out.status.success(), "age {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn a_package_encrypted_by_tocsin_opens_with_age_and_one_age_encrypted_opens_with_tocsin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Command::new("age-keygen").arg("-o").arg(dir.path().join("key.txt")).output().expect("age-keygen runs");
    assert!(made.status.success(), "{made:?}");
    let recipient = String::from_utf8(Command::new("age-keygen").arg("-y").arg(dir.path().join("key.txt")).output().expect("runs").stdout)
        .expect("text")
        .trim()
        .to_owned();
    // 300 KB of binary and a CSV, as an answer might hold.
    let binary: Vec<u8> = (0..300 * 1024).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(dir.path().join("logins.bin"), &binary).expect("write");
    std::fs::write(dir.path().join("subscriber.csv"), "account,email\nblackflag_media,bf@mail.example\n").expect("write");
    for name in ["logins.bin", "subscriber.csv"] {
        let sealed = format!("{name}.age");
        let run = tocsin_in(dir.path(), &["package", "encrypt", "-r", &recipient, "-o", &sealed, name]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let file = std::fs::read(dir.path().join(&sealed)).expect("written");
        let opened = age(&["-d", "-i", dir.path().join("key.txt").to_str().expect("utf-8")], &file);
        assert_eq!(opened, std::fs::read(dir.path().join(name)).expect("original"), "{name} byte for byte");
    }
    // The other way: age encrypts, tocsin decrypts.
    let by_age = age(&["-r", &recipient], &binary);
    std::fs::write(dir.path().join("by-age.age"), by_age).expect("write");
    let run = tocsin_in(dir.path(), &["package", "decrypt", "-i", "key.txt", "-o", "by-age.bin", "by-age.age"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("by-age.bin")).expect("written"), binary);
}

#[test]
fn a_changed_package_is_refused_and_leaves_no_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = Command::new("age-keygen").arg("-o").arg(dir.path().join("key.txt")).output().expect("age-keygen runs");
    assert!(made.status.success(), "{made:?}");
    let recipient = String::from_utf8(Command::new("age-keygen").arg("-y").arg(dir.path().join("key.txt")).output().expect("runs").stdout)
        .expect("text")
        .trim()
        .to_owned();
    let mut file = age(&["-r", &recipient], &vec![9u8; 200_000]);
    let last = file.len() - 1;
    file[last] ^= 1;
    std::fs::write(dir.path().join("changed.age"), file).expect("write");
    let run = tocsin_in(dir.path(), &["package", "decrypt", "-i", "key.txt", "-o", "out.bin", "changed.age"]);
    assert_eq!(run.code, 2, "refused: {}", run.stderr);
    assert!(run.stderr.contains("changed or cut short"), "{}", run.stderr);
    assert!(!dir.path().join("out.bin").exists() && !dir.path().join("out.partial").exists(), "nothing half written is left");
    let wrong = tocsin_in(dir.path(), &["package", "encrypt", "-r", "age1notarecipient", "key.txt"]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("not an age key"), "{}", wrong.stderr);
}
