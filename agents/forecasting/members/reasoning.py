"""The reasoning pipeline (graph.py: queries -> retrieval -> relevance -> summaries -> k reasoning
samples -> trimmed mean) as an opt-in member: tens of model calls per target, so it is not a default;
its throughput is reported separately (benchmarks/forecast_walkforward.py --reasoning-sample)."""

from __future__ import annotations

from typing import Any

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member


class ReasoningMember(Member):
    name = "reasoning"

    def __init__(self, deps: Any, spec: str = "local", samples: int = 1) -> None:
        super().__init__()
        from fincortex.agents.forecasting.graph import ForecastConfig, Forecaster

        if deps is None:
            raise ValueError("the reasoning member needs the agent deps (chat model, search, store)")
        config = ForecastConfig(models=(spec,), retrieval=deps.search is not None, samples=samples)
        self.forecaster = Forecaster(deps, config)

    @classmethod
    def from_context(cls, ctx: dict[str, Any]) -> "ReasoningMember":
        deps = ctx.get("deps")
        if deps is not None and ctx.get("chat") is not None:
            deps = deps.with_chats({ctx.get("spec", "local"): ctx["chat"]}).with_search(ctx.get("search_fn"))
        return cls(deps, spec=ctx.get("spec", "local"))

    def key(self) -> str:
        return f"{self.name}:{self.forecaster.agent_key()}"

    def _forecast(self, target: ForecastQuestion) -> float | None:
        return float(self.forecaster.forecast(target).raw_probability)
