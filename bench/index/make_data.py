#!/usr/bin/env python3
"""Writes benchmark banks and queries as raw 32-byte hashes (numpy uint8, n x 32).

Usage: make_data.py OUT_DIR N SEED
  bank-random-N.bin     N random hashes
  bank-clustered-N.bin  N hashes: near variants (0-40 bits off) of N/20 bases, and 10 % random
  queries-random.bin    1,000 random hashes (nearly all miss)
  queries-near-*.bin    1,000 hashes each 5-30 bits from a hash of that bank
The same files feed bench/index/faiss_bench.py and `cargo bench -p tocsin-index --bench index`.
"""
import os
import sys

import numpy as np


def flip(codes, counts, rng):
    """Flips counts[i] distinct random bits of codes[i]."""
    out = codes.copy()
    bits = np.unpackbits(out, axis=1)
    for i, c in enumerate(counts):
        idx = rng.choice(256, size=int(c), replace=False)
        bits[i, idx] ^= 1
    return np.packbits(bits, axis=1)


def main():
    out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    random_bank = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    random_bank.tofile(os.path.join(out, f"bank-random-{n}.bin"))

    bases = rng.integers(0, 256, size=(max(1, n // 20), 32), dtype=np.uint8)
    pick = rng.integers(0, len(bases), size=n)
    clustered = bases[pick]
    # Flip in vectorised form: for each row, XOR with a random mask of k bits (k in 0..40).
    k = rng.integers(0, 41, size=n)
    noise = rng.random((n, 256)).argsort(axis=1) < k[:, None] if n <= 200_000 else None
    if noise is None:
        # Large n: build masks in chunks to bound memory.
        masks = np.empty((n, 32), dtype=np.uint8)
        for s in range(0, n, 100_000):
            e = min(n, s + 100_000)
            r = rng.random((e - s, 256)).argsort(axis=1) < k[s:e, None]
            masks[s:e] = np.packbits(r.astype(np.uint8), axis=1)
    else:
        masks = np.packbits(noise.astype(np.uint8), axis=1)
    clustered ^= masks
    tenth = rng.choice(n, size=n // 10, replace=False)
    clustered[tenth] = rng.integers(0, 256, size=(len(tenth), 32), dtype=np.uint8)
    clustered.tofile(os.path.join(out, f"bank-clustered-{n}.bin"))

    rng.integers(0, 256, size=(1000, 32), dtype=np.uint8).tofile(os.path.join(out, "queries-random.bin"))
    for name, bank in (("random", random_bank), ("clustered", clustered)):
        src = bank[rng.integers(0, n, size=1000)]
        flip(src, rng.integers(5, 31, size=1000), rng).tofile(os.path.join(out, f"queries-near-{name}-{n}.bin"))


if __name__ == "__main__":
    main()
