"""Conversations and agent executions (protocol-spec.md section 7.2).

``AsyncConversations`` wraps an ``AsyncStoreClient``; ``Conversations`` wraps a blocking
``StoreClient``. Records are dataclasses; times are milliseconds since the Unix epoch.
Server refusals raise ``ServerError`` (``invalid_argument``, ``not_found``, ``conflict`` for an
illegal execution status transition or an id in use)::

    conversations = Conversations(client)
    c = conversations.create(user_id="u1", metadata={"channel": "web"})
    e = conversations.create_execution(c.id, "planner", "supervisor", {"task": "plan"})
    conversations.complete_execution(e.id, output={"ok": True}, tokens_used=120)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .aio import AsyncStoreClient, Response
from .client import StoreClient
from .errors import DecodeError, ProtocolViolationError
from .values import Reader, Writer

CONVERSATION_CREATE, CONVERSATION_GET, CONVERSATION_UPDATE = 0x0201, 0x0202, 0x0203
CONVERSATION_DELETE, CONVERSATION_LIST = 0x0204, 0x0205
EXECUTION_CREATE, EXECUTION_START, EXECUTION_COMPLETE, EXECUTION_FAIL = 0x0211, 0x0212, 0x0213, 0x0214
EXECUTION_GET, EXECUTION_LIST, EXECUTION_TOTALS = 0x0215, 0x0216, 0x0217

STATUS_NAMES = {1: "pending", 2: "running", 3: "completed", 4: "failed"}
#: Smallest encodings, to refuse impossible list counts before allocating (spec section 1).
_CONVERSATION_BYTES_MIN = 4 + 4 + 1 + 8 + 8 + 4
_EXECUTION_BYTES_MIN = 16 + 1 + 2 + 1 + 8 + 3 + 8 + 4
_TOTALS_BYTES_MIN = 4 + 24


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    user_id: str | None
    created_at_ms: int
    updated_at_ms: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Execution:
    id: str
    conversation_id: str
    agent_name: str
    agent_type: str
    status: str  # pending, running, completed, failed
    input: Any
    output: Any
    error_message: str | None
    created_at_ms: int
    started_at_ms: int | None
    completed_at_ms: int | None
    duration_ms: int | None
    tokens_used: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentTotals:
    agent_name: str
    executions: int
    tokens_used: int
    duration_ms: int


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    #: Pass back to ``list`` for the next page; None when the list is complete.
    continuation: bytes | None


# ---------------------------------------------------------------- encoding

def _optional_string(writer: Writer, value: str | None) -> None:
    if value is None:
        writer.u8(0)
    else:
        writer.u8(1).string(value)


def _optional_i64(writer: Writer, value: int | None) -> None:
    if value is None:
        writer.u8(0)
    else:
        writer.u8(1)
        writer.buffer += int(value).to_bytes(8, "little", signed=True)


def _read_optional(reader: Reader, read, what: str):  # type: ignore[no-untyped-def]
    presence = reader.u8(what)
    if presence == 0:
        return None
    if presence != 1:
        raise DecodeError(f"{what}: presence byte {presence}", what)
    return read(what)


def encode_create(id: str | None, title: str | None, user_id: str | None, metadata: dict[str, Any]) -> bytes:
    writer = Writer()
    _optional_string(writer, id)
    _optional_string(writer, title)
    _optional_string(writer, user_id)
    return writer.map(metadata).to_bytes()


def encode_id(id: str) -> bytes:
    return Writer().string(id).to_bytes()


def encode_update(id: str, title: str | None, metadata: dict[str, Any] | None) -> bytes:
    writer = Writer().string(id)
    _optional_string(writer, title)
    if metadata is None:
        writer.u8(0)
    else:
        writer.u8(1).map(metadata)
    return writer.to_bytes()


def encode_list(user_id: str | None, limit: int, continuation: bytes | None) -> bytes:
    writer = Writer()
    _optional_string(writer, user_id)
    writer.u32(limit)
    if continuation is None:
        writer.u8(0)
    else:
        writer.u8(1).raw_bytes(continuation)
    return writer.to_bytes()


def encode_create_execution(conversation_id: str, agent_name: str, agent_type: str, input: Any,
                            metadata: dict[str, Any], start: bool, id: str | None) -> bytes:
    writer = Writer().string(conversation_id)
    _optional_string(writer, id)
    writer.string(agent_name).string(agent_type).value(input).map(metadata).bool(start)
    return writer.to_bytes()


def encode_complete(id: str, output: Any, tokens_used: int) -> bytes:
    return Writer().string(id).value(output).u64(tokens_used).to_bytes()


def encode_fail(id: str, error_message: str, tokens_used: int) -> bytes:
    return Writer().string(id).string(error_message).u64(tokens_used).to_bytes()


def encode_totals(since_ms: int | None, until_ms: int | None, conversation_id: str | None) -> bytes:
    writer = Writer()
    _optional_i64(writer, since_ms)
    _optional_i64(writer, until_ms)
    _optional_string(writer, conversation_id)
    return writer.to_bytes()


# ---------------------------------------------------------------- decoding

def read_conversation(reader: Reader) -> Conversation:
    return Conversation(id=reader.string("id"), title=reader.string("title"),
                        user_id=_read_optional(reader, reader.string, "user_id"),
                        created_at_ms=reader.i64("created_at_ms"), updated_at_ms=reader.i64("updated_at_ms"),
                        metadata=reader.map("metadata"))


def read_execution(reader: Reader) -> Execution:
    id = reader.string("id")
    conversation_id = reader.string("conversation_id")
    agent_name = reader.string("agent_name")
    agent_type = reader.string("agent_type")
    raw_status = reader.u8("status")
    if raw_status not in STATUS_NAMES:
        raise DecodeError(f"status: unknown execution status {raw_status}", "status")
    return Execution(
        id=id, conversation_id=conversation_id, agent_name=agent_name, agent_type=agent_type,
        status=STATUS_NAMES[raw_status], input=reader.value("input"), output=reader.value("output"),
        error_message=_read_optional(reader, reader.string, "error_message"),
        created_at_ms=reader.i64("created_at_ms"),
        started_at_ms=_read_optional(reader, reader.i64, "started_at_ms"),
        completed_at_ms=_read_optional(reader, reader.i64, "completed_at_ms"),
        duration_ms=_read_optional(reader, reader.i64, "duration_ms"),
        tokens_used=reader.u64("tokens_used"), metadata=reader.map("metadata"))


def decode_conversation(body: bytes) -> Conversation:
    return read_conversation(Reader(body))


def decode_execution(body: bytes) -> Execution:
    return read_execution(Reader(body))


def decode_page(body: bytes) -> ConversationPage:
    reader = Reader(body)
    count = reader.count(_CONVERSATION_BYTES_MIN, "conversations")
    records = [read_conversation(reader) for _ in range(count)]
    return ConversationPage(records, _read_optional(reader, reader.raw_bytes, "continuation"))


def decode_executions(body: bytes) -> list[Execution]:
    reader = Reader(body)
    count = reader.count(_EXECUTION_BYTES_MIN, "executions")
    return [read_execution(reader) for _ in range(count)]


def decode_delete(body: bytes) -> int:
    return Reader(body).u64("executions_deleted")


def decode_totals(body: bytes) -> list[AgentTotals]:
    reader = Reader(body)
    count = reader.count(_TOTALS_BYTES_MIN, "agents")
    return [AgentTotals(reader.string("agent_name"), reader.u64("executions"), reader.u64("tokens_used"),
                        reader.u64("duration_ms")) for _ in range(count)]


def _decoded(decoder, response: Response):  # type: ignore[no-untyped-def]
    try:
        return decoder(response.body)
    except DecodeError as error:
        raise ProtocolViolationError(f"conversation response does not decode: {error}") from error


# ---------------------------------------------------------------- clients

class AsyncConversations:
    def __init__(self, client: AsyncStoreClient) -> None:
        self.client = client

    async def _call(self, opcode: int, body: bytes, decoder, timeout: float | None):  # type: ignore[no-untyped-def]
        return _decoded(decoder, await self.client.request(opcode, body, timeout))

    async def create(self, *, id: str | None = None, title: str | None = None, user_id: str | None = None,
                     metadata: dict[str, Any] | None = None, timeout: float | None = None) -> Conversation:
        return await self._call(CONVERSATION_CREATE, encode_create(id, title, user_id, metadata or {}),
                                decode_conversation, timeout)

    async def get(self, id: str, timeout: float | None = None) -> Conversation:
        return await self._call(CONVERSATION_GET, encode_id(id), decode_conversation, timeout)

    async def update(self, id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None,
                     timeout: float | None = None) -> Conversation:
        return await self._call(CONVERSATION_UPDATE, encode_update(id, title, metadata), decode_conversation, timeout)

    async def delete(self, id: str, timeout: float | None = None) -> int:
        """Deletes the conversation and its executions; returns how many executions went."""
        return await self._call(CONVERSATION_DELETE, encode_id(id), decode_delete, timeout)

    async def list(self, user_id: str | None, *, limit: int = 0, continuation: bytes | None = None,
                   timeout: float | None = None) -> ConversationPage:
        return await self._call(CONVERSATION_LIST, encode_list(user_id, limit, continuation), decode_page, timeout)

    async def create_execution(self, conversation_id: str, agent_name: str, agent_type: str, input: Any, *,
                               metadata: dict[str, Any] | None = None, start: bool = True, id: str | None = None,
                               timeout: float | None = None) -> Execution:
        body = encode_create_execution(conversation_id, agent_name, agent_type, input, metadata or {}, start, id)
        return await self._call(EXECUTION_CREATE, body, decode_execution, timeout)

    async def start_execution(self, id: str, timeout: float | None = None) -> Execution:
        return await self._call(EXECUTION_START, encode_id(id), decode_execution, timeout)

    async def complete_execution(self, id: str, *, output: Any = None, tokens_used: int = 0,
                                 timeout: float | None = None) -> Execution:
        return await self._call(EXECUTION_COMPLETE, encode_complete(id, output, tokens_used), decode_execution, timeout)

    async def fail_execution(self, id: str, error_message: str, *, tokens_used: int = 0,
                             timeout: float | None = None) -> Execution:
        return await self._call(EXECUTION_FAIL, encode_fail(id, error_message, tokens_used), decode_execution, timeout)

    async def get_execution(self, id: str, timeout: float | None = None) -> Execution:
        return await self._call(EXECUTION_GET, encode_id(id), decode_execution, timeout)

    async def executions(self, conversation_id: str, timeout: float | None = None) -> list[Execution]:
        """Every execution of the conversation, oldest first (streamed by the server in pages)."""
        records: list[Execution] = []
        async for response in self.client.stream(EXECUTION_LIST, encode_id(conversation_id), timeout):
            records += _decoded(decode_executions, response)
        return records

    async def totals(self, *, since_ms: int | None = None, until_ms: int | None = None,
                     conversation_id: str | None = None, timeout: float | None = None) -> list[AgentTotals]:
        return await self._call(EXECUTION_TOTALS, encode_totals(since_ms, until_ms, conversation_id),
                                decode_totals, timeout)


class Conversations:
    """Blocking twin of ``AsyncConversations``."""

    def __init__(self, client: StoreClient) -> None:
        self.client = client

    def _call(self, opcode: int, body: bytes, decoder, timeout: float | None):  # type: ignore[no-untyped-def]
        return _decoded(decoder, self.client.request(opcode, body, timeout))

    def create(self, *, id: str | None = None, title: str | None = None, user_id: str | None = None,
               metadata: dict[str, Any] | None = None, timeout: float | None = None) -> Conversation:
        return self._call(CONVERSATION_CREATE, encode_create(id, title, user_id, metadata or {}),
                          decode_conversation, timeout)

    def get(self, id: str, timeout: float | None = None) -> Conversation:
        return self._call(CONVERSATION_GET, encode_id(id), decode_conversation, timeout)

    def update(self, id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None,
               timeout: float | None = None) -> Conversation:
        return self._call(CONVERSATION_UPDATE, encode_update(id, title, metadata), decode_conversation, timeout)

    def delete(self, id: str, timeout: float | None = None) -> int:
        return self._call(CONVERSATION_DELETE, encode_id(id), decode_delete, timeout)

    def list(self, user_id: str | None, *, limit: int = 0, continuation: bytes | None = None,
             timeout: float | None = None) -> ConversationPage:
        return self._call(CONVERSATION_LIST, encode_list(user_id, limit, continuation), decode_page, timeout)

    def iterate(self, user_id: str | None, *, page_size: int = 0) -> Iterator[Conversation]:
        """Every conversation of the user, newest first, fetching page after page."""
        continuation = None
        while True:
            page = self.list(user_id, limit=page_size, continuation=continuation)
            yield from page.conversations
            if page.continuation is None:
                return
            continuation = page.continuation

    def create_execution(self, conversation_id: str, agent_name: str, agent_type: str, input: Any, *,
                         metadata: dict[str, Any] | None = None, start: bool = True, id: str | None = None,
                         timeout: float | None = None) -> Execution:
        body = encode_create_execution(conversation_id, agent_name, agent_type, input, metadata or {}, start, id)
        return self._call(EXECUTION_CREATE, body, decode_execution, timeout)

    def start_execution(self, id: str, timeout: float | None = None) -> Execution:
        return self._call(EXECUTION_START, encode_id(id), decode_execution, timeout)

    def complete_execution(self, id: str, *, output: Any = None, tokens_used: int = 0,
                           timeout: float | None = None) -> Execution:
        return self._call(EXECUTION_COMPLETE, encode_complete(id, output, tokens_used), decode_execution, timeout)

    def fail_execution(self, id: str, error_message: str, *, tokens_used: int = 0,
                       timeout: float | None = None) -> Execution:
        return self._call(EXECUTION_FAIL, encode_fail(id, error_message, tokens_used), decode_execution, timeout)

    def get_execution(self, id: str, timeout: float | None = None) -> Execution:
        return self._call(EXECUTION_GET, encode_id(id), decode_execution, timeout)

    def executions(self, conversation_id: str, timeout: float | None = None) -> list[Execution]:
        records: list[Execution] = []
        for response in self.client.stream(EXECUTION_LIST, encode_id(conversation_id), timeout):
            records += _decoded(decode_executions, response)
        return records

    def totals(self, *, since_ms: int | None = None, until_ms: int | None = None,
               conversation_id: str | None = None, timeout: float | None = None) -> list[AgentTotals]:
        return self._call(EXECUTION_TOTALS, encode_totals(since_ms, until_ms, conversation_id), decode_totals, timeout)
