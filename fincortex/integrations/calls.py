"""The calls every integration makes, as JSON-ready dicts: each one is a `Client` call, nothing more.

Why one module: LangChain, MCP and REST must return the same shapes and record the same runs. Search,
SQL and the calculator go through the agents' own tools bound to a recorded run (`Client.agent_tools`),
so the point-in-time rule (no hit after the run's as_of, LeakageError otherwise) and the audit trail
(`fincortex agent-audit RUN_ID`) are those of every other agent run. ask, forecast and backtest record
their own runs (analyst, forecaster, backtest); `recorded` adds the caller's run that points at them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fincortex.integrations.schemas import (AskArgs, BacktestArgs, CalculatorArgs, ForecastArgs, ForecastRoundArgs,
                                            PointInTimeSearchArgs, SearchArgs, SqlArgs)
from fincortex.progress import Progress

if TYPE_CHECKING:
    from fincortex.agents.common.toolbox import AgentToolbox
    from fincortex.client import Client



def jsonable(value: Any) -> Any:
    """Plain JSON types only (datetimes as ISO strings, dataclasses through their as_dict)."""
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        if hasattr(o, "as_dict"):
            return o.as_dict()
        return str(o)

    return json.loads(json.dumps(value, default=default))


def hit_metadata(hit: Any) -> dict[str, Any]:
    """A hit's `as_dict()` without its text: chunk/doc ids, title, source, ticker, pages, available_at,
    citation and the per-stage `scores` / `ranks` mappings, in whatever shape retrieval/hits.py gives."""
    out = hit.as_dict()
    out.pop("text", None)
    return out


def within(toolbox: AgentToolbox, as_of: str | None) -> datetime:
    """The call's point in time: its as_of, never later than the run's (a later one is refused)."""
    from fincortex.agents.common.errors import ToolError
    from fincortex.retrieval.filters import parse_as_of

    when = parse_as_of(as_of) if as_of else toolbox.as_of
    if when > toolbox.as_of:
        raise ToolError(f"as_of {when} is after the run's point in time {toolbox.as_of}")
    return when


# -- the tools of one open run (LangChain toolkit, and each MCP/REST call through `recorded`) ----------
def search_in(toolbox: AgentToolbox, args: PointInTimeSearchArgs) -> dict[str, Any]:
    hits = toolbox.search(args.query, k=args.k, as_of=args.as_of, tickers=args.tickers, doc_types=args.doc_types,
                          sources=args.sources)
    return {"run_id": toolbox.run_id, "as_of": within(toolbox, args.as_of).isoformat(),
            "hits": jsonable([h.as_dict() for h in hits]), "warnings": list(toolbox.search.warnings)}


def sql_in(toolbox: AgentToolbox, args: SqlArgs) -> dict[str, Any]:
    return {"run_id": toolbox.run_id, **jsonable(toolbox.sql(args.sql))}


def calculate_in(toolbox: AgentToolbox, args: CalculatorArgs) -> dict[str, Any]:
    return {"run_id": toolbox.run_id, "expression": args.expression, "value": toolbox.calculate(args.expression)}


def ask_in(client: Client, toolbox: AgentToolbox, args: AskArgs) -> dict[str, Any]:
    answer = client.ask(args.question, as_of=within(toolbox, args.as_of), tickers=args.tickers, thread_id=args.thread_id,
                        model=args.model, sources=tuple(args.sources) if args.sources else None)
    toolbox.recorder.tool_call("ask", args.model_dump(), as_of=toolbox.as_of, summary=f"analyst run {answer.run_id}")
    return {**jsonable(answer.as_dict()), "analyst_run_id": answer.run_id, "run_id": toolbox.run_id}


def forecast_in(client: Client, toolbox: AgentToolbox, args: ForecastArgs) -> dict[str, Any]:
    from fincortex.agents.forecasting.forecastbench import ForecastQuestion

    when = within(toolbox, args.as_of)
    qid = "adhoc-" + hashlib.sha256(f"{args.question}|{when.isoformat()}".encode()).hexdigest()[:12]
    question = ForecastQuestion(id=qid, source="adhoc", question=args.question, forecast_date=when,
                                background=args.background, resolution_criteria=args.resolution_criteria,
                                resolution_date=_date(args.resolution_date))
    result = client.forecast_question(question, models=args.models, samples=args.samples, retrieval=args.retrieval)
    toolbox.recorder.tool_call("forecast", args.model_dump(), as_of=when, summary=f"forecaster run {result.run_id}")
    return {**jsonable(result.as_dict()), "forecaster_run_id": result.run_id, "run_id": toolbox.run_id}


def backtest_in(client: Client, toolbox: AgentToolbox, args: BacktestArgs, progress: Progress | None = None
                ) -> dict[str, Any]:
    report = client.backtest(args.symbol, args.start, args.end, tuple(args.agents), fees_bps=args.fees_bps,
                             slippage_bps=args.slippage_bps, seed=args.seed, progress=progress)
    toolbox.recorder.tool_call("backtest", args.model_dump(), summary=f"backtest run {report.run_id}")
    return {**jsonable(report.as_dict()), "backtest_run_id": report.run_id, "run_id": toolbox.run_id}


def forecast_round(client: Client, args: ForecastRoundArgs, progress: Progress | None = None) -> dict[str, Any]:
    """A ForecastBench round scored against its baselines (`Client.forecast`; its runs are recorded there)."""
    report = client.forecast(args.questions, args.resolutions, limit=args.limit, models=args.models,
                             samples=args.samples, retrieval=args.retrieval, progress=progress)
    return jsonable(report.as_dict())


def _date(text: str | None):
    from datetime import date

    return date.fromisoformat(text) if text else None


# -- one call = one recorded run (MCP, REST) ------------------------------------------------------------
def recorded(client: Client, kind: str, tool: str, args: Any, call: Callable[[AgentToolbox], dict[str, Any]],
             ) -> dict[str, Any]:
    """Open a run of `kind` bound to args.as_of (now if absent), make the call with its tools, close it."""
    mode, rerank = getattr(args, "mode", "hybrid"), getattr(args, "rerank", True)
    text = getattr(args, "query", None) or getattr(args, "question", None) or getattr(args, "sql", None) or tool
    toolbox = client.agent_tools(kind, f"{tool}: {text}"[:2000], getattr(args, "as_of", None), mode=mode,
                                 rerank=rerank, config={"tool": tool})
    try:
        out = call(toolbox)
    except Exception as exc:
        toolbox.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    toolbox.finish(result={k: v for k, v in out.items() if k.endswith("run_id")} | {"tool": tool})
    return out


def search(client: Client, args: SearchArgs, kind: str) -> dict[str, Any]:
    return recorded(client, kind, "search", args, lambda tb: search_in(tb, args))


def sql(client: Client, args: SqlArgs, kind: str) -> dict[str, Any]:
    return recorded(client, kind, "sql", args, lambda tb: sql_in(tb, args))


def ask(client: Client, args: AskArgs, kind: str) -> dict[str, Any]:
    return recorded(client, kind, "ask", args, lambda tb: ask_in(client, tb, args))


def forecast(client: Client, args: ForecastArgs, kind: str) -> dict[str, Any]:
    return recorded(client, kind, "forecast", args, lambda tb: forecast_in(client, tb, args))


def backtest(client: Client, args: BacktestArgs, kind: str, progress: Progress | None = None) -> dict[str, Any]:
    return recorded(client, kind, "backtest", args, lambda tb: backtest_in(client, tb, args, progress))
