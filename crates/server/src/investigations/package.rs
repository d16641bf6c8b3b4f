//! Answer packages on disk and on the wire: a file in clear is encrypted to the authority's
//! recipient as it streams in (never written in clear), kept under `DATA/packages/` by the
//! SHA-256 of its age file; package files stream out to the authority's node, and the authority's
//! node streams them in, checking each against the signed manifest, and decrypts them for its
//! investigators as they stream out. Nothing here holds a whole file in memory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame};
use sha2::{Digest, Sha256};
use tocsin_wire::age::{PackageIdentity, Randomness, Recipient};

use crate::node::blobs::hex;

/// The largest file one package carries, in clear: 16 GiB.
pub const MAX_FILE_BYTES: u64 = 16 << 30;

/// Where the age file with SHA-256 `hex` lives: `DATA/packages/sha256/ab/cdef...`.
pub fn package_path(data: &Path, hex: &str) -> PathBuf {
    data.join("packages").join("sha256").join(&hex[..2]).join(&hex[2..])
}

/// Counts and hashes what passes through.
struct Hashing<T> {
    inner: T,
    hash: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Self { inner, hash: Sha256::new(), bytes: 0 }
    }

    fn finish(self) -> (T, String, u64) {
        (self.inner, hex(&self.hash.finalize()), self.bytes)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        if self.bytes > MAX_FILE_BYTES {
            return Err(std::io::Error::other(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        Ok(n)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A file written durably under its SHA-256: to a temporary name first, then renamed once its
/// hash is known (and, when `expected` is given, only if it matches).
pub(crate) struct Incoming {
    data: PathBuf,
    temp: PathBuf,
    /// `None` once kept.
    file: Option<Hashing<std::io::BufWriter<std::fs::File>>>,
}

impl Incoming {
    pub(crate) fn new(data: &Path) -> std::io::Result<Self> {
        let dir = data.join("packages").join("incoming");
        std::fs::create_dir_all(&dir)?;
        let mut name = [0u8; 12];
        getrandom::fill(&mut name).map_err(|e| std::io::Error::other(e.to_string()))?;
        let temp = dir.join(hex(&name));
        let file = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&temp)?);
        Ok(Self { data: data.to_owned(), temp, file: Some(Hashing::new(file)) })
    }

    /// Keeps the file under its hash; its hash and size.
    pub(crate) fn keep(mut self, expected: Option<&str>) -> std::io::Result<(String, u64)> {
        let (file, hash, size) = self.file.take().ok_or_else(|| std::io::Error::other("kept twice"))?.finish();
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if expected.is_some_and(|e| e != hash) {
            let _ = std::fs::remove_file(&self.temp);
            return Err(std::io::Error::other(format!("SHA-256 {hash}, not the manifest's {}", expected.unwrap_or_default())));
        }
        let path = package_path(&self.data, &hash);
        let dir = path.parent().ok_or_else(|| std::io::Error::other("no parent"))?;
        std::fs::create_dir_all(dir)?;
        std::fs::rename(&self.temp, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok((hash, size))
    }
}

impl Write for Incoming {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().ok_or_else(|| std::io::Error::other("kept"))?.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        // Gone already when kept; otherwise a failed transfer leaves nothing behind.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// One file of a package as sealed: its size and SHA-256 in clear, and its age file's SHA-256.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) age_sha256: String,
}

/// The random values of one age encryption, from the operating system (`tocsin_wire::age`
/// takes them from its caller, having no I/O of its own).
pub fn fresh_randomness() -> std::io::Result<Randomness> {
    let mut random = Randomness { file_key: [0; 16], ephemeral: [0; 32], nonce: [0; 16] };
    getrandom::fill(&mut random.file_key)
        .and_then(|()| getrandom::fill(&mut random.ephemeral))
        .and_then(|()| getrandom::fill(&mut random.nonce))
        .map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
    Ok(random)
}

/// Encrypts `input` to `recipient` into the package store of `data` (blocking).
pub(crate) fn seal_file(data: &Path, recipient: &Recipient, input: impl Read) -> std::io::Result<Sealed> {
    let random = fresh_randomness()?;
    let mut clear = Hashing::new(input);
    let mut out = Incoming::new(data)?;
    tocsin_wire::age::encrypt(recipient, &random, &mut clear, &mut out)?;
    let (_, sha256, size) = clear.finish();
    let (age_sha256, _) = out.keep(None)?;
    Ok(Sealed { size, sha256, age_sha256 })
}

/// Reads a request body as a blocking reader, for the encryption thread: the async side sends
/// each chunk over a small bounded channel, so at most a few chunks are held at once.
pub(crate) struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    /// The reader, and the task that feeds it from `body` (run it beside the reading thread).
    pub(crate) fn from_body(body: axum::body::Body) -> (Self, impl std::future::Future<Output = ()>) {
        let (send, chunks) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let feed = async move {
            let mut body = body;
            loop {
                let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
                let item = match frame {
                    None => break,
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => Ok(data),
                        Err(_) => continue,
                    },
                    Some(Err(e)) => Err(std::io::Error::other(e.to_string())),
                };
                let failed = item.is_err();
                // The channel is bounded: this task waits while the reader is behind.
                if send.send(item).await.is_err() || failed {
                    break;
                }
            }
        };
        (Self { chunks, current: Bytes::new() }, feed)
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A response body fed by a blocking thread: what it writes is sent on as frames.
pub(crate) struct ChannelBody(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|item| item.map(|r| r.map(Frame::data)))
    }
}

/// The writing end of a [`ChannelBody`], for a blocking thread.
pub(crate) struct ChannelWriter(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>);

impl ChannelWriter {
    /// A writer and the body it feeds.
    pub(crate) fn new() -> (Self, ChannelBody) {
        let (send, receive) = tokio::sync::mpsc::channel(4);
        (Self(send), ChannelBody(receive))
    }

    /// Ends the body with an error, so the client sees a broken transfer rather than a short file.
    pub(crate) fn fail(self, error: std::io::Error) {
        let _ = self.0.blocking_send(Err(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.blocking_send(Ok(Bytes::copy_from_slice(buf))).map_err(|_| std::io::Error::other("the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Streams the file at `path` as a response body, decrypted with `identity` when given.
pub(crate) fn stream_file(path: PathBuf, identity: Option<PackageIdentity>) -> axum::body::Body {
    let (mut writer, body) = ChannelWriter::new();
    tokio::task::spawn_blocking(move || {
        let copied = std::fs::File::open(&path).and_then(|file| {
            let file = std::io::BufReader::with_capacity(1 << 16, file);
            let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut writer);
            match &identity {
                Some(identity) => {
                    tocsin_wire::age::decrypt(identity, file, &mut out).map_err(|e| std::io::Error::other(e.to_string()))?;
                }
                None => {
                    std::io::copy(&mut { file }, &mut out)?;
                }
            }
            out.flush()
        });
        if let Err(e) = copied {
            tracing::warn!(error = %e, "streaming a package file");
            writer.fail(e);
        }
    });
    axum::body::Body::new(body)
}
