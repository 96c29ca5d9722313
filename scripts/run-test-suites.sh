#!/usr/bin/env bash
# Runs the Swift and Python suites; expects TEST_DATABASE_URL and TEST_REDIS_URL (with-backends.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/swift-test.log | grep -vE 'Test Case .* (started|passed)'
STORE_SERVER_BIN="$PWD/.build/debug/store-server" scripts/run-python-tests.sh
