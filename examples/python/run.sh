#!/usr/bin/env bash
# Runs the Python multi-agent example in its own virtualenv (.build/examples-venv, created once
# with the pinned packages of examples/python/requirements.txt and the client from
# clients/python). Arguments go to multi_agent.py (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.build/examples-venv
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import langgraph, agent_store" 2>/dev/null; then
    echo "setting up $venv (once)..." >&2
    mkdir -p .build
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -e clients/python -r examples/python/requirements.txt
fi
exec "$venv/bin/python" examples/python/multi_agent.py "$@"
