"""Benchmark: the `ensemble` trader on the dev windows, beside buy-and-hold, SMA 20/50 and momentum in the
same run, with paired CIs, member contributions (drop one, re-run), seed spread, cold/warm wall time of a
two-year daily run with the LLM members, and a BTC+ETH portfolio.

Dev windows (the only data looked at): BTC 2018-2019, BTC 2020-2022, ETH 2018-2019. The default configuration
(EnsembleConfig: sizing "trend" with trend_gain 2 on the trend t-statistic over 20/30/50 bars, the rebound
release of the drawdown brake, the member set) was chosen on all three dev windows: about 320 configurations
compared (docs/trading.md, "Choice made on data"); earlier, horizon 1 and C 0.05 on BTC 2018-2019
(benchmarks/ensemble_choice.py). Prices: BTC from prices/btcusd_daily_2011_2022.csv, ETH from
prices/bitfinex_btc_eth_usd_daily.csv (ETH from 2016-05: the training window needs history before 2018).

    python benchmarks/ensemble.py --part btc2018 --db /tmp/trade/t.duckdb --timing-only   # fresh db: cold, warm
    python benchmarks/ensemble.py --part btc2018 --db /tmp/trade/w1.duckdb --no-timing --with-llm-view --cache-from T
    python benchmarks/ensemble.py --part eth2018 --db /tmp/trade/w2.duckdb --with-llm-view --cache-from E
    python benchmarks/ensemble.py --part btc2020 --db /tmp/trade/w3.duckdb
    python benchmarks/ensemble.py --part portfolio --db /tmp/trade/w4.duckdb

(T / E: a database holding the LLM member's cached answers for that window, e.g. the timing run's.)
Each part writes benchmarks/results/ensemble_<part>.json (load averages recorded: a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PRICE_FILES = {"BTC": "prices/btcusd_daily_2011_2022.csv", "ETH": "prices/bitfinex_btc_eth_usd_daily.csv"}
WINDOWS = {"btc2018": ("BTC", "2018-01-01", "2019-12-31"), "btc2020": ("BTC", "2020-01-01", "2022-12-31"),
           "eth2018": ("ETH", "2018-01-01", "2019-12-31")}
# The P(up)-sized variant the member contributions are measured under (the default sizing ignores P(up)).
OVERLAY = {"sizing": "trend_plus_kelly", "kelly_fraction": 0.1}
KEYS = ("cumulative_return", "sharpe", "sharpe_ci_low", "sharpe_ci_high", "max_drawdown", "n_trades", "exposure",
        "sharpe_minus_buyhold", "sharpe_minus_buyhold_ci_low", "sharpe_minus_buyhold_ci_high",
        "challenge_cumulative_return", "challenge_sharpe", "challenge_max_drawdown", "n_configurations_compared")


def setup(client, symbols, cache_from=()):
    mirror = client.settings.mirror
    if mirror is None:
        raise SystemExit("set FINCORTEX_DATA_MIRROR to the data mirror")
    with client.store.read() as conn:
        have = {r[0] for r in conn.execute("SELECT DISTINCT symbol FROM prices").fetchall()}
        n_news = conn.execute("SELECT count(*) FROM documents WHERE doc_type = 'news'").fetchone()[0]
    for s in symbols:
        if s not in have:
            client.import_prices(mirror / PRICE_FILES[s], s)
    if not n_news:
        client.ingest(dataset="headlines")
    for other in cache_from:  # reuse LLM answers scored by another part (same prompts, same model)
        with client.store.write() as conn:
            conn.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
            conn.execute("INSERT INTO llm_cache SELECT * FROM other.llm_cache ON CONFLICT DO NOTHING")
            conn.execute("DETACH other")


def slim(metrics):
    out = {}
    for name, m in metrics.items():
        row = {k: m.get(k) for k in KEYS}
        row["paired"] = {o: {k: v for k, v in p.items() if k in ("diff", "ci_low", "ci_high", "p_le_0")}
                         for o, p in m.get("paired", {}).items() if not o.startswith("ens-no-")}
        if "ensemble" in m:
            e = m["ensemble"]
            row["ensemble"] = {k: e.get(k) for k in ("n_fits", "walk_forward", "train_days", "mean_weights",
                                                       "calibration", "notes")}
            row["ensemble"]["last_fit_weights"] = (e.get("last_fit") or {}).get("weights")
        out[name] = row
    return out


def window_run(client, deps, part, threads, contributions=True, drop=(), with_llm_view=False, resamples=2000):
    """One dev window, every agent in the same run: the rules, the default ensemble, two sizing ablations
    (the old pure-Kelly sizing; the trend weight alone, stacker ignored: what P(up) adds), each default member
    dropped in turn (contributions) and, with `with_llm_view`, the opt-in LLM member added."""
    from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
    from fincortex.agents.trading.ensemble import EnsembleConfig, build_ensemble_trader
    from fincortex.agents.trading.members import DEFAULT_MEMBERS
    from fincortex.agents.trading.strategies import BASELINES

    symbol, start, end = WINDOWS[part]
    config = BacktestConfig(symbol, start, end, ("sma", "momentum", "ensemble"), ci_resamples=resamples,
                            ensemble={"walk_forward": True, "cpu_threads": threads, "drop": tuple(drop)})
    default = EnsembleConfig()
    agents = [BASELINES["buyhold"](), BASELINES["sma"](20, 50), BASELINES["momentum"](30),
              build_ensemble_trader(deps, config),
              build_ensemble_trader(deps, config, sizing="kelly", kelly_fraction=0.5, name="ens-sizing-kelly"),
              build_ensemble_trader(deps, config, **OVERLAY, name="ens-overlay")]
    if with_llm_view:
        agents.append(build_ensemble_trader(deps, config, **OVERLAY, members=(*DEFAULT_MEMBERS, "llm_view"),
                                            name="ens-overlay+llm_view"))
    members = [m for m in DEFAULT_MEMBERS if m not in drop]
    if contributions:  # under the overlay: the default sizing ignores P(up), so a member could not move it
        agents += [build_ensemble_trader(deps, config, **OVERLAY, drop=(*drop, m), name=f"ens-no-{m}") for m in members]
    t = time.perf_counter()
    report = run_backtest(deps, config, strategies=agents)
    wall = time.perf_counter() - t
    metrics = slim(report.metrics)
    full = report.metrics["ensemble"]

    def versus(name, base="ensemble"):
        full = report.metrics[base]
        v = report.metrics[name]
        cal_full, cal_v = full["ensemble"]["calibration"]["ensemble"], v["ensemble"]["calibration"]["ensemble"]
        return {"sharpe_variant": v["sharpe"], "sharpe_base_minus_variant": full["sharpe"] - v["sharpe"],
                "paired_ci_base_vs_variant": full["paired"][name], "compared_with": base, "max_drawdown_variant": v["max_drawdown"],
                "brier_variant": cal_v["brier"], "brier_variant_minus_base": cal_v["brier"] - cal_full["brier"]}

    contrib = {}
    for m in members if contributions else ():
        contrib[m] = versus(f"ens-no-{m}", "ens-overlay") | {"present_days": full["ensemble"]["calibration"][m]["n"]}
    ablations = {n: versus(n) for n in ("ens-sizing-kelly", "ens-overlay") if n in report.metrics}
    if "ens-overlay+llm_view" in report.metrics:
        ablations["llm_view_added_to_overlay"] = versus("ens-overlay+llm_view", "ens-overlay")
    e = metrics["ensemble"]
    verdict = {"sharpe_above_sma": e["sharpe"] > metrics["sma"]["sharpe"],
               "sharpe_above_momentum": e["sharpe"] > metrics["momentum"]["sharpe"],
               "max_drawdown_below_buyhold": e["max_drawdown"] < metrics["buyhold"]["max_drawdown"],
               "leakage_clean": report.leakage.ok}
    return {"window": [symbol, start, end], "run_id": report.run_id, "ensemble_drop": list(drop),
            "default_config": {k: getattr(default, k) for k in ("members", "sizing", "trend_gain", "kelly_fraction",
                                                                 "C", "horizon", "train_days", "character")},
            "wall_s": round(wall, 1), "load_avg_1m_after": os.getloadavg()[0], "leakage": report.leakage.summary(),
            "warnings": report.warnings, "verdict": verdict,
            "metrics": {k: v for k, v in metrics.items() if not k.startswith("ens-no-")},
            "ablations": ablations, "contributions": contrib}


def timing(client, deps, threads):
    """Cold (empty LLM cache) and warm wall time of the two-year daily run with the LLM member (the default
    members plus llm_view), the process CPU time of each (what the machine's load does not inflate), and the
    old LLM trader's per-day cold cost on its first 10 days in the same process (the peer)."""
    from fincortex.agents.trading.backtest import BacktestConfig, run_backtest
    from fincortex.agents.trading.members import DEFAULT_MEMBERS
    from fincortex.models.llm.cache import LLMCache

    config = BacktestConfig("BTC", "2018-01-01", "2019-12-31", ("ensemble",),
                            ensemble={"walk_forward": True, "cpu_threads": threads,
                                      "members": (*DEFAULT_MEMBERS, "llm_view")})
    out = {"members": [*DEFAULT_MEMBERS, "llm_view"], "load_avg_before": os.getloadavg()}
    n0 = LLMCache(client.store).count()
    t, c = time.perf_counter(), time.process_time()
    cold = run_backtest(deps, config)
    out["cold_s"], out["cold_cpu_s"] = round(time.perf_counter() - t, 1), round(time.process_time() - c, 1)
    out["llm_prompts_scored_cold"] = LLMCache(client.store).count() - n0
    out["load_avg_after_cold"] = os.getloadavg()
    t, c = time.perf_counter(), time.process_time()
    warm = run_backtest(deps, config)
    out["warm_s"], out["warm_cpu_s"] = round(time.perf_counter() - t, 1), round(time.process_time() - c, 1)
    out["same_trades"] = [(f.ts, f.side, round(f.quantity, 12)) for f in cold.result.traces["ensemble"].fills] == \
        [(f.ts, f.side, round(f.quantity, 12)) for f in warm.result.traces["ensemble"].fills]
    old = replace(config, agents=("llm",), end="2018-01-10", ensemble={},
                  llm={"size_by": "fixed", "cpu_threads": threads, "decide_every": 1})
    t = time.perf_counter()
    run_backtest(deps, old)
    per_day = (time.perf_counter() - t) / 10
    out["old_llm_trader_cold_s_per_day_same_machine"] = round(per_day, 2)
    out["old_llm_trader_cold_730_days_extrapolated_s"] = round(per_day * 730, 0)
    out["reference_old_cold_s"] = 1076
    out["days"] = len(cold.result.ts)
    out["load_avg_after"] = os.getloadavg()
    return out


def seeds_run(deps, part, threads, seeds=(0, 1, 2), temperature=0.7):
    """Seed spread of the ensemble with its LLM member at temperature > 0 (only the LLM member samples; the
    default members are deterministic, so without it every seed gives the same run)."""
    import numpy as np

    from fincortex.agents.trading.backtest import BacktestConfig, run_seeds
    from fincortex.agents.trading.members import DEFAULT_MEMBERS

    symbol, start, end = WINDOWS[part]
    config = BacktestConfig(symbol, start, end, ("sma", "ensemble"), ci_resamples=500,
                            ensemble={"walk_forward": True, "temperature": temperature, "cpu_threads": threads,
                                      "members": (*DEFAULT_MEMBERS, "llm_view"), **OVERLAY})
    reports = run_seeds(deps, config, list(seeds))
    sh = [r.metrics["ensemble"]["sharpe"] for r in reports]
    dd = [r.metrics["ensemble"]["max_drawdown"] for r in reports]
    return {"members": [*DEFAULT_MEMBERS, "llm_view"], "sizing": OVERLAY, "temperature": temperature, "seeds": list(seeds), "sharpe": sh, "max_drawdown": dd,
            "sharpe_mean": float(np.mean(sh)), "sharpe_std": float(np.std(sh, ddof=1)),
            "distinct_runs": len({round(s, 12) for s in sh}) == len(sh),
            "leakage": [r.leakage.ok for r in reports]}


def portfolio_run(client, threads, drop=()):
    from fincortex.agents.trading.backtest import BacktestConfig

    config = BacktestConfig("BTC", "2018-01-01", "2019-12-31", ("sma", "momentum", "ensemble"),
                            ensemble={"walk_forward": True, "cpu_threads": threads, "drop": tuple(drop)})
    t = time.perf_counter()
    report = client.backtest_portfolio(["BTC", "ETH"], config, "inverse_vol")
    d = report.as_dict()
    d.pop("equity")
    d["metrics"] = {a: {k: v for k, v in m.items()} for a, m in d["metrics"].items()}
    d["wall_s"] = round(time.perf_counter() - t, 1)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", required=True, choices=("btc2018", "btc2020", "eth2018", "portfolio"))
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-from", type=Path, nargs="*", default=())
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--no-llm-members", action="store_true",
                    help="drop headline_llm and llm_view (a cheaper, clearly labelled configuration)")
    ap.add_argument("--no-contributions", action="store_true")
    ap.add_argument("--with-llm-view", action="store_true",
                    help="also trade the default members + llm_view (opt-in LLM member) and its seed spread at T 0.7")
    ap.add_argument("--timing-only", action="store_true", help="only the cold/warm timing (btc2018)")
    ap.add_argument("--resamples", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    from fincortex.client import Client

    client = Client(db=args.db)
    symbols = ["BTC", "ETH"] if args.part == "portfolio" else [WINDOWS[args.part][0]]
    setup(client, symbols, args.cache_from)
    deps = client.agent_deps()
    result = {"part": args.part, "machine": {"cpus": os.cpu_count(), "torch_threads": args.threads,
                                             "load_avg_start": os.getloadavg()},
              "model": client.settings.llm}
    drop = ("headline_llm", "llm_view") if args.no_llm_members else ()
    suffix = "_timing" if args.timing_only else "_nollm" if drop else ""
    out = RESULTS / f"ensemble_{args.part}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def save():
        out.write_text(json.dumps(result, indent=1, default=str))

    if args.part == "btc2018" and not args.no_timing:
        result["timing"] = timing(client, deps, args.threads)
        save()
    if args.timing_only:
        pass
    elif args.part == "portfolio":
        result["portfolio"] = portfolio_run(client, args.threads, drop)
    else:
        result["window"] = window_run(client, deps, args.part, args.threads, not args.no_contributions, drop,
                                      args.with_llm_view, args.resamples)
        save()
        if args.with_llm_view:  # without the LLM member temperature changes nothing
            result["seeds"] = seeds_run(deps, args.part, args.threads)
    save()
    print(json.dumps({k: v for k, v in result.items() if k != "window"}, indent=1, default=str)[:3000])
    if "window" in result:
        print(json.dumps(result["window"]["verdict"]), json.dumps({a: m["sharpe"] for a, m in result["window"]["metrics"].items()}))


if __name__ == "__main__":
    main()
