"""What every member shares: the point-in-time guard and the labelled history it learns from."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES, ForecastQuestion
from fincortex.agents.forecasting.history import HistoryView, template
from fincortex.agents.forecasting.rounds import horizon_days

HORIZONS = (7, 30, 90, 180, 365, 1095, 1825, 3650)  # ForecastBench's dataset horizons (days)
EPS = 1e-3


def horizon_bucket(days: int | None) -> int:
    """The nearest standard horizon (0 for market targets)."""
    if days is None:
        return 0
    return min(HORIZONS, key=lambda h: abs(math.log(max(days, 1) / h)))


def logit(p: float | np.ndarray) -> float | np.ndarray:
    q = np.clip(p, EPS, 1 - EPS)
    return np.log(q / (1 - q))


def labelled(view: HistoryView) -> pd.DataFrame:
    """Known binary outcomes with their question's template, freeze value and horizon bucket."""
    o = view.outcomes
    if o.empty:
        cols = ["round_due", "id", "source", "direction", "resolution_date", "template"]
        return pd.DataFrame({**{c: pd.Series(dtype=object) for c in cols}, "resolved_to": pd.Series(dtype=float),
                             "freeze_value": pd.Series(dtype=float), "hbucket": pd.Series(dtype=int),
                             "market": pd.Series(dtype=bool)})
    o = o[o["resolved"] & o["resolved_to"].isin([0.0, 1.0])].copy()
    q = view.questions[["round_due", "id", "source", "template", "freeze_value"]]
    o = o.merge(q, on=["round_due", "id", "source"], how="left")
    o["market"] = o["source"].isin(MARKET_SOURCES)
    days = (pd.to_datetime(o["resolution_date"]) - pd.to_datetime(o["round_due"])).dt.days
    o["hbucket"] = [0 if m else horizon_bucket(int(d)) for m, d in zip(o["market"], days)]
    return o


class Member:
    """Base: `prepare(view, targets)` binds the member to view.as_of; `forecast` refuses any other date."""

    name = "member"

    def __init__(self) -> None:
        self.as_of: datetime | None = None

    @classmethod
    def from_context(cls, ctx: dict) -> "Member":
        """Build from the run's context (chat model, search function, store); statistical members need none."""
        return cls()

    def key(self) -> str:
        return self.name

    def prepare(self, view: HistoryView, targets: list[ForecastQuestion]) -> None:
        self.as_of = view.as_of
        self.fit(view, targets)

    def fit(self, view: HistoryView, targets: list[ForecastQuestion]) -> None:  # override
        pass

    def _guard(self, target: ForecastQuestion, as_of: datetime) -> None:
        if self.as_of is None:
            raise RuntimeError(f"member {self.name} was not prepared with a history view")
        if as_of != self.as_of or target.forecast_date != as_of:
            raise ValueError(f"member {self.name} holds history as of {self.as_of}; asked for {as_of} "
                             f"(target due {target.forecast_date})")

    def forecast(self, target: ForecastQuestion, as_of: datetime) -> float | None:
        self._guard(target, as_of)
        return self._forecast(target)

    def _forecast(self, target: ForecastQuestion) -> float | None:  # override
        raise NotImplementedError

    def forecast_many(self, targets: list[ForecastQuestion], as_of: datetime) -> list[float | None]:
        return [self.forecast(t, as_of) for t in targets]


def target_template(t: ForecastQuestion) -> str:
    return template(t.question)  # dates filled in or not, both mask to <DATE>


def target_bucket(t: ForecastQuestion) -> int:
    return 0 if t.source in MARKET_SOURCES else horizon_bucket(horizon_days(t))
