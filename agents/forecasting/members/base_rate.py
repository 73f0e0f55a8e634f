"""Base rate by (source, masked question template, horizon), learned from outcomes known before the
due date, each level shrunk toward its parent (Beta prior with PRIOR_WEIGHT pseudo-counts):
(source, template, horizon) -> (source, template) -> (source, horizon) -> source -> 0.5."""

from __future__ import annotations

from collections import defaultdict

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member, labelled, target_bucket, target_template

PRIOR_WEIGHT = 4.0


class BaseRateMember(Member):
    name = "base_rate"

    def fit(self, view, targets) -> None:
        h = labelled(view)
        self.counts: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for s, t, hb, y in zip(h["source"], h["template"].fillna(""), h["hbucket"], h["resolved_to"]):
            for level in ((s,), (s, "h", hb), (s, "t", t), (s, "t", t, hb)):
                c = self.counts[level]
                c[0] += y
                c[1] += 1

    def _rate(self, level: tuple, prior: float) -> float:
        k, n = self.counts.get(level, (0.0, 0.0))
        return (k + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)

    def _forecast(self, target: ForecastQuestion) -> float | None:
        s, t, hb = target.source, target_template(target), target_bucket(target)
        if self.counts.get((s,), (0, 0))[1] == 0:
            return None  # nothing known about this source yet
        p = self._rate((s,), 0.5)
        p = self._rate((s, "t", t), self._rate((s, "h", hb), p))
        return self._rate((s, "t", t, hb), p)
