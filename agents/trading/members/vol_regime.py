"""Volatility regime: log of 20-day over 90-day realised volatility (calm vs turbulent), squashed."""

from __future__ import annotations

import numpy as np

from fincortex.agents.trading.members.base import Day, Member, sigmoid


class VolRegimeMember(Member):
    name = "vol_regime"

    def probability(self, day: Day) -> float | None:
        close = day.prices.close
        if close.size < 91:
            return None
        logret = np.diff(np.log(close[-91:]))
        short, long = logret[-20:].std(ddof=1), logret.std(ddof=1)
        if short <= 0 or long <= 0:
            return None
        return sigmoid(-float(np.log(short / long)))  # the stacker fits the sign
