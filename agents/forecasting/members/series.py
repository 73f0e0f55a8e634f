"""A series model for numeric dataset questions ("will the value on <resolution date> be higher than
on <due date>?": dbnomics, fred, yfinance). The freeze values of the same series across earlier rounds
(each round publishes the series' latest value) form a time series, known at each round's due date.

- dbnomics (Météo-France daily mean temperature): seasonality by calendar day,
  T(station, day) = m_station + A cos(2 pi (doy - PEAK_DOY) / 365.25) + noise, fitted by least squares
  over every station's freeze values (A pooled; PEAK_DOY = 200, mid-July, the climatological peak in
  France, kept fixed because a few months of freeze values cannot place it). With fewer than three
  distinct dates A is the prior A_PRIOR. P(T(r) > T(D)) = Phi((s(r) - s(D)) / (sigma sqrt 2)).
- fred / yfinance: random walk with drift on log values (yfinance) or levels (fred): drift and
  volatility per day from consecutive freeze values, per series shrunk toward the source's pooled
  estimate; a series that often does not move at all (a policy rate) gets the chance of no change
  over the horizon, which resolves No ("increased" is strict). P = (1 - p_flat) Phi(mu h / (sd sqrt h)).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

import numpy as np
from scipy.stats import norm

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member

SOURCES = ("dbnomics", "fred", "yfinance")
PEAK_DOY = 200
A_PRIOR, SIGMA_PRIOR = 7.0, 3.0  # °C: half the annual range of daily means in France; day-to-day spread
SHRINK = 3.0  # pseudo-increments pulling a series' drift/volatility toward its source's
CLIP = (0.03, 0.97)


def _value(text: str | None) -> float | None:
    try:
        x = float(text) if text is not None else None
    except ValueError:
        return None
    return x if x is not None and math.isfinite(x) else None


def _season(day: date) -> float:
    return math.cos(2 * math.pi * (day.timetuple().tm_yday - PEAK_DOY) / 365.25)


class SeriesMember(Member):
    name = "series"

    def fit(self, view, targets) -> None:
        points: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
        q = view.questions
        for s, i, when, v in zip(q["source"], q["id"], q["freeze_datetime"], q["freeze_value"]):
            if s in SOURCES and v == v and when is not None and when == when:
                points[(s, i)][when.date()] = float(v)
        for t in targets:  # the current round's freeze values (published with the question set)
            v = _value(t.freeze_value)
            if t.source in SOURCES and v is not None and t.freeze_datetime is not None:
                points[(t.source, t.id)][t.freeze_datetime.date()] = v
        self.points = {k: sorted(v.items()) for k, v in points.items()}
        self._fit_season()
        self._fit_walks()

    def _fit_season(self) -> None:
        rows = [(k[1], d, v) for k, pts in self.points.items() if k[0] == "dbnomics" for d, v in pts]
        stations = sorted({r[0] for r in rows})
        self.amplitude, self.sigma = A_PRIOR, SIGMA_PRIOR
        if len({r[1] for r in rows}) < 3:
            return
        col = {s: j for j, s in enumerate(stations)}
        x = np.zeros((len(rows), len(stations) + 1))
        for n, (s, d, _) in enumerate(rows):
            x[n, col[s]] = 1.0
            x[n, -1] = _season(d)
        y = np.array([r[2] for r in rows])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        resid = y - x @ coef
        dof = max(len(rows) - len(stations) - 1, 1)
        if coef[-1] > 0:
            self.amplitude = float(coef[-1])
        self.sigma = float(max(math.sqrt(float(resid @ resid) / dof), 1.0))

    def _fit_walks(self) -> None:
        self.walk: dict[tuple[str, str], tuple[float, float, float]] = {}
        pooled: dict[str, list[tuple[float, float]]] = defaultdict(list)  # (increment, days)
        per_series: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for k, pts in self.points.items():
            if k[0] == "dbnomics":
                continue
            incs = []
            for (d0, v0), (d1, v1) in zip(pts, pts[1:]):
                if k[0] == "yfinance" and (v0 <= 0 or v1 <= 0):
                    continue
                dx = math.log(v1 / v0) if k[0] == "yfinance" else v1 - v0
                incs.append((dx, float((d1 - d0).days)))
            per_series[k] = incs
            pooled[k[0]] += incs
        self.source_walk = {s: self._estimate(incs, None) for s, incs in pooled.items()}
        for k, incs in per_series.items():
            self.walk[k] = self._estimate(incs, self.source_walk.get(k[0]))

    @staticmethod
    def _estimate(incs: list[tuple[float, float]], prior: tuple[float, float, float] | None) -> tuple[float, float, float]:
        """(drift per day, variance per day, chance a 14-day step is exactly flat)."""
        mu0, var0, flat0 = prior or (0.0, 0.0, 0.1)
        n = len(incs)
        if n == 0:
            return mu0, var0, flat0
        days = sum(d for _, d in incs)
        mu = sum(x for x, _ in incs) / days
        var = sum((x - mu * d) ** 2 / d for x, d in incs) / n
        flat = sum(x == 0 for x, _ in incs) / n
        w = n / (n + SHRINK) if prior else 1.0
        return w * mu + (1 - w) * mu0, w * var + (1 - w) * var0, w * flat + (1 - w) * flat0

    def _forecast(self, target: ForecastQuestion) -> float | None:
        if target.source not in SOURCES or target.resolution_date is None:
            return None
        due, when = target.forecast_date.date(), target.resolution_date
        h = (when - due).days
        if h <= 0:
            return None
        if target.source == "dbnomics":
            z = self.amplitude * (_season(when) - _season(due)) / (self.sigma * math.sqrt(2))
            return float(np.clip(norm.cdf(z), *CLIP))
        mu, var, flat = self.walk.get((target.source, target.id), self.source_walk.get(target.source, (0.0, 0.0, 0.1)))
        if var <= 0:
            return None  # no increments seen for this source yet
        p_flat = flat ** (h / 14.0) if flat < 1 else 1.0
        p = (1 - p_flat) * norm.cdf(mu * h / math.sqrt(var * h))
        return float(np.clip(p, *CLIP))
