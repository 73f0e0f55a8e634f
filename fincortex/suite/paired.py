"""Paired differences between two runs of the same unit, and a plain verdict.

Items are paired by id (query, question, day) and only items both runs have are used. Means by a paired
bootstrap over items (scipy.stats.bootstrap on the per-item differences); Sharpe by the trading area's
paired stationary bootstrap over days; ForecastBench Brier by its own question-clustered bootstrap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

N_RESAMPLES = 2000


def common(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> list[str]:
    return sorted(k for k in a.keys() & b.keys() if a[k] is not None and b[k] is not None)


def mean_diff(a: Mapping[str, float | None], b: Mapping[str, float | None], seed: int = 0) -> dict[str, Any]:
    """mean(b - a) over shared items with a 95% paired-bootstrap interval."""
    from scipy.stats import bootstrap

    keys = common(a, b)
    d = np.array([b[k] - a[k] for k in keys], dtype=float)  # type: ignore[operator]
    out: dict[str, Any] = {"n": len(keys), "a": float(np.mean([a[k] for k in keys])) if keys else None,
                           "b": float(np.mean([b[k] for k in keys])) if keys else None}
    if len(keys) < 2:
        return out | {"diff": float(d.mean()) if len(d) else None, "ci_low": None, "ci_high": None}
    if np.all(d == d[0]):  # no spread: the interval is the point (scipy refuses a degenerate sample)
        return out | {"diff": float(d[0]), "ci_low": float(d[0]), "ci_high": float(d[0])}
    res = bootstrap((d,), np.mean, n_resamples=N_RESAMPLES, method="percentile", rng=np.random.default_rng(seed))
    return out | {"diff": float(d.mean()), "ci_low": float(res.confidence_interval.low),
                  "ci_high": float(res.confidence_interval.high)}


def sharpe_diff(a: Mapping[str, float | None], b: Mapping[str, float | None], periods_per_year: int,
                seed: int = 0) -> dict[str, Any]:
    """Sharpe(b) - Sharpe(a) on shared days, paired stationary bootstrap (agents.trading.stats)."""
    from fincortex.agents.trading.stats import paired_sharpe_diff_ci

    days = common(a, b)
    ra = np.array([a[d] for d in days], dtype=float)
    rb = np.array([b[d] for d in days], dtype=float)
    ci = paired_sharpe_diff_ci(rb, ra, periods_per_year, seed=seed, n_resamples=N_RESAMPLES)
    return {"n": len(days), "diff": ci["diff"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}


def verdict(result: Mapping[str, Any], higher_is_better: bool) -> str:
    """better / worse / within noise, from where the 95% interval of (B - A) lies."""
    lo, hi = result.get("ci_low"), result.get("ci_high")
    if lo is None or hi is None:
        return "no interval"
    if lo > 0 or hi < 0:
        improved = (lo > 0) == higher_is_better
        return "better" if improved else "worse"
    return "within noise"
