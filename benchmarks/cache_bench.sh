#!/usr/bin/env bash
# Cache and conversation-read throughput of store-server (release build), next to
# redis-benchmark against the very Redis the server uses, at the same connection counts and
# pipeline depths, in one run:
#   - CACHE_GET / CACHE_SET through store-server vs `redis-benchmark -t get,set` (same value size);
#   - CONVERSATION_GET with a warm cache vs a second store-server with ENABLE_CACHE=false that reads
#     every conversation straight from PostgreSQL.
# Usage: benchmarks/cache_bench.sh [seconds-per-run]
# Without TEST_DATABASE_URL/TEST_REDIS_URL it runs itself under scripts/with-backends.sh (a
# throwaway PostgreSQL with fsync off, and a Redis with persistence off).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${TEST_DATABASE_URL:-}" || -z "${TEST_REDIS_URL:-}" ]]; then
    export TEST_PG_PORT=${TEST_PG_PORT:-55590} TEST_REDIS_PORT=${TEST_REDIS_PORT:-56590}
    exec scripts/with-backends.sh "$0" "$@"
fi
seconds=${1:-5}
value_bytes=64
swift build -c release --product store-server >/dev/null
swift build -c release --product store-load >/dev/null
bin=$(swift build -c release --show-bin-path)
redis_port=${TEST_REDIS_URL##*:}
cached_port=57511
uncached_port=57512
run_dir=$(mktemp -d)
common=(--host 127.0.0.1 --log-level warning --database-url "$TEST_DATABASE_URL" --redis-url "$TEST_REDIS_URL"
        --data-dir "$run_dir/var")
"$bin/store-server" "${common[@]}" --port "$cached_port" 2>"$run_dir/cached.log" &
cached_pid=$!
"$bin/store-server" "${common[@]}" --port "$uncached_port" --enable-cache false 2>"$run_dir/uncached.log" &
uncached_pid=$!
trap 'kill $cached_pid $uncached_pid 2>/dev/null || true; rm -rf "$run_dir"' EXIT
for port in $cached_port $uncached_port; do
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ours() {  # port workload connections pipeline -> "rps p50 p99"
    local out
    out=$("$bin/store-load" --port "$1" --workload "$2" -c "$3" -P "$4" -d "$value_bytes" --seconds "$seconds" --warmup 1)
    echo "$(echo "$out" | awk '/throughput/ {print $2}') $(echo "$out" | field p50) $(echo "$out" | field p99)"
}

echo "store-server $(git rev-parse --short HEAD), $(nproc) cores, ${seconds}s per run, ${value_bytes}-byte values"
echo
echo "| op | connections | pipeline | store-server req/s | p50 ms | p99 ms | redis-benchmark req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for setting in "1 1" "50 1" "50 16"; do
    set -- $setting
    connections=$1 pipeline=$2
    read -r set_rps set_p50 set_p99 <<<"$(ours $cached_port cache-set "$connections" "$pipeline")"
    read -r get_rps get_p50 get_p99 <<<"$(ours $cached_port cache-get "$connections" "$pipeline")"
    # About as many requests as our run made, so both run for a similar time.
    requests=$(awk -v r="$get_rps" -v s="$seconds" 'BEGIN { n = int(r * s); if (n < 50000) n = 50000; print n }')
    theirs=$(redis-benchmark -p "$redis_port" -t set,get -c "$connections" -P "$pipeline" -d "$value_bytes" \
             -n "$requests" --csv 2>/dev/null)
    for op in SET GET; do
        line=$(echo "$theirs" | grep "^\"$op\"")
        redis_rps=$(echo "$line" | awk -F'"' '{print $4}')
        redis_p50=$(echo "$line" | awk -F'"' '{print $10}')
        redis_p99=$(echo "$line" | awk -F'"' '{print $14}')
        if [[ $op == SET ]]; then rps=$set_rps p50=$set_p50 p99=$set_p99; else rps=$get_rps p50=$get_p50 p99=$get_p99; fi
        echo "| $op | $connections | $pipeline | ${rps%.*} | $p50 | $p99 | ${redis_rps%.*} | $redis_p50 | $redis_p99 |"
    done
done
echo
echo "| conversation reads | connections | pipeline | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
for setting in "1 1" "50 1" "50 16"; do
    set -- $setting
    read -r rps p50 p99 <<<"$(ours $cached_port conversation-get "$1" "$2")"
    echo "| warm cache (Redis) | $1 | $2 | ${rps%.*} | $p50 | $p99 |"
    read -r rps p50 p99 <<<"$(ours $uncached_port conversation-get "$1" "$2")"
    echo "| PostgreSQL (ENABLE_CACHE=false) | $1 | $2 | ${rps%.*} | $p50 | $p99 |"
done
