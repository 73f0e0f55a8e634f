"""A LangGraph of nodes run one after another, shared by the analyst and the forecaster."""

from __future__ import annotations

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
