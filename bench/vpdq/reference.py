"""Meta's vPDQ reference (PyPI vpdq 0.2.5) on one video: prints the features in the C++ file form
(frame,quality,hex,seconds), as `tocsin hash --format vpdq` does, so that the two can be compared.
Usage: python reference.py VIDEO SECONDS_PER_HASH THREADS"""
import sys

import vpdq

video, seconds_per_hash, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
features = vpdq.computeHash(video, seconds_per_hash=seconds_per_hash, thread_count=threads)
out = sys.stdout
for f in features:
    out.write(f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}\n")
