#!/usr/bin/env bash
# Runs the Swift and Python suites; expects TEST_DATABASE_URL and TEST_REDIS_URL (with-backends.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
swift test --parallel --num-workers 2 2>&1 | tee .build/swift-test.log | grep -vE 'Test Case .* (started|passed)'
