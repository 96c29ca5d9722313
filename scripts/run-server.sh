#!/usr/bin/env bash
# The one command that runs the server: installs the Debian packages it needs when missing,
# builds in release mode and runs store-server with any options given (see --help). With no
# DATABASE_URL / REDIS_URL it runs a private PostgreSQL and Redis under ./var.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product store-server >&2
exec "$(swift build -c release --show-bin-path)/store-server" "$@"
