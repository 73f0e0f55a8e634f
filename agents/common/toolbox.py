"""The agents' own tools bound to one recorded run, for callers outside our graphs (LangChain, MCP, REST).

Why: a LangGraph graph of a user or an MCP client is an agent run like ours. It must get the same
point-in-time search (bound to the run's as_of, a later hit raises LeakageError), the same read-only SQL
and the same calculator, each call recorded with the chunk ids it returned so `audit_run` can check it.
This module only wires the existing tools (agents/common/tools.py, sql_tool.py, calculator.py) to one
`RunRecorder`; it adds no tool logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from fincortex.agents.common.calculator import calculate
from fincortex.agents.common.runs import RunRecorder
from fincortex.agents.common.sql_tool import ReadOnlySQL
from fincortex.agents.common.tools import PointInTimeSearch
from fincortex.store import Store


@dataclass
class AgentToolbox:
    """search / sql / calculate of one started run; `finish()` closes the run row."""

    recorder: RunRecorder
    search: PointInTimeSearch
    sql: ReadOnlySQL

    @property
    def run_id(self) -> str:
        return self.recorder.run_id

    @property
    def as_of(self) -> datetime:
        return self.search.as_of

    def calculate(self, expression: str) -> float:
        return calculate(expression, self.recorder)

    def finish(self, result: Any = None, error: str | None = None) -> None:
        self.recorder.finish(result=result, error=error)


def open_toolbox(store: Store, search_fn: Callable[..., Any], kind: str, question: str,
                 as_of: datetime | date | str | None = None, *, mode: str = "hybrid", rerank: bool = True,
                 config: dict[str, Any] | None = None) -> AgentToolbox:
    """Start a run of `kind` on `store` bound to `as_of` (None = now, UTC) and return its tools.

    search_fn: the retrieval service on that store (`Client.search`-like). Each call to the returned tools
    is a tool call of that run (agent_tool_calls / agent_tool_chunks)."""
    from fincortex.retrieval.filters import parse_as_of

    bound = parse_as_of(as_of) or datetime.now(timezone.utc).replace(tzinfo=None)
    recorder = RunRecorder(store, kind, question, bound, config={"mode": mode, "rerank": rerank, **(config or {})})
    search = PointInTimeSearch(search_fn, bound, recorder.start(), mode=mode, rerank=rerank)
    return AgentToolbox(recorder, search, ReadOnlySQL(store, recorder))
