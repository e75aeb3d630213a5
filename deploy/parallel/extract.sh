#!/bin/bash
# One machine, many cores: n shard processes with GNU parallel (each retried up to 3 times with the same
# command; a retry resumes), then the merge. The one-liner, for n = 8 on emodb:
#
#   parallel -j8 --retries 3 --halt soon,fail=1 npx emolab features extract --corpus emodb --workers 1 --shard {}/8 --out work/parts/{} ::: $(seq 0 7) && npx emolab store merge work/parts/* --out work/store
#
# This script is that line with settings:  EMOLAB_SHARDS=8 EMOLAB_CORPUS=emodb EMOLAB_WORK=work ./extract.sh
set -euo pipefail
n="${EMOLAB_SHARDS:-$(nproc)}"
corpus="${EMOLAB_CORPUS:-emodb}"
work="${EMOLAB_WORK:-work}"
emolab="${EMOLAB:-npx emolab}"
command="${EMOLAB_COMMAND:-features extract}"
mkdir -p "$work"
# shellcheck disable=SC2086  # $emolab, $command and $EMOLAB_ARGS are word lists
parallel -j"$n" --retries 3 --halt soon,fail=1 --joblog "$work/parallel.log" \
  $emolab $command --corpus "$corpus" --workers 1 --shard {}/"$n" --out "$work/parts/{}" ${EMOLAB_ARGS:-} ::: $(seq 0 $((n - 1))) \
  && $emolab store merge "$work"/parts/* --out "$work/store"
