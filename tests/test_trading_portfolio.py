"""Multi-asset backtest: allocation rule, sleeves as ordinary audited runs, portfolio equity and metrics."""

from __future__ import annotations

import numpy as np
import pytest
from trading_support import daily_bars, insert_prices, random_walk

from fincortex.agents.trading.backtest import BacktestConfig, BacktestError
from fincortex.agents.trading.multiasset import allocation_weights, run_portfolio
from fincortex.client import Client


def test_portfolio_of_two_symbols(tmp_path):
    client = Client(db=tmp_path / "p.duckdb")
    insert_prices(client, daily_bars("CALM", "2020-01-01", random_walk(200, seed=1, vol=0.01)))
    wild = daily_bars("WILD", "2020-01-01", random_walk(200, seed=2, vol=0.05))
    insert_prices(client, [r for k, r in enumerate(wild) if k != 150])  # a missing day, carried forward
    w = allocation_weights(client.store, ["CALM", "WILD"], "2020-04-01", "inverse_vol")
    assert abs(sum(w.values()) - 1) < 1e-12 and w["CALM"] > 3 * w["WILD"]
    config = BacktestConfig("CALM", "2020-04-01", "2020-07-15", ("sma", "momentum"), ci_resamples=200)
    report = run_portfolio(client.agent_deps(), config, ["calm", "wild"], "inverse_vol")
    assert report.symbols == ["CALM", "WILD"] and all(r.leakage.ok for r in report.sleeves.values())
    end = report.ts[-1]
    for agent in ("buyhold", "sma", "momentum"):
        last = sum(r.result.traces[agent].equity[-1] for r in report.sleeves.values())
        assert report.ts[-1] == end and np.isclose(report.equity[agent][-1], last)
        m = report.metrics[agent]
        assert m["n_days"] == len(report.ts) and m["max_drawdown"] >= 0
    assert report.metrics["sma"]["sharpe_minus_buyhold_ci_low"] is not None
    assert set(report.metrics["sma"]["paired"]) == {"buyhold", "momentum"}
    eq = {s: r.config.initial_cash for s, r in report.sleeves.items()}
    assert np.isclose(sum(eq.values()), 10_000) and np.isclose(eq["CALM"] / 10_000, w["CALM"])
    with pytest.raises(BacktestError, match="at least two symbols"):
        run_portfolio(client.agent_deps(), config, ["CALM"])
    assert allocation_weights(client.store, ["CALM", "WILD"], "2020-04-01", "equal") == {"CALM": 0.5, "WILD": 0.5}
