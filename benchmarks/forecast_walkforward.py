"""Walk-forward over the ForecastBench dev rounds, scored by ForecastBench's rules (scoring.py).

Every round of the mirror (2025-10-26 .. 2026-02-15, the dev rounds; nothing else is used to tune) is
forecast in time order as of its own due date: members learn only from outcomes public before it
(history.py lags), the stack only from earlier rounds' member forecasts with such outcomes. Scored
next to always 0.5, the market freeze value and ForecastBench's naive forecaster on the same rows,
with a paired bootstrap CI (by question) of the difference to naive; per source, per half; each
member dropped in turn and everything re-stacked (its contribution); wall time of each round; the
reasoning member's seconds per target on a few targets.

    python benchmarks/forecast_walkforward.py --threads 1 [--members market,base_rate,...] \
        [--reasoning-sample 3] [--out benchmarks/results/forecast_walkforward.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirror", default=os.environ.get("FINCORTEX_DATA_MIRROR", "../shared/data"))
    ap.add_argument("--home", default="/tmp/fc16/walkforward", help="scratch FINCORTEX_HOME (DuckDB lives here)")
    ap.add_argument("--members", default=None, help="comma-separated (default: the default members)")
    ap.add_argument("--model", default=None, help="chat model spec for the LLM members (default settings.llm)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=None, help="only the first N rounds (a quick look)")
    ap.add_argument("--reasoning-sample", type=int, default=0, help="time the reasoning member on N targets")
    ap.add_argument("--no-retrieval", action="store_true", help="llm_direct without the search index")
    ap.add_argument("--sample-every", type=int, default=1,
                    help="forecast and score only questions whose id hashes to 0 mod N (same subset every round "
                         "and every method; the history members learn from stays complete)")
    ap.add_argument("--out", default="benchmarks/results/forecast_walkforward.json")
    args = ap.parse_args(argv)

    os.environ["FINCORTEX_HOME"] = args.home
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from fincortex.agents.forecasting import scoring
    from fincortex.agents.forecasting.history import HistoryView, import_history
    from fincortex.agents.forecasting.members import build, parse_members
    from fincortex.agents.forecasting.rounds import load_round, round_files, sample_round
    from fincortex.agents.forecasting.walkforward import forecast_round, naive_forecast
    from fincortex.client import Client

    client = Client()
    store = client.store
    folder = Path(args.mirror) / "forecastbench"
    imported = import_history(store, folder)
    names = parse_members(args.members)
    from fincortex.agents.forecasting.service import build_context

    llm = tuple(names) + (("reasoning",) if args.reasoning_sample else ())
    ctx = build_context(client.agent_deps(), store, llm, args.model, not args.no_retrieval)
    built = {n: build(n, ctx) for n in names}

    pairs = round_files(folder)[: args.rounds]
    methods: dict[str, dict] = {"default": {}, "naive": {}, "market_freeze": {}, "always_0.5": {}}
    methods.update({f"member:{n}": {} for n in names})
    outcomes, per_round, weights = {}, [], {}
    for qfile, rfile in pairs:
        rnd = sample_round(load_round(qfile, rfile), args.sample_every)
        started = time.perf_counter()
        fc = forecast_round(store, rnd, names, ctx, built, backfill=False)  # rounds in order: no backfill
        wall = time.perf_counter() - started
        view = HistoryView.load(store, rnd.forecast_date)
        naive = naive_forecast(rnd, view)
        due = f"{rnd.forecast_date:%Y-%m-%d}"
        for k, o in rnd.outcomes.items():
            outcomes[(due, *k)] = o
        for k, p in fc.probabilities.items():
            rk = (due, *k)
            methods["default"][rk] = p
            methods["naive"][rk] = naive[k]
            methods["always_0.5"][rk] = 0.5
            if k[1] in scoring.MARKET_SOURCES and naive[k] is not None:
                methods["market_freeze"][rk] = naive[k]
            for n in names:
                v = fc.members[n].get(k)
                methods[f"member:{n}"][rk] = 0.5 if v is None else v
        round_score = scoring.score({k[1:]: v for k, v in methods["default"].items() if k[0] == due}, rnd.outcomes)
        naive_score = scoring.score(naive, rnd.outcomes)
        per_round.append({"round": due, "targets": len(rnd.targets), "scored": round_score["n"], "wall_s": wall,
                          "member_s": fc.member_seconds, "stack_s": fc.stack_seconds,
                          "default_overall": round_score["overall"]["brier"], "naive_overall": naive_score["overall"]["brier"],
                          "fits": {f: w["kind"] for f, w in fc.weights().items()}, "notes": fc.notes})
        weights = {"round": due, **fc.weights()}
        print(json.dumps(per_round[-1]), file=sys.stderr)

    ablations = {}
    for drop in names:
        keep = tuple(n for n in names if n != drop)
        if not keep:
            continue
        probs = {}
        for qfile, rfile in pairs:
            rnd = sample_round(load_round(qfile, rfile), args.sample_every)
            fc = forecast_round(store, rnd, keep, ctx, {n: built[n] for n in keep}, backfill=False)
            probs.update({(f"{rnd.forecast_date:%Y-%m-%d}", *k): p for k, p in fc.probabilities.items()})
        ablations[drop] = probs
    table = scoring.table({**methods, **{f"drop:{d}": p for d, p in ablations.items()}}, outcomes, reference="naive")
    contribution = {d: table[f"drop:{d}"]["overall"]["brier"] - table["default"]["overall"]["brier"] for d in ablations}
    result = {
        "benchmark": "forecast_walkforward", "rounds": [p["round"] for p in per_round], "members": list(names),
        "member_keys": {n: built[n].key() for n in names}, "lags_days": imported["lags_days"],
        "sample_every": args.sample_every, "threads": args.threads, "load_avg_1m": os.getloadavg()[0], "model": ctx.get("spec"),
        "retrieval": ctx.get("search_fn") is not None, "table": table, "per_round": per_round,
        "contribution_drop_member": contribution, "weights_last_round": weights,
        "full_round_wall_s": {"max": max(p["wall_s"] for p in per_round),
                              "median": float(np.median([p["wall_s"] for p in per_round]))},
    }
    if "llm_direct" in names:
        result["llm_direct_lift"] = contribution.get("llm_direct")
    if args.reasoning_sample:
        result["reasoning_member"] = _reasoning_throughput(store, ctx, pairs[-1], args.reasoning_sample)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    _print(result)
    return result


def _reasoning_throughput(store, ctx, pair, n: int) -> dict:
    from fincortex.agents.forecasting.history import HistoryView
    from fincortex.agents.forecasting.members.reasoning import ReasoningMember
    from fincortex.agents.forecasting.rounds import load_round

    rnd = load_round(*pair)
    picked = [t for t in rnd.targets if t.source == "polymarket"][: (n + 1) // 2] + \
             [t for t in rnd.targets if t.source == "yfinance"][: n // 2]
    member = ReasoningMember.from_context(ctx)
    member.prepare(HistoryView.load(store, rnd.forecast_date), rnd.targets)
    started = time.perf_counter()
    probs = [member.forecast(t, rnd.forecast_date) for t in picked]
    wall = time.perf_counter() - started
    return {"targets": len(picked), "seconds_per_target": wall / max(len(picked), 1), "probabilities": probs,
            "load_avg_1m": os.getloadavg()[0]}


def _print(result: dict) -> None:
    t = result["table"]
    print(f"{'method':24} {'overall':>8} {'BI':>6} {'market':>8} {'dataset':>8}  95% CI overall   vs naive (CI)")
    for m, s in t.items():
        vs = s.get("vs_naive")
        print(f"{m:24} {s['overall']['brier']:8.4f} {s['overall']['brier_index']:6.1f} {s['market']['brier']:8.4f} "
              f"{s['dataset']['brier']:8.4f}  [{s['overall']['ci95'][0]:.4f}, {s['overall']['ci95'][1]:.4f}]"
              + (f"  {vs['diff']:+.4f} [{vs['ci95'][0]:+.4f}, {vs['ci95'][1]:+.4f}]" if vs else ""))
    print("contribution (Brier when dropped - default):", json.dumps(result["contribution_drop_member"]))
    print("full round wall s:", result["full_round_wall_s"], "load", result["load_avg_1m"])


if __name__ == "__main__":
    main()
