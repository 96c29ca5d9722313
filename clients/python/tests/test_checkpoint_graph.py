"""A LangGraph graph with a subgraph and an interrupt, checkpointed by ``AgentStoreSaver`` through
a real store-server. The server is killed and restarted while the graph waits at the interrupt;
a new saver instance (a new process would do the same) resumes it with ``Command(resume=...)``.

The chat model is langchain_core's scripted fake: it answers from a fixed list, so a node that
ran twice would show up as a wrong answer.
"""
from __future__ import annotations

import asyncio
import operator
import uuid
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt

from agent_store.langgraph import AgentStoreSaver

from checkpoint_server import checkpoint_server, requires_server  # noqa: F401 (fixture)

pytestmark = requires_server

SCRIPT = [AIMessage(content="draft: the answer is 42"),
          AIMessage(content="final: 42, as approved")]


class State(TypedDict):
    messages: Annotated[list, add_messages]
    approved: bool
    steps: Annotated[list[str], operator.add]


def build_graph(model: FakeMessagesListChatModel, checkpointer: AgentStoreSaver):
    def draft(state: State) -> dict:
        return {"messages": [model.invoke(state["messages"])], "steps": ["draft"]}

    def review(state: State) -> dict:
        # Runs inside the subgraph, so its checkpoint lives in a child namespace.
        answer = interrupt({"question": "approve?", "draft": state["messages"][-1].content})
        return {"approved": answer == "yes", "steps": ["review"]}

    agent = StateGraph(State)
    agent.add_node("draft", draft)
    agent.add_node("review", review)
    agent.add_edge(START, "draft")
    agent.add_edge("draft", "review")
    agent.add_edge("review", END)

    def final(state: State) -> dict:
        assert state["approved"] is True
        return {"messages": [model.invoke(state["messages"])], "steps": ["final"]}

    graph = StateGraph(State)
    graph.add_node("agent", agent.compile())  # the subgraph shares the parent's checkpointer
    graph.add_node("final", final)
    graph.add_edge(START, "agent")
    graph.add_edge("agent", "final")
    graph.add_edge("final", END)
    return graph.compile(checkpointer=checkpointer)


def test_graph_resumes_after_store_server_restart(checkpoint_server):
    model = FakeMessagesListChatModel(responses=list(SCRIPT))
    thread = {"configurable": {"thread_id": f"graph-{uuid.uuid4()}"}}

    with AgentStoreSaver.from_address("127.0.0.1", checkpoint_server.port) as saver:
        graph = build_graph(model, saver)
        result = graph.invoke({"messages": [HumanMessage(content="what is 6*7?")],
                               "approved": False, "steps": []}, thread)
        assert result["__interrupt__"][0].value == {"question": "approve?",
                                                    "draft": "draft: the answer is 42"}
        state = graph.get_state(thread, subgraphs=True)
        assert state.next == ("agent",)
        assert state.tasks[0].state.next == ("review",)  # the subgraph waits in its namespace
        namespaces = {t.config["configurable"]["checkpoint_ns"]
                      for t in saver.list({"configurable": thread["configurable"]})}
        assert "" in namespaces and any(ns.startswith("agent:") for ns in namespaces)

    checkpoint_server.kill()  # no goodbye, nothing flushed by the server on the way out
    checkpoint_server.start()

    with AgentStoreSaver.from_address("127.0.0.1", checkpoint_server.port) as saver:
        graph = build_graph(model, saver)
        result = graph.invoke(Command(resume="yes"), thread)
        assert [m.content for m in result["messages"]] == [
            "what is 6*7?", "draft: the answer is 42", "final: 42, as approved"]
        assert result["approved"] is True
        assert result["steps"] == ["draft", "review", "final"]
        assert graph.get_state(thread).next == ()
        history = list(graph.get_state_history(thread))
        assert len(history) >= 4
        assert history[0].parent_config is not None


def test_async_graph_resumes_with_a_new_saver(checkpoint_server):
    async def scenario():
        model = FakeMessagesListChatModel(responses=list(SCRIPT))
        thread = {"configurable": {"thread_id": f"agraph-{uuid.uuid4()}"}}
        async with await AgentStoreSaver.afrom_address("127.0.0.1",
                                                       checkpoint_server.port) as saver:
            graph = build_graph(model, saver)
            result = await graph.ainvoke({"messages": [HumanMessage(content="what is 6*7?")],
                                          "approved": False, "steps": []}, thread)
            assert "__interrupt__" in result
        await asyncio.to_thread(checkpoint_server.kill)
        await asyncio.to_thread(checkpoint_server.start)
        async with await AgentStoreSaver.afrom_address("127.0.0.1",
                                                       checkpoint_server.port) as saver:
            graph = build_graph(model, saver)
            result = await graph.ainvoke(Command(resume="yes"), thread)
            assert result["messages"][-1].content == "final: 42, as approved"
            assert result["steps"] == ["draft", "review", "final"]
    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_many_graphs_share_one_saver_from_many_threads(checkpoint_server):
    """16 threads each run a graph to its interrupt and resume it, all through one saver (one
    connection): every thread gets its own history back, none mixed with another's."""
    from concurrent.futures import ThreadPoolExecutor

    def run(saver: AgentStoreSaver, index: int) -> list[str]:
        model = FakeMessagesListChatModel(responses=[
            AIMessage(content=f"draft {index}"), AIMessage(content=f"final {index}")])
        graph = build_graph(model, saver)
        thread = {"configurable": {"thread_id": f"many-{index}-{uuid.uuid4()}"}}
        graph.invoke({"messages": [HumanMessage(content=f"question {index}")],
                      "approved": False, "steps": []}, thread)
        result = graph.invoke(Command(resume="yes"), thread)
        return [m.content for m in result["messages"]]

    with AgentStoreSaver.from_address("127.0.0.1", checkpoint_server.port) as saver:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda index: run(saver, index), range(16)))
        assert saver.client.client.connections_opened == 1
    assert results == [[f"question {i}", f"draft {i}", f"final {i}"] for i in range(16)]
