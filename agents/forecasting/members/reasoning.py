"""The reasoning pipeline (graph.py: queries -> retrieval -> relevance -> summaries -> k reasoning
samples -> trimmed mean) as an opt-in member: tens of model calls per target, so it is not a default;
its throughput is reported separately (benchmarks/forecast_walkforward.py --reasoning-sample)."""

from __future__ import annotations

from typing import Any

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member


class ReasoningMember(Member):
    name = "reasoning"

    def __init__(self, chat: Any, search_fn: Any | None = None, store: Any | None = None, samples: int = 1,
                 spec: str = "local") -> None:
        super().__init__()
        from fincortex.agents.forecasting.graph import ForecastConfig, Forecaster

        if chat is None:
            raise ValueError("the reasoning member needs a chat model")
        config = ForecastConfig(models=(spec,), retrieval=search_fn is not None, samples=samples)
        self.forecaster = Forecaster({spec: chat}, search_fn, config, store)

    @classmethod
    def from_context(cls, ctx: dict[str, Any]) -> "ReasoningMember":
        return cls(ctx.get("chat"), ctx.get("search_fn"), ctx.get("store"), spec=ctx.get("spec", "local"))

    def key(self) -> str:
        return f"{self.name}:{self.forecaster.agent_key()}"

    def _forecast(self, target: ForecastQuestion) -> float | None:
        return float(self.forecaster.forecast(target).raw_probability)
