"""Position size from a probability and a volatility forecast: fractional Kelly, capped by risk limits.

For a daily return with P(r > 0) = p and scale sigma, E[r] ~ (2p - 1) E|r| = (2p - 1) sigma sqrt(2/pi)
(normal magnitudes), and the Kelly weight for small returns is E[r] / sigma^2; over a holding period of
h bars sigma scales by sqrt(h), so f = (2p - 1) sqrt(2/pi) / (sigma sqrt(h)). The trader takes
`fraction` of it (half Kelly by default: full Kelly on an estimated edge over-bets), never more than the
risk profile's cap, never below 0 when long-only. sigma is the RiskMetrics EWMA (lambda 0.94) of the
visible daily log returns.
"""

from __future__ import annotations

import math

import numpy as np


def ewma_sigma(close: np.ndarray, lam: float = 0.94, window: int = 120) -> float | None:
    if close.size < 21:
        return None
    r = np.diff(np.log(close[-(window + 1):]))
    w = lam ** np.arange(r.size)[::-1]
    return float(math.sqrt(np.sum(w * r * r) / np.sum(w)))


def kelly_weight(
    p: float, sigma: float, fraction: float = 0.5, cap: float = 1.0, allow_short: bool = False, horizon: int = 1,
) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"probability {p} is not in [0, 1]")
    if sigma <= 0:
        return 0.0
    f = fraction * (2 * p - 1) * math.sqrt(2 / math.pi) / (sigma * math.sqrt(horizon))
    return float(min(max(f, -cap if allow_short else 0.0), cap))


SIZING_MODES = ("kelly", "trend", "trend_floor", "trend_plus_kelly")


def trend_weight(z: float | None, gain: float, cap: float = 1.0) -> float:
    """Long weight from the trend t-statistic (members/trend.py): gain x z, clipped to [0, cap]. Why a
    separate term: Kelly on a stacked daily P(up) of 0.52 in a trend is a small position, and the rules beat
    the ensemble in trending windows by staying invested; z already is a volatility-scaled signal (the
    position shrinks when the same move comes with more noise)."""
    return 0.0 if z is None or gain <= 0 else float(min(max(gain * z, 0.0), cap))


def combine(mode: str, kelly: float, trend: float, cap: float, allow_short: bool = False) -> float:
    """The target weight from the Kelly weight of the stacked P(up) and the trend weight:
    `kelly` (trend ignored), `trend` (stacker ignored: the ablation that measures what P(up) adds),
    `trend_floor` (max of both: P(up) can only add exposure), `trend_plus_kelly` (sum: a P(up) below 0.5
    takes exposure away from the trend position), clipped to the cap (and at 0 long-only)."""
    if mode not in SIZING_MODES:
        raise ValueError(f"unknown sizing mode {mode!r}; choose from {', '.join(SIZING_MODES)}")
    w = {"kelly": kelly, "trend": trend, "trend_floor": max(trend, kelly), "trend_plus_kelly": trend + kelly}[mode]
    return float(min(max(w, -cap if allow_short else 0.0), cap))
