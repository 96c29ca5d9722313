#!/usr/bin/env bash
# Runs vector-bench (every kernel set this CPU has: portable SSE2, AVX2, AVX-512, measured on one
# graph) and the hnswlib/faiss reference on the same data, one after the other, so the figures
# in BENCHMARKS.md come from one run.
# Usage: benchmarks/run-index-bench.sh [DATA_DIR] [extra vector-bench/ann_reference options...]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
shift || true
if [ ! -x /tmp/annvenv/bin/python ]; then
    python3 -m venv /tmp/annvenv
    /tmp/annvenv/bin/pip install -q hnswlib faiss-cpu numpy
fi
swift build -c release --product vector-bench
echo "== VectorIndex =="
.build/release/vector-bench --data "$data" "$@"
echo "== hnswlib / faiss =="
/tmp/annvenv/bin/python benchmarks/ann_reference.py --data "$data" "$@"
