"""Per-day cost of the LLM on CPU, old trader vs the ensemble's batched members, in one process on the same
real days (BTC, from 2018-01-01), no response cache (model cost only). The peer is measured in the same
run: the LLM trader's daily constrained choice (score_choices over BUY/SELL/HOLD on its full prompt, one
call a day) against the ensemble's llm_view member (score_choices_batch, Yes/No, 16 prompts a pass).
Process CPU seconds are reported beside wall seconds: on a shared machine wall time measures the load.

    python benchmarks/llm_speed.py --db /tmp/x.duckdb --days 32 --out benchmarks/results/llm_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="DuckDB file holding BTC prices")
    ap.add_argument("--days", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "llm_speed.json")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from datetime import datetime, timedelta

    from fincortex.agents.trading.features import compute_features
    from fincortex.agents.trading.graph import market_report
    from fincortex.agents.trading.market import MarketData
    from fincortex.agents.trading.members.base import Day
    from fincortex.agents.trading.members.llm_view import prompt as view_prompt
    from fincortex.agents.trading.risk import PROFILES
    from fincortex.client import Client

    client = Client(db=args.db)
    start = datetime(2018, 1, 1)
    market = MarketData.load(client.store, "BTC", start, start + timedelta(days=args.days), 120)
    days = []
    for k in range(args.days):
        view = market.history(start + timedelta(days=k))
        days.append(Day(view.as_of, view, compute_features(view, 365)))
    chat = client.chat_model(None, cache=False)
    chat.score_choices("warm up", ["Yes", "No"], raw=True)  # load the weights outside the timings
    persona = PROFILES["balanced"].persona + " Answer with one word."
    old_prompts = [[{"role": "system", "content": persona},
                    {"role": "user", "content": f"{market_report('BTC', d.features)} You hold 0%. BUY or HOLD?"}]
                   for d in days]
    new_prompts = [view_prompt(d, 1) for d in days]
    out = {"days": args.days, "torch_threads": args.threads, "load_avg_before": os.getloadavg()}
    for name, run in (("old_llm_trader_score_choices", lambda: [chat.score_choices(p, ["BUY", "SELL", "HOLD"])
                                                                for p in old_prompts]),
                      ("ensemble_llm_view_batched", lambda: chat.score_choices_batch(new_prompts, ["Yes", "No"]))):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        out[name] = {"wall_s_per_day": round(wall / args.days, 3), "cpu_s_per_day": round(cpu / args.days, 3)}
    old, new = out["old_llm_trader_score_choices"], out["ensemble_llm_view_batched"]
    out["speedup_cpu"] = round(old["cpu_s_per_day"] / new["cpu_s_per_day"], 2)
    out["speedup_wall"] = round(old["wall_s_per_day"] / new["wall_s_per_day"], 2)
    out["load_avg_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
