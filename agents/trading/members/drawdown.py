"""Drawdown: distance below the 90-day high in units of 90-day price noise (deep drawdowns mean-revert or
keep falling; the stacker fits which)."""

from __future__ import annotations

import math

from fincortex.agents.trading.members.base import Day, Member, daily_sigma, sigmoid


class DrawdownMember(Member):
    name = "drawdown"

    def probability(self, day: Day) -> float | None:
        f, sd = day.features, daily_sigma(day.features)
        if f.drawdown_90d is None or not sd or day.prices.close.size < 90:
            return None
        return sigmoid(-f.drawdown_90d / (sd * math.sqrt(90)))
