#!/usr/bin/env python3
"""A LangGraph multi-agent team whose whole state lives in agent-store.

A supervisor routes a task ("find a Debian package for ...") to two worker agents: a researcher
(itself a subgraph: a model that calls a recall tool over the package memories and a tool that
saves a note) and a writer that drafts a recommendation. A human must approve the draft: the graph
stops at an ``interrupt``. Run the script again (after restarting the server, if you like) and it
resumes the interrupted thread from its last checkpoint and finishes.

What it stores, and where:
- checkpoints of every step: ``AgentStoreSaver`` (LangGraph checkpointer);
- the package descriptions, the researcher's notes and the published answer: ``AgentStoreStore``
  (LangGraph store over the memory operations, vector search on the server);
- the conversation and one execution record per agent run (status, duration, tokens):
  ``agent_store.conversations``.

Offline by design: the "LLM" is a scripted, deterministic chat model, and embeddings are looked
up, not computed — ``examples/data`` holds all-MiniLM-L6-v2 vectors for each package description
and for 40 query texts, so only those query texts can be searched (``--list-queries``).

Usage (server on 127.0.0.1:7411, e.g. ``scripts/run-server.sh``; ``examples/python/run.sh``
runs this script in a virtualenv with the packages it needs)::

    examples/python/run.sh            # 1st run: stops for approval
    examples/python/run.sh            # 2nd run: resumes and finishes
    examples/python/run.sh --new --query "tool to check the quality of a DNS zone"
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import pathlib
import struct
import sys
import time
import uuid
from typing import Annotated, Any, Callable, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import InjectedStore, ToolNode, tools_condition
from langgraph.store.base import BaseStore, PutOp
from langgraph.types import Command, interrupt

from agent_store import ConnectionFailedError, StoreClient
from agent_store.conversations import Conversations
from agent_store.langgraph import AgentStoreSaver, AgentStoreStore
from agent_store.memories import MemoryClient

DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "data"
DIMENSIONS = 384
PACKAGES = ("packages",)            # the package descriptions, searchable by meaning
NOTES = ("notes",)                  # what the researcher decided to remember, per thread below
ANSWERS = ("answers",)              # published recommendations
EXAMPLE_STATE = ("examples", "multi_agent")  # which thread waits for approval; the load marker
#: Bump when the sample data changes, so the next run loads it again.
LOAD_MARKER = "packages-loaded-v1"
#: Packages sent per store batch while loading (one round trip each).
LOAD_BATCH_ITEMS = 250
DEFAULT_QUERY = "toolkit for manipulating BAM (genome alignment) files"
RECALL_LIMIT = 5
#: Exit status of a run ended by --crash-after.
CRASH_EXIT_STATUS = 3


# ----------------------------------------------------------------------------- embeddings

def _vector(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def load_sample() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    packages = [json.loads(line) for line in (DATA_DIR / "packages.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (DATA_DIR / "queries.jsonl").open(encoding="utf-8")]
    return packages, queries


class PrecomputedEmbeddings:
    """The store's ``embed`` function: the vector of a text whose embedding was computed ahead
    of time (no model runs here). Any other text is refused with a clear message."""

    def __init__(self, packages: list[dict[str, Any]], queries: list[dict[str, Any]]) -> None:
        self.vectors = {record["text"]: _vector(record["embedding"]) for record in packages + queries}

    def __call__(self, texts: list[str]) -> list[list[float]]:
        missing = [text for text in texts if text not in self.vectors]
        if missing:
            raise KeyError(f"no precomputed embedding for {missing[0]!r}: this offline example can "
                           "only search the query texts in examples/data/queries.jsonl "
                           "(see --list-queries)")
        return [self.vectors[text] for text in texts]


# ----------------------------------------------------------------------------- the fake LLM

class ScriptedChatModel(BaseChatModel):
    """A deterministic stand-in for an LLM: ``script`` maps the conversation so far to the reply.
    Token usage is counted in words so the execution records carry plausible numbers."""

    script: Callable[[list[BaseMessage]], AIMessage]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        reply = self.script(messages)
        tokens_in = sum(len(str(message.content).split()) for message in messages)
        tokens_out = len(str(reply.content).split()) + 12 * len(reply.tool_calls)
        reply.usage_metadata = {"input_tokens": tokens_in, "output_tokens": tokens_out,
                                "total_tokens": tokens_in + tokens_out}
        return ChatResult(generations=[ChatGeneration(message=reply)])


def tokens_of(messages: list[BaseMessage]) -> int:
    return sum((message.usage_metadata or {}).get("total_tokens", 0)
               for message in messages if isinstance(message, AIMessage))


def supervisor_script(messages: list[BaseMessage]) -> AIMessage:
    progress = json.loads(str(messages[-1].content))
    if not progress["findings"]:
        route = "researcher"
    elif not progress["draft"]:
        route = "writer"
    elif not progress["review"]:
        route = "human_review"
    elif progress["review"] == "approve" and not progress["published"]:
        route = "publisher"
    else:
        route = "FINISH"
    return AIMessage(content=f"route: {route}")


def researcher_script(messages: list[BaseMessage]) -> AIMessage:
    task = str(messages[0].content)
    last = messages[-1]
    if not isinstance(last, ToolMessage):
        return AIMessage(content="", tool_calls=[{"name": "recall_packages", "args": {"query": task},
                                                  "id": "call-recall", "type": "tool_call"}])
    if last.name == "recall_packages":
        hits = json.loads(str(last.content))
        note = f"For '{task}' the best match is {hits[0]['package']}" if hits else f"Nothing for '{task}'"
        return AIMessage(content="", tool_calls=[{"name": "save_memory", "args": {"note": note},
                                                  "id": "call-save", "type": "tool_call"}])
    return AIMessage(content="Research done: findings recalled and a note saved.")


def writer_script(messages: list[BaseMessage]) -> AIMessage:
    request = json.loads(str(messages[-1].content))
    best = request["findings"][0]
    others = ", ".join(hit["package"] for hit in request["findings"][1:3])
    return AIMessage(content=f"Recommendation for '{request['task']}': install {best['package']} "
                             f"({best['summary']}). Also worth a look: {others}.")


# ----------------------------------------------------------------------------- tools

@tool
def recall_packages(query: str, store: Annotated[BaseStore, InjectedStore()]) -> str:
    """Searches the package descriptions in memory for the ones closest in meaning to query."""
    hits = store.search(PACKAGES, query=query, limit=RECALL_LIMIT)
    return json.dumps([{"package": hit.value["package"], "score": round(hit.score or 0.0, 3),
                        "summary": hit.value["text"].split(". ")[0]} for hit in hits])


@tool
def save_memory(note: str, config: RunnableConfig, store: Annotated[BaseStore, InjectedStore()]) -> str:
    """Saves a note to long-term memory under the current thread."""
    thread_id = config["configurable"]["thread_id"]
    key = hashlib.sha256(note.encode()).hexdigest()[:16]
    store.put(NOTES + (thread_id,), key, {"note": note}, index=False)
    return f"saved note {key}"


# ----------------------------------------------------------------------------- the graph

class ResearchState(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


class TeamState(TypedDict, total=False):
    task: str
    conversation_id: str
    messages: Annotated[list[BaseMessage], add_messages]
    findings: list[dict[str, Any]]
    draft: str
    review: str
    published: bool
    route: str


class ExecutionRecorder:
    """Records each agent run as an execution of the conversation: created running, then
    completed with its output and tokens (or failed with the error)."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        #: Set by --crash-after. The next agent ends the process as it starts: by then the
        #: previous step's checkpoint is stored (durability="sync"), so a new run resumes there.
        self.crash_before_next_agent = False

    def run(self, state: TeamState, agent: str, kind: str, input: Any,
            work: Callable[[], tuple[dict[str, Any], Any, int]]) -> dict[str, Any]:
        if self.crash_before_next_agent:
            print(f"crashing on purpose before {agent} (--crash-after); run again to resume", flush=True)
            os._exit(CRASH_EXIT_STATUS)
        execution = self.conversations.create_execution(state["conversation_id"], agent, kind, input)
        try:
            update, output, tokens = work()
        except Exception as error:
            self.conversations.fail_execution(execution.id, f"{type(error).__name__}: {error}")
            raise
        done = self.conversations.complete_execution(execution.id, output=output, tokens_used=tokens)
        print(f"    execution {agent}: {done.status}, {done.duration_ms} ms, {done.tokens_used} tokens")
        return update


def build_graph(recorder: ExecutionRecorder):  # type: ignore[no-untyped-def]
    supervisor_model = ScriptedChatModel(script=supervisor_script)
    researcher_model = ScriptedChatModel(script=researcher_script)
    writer_model = ScriptedChatModel(script=writer_script)

    # The researcher: a model-and-tools loop, compiled on its own and run as a subgraph.
    def research_agent(state: ResearchState) -> dict[str, Any]:
        return {"messages": [researcher_model.invoke(state["messages"])]}

    research = StateGraph(ResearchState)
    research.add_node("agent", research_agent)
    research.add_node("tools", ToolNode([recall_packages, save_memory]))
    research.add_edge(START, "agent")
    research.add_conditional_edges("agent", tools_condition)
    research.add_edge("tools", "agent")
    research_graph = research.compile()

    def supervisor(state: TeamState) -> dict[str, Any]:
        progress = {"findings": bool(state.get("findings")), "draft": bool(state.get("draft")),
                    "review": state.get("review", ""), "published": state.get("published", False)}

        def work() -> tuple[dict[str, Any], Any, int]:
            reply = supervisor_model.invoke([HumanMessage(json.dumps(progress))])
            route = str(reply.content).removeprefix("route: ")
            return {"route": route}, route, tokens_of([reply])
        return recorder.run(state, "supervisor", "supervisor", progress, work)

    def researcher(state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any, int]:
            result = research_graph.invoke({"messages": [HumanMessage(state["task"])]}, config)
            recalled = next(message for message in result["messages"]
                            if isinstance(message, ToolMessage) and message.name == "recall_packages")
            findings = json.loads(str(recalled.content))
            summary = AIMessage(content=result["messages"][-1].content, name="researcher")
            update = {"findings": findings, "messages": [summary]}
            return update, [hit["package"] for hit in findings], tokens_of(result["messages"])
        return recorder.run(state, "researcher", "worker", state["task"], work)

    def writer(state: TeamState) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any, int]:
            reply = writer_model.invoke([HumanMessage(json.dumps(
                {"task": state["task"], "findings": state["findings"]}))])
            draft = AIMessage(content=reply.content, name="writer")
            return {"draft": str(reply.content), "messages": [draft]}, str(reply.content), tokens_of([reply])
        return recorder.run(state, "writer", "worker", state["task"], work)

    def human_review(state: TeamState) -> dict[str, Any]:
        # Stops the run here; the value given to Command(resume=...) comes back as the decision.
        # The execution is recorded after the answer, as this node runs again on resume.
        decision = interrupt({"question": "Publish this recommendation? (approve/reject)",
                              "draft": state["draft"]})
        return recorder.run(state, "human", "human", state["draft"],
                            lambda: ({"review": decision}, decision, 0))

    def publisher(state: TeamState, config: RunnableConfig, *, store: BaseStore) -> dict[str, Any]:
        def work() -> tuple[dict[str, Any], Any, int]:
            thread_id = config["configurable"]["thread_id"]
            store.put(ANSWERS, thread_id, {"task": state["task"], "answer": state["draft"]}, index=False)
            return {"published": True}, {"namespace": list(ANSWERS), "key": thread_id}, 0
        return recorder.run(state, "publisher", "worker", state["draft"], work)

    team = StateGraph(TeamState)
    team.add_node("supervisor", supervisor)
    team.add_node("researcher", researcher)
    team.add_node("writer", writer)
    team.add_node("human_review", human_review)
    team.add_node("publisher", publisher)
    team.add_edge(START, "supervisor")
    team.add_conditional_edges("supervisor", lambda state: state["route"],
                               {"researcher": "researcher", "writer": "writer",
                                "human_review": "human_review", "publisher": "publisher",
                                "FINISH": END})
    for worker in ("researcher", "writer", "human_review", "publisher"):
        team.add_edge(worker, "supervisor")
    return team


# ----------------------------------------------------------------------------- running it

def load_packages(store: AgentStoreStore, packages: list[dict[str, Any]]) -> None:
    """Loads the package descriptions once: a marker item records that the load finished, and a
    repeated load would only replace items with themselves."""
    if store.get(EXAMPLE_STATE, LOAD_MARKER) is not None:
        print(f"memories: {len(packages)} package descriptions already loaded in {PACKAGES}")
        return
    started = time.monotonic()
    for start in range(0, len(packages), LOAD_BATCH_ITEMS):
        store.batch([PutOp(PACKAGES, record["package"],
                           {"package": record["package"], "section": record["section"],
                            "text": record["text"]}, index=["text"])
                     for record in packages[start:start + LOAD_BATCH_ITEMS]])
    store.put(EXAMPLE_STATE, LOAD_MARKER, {"count": len(packages)}, index=False)
    print(f"memories: loaded {len(packages)} package descriptions into {PACKAGES} "
          f"in {time.monotonic() - started:.1f} s")


def describe(update: Any) -> str:
    if not isinstance(update, dict):
        return repr(update)
    parts = []
    for key, value in update.items():
        if key == "messages":
            parts.append("messages+" + str(len(value)))
        elif key == "findings":
            parts.append("findings=" + ",".join(hit["package"] for hit in value))
        elif isinstance(value, str) and len(value) > 70:
            parts.append(f"{key}={value[:67]!r}...")
        else:
            parts.append(f"{key}={value!r}")
    return " ".join(parts)


def stream(graph: Any, payload: Any, config: RunnableConfig, crash_after: str | None = None,
           recorder: ExecutionRecorder | None = None) -> list[Any]:
    """Runs the graph, printing every node's update (subgraph steps indented); returns the
    interrupts it stopped at, if any. ``crash_after``: end the process abruptly when the agent
    after that top-level node starts, as a crash would (see ``ExecutionRecorder``)."""
    interrupts: list[Any] = []
    # durability="sync": each step's checkpoint is stored before the next step starts.
    for namespace, update in graph.stream(payload, config, stream_mode="updates", subgraphs=True,
                                          durability="sync"):
        where = "  " * (1 + len(namespace))
        for node, change in update.items():
            if node == "__interrupt__":
                interrupts.extend(change)
                continue
            inside = f"{namespace[-1].split(':')[0]}/" if namespace else ""
            print(f"{where}step {inside}{node}: {describe(change)}")
            if node == crash_after and not namespace and recorder is not None:
                recorder.crash_before_next_agent = True
    return interrupts


def print_recall(state: TeamState) -> None:
    print(f"recall: top packages for {state['task']!r}:")
    for rank, hit in enumerate(state.get("findings", []), 1):
        print(f"  {rank}. {hit['package']} (score {hit['score']}) - {hit['summary']}")


def print_executions(conversations: Conversations, conversation_id: str) -> None:
    conversation = conversations.get(conversation_id)
    print(f"conversation {conversation.id} {conversation.title!r}:")
    for execution in conversations.executions(conversation_id):
        print(f"  {execution.agent_name:<10} {execution.agent_type:<10} {execution.status:<9} "
              f"{execution.duration_ms} ms  {execution.tokens_used} tokens")
    for totals in conversations.totals(conversation_id=conversation_id):
        print(f"  totals {totals.agent_name}: {totals.executions} runs, {totals.tokens_used} tokens")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7411)
    parser.add_argument("--query", default=None,
                        help=f"task for a new thread (default {DEFAULT_QUERY!r}); one of --list-queries")
    parser.add_argument("--resume", metavar="THREAD_ID", help="resume this interrupted thread")
    parser.add_argument("--decision", default="approve", choices=["approve", "reject"],
                        help="the human's answer when resuming")
    parser.add_argument("--new", action="store_true", help="start a new thread even if one waits")
    parser.add_argument("--crash-after", choices=["researcher", "writer"],
                        help="end the process abruptly after this agent, as a crash would")
    parser.add_argument("--list-queries", action="store_true", help="print the searchable query texts")
    args = parser.parse_args(argv)

    packages, queries = load_sample()
    if args.list_queries:
        for query in queries:
            print(f"{query['text']}    (should find {query['target_package']})")
        return 0
    embeddings = PrecomputedEmbeddings(packages, queries)
    task = args.query or DEFAULT_QUERY
    if task not in embeddings.vectors:
        parser.error(f"no precomputed embedding for {task!r}; pick one from --list-queries")

    try:
        client = StoreClient.connect(args.host, args.port)
    except ConnectionFailedError as error:
        print(f"{error}\nIs the server running? Start it with scripts/run-server.sh "
              "(or give --host/--port).", file=sys.stderr)
        return 1
    store = AgentStoreStore(MemoryClient(client),
                            index={"dims": DIMENSIONS, "embed": embeddings, "fields": ["text"]})
    conversations = Conversations(client)
    with client, AgentStoreSaver.from_address(args.host, args.port) as saver:
        print(f"connected to agent-store at {args.host}:{args.port}")
        load_packages(store, packages)
        recorder = ExecutionRecorder(conversations)
        graph = build_graph(recorder).compile(checkpointer=saver, store=store)

        pending = store.get(EXAMPLE_STATE, "pending")
        thread_id = args.resume or (pending.value["thread_id"] if pending and not args.new else None)
        if thread_id is None:
            thread_id = str(uuid.uuid4())
            config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
            conversations.create(id=thread_id, title=f"Find a package: {task}"[:255],
                                 user_id="example-user", metadata={"example": "multi_agent"})
            print(f"new thread {thread_id} (also the conversation id), task: {task!r}")
            store.put(EXAMPLE_STATE, "pending", {"thread_id": thread_id}, index=False)
            interrupts = stream(graph, {"task": task, "conversation_id": thread_id}, config,
                                args.crash_after, recorder)
        else:
            config = {"configurable": {"thread_id": thread_id}}
            snapshot = graph.get_state(config)
            if not snapshot.next:
                print(f"thread {thread_id} has nothing to resume (finished already, or unknown)")
                store.delete(EXAMPLE_STATE, "pending")
                return 1
            checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
            if snapshot.interrupts:
                print(f"resuming thread {thread_id} from checkpoint {checkpoint_id} "
                      f"(waiting at {', '.join(snapshot.next)}) with decision {args.decision!r}")
                payload: Any = Command(resume=args.decision)
            else:
                # A run that died mid-way (not at the interrupt): continue from its last step.
                print(f"resuming thread {thread_id} from checkpoint {checkpoint_id} "
                      f"(next: {', '.join(snapshot.next)})")
                payload = None
            interrupts = stream(graph, payload, config)

        state = graph.get_state(config).values
        print_recall(state)
        if interrupts:
            print("interrupted: waiting for human approval of the draft:")
            print(f"  {interrupts[0].value['draft']}")
            print(f"thread: {thread_id}")
            print("to resume (also after restarting the server), run it again without --new:")
            print("  examples/python/run.sh")
            print("or name the thread and the decision:")
            print(f"  examples/python/run.sh --resume {thread_id} --decision approve")
        else:
            store.delete(EXAMPLE_STATE, "pending")
            outcome = "published" if state.get("published") else f"not published ({state.get('review')})"
            print(f"finished thread {thread_id}: {outcome}")
            notes = store.search(NOTES + (thread_id,))
            for note in notes:
                print(f"  note in memory: {note.value['note']}")
            print_executions(conversations, thread_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
