"""The search behind the ensemble's default sizing, recorded so the multiple comparisons can be counted.

A fast approximation of the backtest (numpy, no ledger): the decision for day t reads closes up to t-1, holds
weight w_t over close_{t-1} -> close_t, pays 15 bps per unit of turnover, trades only when the target moved by
more than 0.1 (as the ensemble). It reproduces the engine's SMA 20/50 and momentum Sharpes to two decimals on
the three dev windows. Families compared (all on all three dev windows, BTC 2018-2019, ETH 2018-2019,
BTC 2020-2022; nothing else was looked at):
  1. blends of on/off rule signals (SMA 20/50, SMA 10/30, momentum 7/14/30/60/90) in groups of 2-4, each plain
     or volatility-targeted at 60% / 80% a year: 273 (re-run here);
  2. continuous trend t-statistics, gain 1 or 2, over 30/60/90 or 20/30/50 bars: 4 (re-run here), and ~20
     first probes in a scratch copy of this simulator (OR / hysteresis of the two rules, momentum over 20-40
     bars, vol-targeted single rules at 35-100%);
  3. drawdown-brake variants on the chosen sizing: the old brake, release on a market rebound of 10/15/20/30%
     (re-run here, peak restarting on release), and 4 scratch ones (no brake, release on equity +10/+20%).
The engine then compared 8 ensemble configurations (sizing kelly / trend / trend_floor / trend_plus_kelly,
Kelly fraction 0.1 / 0.25 / 0.5), before that 4 (ensemble_choice.py): about 320 in all.
Chosen: continuous trend t-statistic over 20/30/50 bars, gain 2, clipped to [0, 1] ("trend_z2_20_50"), with
the brake's rebound release at 15% and peak restart.

    FINCORTEX_DATA_MIRROR=/work/shared/data python benchmarks/ensemble_search.py   # -> results/ensemble_search.json
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
COST = 0.0015
RULES_TO_BEAT = {"btc2018": (-0.03, -0.07), "eth2018": (0.22, -0.26), "btc2020": (1.10, 1.33)}


def load(mirror: Path) -> dict[str, tuple[np.ndarray, np.ndarray, int, int]]:
    import pandas as pd

    btc = pd.read_csv(mirror / "prices/btcusd_daily_2011_2022.csv", parse_dates=["timestamp"]).set_index("timestamp")["close"]
    eth = pd.read_csv(mirror / "prices/bitfinex_btc_eth_usd_daily.csv", index_col=0, parse_dates=True)["ETH:close"].dropna()
    out = {}
    for name, (s, a, b) in {"btc2018": (btc, "2018-01-01", "2019-12-31"), "eth2018": (eth, "2018-01-01", "2019-12-31"),
                            "btc2020": (btc, "2020-01-01", "2022-12-31")}.items():
        out[name] = (s.values.astype(float), s.index.searchsorted(pd.Timestamp(a)),
                     s.index.searchsorted(pd.Timestamp(b), side="right"))
    return out


def sigma(c: np.ndarray, lam: float = 0.94, window: int = 120) -> float:
    r = np.diff(np.log(c[-(window + 1):]))
    w = lam ** np.arange(r.size)[::-1]
    return float(np.sqrt((w * r * r).sum() / w.sum()))


def sma(c, f=20, s=50):
    return 1.0 if c[-f:].mean() > c[-s:].mean() else 0.0


def mom(c, n=30):
    return 1.0 if c[-1] > c[-1 - n] else 0.0


def vol_target(fn, tv):
    return lambda c: min(1.0, tv / np.sqrt(365) / sigma(c)) * fn(c)


def trend_z(c, windows, gain):
    return float(np.clip(gain * np.mean([np.log(c[-1] / c[-1 - n]) / (sigma(c) * np.sqrt(n)) for n in windows]), 0, 1))


def simulate(data, fn: Callable, band: float = 0.1, brake: str | None = None, rebound: float = 0.15):
    """Sharpe and max drawdown of one sizing rule; `brake`: None | 'equity' (the old re-arming brake) |
    'rebound' (released on a market rebound, peak restarted)."""
    c, t0, t1 = data
    w_prev, eq, rets = 0.0, 1.0, []
    hist, engaged, low = deque(maxlen=90), False, None
    for t in range(t0, t1):
        w = fn(c[:t])
        if brake:
            hist.append(eq)
            dd = 1 - eq / max(hist)
            if engaged:
                low = min(low, c[t - 1])
                if dd <= 0.125 or (brake == "rebound" and c[t - 1] >= low * (1 + rebound)):
                    engaged = False
                    if dd > 0.125:
                        hist.clear()
                        hist.append(eq)
            elif dd >= 0.25:
                engaged, low = True, c[t - 1]
            if engaged:
                w = min(w, 0.25)
        if abs(w - w_prev) <= band and not (w == 0 and w_prev != 0) and not (brake and engaged and w < w_prev):
            w = w_prev
        x = w * (c[t] / c[t - 1] - 1) - COST * abs(w - w_prev)
        rets.append(x)
        eq *= 1 + x
        w_prev = w
    r = np.array(rets)
    e = np.cumprod(1 + r)
    return round(float(r.mean() / r.std(ddof=1) * np.sqrt(365)), 3), round(float((1 - e / np.maximum.accumulate(np.maximum(e, 1))).max()), 3)


def main() -> None:
    mirror = Path(os.environ.get("FINCORTEX_DATA_MIRROR", "/work/shared/data"))
    data = load(mirror)
    signals = {"sma2050": sma, "sma1030": lambda c: sma(c, 10, 30), **{f"m{n}": (lambda c, n=n: mom(c, n)) for n in (7, 14, 30, 60, 90)}}
    configs: dict[str, tuple[Callable, dict]] = {"rule:sma": (sma, {"band": 0.0}), "rule:mom30": (mom, {"band": 0.0})}
    for k in (2, 3, 4):
        for combo in itertools.combinations(signals, k):
            base = lambda c, combo=combo: float(np.mean([signals[s](c) for s in combo]))
            configs[f"blend:{'+'.join(combo)}"] = (base, {})
            for tv in (0.8, 0.6):
                configs[f"blend:{'+'.join(combo)}:vt{tv}"] = (vol_target(base, tv), {})
    for windows in ((30, 60, 90), (20, 30, 50)):
        for gain in (1.0, 2.0):
            configs[f"trend_z:{windows}:gain{gain}"] = (lambda c, w=windows, g=gain: trend_z(c, w, g), {})
    chosen = lambda c: trend_z(c, (20, 30, 50), 2.0)
    configs["chosen:old_brake"] = (chosen, {"brake": "equity"})
    for rb in (0.10, 0.15, 0.20, 0.30):
        configs[f"chosen:rebound_brake{rb}"] = (chosen, {"brake": "rebound", "rebound": rb})
    t = time.perf_counter()
    rows = {name: {w: simulate(d, fn, **kw) for w, d in data.items()} for name, (fn, kw) in configs.items()}
    beats = [n for n, r in rows.items() if all(r[w][0] > max(RULES_TO_BEAT[w]) for w in r)]
    out = {"note": __doc__.split("\n\n")[0], "n_configurations_here": len(rows), "n_configurations_in_all_about": 320,
           "rules_to_beat_engine": RULES_TO_BEAT, "beat_both_rules_on_all_three": beats, "wall_s": round(time.perf_counter() - t, 1),
           "load_avg": os.getloadavg(), "sharpe_maxdd": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ensemble_search.json").write_text(json.dumps(out, indent=1))
    print(len(rows), "configurations;", "beat both rules on all three windows:", beats)


if __name__ == "__main__":
    main()
