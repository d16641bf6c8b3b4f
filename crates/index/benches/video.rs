//! Video matching at scale, one thread: a bank of synthetic videos hashed at every frame (60 s at
//! 30 frames a second unless told), queried by re-encoded copies sampled once a second, as
//! `/v1/scan` queries; the latency of one query, the index's build time and memory.
//!
//! `TOCSIN_BENCH_VIDEOS=10000 TOCSIN_BENCH_SECONDS=60 cargo bench -p tocsin-index --bench video`
//!
//! The videos are random walks in Hamming space: each frame a few bits from the one before, a
//! new scene every 4 s, as consecutive frames of real video are near one another (Meta's shipped
//! files: neighbouring frames 0 to 20 bits apart). A query is one banked video's frame every
//! second with 8 bits flipped (a re-encode), or an unrelated walk.
#![allow(clippy::print_stdout)] // A report on standard output is what this program is for.

use std::time::Instant;

use tocsin_index::video::{Frame, VideoIndex, shares};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn hash(&mut self) -> [u64; 4] {
        [self.next(), self.next(), self.next(), self.next()]
    }

    /// `h` with `n` bits flipped (some may flip back: at most `n`).
    fn flip(&mut self, mut h: [u64; 4], n: u32) -> [u64; 4] {
        for _ in 0..n {
            let bit = (self.next() % 256) as usize;
            h[bit / 64] ^= 1 << (bit % 64);
        }
        h
    }
}

fn video(rng: &mut Rng, frames: usize, fps: usize) -> Vec<Frame> {
    let mut out = Vec::with_capacity(frames);
    let mut bits = rng.hash();
    for i in 0..frames {
        bits = if i % (4 * fps) == 0 { rng.hash() } else { rng.flip(bits, 3) };
        out.push(Frame { bits, quality: 100 });
    }
    out
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let (videos, seconds, fps) = (env("TOCSIN_BENCH_VIDEOS", 10_000), env("TOCSIN_BENCH_SECONDS", 60), 30);
    let frames = seconds * fps;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let started = Instant::now();
    let bank: Vec<Vec<Frame>> = (0..videos).map(|_| video(&mut rng, frames, fps)).collect();
    let made = started.elapsed();
    let started = Instant::now();
    let index = VideoIndex::build(50, bank.iter().enumerate().map(|(i, f)| (i as u64, &f[..]))).expect("fits");
    let built = started.elapsed();
    println!("videos\t{videos}\nframes_each\t{frames}\nframes_indexed\t{}", index.frames());
    println!("generate_s\t{:.1}\nbuild_s\t{:.1}\npeak_rss_mb\t{:.0}", made.as_secs_f64(), built.as_secs_f64(), peak_rss_mb());

    // Copies of banked videos, one frame a second, re-encoded; and unrelated videos.
    let queries: Vec<(Option<usize>, Vec<Frame>)> = (0..100)
        .map(|q| {
            if q % 2 == 0 {
                let target = (rng.next() % videos as u64) as usize;
                let phase = (rng.next() % fps as u64) as usize;
                let sampled =
                    bank[target].iter().skip(phase).step_by(fps).map(|f| Frame { bits: rng.flip(f.bits, 8), quality: 90 }).collect();
                (Some(target), sampled)
            } else {
                (None, video(&mut rng, frames, fps).into_iter().step_by(fps).collect())
            }
        })
        .collect();
    let mut times = Vec::new();
    let (mut found, mut missed, mut false_hits) = (0, 0, 0);
    for (target, query) in &queries {
        let started = Instant::now();
        let matches = std::hint::black_box(index.search(query, 31));
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let hits: Vec<u64> = matches.iter().filter(|m| m.shares.query_percent() >= 80.0).map(|m| m.video).collect();
        match target {
            Some(t) if hits.contains(&(*t as u64)) => found += 1,
            Some(_) => missed += 1,
            None => false_hits += hits.len(),
        }
    }
    // The index's shares are the brute force's (checked on a few, since brute force takes seconds).
    for (target, query) in queries.iter().take(4) {
        if let Some(t) = target {
            let m = index.search(query, 31).into_iter().find(|m| m.video == *t as u64).expect("found");
            assert_eq!(m.shares, shares(query, &bank[*t], 31, 50), "the index agrees with brute force");
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "queries\t{}\nquery_ms_median\t{:.2}\nquery_ms_p99\t{:.2}\nquery_ms_max\t{:.2}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    println!("copies_found\t{found}\ncopies_missed\t{missed}\nunrelated_matched\t{false_hits}");
}
