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
    "trend": "trend:TrendMember",
    "sma_signal": "sma_signal:SMASignalMember",
    "mom_signal": "mom_signal:MomentumSignalMember",
}
# The default set leaves out the two LLM members (opt-in by name, `members=(..., "llm_view")`): measured
# walk-forward on the dev windows their contribution was negative (llm_view: -0.16 Sharpe on BTC 2018-2019,
# -0.30 on ETH; headline_llm: no lift in the forecaster, absent before 2020) at SmolLM2-135M's cost.
DEFAULT_MEMBERS = tuple(m for m in MEMBERS if m not in ("headline_llm", "llm_view"))


def build_member(name: str) -> Member:
    if name not in MEMBERS:
        raise ValueError(f"unknown ensemble member {name!r}; choose from {', '.join(MEMBERS)}")
    module, cls = MEMBERS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()


__all__ = ["Day", "Member", "MemberContext", "Outcome", "MEMBERS", "DEFAULT_MEMBERS", "build_member"]
