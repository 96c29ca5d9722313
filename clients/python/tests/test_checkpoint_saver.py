"""``AgentStoreSaver`` logic against the in-memory fake (tests/checkpoint_fake.py): what goes on
the wire for put and put_writes, versions, and the sync/async bridging. The real-server
behaviour is in test_checkpoint_conformance.py, test_checkpoint_failures.py and
test_checkpoint_graph.py."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from agent_store.checkpoints import AsyncCheckpointClient
from agent_store.langgraph import AgentStoreSaver

from checkpoint_fake import FakeCheckpointServer


def saver_on_fake() -> tuple[AgentStoreSaver, FakeCheckpointServer]:
    fake = FakeCheckpointServer()
    return AgentStoreSaver(AsyncCheckpointClient(fake)), fake  # type: ignore[arg-type]


def test_put_sends_only_new_versions_as_blobs_and_keeps_primitives_inline():
    async def scenario():
        saver, fake = saver_on_fake()
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": ["a", "b"], "count": 3, "flag": None,
                                        "old": {"k": 1}}
        checkpoint["channel_versions"] = {"messages": "2", "count": "2", "flag": "1", "old": "1"}
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "p",
                                   "user_id": "u-1", "__private": "x"},
                  "metadata": {"run_id": "r-1"}}
        stored = await saver.aput(config, checkpoint,
                                  {"source": "loop", "step": 1, "writes": {"n": 1}},
                                  {"messages": "2", "count": "2"})
        assert stored == {"configurable": {"thread_id": "t", "checkpoint_ns": "",
                                           "checkpoint_id": checkpoint["id"]}}
        # Only "messages" is a blob: "count" is a primitive (inline), "old" is not new.
        assert list(fake.blobs) == [("t", "", "messages", "2")]
        row = fake.checkpoints[("t", "", checkpoint["id"])]
        assert row["parent"] == "p"
        assert sorted(row["versions"]) == [("count", "2"), ("flag", "1"), ("messages", "2"),
                                           ("old", "1")]
        document = saver.serde.loads_typed((row["type"], row["document"]))
        assert document["channel_values"] == {"count": 3, "flag": None}
        metadata = json.loads(row["metadata"])
        # As the Postgres saver: "writes" dropped, config keys merged, dunder keys left out.
        assert metadata == {"source": "loop", "step": 1, "run_id": "r-1", "user_id": "u-1"}
        loaded = await saver.aget_tuple(stored)
        assert loaded.checkpoint["channel_values"] == {"messages": ["a", "b"], "count": 3,
                                                       "flag": None}
        assert loaded.parent_config == {"configurable": {"thread_id": "t", "checkpoint_ns": "",
                                                         "checkpoint_id": "p"}}
    asyncio.run(scenario())


def test_put_writes_uses_negative_indexes_for_special_channels():
    async def scenario():
        saver, fake = saver_on_fake()
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": "n", "checkpoint_id": "c"}}
        await saver.aput_writes(config, [("a", 1), ("__interrupt__", "stop"), ("b", 2)], "task",
                                "path")
        assert sorted(key[4] for key in fake.writes) == [-3, 0, 2]
        # A batch of only special writes replaces; a mixed batch keeps what is there.
        await saver.aput_writes(config, [("__interrupt__", "again")], "task")
        await saver.aput_writes(config, [("a", 99)], "task")
        value = fake.writes[("t", "n", "c", "task", -3)]
        assert saver.serde.loads_typed((value[2], value[3])) == "again"
        value = fake.writes[("t", "n", "c", "task", 0)]
        assert saver.serde.loads_typed((value[2], value[3])) == 1
    asyncio.run(scenario())


def test_next_version_is_a_padded_counter_that_sorts():
    async def make():
        return saver_on_fake()[0]
    saver = asyncio.run(make())
    first = saver.get_next_version(None, None)
    second = saver.get_next_version(first, None)
    assert first.startswith("0" * 31 + "1.") and second.startswith("0" * 31 + "2.")
    assert first < second < saver.get_next_version(second, None)
    assert saver.get_next_version(7, None).startswith("0" * 31 + "8.")


def test_sync_methods_run_on_the_saver_loop_from_other_threads():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        fake = FakeCheckpointServer()
        saver = AgentStoreSaver(AsyncCheckpointClient(fake), loop=loop)  # type: ignore[arg-type]
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"x": [1]}
        checkpoint["channel_versions"] = {"x": "1"}
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        stored = saver.put(config, checkpoint, {"step": 0}, {"x": "1"})
        saver.put_writes(stored, [("x", 2)], "task")
        assert saver.get_tuple(config).pending_writes == [("task", "x", 2)]
        assert [t.checkpoint["id"] for t in saver.list(config)] == [checkpoint["id"]]
        saver.copy_thread("t", "u")
        saver.prune(["u"], strategy="delete")
        saver.delete_for_runs([])
        saver.delete_thread("t")
        assert saver.get_tuple(config) is None

        # From another loop, the async methods hop to the saver's loop.
        async def elsewhere():
            await saver.aput(config, checkpoint, {"step": 0}, {"x": "1"})
            return [t async for t in saver.alist(None)]
        assert len(asyncio.run(elsewhere())) == 1

        # On the saver's own loop a blocking call would deadlock: refused.
        async def on_loop():
            with pytest.raises(asyncio.InvalidStateError):
                saver.get_tuple(config)
        asyncio.run_coroutine_threadsafe(on_loop(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_prune_and_delete_for_runs_check_their_arguments():
    async def scenario():
        saver, fake = saver_on_fake()
        with pytest.raises(TypeError):
            await saver.aprune("thread")
        with pytest.raises(ValueError):
            await saver.aprune(["thread"], strategy="keep_some")
        with pytest.raises(TypeError):
            await saver.adelete_for_runs("run")
        await saver.aprune([])
        await saver.adelete_for_runs([])
        assert fake.requests == []  # nothing to do: no round trip
    asyncio.run(scenario())
