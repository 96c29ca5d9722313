"""LangGraph ``BaseStore`` over the agent-store memory operations (protocol-spec.md 7.4).

Every ``batch``/``abatch`` is one ``MEMORY_BATCH`` round trip (plus one ``COLLECTION_ENSURE`` the
first time vectors are involved). Embedding happens here, on the client, as in LangGraph's own
stores: the ``index`` config's ``embed`` turns the texts at ``fields`` (JSON paths, default the
whole value) into one vector per field, and search queries into query vectors; the server only
stores and compares vectors.

Example::

    from langchain_openai import OpenAIEmbeddings  # any langchain Embeddings or a function
    from agent_store.langgraph import AgentStoreStore

    with AgentStoreStore.connect("127.0.0.1", 7480, index={
            "dims": 1536, "embed": OpenAIEmbeddings(model="text-embedding-3-small"),
            "fields": ["text"]}, ttl={"default_ttl": 60 * 24}) as store:
        store.put(("users", "u1", "memories"), "m-1", {"text": "likes tea"})
        hits = store.search(("users", "u1"), query="what drinks?", limit=5)
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from langgraph.store.base import (
    BaseStore, GetOp, IndexConfig, Item, ListNamespacesOp, Op, PutOp, Result, SearchItem,
    SearchOp, TTLConfig, ensure_embeddings, get_text_at_path, tokenize_path,
    validate_op_namespace,
)

from ..client import StoreClient
from ..errors import (
    ClientClosedError, ConnectionFailedError, ConnectionLostError, ServerError,
)
from ..memories import (
    AsyncMemoryClient, CollectionEnsureRequest, DeleteRequest, GetRequest,
    ListNamespacesRequest, MemoryClient, MemoryItem, MemoryRequest, MemorySearchItem, Metric,
    PutRequest, SearchRequest,
)

#: LangGraph TTLs are minutes; the wire carries milliseconds.
_MS_PER_MINUTE = 60_000
#: Used when the server's HELLO is not known yet; the spec's default ``max_k``.
_DEFAULT_MAX_K = 1000
#: Pauses before resending a batch whose connection broke (or could not be opened): a server
#: restart or a dropped idle connection. Resending is safe because every memory operation is
#: idempotent in its effect: puts replace, deletes of missing items succeed, reads only read
#: (a repeated TTL refresh lands on the same expiry give or take the pause). Errors the server
#: reported are never retried here.
_RETRY_DELAYS_S = (0.1, 0.5, 2.0)


@dataclass
class _Plan:
    """The wire requests for one batch of ops, and how to turn their results back into one
    LangGraph result per op."""

    requests: list[MemoryRequest] = field(default_factory=list)
    # Per op: the slice of ``requests`` that serves it, and how to build its result.
    parts: list[tuple[int, int, Callable[[list[Any]], Result]]] = field(default_factory=list)
    needs_collection: bool = False

    def add(self, requests: Sequence[MemoryRequest],
            build: Callable[[list[Any]], Result]) -> None:
        start = len(self.requests)
        self.requests.extend(requests)
        self.parts.append((start, len(self.requests), build))

    def assemble(self, results: list[Any]) -> list[Result]:
        for result in results:
            if isinstance(result, ServerError):
                raise result  # LangGraph's batch has no per-op errors: the first one fails it
        return [build(results[start:end]) for start, end, build in self.parts]


@dataclass
class _EmbeddingWork:
    """Texts to embed for the puts of a batch, and the queries of its searches."""

    texts: list[str] = field(default_factory=list)
    # Per put op index: (field name, index into ``texts``) for each vector it gets.
    fields: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)


class AgentStoreStore(BaseStore):
    """A LangGraph store kept by an agent-store server.

    ``client`` is a ``MemoryClient`` (blocking; then both ``batch`` and ``abatch`` work, from
    any thread or event loop) or an ``AsyncMemoryClient`` (``abatch`` on its event loop; ``batch``
    from other threads only, as LangGraph's async stores do).

    ``index``: ``dims``, ``embed`` (langchain ``Embeddings``, a function, or a provider string),
    ``fields`` (default ``["$"]``: the whole value), optional ``distance_type`` (``cosine``,
    ``l2``, ``inner_product``). ``collection`` names the server collection holding the vectors
    (default derived from the metric and dimension).

    ``ttl``: ``default_ttl`` (minutes) for puts that give none, ``refresh_on_read`` (default
    True). The server sweeps expired items itself and never returns them, even before a sweep.

    ``namespace_root``: labels put in front of every namespace on the server and hidden from
    callers, so several stores (tenants, test cases) can share a server without seeing each
    other. Note that a ``suffix`` condition of ``list_namespaces`` longer than a stored
    namespace may then match into the root labels.
    """

    supports_ttl = True

    def __init__(self, client: MemoryClient | AsyncMemoryClient, *,
                 index: IndexConfig | None = None, ttl: TTLConfig | None = None,
                 collection: str | None = None, namespace_root: Sequence[str] = ()) -> None:
        self._client = client
        self._owned_store_client: StoreClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(client, AsyncMemoryClient):
            # The async client's connection belongs to the loop it was created on.
            self._loop = asyncio.get_running_loop()
        self.ttl_config = ttl
        self.namespace_root = tuple(namespace_root)
        for label in self.namespace_root:
            if not label or "." in label:
                raise ValueError(f"invalid namespace_root label {label!r}")
        self.index_config: dict[str, Any] | None = None
        self.embeddings = None
        self._metric = Metric.COSINE
        self.collection = ""
        if index:
            self.index_config = dict(index)
            self.embeddings = ensure_embeddings(self.index_config.get("embed"))
            self.index_config["__tokenized_fields"] = [
                (path, tokenize_path(path)) if path != "$" else (path, path)
                for path in (self.index_config.get("fields") or ["$"])
            ]
            self._metric = Metric.from_name(self.index_config.get("distance_type", "cosine"))
            dims = int(self.index_config["dims"])
            self.collection = collection or f"langgraph_{self._metric.name.lower()}_{dims}"
        self._collection_ready = False
        self._collection_lock = threading.Lock()
        self._closed = False

    @classmethod
    def connect(cls, host: str, port: int, token: str | bytes | None = None, *,
                timeout: float = 30.0, **options: Any) -> "AgentStoreStore":
        """A store with its own blocking connection; ``close()`` closes it."""
        store_client = StoreClient.connect(host, port, token, timeout)
        try:
            store = cls(MemoryClient(store_client), **options)
        except BaseException:
            store_client.close()
            raise
        store._owned_store_client = store_client
        return store

    def close(self) -> None:
        """Closes the connection made by ``connect``; a store over a caller's client leaves it
        open. Either way the store takes no more operations."""
        self._closed = True
        if self._owned_store_client is not None:
            self._owned_store_client.close()
            self._owned_store_client = None

    def __enter__(self) -> "AgentStoreStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The one primitive, in both forms.

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        if self._closed:
            raise ClientClosedError("the store is closed")
        ops = list(ops)
        if isinstance(self._client, AsyncMemoryClient):
            return self._batch_through_loop(ops)
        work = self._embedding_work(ops)
        vectors, query_vectors = [], {}
        if self.embeddings is not None:
            if work.texts:
                vectors = self.embeddings.embed_documents(work.texts)
            query_vectors = {query: self.embeddings.embed_query(query)
                             for query in work.queries}
        plan = self._plan(ops, work, vectors, query_vectors)
        results = plan.assemble(self._send(plan))
        fill = self._fill_plan(ops, results, query_vectors)
        if fill.requests:
            fill.assemble(self._send(fill))
        return results

    def _send(self, plan: _Plan) -> list[Any]:
        assert isinstance(self._client, MemoryClient)
        for delay_s in (*_RETRY_DELAYS_S, None):
            try:
                if plan.needs_collection and not self._collection_ready:
                    with self._collection_lock:
                        if not self._collection_ready:
                            self._client.call(self._collection_request())
                            self._collection_ready = True
                return self._client.batch(plan.requests) if plan.requests else []
            except (ConnectionLostError, ConnectionFailedError):
                if delay_s is None:
                    raise
                time.sleep(delay_s)
        raise AssertionError("unreachable")

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        if self._closed:
            raise ClientClosedError("the store is closed")
        ops = list(ops)
        work = self._embedding_work(ops)
        vectors, query_vectors = [], {}
        if self.embeddings is not None:
            if work.texts:
                vectors = await self.embeddings.aembed_documents(work.texts)
            if work.queries:
                embedded = await asyncio.gather(
                    *(self.embeddings.aembed_query(query) for query in work.queries))
                query_vectors = dict(zip(work.queries, embedded))
        plan = self._plan(ops, work, vectors, query_vectors)
        results = plan.assemble(await self._send_async(plan))
        fill = self._fill_plan(ops, results, query_vectors)
        if fill.requests:
            fill.assemble(await self._send_async(fill))
        return results

    async def _send_async(self, plan: _Plan) -> list[Any]:
        if isinstance(self._client, AsyncMemoryClient):
            return await self._run_async(self._client, plan)
        return await asyncio.wrap_future(
            self._client.submit(self._run_async(self._client.async_client, plan)))

    async def _run_async(self, client: AsyncMemoryClient, plan: _Plan) -> list[Any]:
        for delay_s in (*_RETRY_DELAYS_S, None):
            try:
                if plan.needs_collection and not self._collection_ready:
                    # Idempotent on the server, so two tasks racing here both succeed.
                    await client.call(self._collection_request())
                    self._collection_ready = True
                return await client.batch(plan.requests) if plan.requests else []
            except (ConnectionLostError, ConnectionFailedError):
                if delay_s is None:
                    raise
                await asyncio.sleep(delay_s)
        raise AssertionError("unreachable")

    def _batch_through_loop(self, ops: list[Op]) -> list[Result]:
        assert self._loop is not None
        try:
            if asyncio.get_running_loop() is self._loop:
                raise asyncio.InvalidStateError(
                    "synchronous calls to an AgentStoreStore over an AsyncMemoryClient would "
                    "block its own event loop; use the a... methods (abatch, aget, ...) here")
        except RuntimeError:
            pass  # no running loop in this thread: blocking on the store's loop is fine
        return asyncio.run_coroutine_threadsafe(self.abatch(ops), self._loop).result()

    def _collection_request(self) -> CollectionEnsureRequest:
        assert self.index_config is not None
        return CollectionEnsureRequest(self.collection, int(self.index_config["dims"]),
                                       self._metric)

    # Turning ops into wire requests.

    def _embedding_work(self, ops: list[Op]) -> _EmbeddingWork:
        work = _EmbeddingWork()
        if self.index_config is None:
            return work
        text_indexes: dict[str, int] = {}
        queries: dict[str, None] = {}
        for position, op in enumerate(ops):
            if isinstance(op, PutOp) and op.value is not None and op.index is not False:
                if op.index is None:
                    paths = self.index_config["__tokenized_fields"]
                else:
                    paths = [(path, tokenize_path(path)) for path in op.index]
                fields: list[tuple[str, int]] = []
                for path, tokens in paths:
                    texts = get_text_at_path(op.value, tokens)
                    # Field names as InMemoryStore names them: a path that yields several
                    # texts gets one vector per text, numbered.
                    named = ([(path, texts[0])] if len(texts) == 1 else
                             [(f"{path}.{i}", text) for i, text in enumerate(texts)])
                    for name, text in named:
                        if text not in text_indexes:
                            text_indexes[text] = len(work.texts)
                            work.texts.append(text)
                        fields.append((name, text_indexes[text]))
                work.fields[position] = fields
            elif isinstance(op, SearchOp) and op.query:
                queries[op.query] = None
        work.queries = list(queries)
        return work

    def _plan(self, ops: list[Op], work: _EmbeddingWork, vectors: list[list[float]],
              query_vectors: dict[str, list[float]]) -> _Plan:
        if len(vectors) != len(work.texts):
            raise ValueError(f"the embedder returned {len(vectors)} vectors for "
                             f"{len(work.texts)} texts")
        plan = _Plan()
        for position, op in enumerate(ops):
            validate_op_namespace(op)
            if isinstance(op, GetOp):
                plan.add([GetRequest(self._rooted(op.namespace), str(op.key), op.refresh_ttl)],
                         lambda results: self._item(results[0]))
            elif isinstance(op, PutOp):
                self._plan_put(plan, position, op, work, vectors)
            elif isinstance(op, SearchOp):
                self._plan_search(plan, op, query_vectors)
            elif isinstance(op, ListNamespacesOp):
                self._plan_list_namespaces(plan, op)
            else:
                raise ValueError(f"unknown operation type {type(op).__name__}")
        return plan

    def _plan_put(self, plan: _Plan, position: int, op: PutOp, work: _EmbeddingWork,
                  vectors: list[list[float]]) -> None:
        namespace = self._rooted(op.namespace)
        if op.value is None:
            plan.add([DeleteRequest(namespace, str(op.key))], lambda results: None)
            return
        item_vectors = [(name, vectors[index]) for name, index in work.fields.get(position, [])
                        if self._metric != Metric.COSINE or any(vectors[index])]
        # A zero vector has no direction, so the server refuses it for cosine; the field is
        # left without a vector instead (InMemoryStore would score it 0 against anything).
        ttl_ms = None if op.ttl is None else max(1, round(op.ttl * _MS_PER_MINUTE))
        collection = self.collection if item_vectors else ""
        plan.needs_collection |= bool(item_vectors)
        plan.add([PutRequest(namespace, str(op.key), op.value, collection, item_vectors,
                             ttl_ms)], lambda results: None)

    def _plan_search(self, plan: _Plan, op: SearchOp,
                     query_vectors: dict[str, list[float]]) -> None:
        query = query_vectors.get(op.query) if op.query else None
        if query is not None:
            plan.needs_collection = True
        if op.limit <= 0:
            plan.add([], lambda results: [])
            return
        plan.add(self._search_requests(op, query, op.limit, op.offset, op.refresh_ttl),
                 lambda results: [self._search_item(item)
                                  for items in results for item in items])

    def _search_requests(self, op: SearchOp, query: list[float] | None, limit: int,
                         offset: int, refresh_ttl: bool) -> list[MemoryRequest]:
        """One search as wire requests: a limit over the server's max_k becomes several
        consecutive pages."""
        page = self._max_k()
        return [
            SearchRequest(self._rooted(op.namespace_prefix), op.filter,
                          self.collection if query is not None else "", query,
                          min(page, limit - start), offset + start, refresh_ttl)
            for start in range(0, limit, page)
        ]

    def _fill_plan(self, ops: list[Op], results: list[Result],
                   query_vectors: dict[str, list[float]]) -> _Plan:
        """Second round trip for query searches whose page came back short: LangGraph's
        stores return items without vectors too (score None) after every scored one, and the
        server's vector search yields only items with vectors.

        The order is: scored items (best first), then unscored ones (newest first). A short
        page means every scored item in scope was seen: ``scored_total`` of them. The
        unscored items are the plain search's results minus the scored ones. With
        ``refresh_ttl`` the plain search also refreshes the scored items it passes over, which
        the query search refreshed already, and unscored ones beyond the page."""
        plan = _Plan()
        for position, op in enumerate(ops):
            if not (isinstance(op, SearchOp) and op.query and op.query in query_vectors):
                continue
            page = results[position]
            assert isinstance(page, list)
            if len(page) >= op.limit or any(item.score is None for item in page):
                continue  # a full page, or a server that already fills unscored items
            query = query_vectors[op.query]
            requests: list[MemoryRequest] = []
            scored_count = 0
            if op.offset > 0:
                # The scored items before this page: at most offset + len(page) of them.
                scored_count = op.offset + len(page)
                requests += self._search_requests(op, query, scored_count, 0, False)
            plain = self._search_requests(op, None, op.offset + op.limit, 0, op.refresh_ttl)
            plan.add(requests + plain, self._filler(results, position, op, len(requests)))
        return plan

    def _filler(self, results: list[Result], position: int, op: SearchOp,
                scored_requests: int) -> Callable[[list[Any]], None]:
        def fill(replies: list[Any]) -> None:
            page: list[SearchItem] = results[position]  # type: ignore[assignment]
            if scored_requests:
                scored_keys = {(self._unrooted(item.namespace), item.key)
                               for items in replies[:scored_requests] for item in items}
            else:
                scored_keys = {(item.namespace, item.key) for item in page}
            unscored = [self._search_item(item) for items in replies[scored_requests:]
                        for item in items
                        if (self._unrooted(item.namespace), item.key) not in scored_keys]
            skip = max(0, op.offset - len(scored_keys))
            page.extend(unscored[skip:skip + op.limit - len(page)])
        return fill

    def _plan_list_namespaces(self, plan: _Plan, op: ListNamespacesOp) -> None:
        prefix: tuple[str, ...] | None = None
        suffix: tuple[str, ...] | None = None
        for condition in op.match_conditions or ():
            if condition.match_type == "prefix" and prefix is None:
                prefix = tuple(condition.path)
            elif condition.match_type == "suffix" and suffix is None:
                suffix = tuple(condition.path)
            else:
                raise ValueError("one prefix and one suffix condition at most, got "
                                 f"{op.match_conditions!r}")
        if self.namespace_root:
            prefix = self.namespace_root + (prefix or ())
        max_depth = None if op.max_depth is None else op.max_depth + len(self.namespace_root)
        if op.limit <= 0:
            plan.add([], lambda results: [])
            return
        plan.add([ListNamespacesRequest(prefix, suffix or None, max_depth, op.limit, op.offset)],
                 lambda results: [self._unrooted(namespace) for namespace in results[0]])

    def _max_k(self) -> int:
        if isinstance(self._client, MemoryClient):
            return self._client.max_k
        hello = self._client.client.hello
        return hello.max_k if hello is not None else _DEFAULT_MAX_K

    # Namespace root and result conversion.

    def _rooted(self, namespace: Sequence[str]) -> tuple[str, ...]:
        return self.namespace_root + tuple(namespace)

    def _unrooted(self, namespace: tuple[str, ...]) -> tuple[str, ...]:
        return namespace[len(self.namespace_root):]

    def _item(self, item: MemoryItem | None) -> Item | None:
        if item is None:
            return None
        return Item(value=item.value, key=item.key, namespace=self._unrooted(item.namespace),
                    created_at=item.created_at, updated_at=item.updated_at)

    def _search_item(self, item: MemorySearchItem) -> SearchItem:
        return SearchItem(namespace=self._unrooted(item.namespace), key=item.key,
                          value=item.value, created_at=item.created_at,
                          updated_at=item.updated_at, score=item.score)


__all__ = ["AgentStoreStore"]
