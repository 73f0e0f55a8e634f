"""Tools the analyst and forecasting agents call: point-in-time search, read-only SQL, a calculator.

Each tool records every call (arguments, the as_of it was bound to, the chunk ids it returned) through
the run's `RunRecorder`, so the run can be audited afterwards (agents/common/runs.py).

- `PointInTimeSearch`: bound at construction to the run's as_of; every call carries an as_of no later
  than that bound and passes it to the retrieval stack, which filters exactly. Hits are re-checked
  here and a future hit fails the call loudly (a retrieval bug must never be hidden by a filter).
- `ReadOnlySQL` (agents/common/sql_tool.py): one SELECT, run on an isolated DuckDB connection where only
  copies of the allowed tables exist and DuckDB's external access, extension loading and configuration
  are switched off/locked; scope-correct name checks (agents/common/sql_guard.py), row, byte and time limits.
- `calculate` (agents/common/calculator.py): arithmetic on numbers only, evaluated by walking `ast`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# the SQL tool and the calculator live in their own modules; importing them from here keeps old imports working
from fincortex.agents.common.calculator import calculate  # noqa: F401
from fincortex.agents.common.errors import ToolError
from fincortex.agents.common.runs import LeakageError, RunRecorder, SeenChunk
from fincortex.agents.common.sql_tool import DEFAULT_SQL_TABLES, ReadOnlySQL  # noqa: F401
from fincortex.retrieval.filters import parse_as_of


# -- point-in-time search -----------------------------------------------------------------------------
@dataclass
class PointInTimeSearch:
    """`search(query, k, as_of=...)` that can never look past the run's point in time.

    search_fn: `Client.search`-like callable (query, k=, as_of=, tickers=, doc_types=, sources=, mode=,
    rerank=) -> SearchResults (a list of hits with chunk_id, text, available_at, score, ...).
    """

    search_fn: Callable[..., Any]
    as_of: datetime
    recorder: RunRecorder
    mode: str = "hybrid"
    rerank: bool = True
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        bound = parse_as_of(self.as_of)
        if bound is None:
            raise ToolError("point-in-time search needs an as_of (the run's 'now'); got None")
        self.as_of = bound

    def __call__(self, query: str, k: int = 8, *, as_of: datetime | date | str | None = None,
                 tickers: list[str] | None = None, doc_types: list[str] | None = None,
                 sources: list[str] | None = None, doc_ids: list[int] | None = None) -> list[Any]:
        call_as_of = parse_as_of(as_of) if as_of is not None else self.as_of
        args = {"query": query, "k": k, "tickers": tickers, "doc_types": doc_types, "sources": sources,
                "mode": self.mode, "rerank": self.rerank}
        if doc_ids:  # the analyst's company/period scope (agents/analyst/scope.py)
            args["doc_ids"] = [int(d) for d in doc_ids]
        started, clock = datetime.now(), time.perf_counter()
        if call_as_of > self.as_of:
            message = f"search as_of {call_as_of} is after the run's point in time {self.as_of}"
            self.recorder.tool_call("search", args, as_of=call_as_of, ok=False, error=message, started_at=started)
            raise ToolError(message)
        try:
            with warnings.catch_warnings():  # "rerank unavailable" is reported through results.warnings
                warnings.simplefilter("ignore")
                extra = {"doc_ids": args["doc_ids"]} if doc_ids else {}
                hits = self.search_fn(query, k=k, as_of=call_as_of, tickers=tickers, doc_types=doc_types,
                                      sources=sources, mode=self.mode, rerank=self.rerank, **extra)
        except Exception as exc:
            self.recorder.tool_call("search", args, as_of=call_as_of, ok=False, error=f"{type(exc).__name__}: {exc}",
                                    started_at=started, ms=_ms(clock))
            raise
        for note in getattr(hits, "warnings", []) or []:
            if note not in self.warnings:
                self.warnings.append(note)
        seen = [SeenChunk(int(h.chunk_id), int(getattr(h, "rank", i + 1)), _float(getattr(h, "score", None)),
                          h.available_at, dict(getattr(h, "scores", None) or {})) for i, h in enumerate(hits)]
        future = [s for s in seen if s.available_at > call_as_of]
        self.recorder.tool_call("search", args, as_of=call_as_of, ok=not future, chunks=seen,
                                error=f"{len(future)} hit(s) from after as_of" if future else None,
                                summary=f"{len(seen)} hits", started_at=started, ms=_ms(clock))
        if future:
            raise LeakageError(f"search returned {len(future)} chunk(s) available after as_of {call_as_of}: "
                               f"{[s.chunk_id for s in future][:5]}")
        return list(hits)

    @property
    def reranked_note(self) -> str | None:
        """Why results are not reranked, when that is the case (None when reranking ran or was not asked)."""
        return next((w for w in self.warnings if "rerank" in w), None)


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _ms(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 3)
