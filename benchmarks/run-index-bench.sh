#!/usr/bin/env bash
# Runs vector-bench (portable and -target-cpu native builds) and the hnswlib/faiss reference on
# the same data, one after another, so the figures in BENCHMARKS-index.md come from one run.
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
swift build -c release --product vector-bench -Xswiftc -target-cpu -Xswiftc native --scratch-path .build-native
echo "== VectorIndex, portable build (x86-64 baseline: SSE2) =="
.build/release/vector-bench --data "$data" "$@"
echo "== VectorIndex, -Xswiftc -target-cpu -Xswiftc native =="
.build-native/release/vector-bench --data "$data" "$@"
echo "== hnswlib / faiss =="
/tmp/annvenv/bin/python benchmarks/ann_reference.py --data "$data" "$@"
