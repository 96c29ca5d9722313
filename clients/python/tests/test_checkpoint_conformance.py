"""LangGraph's checkpointer conformance suite (``langgraph-checkpoint-conformance``) run against
``AgentStoreSaver``: 58 base tests (put, put_writes, get_tuple, list, delete_thread) and 23
extended ones (delete_for_runs, copy_thread, prune). Against a real store-server, and against
the in-memory fake of tests/checkpoint_fake.py so the saver's own logic is checked on every run.
The same runner works on any server: ``python -m agent_store.langgraph.conformance --port P``."""
from __future__ import annotations

import asyncio

from agent_store.checkpoints import AsyncCheckpointClient
from agent_store.langgraph import AgentStoreSaver
from agent_store.langgraph.conformance import CONFORMANCE_TESTS_0_0_2, run_conformance, summary

from checkpoint_fake import FakeCheckpointServer
from checkpoint_server import checkpoint_server, requires_server  # noqa: F401 (fixture)


def _check(report) -> None:
    report.print_report()
    counts = {name: (result.tests_passed, result.tests_failed, result.failures)
              for name, result in report.results.items()}
    passed, failed = summary(report)
    print(f"conformance: {passed} passed, {failed} failed of {CONFORMANCE_TESTS_0_0_2}")
    assert report.passed_all(), counts
    assert all(result.detected for result in report.results.values()), counts
    assert (passed, failed) == (CONFORMANCE_TESTS_0_0_2, 0), counts


@requires_server
def test_conformance_against_store_server(checkpoint_server):
    async def factory():
        async with await AgentStoreSaver.afrom_address("127.0.0.1",
                                                       checkpoint_server.port) as saver:
            yield saver

    _check(asyncio.run(asyncio.wait_for(run_conformance(factory, verbose=True), 600)))


def test_conformance_against_fake():
    async def factory():
        yield AgentStoreSaver(AsyncCheckpointClient(FakeCheckpointServer()))  # type: ignore[arg-type]

    _check(asyncio.run(run_conformance(factory, name="AgentStoreSaver(fake)")))
