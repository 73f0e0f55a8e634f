"""ForecastBench's scoring rules (https://forecastbench.org/leaderboards, the Brier Index post at
forecastingresearch.substack.com/p/introducing-the-brier-index, and the resolution sets' layout):

- dataset questions: each (id, source, resolution_date[, direction]) row resolved to 0/1 is one scored
  forecast (Brier = (p - y)^2);
- market questions: every resolution row is scored; a resolved one against 0/1, an unresolved one
  against the market value on its resolution date (the fractional `resolved_to` the resolution set
  carries). `market_resolved_only=True` scores resolved rows only (what the newest leaderboard code,
  `src/leaderboard/main.py`, does); both are reported;
- the market half and the dataset half are averaged with equal weight: overall = (market + dataset) / 2;
- Brier Index = 100 * (1 - sqrt(Brier)), applied after averaging (100 perfect, 50 = always 0.5);
- a scored row without a forecast is imputed 0.5 and counted (`n_imputed`).

Not reproduced: the leaderboard's difficulty adjustment (a two-way fixed-effects model fitted over
every submitted model's forecasts); with one forecaster and its baselines on the same questions the
unadjusted Brier is what separates them.

Confidence intervals: a bootstrap over questions (clusters = (source, id): all resolution dates,
directions and rounds of a question are drawn together), stratified by half; `paired_ci` resamples
the same clusters for two methods, so it is the CI of the difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES
from fincortex.agents.forecasting.rounds import Key, Outcome

N_BOOT = 1000


def brier_index(brier: float) -> float:
    if not 0.0 <= brier <= 1.0:
        raise ValueError(f"a Brier score lies in [0, 1], got {brier}")
    return 100.0 * (1.0 - math.sqrt(brier))


def scored_rows(outcomes: Mapping[Any, Outcome], market_resolved_only: bool = False) -> list[tuple[Any, Key, float]]:
    """(cluster key, outcome key, y) of every row ForecastBench scores. Outcome keys are Keys
    (id, source, resolution_date, direction) or, over several rounds, (round due date, *Key)."""
    rows = []
    for k, o in outcomes.items():
        key = _key_of(k)
        market = key[1] in MARKET_SOURCES
        if market and (o.binary or not market_resolved_only):
            rows.append(((key[1], key[0]), k, o.resolved_to))
        elif not market and o.binary:
            rows.append(((key[1], key[0]), k, o.resolved_to))
    return rows


def _arrays(rows, forecasts: Mapping[Any, float]):
    p = np.array([forecasts.get(k, np.nan) for _, k, _ in rows], dtype=float)
    imputed = np.isnan(p)
    p[imputed] = 0.5
    if ((p < 0) | (p > 1)).any():
        raise ValueError("forecasts must lie in [0, 1]")
    y = np.array([y for _, _, y in rows], dtype=float)
    return p, y, imputed


def _key_of(k: tuple) -> Key:
    return k[-4:]  # type: ignore[return-value]


def score(forecasts: Mapping[Any, float], outcomes: Mapping[Any, Outcome], market_resolved_only: bool = False) -> dict[str, Any]:
    """Market half, dataset half, overall, Brier Indices and the per-source table for one method."""
    rows = scored_rows(outcomes, market_resolved_only)
    if not rows:
        raise ValueError("no scored rows: give outcomes (a resolution set) with resolved dataset rows or market rows")
    p, y, imputed = _arrays(rows, forecasts)
    se = (p - y) ** 2
    market = np.array([_key_of(k)[1] in MARKET_SOURCES for _, k, _ in rows])
    sources = np.array([_key_of(k)[1] for _, k, _ in rows])
    out: dict[str, Any] = {"n": int(len(rows)), "n_imputed": int(imputed.sum())}
    for name, mask in (("market", market), ("dataset", ~market)):
        out[name] = {"n": int(mask.sum()), "brier": float(se[mask].mean()) if mask.any() else None}
    halves = [out[h]["brier"] for h in ("market", "dataset") if out[h]["brier"] is not None]
    out["overall"] = {"brier": float(np.mean(halves)), "halves": len(halves)}
    for part in ("market", "dataset", "overall"):
        b = out[part]["brier"]
        out[part]["brier_index"] = brier_index(b) if b is not None else None
    out["by_source"] = {s: {"n": int((sources == s).sum()), "brier": float(se[sources == s].mean())}
                        for s in sorted(set(sources.tolist()))}
    return out


def _cluster_sums(rows, se: np.ndarray):
    clusters = {c: i for i, c in enumerate(dict.fromkeys(c for c, _, _ in rows))}
    idx = np.array([clusters[c] for c, _, _ in rows])
    market_cluster = np.zeros(len(clusters), dtype=bool)
    for (c, k, _), i in zip(rows, idx):
        market_cluster[i] = _key_of(k)[1] in MARKET_SOURCES
    n = np.bincount(idx, minlength=len(clusters)).astype(float)
    s = np.stack([np.bincount(idx, weights=col, minlength=len(clusters)) for col in se])  # (methods, clusters)
    return n, s, market_cluster


def bootstrap(forecasts_by_method: Mapping[str, Mapping[Any, float]], outcomes: Mapping[Any, Outcome],
              n_boot: int = N_BOOT, seed: int = 0, market_resolved_only: bool = False) -> dict[str, np.ndarray]:
    """Bootstrap draws of the overall Brier (equal-weight halves) per method, the same draws for all."""
    rows = scored_rows(outcomes, market_resolved_only)
    methods = list(forecasts_by_method)
    se = np.stack([np.subtract(*_arrays(rows, forecasts_by_method[m])[:2]) ** 2 for m in methods])
    n, s, is_market = _cluster_sums(rows, se)
    rng = np.random.default_rng(seed)
    draws = {m: np.zeros(n_boot) for m in methods}
    halves = []
    for mask in (is_market, ~is_market):
        ids = np.flatnonzero(mask)
        if len(ids) == 0:
            continue
        picks = rng.integers(0, len(ids), size=(n_boot, len(ids)))
        w = np.stack([np.bincount(row, minlength=len(ids)) for row in picks]).astype(float)  # (boot, clusters)
        halves.append((w @ s[:, ids].T) / (w @ n[ids])[:, None])  # (boot, methods)
    overall = np.mean(halves, axis=0)
    for j, m in enumerate(methods):
        draws[m] = overall[:, j]
    return draws


def ci(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    lo, hi = np.quantile(draws, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def table(forecasts_by_method: Mapping[str, Mapping[Any, float]], outcomes: Mapping[Any, Outcome],
          reference: str | None = None, n_boot: int = N_BOOT) -> dict[str, Any]:
    """Every method scored on the same rows, each with its bootstrap CI and, when `reference` is given,
    the paired CI of (method - reference) overall Brier (negative = better than the reference)."""
    out: dict[str, Any] = {}
    draws = bootstrap(forecasts_by_method, outcomes, n_boot)
    for m, f in forecasts_by_method.items():
        out[m] = score(f, outcomes)
        out[m]["overall"]["ci95"] = ci(draws[m])
        out[m]["market_resolved_only"] = score(f, outcomes, market_resolved_only=True)["market"]
        if reference and m != reference:
            diff = draws[m] - draws[reference]
            out[m]["vs_" + reference] = {"diff": out[m]["overall"]["brier"] - score(forecasts_by_method[reference], outcomes)["overall"]["brier"],
                                         "ci95": ci(diff), "p_not_better": float((diff >= 0).mean())}
    return out
