#!/bin/sh
# Starts the tslab kernel with the repository root as working directory, so notebooks can
# `import { ... } from "./lib/..."` whatever directory Jupyter was started from.
cd "$(dirname "$0")/../../.." || exit 1
exec node node_modules/tslab/bin/tslab kernel --config-path "$1"
