#!/bin/sh
# Apply the volumes and the Indexed Job, wait until every index completed, then run the merge Job.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
kubectl apply -f "$here/volumes.yaml"
kubectl apply -f "$here/extract-job.yaml"
kubectl wait --for=condition=complete --timeout="${EMOLAB_TIMEOUT:-24h}" job/emolab-extract
kubectl apply -f "$here/merge-job.yaml"
kubectl wait --for=condition=complete --timeout=2h job/emolab-merge
kubectl logs job/emolab-merge
