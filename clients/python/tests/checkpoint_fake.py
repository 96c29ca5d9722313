"""An in-memory stand-in for the server's checkpoint operations, for unit tests of the client and
the saver only (the integration tests run against the real store-server).

It decodes requests with its own reader code, written from the layout in protocol-spec.md
section 7.1 rather than reusing the client's encoders, so a field-order mistake on either side
shows up. It answers through the two methods ``AsyncCheckpointClient`` uses: ``request`` and
``stream``. Lists are sent in pages of ``PAGE_RECORDS`` to exercise streaming.
"""
from __future__ import annotations

import json
import struct
from typing import Any, AsyncIterator

from agent_store.aio import Response
from agent_store.codes import FrameFlags
from agent_store.errors import ConnectionLostError
from agent_store.values import Reader, Writer

PUT, PUT_WRITES, GET, LIST = 0x0101, 0x0102, 0x0103, 0x0104
DELETE_THREAD, DELETE_FOR_RUNS, COPY_THREAD, PRUNE = 0x0105, 0x0106, 0x0107, 0x0108
PAGE_RECORDS = 2


def _optional_string(reader: Reader) -> str | None:
    return reader.string() if reader.u8() else None


def _i32(reader: Reader) -> int:
    return struct.unpack("<i", bytes(reader.u8() for _ in range(4)))[0]


def contains(document: Any, pattern: Any) -> bool:
    """JSON containment, as PostgreSQL's jsonb ``@>`` for objects and scalars."""
    if isinstance(pattern, dict):
        return isinstance(document, dict) and all(
            key in document and contains(document[key], value) for key, value in pattern.items())
    if isinstance(pattern, list):
        return isinstance(document, list) and all(
            any(contains(element, item) for element in document) for item in pattern)
    if isinstance(pattern, bool) or isinstance(document, bool):
        return type(document) is type(pattern) and document == pattern
    return document == pattern


class FakeCheckpointServer:
    def __init__(self) -> None:
        self.checkpoints: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.blobs: dict[tuple[str, str, str, str], tuple[str, bytes]] = {}
        self.writes: dict[tuple[str, str, str, str, int], tuple[str, str, str, bytes]] = {}
        self.requests: list[int] = []
        self.fail_next = 0  # the next N requests fail as if the connection dropped

    async def request(self, opcode: int, body: bytes = b"",
                      timeout: float | None = None) -> Response:
        self.requests.append(opcode)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionLostError("fake: connection dropped")
        reader = Reader(body)
        handler = {PUT: self._put, PUT_WRITES: self._put_writes, GET: self._get,
                   DELETE_THREAD: self._delete_thread, DELETE_FOR_RUNS: self._delete_for_runs,
                   COPY_THREAD: self._copy_thread, PRUNE: self._prune}[opcode]
        answer = handler(reader)
        assert reader.remaining == 0, f"{reader.remaining} bytes left in request {opcode:#x}"
        return Response(int(FrameFlags.RESPONSE), answer)

    async def stream(self, opcode: int, body: bytes = b"",
                     timeout: float | None = None) -> AsyncIterator[Response]:
        self.requests.append(opcode)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionLostError("fake: connection dropped")
        assert opcode == LIST
        reader = Reader(body)
        records = self._list(reader)
        assert reader.remaining == 0
        pages = [records[i:i + PAGE_RECORDS] for i in range(0, len(records), PAGE_RECORDS)]
        pages = pages or [[]]
        for index, page in enumerate(pages):
            writer = Writer().u32(len(page))
            for key in page:
                self._record(writer, key)
            final = index == len(pages) - 1
            flags = FrameFlags.RESPONSE | (0 if final else FrameFlags.STREAM)
            yield Response(int(flags), writer.to_bytes())

    # Handlers.

    def _put(self, reader: Reader) -> bytes:
        thread, ns, checkpoint_id = reader.string(), reader.string(), reader.string()
        parent = _optional_string(reader)
        kind, document, metadata = reader.string(), reader.raw_bytes(), reader.string()
        json.loads(metadata)
        versions = [(reader.string(), reader.string()) for _ in range(reader.u32())]
        for _ in range(reader.u32()):
            channel, version, blob_type, value = (reader.string(), reader.string(),
                                                  reader.string(), reader.raw_bytes())
            self.blobs.setdefault((thread, ns, channel, version), (blob_type, value))
        self.checkpoints[(thread, ns, checkpoint_id)] = {
            "parent": parent, "type": kind, "document": document, "metadata": metadata,
            "versions": versions}
        return b""

    def _put_writes(self, reader: Reader) -> bytes:
        thread, ns, checkpoint_id = reader.string(), reader.string(), reader.string()
        task_id, task_path = reader.string(), reader.string()
        writes = [(_i32(reader), reader.string(), reader.string(), reader.raw_bytes())
                  for _ in range(reader.u32())]
        replace = all(idx < 0 for idx, *_ in writes)
        for idx, channel, kind, value in writes:
            key = (thread, ns, checkpoint_id, task_id, idx)
            if replace or key not in self.writes:
                self.writes[key] = (task_path, channel, kind, value)
        return b""

    def _get(self, reader: Reader) -> bytes:
        thread, ns, checkpoint_id = reader.string(), reader.string(), _optional_string(reader)
        if checkpoint_id is None:
            ids = sorted(c for t, n, c in self.checkpoints if (t, n) == (thread, ns))
            checkpoint_id = ids[-1] if ids else None
        key = (thread, ns, checkpoint_id)
        writer = Writer()
        if checkpoint_id is None or key not in self.checkpoints:
            return writer.u8(0).to_bytes()
        writer.u8(1)
        self._record(writer, key)
        return writer.to_bytes()

    def _list(self, reader: Reader) -> list[tuple[str, str, str]]:
        thread, ns, checkpoint_id = (_optional_string(reader), _optional_string(reader),
                                     _optional_string(reader))
        filter_json, before = _optional_string(reader), _optional_string(reader)
        limit = reader.u32() if reader.u8() else None
        pattern = json.loads(filter_json) if filter_json else None
        keys = [key for key, row in self.checkpoints.items()
                if (thread is None or key[0] == thread) and (ns is None or key[1] == ns)
                and (checkpoint_id is None or key[2] == checkpoint_id)
                and (before is None or key[2] < before)
                and (pattern is None or contains(json.loads(row["metadata"]), pattern))]
        keys.sort(key=lambda key: (key[2], key[0], key[1]), reverse=True)
        return keys if limit is None else keys[:limit]

    def _record(self, writer: Writer, key: tuple[str, str, str]) -> None:
        thread, ns, checkpoint_id = key
        row = self.checkpoints[key]
        writer.string(thread).string(ns).string(checkpoint_id)
        if row["parent"] is None:
            writer.u8(0)
        else:
            writer.u8(1).string(row["parent"])
        writer.string(row["type"]).raw_bytes(row["document"]).string(row["metadata"])
        blobs = [(channel, version, *self.blobs[(thread, ns, channel, version)])
                 for channel, version in row["versions"]
                 if (thread, ns, channel, version) in self.blobs]
        writer.u32(len(blobs))
        for channel, version, kind, value in blobs:
            writer.string(channel).string(version).string(kind).raw_bytes(value)
        writes = sorted(((task_path, task_id, idx, channel, kind, value)
                         for (t, n, c, task_id, idx), (task_path, channel, kind, value)
                         in self.writes.items() if (t, n, c) == key))
        writer.u32(len(writes))
        for task_path, task_id, idx, channel, kind, value in writes:
            writer.string(task_id).string(task_path)
            writer.buffer += struct.pack("<i", idx)
            writer.string(channel).string(kind).raw_bytes(value)

    def _delete_where(self, keep) -> int:  # type: ignore[no-untyped-def]
        doomed = [key for key in self.checkpoints if not keep(key)]
        for key in doomed:
            del self.checkpoints[key]
        for key in [k for k in self.writes if k[:3] in set(doomed)]:
            del self.writes[key]
        return len(doomed)

    def _delete_thread(self, reader: Reader) -> bytes:
        thread = reader.string()
        self._delete_where(lambda key: key[0] != thread)
        for key in [k for k in self.blobs if k[0] == thread]:
            del self.blobs[key]
        for key in [k for k in self.writes if k[0] == thread]:
            del self.writes[key]
        return b""

    def _delete_for_runs(self, reader: Reader) -> bytes:
        run_ids = {reader.string() for _ in range(reader.u32())}
        deleted = self._delete_where(lambda key: json.loads(
            self.checkpoints[key]["metadata"]).get("run_id") not in run_ids)
        return Writer().u64(deleted).to_bytes()

    def _copy_thread(self, reader: Reader) -> bytes:
        source, target = reader.string(), reader.string()
        for (t, n, c), row in list(self.checkpoints.items()):
            if t == source:
                self.checkpoints[(target, n, c)] = dict(row)
        for (t, *rest), value in list(self.blobs.items()):
            if t == source:
                self.blobs[(target, *rest)] = value
        for (t, *rest), value in list(self.writes.items()):
            if t == source:
                self.writes[(target, *rest)] = value
        return b""

    def _prune(self, reader: Reader) -> bytes:
        threads = {reader.string() for _ in range(reader.u32())}
        strategy = reader.u8()
        assert strategy in (0, 1)
        latest: dict[tuple[str, str], str] = {}
        for t, n, c in self.checkpoints:
            if t in threads and c > latest.get((t, n), ""):
                latest[(t, n)] = c
        removed = self._delete_where(
            lambda key: key[0] not in threads
            or (strategy == 0 and latest.get(key[:2]) == key[2]))
        if strategy == 1:
            for key in [k for k in self.blobs if k[0] in threads]:
                del self.blobs[key]
        return Writer().u64(removed).to_bytes()
