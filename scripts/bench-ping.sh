#!/usr/bin/env bash
# Ping throughput and latency of store-server next to redis-benchmark -t ping against a private
# redis-server, at the same connection counts and pipeline depths, in one run.
# Usage: scripts/bench-ping.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
scripts/install-deps.sh
swift build -c release --product store-server >/dev/null
swift build -c release --product store-load >/dev/null
bin=$(swift build -c release --show-bin-path)
store_port=57411
redis_port=57379
run_dir=$(mktemp -d)
chmod 755 "$run_dir"
# Managed PostgreSQL and Redis under the run directory (PING needs neither, but the server starts them).
"$bin/store-server" --port "$store_port" --log-level warning --max-connections 4096 --data-dir "$run_dir/store" \
    --managed-postgres-port 57459 --managed-redis-port 57409 2>"$run_dir/server.log" &
server_pid=$!
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log" --dir "$run_dir"
trap 'kill -TERM $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1; rm -rf "$run_dir"' EXIT
for _ in $(seq 100); do "$bin/store-load" --port "$store_port" -c 1 -P 1 --seconds 0.1 --warmup 0 >/dev/null 2>&1 && break; sleep 0.2; done
echo "| connections | pipeline | store-server req/s | p50 ms | p99 ms | redis-benchmark req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|---|"
for setting in "1 1" "50 1" "50 16" "200 16"; do
    set -- $setting
    connections=$1 pipeline=$2
    ours=$("$bin/store-load" --port "$store_port" -c "$connections" -P "$pipeline" --seconds "$seconds" --warmup 1)
    our_rps=$(echo "$ours" | awk '/throughput/ {print $2}')
    our_p50=$(echo "$ours" | sed -n 's/.*p50=\([0-9.]*\).*/\1/p')
    our_p99=$(echo "$ours" | sed -n 's/.*p99=\([0-9.]*\).*/\1/p')
    # Enough requests for roughly the same duration as our run.
    requests=$(awk -v r="$our_rps" -v s="$seconds" 'BEGIN { n = int(r * s); if (n < 100000) n = 100000; print n }')
    theirs=$(redis-benchmark -p "$redis_port" -t ping_mbulk -c "$connections" -P "$pipeline" -n "$requests" --csv 2>/dev/null | tail -1)
    redis_rps=$(echo "$theirs" | awk -F'"' '{print $4}')
    redis_p50=$(echo "$theirs" | awk -F'"' '{print $10}')
    redis_p99=$(echo "$theirs" | awk -F'"' '{print $14}')
    echo "| $connections | $pipeline | ${our_rps%.*} | $our_p50 | $our_p99 | ${redis_rps%.*} | $redis_p50 | $redis_p99 |"
done
