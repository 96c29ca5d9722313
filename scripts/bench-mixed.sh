#!/usr/bin/env bash
# The mixed agent workload (checkpoint put/get, cache get/set, memory search) against store-server
# in managed local mode (its own PostgreSQL and Redis under a temporary data directory), at 1, 16
# and 64 concurrent clients. Usage: scripts/bench-mixed.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
scripts/install-deps.sh
swift build -c release --product store-server >/dev/null
swift build -c release --product store-load >/dev/null
bin=$(swift build -c release --show-bin-path)
data_dir=$(mktemp -d /tmp/agent-store-bench.XXXXXX)
chmod 755 "$data_dir"
port=57420
"$bin/store-server" --port "$port" --data-dir "$data_dir" --managed-postgres-port 57439 --managed-redis-port 57389 \
    --log-level warning 2>"$data_dir/server.log" &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; rm -rf "$data_dir"' EXIT
for _ in $(seq 100); do "$bin/store-load" --port "$port" -c 1 -P 1 --seconds 0.1 --warmup 0 >/dev/null 2>&1 && break; sleep 0.2; done
for clients in 1 16 64; do
    "$bin/store-load" --workload mixed --port "$port" -c "$clients" --seconds "$seconds" --warmup 2
    echo
done
