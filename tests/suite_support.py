"""Synthetic suite runs for the harness tests: two configurations whose per-item values differ by a
planted amount, stored through the real storage code (fincortex/suite/runs.py)."""

from __future__ import annotations

import json

import numpy as np

from fincortex.suite import runs

MARKET, DATASET = "polymarket", "fred"


def _retrieval(rng, lift: float) -> runs.UnitResult:
    base = rng.uniform(0.2, 0.9, 200)
    b = np.clip(base + lift + rng.normal(0, 0.02, 200), 0, 1)
    items = {"ndcg@10:hybrid": {f"q{i}": float(v) for i, v in enumerate(b)},
             "recall@10:hybrid": {f"q{i}": float(min(1, v + 0.1)) for i, v in enumerate(b)}}
    modes = {"hybrid": {"ndcg@10": float(b.mean()), "recall@10": float(np.minimum(1, b + 0.1).mean()),
                        "latency_ms_p95": 5.0}, "bm25": {"ndcg@10": 0.5, "recall@10": 0.6, "latency_ms_p95": 2.0}}
    return runs.UnitResult({"primary": "hybrid", "modes": modes, "queries": 200}, items)


def _forecasting(rng, sharpen: float) -> runs.UnitResult:
    """Forecasts pulled toward the outcome by `sharpen` (0 = the base forecasts)."""
    p, outcomes = {}, {}
    for i in range(300):
        source = MARKET if i % 2 else DATASET
        y = float(rng.random() < 0.4)
        key = json.dumps(["2025-11-09", f"id{i}", source, "" if source == MARKET else "2025-12-01", ""])
        base = float(np.clip(rng.uniform(0.2, 0.8), 0, 1))
        p[key] = base + sharpen * (y - base)
        outcomes[key] = [y, True, "2025-12-01"]
    table = {"default": {"overall": 0.2}, "naive": {"overall": 0.21}}
    return runs.UnitResult({"primary": "default", "rounds": ["2025-11-09"], "table": table}, {"p:default": p},
                           {"outcomes": outcomes})


def _trading(rng, edge: float) -> runs.UnitResult:
    days = [f"2018-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(336)]
    market = rng.normal(0.0, 0.03, len(days))
    ens = market * 0.5 + edge
    items = {"ret:ensemble": dict(zip(days, map(float, ens))), "ret:buyhold": dict(zip(days, map(float, market)))}
    equity = {"ts": days, "ensemble": list(np.cumprod(1 + ens) * 1e4), "buyhold": list(np.cumprod(1 + market) * 1e4)}

    def sharpe(r):
        return float(r.mean() / r.std(ddof=1) * np.sqrt(365))

    metrics = {"ensemble": {"sharpe": sharpe(ens), "max_drawdown": 0.3}, "buyhold": {"sharpe": sharpe(market)}}
    return runs.UnitResult({"primary": "ret:ensemble", "periods_per_year": 365, "metrics": metrics}, items,
                           {"equity": equity})


def store_run(store, run_id: str, *, lift: float = 0.0, sharpen: float = 0.0, edge: float = 0.0,
              seed: int = 7) -> str:
    """One synthetic run: retrieval, forecasting, trading and lm units. The same seed gives the same base
    values, so two runs differ only by the planted lift / sharpening / edge."""
    rng = np.random.default_rng(seed)
    config = {role: {"asked": f"{role}-{run_id}"} for role in ("embedder", "reranker", "chat")}
    config["chat"].update(sha256="c" * 64, registry={"name": f"chat-{run_id}", "method": "ties", "seed": 0,
                                                      "parents": [{"name": "smollm2", "sha256": "p" * 64}]})
    runs.start_run(store, run_id, run_id, "quick", config)
    units = {"retrieval:tatqa-heldout": ("retrieval", _retrieval(rng, lift)),
             "forecasting:stack": ("forecasting", _forecasting(rng, sharpen)),
             "trading:btc2018h1": ("trading", _trading(rng, edge)),
             "lm:heldout": ("lm", runs.UnitResult({"fin_ppl": 20.0 - 10 * lift, "chat_score": 0.5}))}
    for unit, (part, result) in units.items():
        runs.save_unit(store, run_id, unit, part, f"fp-{run_id}-{unit}", result, 1.0)
    runs.finish_run(store, run_id, "ok", 4.0)
    return run_id
