"""The one choice made for the ensemble's hyper-parameters, on the choice window only (BTC 2018-2019,
walk-forward), recorded so it can be checked: holding-period horizon (1 or 7 bars) x stacker C (0.5 or
0.05), price + memory members only (the LLM members' cost kept out of a grid). This was the first choice;
the later one -- the default sizing, the trend members, the brake's rebound release -- was made on all three
dev windows and is recorded in benchmarks/ensemble_search.py (about 320 configurations in all).

    python benchmarks/ensemble_choice.py --db /tmp/x.duckdb --out benchmarks/results/ensemble_choice.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="DuckDB file holding BTC prices (fincortex ingest --dataset crypto-prices)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ensemble_choice.json")
    args = ap.parse_args()
    from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
    from fincortex.agents.trading.ensemble import build_ensemble_trader
    from fincortex.agents.trading.strategies import BASELINES
    from fincortex.client import Client

    client = Client(db=args.db)
    deps = client.agent_deps()
    members = ["momentum", "sma_trend", "vol_regime", "drawdown", "memory"]
    config = BacktestConfig("BTC", "2018-01-01", "2019-12-31", ("sma", "momentum"), ci_resamples=1000,
                            ensemble={"members": members, "walk_forward": True})
    grid = [(h, c) for h in (1, 7) for c in (0.5, 0.05)]
    agents = [BASELINES["buyhold"](), BASELINES["sma"](20, 50), BASELINES["momentum"](30)]
    agents += [build_ensemble_trader(deps, config, horizon=h, C=c, name=f"ens_h{h}_C{c}") for h, c in grid]
    t = time.perf_counter()
    report = run_backtest(deps, config, strategies=agents)
    keys = ("sharpe", "max_drawdown", "cumulative_return", "n_trades", "exposure", "sharpe_minus_buyhold_ci_low",
            "sharpe_minus_buyhold_ci_high")
    out = {"window": "BTC 2018-01-01..2019-12-31 (choice window)", "members": members, "grid": grid,
           "wall_s": round(time.perf_counter() - t, 1), "load_avg_1m": os.getloadavg()[0],
           "leakage": report.leakage.summary(), "run_id": report.run_id,
           "agents": {n: {k: m.get(k) for k in keys} | {"calibration": m.get("ensemble", {}).get("calibration", {}).get("ensemble")}
                      for n, m in report.metrics.items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, default=str))
    print(json.dumps(out["agents"], indent=1, default=str))


if __name__ == "__main__":
    main()
