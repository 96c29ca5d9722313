#!/usr/bin/env bash
# Runs the Python client's tests in a virtualenv at .build/pyvenv (created once, then reused).
# The integration tests in clients/python/tests/test_client.py need STORE_SERVER_BIN (for example
# .build/debug/store-server) and are skipped without it; the vector and peer tests always run.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/pyvenv
if [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p .build
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e clients/python pytest pytest-asyncio

status=0
"$venv/bin/python" -m pytest clients/python/tests -q "$@" || status=$?
if [[ $status -eq 5 ]]; then
    # pytest's exit code 5: no tests collected. A suite that silently vanished is a failure.
    echo "run-python-tests: no tests were collected" >&2
fi
exit "$status"
