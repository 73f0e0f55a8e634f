"""The LLM trader end to end with the real default chat model (SmolLM2-135M): replay from the cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from trading_support import insert_news, insert_prices, daily_bars, make_client

from fincortex.models.llm.cache import LLMCache

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
D = datetime(2020, 3, 1)


@pytest.fixture()
def client(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    threads = torch.get_num_threads()  # the trader sets 1 thread (cpu_threads); give the rest back
    yield _client(tmp_path)
    torch.set_num_threads(threads)


def _client(tmp_path):
    c = make_client(tmp_path, n=75)  # 2020-01-01 .. 2020-03-15
    insert_prices(c, daily_bars("TEST", "2020-03-16", [1e9] * 5))  # planted future prices
    news = [(2000 + k, f"Stocks rally as outlook improves, day {k}", D - timedelta(days=2) + timedelta(days=k, hours=14))
            for k in range(6)]
    news.append((2999, "PLANTED FUTURE: exchange collapses", D + timedelta(days=30)))
    insert_news(c, news)
    return c


def _run(client, sentiment):
    return client.backtest("TEST", "2020-03-01", "2020-03-03", ("llm",),
                           llm={"size_by": "fixed", "sentiment": sentiment, "news_k": 3, "cpu_threads": 1})


@pytest.mark.slow  # loads SmolLM2 and runs 3 constrained choices on CPU: ~20 s idle, ~60 s on a busy 2-core box
def test_llm_trader_replays_same_trades_from_cache(client):
    sentiment = "classifier" if (MIRROR / "sentiment").is_dir() else "none"
    if sentiment == "classifier":
        client = type(client)(db=client.settings.db_path, mirror=MIRROR)
    first = _run(client, sentiment)
    cache = LLMCache(client.store)
    n_cached = cache.count()
    second = _run(client, sentiment)
    assert n_cached >= 3  # at least one constrained choice per day
    assert cache.count() == n_cached  # the replay made no model call: every score came from the cache
    a, b = first.result.traces["llm"], second.result.traces["llm"]
    assert [d.decision.action for d in a.decisions] == [d.decision.action for d in b.decisions]
    assert [d.decision.scores["action_probs"] for d in a.decisions] == \
        [d.decision.scores["action_probs"] for d in b.decisions]
    assert a.equity == b.equity and len(a.fills) == len(b.fills)
    # evidence: news read point-in-time, memory recalled from day 2 on, audit passes with counts
    assert first.leakage.ok and first.leakage.n_chunks > 0 and first.leakage.n_memory > 0
    with client.store.read() as conn:
        seen = {r[0] for r in conn.execute("SELECT chunk_id FROM decision_chunk_evidence").fetchall()}
        decisions = conn.execute("SELECT count(*) FROM agent_decisions WHERE agent = 'llm'").fetchone()[0]
        memory = conn.execute("SELECT count(*) FROM memory_items WHERE run_id = ?", [first.run_id]).fetchone()[0]
    assert 2999 not in seen and seen <= set(range(2000, 2006))
    assert decisions == 6 and memory >= 3
    scores = a.decisions[0].decision.scores
    assert set(scores["action_probs"]) <= {"BUY", "SELL", "HOLD"}
    assert abs(sum(scores["action_probs"].values()) - 1) < 1e-9


@pytest.mark.slow  # loads SmolLM2: ~10 s idle
def test_batched_yes_no_scores_equal_single_scores_and_share_the_cache(client):
    """score_choices_batch (shared-prefix cache, left-padded suffixes of different lengths, last-position
    logits for one-token choices) gives the same log-probs as score_choices, and each answer is cached under
    score_choices' key."""
    chat = client.chat_model(None)
    prompts = [[{"role": "user", "content": f"Day {k}: returns +{k}.0%.{' Volume rose.' * k} Higher tomorrow? "
                                            "Answer Yes or No."}] for k in range(5)]
    batch = chat.score_choices_batch(prompts, ["Yes", "No"])
    n = LLMCache(client.store).count()
    single = [chat.score_choices(p, ["Yes", "No"]) for p in prompts]  # all cache hits now
    assert LLMCache(client.store).count() == n
    uncached = client.chat_model(None, cache=False)
    fresh = [uncached.score_choices(p, ["Yes", "No"]) for p in (prompts[0], prompts[4])]
    assert single == batch
    for a, b in zip(fresh, (batch[0], batch[4])):
        assert all(abs(a[c] - b[c]) < 1e-4 for c in ("Yes", "No"))
