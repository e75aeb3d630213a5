#!/bin/bash
# Submit the training grid as an array job (one task per line of train-grid.txt), then fine-tuning after it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
grid="${EMOLAB_GRID:-$here/train-grid.txt}"
n=$(grep -cv '^\s*\(#\|$\)' "$grid")
export EMOLAB_GRID="$grid"
array=$(sbatch --parsable --export=ALL --array=0-$((n - 1)) "$here/train-array.sbatch")
array=${array%%;*}
ft=$(sbatch --parsable --export=ALL --dependency=afterok:"$array" --kill-on-invalid-dep=yes "$here/finetune.sbatch")
echo "training grid job $array ($n tasks), fine-tuning job $ft (after all succeed)"
