"""README-ready markdown from the ensemble benchmark JSONs (benchmarks/results/ensemble_<part>.json): the
acceptance table (default ensemble vs the rules and buy-and-hold, paired CIs, drawdowns, seed spread), the
ablations and the member contributions. Reads results only; runs nothing.

    python benchmarks/ensemble_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PARTS = {"btc2018": "BTC 2018-2019", "eth2018": "ETH 2018-2019", "btc2020": "BTC 2020-2022"}
N_CONFIGS = 320  # configurations compared on the dev windows (benchmarks/ensemble_search.py docstring)


def ci(p: dict) -> str:
    return f"{p['diff']:+.2f} [{p['ci_low']:+.2f}, {p['ci_high']:+.2f}]"


def main() -> None:
    runs = {k: json.loads((RESULTS / f"ensemble_{k}.json").read_text()) for k in PARTS
            if (RESULTS / f"ensemble_{k}.json").exists()}
    print("| window | ensemble Sharpe (default) | SMA 20/50 | momentum 30d | buy-and-hold | ensemble - SMA [paired 95% CI] "
          "| ensemble - momentum [paired 95% CI] | max DD ensemble / B&H | seed spread | leakage |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k, r in runs.items():
        w = r["window"]
        m = w["metrics"]
        e = m["ensemble"]
        s = r.get("seeds")
        spread = "0 (deterministic)"
        if s:
            spread += f"; +llm_view T {s['temperature']}: sd {s['sharpe_std']:.2f} ({len(s['seeds'])} seeds)"
        print(f"| {PARTS[k]} | {e['sharpe']:.2f} | {m['sma']['sharpe']:.2f} | {m['momentum']['sharpe']:.2f} | "
              f"{m['buyhold']['sharpe']:.2f} | {ci(e['paired']['sma'])} | {ci(e['paired']['momentum'])} | "
              f"{e['max_drawdown']:.1%} / {m['buyhold']['max_drawdown']:.1%} | {spread} | "
              f"{'PASS' if w['verdict']['leakage_clean'] else 'FAIL'} |")
    print(f"\nConfigurations compared on these windows while choosing the default: about {N_CONFIGS}; "
          f"agents per run: {', '.join(str(r['window']['metrics']['ensemble']['n_configurations_compared']) for r in runs.values())}.")
    print("\n| variant (Sharpe; default minus variant [paired 95% CI]) | " + " | ".join(PARTS[k] for k in runs) + " |")
    print("|---|" + "---|" * len(runs))
    names = sorted({n for r in runs.values() for n in r["window"].get("ablations", {})})
    for n in names:
        cells = []
        for r in runs.values():
            a = r["window"].get("ablations", {}).get(n)
            cells.append("-" if a is None else f"{a['sharpe_variant']:.2f}; {ci(a['paired_ci_base_vs_variant'])}")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("\nMember contributions under the overlay (trend + 0.1 Kelly): overlay Sharpe minus the overlay without the "
          "member [paired 95% CI]; Brier without minus with (positive: the member helped the probability)")
    print("\n| member | " + " | ".join(PARTS[k] for k in runs) + " |")
    print("|---|" + "---|" * len(runs))
    members = list(dict.fromkeys(m for r in runs.values() for m in r["window"]["contributions"]))
    for mem in members:
        cells = []
        for r in runs.values():
            c = r["window"]["contributions"].get(mem)
            cells.append("-" if c is None or "paired_ci_base_vs_variant" not in c else f"{ci(c['paired_ci_base_vs_variant'])}; Brier {c['brier_variant_minus_base']:+.4f}"
                         f"{'' if c['present_days'] else ' (absent)'}")
        print(f"| {mem} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
