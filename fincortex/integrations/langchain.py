"""LangChain: a `BaseRetriever` over `Client.search`, and the agents' tools as typed LangChain tools.

    from fincortex import Client
    from fincortex.integrations.langchain import FincortexRetriever, FincortexToolkit

    retriever = FincortexRetriever(client=Client(), as_of="2021-06-30", tickers=["AAP"], k=5)
    docs = retriever.invoke("operating margin guidance")      # Documents; metadata: chunk_id, scores, ...
    toolkit = FincortexToolkit(Client(), as_of="2021-06-30")  # one recorded run, bound to that as_of
    tools = toolkit.get_tools()                               # search, sql, calculator, ask, forecast

The retriever is `Client.search` and nothing else (same hits, same order). The toolkit opens one agent
run (`Client.agent_tools`, kind 'langchain'): every tool call a user's graph makes is recorded with the
chunk ids it returned, and no call can see past the toolkit's as_of (`fincortex agent-audit RUN_ID`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import ConfigDict, Field

from fincortex.agents.common.errors import ToolError
from fincortex.integrations import calls
from fincortex.integrations.schemas import (AskArgs, CalculatorArgs, ForecastArgs, Mode, PointInTimeSearchArgs,
                                            SqlArgs)


class FincortexRetriever(BaseRetriever):
    """Point-in-time hybrid search as a LangChain retriever: `Client.search` with these fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Any = Field(description="a fincortex.Client")
    k: int = Field(10, ge=1, le=100)
    as_of: str | None = None  # ISO date/datetime (UTC); None = no point-in-time bound
    tickers: list[str] | None = None
    doc_types: list[str] | None = None
    sources: list[str] | None = None
    mode: Mode = "hybrid"
    rerank: bool = True

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        results = self.client.search(query, k=self.k, as_of=self.as_of, tickers=self.tickers,
                                     doc_types=self.doc_types, sources=self.sources, mode=self.mode,
                                     rerank=self.rerank)
        for note in results.warnings:  # e.g. "not reranked": visible in LangSmith/callback traces
            run_manager.on_text(note)
        return [Document(page_content=hit.text, metadata=calls.hit_metadata(hit), id=str(hit.chunk_id))
                for hit in results]


class FincortexToolkit:
    """The agents' tools for a user's LangGraph graph: one recorded run bound to `as_of` (None = now).

    search / sql / calculator are the agents' own point-in-time search, read-only SQL and calculator;
    ask and forecast run the analyst and the forecaster (their own recorded runs) at an as_of no later
    than the toolkit's. Call `finish()` when the graph is done, to close the run row."""

    def __init__(self, client: Any, as_of: str | None = None, *, mode: str = "hybrid", rerank: bool = True,
                 name: str = "langchain toolkit") -> None:
        self.client = client
        self.toolbox = client.agent_tools("langchain", name, as_of, mode=mode, rerank=rerank)

    @property
    def run_id(self) -> str:
        return self.toolbox.run_id

    def finish(self, result: Any = None, error: str | None = None) -> None:
        self.toolbox.finish(result=result, error=error)

    def get_tools(self) -> list[BaseTool]:
        box, client = self.toolbox, self.client

        def tool(name: str, schema: type, description: str, fn) -> StructuredTool:
            def run(**kwargs: Any) -> dict[str, Any]:
                try:
                    return fn(schema(**kwargs))
                except ToolError as exc:  # a refused input goes back to the model as the tool's reply;
                    raise ToolException(str(exc)) from exc  # anything else (LeakageError included) raises

            return StructuredTool.from_function(func=run, name=name, description=description, args_schema=schema,
                                                handle_tool_error=True)

        return [
            tool("fincortex_search", PointInTimeSearchArgs,
                 "Search financial documents as of a point in time; returns hits with chunk ids, citations, "
                 "available_at and per-stage scores.", lambda a: calls.search_in(box, a)),
            tool("fincortex_sql", SqlArgs,
                 "Run one read-only SELECT over the documents, chunks and prices tables.", lambda a: calls.sql_in(box, a)),
            tool("fincortex_calculator", CalculatorArgs, "Evaluate an arithmetic expression exactly.",
                 lambda a: calls.calculate_in(box, a)),
            tool("fincortex_ask", AskArgs,
                 "Ask the fincortex analyst: an answer from retrieved passages with checked citations.",
                 lambda a: calls.ask_in(client, box, a)),
            tool("fincortex_forecast", ForecastArgs,
                 "Forecast the probability that a yes/no question resolves Yes, from evidence available at as_of.",
                 lambda a: calls.forecast_in(client, box, a)),
        ]
