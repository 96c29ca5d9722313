#!/usr/bin/env bash
# The one command that runs the server: installs the Debian packages it needs when missing,
# builds in release mode and runs store-server with any options given (see --help). With no
# DATABASE_URL / REDIS_URL it runs a private PostgreSQL and Redis under ./var.
#
# The binary is built for this machine's CPU (-target-cpu native): it runs where it was built,
# and the vector index's distance kernels gain about 1.35x with AVX2/AVX-512 (BENCHMARKS.md).
# Set STORE_PORTABLE_BUILD=1 for a binary that runs on any x86-64.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=(swift build -c release --product store-server)
if [ "${STORE_PORTABLE_BUILD:-0}" != "1" ] && [ "$(uname -m)" = "x86_64" ]; then
    build+=(-Xswiftc -target-cpu -Xswiftc native --scratch-path .build/native)
fi
"${build[@]}" >&2
exec "$("${build[@]}" --show-bin-path)/store-server" "$@"
