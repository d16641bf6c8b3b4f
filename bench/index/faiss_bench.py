#!/usr/bin/env python3
"""FAISS's binary indexes on the files of make_data.py, one thread: build time, queries per
second for range search within distance 31, and recall against the exact answer.

Usage: faiss_bench.py DATA_DIR N [SECONDS_PER_CASE]
FAISS's binary range search keeps distances strictly below the radius, so 32 is passed to get
distances up to 31. Needs: pip install faiss-cpu numpy
"""
import os
import resource
import sys
import time

import faiss
import numpy as np


def load(path):
    return np.fromfile(path, dtype=np.uint8).reshape(-1, 32)


def range_all(index, queries, radius):
    lims, dist, ids = index.range_search(queries, radius)
    return [set(ids[lims[i]:lims[i + 1]].tolist()) for i in range(len(queries))]


def timed(fn, budget):
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        if time.perf_counter() - start >= budget:
            return (time.perf_counter() - start) / runs


def main():
    data, n = sys.argv[1], int(sys.argv[2])
    budget = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    faiss.omp_set_num_threads(1)
    print("bank\tqueries\tindex\tbuild_s\tqps\trecall")
    for kind in ("random", "clustered"):
        bank = load(os.path.join(data, f"bank-{kind}-{n}.bin"))
        flat = faiss.IndexBinaryFlat(256)
        t = time.perf_counter()
        flat.add(bank)
        flat_build = time.perf_counter() - t
        for qname in ("random", f"near-{kind}-{n}"):
            queries = load(os.path.join(data, f"queries-{qname}.bin"))
            truth = range_all(flat, queries, 32)
            per = [("IndexBinaryFlat", flat, flat_build)]
            for label, make in (
                ("IndexBinaryMultiHash(nhash=16,b=16)", lambda: faiss.IndexBinaryMultiHash(256, 16, 16)),
                ("IndexBinaryHash(b=16)", lambda: faiss.IndexBinaryHash(256, 16)),
            ):
                idx = make()
                t = time.perf_counter()
                idx.add(bank)
                per.append((label, idx, time.perf_counter() - t))
            for label, idx, build in per:
                # Flat is slow at scale: fewer queries, same per-query rate.
                q = queries[:20] if label == "IndexBinaryFlat" and n >= 1_000_000 else queries
                secs = timed(lambda: idx.range_search(q, 32), budget)
                got = range_all(idx, queries, 32)
                found = sum(len(g & t) for g, t in zip(got, truth))
                total = sum(len(t) for t in truth)
                recall = found / total if total else 1.0
                print(f"{kind}-{n}\t{qname.split('-')[0]}\t{label}\t{build:.2f}\t{len(q) / secs:.1f}\t{recall:.4f}", flush=True)
    print(f"# max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
