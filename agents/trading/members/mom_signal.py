"""The 30-day momentum rule's own signal as a member: +1 logit while the trailing 30-bar return is positive,
-1 otherwise (the rule's yes/no, beside the graded `momentum` and `trend` members)."""

from __future__ import annotations

from fincortex.agents.trading.features import _ret
from fincortex.agents.trading.members.base import Day, Member, sigmoid


class MomentumSignalMember(Member):
    name = "mom_signal"

    def __init__(self, lookback: int = 30) -> None:
        self.lookback = lookback

    def probability(self, day: Day) -> float | None:
        ret = _ret(day.prices.close, self.lookback)
        return None if ret is None else sigmoid(1.0 if ret > 0 else -1.0)
