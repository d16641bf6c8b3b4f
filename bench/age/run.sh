#!/bin/bash
# Encrypting a large file to an age recipient: `tocsin package encrypt` against the stock `age`
# on the same file, side by side, alternating; wall time, throughput and peak RSS of each run
# (GNU time). Usage: bench/age/run.sh TOCSIN_BINARY FILE [ROUNDS]
set -euo pipefail
tocsin=$(realpath "$1"); file=$2; rounds=${3:-3}
work=$(mktemp -d -p /var/tmp); trap 'rm -rf "$work"' EXIT
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")
bytes=$(stat -c %s "$file")
echo -e "tool\tround\tseconds\tMB_per_s\tmax_rss_kb"
measure() {
  local name=$1 round=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$work/time" "$@"
  read -r seconds rss < "$work/time"
  echo -e "$name\t$round\t$seconds\t$(python3 -c "print(round($bytes / 1e6 / $seconds))")\t$rss"
}
for round in $(seq "$rounds"); do
  measure tocsin "$round" "$tocsin" package encrypt -r "$recipient" -o "$work/out.age" "$file"
  rm -f "$work/out.age"; sync
  measure age "$round" age -r "$recipient" -o "$work/out.age" "$file"
  rm -f "$work/out.age"; sync
done
# Both outputs open with the other tool: the last round's files, checked by hash.
"$tocsin" package encrypt -r "$recipient" -o "$work/t.age" "$file"
age -d -i "$work/key.txt" "$work/t.age" | sha256sum | cut -c1-16
age -r "$recipient" -o "$work/a.age" "$file"
"$tocsin" package decrypt -i "$work/key.txt" "$work/a.age" | sha256sum | cut -c1-16
sha256sum "$file" | cut -c1-16
