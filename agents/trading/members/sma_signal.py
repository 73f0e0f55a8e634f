"""The SMA 20/50 rule's own signal as a member: +1 logit while the 20-day average is above the 50-day one,
-1 otherwise. Why: the rule wins in trending windows because it stays invested; as a member the stacker
weighs its yes/no against the graded evidence on outcomes known at each decision."""

from __future__ import annotations

from fincortex.agents.trading.features import _sma
from fincortex.agents.trading.members.base import Day, Member, sigmoid


class SMASignalMember(Member):
    name = "sma_signal"

    def __init__(self, fast: int = 20, slow: int = 50) -> None:
        self.fast, self.slow = fast, slow

    def probability(self, day: Day) -> float | None:
        fast, slow = _sma(day.prices.close, self.fast), _sma(day.prices.close, self.slow)
        return None if fast is None or slow is None else sigmoid(1.0 if fast > slow else -1.0)
