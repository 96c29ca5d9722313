"""Fork protection against a real store-server: "two writers advancing the same thread at once
fork its history silently" (brief, langgraph-contract.md). With ``forbid_forks=True`` one of
two savers advancing a thread from the same parent gets ``CheckpointConflictError`` and the
history stays one chain; the default saver still forks on purpose (time travel)."""
from __future__ import annotations

import asyncio
import operator
import uuid
from typing import Annotated, TypedDict

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import END, START, StateGraph

from agent_store.errors import ServerError
from agent_store.langgraph import AgentStoreSaver, CheckpointConflictError

from checkpoint_server import checkpoint_server, requires_server  # noqa: F401 (fixture)

pytestmark = requires_server


def config(thread_id: str, checkpoint_id: str | None = None) -> dict:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def checkpoint(value: str) -> dict:
    document = empty_checkpoint()
    document["channel_values"] = {"messages": [value]}
    document["channel_versions"] = {"messages": str(uuid.uuid4())}
    return document


async def put(saver: AgentStoreSaver, thread_id: str, parent: str | None, value: str) -> str:
    document = checkpoint(value)
    stored = await saver.aput(config(thread_id, parent), document, {"step": 0},
                              dict(document["channel_versions"]))
    return stored["configurable"]["checkpoint_id"]


async def chain(saver: AgentStoreSaver, thread_id: str) -> list[tuple[str, str | None]]:
    """(checkpoint id, parent id) newest first."""
    return [(item.config["configurable"]["checkpoint_id"],
             item.parent_config["configurable"]["checkpoint_id"] if item.parent_config else None)
            async for item in saver.alist(config(thread_id))]


def test_concurrent_writers_from_one_parent_one_wins_and_history_stays_one_chain(
        checkpoint_server):
    async def scenario():
        port = checkpoint_server.port
        async with await AgentStoreSaver.afrom_address("127.0.0.1", port,
                                                       forbid_forks=True) as first, \
                await AgentStoreSaver.afrom_address("127.0.0.1", port,
                                                    forbid_forks=True) as second:
            thread_id = f"forks-{uuid.uuid4()}"
            head = await put(first, thread_id, None, "root")
            for round_number in range(5):
                outcomes = await asyncio.gather(
                    put(first, thread_id, head, f"first-{round_number}"),
                    put(second, thread_id, head, f"second-{round_number}"),
                    return_exceptions=True)
                winners = [o for o in outcomes if isinstance(o, str)]
                losers = [o for o in outcomes if isinstance(o, BaseException)]
                assert len(winners) == 1, outcomes
                assert len(losers) == 1 and isinstance(losers[0], CheckpointConflictError), outcomes
                assert isinstance(losers[0], ServerError) and not losers[0].retryable
                assert "another writer advanced the thread" in str(losers[0])
                head = winners[0]
            history = await chain(first, thread_id)
            assert len(history) == 6
            assert history[0][0] == head
            for (_, parent), (older, _) in zip(history, history[1:]):
                assert parent == older  # every checkpoint continues the one before it
            assert history[-1][1] is None
            # The loser re-reads the thread and continues from the real head.
            latest = await second.aget_tuple(config(thread_id))
            assert latest.config["configurable"]["checkpoint_id"] == head
            await put(second, thread_id, head, "after re-read")

    asyncio.run(scenario())


def test_first_checkpoint_of_a_thread_needs_an_empty_thread(checkpoint_server):
    with AgentStoreSaver.from_address("127.0.0.1", checkpoint_server.port,
                                      forbid_forks=True) as saver:
        thread_id = f"forks-{uuid.uuid4()}"
        document = checkpoint("a")
        saver.put(config(thread_id), document, {}, dict(document["channel_versions"]))
        # A second writer that also thinks the thread is new.
        document = checkpoint("b")
        with pytest.raises(CheckpointConflictError):
            saver.put(config(thread_id), document, {}, dict(document["channel_versions"]))
        assert len(list(saver.list(config(thread_id)))) == 1


def test_default_saver_still_allows_a_time_travel_fork(checkpoint_server):
    async def scenario():
        port = checkpoint_server.port
        async with await AgentStoreSaver.afrom_address("127.0.0.1", port) as saver, \
                await AgentStoreSaver.afrom_address("127.0.0.1", port,
                                                    forbid_forks=True) as guarded:
            thread_id = f"forks-{uuid.uuid4()}"
            root = await put(saver, thread_id, None, "root")
            await put(saver, thread_id, root, "first branch")
            # Forking from an older checkpoint is refused by the guarded saver ...
            with pytest.raises(CheckpointConflictError):
                await put(guarded, thread_id, root, "refused branch")
            # ... and allowed by the default one (LangGraph's time travel).
            fork = await put(saver, thread_id, root, "second branch")
            history = await chain(saver, thread_id)
            assert len(history) == 3
            assert history[0] == (fork, root)

    asyncio.run(scenario())


class State(TypedDict):
    steps: Annotated[list[str], operator.add]


def test_graph_with_a_subgraph_runs_under_forbid_forks(checkpoint_server):
    """A normal run (parent graph, a subgraph in a child namespace, several invocations) never
    trips the protection: LangGraph puts each checkpoint from the one before it."""
    inner = StateGraph(State)
    inner.add_node("think", lambda state: {"steps": ["think"]})
    inner.add_edge(START, "think")
    inner.add_edge("think", END)
    outer = StateGraph(State)
    outer.add_node("agent", inner.compile())
    outer.add_node("answer", lambda state: {"steps": ["answer"]})
    outer.add_edge(START, "agent")
    outer.add_edge("agent", "answer")
    outer.add_edge("answer", END)
    with AgentStoreSaver.from_address("127.0.0.1", checkpoint_server.port,
                                      forbid_forks=True) as saver:
        graph = outer.compile(checkpointer=saver)
        run = {"configurable": {"thread_id": f"forks-graph-{uuid.uuid4()}"}}
        graph.invoke({"steps": ["start"]}, run)
        result = graph.invoke({"steps": ["again"]}, run)
        # (The subgraph hands back its whole state, so the reducer repeats steps; what matters
        # here is that no put of the run was refused.)
        assert result["steps"][-1] == "answer" and "again" in result["steps"]
        history = list(saver.list({"configurable": {**run["configurable"], "checkpoint_ns": ""}}))
        assert len(history) >= 4
        for newer, older in zip(history, history[1:]):
            assert newer.parent_config["configurable"]["checkpoint_id"] == \
                older.config["configurable"]["checkpoint_id"]
