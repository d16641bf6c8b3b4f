#!/bin/bash
# Builds Meta's vPDQ reference for the video benchmark: PyPI `vpdq` 0.2.5 (Meta's C++ with its
# Cython binding) from source against Debian's libav development packages, in a venv under
# /var/tmp. Prints the venv's python. Usage: bench/vpdq/setup.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh
ensure_debian_packages ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavdevice-dev \
  libavfilter-dev libswresample-dev pkg-config cmake g++ python3-dev python3-venv time
venv=/var/tmp/tocsin-vpdq-venv
if ! "$venv/bin/python" -c "import vpdq" 2>/dev/null; then
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q --no-binary vpdq "vpdq==0.2.5" >&2
fi
echo "$venv/bin/python"
