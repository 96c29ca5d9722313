#!/usr/bin/env bash
# Restart with many memories: loads COUNT items with 384-dimension vectors (real embeddings from
# ../shared/data/base.fbin when present, random ones after them) into a release store-server,
# kills it with SIGKILL and measures the time until it answers a vector search again (index
# snapshot + catch-up), checks every acknowledged item is found by its own vector, repeats with
# a kill in the middle of a load, measures end-to-end search (queries/s, recall@10) and finally
# the time to ready with no snapshot (full rebuild from PostgreSQL).
#
#   scripts/with-backends.sh scripts/bench-memories-restart.sh [COUNT]
#
# Needs TEST_DATABASE_URL (with-backends.sh sets it). Env: MEMORY_BENCH_PORT (7491),
# MEMORY_BENCH_DATA (../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
port=${MEMORY_BENCH_PORT:-7491}
data=${MEMORY_BENCH_DATA:-../shared/data}
: "${TEST_DATABASE_URL:?run through scripts/with-backends.sh}"

swift build -c release --product store-server >&2
swift build -c release --product memory-bench >&2
bin=$(swift build -c release --show-bin-path)
run=$(mktemp -d /tmp/memory-bench.XXXXXX)
server=""
echo "run directory: $run" >&2

start_server() {
    started_ms=$(date +%s%3N)
    "$bin/store-server" --port "$port" --data-dir "$run/var" --database-url "$TEST_DATABASE_URL" \
        --enable-cache false --log-level info >>"$run/server.log" 2>&1 &
    server=$!
    for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.05; done
    echo "server did not listen" >&2; exit 1
}
kill_server() { kill -9 "$server"; wait "$server" 2>/dev/null || true; server=""; }
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; true; }
trap cleanup EXIT
bench() { "$bin/memory-bench" "$@" --port "$port" --data "$data"; }
memory_log() { grep -E "memory index ready|loaded index snapshot|index caught up|rebuilding|wrote index snapshots" "$run/server.log" | tail -n "$1" >&2; }

echo "== load $count items" >&2
start_server
bench load --start 0 --count "$count" --acked "$run/acked-1" --concurrency 8
ls -l "$run"/var/memories/*/ 2>/dev/null >&2 || true
echo "== kill -9 right after the load, restart (snapshot + catch-up)" >&2
kill_server
start_server
bench ready --started-at-ms "$started_ms"
memory_log 4
bench verify --acked "$run/acked-1" --concurrency 8 || echo "VERIFY FAILED" >&2

echo "== kill -9 in the middle of a load of 20000 more, restart" >&2
(bench load --start "$count" --count 20000 --acked "$run/acked-2" --concurrency 8 || true) &
loader=$!
sleep 8
kill_server
wait "$loader" || true
start_server
bench ready --started-at-ms "$started_ms"
memory_log 3
cat "$run/acked-1" "$run/acked-2" >"$run/acked-all"
bench verify --acked "$run/acked-all" --concurrency 8 || echo "VERIFY FAILED" >&2

echo "== end-to-end search over the socket" >&2
bench query --concurrency 1 --rounds 2
bench query --concurrency 4 --rounds 4
# Restricted to the real embeddings' namespace (60% of the items): the filtered path.
bench query --concurrency 1 --rounds 1 --prefix bench,docs

echo "== no snapshot: full rebuild from PostgreSQL" >&2
kill_server
rm -rf "$run/var/memories"
start_server
bench ready --started-at-ms "$started_ms"
memory_log 3
bench verify --acked "$run/acked-all" --concurrency 8 || echo "VERIFY FAILED" >&2
kill_server
echo "server log: $run/server.log" >&2
