"""Graph helpers shared by the analyst and the forecaster: a linear LangGraph, query-line cleaning."""

from __future__ import annotations

import re
from typing import Any

from langgraph.graph import END, START, StateGraph


def linear_graph(state: type, owner: Any, order: list[str], checkpointer: Any = None):
    """Compile START -> order[0] -> ... -> order[-1] -> END with `owner.<name>` as each node."""
    graph = StateGraph(state)
    for name in order:
        graph.add_node(name, getattr(owner, name))
    graph.add_edge(START, order[0])
    for a, b in zip(order, order[1:]):
        graph.add_edge(a, b)
    graph.add_edge(order[-1], END)
    return graph.compile(checkpointer=checkpointer)


def clean_query_lines(text: str, limit: int) -> list[str]:
    """Model output -> up to `limit` plausible queries (numbering, bullets and quotes removed)."""
    out: list[str] = []
    for line in text.splitlines():
        q = re.sub(r"^\s*(?:[-*•]|\d+[.)]|query\s*\d*:)\s*", "", line, flags=re.IGNORECASE).strip(" \"'`")
        if 3 <= len(q) <= 120 and len(re.findall(r"[A-Za-z]{2,}", q)) >= 2 and q.lower() not in {o.lower() for o in out}:
            out.append(q)
        if len(out) >= limit:
            break
    return out
