#!/usr/bin/env bash
# Runs the Python client's tests in a virtualenv at .build/pyvenv (created once, then reused).
# The integration tests in clients/python/tests/test_client.py need STORE_SERVER_BIN (for example
# .build/debug/store-server) and are skipped without it; the vector and peer tests always run.
# With STORE_SERVER_BIN it also runs LangGraph's own store tests against our store
# (clients/python/tests/langgraph_store/run.py); LANGGRAPH_STORE_SUITE=0 leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/pyvenv
if [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p .build
    python3 -m venv "$venv"
fi
# LangGraph packages, pinned to the versions tested: the store tests import pytest-mock.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e clients/python pytest pytest-asyncio pytest-mock==3.15.1 \
    langgraph==1.2.24 langgraph-checkpoint==4.3.2 langchain-core==1.8.3

status=0
"$venv/bin/python" -m pytest clients/python/tests -q "$@" || status=$?
if [[ $status -eq 5 ]]; then
    # pytest's exit code 5: no tests collected. A suite that silently vanished is a failure.
    echo "run-python-tests: no tests were collected" >&2
fi

if [[ -n "${STORE_SERVER_BIN:-}" && "${LANGGRAPH_STORE_SUITE:-1}" != 0 ]]; then
    suite_status=0
    "$venv/bin/python" clients/python/tests/langgraph_store/run.py -q || suite_status=$?
    if [[ $status -eq 0 ]]; then
        status=$suite_status
    fi
else
    echo "run-python-tests: LangGraph store suite skipped (needs STORE_SERVER_BIN)" >&2
fi
exit "$status"
