"""Calibration of forecast probabilities (Platt scaling or isotonic regression, scikit-learn).

The one rule that matters: a calibration map used at forecast date D is fitted only on the agent's
own earlier forecasts whose outcome was known before D (resolution_date < D, forecast made before
D). `fit_for_date` enforces it in the query that selects training rows, records the latest outcome
date it used, and persists the map in `calibration_models` so any forecast can be traced to it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from fincortex.store import Store

METHODS = ("platt", "isotonic")
MIN_TRAIN = 20  # fewer resolved forecasts than this: no calibration (and the caller says so)
EPS = 1e-4


class CalibrationUnavailable(LookupError):
    """Not enough resolved-before-date forecasts (or only one outcome class) to fit a map."""


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """A fitted map p_raw -> p_calibrated; `params` is plain JSON (persisted as is)."""

    method: str
    params: dict[str, Any]
    calibration_id: str | None = None

    @classmethod
    def fit(cls, raw: np.ndarray | list[float], outcomes: np.ndarray | list[float], method: str = "platt") -> "Calibrator":
        if method not in METHODS:
            raise ValueError(f"calibration method {method!r}; choose from {', '.join(METHODS)}")
        x, y = np.asarray(raw, dtype=float), np.asarray(outcomes, dtype=float)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"raw probabilities and outcomes must be 1-d of equal length, got {x.shape} and {y.shape}")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("outcomes must be 0 or 1")
        if ((x < 0) | (x > 1)).any():
            raise ValueError("raw probabilities must lie in [0, 1]")
        if len(x) < MIN_TRAIN:
            raise CalibrationUnavailable(f"only {len(x)} resolved forecasts to calibrate on (need {MIN_TRAIN})")
        if len(set(y.tolist())) < 2:
            raise CalibrationUnavailable(f"all {len(y)} resolved forecasts have the same outcome ({y[0]:.0f})")
        if method == "platt":
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=1e6).fit(_logit(x)[:, None], y.astype(int))
            params = {"coef": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}
        else:
            from sklearn.isotonic import IsotonicRegression

            model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
            params = {"x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist()}
        return cls(method, params)

    def __call__(self, p: float | np.ndarray) -> np.ndarray | float:
        arr = np.asarray(p, dtype=float)
        if self.method == "platt":
            z = self.params["coef"] * _logit(arr) + self.params["intercept"]
            out = 1.0 / (1.0 + np.exp(-z))
        else:  # same as IsotonicRegression.predict with out_of_bounds='clip'
            out = np.interp(arr, self.params["x"], self.params["y"])
        out = np.clip(out, EPS, 1 - EPS)
        return float(out) if np.ndim(p) == 0 else out


def training_rows(store: Store, agent_key: str, before: datetime) -> list[tuple]:
    """(eval_id, question_id, source, resolution_date, raw_probability, outcome) of the agent's earlier
    forecasts whose outcome was known strictly before `before` (one row per target: the newest forecast)."""
    with store.read() as conn:
        return conn.execute(
            "SELECT eval_id, question_id, source, resolution_date, raw_probability, outcome FROM forecasts "
            "WHERE agent_key = ? AND method = 'agent' AND outcome IN (0, 1) "
            "AND resolution_date IS NOT NULL AND CAST(resolution_date AS TIMESTAMP) < ? AND forecast_date < ? "
            "QUALIFY row_number() OVER (PARTITION BY question_id, source, resolution_date "
            "ORDER BY forecast_date DESC, created_at DESC) = 1 "
            "ORDER BY resolution_date, question_id", [agent_key, before, before]).fetchall()


def fit_for_date(store: Store, agent_key: str, forecast_date: datetime | date, method: str = "platt") -> Calibrator:
    """Fit on resolved-before-`forecast_date` forecasts of `agent_key`, persist, return the map.

    Raises CalibrationUnavailable when there is too little history (the caller reports it)."""
    if isinstance(forecast_date, date) and not isinstance(forecast_date, datetime):
        forecast_date = datetime(forecast_date.year, forecast_date.month, forecast_date.day)
    rows = training_rows(store, agent_key, forecast_date)
    calibrator = Calibrator.fit([r[4] for r in rows], [r[5] for r in rows], method)
    max_resolution = max(r[3] for r in rows)
    if datetime.combine(max_resolution, datetime.min.time()) >= forecast_date:  # the query forbids it; keep it provable
        raise RuntimeError(f"calibration row resolved {max_resolution}, not before {forecast_date}")
    calibration_id = uuid.uuid4().hex[:16]
    with store.write() as conn:
        conn.execute(
            "INSERT INTO calibration_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [calibration_id, agent_key, method, forecast_date, len(rows), int(sum(r[5] for r in rows)),
             max_resolution, json.dumps(calibrator.params),
             json.dumps([[r[0], r[1], r[2], str(r[3])] for r in rows])])
    return Calibrator(method, calibrator.params, calibration_id)


def load(store: Store, calibration_id: str) -> Calibrator:
    with store.read() as conn:
        row = conn.execute("SELECT method, params FROM calibration_models WHERE calibration_id = ?",
                           [calibration_id]).fetchone()
    if row is None:
        raise KeyError(f"no calibration model {calibration_id!r}")
    return Calibrator(row[0], json.loads(row[1]), calibration_id)
