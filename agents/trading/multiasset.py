"""One backtest over several symbols: an allocation rule splits the capital into per-symbol sleeves, each
sleeve is an ordinary stored, audited run (same agents, same costs), and the agents' portfolio equity is
the sum of their sleeves on the union of the symbols' calendars.

Allocation rules (decided on data before the start only):
- `equal`: 1 / n per symbol;
- `inverse_vol`: proportional to 1 / (90-day realised volatility of daily log returns before the start),
  so each sleeve carries about the same risk.
Sleeves are not rebalanced against each other (each is a separate cash + position book); a sleeve's
equity is carried forward over a day its symbol has no bar (ETH misses days BTC has).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fincortex.agents.trading.backtest import BENCHMARK, BacktestConfig, BacktestError, BacktestReport, run_backtest
from fincortex.agents.trading.market import MarketData, to_datetime
from fincortex.agents.trading.metrics import daily_returns, max_drawdown, sharpe, sharpe_ci, sortino
from fincortex.agents.trading.stats import paired_sharpe_diff_ci

ALLOCATIONS = ("equal", "inverse_vol")


@dataclass
class PortfolioReport:
    symbols: list[str]
    allocation: str
    weights: dict[str, float]
    sleeves: dict[str, BacktestReport]
    ts: list[Any]
    equity: dict[str, list[float]]
    metrics: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"symbols": self.symbols, "allocation": self.allocation, "weights": self.weights,
                "sleeve_runs": {s: r.run_id for s, r in self.sleeves.items()}, "metrics": self.metrics,
                "leakage": {s: r.leakage.summary() for s, r in self.sleeves.items()},
                "equity": {"ts": [t.isoformat() for t in self.ts], **self.equity}}


def allocation_weights(store: Any, symbols: Sequence[str], start: str, rule: str) -> dict[str, float]:
    if rule not in ALLOCATIONS:
        raise BacktestError(f"allocation {rule!r}; choose from {', '.join(ALLOCATIONS)}")
    if rule == "equal":
        return {s: 1 / len(symbols) for s in symbols}
    inv = {}
    for s in symbols:
        market = MarketData.load(store, s, start, start, warmup_days=100)
        close = market.history(to_datetime(start)).close[-91:]
        if close.size < 21:
            raise BacktestError(f"inverse_vol allocation needs >= 21 bars of {s} before {start}, the store has {close.size}")
        inv[s] = 1 / float(np.diff(np.log(close)).std(ddof=1))
    total = sum(inv.values())
    return {s: v / total for s, v in inv.items()}


def run_portfolio(
    deps: Any, config: BacktestConfig, symbols: Sequence[str], allocation: str = "inverse_vol", progress: Any = None,
) -> PortfolioReport:
    symbols = [s.upper() for s in dict.fromkeys(symbols)]
    if len(symbols) < 2:
        raise BacktestError(f"a portfolio backtest needs at least two symbols, got {symbols}")
    weights = allocation_weights(deps.store, symbols, config.start, allocation)
    sleeves = {s: run_backtest(deps, replace(config, symbol=s, initial_cash=config.initial_cash * weights[s]), progress)
               for s in symbols}
    calendar = sorted({t for r in sleeves.values() for t in r.result.ts})
    agents = list(next(iter(sleeves.values())).metrics)
    equity: dict[str, list[float]] = {}
    for agent in agents:
        total = np.zeros(len(calendar))
        for s, r in sleeves.items():
            pos = {t: k for k, t in enumerate(r.result.ts)}
            last = config.initial_cash * weights[s]
            series = []
            for t in calendar:
                if t in pos:
                    last = r.result.traces[agent].equity[pos[t]]
                series.append(last)
            total += np.array(series)
        equity[agent] = total.tolist()
    ppy = max(r.result.periods_per_year for r in sleeves.values())
    metrics = {a: _metrics(equity[a], config.initial_cash, ppy, config.seed, config.ci_resamples) for a in agents}
    for a in agents:
        rets = daily_returns(equity[a], config.initial_cash)
        metrics[a]["paired"] = {b: paired_sharpe_diff_ci(rets, daily_returns(equity[b], config.initial_cash), ppy,
                                                         seed=config.seed, n_resamples=config.ci_resamples)
                                for b in agents if b != a}
        vs = metrics[a]["paired"].get(BENCHMARK) if a != BENCHMARK else None
        metrics[a]["sharpe_minus_buyhold"] = None if vs is None else vs["diff"]
        metrics[a]["sharpe_minus_buyhold_ci_low"] = None if vs is None else vs["ci_low"]
        metrics[a]["sharpe_minus_buyhold_ci_high"] = None if vs is None else vs["ci_high"]
        metrics[a]["n_configurations_compared"] = len(agents)
    return PortfolioReport(symbols, allocation, weights, sleeves, calendar, equity, metrics)


def _metrics(equity: list[float], initial: float, ppy: int, seed: int, resamples: int) -> dict[str, Any]:
    r = daily_returns(equity, initial)
    cumulative = equity[-1] / initial - 1
    lo, hi = sharpe_ci(r, ppy, seed=seed, n_resamples=resamples)
    mdd = max_drawdown(equity, initial)
    annual = (1 + cumulative) ** (ppy / len(equity)) - 1 if cumulative > -1 else -1.0
    return {"n_days": len(equity), "cumulative_return": cumulative, "annualised_return": annual,
            "volatility": float(r.std(ddof=1) * np.sqrt(ppy)), "sharpe": sharpe(r, ppy), "sharpe_ci_low": lo,
            "sharpe_ci_high": hi, "sortino": sortino(r, ppy), "max_drawdown": mdd,
            "calmar": annual / mdd if mdd > 0 else None}
