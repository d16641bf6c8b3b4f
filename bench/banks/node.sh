#!/bin/bash
# Runs bench.py against a fresh node of TOCSIN_BINARY on SQLite holding a bank of N random PDQ
# hashes: starts the node, imports the bank with `tocsin bank import`, runs the cases for
# SECONDS each, stops the node. For comparing two builds in one sitting.
# Usage: bench/banks/node.sh TOCSIN_BINARY [N] [SECONDS]
set -euo pipefail
binary=$(realpath "$1"); n=${2:-100000}; seconds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
python3 -c "
import random, sys
rng = random.Random(7)
with open(sys.argv[1], 'w') as f:
    for _ in range(int(sys.argv[2])):
        f.write(f'pdq:{rng.getrandbits(256):064x}\n')
" "$work/bank.txt" "$n"
mkdir -p "$work/node"
"$binary" serve --data "$work/node" --listen 127.0.0.1:0 --name bench --role platform --origin http://127.0.0.1:9 \
    > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 300); do url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/err" | head -1 || true); [ -n "$url" ] && break; sleep 0.05; done
[ -n "$url" ] || { cat "$work/err"; exit 1; }
token=$("$binary" admin token --data "$work/node" --account bench --role admin | tail -1)
"$binary" bank create known --action block --server "$url" --token "$token" > /dev/null
"$binary" bank import known "$work/bank.txt" --server "$url" --token "$token" 2> /dev/null | tail -1
python3 "$here/bench.py" "$url" "$token" "$work/bank.txt" "$here/../../tests/data/pdq/bridge-mods/shrink-a-little.jpg" "$seconds"
