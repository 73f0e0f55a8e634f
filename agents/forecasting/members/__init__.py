"""Forecaster members: one file each, one registry line each. A member answers
`forecast(target, as_of) -> p | None` (None = abstains) after `prepare(view, targets)` gave it the
point-in-time history (history.HistoryView) of that as_of."""

from __future__ import annotations

import importlib
from typing import Any

MEMBERS = {
    "market": "fincortex.agents.forecasting.members.market:MarketMember",
    "base_rate": "fincortex.agents.forecasting.members.base_rate:BaseRateMember",
    "own_history": "fincortex.agents.forecasting.members.own_history:OwnHistoryMember",
    "series": "fincortex.agents.forecasting.members.series:SeriesMember",
    "llm_direct": "fincortex.agents.forecasting.members.llm_direct:LLMDirectMember",
    "reasoning": "fincortex.agents.forecasting.members.reasoning:ReasoningMember",
}
# llm_direct is opt-in: with the default SmolLM2-135M its measured walk-forward lift was -0.0002 while it
# costs most of a round's time (docs/forecasting.md); with a strong endpoint model add it (--members).
DEFAULT_MEMBERS = ("market", "base_rate", "own_history", "series")
STATISTICAL_MEMBERS = ("market", "base_rate", "own_history", "series")


def member_class(name: str) -> type:
    if name not in MEMBERS:
        raise ValueError(f"unknown forecaster member {name!r}; known: {', '.join(MEMBERS)}")
    module, cls = MEMBERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def parse_members(spec: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """'market,base_rate' or a list -> validated names (None = the defaults)."""
    if spec is None:
        return DEFAULT_MEMBERS
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:
        raise ValueError("--members is empty: name at least one member")
    for n in names:
        member_class(n)
    return tuple(dict.fromkeys(names))


def build(name: str, ctx: dict[str, Any] | None = None):
    return member_class(name).from_context(ctx or {})
