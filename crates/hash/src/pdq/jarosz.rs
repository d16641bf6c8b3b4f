//! The two-pass Jarosz box filter and the 64x64 decimation, float for float as the reference.
//!
//! The reference runs a scalar running sum along each row, then along each column (with a
//! stride), twice. The rounding of that running sum is part of the hash, so the order of every
//! addition and subtraction is kept exactly; what changes is which independent sums run side
//! by side, and when. Rows are filtered `LANES` at a time and columns all at once, so each
//! running-sum step is one vector instruction instead of a chain of dependent scalar ones. The
//! second round only divides where the decimation will sample: each running sum must still see
//! every input, but its quotient is needed at 64 positions only. And the whole filter streams
//! down the image a band of rows at a time (see [`Stream`]), so it never writes an image-sized
//! buffer.
//!
//! Measured and rejected (2026-11-29, `bench/RESULTS.md`): transposing each group of eight rows
//! into a lane-major strip in portable Rust (the transposes compiled to scalar moves and the
//! filter got 30-45% slower); with AVX2 shuffles (`simd::Transposer`) the same idea pays.

use super::simd::Transposer;

/// Rows filtered side by side in the horizontal pass: one AVX register of f32.
const LANES: usize = 8;

/// The reference's window size for a dimension of `n` pixels: `ceil(n / 128)`.
pub(crate) fn window_size(n: usize) -> usize {
    n.div_ceil(128)
}

/// The source index that the 64-point decimation picks for each output index, as the
/// reference computes it: `floor((i + 0.5) * n / 64)` in f64.
pub(crate) fn decimation_indices(n: usize) -> [usize; 64] {
    let mut out = [0usize; 64];
    for (i, o) in out.iter_mut().enumerate() {
        // The product is non-negative and below `n`, so truncation is the floor.
        *o = ((i as f64 + 0.5) * n as f64 / 64.0) as usize;
    }
    out
}

/// A running-sum consumer: the same four-phase walk drives row and column filters.
trait Accumulate {
    /// `sum += input[at]`.
    fn add(&mut self, at: usize);
    /// `sum -= input[at]`.
    fn sub(&mut self, at: usize);
    /// Output position `at` is `sum / count`.
    fn emit(&mut self, at: usize, count: f32);
}

/// The reference's `box1DFloat`: a running sum over a vector of `len` with a window of `window`,
/// in four phases (grow without output, grow with output, slide, shrink).
#[inline(always)]
fn walk<A: Accumulate>(acc: &mut A, len: usize, window: usize) {
    debug_assert!((1..=len).contains(&window), "window {window} for length {len}");
    let half = (window + 2) / 2;
    let mut count = 0usize;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    for _ in 0..half - 1 {
        acc.add(right);
        count += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        acc.add(right);
        count += 1;
        acc.emit(out, count as f32);
        right += 1;
        out += 1;
    }
    for _ in 0..len - window {
        acc.add(right);
        acc.sub(left);
        acc.emit(out, count as f32);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        acc.sub(left);
        count -= 1;
        acc.emit(out, count as f32);
        left += 1;
        out += 1;
    }
}

/// `sum += x`, lane by lane: one step of as many running sums as there are lanes.
#[inline(always)]
fn add_lanes(sum: &mut [f32], x: &[f32]) {
    for (s, x) in sum.iter_mut().zip(x) {
        *s += *x;
    }
}

/// `sum -= x`, lane by lane.
#[inline(always)]
fn sub_lanes(sum: &mut [f32], x: &[f32]) {
    for (s, x) in sum.iter_mut().zip(x) {
        *s -= *x;
    }
}

/// `out = sum / count`, lane by lane.
#[inline(always)]
fn quotients(out: &mut [f32], sum: &[f32], count: f32) {
    for (o, s) in out.iter_mut().zip(sum) {
        *o = *s / count;
    }
}

/// For every decimation column equal to `at` (several when the image is narrower than 64),
/// writes each lane's quotient into its compact row.
#[inline(always)]
fn write_samples<const N: usize>(
    rows: &mut [&mut [f32]; N],
    columns: &[usize; 64],
    next: &mut usize,
    at: usize,
    sum: &[f32; N],
    count: f32,
) {
    while *next < 64 && columns[*next] == at {
        for (row, s) in rows.iter_mut().zip(sum) {
            row[*next] = *s / count;
        }
        *next += 1;
    }
}

/// Where a row filter writes its quotients.
enum RowSink<'a, const N: usize> {
    /// Every position, into `N` full output rows.
    Full([&'a mut [f32]; N]),
    /// Only the 64 decimation columns, into `N` compact rows of 64.
    Sampled { rows: [&'a mut [f32]; N], columns: &'a [usize; 64], next: usize },
}

/// `N` rows filtered along their length side by side.
struct Rows<'a, const N: usize> {
    input: [&'a [f32]; N],
    sum: [f32; N],
    sink: RowSink<'a, N>,
}

impl<const N: usize> Accumulate for Rows<'_, N> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        // Gather first, then one lane-wise operation the compiler can issue as a vector.
        let x: [f32; N] = std::array::from_fn(|k| self.input[k][at]);
        add_lanes(&mut self.sum, &x);
    }

    #[inline(always)]
    fn sub(&mut self, at: usize) {
        let x: [f32; N] = std::array::from_fn(|k| self.input[k][at]);
        sub_lanes(&mut self.sum, &x);
    }

    #[inline(always)]
    fn emit(&mut self, at: usize, count: f32) {
        match &mut self.sink {
            RowSink::Full(out) => {
                let q = self.sum.map(|s| s / count);
                for (row, q) in out.iter_mut().zip(q) {
                    row[at] = q;
                }
            }
            RowSink::Sampled { rows, columns, next } => write_samples(rows, columns, next, at, &self.sum, count),
        }
    }
}

/// Eight rows filtered side by side from a lane-major strip (`input[x][k]` is row `k`, column
/// `x`), so each step is one contiguous vector.
struct LaneRows<'a> {
    input: &'a [[f32; LANES]],
    sum: [f32; LANES],
    sink: LaneSink<'a>,
}

/// Where a lane-major row filter writes its quotients.
enum LaneSink<'a> {
    /// Every position, lane-major like the input.
    Full(&'a mut [[f32; LANES]]),
    /// Only the 64 decimation columns, into eight compact rows of 64.
    Sampled { rows: [&'a mut [f32]; LANES], columns: &'a [usize; 64], next: usize },
}

impl Accumulate for LaneRows<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        add_lanes(&mut self.sum, &self.input[at]);
    }

    #[inline(always)]
    fn sub(&mut self, at: usize) {
        sub_lanes(&mut self.sum, &self.input[at]);
    }

    #[inline(always)]
    fn emit(&mut self, at: usize, count: f32) {
        match &mut self.sink {
            LaneSink::Full(out) => quotients(&mut out[at], &self.sum, count),
            LaneSink::Sampled { rows, columns, next } => write_samples(rows, columns, next, at, &self.sum, count),
        }
    }
}

/// All columns of a row-major buffer filtered along their length side by side, keeping the
/// quotients of the 64 decimation rows only (into a 64-row output).
struct Columns<'a> {
    input: &'a [f32],
    cols: usize,
    sum: &'a mut [f32],
    out: &'a mut [f32],
    rows: &'a [usize; 64],
    next: usize,
}

impl Accumulate for Columns<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        add_lanes(self.sum, &self.input[at * self.cols..(at + 1) * self.cols]);
    }

    #[inline(always)]
    fn sub(&mut self, at: usize) {
        sub_lanes(self.sum, &self.input[at * self.cols..(at + 1) * self.cols]);
    }

    #[inline(always)]
    fn emit(&mut self, at: usize, count: f32) {
        let cols = self.cols;
        while self.next < 64 && self.rows[self.next] == at {
            quotients(&mut self.out[self.next * cols..(self.next + 1) * cols], self.sum, count);
            self.next += 1;
        }
    }
}

/// Splits a row-major buffer into `N` consecutive rows starting at `first`.
fn row_group<const N: usize>(buf: &[f32], first: usize, cols: usize) -> [&[f32]; N] {
    std::array::from_fn(|k| &buf[(first + k) * cols..(first + k + 1) * cols])
}

fn row_group_mut<const N: usize>(buf: &mut [f32], first: usize, cols: usize) -> [&mut [f32]; N] {
    let mut rest = &mut buf[first * cols..(first + N) * cols];
    std::array::from_fn(|_| {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(cols);
        rest = tail;
        head
    })
}

/// Where a horizontal pass over a group of rows writes.
enum GroupOut<'a, const N: usize> {
    /// Every column, into `N` full rows.
    Full([&'a mut [f32]; N]),
    /// Only the 64 decimation columns, into `N` compact rows of 64.
    Sampled([&'a mut [f32]; N], &'a [usize; 64]),
}

/// Horizontal box filter of `N` rows side by side, reading each row directly.
#[inline(always)]
fn filter_group<const N: usize>(input: [&[f32]; N], out: GroupOut<'_, N>, cols: usize, window: usize) {
    let sink = match out {
        GroupOut::Full(rows) => RowSink::Full(rows),
        GroupOut::Sampled(rows, columns) => RowSink::Sampled { rows, columns, next: 0 },
    };
    walk(&mut Rows { input, sum: [0.0; N], sink }, cols, window);
}

/// Horizontal box filter of eight rows: through a lane-major strip when the CPU can transpose
/// quickly, else reading the rows directly.
#[inline(always)]
fn filter_group8(input: [&[f32]; LANES], out: GroupOut<'_, LANES>, cols: usize, window: usize, strips: &mut Strips) {
    let Some(t) = Transposer::detect() else {
        return filter_group(input, out, cols, window);
    };
    let Strips { input: strip, output: strip_out } = strips;
    strip.resize(cols, [0.0; LANES]);
    t.rows_to_lanes(&input, strip);
    match out {
        GroupOut::Full(mut rows) => {
            strip_out.resize(cols, [0.0; LANES]);
            walk(&mut LaneRows { input: strip, sum: [0.0; LANES], sink: LaneSink::Full(strip_out) }, cols, window);
            t.lanes_to_rows(strip_out, &mut rows);
        }
        GroupOut::Sampled(rows, columns) => {
            let sink = LaneSink::Sampled { rows, columns, next: 0 };
            walk(&mut LaneRows { input: strip, sum: [0.0; LANES], sink }, cols, window);
        }
    }
}

/// Lane-major strips reused from one row group to the next.
#[derive(Default)]
struct Strips {
    input: Vec<[f32; LANES]>,
    output: Vec<[f32; LANES]>,
}

/// Vertical box filter of every column, keeping only the 64 decimation rows (the output is
/// `64 x cols`).
#[inline(always)]
fn filter_columns_sampled(
    input: &[f32],
    output: &mut [f32],
    rows: usize,
    cols: usize,
    window: usize,
    sum: &mut Vec<f32>,
    sampled: &[usize; 64],
) {
    sum.clear();
    sum.resize(cols, 0.0);
    let mut acc = Columns { input, cols, sum, out: output, rows: sampled, next: 0 };
    walk(&mut acc, rows, window);
}

/// Where the pipeline reads luma from, a few rows at a time.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// Interleaved RGB8, converted to luma as rows are needed.
    Rgb(&'a [u8]),
    /// The same, with the luma sum in f32 (Meta's C++ code, vPDQ).
    RgbSingle(&'a [u8]),
    /// Luma already in floats.
    Luma(&'a [f32]),
    /// Luma made by the caller a few rows at a time: `(first row, out)` fills whole rows
    /// (a video frame converted from YUV as the filter reads it).
    Rows(&'a dyn Fn(usize, &mut [f32])),
}

impl Source<'_> {
    /// Writes rows `first..first + out.len() / cols` of luma into `out`.
    #[inline(always)]
    fn fill(self, first: usize, cols: usize, out: &mut [f32]) {
        let start = first * cols;
        match self {
            Source::Rgb(rgb) => super::luma::rgb_to_luma(&rgb[start * 3..(start + out.len()) * 3], out),
            Source::RgbSingle(rgb) => super::luma::rgb_to_luma_single(&rgb[start * 3..(start + out.len()) * 3], out),
            Source::Luma(luma) => out.copy_from_slice(&luma[start..start + out.len()]),
            Source::Rows(rows) => rows(first, out),
        }
    }
}

/// Working memory of the pipeline, a few rows deep, reused from one image to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    luma: Vec<f32>,
    ring: Vec<f32>,
    band: Vec<f32>,
    compact: Vec<f32>,
    sums: Vec<f32>,
    strips: Strips,
}

/// The whole filter as one stream down the image.
///
/// The vertical pass of round one walks down the rows; the rows of round one's horizontal pass
/// it needs are made a group of eight at a time, just before it adds them, into a ring that holds
/// the window (a row is needed twice: when it enters the running sum and when it leaves). Each
/// output row of that vertical pass goes into a band of eight, and a full band goes straight
/// through round two's horizontal pass, which keeps only the 64 decimation columns. So the image
/// is read once, and nothing the size of the image is written: for a 12-megapixel photo the
/// working set is about a megabyte instead of a few hundred, and it stays in cache.
struct Stream<'a> {
    source: Source<'a>,
    rows: usize,
    cols: usize,
    along_rows: usize,
    ring_rows: usize,
    produced: usize,
    scratch: &'a mut Scratch,
    sample_cols: &'a [usize; 64],
}

impl Stream<'_> {
    /// Round one's horizontal pass over the next group of (up to) eight rows, into the ring.
    #[inline(always)]
    fn produce(&mut self) {
        let (first, cols) = (self.produced, self.cols);
        let n = LANES.min(self.rows - first);
        let Scratch { luma, ring, strips, .. } = &mut *self.scratch;
        let luma = &mut luma[..n * cols];
        self.source.fill(first, cols, luma);
        // Groups start at multiples of eight and the ring's size is one too, so a group's rows sit
        // side by side in the ring.
        let ring_first = first % self.ring_rows;
        if n == LANES {
            let out = GroupOut::Full(row_group_mut::<LANES>(ring, ring_first, cols));
            filter_group8(row_group::<LANES>(luma, 0, cols), out, cols, self.along_rows, strips);
        } else {
            for k in 0..n {
                let out = GroupOut::Full(row_group_mut::<1>(ring, ring_first + k, cols));
                filter_group(row_group::<1>(luma, k, cols), out, cols, self.along_rows);
            }
        }
        self.produced += n;
    }

    /// Round two's horizontal pass over the band, whose last row is `last`, keeping the
    /// decimation columns only.
    #[inline(always)]
    fn flush_band(&mut self, last: usize) {
        let (cols, n) = (self.cols, last % LANES + 1);
        let first = last + 1 - n;
        let Scratch { band, compact, strips, .. } = &mut *self.scratch;
        if n == LANES {
            let out = GroupOut::Sampled(row_group_mut::<LANES>(compact, first, 64), self.sample_cols);
            filter_group8(row_group::<LANES>(band, 0, cols), out, cols, self.along_rows, strips);
        } else {
            for k in 0..n {
                let out = GroupOut::Sampled(row_group_mut::<1>(compact, first + k, 64), self.sample_cols);
                filter_group(row_group::<1>(band, k, cols), out, cols, self.along_rows);
            }
        }
    }
}

impl Accumulate for Stream<'_> {
    #[inline(always)]
    fn add(&mut self, at: usize) {
        while self.produced <= at {
            self.produce();
        }
        let slot = at % self.ring_rows;
        let Scratch { ring, sums, .. } = &mut *self.scratch;
        add_lanes(sums, &ring[slot * self.cols..(slot + 1) * self.cols]);
    }

    #[inline(always)]
    fn sub(&mut self, at: usize) {
        debug_assert!(at + self.ring_rows >= self.produced, "row {at} has left the ring");
        let slot = at % self.ring_rows;
        let Scratch { ring, sums, .. } = &mut *self.scratch;
        sub_lanes(sums, &ring[slot * self.cols..(slot + 1) * self.cols]);
    }

    #[inline(always)]
    fn emit(&mut self, at: usize, count: f32) {
        let (cols, slot) = (self.cols, at % LANES);
        let Scratch { band, sums, .. } = &mut *self.scratch;
        quotients(&mut band[slot * cols..(slot + 1) * cols], sums, count);
        if slot == LANES - 1 || at + 1 == self.rows {
            self.flush_band(at);
        }
    }
}

super::simd::avx2_dispatch! {
    /// [`filter_and_decimate_portable`], in AVX2 code when the CPU has it.
    fn filter_and_decimate(source: Source<'_>, rows: usize, cols: usize, scratch: &mut Scratch, out: &mut [f32; 4096])
        => filter_and_decimate_portable
}

/// Filters the `rows x cols` luma image twice with the Jarosz box filter and decimates it to
/// 64x64, writing row-major into `out`.
///
/// Equals the reference's `jaroszFilterFloat` (two repetitions) followed by
/// `decimateFloat(64, 64)`, bit for bit: each running sum sees the same values in the same order.
#[inline(always)]
pub(crate) fn filter_and_decimate_portable(source: Source<'_>, rows: usize, cols: usize, scratch: &mut Scratch, out: &mut [f32; 4096]) {
    let (along_rows, along_cols) = (window_size(cols), window_size(rows));
    let sample_cols = decimation_indices(cols);
    let sample_rows = decimation_indices(rows);
    // The vertical window plus one group of eight, rounded to whole groups.
    let ring_rows = (along_cols + LANES).next_multiple_of(LANES);
    scratch.luma.resize(LANES * cols, 0.0);
    scratch.ring.resize(ring_rows * cols, 0.0);
    scratch.band.resize(LANES * cols, 0.0);
    scratch.compact.resize(rows * 64, 0.0);
    scratch.sums.clear();
    scratch.sums.resize(cols, 0.0);

    let mut stream = Stream { source, rows, cols, along_rows, ring_rows, produced: 0, scratch, sample_cols: &sample_cols };
    walk(&mut stream, rows, along_cols);

    // Round two's vertical pass, over the 64 kept columns, keeping the 64 decimation rows.
    let Scratch { compact, sums, .. } = scratch;
    filter_columns_sampled(compact, out, rows, 64, along_cols, sums, &sample_rows);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The reference's `box1DFloat`, transcribed literally, with a stride.
    pub(crate) fn box_1d_reference(input: &[f32], output: &mut [f32], len: usize, stride: usize, window: usize) {
        let half = (window + 2) / 2;
        let (p1, p2, p3, p4) = (half - 1, window - half + 1, len - window, half - 1);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0.0f32;
        let mut count = 0usize;
        for _ in 0..p1 {
            sum += input[ri];
            count += 1;
            ri += stride;
        }
        for _ in 0..p2 {
            sum += input[ri];
            count += 1;
            output[oi] = sum / count as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / count as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p4 {
            sum -= input[li];
            count -= 1;
            output[oi] = sum / count as f32;
            li += stride;
            oi += stride;
        }
    }

    /// The reference pipeline, one scalar running sum at a time, full buffers, then decimation.
    pub(crate) fn filter_and_decimate_reference(luma: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut a = luma.to_vec();
        let mut b = vec![0.0; a.len()];
        for _ in 0..2 {
            for r in 0..rows {
                box_1d_reference(&a[r * cols..], &mut b[r * cols..], cols, 1, window_size(cols));
            }
            for c in 0..cols {
                box_1d_reference(&b[c..], &mut a[c..], rows, cols, window_size(rows));
            }
        }
        let (ri, ci) = (decimation_indices(rows), decimation_indices(cols));
        let mut out = Vec::with_capacity(4096);
        for r in ri {
            for c in ci {
                out.push(a[r * cols + c]);
            }
        }
        out
    }

    fn pseudo_random_luma(rows: usize, cols: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..rows * cols)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 25_500) as f32 / 100.0
            })
            .collect()
    }

    #[test]
    fn window_sizes_follow_the_reference_formula() {
        assert_eq!(window_size(1), 1);
        assert_eq!(window_size(128), 1);
        assert_eq!(window_size(129), 2);
        assert_eq!(window_size(1600), 13);
        assert_eq!(window_size(4032), 32);
    }

    #[test]
    fn decimation_picks_the_centre_of_each_64th() {
        let idx = decimation_indices(1004);
        assert_eq!(idx[0], 7); // floor(0.5 * 1004 / 64) = floor(7.84)
        assert_eq!(idx[63], 996); // floor(63.5 * 1004 / 64) = floor(996.16)
        assert_eq!(decimation_indices(64), std::array::from_fn(|i| i));
        // Fewer than 64 pixels: indices repeat, as in the reference.
        let small = decimation_indices(34);
        assert_eq!(small[0], 0);
        assert_eq!(small[1], 0);
        assert_eq!(small[63], 33);
    }

    #[test]
    fn a_window_of_one_still_rounds_like_the_reference() {
        // The running sum makes even a window of 1 something other than the identity.
        let input = [0.1f32, 1e8, 0.3, 7.0];
        let mut out = [0.0; 4];
        box_1d_reference(&input, &mut out, 4, 1, 1);
        assert_ne!(out, input, "running-sum rounding must show");
        let luma = pseudo_random_luma(70, 66, 3);
        let mut scratch = Scratch::default();
        let mut fast = [0.0; 4096];
        filter_and_decimate(Source::Luma(&luma), 70, 66, &mut scratch, &mut fast);
        assert_eq!(fast.to_vec(), filter_and_decimate_reference(&luma, 70, 66));
    }

    #[test]
    fn the_fast_filter_equals_the_reference_bit_for_bit_at_many_sizes() {
        let mut scratch = Scratch::default();
        // Sizes that cross window boundaries (128, 129, 256, 257), odd row counts that leave a
        // remainder after the groups of eight, and images smaller than 64 on a side.
        for (i, &(rows, cols)) in
            [(5, 5), (34, 42), (63, 65), (129, 128), (257, 300), (300, 257), (1004, 161), (17, 1500), (1500, 17), (2049, 9)]
                .iter()
                .enumerate()
        {
            let luma = pseudo_random_luma(rows, cols, i as u32 + 1);
            let mut fast = [0.0; 4096];
            filter_and_decimate(Source::Luma(&luma), rows, cols, &mut scratch, &mut fast);
            let slow = filter_and_decimate_reference(&luma, rows, cols);
            let same = fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{rows}x{cols} differs from the reference");
        }
    }
}
