#!/bin/bash
# Shard and merge overhead on EmoDB (535 clips), the numbers in README "Larger corpora": one process vs
# 3 shard processes (one after the other, for CPU time; then at once, for wall time) + the merge, R times.
# Prints /usr/bin/time's "wall user sys" seconds per process and whether the merged store is byte-identical.
#   R=3 bash deploy/measure-overhead.sh      (EMOLAB_DATA must hold emodb; scratch in ${TMPDIR:-/tmp})
set -euo pipefail
E="$(cd "$(dirname "$0")/.." && pwd)/bin/emolab"
R=${R:-3}
base="${TMPDIR:-/tmp}/emolab-overhead"
# t <timing file> <command...>: run it, timed; on failure show its output and stop
t() { /usr/bin/time -f "%e %U %S" -o "$1" "${@:2}" > "$1.log" 2>&1 || { tail -5 "$1.log" >&2; exit 1; }; }
for r in $(seq 1 "$R"); do
  rm -rf "$base"; mkdir -p "$base"
  t "$base/single.t" "$E" features extract --corpus emodb --workers 1 --out "$base/single"
  for k in 0 1 2; do t "$base/seq$k.t" "$E" features extract --corpus emodb --workers 1 --shard "$k/3" --out "$base/seq$k"; done
  t "$base/merge.t" "$E" store merge "$base/seq0" "$base/seq1" "$base/seq2" --out "$base/merged" --quiet
  same=$(diff -r "$base/single/audio" "$base/merged/audio" > /dev/null && echo identical || echo DIFFERENT)
  t "$base/single2.t" "$E" features extract --corpus emodb --workers 2 --out "$base/single2"
  start=$(date +%s.%N)
  for k in 0 1 2; do t "$base/par$k.t" "$E" features extract --corpus emodb --workers 1 --shard "$k/3" --out "$base/par$k" & done
  wait
  end=$(date +%s.%N)
  echo "run $r: merged $same; one process [$(cat "$base/single.t")]; shards [$(cat "$base/seq0.t")] [$(cat "$base/seq1.t")] [$(cat "$base/seq2.t")]; merge [$(cat "$base/merge.t")]; one process, 2 threads [$(cat "$base/single2.t")]; 3 shards at once: $(echo "$end - $start" | bc) s wall"
done
t "$base/one.t" "$E" features extract --corpus emodb --workers 1 --limit 1 --out "$base/one"
echo "fixed cost of one process (1-clip extraction): [$(cat "$base/one.t")]"
rm -rf "$base"
