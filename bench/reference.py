#!/usr/bin/env python3
"""Times Meta's reference PDQ (PyPI `pdqhash`, which compiles Meta's C++) on one thread.

Same images as `crates/hash/benches/pdq.rs`. Decode excluded: `pdqhash.compute` on an RGB array
already in memory. Decode included: Pillow open, convert("RGB"), numpy array, compute.
Needs: pip install pdqhash pillow numpy.  Usage: bench/reference.py [SECONDS_PER_CASE]
"""
import io
import os
import sys
import time

import numpy as np
import pdqhash
from PIL import Image

IMAGES = [
    ("256x256", "bridge-mods/square-256x256.jpg"),
    ("1152x723", "bridge-mods/shrink-a-little.jpg"),
    ("4032x3024", "reg-test-input/exif-rotn/exif-rotn-1.jpg"),
]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "pdq")


def per_call(fn, budget):
    """Median seconds per call over runs that fill `budget` seconds (at least 5 runs)."""
    fn()  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < budget:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    print("image\tcase\tms_per_image\truns")
    for label, rel in IMAGES:
        data = open(os.path.join(DATA, rel), "rb").read()
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

        def hash_only():
            pdqhash.compute(rgb)

        def end_to_end():
            pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))

        for case, fn in (("hash-only", hash_only), ("decode+hash", end_to_end)):
            secs, runs = per_call(fn, budget)
            print(f"{label}\t{case}\t{secs * 1000:.3f}\t{runs}")


if __name__ == "__main__":
    main()
