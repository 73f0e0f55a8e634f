"""Statistics that can tell strategies apart, and the FinNLP-2025 crypto challenge's own metrics.

Paired stationary bootstrap (Politis & Romano 1994) of the Sharpe difference between two strategies run
on the same days: both return series are resampled with the *same* random blocks, so the common market
move cancels and only the difference in how they traded is left; blocks of geometric length (mean
`block` days) keep volatility clustering inside a resample, which the i.i.d. interval in metrics.py
ignores. Hand-written (~20 lines, vectorised) because scipy has no stationary bootstrap and `arch`
(which has one) is a compiled dependency the project does not carry for this alone.

Challenge metrics follow the FinMem starter kit of the FinNLP-2025 agent-based single-cryptocurrency
trading challenge (its `calculate_metrics`): daily reward = position_t x ln(p_{t+1} / p_t), cumulative
return = sum of daily rewards, annualised volatility = std(rewards, ddof=1) x sqrt(365), Sharpe =
(cumulative / (N / 252)) / annualised volatility (the kit mixes 252 and 365; kept as is so figures
compare), max drawdown of the compounded rewards. No fees: the challenge scores positions, not fills.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def stationary_indices(n: int, n_resamples: int, block: float, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, n) day indices: each row a stationary-bootstrap resample (wrap-around blocks of
    geometric length with mean `block`)."""
    if n < 2:
        raise ValueError(f"a bootstrap needs at least 2 days, got {n}")
    p = 1.0 / max(block, 1.0)
    idx = np.empty((n_resamples, n), dtype=np.int64)
    idx[:, 0] = rng.integers(0, n, n_resamples)
    jump = rng.random((n_resamples, n)) < p
    fresh = rng.integers(0, n, (n_resamples, n))
    for t in range(1, n):
        idx[:, t] = np.where(jump[:, t], fresh[:, t], (idx[:, t - 1] + 1) % n)
    return idx


def _sharpe_rows(r: np.ndarray, ppy: int) -> np.ndarray:
    sd = r.std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, r.mean(axis=-1) / sd * math.sqrt(ppy), 0.0)


def default_block(n: int) -> float:
    """Mean block length ~ n^(1/3) (the usual rate for a variance-type statistic): 9 days for two years."""
    return float(max(2.0, round(n ** (1 / 3))))


def paired_sharpe_diff_ci(
    a: Sequence[float], b: Sequence[float], periods_per_year: int, *, seed: int = 0, n_resamples: int = 2000,
    block: float | None = None, confidence: float = 0.95, indices: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Sharpe(a) - Sharpe(b) with a percentile interval from a paired stationary bootstrap over days.
    A resample where one side is flat (std 0) counts its Sharpe as 0 (a flat book earns nothing)."""
    ra, rb = np.asarray(a, float), np.asarray(b, float)
    if ra.shape != rb.shape:
        raise ValueError(f"paired bootstrap needs returns on the same days: {ra.shape} vs {rb.shape}")
    n = ra.size
    if n < 10:
        return {"diff": None, "ci_low": None, "ci_high": None, "block": None, "n_resamples": 0}
    blk = block or default_block(n)
    point = float(_sharpe_rows(ra[None], periods_per_year)[0] - _sharpe_rows(rb[None], periods_per_year)[0])
    idx = indices if indices is not None else stationary_indices(n, n_resamples, blk, np.random.default_rng(seed))
    diffs = _sharpe_rows(ra[idx], periods_per_year) - _sharpe_rows(rb[idx], periods_per_year)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [tail, 1 - tail])
    return {"diff": point, "ci_low": float(lo), "ci_high": float(hi), "block": blk, "n_resamples": int(n_resamples),
            "p_le_0": float(np.mean(diffs <= 0))}


def paired_table(
    returns: Mapping[str, np.ndarray], periods_per_year: int, *, seed: int = 0, n_resamples: int = 2000,
) -> dict[str, dict[str, dict[str, float | None]]]:
    """{agent: {other: paired Sharpe-difference CI}} for every ordered pair of agents in one run."""
    names = list(returns)
    n = len(next(iter(returns.values()))) if names else 0
    idx = stationary_indices(n, n_resamples, default_block(n), np.random.default_rng(seed)) if n >= 10 else None
    return {a: {b: paired_sharpe_diff_ci(returns[a], returns[b], periods_per_year, seed=seed, n_resamples=n_resamples,
                                         indices=idx) for b in names if b != a} for a in names}


def challenge_metrics(weights: Sequence[float], close: Sequence[float]) -> dict[str, float | None]:
    """The FinNLP-2025 crypto challenge's metrics from the held position (weight held over close t -> t+1)."""
    w, p = np.asarray(weights, float), np.asarray(close, float)
    if w.shape != p.shape or p.size < 3:
        return {"challenge_cumulative_return": None, "challenge_sharpe": None, "challenge_max_drawdown": None}
    rewards = w[:-1] * np.log(p[1:] / p[:-1])
    cum = float(rewards.sum())
    sd = float(rewards.std(ddof=1))
    ann_vol = sd * math.sqrt(365)
    sharpe = None if sd == 0 else float((cum / (p.size / 252)) / ann_vol)
    curve = np.concatenate([[1.0], np.cumprod(1 + rewards)])
    mdd = float(np.max(1 - curve / np.maximum.accumulate(curve)))
    return {"challenge_cumulative_return": cum, "challenge_sharpe": sharpe, "challenge_max_drawdown": mdd}
