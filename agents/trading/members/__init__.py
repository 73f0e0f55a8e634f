"""Ensemble members: each one file; this registry maps a name to `module:Class` (one line each)."""

from __future__ import annotations

import importlib

from fincortex.agents.trading.members.base import Day, Member, MemberContext, Outcome

MEMBERS = {
    "momentum": "momentum:MomentumMember",
    "sma_trend": "sma_trend:SMATrendMember",
    "vol_regime": "vol_regime:VolRegimeMember",
    "drawdown": "drawdown:DrawdownMember",
    "headline_llm": "headline_llm:HeadlineLLMMember",
    "sentiment": "sentiment:SentimentMember",
    "memory": "memory:MemoryMember",
    "llm_view": "llm_view:LLMViewMember",
}
DEFAULT_MEMBERS = tuple(MEMBERS)


def build_member(name: str) -> Member:
    if name not in MEMBERS:
        raise ValueError(f"unknown ensemble member {name!r}; choose from {', '.join(MEMBERS)}")
    module, cls = MEMBERS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()


__all__ = ["Day", "Member", "MemberContext", "Outcome", "MEMBERS", "DEFAULT_MEMBERS", "build_member"]
