"""SMA trend: how far the 20-day average is above the 50-day one, in units of 20-day price noise."""

from __future__ import annotations

import math

from fincortex.agents.trading.members.base import Day, Member, daily_sigma, sigmoid


class SMATrendMember(Member):
    name = "sma_trend"

    def probability(self, day: Day) -> float | None:
        f, sd = day.features, daily_sigma(day.features)
        if f.sma_20 is None or f.sma_50 is None or not sd:
            return None
        return sigmoid((f.sma_20 / f.sma_50 - 1) / (sd * math.sqrt(20)))
