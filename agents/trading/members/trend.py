"""Trend strength: volatility-scaled time-series momentum (Moskowitz, Ooi & Pedersen 2012), the evidence
the SMA and momentum rules trade on, as a t-statistic instead of a yes/no.

z = mean over windows w of ln(close / close w bars ago) / (sigma_d sqrt(w)), sigma_d the RiskMetrics EWMA of
daily log returns (sizing.ewma_sigma). As a member it answers sigmoid(z); the ensemble's trend floor
(ensemble.py, `trend_gain`) also sizes from the same z, which is why the function is public.
"""

from __future__ import annotations

import math

import numpy as np

from fincortex.agents.trading.members.base import Day, Member, sigmoid
from fincortex.agents.trading.sizing import ewma_sigma

WINDOWS = (20, 30, 50)


def trend_z(close: np.ndarray, windows: tuple[int, ...] = WINDOWS) -> float | None:
    """The mean trend t-statistic over `windows` from visible closes; None with too little history."""
    if close.size <= max(windows):
        return None
    sigma = ewma_sigma(close)
    if not sigma or close[-1] <= 0 or any(close[-1 - w] <= 0 for w in windows):
        return None
    return float(np.mean([math.log(close[-1] / close[-1 - w]) / (sigma * math.sqrt(w)) for w in windows]))


class TrendMember(Member):
    name = "trend"

    def probability(self, day: Day) -> float | None:
        z = trend_z(day.prices.close)
        return None if z is None else sigmoid(z)
