//! The age file format, version 1 (age-encryption.org/v1, as C2SP specifies it), for X25519
//! recipients only: how a platform encrypts each file of an answer to the requesting node's
//! package key, so that only that node (or its investigator, with the stock `age` tool) can read
//! it. A header wraps a random file key for the recipient and is authenticated with HMAC-SHA-256;
//! the payload is ChaCha20-Poly1305 in 64 KiB chunks (the STREAM construction), so a file of any
//! size is encrypted and decrypted in constant memory. Randomness is the caller's to draw: this
//! crate does no I/O beyond the reader and writer it is handed.

use std::io::{self, Read, Write};

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::base64url::{decode_standard, encode_standard};

/// The first line of every age file.
const VERSION_LINE: &[u8] = b"age-encryption.org/v1";
/// The label of the X25519 recipient type's key derivation.
const X25519_LABEL: &[u8] = b"age-encryption.org/v1/X25519";
/// Plaintext bytes in a payload chunk.
const CHUNK: usize = 64 * 1024;
/// Poly1305's tag.
const TAG: usize = 16;
/// The most bytes of header this reader takes before giving up (a header of many stanzas is
/// someone else's file).
const MAX_HEADER: usize = 64 * 1024;

/// Why an age file cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgeError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not an age v1 file, or a malformed header.
    #[error("not an age file: {0}")]
    Header(String),
    /// No X25519 stanza of the file is for this identity.
    #[error("the file is not encrypted to this key")]
    NotForThisKey,
    /// The header's MAC does not match: the header was changed.
    #[error("the header was changed (its MAC does not match)")]
    HeaderMac,
    /// A payload chunk does not authenticate, or the payload was cut short or extended.
    #[error("the payload was changed or cut short at chunk {0}")]
    Payload(u64),
    /// A key in text form is not one.
    #[error("not an age key: {0}")]
    Key(String),
}

/// A package key: an age X25519 identity. Its text form (`AGE-SECRET-KEY-1...`) is what the
/// stock `age -d -i FILE` reads.
#[derive(Clone)]
pub struct PackageIdentity(StaticSecret);

impl std::fmt::Debug for PackageIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        write!(f, "PackageIdentity({})", self.recipient())
    }
}

impl PackageIdentity {
    /// The identity with this secret scalar (32 random bytes).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self(StaticSecret::from(secret))
    }

    /// Reads `AGE-SECRET-KEY-1...` (Bech32, either case as a whole).
    pub fn parse(text: &str) -> Result<Self, AgeError> {
        let bytes = bech32_decode(&text.trim().to_ascii_lowercase(), "age-secret-key-")?;
        Ok(Self::from_secret(bytes))
    }

    /// Reads an identity file as `age-keygen` writes one: comment lines, then the key.
    pub fn from_file(text: &str) -> Result<Self, AgeError> {
        let key = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .ok_or_else(|| AgeError::Key("no AGE-SECRET-KEY-1... line".to_owned()))?;
        Self::parse(key)
    }

    /// The identity file `age-keygen` would write for it, with the time it was made.
    pub fn to_file(&self, created: &str) -> String {
        format!("# created: {created}\n# public key: {}\n{}\n", self.recipient(), self.to_text())
    }

    /// The text form, upper case as age writes it.
    pub fn to_text(&self) -> String {
        bech32_encode("age-secret-key-", &self.0.to_bytes()).to_ascii_uppercase()
    }

    /// The recipient that encrypts to this identity.
    pub fn recipient(&self) -> Recipient {
        Recipient(PublicKey::from(&self.0).to_bytes())
    }
}

/// An age X25519 recipient (`age1...`): a node's package key's public half, which it announces
/// in its identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient([u8; 32]);

impl Recipient {
    /// Reads `age1...`.
    pub fn parse(text: &str) -> Result<Self, AgeError> {
        Ok(Self(bech32_decode(text.trim(), "age")?))
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&bech32_encode("age", &self.0))
    }
}

/// The random values one encryption needs, drawn by the caller: the file key, the ephemeral
/// X25519 secret, and the payload's nonce. Never reuse one.
pub struct Randomness {
    /// The file key.
    pub file_key: [u8; 16],
    /// The ephemeral secret of the recipient stanza.
    pub ephemeral: [u8; 32],
    /// The payload key's salt.
    pub nonce: [u8; 16],
}

/// ChaCha20-Poly1305 (RFC 8439) under one key: ring's, whose vectorised code keeps pace with
/// the stock age tool's, where a portable implementation ran at 60 % of it (`bench/RESULTS.md`).
struct ChaCha(LessSafeKey);

impl ChaCha {
    fn new(key: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).unwrap_or_else(|_| unreachable!("32 bytes is the cipher's key length"));
        Self(LessSafeKey::new(key))
    }

    /// Seals `buf[..len]` in place and puts the tag at `buf[len..len + TAG]`.
    fn seal(&self, nonce: [u8; 12], buf: &mut [u8], len: usize) -> io::Result<()> {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf[..len])
            .map_err(|_| io::Error::other("a chunk could not be sealed"))?;
        buf[len..len + TAG].copy_from_slice(tag.as_ref());
        Ok(())
    }

    /// Opens `buf` (ciphertext and tag) in place: whether it authenticates; the plaintext is
    /// then `buf[..buf.len() - TAG]`.
    fn open(&self, nonce: [u8; 12], buf: &mut [u8]) -> bool {
        self.0.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), buf).is_ok()
    }
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit of 255 blocks.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut out);
    out
}

fn header_mac(file_key: &[u8; 16], header: &[u8]) -> Hmac<Sha256> {
    let key = hkdf(&[], file_key, b"header");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(header);
    mac
}

/// The nonce of payload chunk `counter`: an 11-byte big-endian counter and the last-chunk flag.
fn chunk_nonce(counter: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// Reads until `buf` is full or the input ends; how many bytes it read.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Encrypts `input` to `recipient` into `output`, in constant memory; the bytes of plaintext.
pub fn encrypt(recipient: &Recipient, random: &Randomness, input: impl Read, mut output: impl Write) -> io::Result<u64> {
    // The recipient stanza: the file key wrapped under X25519(ephemeral, recipient).
    let ephemeral = StaticSecret::from(random.ephemeral);
    let share = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(&PublicKey::from(recipient.0));
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share.as_bytes());
    salt[32..].copy_from_slice(&recipient.0);
    let wrap_key = hkdf(&salt, shared.as_bytes(), X25519_LABEL);
    let mut body = [0u8; 16 + TAG];
    body[..16].copy_from_slice(&random.file_key);
    ChaCha::new(&wrap_key).seal([0; 12], &mut body, 16)?;
    // A 32-byte body is 43 characters: one line, shorter than 64, which ends the stanza.
    let mut header = Vec::with_capacity(200);
    header.extend_from_slice(VERSION_LINE);
    header.extend_from_slice(format!("\n-> X25519 {}\n{}\n---", encode_standard(share.as_bytes()), encode_standard(&body)).as_bytes());
    let mac = header_mac(&random.file_key, &header).finalize().into_bytes();
    header.extend_from_slice(format!(" {}\n", encode_standard(&mac)).as_bytes());
    output.write_all(&header)?;
    output.write_all(&random.nonce)?;

    let cipher = ChaCha::new(&hkdf(&random.nonce, &random.file_key, b"payload"));
    let mut chunks = Chunks::new(input, CHUNK);
    let mut total = 0u64;
    while let Some(chunk) = chunks.next()? {
        cipher.seal(chunk_nonce(chunk.counter, chunk.last), chunk.buf, chunk.len)?;
        output.write_all(&chunk.buf[..chunk.len + TAG])?;
        total += chunk.len as u64;
    }
    output.flush()?;
    Ok(total)
}

/// A chunk of the payload as [`Chunks`] reads it.
struct Chunk<'a> {
    /// Its buffer, with room for a tag after `len`.
    buf: &'a mut [u8],
    /// The bytes read into it.
    len: usize,
    /// Its number, from 0.
    counter: u64,
    /// Whether the input ends after it.
    last: bool,
}

/// Reads the input in chunks of `size` bytes, one chunk ahead: STREAM's nonce says whether a
/// chunk is the last, which is known only once the next read finds nothing. Two buffers take
/// turns, so nothing is copied.
struct Chunks<R> {
    input: R,
    size: usize,
    current: Vec<u8>,
    next: Vec<u8>,
    /// What the next read holds: `None` before the first read.
    ahead: Option<usize>,
    counter: u64,
    done: bool,
}

impl<R: Read> Chunks<R> {
    fn new(input: R, size: usize) -> Self {
        Self { input, size, current: vec![0; CHUNK + TAG], next: vec![0; CHUNK + TAG], ahead: None, counter: 0, done: false }
    }

    /// The next chunk, or `None` after the last.
    fn next(&mut self) -> io::Result<Option<Chunk<'_>>> {
        if self.done {
            return Ok(None);
        }
        let len = match self.ahead {
            None => fill(&mut self.input, &mut self.current[..self.size])?,
            Some(len) => {
                std::mem::swap(&mut self.current, &mut self.next);
                self.counter += 1;
                len
            }
        };
        let ahead = if len == self.size { fill(&mut self.input, &mut self.next[..self.size])? } else { 0 };
        self.ahead = Some(ahead);
        self.done = ahead == 0;
        Ok(Some(Chunk { buf: &mut self.current, len, counter: self.counter, last: self.done }))
    }
}

/// One stanza of a header: its type, arguments and body.
struct Stanza {
    kind: String,
    args: Vec<String>,
    body: Vec<u8>,
}

/// Reads one line of the header (without its `\n`), counting what the header has taken.
fn header_line(input: &mut impl Read, header: &mut Vec<u8>) -> Result<Vec<u8>, AgeError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if header.len() > MAX_HEADER {
            return Err(AgeError::Header("the header is too long".to_owned()));
        }
        if fill(input, &mut byte)? == 0 {
            return Err(AgeError::Header("the header ends early".to_owned()));
        }
        if byte[0] == b'\n' {
            return Ok(line);
        }
        header.push(byte[0]);
        line.push(byte[0]);
    }
}

/// A header as read: its stanzas, the bytes its MAC covers, and the MAC.
struct Header {
    stanzas: Vec<Stanza>,
    covered: Vec<u8>,
    mac: Vec<u8>,
}

/// Reads the header up to and including `---` and the MAC after it.
fn read_header(input: &mut impl Read) -> Result<Header, AgeError> {
    let bad = |why: &str| AgeError::Header(why.to_owned());
    let mut header = Vec::new();
    if header_line(input, &mut header)? != VERSION_LINE {
        return Err(bad("not age-encryption.org/v1"));
    }
    header.push(b'\n');
    let mut stanzas = Vec::new();
    loop {
        let line = header_line(input, &mut header)?;
        if let Some(mac) = line.strip_prefix(b"--- ") {
            // The MAC covers the header up to and including "---".
            header.truncate(header.len() - mac.len() - 1);
            let mac = decode_standard(std::str::from_utf8(mac).map_err(|_| bad("the MAC is not text"))?)
                .map_err(|_| bad("the MAC is not base64"))?;
            return Ok(Header { stanzas, covered: header, mac });
        }
        header.push(b'\n');
        let text = std::str::from_utf8(&line).map_err(|_| bad("a stanza is not text"))?;
        let mut words = text.strip_prefix("-> ").ok_or_else(|| bad("a line is neither a stanza nor the MAC"))?.split(' ');
        let kind = words.next().filter(|k| !k.is_empty()).ok_or_else(|| bad("a stanza has no type"))?.to_owned();
        let args = words.map(str::to_owned).collect();
        let mut body = Vec::new();
        loop {
            let line = header_line(input, &mut header)?;
            header.push(b'\n');
            if line.len() > 64 {
                return Err(bad("a stanza's body line is longer than 64 characters"));
            }
            let text = std::str::from_utf8(&line).map_err(|_| bad("a stanza's body is not text"))?;
            body.extend(decode_standard(text).map_err(|_| bad("a stanza's body is not base64"))?);
            if line.len() < 64 {
                break;
            }
        }
        stanzas.push(Stanza { kind, args, body });
    }
}

/// The file key, if `stanza` wraps it for `identity`.
fn unwrap_x25519(identity: &PackageIdentity, stanza: &Stanza) -> Option<[u8; 16]> {
    if stanza.kind != "X25519" || stanza.args.len() != 1 || stanza.body.len() != 32 {
        return None;
    }
    let share: [u8; 32] = decode_standard(&stanza.args[0]).ok()?.try_into().ok()?;
    let shared = identity.0.diffie_hellman(&PublicKey::from(share));
    if !shared.was_contributory() {
        return None;
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&share);
    salt[32..].copy_from_slice(&identity.recipient().0);
    let wrap_key = hkdf(&salt, shared.as_bytes(), X25519_LABEL);
    let mut body: [u8; 16 + TAG] = stanza.body[..].try_into().ok()?;
    if !ChaCha::new(&wrap_key).open([0; 12], &mut body) {
        return None;
    }
    body[..16].try_into().ok()
}

/// Decrypts an age file for `identity` into `output`, in constant memory; the bytes of
/// plaintext. What is written before an error is not to be trusted: a payload is authentic only
/// once it is read to its last chunk.
pub fn decrypt(identity: &PackageIdentity, mut input: impl Read, mut output: impl Write) -> Result<u64, AgeError> {
    let header = read_header(&mut input)?;
    let file_key = header.stanzas.iter().find_map(|s| unwrap_x25519(identity, s)).ok_or(AgeError::NotForThisKey)?;
    header_mac(&file_key, &header.covered).verify_slice(&header.mac).map_err(|_| AgeError::HeaderMac)?;
    let mut nonce = [0u8; 16];
    if fill(&mut input, &mut nonce)? != 16 {
        return Err(AgeError::Payload(0));
    }
    let cipher = ChaCha::new(&hkdf(&nonce, &file_key, b"payload"));
    let mut chunks = Chunks::new(input, CHUNK + TAG);
    let mut total = 0u64;
    while let Some(chunk) = chunks.next()? {
        // A last chunk is never empty unless it is the only one; a cut after a full chunk shows
        // as that chunk failing to open as the last.
        let (len, counter) = (chunk.len, chunk.counter);
        if len < TAG || (chunk.last && len == TAG && counter > 0) {
            return Err(AgeError::Payload(counter));
        }
        if !cipher.open(chunk_nonce(counter, chunk.last), &mut chunk.buf[..len]) {
            return Err(AgeError::Payload(counter));
        }
        output.write_all(&chunk.buf[..len - TAG])?;
        total += (len - TAG) as u64;
    }
    output.flush()?;
    Ok(total)
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> Vec<u8> {
    hrp.bytes().map(|b| b >> 5).chain([0]).chain(hrp.bytes().map(|b| b & 31)).collect()
}

/// Bech32 (BIP 173, not Bech32m) of `data` under `hrp`, lower case; age keys are longer than
/// BIP 173's 90 characters, which age does not enforce.
fn bech32_encode(hrp: &str, data: &[u8; 32]) -> String {
    let mut five = Vec::with_capacity(52);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            five.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        five.push(((acc << (5 - bits)) & 31) as u8);
    }
    let checksum = bech32_polymod(hrp_expand(hrp).into_iter().chain(five.iter().copied()).chain([0; 6])) ^ 1;
    let mut out = format!("{hrp}1");
    out.extend(five.iter().map(|&v| char::from(BECH32_CHARSET[usize::from(v)])));
    out.extend((0..6).map(|i| char::from(BECH32_CHARSET[((checksum >> (5 * (5 - i))) & 31) as usize])));
    out
}

/// The 32 bytes of a lower-case Bech32 string under `hrp`, checksum checked.
fn bech32_decode(text: &str, hrp: &str) -> Result<[u8; 32], AgeError> {
    let bad = || AgeError::Key(format!("{}...: not a Bech32 {hrp} key", text.chars().take(12).collect::<String>()));
    let rest = text.strip_prefix(hrp).and_then(|r| r.strip_prefix('1')).ok_or_else(bad)?;
    let values: Vec<u8> =
        rest.bytes().map(|c| BECH32_CHARSET.iter().position(|&a| a == c).map(|p| p as u8)).collect::<Option<_>>().ok_or_else(bad)?;
    if values.len() < 6 || bech32_polymod(hrp_expand(hrp).into_iter().chain(values.iter().copied())) != 1 {
        return Err(bad());
    }
    let mut bytes = Vec::with_capacity(32);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &v in &values[..values.len() - 6] {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push(((acc >> bits) & 0xff) as u8);
        }
    }
    // Padding must be fewer than 5 bits, and zero.
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return Err(bad());
    }
    bytes.try_into().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(seed: u8) -> Randomness {
        Randomness { file_key: [seed; 16], ephemeral: [seed.wrapping_add(1); 32], nonce: [seed.wrapping_add(2); 16] }
    }

    fn sealed(identity: &PackageIdentity, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encrypt(&identity.recipient(), &random(9), plain, &mut out).expect("encrypts");
        out
    }

    #[test]
    fn keys_read_back_as_written() {
        let identity = PackageIdentity::from_secret([7; 32]);
        let text = identity.to_text();
        assert!(text.starts_with("AGE-SECRET-KEY-1"), "{text}");
        assert_eq!(PackageIdentity::parse(&text).expect("reads").recipient(), identity.recipient());
        let recipient = identity.recipient().to_string();
        assert!(recipient.starts_with("age1") && recipient.len() == 62, "{recipient}");
        assert_eq!(Recipient::parse(&recipient).expect("reads"), identity.recipient());
        // One character changed breaks the checksum.
        let mut broken = recipient.into_bytes();
        broken[10] = if broken[10] == b'q' { b'p' } else { b'q' };
        assert!(Recipient::parse(&String::from_utf8(broken).expect("ascii")).is_err());
        assert!(format!("{identity:?}").starts_with("PackageIdentity(age1"), "the secret is not shown");
    }

    #[test]
    fn files_of_every_chunk_boundary_round_trip() {
        let identity = PackageIdentity::from_secret([1; 32]);
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let file = sealed(&identity, &plain);
            let chunks = len.div_ceil(CHUNK).max(1);
            assert_eq!(file.len() - file.windows(4).position(|w| w == b"--- ").expect("mac") - 48, len + 16 + TAG * chunks, "{len}");
            let mut out = Vec::new();
            assert_eq!(decrypt(&identity, &file[..], &mut out).expect("decrypts") as usize, len);
            assert_eq!(out, plain, "{len}");
        }
    }

    #[test]
    fn another_key_a_changed_header_a_changed_or_cut_payload_are_refused() {
        let identity = PackageIdentity::from_secret([1; 32]);
        let plain = vec![5u8; 2 * CHUNK];
        let file = sealed(&identity, &plain);
        let sink = || Vec::new();
        assert!(matches!(decrypt(&PackageIdentity::from_secret([2; 32]), &file[..], sink()), Err(AgeError::NotForThisKey)));
        let mac_at = file.windows(4).position(|w| w == b"--- ").expect("mac");
        let mut header = file.clone();
        header[mac_at + 5] ^= 1;
        assert!(matches!(decrypt(&identity, &header[..], sink()), Err(AgeError::HeaderMac | AgeError::Header(_))));
        let mut payload = file.clone();
        let last = payload.len() - 1;
        payload[last] ^= 1;
        assert!(matches!(decrypt(&identity, &payload[..], sink()), Err(AgeError::Payload(1))));
        // Cut after the first full chunk: that chunk does not open as the last.
        let first_end = file.len() - (CHUNK + TAG);
        assert!(matches!(decrypt(&identity, &file[..first_end], sink()), Err(AgeError::Payload(0))));
        // A chunk appended after the last.
        let mut longer = file.clone();
        longer.extend_from_slice(&[0; 40]);
        assert!(matches!(decrypt(&identity, &longer[..], sink()), Err(AgeError::Payload(_))));
        assert!(matches!(decrypt(&identity, &b"hello"[..], sink()), Err(AgeError::Header(_))));
    }

    /// The stock `age` tool (Debian's `age`, which `scripts/test` installs) is the independent
    /// implementation: it reads what this module writes, and this module reads what it writes.
    mod against_the_age_tool {
        use std::process::{Command, Stdio};

        use super::*;

        fn run(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
            let mut child = Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{program} (scripts/test installs the Debian package age): {e}"));
            let mut input = child.stdin.take().expect("stdin");
            let data = stdin.to_vec();
            let writer = std::thread::spawn(move || input.write_all(&data));
            let out = child.wait_with_output().expect("runs");
            writer.join().expect("joins").expect("writes");
            assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        }

        /// A key made by `age-keygen`, as its identity file and text.
        fn keygen(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
            let path = dir.join(name);
            let made = Command::new("age-keygen").arg("-o").arg(&path).output().expect("age-keygen runs");
            assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
            let text = std::fs::read_to_string(&path).expect("reads");
            let secret = text.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).expect("a secret key line").to_owned();
            (path, secret)
        }

        fn scratch() -> std::path::PathBuf {
            let dir = std::env::temp_dir().join(format!("tocsin-age-{}-{:?}", std::process::id(), std::thread::current().id()));
            std::fs::create_dir_all(&dir).expect("scratch folder");
            dir
        }

        #[test]
        fn keys_from_age_keygen_give_the_recipient_it_gives() {
            let dir = scratch();
            let (path, secret) = keygen(&dir, "key.txt");
            let ours = PackageIdentity::parse(&secret).expect("reads age-keygen's key");
            let theirs = String::from_utf8(run("age-keygen", &["-y", path.to_str().expect("utf-8")], b"")).expect("text");
            assert_eq!(ours.recipient().to_string(), theirs.trim());
            assert_eq!(ours.to_text(), secret, "written back the same");
            std::fs::remove_dir_all(dir).ok();
        }

        #[test]
        fn age_decrypts_what_this_module_encrypts_and_only_with_the_right_key() {
            let dir = scratch();
            let (path, secret) = keygen(&dir, "key.txt");
            let (other, _) = keygen(&dir, "other.txt");
            let identity = PackageIdentity::parse(&secret).expect("reads");
            for len in [0, 100, 300 * 1024] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
                let mut file = Vec::new();
                encrypt(&identity.recipient(), &random(3), &plain[..], &mut file).expect("encrypts");
                assert_eq!(run("age", &["-d", "-i", path.to_str().expect("utf-8")], &file), plain, "{len} bytes");
                let mut child = Command::new("age")
                    .args(["-d", "-i", other.to_str().expect("utf-8")])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("age runs");
                // age stops reading once it sees the header is not for its key: a broken pipe
                // here is part of the refusal.
                let _ = child.stdin.take().expect("stdin").write_all(&file);
                let refused = child.wait().expect("age ends");
                assert!(!refused.success(), "another key must not open it");
            }
            std::fs::remove_dir_all(dir).ok();
        }

        #[test]
        fn this_module_decrypts_what_age_encrypts() {
            let identity = PackageIdentity::from_secret([42; 32]);
            let recipient = identity.recipient().to_string();
            for len in [0, 1, 65536, 200_000] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 13 % 241) as u8).collect();
                let file = run("age", &["-r", &recipient], &plain);
                let mut out = Vec::new();
                decrypt(&identity, &file[..], &mut out).expect("decrypts age's file");
                assert_eq!(out, plain, "{len} bytes");
            }
        }
    }
}
