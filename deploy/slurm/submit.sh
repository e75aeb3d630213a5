#!/bin/bash
# Submit a sharded extraction: an array of EMOLAB_SHARDS tasks, then the merge job, which starts only when
# every task succeeded (afterok). Example:
#   EMOLAB_CORPUS=grid EMOLAB_KIND=face EMOLAB_ARGS="--fps 10 --faces 1" EMOLAB_SHARDS=32 \
#   EMOLAB_WORK=/scratch/$USER/grid-face ./submit.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shards="${EMOLAB_SHARDS:?set EMOLAB_SHARDS}"
: "${EMOLAB_WORK:?set EMOLAB_WORK to a folder every node sees}"
export EMOLAB_SHARDS EMOLAB_WORK
array=$(sbatch --parsable --export=ALL --array=0-$((shards - 1)) "$here/extract-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$here/merge.sbatch")
echo "extract array job $array (shards 0-$((shards - 1))), merge job $merge (after all succeed)"
