"""LangGraph's checkpointer conformance suite (``langgraph-checkpoint-conformance``) run against
``AgentStoreSaver``: 58 base tests (put, put_writes, get_tuple, list, delete_thread) and 23
extended ones (delete_for_runs, copy_thread, prune). Against a real store-server, and against
the in-memory fake of tests/checkpoint_fake.py so the saver's own logic is checked on every run."""
from __future__ import annotations

import asyncio

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from agent_store.checkpoints import AsyncCheckpointClient
from agent_store.langgraph import AgentStoreSaver

from checkpoint_fake import FakeCheckpointServer
from checkpoint_server import checkpoint_server, requires_server  # noqa: F401 (fixture)

#: Base plus extended tests of langgraph-checkpoint-conformance 0.0.2.
CONFORMANCE_TESTS = 58 + 23


def _check(report) -> None:
    report.print_report()
    counts = {name: (result.tests_passed, result.tests_failed, result.failures)
              for name, result in report.results.items()}
    print("conformance counts (passed, failed, failures):", counts)
    passed = sum(result.tests_passed for result in report.results.values())
    failed = sum(result.tests_failed for result in report.results.values())
    print(f"conformance: {passed} passed, {failed} failed of {CONFORMANCE_TESTS}")
    assert report.passed_all(), counts
    assert all(result.detected for result in report.results.values()), counts
    assert passed == CONFORMANCE_TESTS, counts


@requires_server
def test_conformance_against_store_server(checkpoint_server):
    @checkpointer_test(name="AgentStoreSaver")
    async def factory():
        async with await AgentStoreSaver.afrom_address("127.0.0.1",
                                                       checkpoint_server.port) as saver:
            yield saver

    report = asyncio.run(asyncio.wait_for(validate(factory, progress=ProgressCallbacks.verbose()),
                                          600))
    _check(report)


def test_conformance_against_fake():
    @checkpointer_test(name="AgentStoreSaver(fake)")
    async def factory():
        yield AgentStoreSaver(AsyncCheckpointClient(FakeCheckpointServer()))  # type: ignore[arg-type]

    _check(asyncio.run(validate(factory)))
