"""Metrics against a hand computation on a five-day series."""

from __future__ import annotations

import math
import statistics
from datetime import datetime

import numpy as np
import pytest

from fincortex.agents.trading.portfolio import Fill
from fincortex.agents.trading.metrics import compute_metrics, max_drawdown, sharpe_ci

T = datetime(2020, 1, 1)


def test_metrics_match_hand_computation():
    initial = 100.0
    equity = [110.0, 99.0, 108.9, 119.79, 107.811]  # +10%, -10%, +10%, +10%, -10%
    quantity = [1.0, 1.0, 0.5, 0.5, 0.0]
    close = [110.0, 99.0, 108.9, 119.79, 107.811]
    fills = [
        Fill(T, "buy", 1.0, 100.0, 100.0, 0.10, None),
        Fill(T, "sell", 0.5, 99.0, 99.0, 0.05, -0.5),
        Fill(T, "sell", 0.5, 119.79, 119.79, 0.06, 9.9),
    ]
    m = compute_metrics(equity, quantity, close, fills, initial, periods_per_year=365, ci_resamples=500)

    r = [0.10, -0.10, 0.10, 0.10, -0.10]
    mean, sd = sum(r) / 5, statistics.stdev(r)  # 0.02, sqrt(0.012)
    assert m["cumulative_return"] == pytest.approx(0.07811)
    assert m["annualised_return"] == pytest.approx(1.07811 ** (365 / 5) - 1)
    assert m["volatility"] == pytest.approx(sd * math.sqrt(365))
    assert m["sharpe"] == pytest.approx(0.02 / math.sqrt(0.012) * math.sqrt(365))
    downside = math.sqrt((0.01 + 0.01) / 5)
    assert m["sortino"] == pytest.approx(0.02 / downside * math.sqrt(365))
    assert m["max_drawdown"] == pytest.approx(0.10)  # 110 -> 99 and 119.79 -> 107.811
    assert m["calmar"] == pytest.approx(m["annualised_return"] / 0.10)
    assert m["win_rate"] == pytest.approx(0.5) and m["n_closing_trades"] == 2
    traded = 100.0 + 49.5 + 59.895
    assert m["turnover"] == pytest.approx(traded / (sum(equity) / 5) * 365 / 5)
    exposures = [1.0, 1.0, 0.5, 0.5, 0.0]
    assert m["exposure"] == pytest.approx(sum(exposures) / 5)
    assert m["fees_paid"] == pytest.approx(0.21)
    assert mean == pytest.approx(0.02)


def test_max_drawdown_counts_initial_capital():
    assert max_drawdown([90.0, 95.0], initial=100.0) == pytest.approx(0.10)
    assert max_drawdown([100.0, 120.0, 60.0, 130.0]) == pytest.approx(0.5)


def test_sharpe_ci_brackets_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    r = rng.normal(0.002, 0.03, 730)
    lo, hi = sharpe_ci(r, 365, seed=1)
    point = r.mean() / r.std(ddof=1) * math.sqrt(365)
    assert lo < point < hi
    assert (lo, hi) == sharpe_ci(r, 365, seed=1)
    # the CI width of a 2-year daily Sharpe is roughly 2 * 1.96 * sqrt(365/730) ~ 2.8
    assert 2.0 < hi - lo < 3.6
    assert sharpe_ci(np.zeros(50), 365) == (None, None)
