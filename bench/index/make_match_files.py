#!/usr/bin/env python3
"""Text files for timing `tocsin match` end to end, from make_data.py's raw banks.

Usage: make_match_files.py DATA_DIR N SEED
  bank{N}.txt      the N hashes of bank-random-N.bin as 64 hex digits, each with an id (b0, b1, ...)
  queries10k.txt   10,000 queries: 1,000 are 5-30 bits from a bank hash, 9,000 random (nearly all miss)
Needs: pip install numpy
"""
import os
import sys

import numpy as np


def main():
    out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(seed)
    bank = np.fromfile(os.path.join(out, f"bank-random-{n}.bin"), dtype=np.uint8).reshape(-1, 32)
    with open(os.path.join(out, f"bank{n}.txt"), "w") as f:
        for i, row in enumerate(bank):
            f.write(f"{row.tobytes().hex()} b{i}\n")
    picks = bank[rng.integers(0, len(bank), size=1000)].copy()
    bits = np.unpackbits(picks, axis=1)
    for row, k in zip(bits, rng.integers(5, 31, size=1000)):
        row[rng.choice(256, size=int(k), replace=False)] ^= 1
    near = np.packbits(bits, axis=1)
    queries = np.concatenate([near, rng.integers(0, 256, size=(9000, 32), dtype=np.uint8)])
    with open(os.path.join(out, "queries10k.txt"), "w") as f:
        for row in queries:
            f.write(row.tobytes().hex() + "\n")


if __name__ == "__main__":
    main()
