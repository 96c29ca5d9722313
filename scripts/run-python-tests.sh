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
# LangGraph packages, pinned to the versions tested: the checkpointer contract, its conformance
# suite, the Postgres saver (the reference the checkpoint benchmark compares against), and
# pytest-mock for LangGraph's own store tests.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e clients/python pytest pytest-asyncio pytest-mock==3.15.1 \
    langgraph==1.2.24 langgraph-checkpoint==4.3.2 langgraph-checkpoint-conformance==0.0.2 \
    langgraph-checkpoint-postgres==3.2.0 'psycopg[binary]==3.3.9' psycopg-pool==3.3.3 \
    langchain-core==1.8.3

status=0
# -rA lists every test's outcome, and the conformance tests' summary lines ("conformance: 81
# passed, 0 failed of 81") are echoed below so the report is visible in CI output.
"$venv/bin/python" -m pytest clients/python/tests -q -rA "$@" | tee .build/python-tests.log || status=${PIPESTATUS[0]}
if grep -q "^conformance: " .build/python-tests.log; then
    grep -h "^conformance: " .build/python-tests.log | sort -u
    tail -n 1 .build/python-tests.log  # pytest's own closing line stays the last line
fi
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
