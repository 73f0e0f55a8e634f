"""News, memory, risk and sentiment parts of the LLM trader (no chat model needed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from trading_support import insert_news, make_client

from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
from fincortex.agents.common.leakage import LeakageError
from fincortex.agents.trading.memory import LayeredMemory
from fincortex.agents.trading.news import RecentNews, SearchNews
from fincortex.agents.trading.portfolio import PortfolioSnapshot
from fincortex.agents.trading.risk import PROFILES, apply_risk
from fincortex.agents.trading.strategies import Decision, Observation, SeenChunk
from fincortex.agents.trading.graph import TraderConfig, market_report, sample
from fincortex.agents.trading.features import compute_features

D = datetime(2020, 2, 1)


def _news_rows():
    rows = [(1000 + k, f"headline day {k}", D + timedelta(days=k, hours=15)) for k in range(40)]
    rows += [(9001, "PLANTED FUTURE: markets crash", datetime(2030, 1, 1)),
             (9002, "PLANTED FUTURE late tonight", D + timedelta(days=10, hours=23, minutes=59))]
    return rows


def test_recent_news_is_point_in_time(tmp_path):
    client = make_client(tmp_path, n=80)
    insert_news(client, _news_rows())
    insert_news(client, [(7000, "a transcript, not news", D + timedelta(days=3))], doc_type="transcript")
    src = RecentNews(client.store, D, D + timedelta(days=30), lookback_days=2, k=3)
    as_of = D + timedelta(days=10)
    got = src.fetch(as_of)
    assert [n.chunk_id for n in got] == [1009, 1008]  # newest first; day 10's news is still in the future
    assert all(n.available_at <= as_of for n in got)
    assert src.fetch(D) == []
    assert 9002 not in [n.chunk_id for n in src.fetch(D + timedelta(days=10, hours=23))]
    assert 9002 in [n.chunk_id for n in src.fetch(D + timedelta(days=11))]


class NewsReader:
    """Buys when it has read at least two headlines; records what it read as evidence."""

    name = "reader"

    def __init__(self, source) -> None:
        self.source = source

    def decide(self, obs: Observation) -> Decision:
        items = self.source.fetch(obs.decision_ts)
        d = Decision.to_weight(1.0 if len(items) >= 2 else 0.0, obs.portfolio.weight)
        d.evidence.chunks.extend(SeenChunk(n.chunk_id, n.available_at) for n in items)
        return d


def test_future_news_never_reaches_an_agent(tmp_path):
    client = make_client(tmp_path, n=80)
    insert_news(client, _news_rows())
    cfg = BacktestConfig("TEST", "2020-02-01", "2020-03-10")
    reader = NewsReader(RecentNews(client.store, D, D + timedelta(days=40), lookback_days=2, k=3))
    report = run_backtest(client.agent_deps(), cfg, strategies=[reader])
    assert report.leakage.ok and report.leakage.n_chunks > 50
    with client.store.read() as conn:
        seen = {r[0] for r in conn.execute("SELECT chunk_id FROM decision_chunk_evidence").fetchall()}
        late = conn.execute("SELECT count(*) FROM decision_chunk_evidence WHERE available_at > decision_ts").fetchone()
    assert 9001 not in seen and late == (0,)


def test_leaky_search_fails_the_run(tmp_path):
    client = make_client(tmp_path, n=80)
    insert_news(client, _news_rows())

    def leaky_search(query, k, as_of, doc_types, mode):  # a retrieval bug: ignores as_of
        return [{"chunk_id": 9001, "text": "PLANTED", "available_at": datetime(2030, 1, 1), "score": 1.0}]

    reader = NewsReader(SearchNews(leaky_search, "bitcoin", k=1))
    with pytest.raises(LeakageError, match="chunk 9001"):
        run_backtest(client.agent_deps(), BacktestConfig("TEST", "2020-02-01", "2020-02-03"),
                     strategies=[reader])


@pytest.mark.slow  # builds a real index (embedding model): ~30 s idle, ~100 s on a busy 2-core box
def test_search_news_through_the_retrieval_stack_is_point_in_time(tmp_path):
    client = make_client(tmp_path, n=80)
    insert_news(client, _news_rows())
    client.build_index()
    search = lambda q, k, as_of, doc_types, mode: client.search(  # noqa: E731
        q, k=k, as_of=as_of, doc_types=doc_types, mode=mode, rerank=False)
    reader = NewsReader(SearchNews(search, "markets crash headline", k=3, mode="bm25"))
    report = run_backtest(client.agent_deps(), BacktestConfig("TEST", "2020-02-05", "2020-02-20"),
                          strategies=[reader])
    assert report.leakage.ok and report.leakage.n_chunks > 20
    with client.store.read() as conn:
        seen = {r[0] for r in conn.execute("SELECT chunk_id FROM decision_chunk_evidence").fetchall()}
    assert seen and 9001 not in seen and 9002 not in seen


def _book(quantity=10.0, avg_cost=100.0, equity=1000.0, weight=1.0, peak=1000.0):
    return PortfolioSnapshot(0.0, quantity, avg_cost, equity, weight, peak, 0.0)


def test_risk_manager_limits_stop_loss_and_brake():
    bal, con = PROFILES["balanced"], PROFILES["conservative"]
    assert apply_risk(bal, None, _book(), 87.0).weight == 0.0  # 13% under cost: stop-loss (12%)
    assert apply_risk(bal, None, _book(), 95.0).weight is None  # nothing to do
    check = apply_risk(con, 1.0, _book(quantity=0, avg_cost=0, weight=0), 100.0)
    assert check.weight == 0.5 and "position limit" in check.interventions[0]
    braked = apply_risk(bal, 1.0, _book(quantity=0, avg_cost=0, weight=0, equity=700, peak=1000), 100.0)
    assert braked.weight == 0.25 and "drawdown brake" in braked.interventions[0]
    trimmed = apply_risk(bal, None, _book(weight=0.9, equity=700, peak=1000, avg_cost=95), 100.0)
    assert trimmed.weight == 0.25
    drifted = apply_risk(bal, None, _book(weight=0.28, equity=700, peak=1000, avg_cost=95), 100.0)
    assert drifted.weight is None  # within the drift band: no churn
    assert apply_risk(bal, -0.5, _book(quantity=0, avg_cost=0, weight=0), 100.0).weight == 0.0  # long-only


def test_memory_layers_decay_and_availability():
    mem = LayeredMemory()
    f = np.array([0.1, 0.2, 0.5, 0.0, 0.0, 0.0, 0.1])
    mem.add("short", D, "old short", 0.2, f)
    mem.add("reflection", D, "old lesson", 0.9, f, pnl=-50.0)
    mem.add("short", D + timedelta(days=20), "future item", 1.0, f, available_at=D + timedelta(days=20))
    got = mem.recall(D + timedelta(days=10), f, k=5)
    assert [m.text for m in got] == ["old lesson", "old short"]  # the future item is not available yet
    assert mem.recall(D + timedelta(days=20), f, k=5)[0].text == "future item"
    later = [m.text for m in mem.recall(D + timedelta(days=40), f, k=5)]
    assert later == ["old lesson"]  # short items decayed away (half-life 3 days), the lesson stays
    for _ in range(3):
        mem.recall(D + timedelta(days=1), f, k=5)
    assert {m.text: m.layer for m in mem.items}["old short"] == "long"  # promoted by repeated recall
    rows = mem.rows()
    assert LayeredMemory.from_rows(rows).rows() == rows


def test_sampling_is_seeded_and_greedy_at_zero():
    probs = {"BUY": 0.2, "SELL": 0.3, "HOLD": 0.5}
    assert sample(probs, 0.0, np.random.default_rng(0)) == "HOLD"
    a = [sample(probs, 1.0, np.random.default_rng(5)) for _ in range(3)]
    b = [sample(probs, 1.0, np.random.default_rng(5)) for _ in range(3)]
    assert a == b
    draws = [sample(probs, 1.0, np.random.default_rng(s)) for s in range(300)]
    assert 0.4 < draws.count("HOLD") / 300 < 0.6


def test_trader_config_validates():
    with pytest.raises(ValueError, match="character"):
        TraderConfig(character="reckless")
    with pytest.raises(ValueError, match="news"):
        TraderConfig(news="twitter")


def test_market_report_is_short(tmp_path):
    client = make_client(tmp_path, n=80)
    from fincortex.agents.trading.market import MarketData

    m = MarketData.load(client.store, "TEST", "2020-03-10", "2020-03-11")
    text = market_report("TEST", compute_features(m.history(datetime(2020, 3, 10))))
    assert text.startswith("TEST 1d ") and "RSI" in text and "trend" in text and len(text) < 120


MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (MIRROR / "sentiment").is_dir(), reason="data mirror not present")
def test_phrasebank_classifier_beats_majority():
    from fincortex.agents.trading.sentiment import read_phrasebank, train

    texts, labels = read_phrasebank(MIRROR / "sentiment" / "financial_phrasebank_all_data.csv")
    model = train(texts, labels)
    majority = max(labels.count(x) for x in set(labels)) / len(labels)
    assert model.accuracy > majority + 0.1  # ~0.59 majority (neutral)
    pos, neg = model.score(["Profit rose sharply and the company raised its outlook.",
                            "Operating loss widened and sales fell."])
    assert pos > 0 > neg
