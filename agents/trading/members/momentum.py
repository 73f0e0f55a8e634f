"""Time-series momentum over several windows: the mean t-statistic-like score ret_w / (sigma_d sqrt(w))."""

from __future__ import annotations

import math

from fincortex.agents.trading.features import _ret
from fincortex.agents.trading.members.base import Day, Member, daily_sigma, sigmoid


class MomentumMember(Member):
    name = "momentum"

    def __init__(self, windows: tuple[int, ...] = (7, 30, 90)) -> None:
        self.windows = windows

    def probability(self, day: Day) -> float | None:
        sd = daily_sigma(day.features)
        if not sd:
            return None
        z = [r / (sd * math.sqrt(w)) for w in self.windows if (r := _ret(day.prices.close, w)) is not None]
        return sigmoid(sum(z) / len(z)) if len(z) == len(self.windows) else None
