"""Every agent of a run against buy-and-hold and against every other agent, on the same days.

Adds to each agent's metrics: `sharpe_minus_buyhold_ci_low/high` (paired stationary bootstrap, stats.py),
`paired` ({other agent: {diff, ci_low, ci_high, p_le_0}}), the challenge metrics, and a note of how many
configurations the run compared (`n_configurations_compared`): with k agents, k - 1 intervals per agent
are read, so an interval that excludes 0 at 95% is expected by chance about once in 20 such comparisons.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fincortex.agents.trading.metrics import daily_returns
from fincortex.agents.trading.simulator import SimulationResult
from fincortex.agents.trading.stats import challenge_metrics, paired_table

BENCHMARK = "buyhold"


def held_weights(result: SimulationResult, name: str) -> np.ndarray:
    """Position value / equity at each close: the weight held from that close to the next."""
    tr = result.traces[name]
    eq = np.asarray(tr.equity, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eq > 0, np.asarray(tr.quantity, float) * result.close / eq, 0.0)


def add_comparisons(
    metrics: dict[str, dict[str, Any]], result: SimulationResult, seed: int = 0, n_resamples: int = 2000,
) -> dict[str, dict[str, Any]]:
    returns = {name: daily_returns(tr.equity, result.initial_cash) for name, tr in result.traces.items()}
    table = paired_table(returns, result.periods_per_year, seed=seed, n_resamples=n_resamples)
    k = len(returns)
    for name, m in metrics.items():
        m["paired"] = table.get(name, {})
        vs = m["paired"].get(BENCHMARK)
        m["sharpe_minus_buyhold_ci_low"] = None if vs is None else vs["ci_low"]
        m["sharpe_minus_buyhold_ci_high"] = None if vs is None else vs["ci_high"]
        m["n_configurations_compared"] = k
        m.update(challenge_metrics(held_weights(result, name), result.close))
    return metrics
