#!/bin/bash
# Orders and banks benchmarks for two builds in one sitting, alternating so that drift in the
# machine shows as spread: run.sh BEFORE_BINARY AFTER_BINARY (from any folder).
cd "$(dirname "$0")/../../.."
export TOCSIN_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test
B=${1:?the build before}
A=${2:?the build after}
date -u
for round in 1 2; do
  for which in before after; do
    bin=$B; [ $which = after ] && bin=$A
    echo "== orders sqlite $which round $round"; python3 bench/orders/bench.py $bin sqlite 200
    echo "== orders postgres $which round $round"; python3 bench/orders/bench.py $bin postgres 200
  done
done
for which in before after before after; do
  bin=$B; [ $which = after ] && bin=$A
  echo "== banks $which"; bench/banks/node.sh $bin 100000 5
done
date -u
