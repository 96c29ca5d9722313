"""``AgentStoreSaver``: a LangGraph checkpointer that keeps its checkpoints in agent-store.

It follows ``langgraph-checkpoint-postgres``: the checkpoint document keeps primitive channel
values inline and every other channel value is a blob stored once per (thread, namespace,
channel, version), sent only when the channel is in ``new_versions``; special writes use
``WRITES_IDX_MAP``'s negative indexes; metadata is JSON (``get_serializable_checkpoint_metadata``)
so ``list(filter=...)`` is JSON containment on the server.

Thread and task safety: the saver holds no lock. Its ``AsyncCheckpointClient`` multiplexes
concurrent calls on one connection (each response is matched by request id), so ``put`` and
``put_writes`` from LangGraph's background workers run concurrently. All I/O happens on one
event loop (the caller's for ``afrom_address``, a private background thread's for
``from_address``); methods called from another thread or loop are handed to it.
"""
from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP, BaseCheckpointSaver, ChannelVersions, Checkpoint, CheckpointMetadata,
    CheckpointTuple, get_checkpoint_id, get_serializable_checkpoint_metadata, writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..aio import AsyncStoreClient
from ..checkpoints import (
    AsyncCheckpointClient, Blob, CheckpointConflictError, CheckpointRecord, PruneStrategy, Write,
)
from ..client import StoreClient

try:  # langgraph-checkpoint 4.x: a DeltaChannel snapshot is a blob with an inline marker.
    from langgraph.checkpoint.serde.types import _DeltaSnapshot
except ImportError:  # older versions have no delta channels
    class _DeltaSnapshot:  # type: ignore[no-redef]
        pass

T = TypeVar("T")

__all__ = ["AgentStoreSaver", "CheckpointConflictError"]

#: What ``prune`` accepts, as in ``langgraph-checkpoint-postgres``.
PRUNE_STRATEGIES = {"keep_latest": PruneStrategy.KEEP_LATEST, "delete": PruneStrategy.DELETE}
#: Blob type of a channel listed in the versions without a value (as the Postgres saver).
_EMPTY_TYPE = "empty"


class AgentStoreSaver(BaseCheckpointSaver[str]):
    """LangGraph checkpointer over agent-store.

    Sync use: ``with AgentStoreSaver.from_address(host, port) as saver: graph.compile(
    checkpointer=saver)``. Async use: ``async with await AgentStoreSaver.afrom_address(host,
    port) as saver: ...``. Or wrap an existing ``AsyncCheckpointClient`` whose event loop is
    ``loop`` (default: the running loop).

    ``forbid_forks=True``: every put names its parent (the incoming config's checkpoint id, ""
    for a thread's first checkpoint) as the thread's expected newest checkpoint, so of two
    writers advancing one thread from the same parent one fails with
    ``CheckpointConflictError`` instead of silently forking the history. Off by default:
    LangGraph's time travel (invoking from an older checkpoint) forks on purpose.
    """

    def __init__(self, client: AsyncCheckpointClient, *,
                 loop: asyncio.AbstractEventLoop | None = None,
                 serde: SerializerProtocol | None = None, forbid_forks: bool = False) -> None:
        super().__init__(serde=serde)
        self.client = client
        self.forbid_forks = forbid_forks
        self.loop = loop if loop is not None else asyncio.get_running_loop()
        self._owned_sync: StoreClient | None = None  # closed by close()
        self._owned_async: AsyncStoreClient | None = None  # closed by aclose()

    # Construction and closing.

    @classmethod
    def from_address(cls, host: str, port: int, token: str | bytes | None = None, *,
                     timeout: float = 30.0, serde: SerializerProtocol | None = None,
                     forbid_forks: bool = False) -> "AgentStoreSaver":
        """A saver with its own connection on a private event-loop thread; usable from sync
        code and from any event loop. Close it (or use it as a context manager)."""
        store = StoreClient.connect(host, port, token, timeout)
        try:
            saver = cls(AsyncCheckpointClient(store._async), loop=store._loop, serde=serde,
                        forbid_forks=forbid_forks)
        except BaseException:
            store.close()
            raise
        saver._owned_sync = store
        return saver

    @classmethod
    async def afrom_address(cls, host: str, port: int, token: str | bytes | None = None, *,
                            timeout: float = 30.0, serde: SerializerProtocol | None = None,
                            forbid_forks: bool = False) -> "AgentStoreSaver":
        """A saver whose connection lives on the running event loop (no extra thread). Sync
        methods work from other threads only, as with ``AsyncPostgresSaver``."""
        store = await AsyncStoreClient.connect(host, port, token, timeout)
        saver = cls(AsyncCheckpointClient(store), serde=serde, forbid_forks=forbid_forks)
        saver._owned_async = store
        return saver

    def setup(self) -> None:
        """Nothing to do: the store-server creates and migrates its schema when it starts. Here
        so code written for the Postgres savers (which must call ``setup()``) runs unchanged."""

    async def asetup(self) -> None:
        """See ``setup``."""

    def close(self) -> None:
        if self._owned_sync is not None:
            store, self._owned_sync = self._owned_sync, None
            store.close()
        if self._owned_async is not None:
            store_async, self._owned_async = self._owned_async, None
            self._blocking(store_async.close())

    async def aclose(self) -> None:
        if self._owned_async is not None:
            store, self._owned_async = self._owned_async, None
            await self._on_loop(store.close())
        if self._owned_sync is not None:
            store_sync, self._owned_sync = self._owned_sync, None
            await asyncio.to_thread(store_sync.close)

    def __enter__(self) -> "AgentStoreSaver":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> "AgentStoreSaver":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # Running on the client's loop.

    async def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if asyncio.get_running_loop() is self.loop:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def _blocking(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None  # no loop in this thread: blocking is fine
        if running is self.loop:
            coroutine.close()
            raise asyncio.InvalidStateError(
                "synchronous AgentStoreSaver calls would block the event loop they need; from "
                "this loop use the async methods (aget_tuple, aput, ..., graph.ainvoke)")
        if self.loop.is_closed():
            coroutine.close()
            raise RuntimeError("the saver's event loop is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    # Converting between LangGraph's types and the wire records.

    def _put_arguments(self, config: RunnableConfig, checkpoint: Checkpoint,
                       metadata: CheckpointMetadata, new_versions: ChannelVersions
                       ) -> tuple[tuple[Any, ...], RunnableConfig]:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        checkpoint_ns = configurable.get("checkpoint_ns") or ""
        parent_id = configurable.get("checkpoint_id")
        inline: dict[str, Any] = {}
        blob_values: dict[str, Any] = {}
        for channel, value in checkpoint["channel_values"].items():
            if isinstance(value, _DeltaSnapshot):
                blob_values[channel] = value
                inline[channel] = True  # the marker; the blob replaces it when read
            elif value is None or isinstance(value, (str, int, float, bool)):
                inline[channel] = value
            else:
                blob_values[channel] = value
        document = {**checkpoint, "channel_values": inline}
        checkpoint_type, checkpoint_bytes = self.serde.dumps_typed(document)
        blobs = [Blob(channel, str(version), *self.serde.dumps_typed(blob_values[channel]))
                 for channel, version in new_versions.items() if channel in blob_values]
        versions = [(channel, str(version))
                    for channel, version in checkpoint["channel_versions"].items()]
        metadata_json = json.dumps(get_serializable_checkpoint_metadata(config, metadata),
                                   ensure_ascii=False, default=str)
        arguments = (thread_id, checkpoint_ns, checkpoint["id"], parent_id, checkpoint_type,
                     checkpoint_bytes, metadata_json, versions, blobs)
        next_config: RunnableConfig = {"configurable": {
            "thread_id": thread_id, "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint["id"]}}
        return arguments, next_config

    def _writes(self, writes: Sequence[tuple[str, Any]]) -> list[Write]:
        return [Write(WRITES_IDX_MAP.get(channel, idx), channel, *self.serde.dumps_typed(value))
                for idx, (channel, value) in enumerate(writes)]

    def _tuple(self, record: CheckpointRecord) -> CheckpointTuple:
        document = self.serde.loads_typed((record.checkpoint_type, record.checkpoint))
        channel_values = dict(document.get("channel_values") or {})
        for blob in record.channel_values:
            if blob.type != _EMPTY_TYPE:
                channel_values[blob.channel] = self.serde.loads_typed((blob.type, blob.value))
        checkpoint = {**document, "channel_values": channel_values}
        writes = sorted(record.pending_writes,
                        key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx))
        pending = [(w.task_id, w.channel, self.serde.loads_typed((w.type, w.value)))
                   for w in writes]
        parent_config = None
        if record.parent_checkpoint_id:
            parent_config = {"configurable": {
                "thread_id": record.thread_id, "checkpoint_ns": record.checkpoint_ns,
                "checkpoint_id": record.parent_checkpoint_id}}
        config = {"configurable": {
            "thread_id": record.thread_id, "checkpoint_ns": record.checkpoint_ns,
            "checkpoint_id": record.checkpoint_id}}
        return CheckpointTuple(config, checkpoint, json.loads(record.metadata), parent_config,
                               pending)

    # Async API (what the conformance suite and graph.ainvoke use).

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        record = await self._on_loop(self.client.get(
            str(configurable["thread_id"]), configurable.get("checkpoint_ns") or "",
            get_checkpoint_id(config)))
        return None if record is None else self._tuple(record)

    async def alist(self, config: RunnableConfig | None, *,
                    filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        records = self._records(config, filter, before, limit)
        if asyncio.get_running_loop() is self.loop:
            async for record in records:
                yield self._tuple(record)
            return
        iterator = records.__aiter__()
        try:
            while True:
                try:
                    record = await self._on_loop(iterator.__anext__())
                except StopAsyncIteration:
                    return
                yield self._tuple(record)
        finally:
            await self._on_loop(iterator.aclose())

    def _records(self, config: RunnableConfig | None, filter: dict[str, Any] | None,
                 before: RunnableConfig | None, limit: int | None
                 ) -> AsyncIterator[CheckpointRecord]:
        thread_id = checkpoint_ns = checkpoint_id = None
        if config:
            configurable = config.get("configurable", {})
            if configurable.get("thread_id") is not None:
                thread_id = str(configurable["thread_id"])
            checkpoint_ns = configurable.get("checkpoint_ns")
            checkpoint_id = get_checkpoint_id(config)
        before_id = get_checkpoint_id(before) if before is not None else None
        filter_json = json.dumps(filter, ensure_ascii=False, default=str) if filter else None
        return self.client.list(thread_id, checkpoint_ns, checkpoint_id=checkpoint_id,
                                filter_json=filter_json, before=before_id,
                                limit=None if limit is None else int(limit))

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions
                   ) -> RunnableConfig:
        arguments, next_config = self._put_arguments(config, checkpoint, metadata, new_versions)
        # With forbid_forks the parent must still be the newest checkpoint; otherwise the
        # client raises CheckpointConflictError and nothing is written.
        expected_latest = (_parent_id(config) or "") if self.forbid_forks else None
        await self._on_loop(self.client.put(*arguments, expected_latest=expected_latest))
        return next_config

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        configurable = config["configurable"]
        await self._on_loop(self.client.put_writes(
            str(configurable["thread_id"]), configurable.get("checkpoint_ns") or "",
            configurable["checkpoint_id"], task_id, task_path, self._writes(writes)))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._on_loop(self.client.delete_thread(str(thread_id)))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        run_ids = _id_list(run_ids, "run_ids")
        if run_ids:
            await self._on_loop(self.client.delete_for_runs(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._on_loop(self.client.copy_thread(str(source_thread_id),
                                                    str(target_thread_id)))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        wire_strategy = _strategy(strategy)
        thread_ids = _id_list(thread_ids, "thread_ids")
        if thread_ids:
            await self._on_loop(self.client.prune(thread_ids, wire_strategy))

    # Sync API (graph.invoke runs these from worker threads).

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._blocking(self.aget_tuple(config))

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
             before: RunnableConfig | None = None,
             limit: int | None = None) -> Iterator[CheckpointTuple]:
        iterator = self._records(config, filter, before, limit).__aiter__()
        try:
            while True:
                try:
                    record = self._blocking(iterator.__anext__())
                except StopAsyncIteration:
                    return
                yield self._tuple(record)
        finally:
            if not self.loop.is_closed():
                self._blocking(iterator.aclose())

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        return self._blocking(self.aput(config, checkpoint, metadata, new_versions))

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                   task_id: str, task_path: str = "") -> None:
        self._blocking(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._blocking(self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._blocking(self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._blocking(self.acopy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._blocking(self.aprune(thread_ids, strategy=strategy))

    def get_next_version(self, current: str | None, channel: None = None) -> str:
        """A zero-padded counter plus a random fraction, as the Postgres saver: versions sort
        as strings, and two writers that both advance from one version do not collide."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"


def _parent_id(config: RunnableConfig) -> str | None:
    """The checkpoint a put continues from: the incoming config's checkpoint id."""
    return config["configurable"].get("checkpoint_id")


def _id_list(ids: Sequence[str], what: str) -> list[str]:
    if isinstance(ids, str):
        raise TypeError(f"{what} must be a sequence of ids, not a str")
    return [str(value) for value in ids]


def _strategy(strategy: str) -> PruneStrategy:
    try:
        return PRUNE_STRATEGIES[strategy]
    except KeyError:
        raise ValueError(f"Unknown prune strategy: {strategy!r}") from None

