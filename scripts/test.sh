#!/usr/bin/env bash
# The one command that runs every test: Debian packages, a release build (some compiler
# problems only show there), the Swift tests and the Python tests, against real PostgreSQL and
# Redis servers that this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release
# The SIMD distance kernels exist only in optimized code (debug builds take plain loops), so the
# index's own tests run once more in release, against every kernel set this CPU has.
swift test -c release --filter VectorIndexTests 2>&1 | grep -vE 'Test Case .* (started|passed)'
scripts/with-backends.sh scripts/run-test-suites.sh
