"""The strategies a backtest can trade: name -> builder(deps, config) -> Strategy, one line each.

Builders are imported on use ("module:function"), so naming the baselines never loads LangGraph or a
chat model. A new strategy is its own file (the `Strategy` protocol of strategies.py) plus a line here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fincortex.agents.trading.strategies import Strategy

STRATEGIES: dict[str, str] = {
    "buyhold": "fincortex.agents.trading.strategies:build_buyhold",
    "sma": "fincortex.agents.trading.strategies:build_sma",
    "momentum": "fincortex.agents.trading.strategies:build_momentum",
    "llm": "fincortex.agents.trading.graph:build_llm_trader",
    "ensemble": "fincortex.agents.trading.ensemble:build_ensemble_trader",
}


def build_strategy(name: str, deps: Any, config: Any) -> Strategy:
    """The strategy `name` for one backtest (deps: AgentDeps; config: BacktestConfig)."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    module, _, function = STRATEGIES[name].partition(":")
    return getattr(import_module(module), function)(deps, config)
