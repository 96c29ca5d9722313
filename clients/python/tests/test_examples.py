"""The Python agent example (examples/python/multi_agent.py) run as a user runs it, against a real
store-server (env STORE_SERVER_BIN): the first run stops at the human-approval interrupt, the
server restarts, and the second run resumes that thread from its checkpoint and finishes."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from agent_store import StoreClient
from agent_store.conversations import Conversations

from server_process import SERVER_BIN, ServerProcess

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run integration tests")

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "multi_agent.py"
#: A debug server loads the 1,000 package vectors in about half a minute on a loaded machine.
RUN_TIMEOUT_S = 300
QUERY = "tool to check the quality of a DNS zone"
EXPECTED_PACKAGE = "libzonemaster-perl"


def run_example(port: int, *arguments: str) -> str:
    completed = subprocess.run([sys.executable, str(EXAMPLE), "--port", str(port), *arguments],
                               capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    return completed.stdout


def top_packages(output: str) -> list[str]:
    return re.findall(r"^  \d+\. (\S+) \(score", output, re.MULTILINE)


def test_example_resumes_after_server_restart(tmp_path):
    server = ServerProcess(tmp_path / "server.log")
    server.start()
    try:
        # --new: a thread left waiting by an earlier run against this database is not ours.
        first = run_example(server.port, "--new", "--query", QUERY)
        assert "interrupted: waiting for human approval" in first, first
        thread_id = re.search(r"^thread: (\S+)$", first, re.MULTILINE).group(1)
        assert EXPECTED_PACKAGE in top_packages(first)[:3], first
        assert "finished thread" not in first

        server.stop()
        server.start()

        second = run_example(server.port)
        assert f"resuming thread {thread_id} from checkpoint" in second, second
        assert f"finished thread {thread_id}: published" in second, second
        assert f"best match is {EXPECTED_PACKAGE}" in second, second
        assert "already loaded" in second  # the package memories were loaded once

        with StoreClient.connect("127.0.0.1", server.port) as client:
            executions = Conversations(client).executions(thread_id)
        agents = [execution.agent_name for execution in executions]
        assert agents == ["supervisor", "researcher", "supervisor", "writer", "supervisor",
                          "human", "supervisor", "publisher", "supervisor"]
        assert all(execution.status == "completed" for execution in executions)
        assert all(execution.duration_ms is not None for execution in executions)
        researcher = executions[1]
        assert researcher.tokens_used > 0
        assert EXPECTED_PACKAGE == researcher.output[0]

        # Nothing waits any more: a third plain run starts a fresh thread.
        third = run_example(server.port)
        assert "new thread" in third and "interrupted" in third
    finally:
        server.stop()


def test_example_resumes_after_a_crash(tmp_path):
    server = ServerProcess(tmp_path / "server.log")
    server.start()
    try:
        completed = subprocess.run([sys.executable, str(EXAMPLE), "--port", str(server.port), "--new",
                                    "--crash-after", "researcher"],
                                   capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        assert completed.returncode == 3, completed.stdout + completed.stderr
        assert "crashing on purpose before supervisor" in completed.stdout
        thread_id = re.search(r"^new thread (\S+) ", completed.stdout, re.MULTILINE).group(1)

        second = run_example(server.port)
        assert f"resuming thread {thread_id} from checkpoint" in second and "(next: supervisor)" in second, second
        assert "interrupted: waiting for human approval" in second
        third = run_example(server.port)
        assert f"finished thread {thread_id}: published" in third, third

        with StoreClient.connect("127.0.0.1", server.port) as client:
            agents = [execution.agent_name for execution in Conversations(client).executions(thread_id)]
        # The researcher finished before the crash and its step was checkpointed: it ran once.
        assert agents.count("researcher") == 1 and agents.count("publisher") == 1, agents
    finally:
        server.stop()
