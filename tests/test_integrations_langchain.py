"""LangChain: the retriever is Client.search inside a user's LangGraph graph; the tools are typed, point in
time and recorded (real DuckDB, real FAISS + BM25, the PyPI embedder)."""

from __future__ import annotations

import json
from typing import TypedDict

import pytest
from integrations_support import AS_OF, QUERY, future_chunk_ids, indexed_client


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return indexed_client(tmp_path_factory.mktemp("lc"))


def test_retriever_in_a_langgraph_graph_returns_client_search_chunk_ids(world):
    from langgraph.graph import END, START, StateGraph

    from fincortex.integrations.langchain import FincortexRetriever

    client, store = world
    retriever = FincortexRetriever(client=client, k=5, as_of=AS_OF, tickers=["AAPL"], mode="hybrid", rerank=True)

    class State(TypedDict, total=False):
        question: str
        chunk_ids: list[int]
        docs: list

    def retrieve(state: State) -> State:
        docs = retriever.invoke(state["question"])
        return {"docs": docs, "chunk_ids": [d.metadata["chunk_id"] for d in docs]}

    graph = StateGraph(State)
    graph.add_node("retrieve", retrieve)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", END)
    out = graph.compile().invoke({"question": QUERY})

    expected = client.search(QUERY, k=5, as_of=AS_OF, tickers=["AAPL"], mode="hybrid", rerank=True)
    assert out["chunk_ids"] == [h.chunk_id for h in expected] and len(expected) == 5
    assert not set(out["chunk_ids"]) & future_chunk_ids(store)  # as_of excludes the planted later documents
    unbounded = FincortexRetriever(client=client, k=20, tickers=["AAPL"]).invoke(QUERY)
    assert {d.metadata["chunk_id"] for d in unbounded} & future_chunk_ids(store)  # ...which exist and match
    doc, hit = out["docs"][0], expected[0]
    assert doc.page_content == hit.text and doc.id == str(hit.chunk_id)
    meta = doc.metadata
    assert (meta["doc_id"], meta["title"], meta["source"], meta["ticker"]) == (hit.doc_id, hit.title, hit.source, "AAPL")
    assert {"page_start", "page_end", "citation"} <= set(meta)
    assert meta["available_at"] == hit.available_at.isoformat() and meta["available_at"] <= AS_OF + "T23:59:59.999999"
    assert {"dense", "bm25"} <= set(meta["scores"]) and meta["scores"] == hit.scores
    json.dumps(meta)  # plain JSON: documents can go to any vector store / tracer


def test_toolkit_tools_are_typed_point_in_time_and_recorded(world):
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    from fincortex.integrations.langchain import FincortexToolkit

    client, store = world
    toolkit = FincortexToolkit(client, as_of=AS_OF, rerank=False)
    tools = toolkit.get_tools()
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"fincortex_search", "fincortex_sql", "fincortex_calculator", "fincortex_ask",
                            "fincortex_forecast"}
    schema = by_name["fincortex_search"].args_schema.model_json_schema()
    assert schema["required"] == ["query"] and schema["properties"]["k"]["maximum"] == 100
    assert by_name["fincortex_calculator"].args_schema.model_json_schema()["required"] == ["expression"]

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    calls = [{"name": "fincortex_search", "args": {"query": QUERY, "k": 4}, "id": "s1"},
             {"name": "fincortex_calculator", "args": {"expression": "1,496.5 * 12.5%"}, "id": "c1"},
             {"name": "fincortex_sql", "args": {"sql": "SELECT count(*) AS n FROM documents"}, "id": "q1"},
             {"name": "fincortex_search", "args": {"query": QUERY, "as_of": "2020-06-01"}, "id": "s2"}]
    out = graph.compile().invoke({"messages": [AIMessage(content="", tool_calls=calls)]})
    replies = {m.tool_call_id: m for m in out["messages"][1:]}
    hits = json.loads(replies["s1"].content)["hits"]
    assert len(hits) == 4 and not {h["chunk_id"] for h in hits} & future_chunk_ids(store)
    assert json.loads(replies["c1"].content)["value"] == pytest.approx(187.0625)
    assert json.loads(replies["q1"].content)["rows"] == [[9]]
    assert replies["s2"].status == "error" and "after the run's point in time" in replies["s2"].content
    refused = by_name["fincortex_sql"].invoke({"sql": "DELETE FROM documents"})  # the model reads why
    assert isinstance(refused, str) and "SELECT" in refused
    with pytest.raises(ValueError, match="k"):  # the typed schema rejects bad arguments before any call
        by_name["fincortex_search"].invoke({"query": QUERY, "k": 0})

    toolkit.finish()
    run = client.agent_run(toolkit.run_id)
    assert run["kind"] == "langchain" and run["status"] == "ok"
    tools_called = [c["tool"] for c in run["tool_calls"]]
    assert tools_called.count("search") == 2 and "calculator" in tools_called and "sql" in tools_called
    audit = client.agent_audit(toolkit.run_id)
    assert audit["n_chunks"] == 4  # the chunks of s1; none is later than the run's as_of
    # the refused look-ahead attempt (s2) is what the audit reports, and all it reports
    assert [v["problem"] for v in audit["violations"]] == ["search bound past the run's as_of"]


def test_ask_and_forecast_tools_run_the_agents_at_the_toolkits_point_in_time(world, tmp_path_factory):
    from fincortex.integrations.langchain import FincortexToolkit
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    client, store = world
    tiny = str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0))
    toolkit = FincortexToolkit(client, as_of=AS_OF)
    by_name = {t.name: t for t in toolkit.get_tools()}
    answer = by_name["fincortex_ask"].invoke({"question": "Did Apple revenue grow?", "model": tiny})
    assert answer["as_of"].startswith("2020-03-01 23:59") and answer["analyst_run_id"] != answer["run_id"]
    seen = {c["chunk_id"] for call in client.agent_run(answer["analyst_run_id"])["tool_calls"] for c in call["chunks"]}
    assert seen and not seen & future_chunk_ids(store)
    assert client.agent_audit(answer["analyst_run_id"])["clean"]
    later = by_name["fincortex_ask"].invoke({"question": "Did Apple revenue grow?", "model": tiny, "as_of": "2021-01-01"})
    assert "after the run's point in time" in later  # refused, not answered with a later corpus

    forecast = by_name["fincortex_forecast"].invoke({"question": "Will Apple raise its dividend again by June 2020?",
                                                     "models": [tiny], "samples": 1})
    assert 0 < forecast["probability"] < 1 and forecast["forecast_date"].startswith("2020-03-01T23:59")
    evidence = {e["chunk_id"] for e in forecast["evidence"]}
    assert not evidence & future_chunk_ids(store)
    assert client.agent_audit(forecast["forecaster_run_id"])["clean"]
    toolkit.finish()
    calls = [c["tool"] for c in client.agent_run(toolkit.run_id)["tool_calls"]]
    assert calls == ["ask", "forecast"]  # the refused ask never reached the analyst
