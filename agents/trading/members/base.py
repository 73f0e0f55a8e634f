"""What every ensemble member shares: the point-in-time day it reads and the P(up) it answers.

A member maps each decision day to P(the next holding period's return is positive), or None where its
data is missing (no headlines that day, too little history): the stacker then sees a missing indicator
instead of a made-up 0.5. Members score all days at once (`probabilities`) so the LLM members can batch
their prompts; a day's answer may only depend on that day's `Day` (prices, headlines available at its
decision time) and on outcomes whose `available_at` is not after it (the memory member), which the
tests check by planting future bars, headlines and outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from fincortex.agents.trading.features import MarketFeatures
from fincortex.agents.trading.market import PriceHistory
from fincortex.agents.trading.news import NewsItem

EPS = 1e-3


@dataclass(frozen=True)
class Day:
    """One decision day as the ensemble sees it: everything here was available at `ts`."""

    ts: datetime
    prices: PriceHistory
    features: MarketFeatures
    news: tuple[NewsItem, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The realised label of a past day and when it became known (the bar closing its holding period)."""

    up: bool
    available_at: datetime


@dataclass
class MemberContext:
    """What members may use besides the days: the run's chat model, sentiment model, RNG settings, and
    the outcomes of earlier days (each used only once its available_at has passed)."""

    outcomes: Sequence[Outcome | None] = ()
    chat: Any | None = None
    sentiment_model: Any | None = None
    temperature: float = 0.0
    seed: int = 0
    horizon: int = 1
    notes: list[str] = field(default_factory=list)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def logit(p: float | np.ndarray) -> float | np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.log(q / (1 - q))


def daily_sigma(f: MarketFeatures, periods_per_year: int = 365) -> float | None:
    return None if not f.vol_20d else f.vol_20d / math.sqrt(periods_per_year)


class Member:
    """Base: `probabilities(days, ctx)` -> one P(up) or None per day, in the days' order."""

    name = "member"
    uses_llm = False
    reads_news = False

    def key(self) -> str:
        return self.name

    def probabilities(self, days: Sequence[Day], ctx: MemberContext) -> list[float | None]:
        return [self.probability(d) for d in days]

    def probability(self, day: Day) -> float | None:  # override (or probabilities)
        raise NotImplementedError

    def memory_rows(self) -> list[dict[str, Any]]:
        """Memory items this member recalled from (stored with the run for the leakage audit)."""
        return []

    def recalled(self, index: int) -> list[tuple[str, datetime]]:
        """(item_id, available_at) of what day `index` recalled."""
        return []
