#!/bin/bash
# Video hashing: `tocsin hash --format vpdq` against Meta's reference (PyPI vpdq 0.2.5, built by
# setup.sh) on the same generated videos, side by side, alternating; wall time, seconds of video
# hashed per second and peak RSS (GNU time), at one hash a second and at every frame, the
# reference at each thread setting. Then how many lines of each agree with Meta's shipped file
# for one of its videos. Usage: bench/vpdq/run.sh TOCSIN_BINARY [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
tocsin=$(realpath "$1"); rounds=${2:-3}
python=$(bench/vpdq/setup.sh)
work=$(mktemp -d -p /var/tmp); trap 'rm -rf "$work"' EXIT
# 720p H.264 at 30 frames a second, FFmpeg's moving test pattern: 60 s, and 180 s to see
# whether memory grows with length.
for seconds in 60 180; do
  ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=$seconds" \
    -pix_fmt yuv420p -c:v libx264 -preset veryfast "$work/v$seconds.mp4"
done
echo -e "tool\tthreads\tvideo_s\tseconds_per_hash\tround\twall_s\tvideo_s_per_s\tmax_rss_kb\tlines"
measure() {
  local name=$1 threads=$2 length=$3 sph=$4 round=$5; shift 5
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out.txt"
  read -r wall rss < "$work/time"
  echo -e "$name\t$threads\t$length\t$sph\t$round\t$wall\t$(python3 -c "print(round($length / $wall, 1))")\t$rss\t$(wc -l < "$work/out.txt")"
}
for round in $(seq "$rounds"); do
  for sph in 1 0; do
    measure tocsin auto 60 "$sph" "$round" "$tocsin" hash --format vpdq --seconds-per-hash "$sph" "$work/v60.mp4"
    for threads in 1 2 0; do
      measure vpdq-0.2.5 "$threads" 60 "$sph" "$round" "$python" bench/vpdq/reference.py "$work/v60.mp4" "$sph" "$threads"
    done
  done
done
# Memory against length: the 180 s video once each, every frame.
measure tocsin auto 180 0 1 "$tocsin" hash --format vpdq --seconds-per-hash 0 "$work/v180.mp4"
measure vpdq-0.2.5 0 180 0 1 "$python" bench/vpdq/reference.py "$work/v180.mp4" 0 0
# Agreement with Meta's shipped file (its portable C conversion) for one of its videos.
video=tests/data/vpdq/sample-videos/pattern-sd-grey-bar.mp4 expected=tests/data/vpdq/sample-hashes/pattern-sd-grey-bar.txt
"$tocsin" hash --format vpdq --seconds-per-hash 0 "$video" > "$work/t.txt"
"$python" bench/vpdq/reference.py "$video" 0 0 > "$work/r.txt"
echo -e "lines differing from Meta's shipped file\ttocsin\t$(diff "$work/t.txt" "$expected" | grep -c '^<' || true)\tvpdq-0.2.5\t$(diff "$work/r.txt" "$expected" | grep -c '^<' || true)\tof\t$(wc -l < "$expected")"
