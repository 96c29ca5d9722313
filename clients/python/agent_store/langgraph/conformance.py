"""Runs LangGraph's checkpointer conformance suite (``langgraph-checkpoint-conformance``, an
optional dependency) against ``AgentStoreSaver`` on a running store-server:

    python -m agent_store.langgraph.conformance --host 127.0.0.1 --port 7070 [--token T]

Prints the suite's report and exits 0 only when every test of every capability passed.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable

from .saver import AgentStoreSaver

#: Base (put, put_writes, get_tuple, list, delete_thread) plus extended (delete_for_runs,
#: copy_thread, prune) tests in langgraph-checkpoint-conformance 0.0.2.
CONFORMANCE_TESTS_0_0_2 = 58 + 23


async def run_conformance(saver_factory: Callable[[], AsyncIterator[AgentStoreSaver]], *,
                          name: str = "AgentStoreSaver", verbose: bool = False):  # type: ignore[no-untyped-def]
    """Registers ``saver_factory`` (an async generator yielding a fresh saver) and returns the
    suite's ``CapabilityReport``."""
    from langgraph.checkpoint.conformance import checkpointer_test, validate
    from langgraph.checkpoint.conformance.report import ProgressCallbacks

    registered = checkpointer_test(name=name)(saver_factory)
    progress = ProgressCallbacks.verbose() if verbose else ProgressCallbacks.quiet()
    return await validate(registered, progress=progress)


def summary(report) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(tests passed, tests failed) over every capability."""
    return (sum(result.tests_passed for result in report.results.values()),
            sum(result.tests_failed for result in report.results.values()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token")
    parser.add_argument("--verbose", action="store_true")
    arguments = parser.parse_args()

    async def factory() -> AsyncIterator[AgentStoreSaver]:
        async with await AgentStoreSaver.afrom_address(arguments.host, arguments.port,
                                                       arguments.token) as saver:
            yield saver

    report = asyncio.run(run_conformance(factory, verbose=arguments.verbose))
    report.print_report()
    passed, failed = summary(report)
    print(f"conformance: {passed} passed, {failed} failed")
    for name, result in report.results.items():
        for failure in result.failures:
            print(f"  {name}: {failure}")
    return 0 if report.passed_all() and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
