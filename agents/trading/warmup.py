"""Indicator warm-up: load the bars before `start` that the agents' indicators need, and say when the
store does not have them (a 50-day SMA on a history that starts at the backtest start sits flat for 50
days; that used to happen without a word).

Each agent's need in bars: SMA crossover its slow window, momentum its lookback + 1, the LLM trader 50
(its SMA 50 feature), the ensemble its training window + 91 (its longest lookback); agents can state
their own with a `warmup_bars` attribute. `strict_warmup` refuses a run whose store cannot serve them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from fincortex.agents.trading.market import MarketData, to_datetime


class WarmupError(ValueError):
    """strict_warmup and the store lacks the history an agent's indicators need."""


def warmup_bars(agent: Any) -> int:
    need = getattr(agent, "warmup_bars", None)
    if need is not None:
        return int(need)
    if getattr(agent, "slow", None):
        return int(agent.slow)
    if getattr(agent, "lookback", None):
        return int(agent.lookback) + 1
    return 50 if agent.name == "llm" else 0


def warmup_days(config: Any, agents: Sequence[Any]) -> int:
    """Calendar days to load before the start: enough for the neediest agent on a 5-day-week calendar too."""
    bars = max([warmup_bars(a) for a in agents] or [0])
    return max(int(config.warmup_days), math.ceil(bars * 7 / 5) + 10)


def check_warmup(market: MarketData, config: Any, agents: Sequence[Any]) -> list[str]:
    have = int(np.sum(market.ts < np.datetime64(to_datetime(config.start), "us")))
    warnings = []
    for agent in agents:
        need = warmup_bars(agent)
        if have < need:
            warnings.append(
                f"{agent.name} needs {need} bars of {market.symbol} before {config.start}; the store has {have}: "
                f"its indicators are incomplete for the first {need - have} steps (it holds or stays flat "
                f"there). Load earlier prices, or start later.")
    if warnings and getattr(config, "strict_warmup", False):
        raise WarmupError("strict warm-up: " + " | ".join(warnings))
    return warnings
