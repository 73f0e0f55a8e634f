"""Simulator, costs, storage and leakage audit on synthetic bars (fast, no model)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from trading_support import daily_bars, insert_prices, make_client

from fincortex.agents.trading.backtest import BacktestConfig, BacktestError, run_backtest
from fincortex.agents.common.leakage import LeakageError, audit_run
from fincortex.agents.trading.market import MarketData, MarketDataError
from fincortex.agents.trading.portfolio import Costs, Order, Portfolio
from fincortex.agents.trading.strategies import BuyAndHold, Decision, Momentum, Observation, SMACrossover


class Probe:
    """Records the newest bar it was shown and the largest close it saw; trades a fixed pattern."""

    def __init__(self, name: str = "probe") -> None:
        self.name = name
        self.seen: list[tuple[datetime, datetime | None, float]] = []

    def decide(self, obs: Observation) -> Decision:
        h = obs.prices
        self.seen.append((obs.decision_ts, h.max_available_at, float(h.close.max()) if len(h) else 0.0))
        weight = 1.0 if obs.decision_ts.day % 2 else 0.0
        return Decision.to_weight(weight, obs.portfolio.weight)


def test_future_prices_are_invisible(tmp_path):
    client = make_client(tmp_path, n=120)
    # planted: absurd bars after the window, and a bar inside it published late (available after end)
    insert_prices(client, daily_bars("TEST", "2020-04-30", [1e9, 1e9]))
    with client.store.write() as conn:
        conn.execute("UPDATE prices SET close = 5e8, available_at = TIMESTAMP '2030-01-01' "
                     "WHERE symbol = 'TEST' AND ts = TIMESTAMP '2020-03-15'")
    probe = Probe()
    cfg = BacktestConfig("TEST", "2020-02-01", "2020-04-29", agents=("sma", "momentum"))
    report = run_backtest(client.agent_deps(), cfg,
                          strategies=[BuyAndHold(), SMACrossover(5, 20), Momentum(10), probe])
    assert len(probe.seen) == 89
    for decision_ts, max_avail, max_close in probe.seen:
        assert max_avail <= decision_ts
        assert max_close < 1e6  # neither the planted future bars nor the late-published bar
    assert report.leakage.ok and report.leakage.n_price_views == 4 * 89
    assert "PASS" in report.leakage.summary()


def test_audit_fails_loudly_on_tampered_evidence(tmp_path):
    client = make_client(tmp_path, n=80)
    cfg = BacktestConfig("TEST", "2020-02-01", "2020-03-01", agents=("momentum",))
    report = run_backtest(client.agent_deps(), cfg)
    with client.store.write() as conn:  # pretend an agent had read a bar from its future
        conn.execute("UPDATE decision_price_evidence SET last_ts = decision_ts + INTERVAL 1 DAY, "
                     "n_bars = n_bars + 1 WHERE run_id = ? AND agent = 'momentum' "
                     "AND decision_ts = TIMESTAMP '2020-02-10'", [report.run_id])
    audit = audit_run(client.store, report.run_id)
    assert not audit.ok and audit.n_violations == 1 and "momentum" in audit.violations[0]


def test_run_with_leaking_agent_raises(tmp_path):
    client = make_client(tmp_path, n=80)

    class Cheat:
        name = "cheat"

        def decide(self, obs):
            d = Decision.hold()
            from fincortex.agents.trading.strategies import SeenChunk
            d.evidence.chunks.append(SeenChunk(123, obs.decision_ts + timedelta(days=1)))
            return d

    cfg = BacktestConfig("TEST", "2020-02-01", "2020-02-05")
    with pytest.raises(LeakageError, match="FAILED the leakage audit"):
        run_backtest(client.agent_deps(), cfg, strategies=[BuyAndHold(), Cheat()])
    with client.store.read() as conn:
        assert conn.execute("SELECT status FROM backtest_runs").fetchone()[0] == "leakage"


def test_fees_and_slippage_change_pnl_by_expected_amount(tmp_path):
    client = make_client(tmp_path, n=100)
    base = BacktestConfig("TEST", "2020-02-01", "2020-04-01", fees_bps=0, slippage_bps=0)
    costly = BacktestConfig("TEST", "2020-02-01", "2020-04-01", fees_bps=25, slippage_bps=15)
    r0 = run_backtest(client.agent_deps(), base)
    r1 = run_backtest(client.agent_deps(), costly)
    e0, e1 = r0.metrics["buyhold"]["final_equity"], r1.metrics["buyhold"]["final_equity"]
    # one buy at open: units = cash / (open * (1 + slip) * (1 + fee))
    assert e1 / e0 == pytest.approx(1 / (1.0015 * 1.0025), rel=1e-12)
    assert r1.metrics["buyhold"]["fees_paid"] == pytest.approx(10_000 / 1.0025 * 0.0025, rel=1e-12)


def test_round_trip_costs_exact():
    book = Portfolio(1000.0, Costs(fee_bps=10, slippage_bps=20))
    t = datetime(2020, 1, 1)
    buy = book.execute(Order.target_weight(1.0), 100.0, t)
    assert buy.fill_price == pytest.approx(100.2) and buy.quantity == pytest.approx(1000 / (100.2 * 1.001))
    sell = book.execute(Order.target_weight(0.0), 110.0, t)
    expected_cash = buy.quantity * 110 * 0.998 * 0.999
    assert book.quantity == 0 and book.cash == pytest.approx(expected_cash)
    assert sell.realized_pnl == pytest.approx(expected_cash - 1000.0)
    assert book.realized_pnl == pytest.approx(expected_cash - 1000.0)


def test_long_only_and_quantity_orders():
    book = Portfolio(1000.0, Costs(0, 0))
    t = datetime(2020, 1, 1)
    assert book.execute(Order.target_weight(-1.0), 10.0, t) is None  # no shorting by default
    book.execute(Order.quantity(30), 10.0, t)
    assert book.quantity == 30 and book.cash == pytest.approx(700)
    book.execute(Order.quantity(500), 10.0, t)  # capped by cash: no borrowing
    assert book.quantity == pytest.approx(100) and book.cash == pytest.approx(0)
    book.execute(Order.quantity(-500), 10.0, t)  # cannot sell more than held
    assert book.quantity == 0 and book.cash == pytest.approx(1000)
    short = Portfolio(1000.0, Costs(0, 0), allow_short=True)
    short.execute(Order.target_weight(-0.5), 10.0, t)
    assert short.quantity == pytest.approx(-50) and short.equity(10.0) == pytest.approx(1000)
    fill = short.execute(Order.target_weight(0.0), 8.0, t)
    assert fill.realized_pnl == pytest.approx(100) and short.equity(8.0) == pytest.approx(1100)


def test_several_agents_own_books_and_determinism(tmp_path):
    client = make_client(tmp_path, n=150)
    cfg = BacktestConfig("TEST", "2020-02-01", "2020-05-01", agents=("sma", "momentum"), seed=3)
    a = run_backtest(client.agent_deps(), cfg)
    b = run_backtest(client.agent_deps(), cfg)
    assert set(a.metrics) == {"buyhold", "sma", "momentum"}
    for name in a.metrics:
        assert a.result.traces[name].equity == b.result.traces[name].equity
        assert a.metrics[name]["sharpe_ci_low"] == b.metrics[name]["sharpe_ci_low"]
    assert a.result.traces["sma"].equity != a.result.traces["momentum"].equity
    assert a.metrics["buyhold"]["excess_return_vs_buyhold"] == 0
    with client.store.read() as conn:
        counts = dict(conn.execute(
            "SELECT agent, count(*) FROM backtest_equity WHERE run_id = ? GROUP BY agent", [a.run_id]).fetchall())
        n_fills = conn.execute("SELECT count(*) FROM backtest_fills WHERE run_id = ?", [a.run_id]).fetchone()[0]
        status = conn.execute("SELECT status, leakage->>'$.ok' FROM backtest_runs WHERE run_id = ?",
                              [a.run_id]).fetchone()
    assert counts == {"buyhold": 91, "sma": 91, "momentum": 91}
    assert n_fills == sum(m["n_trades"] for m in a.metrics.values())
    assert status == ("ok", "true")


def test_decision_sees_previous_close_and_fills_at_open(tmp_path):
    client = make_client(tmp_path, n=40)
    market = MarketData.load(client.store, "TEST", "2020-01-10", "2020-01-20", warmup_days=5)
    h = market.history(datetime(2020, 1, 10))
    assert h.last_ts == datetime(2020, 1, 9) and len(h) == 5  # warm-up bars 5..9 Jan
    assert market.periods_per_year(market.trading_steps("2020-01-10", "2020-01-20")) == 365


def test_bad_inputs_are_named(tmp_path):
    client = make_client(tmp_path, n=10)
    with pytest.raises(BacktestError, match="unknown agent"):
        BacktestConfig("TEST", "2020-01-01", "2020-01-05", agents=("magic",))
    with pytest.raises(BacktestError, match="before start"):
        BacktestConfig("TEST", "2020-01-05", "2020-01-01")
    with pytest.raises(MarketDataError, match="no prices for symbol 'NOPE'"):
        run_backtest(client.agent_deps(), BacktestConfig("NOPE", "2020-01-01", "2020-01-05"))
    with pytest.raises(MarketDataError, match="not an ISO date"):
        MarketData.load(client.store, "TEST", "yesterday", "2020-01-05")


def test_equity_calendar_uses_252(tmp_path):
    client = make_client(tmp_path, n=5)
    weekdays = [r for r in daily_bars("EQ", "2020-01-06", np.linspace(10, 12, 40)) if r[1].weekday() < 5]
    insert_prices(client, weekdays)
    report = run_backtest(client.agent_deps(), BacktestConfig("EQ", "2020-01-06", "2020-02-14"))
    assert report.result.periods_per_year == 252 and len(report.result.ts) == 30


def build_probe(deps, config):  # the builder a registry line names (registry.STRATEGIES)
    return Probe("probe")


def test_a_strategy_registered_by_one_line_trades_by_name(tmp_path, monkeypatch):
    from fincortex.agents.trading import registry

    monkeypatch.setitem(registry.STRATEGIES, "probe", f"{__name__}:build_probe")
    client = make_client(tmp_path, n=120)
    report = run_backtest(client.agent_deps(), BacktestConfig("TEST", "2020-02-01", "2020-02-29", agents=("probe",)))
    assert set(report.metrics) == {"buyhold", "probe"} and report.leakage.ok
    with pytest.raises(BacktestError, match="unknown agent.*choose from buyhold, sma, momentum, llm, ensemble, probe"):
        BacktestConfig("TEST", "2020-02-01", "2020-02-29", agents=("nope",))
