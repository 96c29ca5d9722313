#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster and Redis server on private ports, runs the given command
# with TEST_DATABASE_URL and TEST_REDIS_URL pointing at them, then stops both.
# Test-only settings (fsync off) make the suite fast; never use them for real data.
set -euo pipefail
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
run_dir=$(mktemp -d /tmp/agent-store-test.XXXXXX)
chmod 755 "$run_dir"
pg_port=${TEST_PG_PORT:-55432}
redis_port=${TEST_REDIS_PORT:-56379}
as_postgres=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$run_dir"
    as_postgres=(runuser -u postgres --)
fi

stop_backends() {
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -m immediate stop >/dev/null 2>&1 || true
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$run_dir"
}
trap stop_backends EXIT

"${as_postgres[@]}" "$pg_bin/initdb" -D "$run_dir/pg" -U postgres -A trust >/dev/null
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$run_dir/pg" -l "$run_dir/pg.log" -w \
    -o "-p $pg_port -k $run_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" \
    start >/dev/null
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$run_dir/redis.log" --dir "$run_dir"
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/postgres"
export TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export TEST_PG_BIN="$pg_bin"
echo "test backends: $TEST_DATABASE_URL $TEST_REDIS_URL" >&2
"$@"
