"""Stacking of member probabilities: logistic regression on member logits plus missing indicators.

Generic (no trading types): rows are examples, columns are members' P(y=1) or None. Each member gives two
columns -- logit(p) (0 where missing, i.e. "no evidence") and a 0/1 missing indicator -- so a member that
is absent on some days (no headlines) is neither faked nor dropped. scikit-learn's L2-regularised
LogisticRegression on standardised columns (newton-cholesky: a few Newton steps on 2m columns; lbfgs took ~50 ms
a fit, which a walk-forward run repeats at every step); too few rows or a single class: `fit` leaves it unfitted
and `predict` says None (the caller decides what "no forecast" means). No stacking module exists in
agents/forecasting/ at the time of writing; this one is kept free of trading imports so it can move there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

EPS = 1e-3


def design(rows: Sequence[Sequence[float | None]], n_members: int) -> np.ndarray:
    """(n, 2m) matrix: logit columns then missing-indicator columns (vectorised: a walk-forward run
    builds it once for all days and slices it per refit)."""
    for i, row in enumerate(rows):
        if len(row) != n_members:
            raise ValueError(f"row {i} has {len(row)} member values, expected {n_members}")
    p = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=float).reshape(-1, n_members)
    missing = np.isnan(p)
    q = np.clip(np.where(missing, 0.5, p), EPS, 1 - EPS)
    return np.hstack([np.where(missing, 0.0, np.log(q / (1 - q))), missing.astype(float)])


@dataclass
class LogitStacker:
    members: tuple[str, ...]
    C: float = 0.05
    min_rows: int = 60
    model: object | None = field(default=None, repr=False)
    n_train: int = 0
    base_rate: float | None = None

    def fit(self, rows: Sequence[Sequence[float | None]], labels: Sequence[int]) -> "LogitStacker":
        return self.fit_design(design(rows, len(self.members)), labels)

    def fit_design(self, x: np.ndarray, labels: Sequence[int]) -> "LogitStacker":
        """`fit` on a matrix `design` built."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(labels, dtype=int)
        self.n_train = int(y.size)
        self.base_rate = float(y.mean()) if y.size else None
        if y.size < self.min_rows or len(set(y.tolist())) < 2:
            self.model = None
            return self
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=100)).fit(x, y)
        return self

    @property
    def fitted(self) -> bool:
        return self.model is not None

    def predict(self, rows: Sequence[Sequence[float | None]]) -> list[float | None]:
        return self.predict_design(design(rows, len(self.members)))

    def predict_design(self, x: np.ndarray) -> list[float | None]:
        if self.model is None:
            return [None] * len(x)
        return [float(p) for p in self.model.predict_proba(x)[:, 1]]

    def weights(self) -> dict[str, float]:
        """Coefficients in raw column units (logit / missing per member) and the intercept."""
        if self.model is None:
            return {}
        scaler, lr = self.model[0], self.model[-1]
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        coef = lr.coef_[0] / scale
        intercept = float(lr.intercept_[0] - np.sum(lr.coef_[0] * scaler.mean_ / scale))
        names = [f"{m}:logit" for m in self.members] + [f"{m}:missing" for m in self.members]
        return {**{n: float(c) for n, c in zip(names, coef)}, "intercept": intercept}
