"""Typed arguments of every integration tool, shared by LangChain (args_schema), MCP (input schema) and
REST (request bodies), so the three publish one schema per tool.

Why pydantic: langchain-core, the mcp SDK and FastAPI all read pydantic v2 models natively; validation
errors then name the field and the problem without code of ours.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AsOf = Annotated[str | None, Field(
    description="Point in time (ISO date or datetime, UTC; a bare date = the end of that day). Nothing that "
                "became public after it is used. Default: now.")]
Mode = Literal["hybrid", "dense", "bm25"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt argument is an error, not silently ignored


class PointInTimeSearchArgs(_Args):
    query: str = Field(min_length=1, description="What to look for (natural language or keywords).")
    k: int = Field(10, ge=1, le=100, description="How many hits to return.")
    as_of: AsOf = None
    tickers: list[str] | None = Field(None, description="Only documents of these tickers.")
    doc_types: list[str] | None = Field(None, description="Only these document types (filing, news, transcript, ...).")
    sources: list[str] | None = Field(None, description="Only these sources (ectsum, headlines, tatqa, file, ...).")


class SearchArgs(PointInTimeSearchArgs):
    mode: Mode = Field("hybrid", description="hybrid (dense + BM25, fused), dense or bm25.")
    rerank: bool = Field(True, description="Re-score the top hits with the trained cross-encoder when one exists.")


class SqlArgs(_Args):
    sql: str = Field(min_length=1, description="One SELECT over the tables documents, chunks, prices (read-only).")


class CalculatorArgs(_Args):
    expression: str = Field(min_length=1, max_length=500,
                            description="Arithmetic: numbers, + - * / // % ** ( ), abs round min max sqrt log exp; "
                                        "'12.5%' = 0.125, '1,234' = 1234.")


class AskArgs(_Args):
    question: str = Field(min_length=1, description="A question to answer from the corpus, with citations.")
    as_of: AsOf = None
    tickers: list[str] | None = Field(None, description="Only documents of these tickers.")
    sources: list[str] | None = Field(None, description="Only these sources (ectsum, headlines, tatqa, file, ...).")
    thread_id: str | None = Field(None, description="Continue this conversation (returned by an earlier ask).")
    model: str | None = Field(None, description="Chat model spec (local | folder | registered name | openai:URL#model).")


class ForecastArgs(_Args):
    question: str = Field(min_length=1, description="A yes/no question about the future.")
    as_of: AsOf = None
    background: str = Field("", description="Context for the question.")
    resolution_criteria: str = Field("", description="How the question resolves.")
    resolution_date: str | None = Field(None, description="ISO date the question resolves on.")
    models: list[str] | None = Field(None, description="Chat model specs (several = an ensemble). Default: settings.")
    samples: int = Field(3, ge=1, le=20, description="Reasoning samples per model.")
    retrieval: bool = Field(True, description="Search the corpus (point in time) for evidence.")


class ForecastRoundArgs(_Args):
    questions: str = Field(min_length=1, description="ForecastBench question set JSON (a path on the server).")
    resolutions: str = Field(min_length=1, description="Its resolution set JSON (a path on the server).")
    limit: int | None = Field(None, ge=1, description="Forecast only the first N resolved targets.")
    models: list[str] | None = Field(None, description="Chat model specs (several = an ensemble). Default: settings.")
    samples: int = Field(3, ge=1, le=20, description="Reasoning samples per model.")
    retrieval: bool = Field(True, description="Search the corpus (point in time) for evidence.")


class BacktestArgs(_Args):
    symbol: str = Field(min_length=1, description="Price symbol in the database (e.g. BTC).")
    start: str = Field(description="First decision day (ISO date).")
    end: str = Field(description="Last decision day (ISO date, inclusive).")
    agents: list[Literal["buyhold", "sma", "momentum", "llm"]] = Field(
        default_factory=lambda: ["buyhold"], description="Strategies to run; buy-and-hold is always included.")
    fees_bps: float = Field(10.0, ge=0, description="Fees per trade, basis points.")
    slippage_bps: float = Field(5.0, ge=0, description="Slippage per trade, basis points.")
    seed: int = Field(0, description="Random seed (LLM sampling, bootstrap).")


def signature_of(model: type[BaseModel]) -> inspect.Signature:
    """A keyword-only signature with one annotated parameter per field (what the mcp SDK derives its
    input schema from), so an MCP tool publishes exactly `model`'s schema."""
    params = []
    for name, info in model.model_fields.items():
        # the default moves to the parameter: pydantic refuses a default inside Annotated[..., Field()]
        field = Field(description=info.description)
        annotation: Any = Annotated[(info.annotation, *info.metadata, field)]
        default = info.get_default(call_default_factory=True) if not info.is_required() else inspect.Parameter.empty
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return inspect.Signature(params, return_annotation=dict[str, Any])
