#!/usr/bin/env bash
# The one command that runs the server: installs the Debian packages it needs when missing,
# builds in release mode and runs store-server with any options given (see --help). With no
# DATABASE_URL / REDIS_URL it runs a private PostgreSQL and Redis under ./var.
#
# The build is portable x86-64; the vector index picks AVX2 or AVX-512 distance kernels at run
# time when the CPU has them (VectorIndex's KernelInstructionSet), so no -target-cpu is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=(swift build -c release --product store-server)
"${build[@]}" >&2
exec "$("${build[@]}" --show-bin-path)/store-server" "$@"
