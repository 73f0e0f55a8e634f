"""The ensemble trader: point-in-time (a decision never depends on a bar, headline or memory item after its
time), walk-forward refits on known outcomes only, missing members stay missing, warm-up is reported."""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta

import numpy as np
import pytest
from trading_support import daily_bars, insert_news, insert_prices, random_walk

from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
from fincortex.agents.trading.ensemble import EnsembleConfig, EnsembleTrader
from fincortex.agents.trading.news import RecentNews
from fincortex.agents.trading.warmup import WarmupError
from fincortex.client import Client

ALL = ("momentum", "sma_trend", "vol_regime", "drawdown", "headline_llm", "sentiment", "memory", "llm_view", "trend",
       "sma_signal", "mom_signal")


class FakeChat:
    """Deterministic P(Yes) from the prompt text; records every prompt it was asked."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def score_choices_batch(self, prompts, choices):
        out = []
        for p in prompts:
            text = " ".join(m["content"] for m in p)
            self.prompts.append(text)
            q = 0.3 + 0.4 * (zlib.crc32(text.encode()) % 1000) / 1000
            out.append({"Yes": math.log(q), "No": math.log(1 - q)})
        return out


class FakeSentiment:
    def score(self, texts):
        return [0.6 if "rally" in t else -0.6 for t in texts]


def _client(tmp_path, name: str, n: int = 300, news: bool = True) -> Client:
    client = Client(db=tmp_path / f"{name}.duckdb")
    insert_prices(client, daily_bars("TEST", "2020-01-01", random_walk(n, seed=11)))
    if news:
        t0 = datetime(2020, 1, 1, 14)
        insert_news(client, [(1000 + k, f"{'Stocks rally' if k % 3 else 'Markets slump'} on day {k}",
                              t0 + timedelta(days=k)) for k in range(n)])
    return client


def _ensemble(client, start, end, chat, walk_forward=True, name="ensemble", drop=(), sizing="trend_plus_kelly"):
    cfg = EnsembleConfig(members=ALL, drop=drop, walk_forward=walk_forward, train_days=60, name=name, sizing=sizing)
    news = RecentNews(client.store, datetime.fromisoformat(start) - timedelta(days=62), datetime.fromisoformat(end))
    return EnsembleTrader(cfg, chat, FakeSentiment(), news, seed=0)


def _run(client, start, end, chat, **kw):
    agent = _ensemble(client, start, end, chat, **kw)
    report = run_backtest(client.agent_deps(), BacktestConfig("TEST", start, end, ci_resamples=200), strategies=[agent])
    return report, agent


def test_decisions_do_not_depend_on_anything_after_their_time(tmp_path):
    """The same days decided in a short run and in a longer one (whose store and window hold later bars,
    headlines and outcomes) come out identical: nothing after a decision reached it."""
    client = _client(tmp_path, "a")
    short, a = _run(client, "2020-06-01", "2020-07-15", FakeChat())
    long, b = _run(client, "2020-06-01", "2020-09-30", FakeChat())
    da = short.result.traces["ensemble"].decisions
    db = long.result.traces["ensemble"].decisions[: len(da)]
    assert [d.decision_ts for d in da] == [d.decision_ts for d in db]
    for x, y in zip(da, db):
        assert x.decision.scores["p_up"] == y.decision.scores["p_up"]
        assert x.decision.scores["members"] == y.decision.scores["members"]
        assert x.decision.scores["trend_z"] == y.decision.scores["trend_z"]
        assert x.decision.scores["proposed_weight"] == y.decision.scores["proposed_weight"]
        assert [c.chunk_id for c in x.decision.evidence.chunks] == [c.chunk_id for c in y.decision.evidence.chunks]
        assert [m.item_id for m in x.decision.evidence.memory] == [m.item_id for m in y.decision.evidence.memory]
    assert short.result.traces["ensemble"].equity == long.result.traces["ensemble"].equity[: len(da)]
    # the audit re-checked every bar view, headline and memory item against the database
    for report in (short, long):
        assert report.leakage.ok and report.leakage.n_chunks > 0 and report.leakage.n_memory > 0
    for x in db:  # evidence is never newer than the decision
        assert all(c.available_at <= x.decision_ts for c in x.decision.evidence.chunks)
        assert all(m.available_at <= x.decision_ts for m in x.decision.evidence.memory)
    members = da[-1].decision.scores["members"]
    assert set(members) == set(ALL) and all(v is not None for v in members.values())


def test_walk_forward_refits_every_step_on_known_outcomes_only(tmp_path):
    client = _client(tmp_path, "wf")
    report, agent = _run(client, "2020-06-01", "2020-06-30", FakeChat())
    fits = agent.fits
    assert len(fits) == 30 and report.metrics["ensemble"]["ensemble"]["n_fits"] == 30
    for fit in fits:
        assert datetime.fromisoformat(fit["last_outcome_at"]) <= fit["ts"]
    assert [f["n_train"] for f in fits] == sorted(f["n_train"] for f in fits) and fits[-1]["n_train"] > fits[0]["n_train"]
    assert set(fits[-1]["weights"]) >= {"momentum:logit", "memory:missing", "intercept"}
    _, static = _run(client, "2020-06-01", "2020-06-30", FakeChat(), walk_forward=False)
    assert len(static.fits) == 1


def test_members_without_data_are_missing_not_faked(tmp_path):
    client = _client(tmp_path, "nonews", news=False)
    chat = FakeChat()
    report, agent = _run(client, "2020-06-01", "2020-06-20", chat)
    cal = report.metrics["ensemble"]["ensemble"]["calibration"]
    assert cal["headline_llm"]["n"] == 0 and cal["sentiment"]["n"] == 0 and cal["llm_view"]["n"] > 0
    assert not any("headlines" in p for p in chat.prompts)
    assert all(d.decision.scores["members"]["sentiment"] is None for d in report.result.traces["ensemble"].decisions)


def test_warmup_is_reported_or_refused(tmp_path):
    client = Client(db=tmp_path / "w.duckdb")
    insert_prices(client, daily_bars("TEST", "2020-03-01", random_walk(60, seed=3)))
    report = client.backtest("TEST", "2020-03-01", "2020-04-29", ("sma", "momentum"), ci_resamples=100)
    assert any("sma needs 50 bars" in w and "has 0" in w for w in report.warnings)
    assert any("momentum needs 31 bars" in w for w in report.warnings)
    with pytest.raises(WarmupError, match="strict warm-up"):
        client.backtest("TEST", "2020-03-01", "2020-04-29", ("sma",), strict_warmup=True)
    insert_prices(client, daily_bars("TEST", "2019-12-01", random_walk(91, seed=4)))  # history before start
    assert client.backtest("TEST", "2020-03-01", "2020-04-29", ("sma",), ci_resamples=100).warnings == []


def test_temperature_gives_distinct_seeded_runs(tmp_path):
    """At temperature 0 seeds change nothing; above 0 the LLM members vote by seeded sampling, so seeds give
    distinct runs (and the same seed the same run)."""
    client = _client(tmp_path, "seeds")

    def run(seed, temperature):
        cfg = EnsembleConfig(members=ALL, walk_forward=True, train_days=60, temperature=temperature)
        news = RecentNews(client.store, datetime(2020, 3, 30), datetime(2020, 6, 30))
        agent = EnsembleTrader(cfg, FakeChat(), FakeSentiment(), news, seed=seed)
        run_backtest(client.agent_deps(), BacktestConfig("TEST", "2020-06-01", "2020-06-30", seed=seed,
                                                         ci_resamples=100), strategies=[agent])
        return agent.probs["llm_view"]

    assert run(0, 0.0) == run(1, 0.0)
    a, b = run(0, 0.7), run(1, 0.7)
    assert a != b and a == run(0, 0.7)
    assert all(v is None or v in {(y + 0.5) / 6 for y in range(6)} for v in a)


def test_trend_z_reads_only_visible_closes_and_sizing_combines():
    """trend_z is a function of the closes it is given (a planted future bar changes nothing before it);
    the sizing modes combine the trend and Kelly weights as documented, within the cap, long-only."""
    from fincortex.agents.trading.members.trend import trend_z
    from fincortex.agents.trading.sizing import combine, trend_weight

    close = random_walk(200, seed=5)
    planted = close.copy()
    planted[150:] *= 50.0  # absurd future
    assert [trend_z(close[:k]) for k in range(40, 151)] == [trend_z(planted[:k]) for k in range(40, 151)]
    assert trend_z(close[:50]) is None and trend_z(close[:51]) is not None  # needs 51 closes
    up = 100 * np.exp(np.linspace(0, 0.5, 120) + 0.01 * np.sin(np.arange(120)))
    assert trend_z(up) > 0 and trend_z(up[::-1].copy()) < 0
    assert trend_weight(0.3, 2.0) == pytest.approx(0.6) and trend_weight(-1, 2.0) == 0 and trend_weight(3, 2.0) == 1
    assert combine("trend_plus_kelly", -0.2, 0.6, 1.0) == pytest.approx(0.4)
    assert combine("trend_floor", -0.2, 0.6, 1.0) == pytest.approx(0.6)
    assert combine("trend_plus_kelly", 0.7, 0.6, 1.0) == 1.0 and combine("kelly", -0.3, 0.6, 1.0) == 0.0
    assert combine("trend", 0.9, 0.2, 1.0) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="sizing mode"):
        combine("martingale", 0.1, 0.1, 1.0)
    with pytest.raises(ValueError, match="sizing="):
        EnsembleConfig(sizing="martingale")
