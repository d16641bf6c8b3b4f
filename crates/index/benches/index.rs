//! Exact range search at scale, one thread, on the files of `bench/index/make_data.py`; the
//! same files go through FAISS in `bench/index/faiss_bench.py`.
//!
//! `TOCSIN_BENCH_DATA=DIR TOCSIN_BENCH_N=1000000 cargo bench -p tocsin-index --bench index`
//! (without the variables it prints how to make the data and stops). `TOCSIN_BENCH_QUICK=1`
//! leaves out the scan's rate and checks recall on 20 queries a set instead of 100, for quick
//! comparisons while tuning.
#![allow(clippy::print_stdout)] // A report on standard output is what this program is for.

use std::time::{Duration, Instant};

use tocsin_index::{Bits, Index, Strategy};

fn load(path: &std::path::Path) -> Vec<Bits> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.chunks_exact(32).map(|c| std::array::from_fn(|w| u64::from_le_bytes(c[w * 8..w * 8 + 8].try_into().expect("8 bytes")))).collect()
}

/// Queries per second over `queries`, repeated until `budget` has passed.
fn qps(index: &Index, queries: &[Bits], strategy: Strategy, budget: Duration) -> (f64, usize) {
    let start = Instant::now();
    let (mut done, mut found) = (0usize, 0usize);
    while start.elapsed() < budget {
        for q in queries {
            found += std::hint::black_box(index.search_using(q, 31, strategy)).len();
            done += 1;
        }
    }
    (done as f64 / start.elapsed().as_secs_f64(), found * queries.len() / done.max(1))
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Where the scan stops beating the multi-index: random banks of a few sizes, random queries.
fn small_sizes() {
    println!("size\tscan_qps\tmulti_index_qps");
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let queries: Vec<Bits> = (0..200).map(|_| [next(), next(), next(), next()]).collect();
    for size in [256, 1024, 4096, 16_384, 65_536] {
        let index = Index::from_pairs((0..size).map(|i| (i, [next(), next(), next(), next()])));
        let budget = Duration::from_millis(500);
        let (scan, _) = qps(&index, &queries, Strategy::Scan, budget);
        let (multi, _) = qps(&index, &queries, Strategy::MultiIndex, budget);
        println!("{size}\t{scan:.0}\t{multi:.0}");
    }
}

fn main() {
    small_sizes();
    let (Ok(dir), Ok(n)) = (std::env::var("TOCSIN_BENCH_DATA"), std::env::var("TOCSIN_BENCH_N")) else {
        eprintln!("set TOCSIN_BENCH_DATA and TOCSIN_BENCH_N; make the data with bench/index/make_data.py DIR N SEED");
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let budget = Duration::from_secs(3);
    let quick = std::env::var_os("TOCSIN_BENCH_QUICK").is_some();
    let checked = if quick { 20 } else { 100 };
    println!("bank\tqueries\tstrategy\tbuild_s\tsave_MB\tload_s\tqps\tmatches_per_1000_queries");
    println!("# recall: every multi-index answer is checked equal to the scan's on {checked} queries of each set");
    for kind in ["random", "clustered"] {
        let bank = load(&dir.join(format!("bank-{kind}-{n}.bin")));
        let start = Instant::now();
        let index = Index::from_pairs(bank.iter().enumerate().map(|(i, h)| (i as u64, *h)));
        let build = start.elapsed().as_secs_f64();
        let held = index.stats().bytes;
        println!("# {kind}-{n}: the index holds {:.0} MB, {:.1} bytes a hash", held as f64 / 1e6, held as f64 / bank.len().max(1) as f64);
        // Saved to a file beside the data and loaded back in one read (from the page cache).
        let path = dir.join(format!("index-{kind}-{n}.tocsidx"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create the index file"));
        index.write_to(&mut file).expect("write the index file");
        drop(file);
        drop(index);
        let saved_mb = std::fs::metadata(&path).expect("index file").len() as f64 / 1e6;
        let start = Instant::now();
        let loaded = Index::read_from(&mut std::fs::File::open(&path).expect("open the index file")).expect("loads");
        let load_s = start.elapsed().as_secs_f64();
        for qname in ["random".to_owned(), format!("near-{kind}-{n}")] {
            let queries = load(&dir.join(format!("queries-{qname}.bin")));
            // Recall: the multi-index must return exactly what the scan returns.
            for q in &queries[..checked] {
                let (mih, scan) = (loaded.search_using(q, 31, Strategy::MultiIndex), loaded.search_using(q, 31, Strategy::Scan));
                assert_eq!(mih, scan, "the multi-index differs from the scan");
            }
            let label = qname.split('-').next().unwrap_or("");
            let strategies: &[Strategy] = if quick { &[Strategy::MultiIndex] } else { &[Strategy::MultiIndex, Strategy::Scan] };
            for &strategy in strategies {
                // The scan is slow at scale: a tenth of the queries gives its rate.
                let q = if strategy == Strategy::Scan { &queries[..queries.len() / 10] } else { &queries[..] };
                let (rate, found) = qps(&loaded, q, strategy, budget);
                println!(
                    "{kind}-{n}\t{label}\t{strategy:?}\t{build:.2}\t{:.0}\t{load_s:.2}\t{rate:.1}\t{}",
                    saved_mb,
                    found * 1000 / q.len()
                );
            }
        }
    }
    println!("# peak RSS {:.0} MB, scan build: {}", peak_rss_mb(), tocsin_index::scan::level());
}
